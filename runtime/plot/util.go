package plot

import (
	"html"
	"math"
	"strconv"
)

// Finite reports whether v is neither NaN nor infinite.
func Finite(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }

// Widen makes a range non-empty and pads it by 5% on each side.
func Widen(lo, hi float64) (float64, float64) {
	if hi-lo < 1e-12 {
		d := math.Max(math.Abs(lo)*0.1, 0.5)
		return lo - d, hi + d
	}
	pad := (hi - lo) * 0.05
	return lo - pad, hi + pad
}

// Ticks returns about five round numbers inside [lo, hi].
func Ticks(lo, hi float64) []float64 {
	step := niceStep((hi - lo) / tickCount)
	var out []float64
	for t := math.Ceil(lo/step) * step; t <= hi+step*1e-9; t += step {
		if math.Abs(t) < step*1e-9 {
			t = 0
		}
		out = append(out, t)
	}
	return out
}

// LogTicks returns the decades inside [lo, hi] (log10 units), with 2 and 5
// times them when the range spans less than two decades.
func LogTicks(lo, hi float64) []float64 {
	mults := []float64{1}
	if hi-lo < 2 {
		mults = []float64{1, 2, 5}
	}
	var out []float64
	for k := math.Floor(lo); k <= math.Ceil(hi); k++ {
		for _, m := range mults {
			if t := k + math.Log10(m); t >= lo && t <= hi {
				out = append(out, t)
			}
		}
	}
	return out
}

func niceStep(raw float64) float64 {
	mag := math.Pow(10, math.Floor(math.Log10(raw)))
	for _, m := range []float64{1, 2, 2.5, 5, 10} {
		if raw <= m*mag {
			return m * mag
		}
	}
	return 10 * mag
}

// Num formats a number briefly (four significant digits).
func Num(v float64) string { return strconv.FormatFloat(v, 'g', 4, 64) }

// Esc escapes s for SVG or HTML text and attribute values.
func Esc(s string) string { return html.EscapeString(s) }

// Clip shortens s to n runes, ending it with "…" when cut.
func Clip(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}
