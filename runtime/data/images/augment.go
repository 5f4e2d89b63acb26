package images

import (
	"math"

	"parak8s.dev/parak8s/runtime/data/splitmix"
)

// draw holds one sample's random augmentation parameters.
type draw struct {
	angle, scale, tx, ty float64 // radians, factor, pixels
	flip                 bool
	brightness, contrast float32
}

// drawFor draws the augmentation of sample index in epoch. Every parameter
// is always drawn, in a fixed order, so disabling one does not change the
// others.
func (a Augment) drawFor(epoch, index, size int) draw {
	r := splitmix.New(a.Seed, uint64(int64(epoch)), uint64(int64(index)))
	d := draw{
		angle: r.Sym(a.Rotate) * math.Pi / 180,
		scale: 1 + r.Sym(a.Zoom),
		tx:    r.Sym(a.Shift) * float64(size),
		ty:    r.Sym(a.Shift) * float64(size),
	}
	flip := r.Float() < 0.5
	d.flip = a.HFlip && flip
	d.brightness = float32(r.Sym(a.Brightness))
	d.contrast = float32(1 + r.Sym(a.Contrast))
	return d
}

// identityGeometry reports whether the warp would leave pixels in place.
func (d draw) identityGeometry() bool {
	return d.angle == 0 && d.scale == 1 && d.tx == 0 && d.ty == 0 && !d.flip
}

// warp applies the affine part of d to src (c planes of size×size) into dst
// of the same shape, sampling bilinearly. The forward map rotates and scales
// about the centre, then shifts; each output pixel samples the source at the
// inverse image of its centre.
func warp(src, dst []float32, c, size int, d draw, fill Fill) {
	cx := float64(size) / 2
	cos, sin := math.Cos(d.angle)/d.scale, math.Sin(d.angle)/d.scale
	n := size * size
	last := float64(size - 1)
	edge := fill == FillEdge
	for oy := range size {
		Y := float64(oy) + 0.5 - cx - d.ty
		X0 := 0.5 - cx - d.tx
		// Source coordinates move by (cos, -sin) per output column.
		sx, sy := cos*X0+sin*Y+cx, -sin*X0+cos*Y+cx
		for ox := range size {
			fx, fy := sx-0.5, sy-0.5
			sx, sy = sx+cos, sy-sin
			if d.flip {
				fx = float64(size) - 1 - fx
			}
			if edge {
				fx = min(max(fx, 0), last)
				fy = min(max(fy, 0), last)
			} else if fx <= -1 || fy <= -1 || fx >= float64(size) || fy >= float64(size) {
				for ch := range c {
					dst[ch*n+oy*size+ox] = 0
				}
				continue
			}
			x0, y0 := int(fx), int(fy) // truncation; fix up negatives to floor
			if float64(x0) > fx {
				x0--
			}
			if float64(y0) > fy {
				y0--
			}
			tx, ty := float32(fx-float64(x0)), float32(fy-float64(y0))
			x1, y1 := x0+1, y0+1
			// Weights of the four neighbours; a neighbour outside the image
			// contributes 0 (FillZero). With FillEdge the clamping above keeps
			// x0,y0 inside and only x1/y1 may step out, with weight 0.
			w00, w10 := (1-tx)*(1-ty), tx*(1-ty)
			w01, w11 := (1-tx)*ty, tx*ty
			inX0, inX1 := x0 >= 0, x1 < size
			inY0, inY1 := y0 >= 0, y1 < size
			o := oy*size + ox
			for ch := range c {
				p := src[ch*n : (ch+1)*n]
				var v float32
				if inY0 {
					row := p[y0*size : y0*size+size]
					if inX0 {
						v += w00 * row[x0]
					}
					if inX1 {
						v += w10 * row[x1]
					}
				}
				if inY1 {
					row := p[y1*size : y1*size+size]
					if inX0 {
						v += w01 * row[x0]
					}
					if inX1 {
						v += w11 * row[x1]
					}
				}
				dst[ch*n+o] = v
			}
		}
	}
}

// jitter applies brightness and contrast to pix in place and clamps to [0,1].
func jitter(pix []float32, d draw) {
	if d.brightness == 0 && d.contrast == 1 {
		return
	}
	var sum float64
	for _, v := range pix {
		sum += float64(v)
	}
	mean := float32(sum / float64(len(pix)))
	for i, v := range pix {
		v = (v-mean)*d.contrast + mean + d.brightness
		pix[i] = min(max(v, 0), 1)
	}
}

// View writes view v of samples images (c planes of size×size each, raw or
// normalised: the warp is linear and fills from the edge) from src into dst,
// for test-time augmentation: view 0 is the images themselves, view v ≥ 1
// one warp of the augmentation's geometry (rotation, zoom, shift and, with
// HFlip, a flip; brightness and contrast are left alone), the same warp for
// every image. The warp of view v is drawn from (Seed, v) apart from the
// draws of any training epoch, so a view is the same in every run.
func (a Augment) View(src, dst []float32, samples, c, size, v int) {
	n, d := c*size*size, a.viewDraw(v, size)
	if v == 0 || d.identityGeometry() {
		copy(dst[:samples*n], src[:samples*n])
		return
	}
	for i := range samples {
		warp(src[i*n:(i+1)*n], dst[i*n:(i+1)*n], c, size, d, FillEdge)
	}
}

// viewDraw is the warp of test-time view v ≥ 1: the draw of a negative
// epoch, which training never asks for, with the flip forced on for odd
// views when HFlip is set (so half the views are mirrored, as on average
// in training).
func (a Augment) viewDraw(v, size int) draw {
	d := a.drawFor(-v, 0, size)
	d.flip = a.HFlip && v%2 == 1
	return d
}
