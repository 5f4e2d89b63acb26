package images

import "math"

// axisWeights maps each output index of one axis to a run of consecutive
// source indices and their weights, which sum to 1.
type axisWeights struct {
	start []int     // first source index per output index
	off   []int     // offsets into w, len(out)+1
	w     []float32 // weights, concatenated
}

// newAxisWeights builds the weights that resample an axis of n source
// pixels to m output pixels.
func newAxisWeights(n, m int, f Filter) axisWeights {
	a := axisWeights{start: make([]int, m), off: make([]int, m+1)}
	scale := float64(n) / float64(m)
	for i := range m {
		a.off[i] = len(a.w)
		if f == FilterArea && m < n {
			// Exact overlap of [lo, hi) with each source pixel [j, j+1).
			lo, hi := float64(i)*scale, float64(i+1)*scale
			j0 := int(math.Floor(lo))
			j1 := min(int(math.Ceil(hi)), n)
			a.start[i] = j0
			for j := j0; j < j1; j++ {
				ov := math.Min(hi, float64(j+1)) - math.Max(lo, float64(j))
				a.w = append(a.w, float32(ov/scale))
			}
			continue
		}
		// Bilinear with half-pixel centres, clamped at the borders.
		src := (float64(i)+0.5)*scale - 0.5
		src = math.Max(0, math.Min(src, float64(n-1)))
		j0 := int(math.Floor(src))
		t := src - float64(j0)
		a.start[i] = j0
		if j0+1 < n && t > 0 {
			a.w = append(a.w, float32(1-t), float32(t))
		} else {
			a.w = append(a.w, 1)
		}
	}
	a.off[m] = len(a.w)
	return a
}

// resize resamples src (c planes of w×h) to size×size into dst, which must
// hold c×size×size values; tmp is scratch space that is grown as needed and
// returned.
func resize(src planes, size int, f Filter, dst, tmp []float32) []float32 {
	if src.w == size && src.h == size {
		copy(dst, src.pix)
		return tmp
	}
	ax := newAxisWeights(src.w, size, f)
	ay := newAxisWeights(src.h, size, f)
	// Horizontal pass: c × h × size.
	need := src.c * src.h * size
	if cap(tmp) < need {
		tmp = make([]float32, need)
	}
	tmp = tmp[:need]
	for c := range src.c {
		for y := range src.h {
			row := src.pix[(c*src.h+y)*src.w : (c*src.h+y+1)*src.w]
			out := tmp[(c*src.h+y)*size : (c*src.h+y+1)*size]
			for x := range size {
				ws := ax.w[ax.off[x]:ax.off[x+1]]
				in := row[ax.start[x] : ax.start[x]+len(ws)]
				var s float32
				for k, wt := range ws {
					s += wt * in[k]
				}
				out[x] = s
			}
		}
	}
	// Vertical pass: c × size × size.
	for c := range src.c {
		plane := tmp[c*src.h*size : (c+1)*src.h*size]
		for y := range size {
			out := dst[(c*size+y)*size : (c*size+y+1)*size]
			ws := ay.w[ay.off[y]:ay.off[y+1]]
			j0 := ay.start[y]
			for x := range out {
				out[x] = 0
			}
			for k, wt := range ws {
				in := plane[(j0+k)*size : (j0+k+1)*size]
				for x := range out {
					out[x] += wt * in[x]
				}
			}
		}
	}
	return tmp
}
