package eval

import (
	"bytes"
	"fmt"
	"image"
	"image/color"
	"image/draw"
	"image/png"
	"io"
	"math"
	"strconv"
)

// PlotOptions control the size and text of a plot.
type PlotOptions struct {
	Width, Height int // pixels; at least 160×120
	// Title is drawn above the plot; "" uses the plot's own default.
	Title string
	// TextScale is the size in pixels of one font dot (the font is 5×7).
	TextScale int
}

// DefaultPlotOptions returns a 640×480 plot with text at scale 2.
func DefaultPlotOptions() PlotOptions {
	return PlotOptions{Width: 640, Height: 480, TextScale: 2}
}

func (o PlotOptions) check() error {
	if o.Width < 160 || o.Height < 120 {
		return fmt.Errorf("%w: plot size %dx%d is below 160x120", ErrInvalidInput, o.Width, o.Height)
	}
	if o.TextScale < 1 || o.TextScale > 8 {
		return fmt.Errorf("%w: text scale %d is outside 1..8", ErrInvalidInput, o.TextScale)
	}
	return nil
}

// Series is one named training curve; Values[i] belongs to epoch i+1.
// NaN or infinite values leave a gap.
type Series struct {
	Name   string
	Values []float64
}

func black() color.RGBA     { return color.RGBA{0, 0, 0, 255} }
func white() color.RGBA     { return color.RGBA{255, 255, 255, 255} }
func gridGrey() color.RGBA  { return color.RGBA{225, 225, 225, 255} }
func frameGrey() color.RGBA { return color.RGBA{150, 150, 150, 255} }

// seriesColor is the tab10 palette, repeating after ten.
func seriesColor(i int) color.RGBA {
	p := [...]color.RGBA{
		{31, 119, 180, 255}, {255, 127, 14, 255}, {44, 160, 44, 255}, {214, 39, 40, 255},
		{148, 103, 189, 255}, {140, 86, 75, 255}, {227, 119, 194, 255}, {127, 127, 127, 255},
		{188, 189, 34, 255}, {23, 190, 207, 255},
	}
	return p[i%len(p)]
}

type canvas struct {
	img *image.RGBA
}

func newCanvas(w, h int) *canvas {
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	draw.Draw(img, img.Bounds(), image.NewUniform(white()), image.Point{}, draw.Src)
	return &canvas{img: img}
}

func (c *canvas) fill(r image.Rectangle, col color.RGBA) {
	draw.Draw(c.img, r.Intersect(c.img.Rect), image.NewUniform(col), image.Point{}, draw.Src)
}

// border draws the one-pixel outline of r.
func (c *canvas) border(r image.Rectangle, col color.RGBA) {
	c.fill(image.Rect(r.Min.X, r.Min.Y, r.Max.X, r.Min.Y+1), col)
	c.fill(image.Rect(r.Min.X, r.Max.Y-1, r.Max.X, r.Max.Y), col)
	c.fill(image.Rect(r.Min.X, r.Min.Y, r.Min.X+1, r.Max.Y), col)
	c.fill(image.Rect(r.Max.X-1, r.Min.Y, r.Max.X, r.Max.Y), col)
}

// line draws a Bresenham line with a square pen of the given width; with
// dash > 0 it draws dash pixels, skips dash pixels, and so on.
func (c *canvas) line(x0, y0, x1, y1 int, col color.RGBA, width, dash int) {
	dx, dy := abs(x1-x0), -abs(y1-y0)
	sx, sy := sign(x1-x0), sign(y1-y0)
	e := dx + dy
	off := (width - 1) / 2
	for step := 0; ; step++ {
		if dash == 0 || (step/dash)%2 == 0 {
			c.fill(image.Rect(x0-off, y0-off, x0-off+width, y0-off+width), col)
		}
		if x0 == x1 && y0 == y1 {
			return
		}
		if e2 := 2 * e; e2 >= dy {
			e += dy
			x0 += sx
		} else {
			e += dx
			y0 += sy
		}
	}
}

func abs(v int) int {
	if v < 0 {
		return -v
	}
	return v
}

func sign(v int) int {
	switch {
	case v > 0:
		return 1
	case v < 0:
		return -1
	}
	return 0
}

// text draws s with its top-left corner at (x, y).
func (c *canvas) text(x, y int, s string, scale int, col color.RGBA) {
	for i, r := range []rune(s) {
		g := glyph(r)
		for gy, row := range g {
			for gx := range glyphW {
				if row[gx] == '#' {
					px := x + (i*glyphAdvance+gx)*scale
					c.fill(image.Rect(px, y+gy*scale, px+scale, y+(gy+1)*scale), col)
				}
			}
		}
	}
}

// textUp draws s rotated a quarter turn anticlockwise, reading upwards,
// with the top of the letters at column x and the first letter ending at
// row y.
func (c *canvas) textUp(x, y int, s string, scale int, col color.RGBA) {
	for i, r := range []rune(s) {
		g := glyph(r)
		for gy, row := range g {
			for gx := range glyphW {
				if row[gx] == '#' {
					u := i*glyphAdvance + gx
					px, py := x+gy*scale, y-(u+1)*scale
					c.fill(image.Rect(px, py, px+scale, py+scale), col)
				}
			}
		}
	}
}

// fit shortens s so that it is at most width pixels wide at scale.
func fit(s string, width, scale int) string {
	r := []rune(s)
	for len(r) > 0 && textWidth(string(r), scale) > width {
		r = r[:len(r)-1]
	}
	return string(r)
}

// axes maps data coordinates to the pixels of the plot rectangle.
type axes struct {
	plot           image.Rectangle
	x0, x1, y0, y1 float64
}

func (a axes) px(x float64) int {
	return a.plot.Min.X + int(math.Round((x-a.x0)/(a.x1-a.x0)*float64(a.plot.Dx()-1)))
}

func (a axes) py(y float64) int {
	return a.plot.Max.Y - 1 - int(math.Round((y-a.y0)/(a.y1-a.y0)*float64(a.plot.Dy()-1)))
}

// frame is a titled plot area with labelled axes.
type frame struct {
	c      *canvas
	a      axes
	scale  int
	xticks []float64
	yticks []float64
	xdec   int // decimals of the tick labels
	ydec   int
}

func tickLabel(v float64, dec int) string {
	return strconv.FormatFloat(v, 'f', dec, 64)
}

// newFrame lays out the title, axis labels and ticks and draws them.
func newFrame(opts PlotOptions, title, xlabel, ylabel string, x0, x1, y0, y1 float64, xticks, yticks []float64, xdec, ydec int) *frame {
	s := opts.TextScale
	c := newCanvas(opts.Width, opts.Height)
	th := glyphH * s
	pad := 3 * s
	ylabW := 0
	for _, v := range yticks {
		ylabW = max(ylabW, textWidth(tickLabel(v, ydec), s))
	}
	left := pad + th + pad + ylabW + pad + 2*s
	top := pad + th + pad + s
	bottom := 2*s + pad + th + pad + th + pad
	right := 2*pad + textWidth(tickLabel(xticks[len(xticks)-1], xdec), s)/2
	plot := image.Rect(left, top, opts.Width-right, opts.Height-bottom)
	f := &frame{c: c, a: axes{plot, x0, x1, y0, y1}, scale: s, xticks: xticks, yticks: yticks, xdec: xdec, ydec: ydec}

	c.text((opts.Width-textWidth(title, s))/2, pad, title, s, black())
	lastEnd := math.MinInt
	for _, v := range xticks {
		x := f.a.px(v)
		c.fill(image.Rect(x, plot.Min.Y, x+1, plot.Max.Y), gridGrey())
		c.fill(image.Rect(x, plot.Max.Y, x+1, plot.Max.Y+2*s), black())
		l := tickLabel(v, xdec)
		if lx := x - textWidth(l, s)/2; lx >= lastEnd+glyphAdvance*s { // keep a letter of space
			c.text(lx, plot.Max.Y+2*s+pad, l, s, black())
			lastEnd = lx + textWidth(l, s)
		}
	}
	for _, v := range yticks {
		y := f.a.py(v)
		c.fill(image.Rect(plot.Min.X, y, plot.Max.X, y+1), gridGrey())
		c.fill(image.Rect(plot.Min.X-2*s, y, plot.Min.X, y+1), black())
		l := tickLabel(v, ydec)
		c.text(plot.Min.X-2*s-pad-textWidth(l, s), y-th/2, l, s, black())
	}
	c.border(plot.Inset(-1), black())
	c.text(plot.Min.X+(plot.Dx()-textWidth(xlabel, s))/2, opts.Height-pad-th, xlabel, s, black())
	c.textUp(pad, plot.Min.Y+(plot.Dy()+textWidth(ylabel, s))/2, ylabel, s, black())
	return f
}

// polyline draws the segments between consecutive points; a NaN or
// infinite coordinate breaks the line. With markers set it also draws a
// small square on every point.
func (f *frame) polyline(xs, ys []float64, col color.RGBA, markers bool) {
	w := max(2, f.scale)
	prevOK := false
	var px, py int
	for i := range xs {
		ok := !math.IsNaN(ys[i]) && !math.IsInf(ys[i], 0)
		if !ok {
			prevOK = false
			continue
		}
		x, y := f.a.px(xs[i]), f.a.py(ys[i])
		if prevOK {
			f.c.line(px, py, x, y, col, w, 0)
		} else {
			f.c.fill(image.Rect(x-w/2, y-w/2, x-w/2+w, y-w/2+w), col)
		}
		if markers {
			m := w + 2
			f.c.fill(image.Rect(x-m/2, y-m/2, x-m/2+m, y-m/2+m), col)
		}
		px, py, prevOK = x, y, true
	}
}

// legendEntry is name+suffix; a name too long for the plot is cut, the
// suffix (e.g. the AUC) is kept.
type legendEntry struct {
	name, suffix string
	col          color.RGBA
}

// legend draws a boxed legend in the bottom-right (bottom) or top-right
// corner of the plot area.
func (f *frame) legend(entries []legendEntry, bottom bool) {
	s := f.scale
	th, pad, sw := glyphH*s, 2*s, 8*s
	plot := f.a.plot
	maxLabel := plot.Dx() - 3*pad - sw - 8*s
	w := 0
	labels := make([]string, len(entries))
	for i, e := range entries {
		labels[i] = fit(e.name, maxLabel-textWidth(e.suffix, s), s) + e.suffix
		w = max(w, textWidth(labels[i], s))
	}
	w += sw + 3*pad
	h := len(entries)*(th+pad) + pad
	x := plot.Max.X - 4*s - w
	y := plot.Min.Y + 4*s
	if bottom {
		y = plot.Max.Y - 4*s - h
	}
	box := image.Rect(x, y, x+w, y+h)
	f.c.fill(box, white())
	f.c.border(box, frameGrey())
	for i, e := range entries {
		ey := y + pad + i*(th+pad)
		f.c.fill(image.Rect(x+pad, ey+th/2-s, x+pad+sw, ey+th/2+s), e.col)
		f.c.text(x+2*pad+sw, ey, labels[i], s, black())
	}
}

// PlotROC draws one ROC curve per class with a legend giving each AUC, and
// the chance diagonal. An undefined curve appears only in the legend.
func PlotROC(curves []ROCCurve, opts PlotOptions) (*image.RGBA, error) {
	if err := opts.check(); err != nil {
		return nil, fmt.Errorf("plotting roc curves: %w", err)
	}
	if len(curves) == 0 {
		return nil, fmt.Errorf("plotting roc curves: %w: no curves", ErrInvalidInput)
	}
	title := opts.Title
	if title == "" {
		title = "ROC"
	}
	ticks := []float64{0, 0.2, 0.4, 0.6, 0.8, 1}
	f := newFrame(opts, title, "FALSE POSITIVE RATE", "TRUE POSITIVE RATE", 0, 1, 0, 1, ticks, ticks, 1, 1)
	f.c.line(f.a.px(0), f.a.py(0), f.a.px(1), f.a.py(1), frameGrey(), 1, 4*opts.TextScale)
	var entries []legendEntry
	for i, cv := range curves {
		col := seriesColor(i)
		suffix := " AUC N/A"
		if cv.Defined {
			suffix = " AUC " + strconv.FormatFloat(cv.AUC, 'f', 3, 64)
			xs := make([]float64, len(cv.Points))
			ys := make([]float64, len(cv.Points))
			for j, p := range cv.Points {
				xs[j], ys[j] = p.FPR, p.TPR
			}
			f.polyline(xs, ys, col, false)
		}
		entries = append(entries, legendEntry{cv.Class, suffix, col})
	}
	f.legend(entries, true)
	return f.c.img, nil
}

// PlotTraining draws named series over epochs (x = 1, 2, …) on one y axis
// whose range covers every finite value, with a legend.
func PlotTraining(series []Series, opts PlotOptions) (*image.RGBA, error) {
	if err := opts.check(); err != nil {
		return nil, fmt.Errorf("plotting training curves: %w", err)
	}
	if len(series) == 0 {
		return nil, fmt.Errorf("plotting training curves: %w: no series", ErrInvalidInput)
	}
	epochs := 0
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, s := range series {
		epochs = max(epochs, len(s.Values))
		for _, v := range s.Values {
			if !math.IsNaN(v) && !math.IsInf(v, 0) {
				lo, hi = min(lo, v), max(hi, v)
			}
		}
	}
	if lo > hi {
		return nil, fmt.Errorf("plotting training curves: %w: no finite values", ErrInvalidInput)
	}
	if hi == lo {
		pad := max(math.Abs(lo)*0.1, 0.5)
		lo, hi = lo-pad, hi+pad
	} else {
		pad := (hi - lo) * 0.05
		lo, hi = lo-pad, hi+pad
	}
	ystep := niceStep((hi - lo) / 5)
	lo, hi = math.Floor(lo/ystep)*ystep, math.Ceil(hi/ystep)*ystep
	yticks := ticksOf(lo, hi, ystep)
	x0, x1 := 1.0, float64(max(epochs, 2))
	xstep := max(1, niceStep((x1-x0)/8))
	xticks := ticksOf(x0, x1, xstep)
	if xstep > 1 { // start the ticks at a multiple of the step, keep epoch 1
		xticks = append([]float64{1}, ticksOf(xstep, x1, xstep)...)
	}
	title := opts.Title
	if title == "" {
		title = "TRAINING"
	}
	f := newFrame(opts, title, "EPOCH", "VALUE", x0, x1, lo, hi, xticks, yticks, 0, decimals(ystep))
	var entries []legendEntry
	for i, s := range series {
		col := seriesColor(i)
		xs := make([]float64, len(s.Values))
		for j := range xs {
			xs[j] = float64(j + 1)
		}
		f.polyline(xs, s.Values, col, epochs <= 50)
		entries = append(entries, legendEntry{s.Name, "", col})
	}
	f.legend(entries, false)
	return f.c.img, nil
}

// niceStep rounds raw up to 1, 2 or 5 times a power of ten.
func niceStep(raw float64) float64 {
	if raw <= 0 {
		return 1
	}
	mag := math.Pow(10, math.Floor(math.Log10(raw)))
	switch f := raw / mag; {
	case f <= 1:
		return mag
	case f <= 2:
		return 2 * mag
	case f <= 5:
		return 5 * mag
	}
	return 10 * mag
}

// ticksOf returns lo, lo+step, … up to hi (with a little slack for rounding).
func ticksOf(lo, hi, step float64) []float64 {
	var t []float64
	for i := 0; ; i++ {
		v := lo + float64(i)*step
		if v > hi+step*1e-6 {
			return t
		}
		if math.Abs(v) < step*1e-6 {
			v = 0 // no "-0.0"
		}
		t = append(t, v)
	}
}

// decimals is how many decimals show a multiple of step exactly.
func decimals(step float64) int {
	return max(0, -int(math.Floor(math.Log10(step)+1e-9)))
}

// PlotConfusion draws the confusion matrix as a heatmap: rows are true
// classes, columns predicted classes, each cell shows its count and is
// shaded by the count divided by its row total (so every true class is
// readable however rare it is).
func PlotConfusion(c Confusion, opts PlotOptions) (*image.RGBA, error) {
	if err := opts.check(); err != nil {
		return nil, fmt.Errorf("plotting confusion matrix: %w", err)
	}
	k := len(c.Classes)
	if k == 0 || len(c.Matrix) != k {
		return nil, fmt.Errorf("plotting confusion matrix: %w: %d classes and %d rows", ErrInvalidInput, k, len(c.Matrix))
	}
	for i, row := range c.Matrix {
		if len(row) != k {
			return nil, fmt.Errorf("plotting confusion matrix: %w: row %d has %d columns, want %d", ErrInvalidInput, i, len(row), k)
		}
	}
	s := opts.TextScale
	th, pad := glyphH*s, 3*s
	title := opts.Title
	if title == "" {
		title = "CONFUSION MATRIX"
	}
	cv := newCanvas(opts.Width, opts.Height)

	rowLabW := 0
	for _, name := range c.Classes {
		rowLabW = max(rowLabW, textWidth(name, s))
	}
	rowLabW = min(rowLabW, opts.Width/3)
	left := pad + th + pad + rowLabW + pad
	top := pad + th + 2*pad
	bottom := pad + th + 3*pad + th + pad
	availW, availH := opts.Width-left-pad, opts.Height-top-bottom
	cell := min(availW, availH) / k
	if cell < 8 {
		return nil, fmt.Errorf("plotting confusion matrix: %w: %d classes do not fit in %dx%d", ErrInvalidInput, k, opts.Width, opts.Height)
	}
	gx := left + (availW-cell*k)/2
	gy := top
	grid := image.Rect(gx, gy, gx+cell*k, gy+cell*k)

	// One text scale for all labels and one for all counts, so they match.
	labScale := s
	for _, name := range c.Classes {
		if textWidth(name, labScale) > cell-2 {
			labScale = 1
		}
	}
	maxCount := 0
	for _, row := range c.Matrix {
		for _, v := range row {
			maxCount = max(maxCount, v)
		}
	}
	numScale := s
	for numScale > 1 && (textWidth(strconv.Itoa(maxCount), numScale) > cell-4 || glyphH*numScale > cell-4) {
		numScale--
	}
	showCounts := textWidth(strconv.Itoa(maxCount), numScale) <= cell-2 && glyphH*numScale <= cell-2

	for t, row := range c.Matrix {
		total := 0
		for _, v := range row {
			total += v
		}
		for p, v := range row {
			frac := 0.0
			if total > 0 {
				frac = float64(v) / float64(total)
			}
			r := image.Rect(gx+p*cell, gy+t*cell, gx+(p+1)*cell, gy+(t+1)*cell)
			cv.fill(r, heat(frac))
			cv.border(r, frameGrey())
			if showCounts {
				txt := strconv.Itoa(v)
				col := black()
				if frac > 0.5 {
					col = white()
				}
				cv.text(r.Min.X+(cell-textWidth(txt, numScale))/2, r.Min.Y+(cell-glyphH*numScale)/2, txt, numScale, col)
			}
		}
		name := fit(c.Classes[t], rowLabW, s)
		cv.text(gx-pad-textWidth(name, s), gy+t*cell+(cell-th)/2, name, s, black())
	}
	for p, name := range c.Classes {
		name = fit(name, cell-2, labScale)
		cv.text(gx+p*cell+(cell-textWidth(name, labScale))/2, grid.Max.Y+pad, name, labScale, black())
	}
	cv.border(grid.Inset(-1), black())
	tx := grid.Min.X + (grid.Dx()-textWidth(title, s))/2
	tx = max(pad, min(tx, opts.Width-pad-textWidth(title, s)))
	cv.text(tx, pad, title, s, black())
	cv.text(grid.Min.X+(grid.Dx()-textWidth("PREDICTED", s))/2, grid.Max.Y+pad+th+3*pad, "PREDICTED", s, black())
	cv.textUp(pad, grid.Min.Y+(grid.Dy()+textWidth("TRUE", s))/2, "TRUE", s, black())
	return cv.img, nil
}

// heat maps 0..1 to white()..dark blue.
func heat(t float64) color.RGBA {
	lerp := func(a, b uint8) uint8 { return uint8(math.Round(float64(a) + (float64(b)-float64(a))*t)) }
	return color.RGBA{lerp(255, 8), lerp(255, 48), lerp(255, 107), 255}
}

// EncodePNG writes img as PNG; the same pixels always give the same bytes.
func EncodePNG(w io.Writer, img image.Image) error {
	enc := png.Encoder{CompressionLevel: png.DefaultCompression}
	if err := enc.Encode(w, img); err != nil {
		return fmt.Errorf("encoding png: %w", err)
	}
	return nil
}

// WritePNG stores img as a PNG file at path, atomically.
func WritePNG(path string, img image.Image) error {
	var b bytes.Buffer
	if err := EncodePNG(&b, img); err != nil {
		return fmt.Errorf("writing plot %q: %w", path, err)
	}
	if err := writeFileAtomic(path, b.Bytes()); err != nil {
		return fmt.Errorf("writing plot %q: %w", path, err)
	}
	return nil
}
