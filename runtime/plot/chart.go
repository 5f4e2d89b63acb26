package plot

import (
	"errors"
	"fmt"
	"math"
	"strings"
)

// ErrNoData is returned for a chart without a single finite point.
var ErrNoData = errors.New("no finite data")

// Series is one line or set of points of a chart; X[i] and Y[i] are one
// point. A NaN or infinite coordinate leaves a gap in a line.
type Series struct {
	Name string
	X, Y []float64
}

// Chart is a line chart, or a point chart when Points is set, with a title,
// axis labels, a grid and (for more than one series) a legend below.
type Chart struct {
	Title, XLabel, YLabel string
	Series                []Series
	Points                bool
	// LogX spaces the x axis logarithmically (points with x <= 0 are left out).
	LogX bool
	// XNames label x = 0, 1, … instead of numbers (a categorical axis).
	XNames []string
	// Highlight marks one point of the first series (its index), or none (-1).
	Highlight int
	// Width and Height in pixels, legend excluded; 0 means 460×280.
	Width, Height int
}

const (
	defaultW, defaultH     = 460, 280
	padL, padR, padT, padB = 56, 12, 28, 44
	legendRow              = 14
	tickCount              = 5
	// FontStyle is the text style of every chart.
	FontStyle = `font-family="sans-serif" font-size="11"`
)

var palette = [...]string{"#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"}

// Color is the i-th colour of the tab10 palette, repeating after ten.
func Color(i int) string { return palette[i%len(palette)] }

func (c Chart) size() (w, h int) {
	w, h = c.Width, c.Height
	if w <= 0 {
		w = defaultW
	}
	if h <= 0 {
		h = defaultH
	}
	return w, h
}

// SVG renders the chart. It fails with [ErrNoData] when no series has a
// finite point.
func (c Chart) SVG() (string, error) {
	chartW, chartH := c.size()
	plotW, plotH := chartW-padL-padR, chartH-padT-padB
	if plotW < 40 || plotH < 40 {
		return "", fmt.Errorf("chart %q: %dx%d leaves no room to plot", c.Title, chartW, chartH)
	}
	tx := func(x float64) float64 {
		if c.LogX {
			return math.Log10(x)
		}
		return x
	}
	x0, x1, y0, y1 := math.Inf(1), math.Inf(-1), math.Inf(1), math.Inf(-1)
	n := 0
	for _, s := range c.Series {
		if len(s.X) != len(s.Y) {
			return "", fmt.Errorf("chart %q: series %q has %d x and %d y values", c.Title, s.Name, len(s.X), len(s.Y))
		}
		for i := range s.X {
			x, y := s.X[i], s.Y[i]
			if !Finite(x) || !Finite(y) || (c.LogX && x <= 0) {
				continue
			}
			n++
			x0, x1 = math.Min(x0, tx(x)), math.Max(x1, tx(x))
			y0, y1 = math.Min(y0, y), math.Max(y1, y)
		}
	}
	if n == 0 {
		return "", fmt.Errorf("chart %q: %w", c.Title, ErrNoData)
	}
	if c.XNames != nil {
		x0, x1 = -0.5, float64(len(c.XNames))-0.5
	}
	x0, x1 = Widen(x0, x1)
	y0, y1 = Widen(y0, y1)
	pw, ph := float64(plotW), float64(plotH)
	px := func(x float64) float64 { return padL + (tx(x)-x0)/(x1-x0)*pw }
	if c.XNames != nil {
		px = func(x float64) float64 { return padL + (x-x0)/(x1-x0)*pw }
	}
	py := func(y float64) float64 { return padT + (1-(y-y0)/(y1-y0))*ph }

	legend := 0
	if len(c.Series) > 1 {
		legend = legendRow * ((len(c.Series) + 2) / 3)
	}
	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" role="img" aria-label="%s">`, chartW, chartH+legend, chartW, chartH+legend, Esc(c.Title))
	fmt.Fprintf(&b, `<rect width="100%%" height="100%%" fill="#fff"/>`)
	fmt.Fprintf(&b, `<text x="%d" y="16" %s font-weight="bold">%s</text>`, padL, FontStyle, Esc(c.Title))
	// Grid and ticks.
	for _, t := range Ticks(y0, y1) {
		y := py(t)
		fmt.Fprintf(&b, `<line x1="%d" x2="%d" y1="%.1f" y2="%.1f" stroke="#e1e1e1"/>`, padL, padL+plotW, y, y)
		fmt.Fprintf(&b, `<text x="%d" y="%.1f" %s text-anchor="end">%s</text>`, padL-4, y+4, FontStyle, Esc(Num(t)))
	}
	switch {
	case c.XNames != nil:
		for i, name := range c.XNames {
			x := padL + (float64(i)-x0)/(x1-x0)*pw
			fmt.Fprintf(&b, `<text x="%.1f" y="%d" %s text-anchor="middle">%s</text>`, x, padT+plotH+14, FontStyle, Esc(Clip(name, 14)))
		}
	default:
		xt := Ticks(x0, x1)
		if c.LogX {
			xt = LogTicks(x0, x1)
		}
		for _, t := range xt {
			x := padL + (t-x0)/(x1-x0)*pw
			label := Num(t)
			if c.LogX {
				label = Num(math.Pow(10, t))
			}
			fmt.Fprintf(&b, `<line x1="%.1f" x2="%.1f" y1="%d" y2="%d" stroke="#e1e1e1"/>`, x, x, padT, padT+plotH)
			fmt.Fprintf(&b, `<text x="%.1f" y="%d" %s text-anchor="middle">%s</text>`, x, padT+plotH+14, FontStyle, Esc(label))
		}
	}
	fmt.Fprintf(&b, `<rect x="%d" y="%d" width="%d" height="%d" fill="none" stroke="#969696"/>`, padL, padT, plotW, plotH)
	fmt.Fprintf(&b, `<text x="%d" y="%d" %s text-anchor="middle">%s</text>`, padL+plotW/2, chartH-6, FontStyle, Esc(c.XLabel))
	fmt.Fprintf(&b, `<text x="12" y="%d" %s text-anchor="middle" transform="rotate(-90 12 %d)">%s</text>`, padT+plotH/2, FontStyle, padT+plotH/2, Esc(c.YLabel))
	// Data.
	for si, s := range c.Series {
		color := Color(si)
		var path []string
		for i := range s.X {
			x, y := s.X[i], s.Y[i]
			if !Finite(x) || !Finite(y) || (c.LogX && c.XNames == nil && x <= 0) {
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
			fmt.Fprintf(&b, `<rect x="%d" y="%d" width="10" height="10" fill="%s"/><text x="%d" y="%d" %s>%s</text>`, lx, ly, color, lx+14, ly+9, FontStyle, Esc(Clip(s.Name, 22)))
		}
	}
	b.WriteString(`</svg>`)
	return b.String(), nil
}
