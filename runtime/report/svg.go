package report

import (
	"fmt"
	"html"
	"html/template"
	"math"
	"strconv"
	"strings"
)

// series is one line or set of points of a chart.
type series struct {
	Name string
	X, Y []float64
}

// chart is a small inline SVG plot: lines, or points when Points is set.
type chart struct {
	Title, XLabel, YLabel string
	Series                []series
	Points                bool
	// LogX spaces the x axis logarithmically (all x must be positive).
	LogX bool
	// XNames label x = 0, 1, … instead of numbers (a categorical axis).
	XNames []string
	// Highlight marks the best point of the first series (index, or -1).
	Highlight int
}

// palette is tab10, as the PNG plots of runtime/eval.
var palette = [...]string{"#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"}

const (
	chartW, chartH                       = 460, 280
	padL, padR, padT, padB               = 56, 12, 28, 44
	plotW, plotH                         = chartW - padL - padR, chartH - padT - padB
	legendRow                            = 14
	tickCount                            = 5
	fontStyle                            = `font-family="sans-serif" font-size="11"`
	noData                 template.HTML = `<p class="muted">no data</p>`
)

// svg renders the chart; charts without finite points render as a note.
func (c chart) svg() template.HTML {
	tx := func(x float64) float64 {
		if c.LogX {
			return math.Log10(x)
		}
		return x
	}
	x0, x1, y0, y1 := math.Inf(1), math.Inf(-1), math.Inf(1), math.Inf(-1)
	n := 0
	for _, s := range c.Series {
		for i := range s.X {
			x, y := s.X[i], s.Y[i]
			if !finite(x) || !finite(y) || (c.LogX && x <= 0) {
				continue
			}
			n++
			x0, x1 = math.Min(x0, tx(x)), math.Max(x1, tx(x))
			y0, y1 = math.Min(y0, y), math.Max(y1, y)
		}
	}
	if n == 0 {
		return noData
	}
	if c.XNames != nil {
		x0, x1 = -0.5, float64(len(c.XNames))-0.5
	}
	x0, x1 = widen(x0, x1)
	y0, y1 = widen(y0, y1)
	px := func(x float64) float64 { return padL + (tx(x)-x0)/(x1-x0)*plotW }
	if c.XNames != nil {
		px = func(x float64) float64 { return padL + (x-x0)/(x1-x0)*plotW }
	}
	py := func(y float64) float64 { return padT + (1-(y-y0)/(y1-y0))*plotH }

	legend := 0
	if len(c.Series) > 1 {
		legend = legendRow * ((len(c.Series) + 2) / 3)
	}
	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" role="img" aria-label="%s">`, chartW, chartH+legend, chartW, chartH+legend, esc(c.Title))
	fmt.Fprintf(&b, `<rect width="100%%" height="100%%" fill="#fff"/>`)
	fmt.Fprintf(&b, `<text x="%d" y="16" %s font-weight="bold">%s</text>`, padL, fontStyle, esc(c.Title))
	// Grid and ticks.
	for _, t := range ticks(y0, y1) {
		y := py(t)
		fmt.Fprintf(&b, `<line x1="%d" x2="%d" y1="%.1f" y2="%.1f" stroke="#e1e1e1"/>`, padL, padL+plotW, y, y)
		fmt.Fprintf(&b, `<text x="%d" y="%.1f" %s text-anchor="end">%s</text>`, padL-4, y+4, fontStyle, esc(num(t)))
	}
	switch {
	case c.XNames != nil:
		for i, name := range c.XNames {
			x := padL + (float64(i)-x0)/(x1-x0)*plotW
			fmt.Fprintf(&b, `<text x="%.1f" y="%d" %s text-anchor="middle">%s</text>`, x, padT+plotH+14, fontStyle, esc(clip(name, 14)))
		}
	default:
		xt := ticks(x0, x1)
		if c.LogX {
			xt = logTicks(x0, x1)
		}
		for _, t := range xt {
			x := padL + (t-x0)/(x1-x0)*plotW
			label := num(t)
			if c.LogX {
				label = num(math.Pow(10, t))
			}
			fmt.Fprintf(&b, `<line x1="%.1f" x2="%.1f" y1="%d" y2="%d" stroke="#e1e1e1"/>`, x, x, padT, padT+plotH)
			fmt.Fprintf(&b, `<text x="%.1f" y="%d" %s text-anchor="middle">%s</text>`, x, padT+plotH+14, fontStyle, esc(label))
		}
	}
	fmt.Fprintf(&b, `<rect x="%d" y="%d" width="%d" height="%d" fill="none" stroke="#969696"/>`, padL, padT, plotW, plotH)
	fmt.Fprintf(&b, `<text x="%d" y="%d" %s text-anchor="middle">%s</text>`, padL+plotW/2, chartH-6, fontStyle, esc(c.XLabel))
	fmt.Fprintf(&b, `<text x="12" y="%d" %s text-anchor="middle" transform="rotate(-90 12 %d)">%s</text>`, padT+plotH/2, fontStyle, padT+plotH/2, esc(c.YLabel))
	// Data.
	for si, s := range c.Series {
		color := palette[si%len(palette)]
		var path []string
		for i := range s.X {
			x, y := s.X[i], s.Y[i]
			if !finite(x) || !finite(y) || (c.LogX && c.XNames == nil && x <= 0) {
				if !c.Points && len(path) > 0 {
					fmt.Fprintf(&b, `<polyline points="%s" fill="none" stroke="%s" stroke-width="1.6"/>`, strings.Join(path, " "), color)
					path = path[:0]
				}
				continue
			}
			if c.Points {
				r, extra := 3.5, ""
				if si == 0 && i == c.Highlight {
					r, extra = 5.5, ` stroke="#000" stroke-width="1.5"`
				}
				fmt.Fprintf(&b, `<circle cx="%.1f" cy="%.1f" r="%.1f" fill="%s" fill-opacity="0.8"%s/>`, px(x), py(y), r, color, extra)
				continue
			}
			path = append(path, fmt.Sprintf("%.1f,%.1f", px(x), py(y)))
		}
		if !c.Points && len(path) > 0 {
			fmt.Fprintf(&b, `<polyline points="%s" fill="none" stroke="%s" stroke-width="1.6"/>`, strings.Join(path, " "), color)
		}
		if legend > 0 {
			lx := padL + (si%3)*(plotW/3)
			ly := chartH + legendRow*(si/3) + 2
			fmt.Fprintf(&b, `<rect x="%d" y="%d" width="10" height="10" fill="%s"/><text x="%d" y="%d" %s>%s</text>`, lx, ly, color, lx+14, ly+9, fontStyle, esc(clip(s.Name, 22)))
		}
	}
	b.WriteString(`</svg>`)
	return template.HTML(b.String())
}

func finite(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }

// widen makes a range non-empty and pads it by 5% on each side.
func widen(lo, hi float64) (float64, float64) {
	if hi-lo < 1e-12 {
		d := math.Max(math.Abs(lo)*0.1, 0.5)
		return lo - d, hi + d
	}
	pad := (hi - lo) * 0.05
	return lo - pad, hi + pad
}

// ticks returns about tickCount round numbers inside [lo, hi].
func ticks(lo, hi float64) []float64 {
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

// logTicks returns the decades inside [lo, hi] (log10 units), with 2 and 5
// times them when the range spans less than two decades.
func logTicks(lo, hi float64) []float64 {
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

// num formats a number briefly.
func num(v float64) string { return strconv.FormatFloat(v, 'g', 4, 64) }

func esc(s string) string { return html.EscapeString(s) }

func clip(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}
