package report

import (
	"fmt"
	"html/template"
	"math"
	"sort"
	"strings"

	"parak8s.dev/parak8s/runtime/plot"
	"parak8s.dev/parak8s/runtime/step"
)

// axis is one vertical axis of the parallel-coordinates plot: a swept
// parameter or, last, the ranking metric.
type axis struct {
	Path, Name string
	// Numeric axes map a value to [0, 1] through lo..hi (log10 units when
	// Log); categorical ones space Names evenly.
	Numeric, Log bool
	lo, hi       float64
	Names        []string
	at           map[string]int
}

// pos returns where a value sits on the axis, 0 (bottom) to 1 (top); false
// when the value cannot be placed (missing, or not a number on a numeric
// axis).
func (a *axis) pos(v any, ok bool) (float64, bool) {
	if !ok {
		return 0, false
	}
	if !a.Numeric {
		return a.catPos(label(v))
	}
	f, isNum := v.(float64)
	if !isNum || !plot.Finite(f) || (a.Log && f <= 0) {
		return 0, false
	}
	if a.Log {
		f = math.Log10(f)
	}
	return (f - a.lo) / (a.hi - a.lo), true
}

func label(v any) string {
	b, _ := step.Canonical(v)
	return string(b)
}

// override returns the trial's value of a swept path.
func override(t loaded, path string) (any, bool) {
	for _, o := range t.Overrides {
		if o.Path == path {
			return o.Value, true
		}
	}
	return nil, false
}

// newAxis builds the axis of one parameter from the values the ranked
// trials have: numeric when every value is a number (logarithmic when they
// are positive and span a decade), else one position per distinct value in
// the order of their JSON text.
func newAxis(path string, values []any) *axis {
	a := &axis{Path: path, Name: path[strings.LastIndex(path, ".")+1:], Numeric: len(values) > 0, at: map[string]int{}}
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, v := range values {
		f, ok := v.(float64)
		if !ok || !plot.Finite(f) {
			a.Numeric = false
			break
		}
		lo, hi = math.Min(lo, f), math.Max(hi, f)
	}
	distinct := map[string]bool{}
	for _, v := range values {
		distinct[label(v)] = true
	}
	if a.Numeric && len(distinct) > 1 {
		a.Log = lo > 0 && hi/lo >= 10
		if a.Log {
			lo, hi = math.Log10(lo), math.Log10(hi)
		}
		a.lo, a.hi = lo, hi
		return a
	}
	// A single number, or values of other kinds: a categorical axis.
	a.Numeric = false
	for _, v := range values {
		l := label(v)
		if _, ok := a.at[l]; !ok {
			a.at[l] = 0
			a.Names = append(a.Names, l)
		}
	}
	sort.SliceStable(a.Names, func(i, j int) bool { return a.Names[i] < a.Names[j] })
	for i, n := range a.Names {
		a.at[n] = i
	}
	return a
}

const (
	pcAxisGap            = 170
	pcPadL, pcPadR       = 70, 90
	pcPadT, pcPadB       = 44, 36
	pcPlotH              = 260
	pcHeight             = pcPadT + pcPlotH + pcPadB
	pcMinWidth           = 460
	pcColorLo, pcColorHi = "#c6dbef", "#08306b"
)

// parallel draws every ranked trial as a line across one axis per swept
// parameter and, last, the ranking metric; lines are shaded by rank (darker
// is better), the best trial is drawn last in red and each line links to
// its trial's details, with its values as a tooltip; a dashed stretch
// skips the axes of parameters a trial does not set. Nothing when the sweep
// has no parameters or no trial has a value.
func parallel(params []string, ts []loaded, metric string) template.HTML {
	var ranked []loaded
	for _, t := range ts {
		if t.HasValue && plot.Finite(t.Value) {
			ranked = append(ranked, t)
		}
	}
	if len(params) == 0 || len(ranked) == 0 {
		return ""
	}
	axes := make([]*axis, 0, len(params)+1)
	for _, p := range params {
		var vs []any
		for _, t := range ranked {
			if v, ok := override(t, p); ok {
				vs = append(vs, v)
			}
		}
		axes = append(axes, newAxis(p, vs))
	}
	m := &axis{Path: metric, Name: metric, Numeric: true, lo: math.Inf(1), hi: math.Inf(-1)}
	for _, t := range ranked {
		m.lo, m.hi = math.Min(m.lo, t.Value), math.Max(m.hi, t.Value)
	}
	m.lo, m.hi = plot.Widen(m.lo, m.hi)
	for _, a := range axes {
		if a.Numeric {
			a.lo, a.hi = plot.Widen(a.lo, a.hi)
		}
	}
	axes = append(axes, m)

	w := max(pcMinWidth, pcPadL+pcPadR+pcAxisGap*(len(axes)-1))
	gap := float64(w-pcPadL-pcPadR) / float64(len(axes)-1)
	ax := func(i int) float64 { return pcPadL + gap*float64(i) }
	ay := func(p float64) float64 { return pcPadT + (1-p)*pcPlotH }

	var b strings.Builder
	fmt.Fprintf(&b, `<svg class="parcoords" data-axes="%d" data-lines="%d" xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" role="img" aria-label="%s">`,
		len(axes), len(ranked), w, pcHeight, w, pcHeight, plot.Esc("parallel coordinates: "+metric+" by every swept parameter"))
	fmt.Fprintf(&b, `<rect width="100%%" height="100%%" fill="#fff"/>`)
	fmt.Fprintf(&b, `<text x="%d" y="16" %s font-weight="bold">%s</text>`, 8, plot.FontStyle, plot.Esc(fmt.Sprintf("%d trials: the swept parameters against %s (darker is better, red is the best trial)", len(ranked), metric)))

	// Lines: worst first so better ones lie on top, the best last.
	for i := len(ranked) - 1; i >= 0; i-- {
		t := ranked[i]
		tip := []string{t.Short}
		// Solid segments between neighbouring axes; a dashed one bridges
		// the axes of parameters the trial does not set.
		var segs []segment
		var pts []string
		skipped := false
		for k, a := range axes {
			var p float64
			var ok bool
			if k == len(axes)-1 {
				p, ok = a.pos(t.Value, true)
				tip = append(tip, fmt.Sprintf("%s=%s", a.Name, fmtv(t.Value, true)))
			} else {
				v, has := override(t, a.Path)
				p, ok = a.pos(v, has)
				if has {
					tip = append(tip, a.Name+"="+label(v))
				}
			}
			if !ok {
				skipped = true
				continue
			}
			pt := fmt.Sprintf("%.1f,%.1f", ax(k), ay(p))
			if skipped && len(pts) > 0 {
				if len(pts) > 1 {
					segs = append(segs, segment{strings.Join(pts, " "), false})
				}
				segs = append(segs, segment{pts[len(pts)-1] + " " + pt, true})
				pts = pts[:0]
			}
			skipped = false
			pts = append(pts, pt)
		}
		if len(pts) > 1 {
			segs = append(segs, segment{strings.Join(pts, " "), false})
		}
		class, color, width := "pc-line", shade(i, len(ranked)), "1.4"
		if i == 0 {
			class, color, width = "pc-line pc-best", "#d62728", "3"
		}
		fmt.Fprintf(&b, `<a href="#t-%s" class="%s" data-trial="%s"><title>%s</title>`, plot.Esc(t.Short), class, plot.Esc(t.Short), plot.Esc(strings.Join(tip, " · ")))
		for _, s := range segs {
			dash := ""
			if s.dashed {
				dash = ` stroke-dasharray="4 3"`
			}
			fmt.Fprintf(&b, `<polyline points="%s" fill="none" stroke="%s" stroke-width="%s" stroke-opacity="0.85"%s/>`, s.points, color, width, dash)
		}
		b.WriteString(`</a>`)
	}

	// Axes on top of the lines, with their ticks.
	for k, a := range axes {
		x := ax(k)
		cls := "pc-axis"
		if k == len(axes)-1 {
			cls = "pc-axis pc-metric"
		}
		fmt.Fprintf(&b, `<g class="%s" data-param="%s"><title>%s</title>`, cls, plot.Esc(a.Path), plot.Esc(a.Path))
		fmt.Fprintf(&b, `<line x1="%.1f" x2="%.1f" y1="%d" y2="%d" stroke="#333" stroke-width="1.2"/>`, x, x, pcPadT, pcPadT+pcPlotH)
		fmt.Fprintf(&b, `<text x="%.1f" y="%d" %s font-weight="bold" text-anchor="middle">%s</text>`, x, pcPadT-12, plot.FontStyle, plot.Esc(plot.Clip(a.Name, 24)))
		// Tick labels left of the axes, right of the metric's (the last).
		side, anchor := -1.0, "end"
		if k == len(axes)-1 {
			side, anchor = 1, "start"
		}
		for _, tk := range a.ticks() {
			y := ay(tk.p)
			fmt.Fprintf(&b, `<line x1="%.1f" x2="%.1f" y1="%.1f" y2="%.1f" stroke="#333"/>`, x+3*side, x, y, y)
			fmt.Fprintf(&b, `<text x="%.1f" y="%.1f" %s text-anchor="%s" paint-order="stroke" stroke="#fff" stroke-width="3">%s</text>`, x+5*side, y+4, plot.FontStyle, anchor, plot.Esc(plot.Clip(tk.label, 16)))
		}
		b.WriteString(`</g>`)
	}
	b.WriteString(`</svg>`)
	return template.HTML(b.String())
}

// catPos is where a categorical axis puts a value's JSON text.
func (a *axis) catPos(name string) (float64, bool) {
	i, ok := a.at[name]
	if !ok {
		return 0, false
	}
	if len(a.Names) == 1 {
		return 0.5, true
	}
	return float64(i) / float64(len(a.Names)-1), true
}

type segment struct {
	points string
	dashed bool
}

type tick struct {
	p     float64
	label string
}

func (a *axis) ticks() []tick {
	var out []tick
	if !a.Numeric {
		for _, n := range a.Names {
			p, _ := a.catPos(n)
			out = append(out, tick{p, n})
		}
		return out
	}
	ts := plot.Ticks(a.lo, a.hi)
	if a.Log {
		ts = plot.LogTicks(a.lo, a.hi)
	}
	for _, t := range ts {
		l := plot.Num(t)
		if a.Log {
			l = plot.Num(math.Pow(10, t))
		}
		out = append(out, tick{(t - a.lo) / (a.hi - a.lo), l})
	}
	return out
}

// shade is the color of the i-th best of n lines: pcColorHi for the best,
// pcColorLo for the worst.
func shade(i, n int) string {
	f := 1.0
	if n > 1 {
		f = 1 - float64(i)/float64(n-1)
	}
	mix := func(lo, hi string) string {
		var a, b [3]int
		fmt.Sscanf(lo, "#%02x%02x%02x", &a[0], &a[1], &a[2])
		fmt.Sscanf(hi, "#%02x%02x%02x", &b[0], &b[1], &b[2])
		var c [3]int
		for k := range c {
			c[k] = int(math.Round(float64(a[k]) + f*float64(b[k]-a[k])))
		}
		return fmt.Sprintf("#%02x%02x%02x", c[0], c[1], c[2])
	}
	return mix(pcColorLo, pcColorHi)
}
