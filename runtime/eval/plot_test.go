package eval

import (
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"parak8s.dev/parak8s/internal/golden"
	"parak8s.dev/parak8s/runtime/plot"
)

func trainingSeries() []Series {
	return []Series{
		{"loss", []float64{0.9, 0.7, 0.55, 0.5, 0.42, 0.4, 0.38, 0.37}},
		{"val_auc", []float64{0.6, 0.7, 0.75, 0.8, 0.83, 0.85, 0.86, 0.86}},
	}
}

// plots renders one of each plot kind from fixed input.
func plots(t *testing.T, opts PlotOptions) map[string][]byte {
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
	return map[string][]byte{"roc": roc, "confusion": conf, "training": train}
}

// svgRoot parses b as XML to the end and returns its root element's
// attributes and how many elements of each name it holds.
func svgRoot(t *testing.T, b []byte) (map[string]string, map[string]int) {
	t.Helper()
	d := xml.NewDecoder(strings.NewReader(string(b)))
	attrs, count := map[string]string{}, map[string]int{}
	for {
		tok, err := d.Token()
		if err == io.EOF {
			return attrs, count
		}
		if err != nil {
			t.Fatalf("not well-formed XML: %v", err)
		}
		if e, ok := tok.(xml.StartElement); ok {
			if len(count) == 0 {
				for _, a := range e.Attr {
					attrs[a.Name.Local] = a.Value
				}
			}
			count[e.Name.Local]++
		}
	}
}

func TestPlotsSize(t *testing.T) {
	for _, sz := range []struct{ w, h int }{{640, 480}, {320, 240}, {1200, 300}, {160, 120}} {
		opts := DefaultPlotOptions()
		opts.Width, opts.Height = sz.w, sz.h
		for name, svg := range plots(t, opts) {
			attrs, count := svgRoot(t, svg)
			if attrs["width"] != fmt.Sprint(sz.w) || !strings.HasPrefix(attrs["viewBox"], fmt.Sprintf("0 0 %d ", sz.w)) {
				t.Errorf("%s %dx%d: root %v", name, sz.w, sz.h, attrs)
			}
			if count["text"] < 5 {
				t.Errorf("%s %dx%d: %d texts; title and labels missing", name, sz.w, sz.h, count["text"])
			}
			path := filepath.Join(t.TempDir(), name+".svg")
			if err := WriteSVG(path, svg); err != nil {
				t.Fatal(err)
			}
			if got, err := os.ReadFile(path); err != nil || string(got) != string(svg) {
				t.Errorf("%s: WriteSVG stored %d bytes (%v), want %d", name, len(got), err, len(svg))
			}
		}
	}
}

// TestPlotsGolden compares the default-size plots with testdata/*.svg;
// run with -update and look at the new drawings before committing them.
func TestPlotsGolden(t *testing.T) {
	a, b := plots(t, DefaultPlotOptions()), plots(t, DefaultPlotOptions())
	for name := range a {
		if string(a[name]) != string(b[name]) {
			t.Errorf("%s: two renders give different bytes", name)
		}
		golden.Check(t, filepath.Join("testdata", name+".svg"), a[name])
	}
}

func TestPlotROCContent(t *testing.T) {
	perfect := Input{Classes: []string{"NORMAL", "PNEUMONIA"}, Labels: []int{0, 0, 1, 1}, Probs: []float32{.9, .1, .8, .2, .3, .7, .1, .9}}
	curves, err := ROCCurves(perfect, DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	undefined := ROCCurve{Class: "EMPTY"}
	svg, err := PlotROC(append(curves, undefined), DefaultPlotOptions())
	if err != nil {
		t.Fatal(err)
	}
	s := string(svg)
	// Two curves, the chance diagonal, and a legend entry for each of the
	// four series; the undefined curve has no line.
	_, count := svgRoot(t, svg)
	if count["polyline"] != 3 {
		t.Errorf("%d lines, want 3 (two curves and the diagonal)", count["polyline"])
	}
	for _, want := range []string{">NORMAL AUC 1.000<", ">PNEUMONIA AUC 1.000<", ">EMPTY AUC N/A<", ">chance<"} {
		if !strings.Contains(s, want) {
			t.Errorf("legend lacks %q", want)
		}
	}
	if strings.Contains(s, `stroke="`+plot.Color(2)+`"`) {
		t.Error("the undefined curve is drawn")
	}
}

func TestPlotConfusionShading(t *testing.T) {
	// Row-normalised: row A is 1/4 and 3/4, row B is empty (all white).
	c := Confusion{Classes: []string{"A", "B"}, Matrix: [][]int{{1, 3}, {0, 0}}}
	svg, err := PlotConfusion(c, DefaultPlotOptions())
	if err != nil {
		t.Fatal(err)
	}
	s := string(svg)
	for _, tt := range []struct {
		share float64
		n     int
	}{{0.25, 1}, {0.75, 1}, {0, 2}, {1, 0}} {
		if got := strings.Count(s, `fill="`+plot.Shade(tt.share)+`"`); got != tt.n {
			t.Errorf("shade of %v on %d cells, want %d", tt.share, got, tt.n)
		}
	}
	for _, want := range []string{">3</text>", ">predicted</text>", ">true</text>", ">confusion matrix</text>"} {
		if !strings.Contains(s, want) {
			t.Errorf("no %q in the plot", want)
		}
	}
}

func TestPlotTrainingContent(t *testing.T) {
	nan := math.NaN()
	series := []Series{
		{"loss", []float64{1, nan, 0.5, 0.25}},
		{"all_nan", []float64{nan, nan}},
		{"flat", []float64{0.5, 0.5, 0.5}},
	}
	svg, err := PlotTraining(series, DefaultPlotOptions())
	if err != nil {
		t.Fatal(err)
	}
	s := string(svg)
	if n := strings.Count(s, `stroke="`+plot.Color(0)+`"`); n != 2 {
		t.Errorf("loss drawn as %d lines, want 2 (split by the NaN)", n)
	}
	if strings.Contains(s, `stroke="`+plot.Color(1)+`"`) || !strings.Contains(s, ">all_nan<") {
		t.Error("the all-NaN series should be in the legend only")
	}
	if _, err := PlotTraining([]Series{{"one", []float64{3}}}, DefaultPlotOptions()); err != nil {
		t.Errorf("single value: %v", err)
	}
}

func TestPlotErrors(t *testing.T) {
	small := DefaultPlotOptions()
	small.Width = 100
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
		{"training no series", func() error { _, err := PlotTraining(nil, DefaultPlotOptions()); return err }, "no series"},
		{"training no finite value", func() error {
			_, err := PlotTraining([]Series{{"x", []float64{math.Inf(1)}}}, DefaultPlotOptions())
			return err
		}, "no finite data"},
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
	if err := WriteSVG(filepath.Join(t.TempDir(), "no", "x.svg"), []byte("<svg/>")); err == nil || !strings.HasPrefix(err.Error(), "writing plot") {
		t.Errorf("WriteSVG to a missing folder: %v", err)
	}
}
