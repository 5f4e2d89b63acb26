package ecg

import (
	"math"
	"slices"
)

// kachuee cuts beats after Kachuee et al. 2018 (see the package doc).
type kachuee struct {
	x      []float32 // the whole lead at the output rate, each window scaled to [0, 1]
	win    int       // window length in samples
	length int       // output length (187)
	period []int     // per window: round(1.2·median RR) in samples
}

func newKachuee(raw []float32, rate float64, opt Options, peaks []int64) *kachuee {
	x := append([]float32(nil), raw...)
	win := max(1, int(math.Round(opt.KachueeWindow*rate)))
	nwin := (len(x) + win - 1) / win
	for k := range nwin {
		minMax(x[k*win : min((k+1)*win, len(x))])
	}
	// Median RR per window from the (sorted) annotated R peaks inside it;
	// windows with fewer than two peaks use the record's median RR.
	var all []int64
	for i := 1; i < len(peaks); i++ {
		all = append(all, peaks[i]-peaks[i-1])
	}
	global := median(all)
	period := make([]int, nwin)
	j := 0
	for k := range nwin {
		lo, hi := int64(k*win), int64(min((k+1)*win, len(x)))
		for j < len(peaks) && peaks[j] < lo {
			j++
		}
		var rr []int64
		for i := j + 1; i < len(peaks) && peaks[i] < hi; i++ {
			rr = append(rr, peaks[i]-peaks[i-1])
		}
		t := global
		if len(rr) > 0 {
			t = median(rr)
		}
		period[k] = int(math.Round(1.2 * t))
	}
	return &kachuee{x: x, win: win, length: opt.KachueeLength, period: period}
}

// cut returns the beat starting at R peak c: round(1.2·T) samples of the
// peak's normalised window (cut at the window's end and at Length),
// zero-padded to Length.
func (k *kachuee) cut(c int64) ([]float32, bool) {
	if c < 0 || c >= int64(len(k.x)) {
		return nil, false
	}
	w := int(c) / k.win
	end := min(int(c)+k.period[w], (w+1)*k.win, len(k.x), int(c)+k.length)
	out := make([]float32, k.length)
	copy(out, k.x[c:end])
	return out, true
}

// median returns the median of v (0 when empty), leaving v as it is.
func median[T int64 | float32 | float64](v []T) float64 {
	if len(v) == 0 {
		return 0
	}
	s := slices.Clone(v)
	slices.Sort(s)
	n := len(s)
	if n%2 == 1 {
		return float64(s[n/2])
	}
	return float64(s[n/2-1]+s[n/2]) / 2
}
