package images

import (
	"bytes"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
)

// planes is an image as channel-major float32 planes with values in [0,1].
type planes struct {
	c, w, h int
	pix     []float32
}

const (
	pngMagic  = "\x89PNG\r\n\x1a\n"
	jpegMagic = "\xff\xd8"
)

// decode turns the bytes of a PNG or JPEG file into planes of the given
// channel count, refusing images with more than maxPixels pixels before
// decoding their pixels.
func decode(data []byte, channels, maxPixels int) (planes, error) {
	var (
		decodeCfg func([]byte) (image.Config, error)
		decodeImg func([]byte) (image.Image, error)
	)
	switch {
	case bytes.HasPrefix(data, []byte(pngMagic)):
		decodeCfg = func(b []byte) (image.Config, error) { return png.DecodeConfig(bytes.NewReader(b)) }
		decodeImg = func(b []byte) (image.Image, error) { return png.Decode(bytes.NewReader(b)) }
	case bytes.HasPrefix(data, []byte(jpegMagic)):
		decodeCfg = func(b []byte) (image.Config, error) { return jpeg.DecodeConfig(bytes.NewReader(b)) }
		decodeImg = func(b []byte) (image.Image, error) { return jpeg.Decode(bytes.NewReader(b)) }
	default:
		return planes{}, errors.New("not a PNG or JPEG file")
	}
	cfg, err := decodeCfg(data)
	if err != nil {
		return planes{}, fmt.Errorf("reading image header: %w", err)
	}
	if cfg.Width < 1 || cfg.Height < 1 {
		return planes{}, fmt.Errorf("image is %dx%d", cfg.Width, cfg.Height)
	}
	if int64(cfg.Width)*int64(cfg.Height) > int64(maxPixels) {
		return planes{}, fmt.Errorf("image is %dx%d, more than the limit of %d pixels", cfg.Width, cfg.Height, maxPixels)
	}
	img, err := decodeImg(data)
	if err != nil {
		return planes{}, fmt.Errorf("decoding image: %w", err)
	}
	return toPlanes(img, channels), nil
}

// luma is the ITU-R BT.601 luma of non-premultiplied RGB in [0,1].
func luma(r, g, b float32) float32 { return 0.299*r + 0.587*g + 0.114*b }

// toPlanes converts any image to planes. Grey sources are replicated into 3
// channels; colour sources become luma for 1 channel; alpha is dropped.
func toPlanes(img image.Image, channels int) planes {
	b := img.Bounds()
	w, h := b.Dx(), b.Dy()
	p := planes{c: channels, w: w, h: h, pix: make([]float32, channels*w*h)}
	n := w * h
	set := func(k int, r, g, bl float32) {
		if channels == 1 {
			p.pix[k] = luma(r, g, bl)
			return
		}
		p.pix[k], p.pix[n+k], p.pix[2*n+k] = r, g, bl
	}
	setGrey := func(k int, v float32) {
		p.pix[k] = v
		if channels == 3 {
			p.pix[n+k], p.pix[2*n+k] = v, v
		}
	}
	const inv8 = 1.0 / 255
	switch m := img.(type) {
	case *image.Gray:
		for y := range h {
			row := m.Pix[y*m.Stride : y*m.Stride+w]
			for x, v := range row {
				setGrey(y*w+x, float32(v)*inv8)
			}
		}
	case *image.Gray16:
		for y := range h {
			row := m.Pix[y*m.Stride : y*m.Stride+2*w]
			for x := range w {
				setGrey(y*w+x, float32(uint16(row[2*x])<<8|uint16(row[2*x+1]))/65535)
			}
		}
	case *image.NRGBA:
		for y := range h {
			row := m.Pix[y*m.Stride : y*m.Stride+4*w]
			for x := range w {
				q := row[4*x : 4*x+4]
				set(y*w+x, float32(q[0])*inv8, float32(q[1])*inv8, float32(q[2])*inv8)
			}
		}
	case *image.RGBA:
		for y := range h {
			row := m.Pix[y*m.Stride : y*m.Stride+4*w]
			for x := range w {
				q := row[4*x : 4*x+4]
				if q[3] == 0 {
					set(y*w+x, 0, 0, 0)
					continue
				}
				a := 1 / float32(q[3]) // premultiplied: colour / alpha
				set(y*w+x, float32(q[0])*a, float32(q[1])*a, float32(q[2])*a)
			}
		}
	case *image.YCbCr:
		for y := range h {
			for x := range w {
				yi := m.YOffset(b.Min.X+x, b.Min.Y+y)
				if channels == 1 {
					p.pix[y*w+x] = float32(m.Y[yi]) * inv8
					continue
				}
				ci := m.COffset(b.Min.X+x, b.Min.Y+y)
				r, g, bl := color.YCbCrToRGB(m.Y[yi], m.Cb[ci], m.Cr[ci])
				set(y*w+x, float32(r)*inv8, float32(g)*inv8, float32(bl)*inv8)
			}
		}
	default:
		for y := range h {
			for x := range w {
				c := color.NRGBA64Model.Convert(img.At(b.Min.X+x, b.Min.Y+y)).(color.NRGBA64)
				set(y*w+x, float32(c.R)/65535, float32(c.G)/65535, float32(c.B)/65535)
			}
		}
	}
	return p
}
