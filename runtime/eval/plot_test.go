package eval

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"image"
	"image/color"
	"image/png"
	"math"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
)

func countColor(img *image.RGBA, c color.RGBA) int {
	n := 0
	b := img.Bounds()
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			if img.RGBAAt(x, y) == c {
				n++
			}
		}
	}
	return n
}

func trainingSeries() []Series {
	return []Series{
		{"loss", []float64{0.9, 0.7, 0.55, 0.5, 0.42, 0.4, 0.38, 0.37}},
		{"val_auc", []float64{0.6, 0.7, 0.75, 0.8, 0.83, 0.85, 0.86, 0.86}},
	}
}

// plots renders one of each plot kind from fixed input.
func plots(t *testing.T, opts PlotOptions) map[string]*image.RGBA {
	t.Helper()
	in := benchInput(2000, 3)
	in.Classes = []string{"NORMAL", "BACTERIA", "VIRUS"}
	curves, err := ROCCurves(in, DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	r, err := Compute(in, DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	roc, err := PlotROC(curves, opts)
	if err != nil {
		t.Fatal(err)
	}
	conf, err := PlotConfusion(r.Confusion, opts)
	if err != nil {
		t.Fatal(err)
	}
	train, err := PlotTraining(trainingSeries(), opts)
	if err != nil {
		t.Fatal(err)
	}
	return map[string]*image.RGBA{"roc": roc, "confusion": conf, "training": train}
}

func TestPlotsDecodeWithSize(t *testing.T) {
	sizes := []struct{ w, h, scale int }{{640, 480, 2}, {320, 240, 1}, {1200, 300, 3}, {160, 120, 1}}
	for _, sz := range sizes {
		opts := DefaultPlotOptions()
		opts.Width, opts.Height, opts.TextScale = sz.w, sz.h, sz.scale
		for name, img := range plots(t, opts) {
			path := filepath.Join(t.TempDir(), name+".png")
			if err := WritePNG(path, img); err != nil {
				t.Fatal(err)
			}
			var b bytes.Buffer
			if err := EncodePNG(&b, img); err != nil {
				t.Fatal(err)
			}
			dec, err := png.Decode(&b)
			if err != nil {
				t.Fatalf("%s %dx%d: %v", name, sz.w, sz.h, err)
			}
			if got := dec.Bounds(); got != image.Rect(0, 0, sz.w, sz.h) {
				t.Errorf("%s: bounds %v, want %dx%d", name, got, sz.w, sz.h)
			}
			if n := countColor(img, black()); n < 500 {
				t.Errorf("%s %dx%d: only %d black pixels; axes and text missing", name, sz.w, sz.h, n)
			}
		}
	}
}

// goldenPixels are sha256 sums of the pixels of the default-size plots.
// Change them only after looking at the new images; they are checked on
// amd64 only, since fused multiply-add elsewhere may move a pixel.
func goldenPixels() map[string]string {
	return map[string]string{
		"roc":       "456afc342407ec671f501e2dd19e58c6f2c47dd3ecb6ea777199926f8b96a978",
		"confusion": "0603960b0f752d592e29e7ab70e2646c0b864e03b26a92f624c14663b69885d4",
		"training":  "5a07e487680fdeb9f74a4fc4354e3a854c7048ad1809ce19be2190af66abca45",
	}
}

func TestPlotsDeterministic(t *testing.T) {
	a, b := plots(t, DefaultPlotOptions()), plots(t, DefaultPlotOptions())
	for name := range a {
		var ba, bb bytes.Buffer
		if err := EncodePNG(&ba, a[name]); err != nil {
			t.Fatal(err)
		}
		if err := EncodePNG(&bb, b[name]); err != nil {
			t.Fatal(err)
		}
		if sha256.Sum256(ba.Bytes()) != sha256.Sum256(bb.Bytes()) {
			t.Errorf("%s: two renders give different png bytes", name)
		}
		sum := sha256.Sum256(a[name].Pix)
		got := hex.EncodeToString(sum[:])
		if want := goldenPixels()[name]; runtime.GOARCH == "amd64" && got != want {
			t.Errorf("%s: pixel sha256 %s, want %s", name, got, want)
		}
	}
}

func TestPlotROCContent(t *testing.T) {
	perfect := Input{Classes: []string{"NORMAL", "PNEUMONIA"}, Labels: []int{0, 0, 1, 1}, Probs: []float32{.9, .1, .8, .2, .3, .7, .1, .9}}
	curves, err := ROCCurves(perfect, DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	undefined := ROCCurve{Class: "EMPTY"}
	img, err := PlotROC(append(curves, undefined), DefaultPlotOptions())
	if err != nil {
		t.Fatal(err)
	}
	// A perfect curve runs up the left edge and along the top; the second
	// curve is drawn over the first. The legend swatch alone is 16×4 pixels.
	if n := countColor(img, seriesColor(1)); n < 1000 {
		t.Errorf("curve colour on %d pixels, want a full curve", n)
	}
	if n := countColor(img, seriesColor(2)); n != 16*4 {
		t.Errorf("undefined curve colour on %d pixels, want only the legend swatch (64)", n)
	}
}

func TestPlotConfusionShading(t *testing.T) {
	// Row-normalised: row A is 1/4 and 3/4, row B is empty (all white).
	c := Confusion{Classes: []string{"A", "B"}, Matrix: [][]int{{1, 3}, {0, 0}}}
	img, err := PlotConfusion(c, DefaultPlotOptions())
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		frac float64
		min  int
	}{{0.25, 10000}, {0.75, 10000}, {1, 0}} {
		n := countColor(img, heat(tt.frac))
		if (tt.min == 0 && n != 0) || n < tt.min {
			t.Errorf("shade %v on %d pixels, want at least %d (none if 0)", tt.frac, n, tt.min)
		}
	}
	if heat(0) != white() || heat(1) != (color.RGBA{8, 48, 107, 255}) {
		t.Errorf("heat ends %v %v", heat(0), heat(1))
	}
}

func TestPlotTrainingContent(t *testing.T) {
	nan := math.NaN()
	series := []Series{
		{"loss", []float64{1, nan, 0.5, 0.25}},
		{"all_nan", []float64{nan, nan}},
		{"flat", []float64{0.5, 0.5, 0.5}},
	}
	img, err := PlotTraining(series, DefaultPlotOptions())
	if err != nil {
		t.Fatal(err)
	}
	swatch := 16 * 4
	if n := countColor(img, seriesColor(0)); n < swatch+100 {
		t.Errorf("loss drawn on %d pixels", n)
	}
	if n := countColor(img, seriesColor(1)); n != swatch {
		t.Errorf("all-NaN series on %d pixels, want only its swatch", n)
	}
	if _, err := PlotTraining([]Series{{"one", []float64{3}}}, DefaultPlotOptions()); err != nil {
		t.Errorf("single value: %v", err)
	}
}

func TestPlotErrors(t *testing.T) {
	small := DefaultPlotOptions()
	small.Width = 100
	noScale := DefaultPlotOptions()
	noScale.TextScale = 0
	tiny := DefaultPlotOptions()
	tiny.Width, tiny.Height = 160, 120
	many := Confusion{Classes: make([]string, 40), Matrix: make([][]int, 40)}
	for i := range many.Matrix {
		many.Matrix[i] = make([]int, 40)
	}
	ok := Confusion{Classes: []string{"A", "B"}, Matrix: [][]int{{1, 0}, {0, 1}}}
	tests := []struct {
		name string
		f    func() error
		msg  string
	}{
		{"roc too small", func() error { _, err := PlotROC([]ROCCurve{{}}, small); return err }, "below 160x120"},
		{"roc no curves", func() error { _, err := PlotROC(nil, DefaultPlotOptions()); return err }, "no curves"},
		{"training scale 0", func() error { _, err := PlotTraining(trainingSeries(), noScale); return err }, "text scale"},
		{"training no series", func() error { _, err := PlotTraining(nil, DefaultPlotOptions()); return err }, "no series"},
		{"training no finite value", func() error {
			_, err := PlotTraining([]Series{{"x", []float64{math.Inf(1)}}}, DefaultPlotOptions())
			return err
		}, "no finite values"},
		{"confusion ragged", func() error {
			_, err := PlotConfusion(Confusion{Classes: []string{"A", "B"}, Matrix: [][]int{{1, 0}, {1}}}, DefaultPlotOptions())
			return err
		}, "row 1 has 1 columns"},
		{"confusion rows", func() error {
			_, err := PlotConfusion(Confusion{Classes: []string{"A"}, Matrix: ok.Matrix}, DefaultPlotOptions())
			return err
		}, "1 classes and 2 rows"},
		{"confusion too many classes", func() error { _, err := PlotConfusion(many, tiny); return err }, "do not fit"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.f()
			if !errors.Is(err, ErrInvalidInput) || !strings.Contains(err.Error(), tt.msg) || !strings.HasPrefix(err.Error(), "plotting ") {
				t.Errorf("err = %v, want ErrInvalidInput with %q", err, tt.msg)
			}
		})
	}
	if err := WritePNG(filepath.Join(t.TempDir(), "no", "x.png"), image.NewRGBA(image.Rect(0, 0, 1, 1))); err == nil || !strings.HasPrefix(err.Error(), "writing plot") {
		t.Errorf("WritePNG to a missing folder: %v", err)
	}
}

func TestFont(t *testing.T) {
	const runes = " ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.,-_:=+()/%"
	seen := map[[7]string]rune{}
	for _, r := range runes {
		g := glyph(r)
		for _, row := range g {
			if len(row) != glyphW || strings.Trim(row, "# ") != "" {
				t.Errorf("glyph %q has row %q", r, row)
			}
		}
		if prev, dup := seen[g]; dup {
			t.Errorf("glyphs %q and %q are the same", prev, r)
		}
		seen[g] = r
	}
	if glyph('q') != glyph('Q') || glyph('~') != glyph('é') || glyph('~') == glyph('A') {
		t.Errorf("lower case or fallback glyph wrong")
	}
	if _, known := seen[glyph('~')]; known {
		t.Errorf("fallback glyph equals a known glyph")
	}

	// Drawing "L1" at scale 2 puts each glyph dot on a 2×2 block.
	c := newCanvas(40, 20)
	c.text(1, 2, "L1", 2, black())
	for i, r := range "L1" {
		for gy, row := range glyph(r) {
			for gx := range glyphW {
				x, y := 1+(i*glyphAdvance+gx)*2, 2+gy*2
				ink := c.img.RGBAAt(x+1, y+1) == black()
				if ink != (row[gx] == '#') {
					t.Fatalf("%q dot (%d,%d): ink %v", r, gx, gy, ink)
				}
			}
		}
	}
	if w := textWidth("L1", 2); w != 22 {
		t.Errorf("textWidth = %d, want 22", w)
	}
	// Upward text covers a column as tall as the text is wide.
	c = newCanvas(40, 40)
	c.textUp(5, 30, "L1", 1, black())
	ink := func(x0, x1, y0, y1 int) bool {
		for y := y0; y < y1; y++ {
			for x := x0; x < x1; x++ {
				if c.img.RGBAAt(x, y) == black() {
					return true
				}
			}
		}
		return false
	}
	if !ink(5, 12, 30-11, 30) || ink(0, 40, 0, 30-11) || ink(0, 40, 30, 40) || ink(12, 40, 0, 40) {
		t.Errorf("upward text outside its box")
	}
}

func TestTicks(t *testing.T) {
	tests := []struct {
		raw, step float64
		dec       int
	}{
		{0.13, 0.2, 1}, {0.2, 0.2, 1}, {0.03, 0.05, 2}, {0.7, 1, 0}, {1.5, 2, 0}, {45, 50, 0}, {0, 1, 0},
	}
	for _, tt := range tests {
		if got := niceStep(tt.raw); math.Abs(got-tt.step) > 1e-12 {
			t.Errorf("niceStep(%v) = %v, want %v", tt.raw, got, tt.step)
		}
		if got := decimals(tt.step); got != tt.dec {
			t.Errorf("decimals(%v) = %d, want %d", tt.step, got, tt.dec)
		}
	}
	got := ticksOf(-0.4, 0.4, 0.2)
	want := []float64{-0.4, -0.2, 0, 0.2, 0.4}
	if len(got) != len(want) || !slices.EqualFunc(got, want, func(a, b float64) bool { return math.Abs(a-b) < 1e-12 }) {
		t.Errorf("ticks = %v, want %v", got, want)
	}
	if got := ticksOf(-0.4, 0.4, 0.2); got[2] != 0 || math.Signbit(got[2]) || tickLabel(got[2], 1) != "0.0" {
		t.Errorf("middle tick = %v", got[2])
	}
}
