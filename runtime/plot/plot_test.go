package plot_test

import (
	"encoding/xml"
	"errors"
	"io"
	"math"
	"path/filepath"
	"strings"
	"testing"

	"parak8s.dev/parak8s/internal/golden"
	"parak8s.dev/parak8s/runtime/plot"
)

// wellFormed parses s as XML to the end and returns its elements' names.
func wellFormed(t *testing.T, s string) map[string]int {
	t.Helper()
	d := xml.NewDecoder(strings.NewReader(s))
	seen := map[string]int{}
	for {
		tok, err := d.Token()
		if err == io.EOF {
			return seen
		}
		if err != nil {
			t.Fatalf("not well-formed XML: %v\n%s", err, s)
		}
		if e, ok := tok.(xml.StartElement); ok {
			seen[e.Name.Local]++
		}
	}
}

func TestGolden(t *testing.T) {
	nan := math.NaN()
	tests := []struct {
		name string
		svg  func() (string, error)
	}{
		{"lines.svg", plot.Chart{Title: "training", XLabel: "epoch", YLabel: "value", Highlight: -1, Series: []plot.Series{
			{Name: "train loss", X: []float64{1, 2, 3, 4}, Y: []float64{1, 0.6, nan, 0.3}},
			{Name: "val f1", X: []float64{1, 2, 3, 4}, Y: []float64{0.2, 0.5, 0.6, 0.7}},
		}}.SVG},
		{"points-log.svg", plot.Chart{Title: "f1 by lr", XLabel: "lr", YLabel: "f1", Points: true, LogX: true, Highlight: 1, Width: 640, Height: 480, Series: []plot.Series{
			{Name: "f1", X: []float64{1e-4, 1e-3, 1e-2, -1}, Y: []float64{0.5, 0.8, 0.6, 0.9}},
		}}.SVG},
		{"categories.svg", plot.Chart{Title: "f1 by filters", Points: true, Highlight: -1, XNames: []string{"[32,64]", "[64,128]"}, Series: []plot.Series{
			{Name: "f1", X: []float64{0, 1, 1}, Y: []float64{0.5, 0.7, 0.6}},
		}}.SVG},
		{"heatmap.svg", plot.Heatmap{Title: "confusion matrix", XLabel: "predicted", YLabel: "true", Rows: []string{"N", "S", "V"}, Cols: []string{"N", "S", "V"},
			Shade: [][]float64{{0.9, 0.1, 0}, {0.5, 0.5, 0}, {0, 0, 1}},
			Text:  [][]string{{"90", "10", "0"}, {"5", "5", "0"}, {"0", "0", "12345"}},
		}.SVG},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.svg()
			if err != nil {
				t.Fatal(err)
			}
			again, _ := tt.svg()
			if got != again {
				t.Error("two renderings differ")
			}
			wellFormed(t, got)
			golden.Check(t, filepath.Join("testdata", tt.name), []byte(got))
		})
	}
}

func TestChartContent(t *testing.T) {
	nan := math.NaN()
	c := plot.Chart{Title: "t", Highlight: -1, Series: []plot.Series{
		{Name: "gap", X: []float64{1, 2, 3, 4, 5}, Y: []float64{1, 2, nan, 4, 5}},
		{Name: "none", X: []float64{1}, Y: []float64{math.Inf(1)}},
	}}
	s, err := c.SVG()
	if err != nil {
		t.Fatal(err)
	}
	// A NaN splits the first series in two lines; the second has none but
	// keeps its legend entry.
	if n := strings.Count(s, `stroke="`+plot.Color(0)+`"`); n != 2 {
		t.Errorf("%d lines of the gapped series, want 2", n)
	}
	if strings.Count(s, plot.Color(1)) != 1 || !strings.Contains(s, ">none</text>") {
		t.Errorf("the all-infinite series should appear in the legend only:\n%s", s)
	}
	p, err := plot.Chart{Title: "p", Points: true, Highlight: 2, Series: []plot.Series{{Name: "m", X: []float64{1, 2, 3}, Y: []float64{3, 2, 1}}}}.SVG()
	if err != nil {
		t.Fatal(err)
	}
	if got := wellFormed(t, p)["circle"]; got != 3 || strings.Count(p, `r="5.5"`) != 1 {
		t.Errorf("%d points, %d highlighted; want 3 and 1", got, strings.Count(p, `r="5.5"`))
	}
}

func TestEscapes(t *testing.T) {
	evil := `</text><script>alert(1)</script>&"`
	c, err := plot.Chart{Title: evil, XLabel: evil, YLabel: evil, XNames: []string{evil}, Highlight: -1, Series: []plot.Series{{Name: evil, X: []float64{0}, Y: []float64{1}}, {Name: evil, X: []float64{0}, Y: []float64{2}}}}.SVG()
	if err != nil {
		t.Fatal(err)
	}
	h, err := plot.Heatmap{Title: evil, XLabel: evil, YLabel: evil, Rows: []string{evil}, Cols: []string{evil}, Shade: [][]float64{{1}}, Text: [][]string{{evil}}}.SVG()
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{c, h} {
		if seen := wellFormed(t, s); seen["script"] != 0 || strings.Contains(s, "<script") {
			t.Errorf("markup got through:\n%s", s)
		}
	}
}

func TestShade(t *testing.T) {
	for _, tt := range []struct {
		t    float64
		want string
	}{{-1, "#ffffff"}, {0, "#ffffff"}, {0.5, "#8498b5"}, {1, "#08306b"}, {2, "#08306b"}} {
		if got := plot.Shade(tt.t); got != tt.want {
			t.Errorf("Shade(%v) = %s, want %s", tt.t, got, tt.want)
		}
	}
}

func TestErrors(t *testing.T) {
	many := plot.Heatmap{Title: "big"}
	for range 60 {
		many.Rows = append(many.Rows, "x")
		many.Cols = append(many.Cols, "x")
	}
	for range 60 {
		many.Shade = append(many.Shade, make([]float64, 60))
		many.Text = append(many.Text, make([]string, 60))
	}
	tests := []struct {
		name   string
		svg    func() (string, error)
		msg    string
		noData bool
	}{
		{"no series", plot.Chart{Title: "empty"}.SVG, `chart "empty": no finite data`, true},
		{"only NaN", plot.Chart{Title: "nan", Series: []plot.Series{{X: []float64{1}, Y: []float64{math.NaN()}}}}.SVG, "no finite data", true},
		{"log of non-positive", plot.Chart{Title: "log", LogX: true, Series: []plot.Series{{X: []float64{0, -1}, Y: []float64{1, 2}}}}.SVG, "no finite data", true},
		{"ragged series", plot.Chart{Title: "r", Series: []plot.Series{{Name: "s", X: []float64{1, 2}, Y: []float64{1}}}}.SVG, `series "s" has 2 x and 1 y values`, false},
		{"too small", plot.Chart{Title: "s", Width: 100, Height: 100, Series: []plot.Series{{X: []float64{1}, Y: []float64{1}}}}.SVG, "100x100 leaves no room", false},
		{"heatmap empty", plot.Heatmap{Title: "h"}.SVG, "0 rows and 0 columns", true},
		{"heatmap rows", plot.Heatmap{Title: "h", Rows: []string{"a"}, Cols: []string{"a"}}.SVG, "1 row labels, 0 shade rows", false},
		{"heatmap ragged", plot.Heatmap{Title: "h", Rows: []string{"a"}, Cols: []string{"a", "b"}, Shade: [][]float64{{1}}, Text: [][]string{{"1", "2"}}}.SVG, "row 0 has 1 shades and 2 texts, want 2", false},
		{"heatmap too many", many.SVG, "60×60 cells do not fit", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := tt.svg()
			if err == nil || !strings.Contains(err.Error(), tt.msg) || errors.Is(err, plot.ErrNoData) != tt.noData {
				t.Errorf("err = %v, want %q (ErrNoData: %v)", err, tt.msg, tt.noData)
			}
		})
	}
}

func TestTicks(t *testing.T) {
	tests := []struct {
		lo, hi float64
		want   []float64
	}{
		{0, 1, []float64{0, 0.2, 0.4, 0.6, 0.8, 1}},
		{-0.05, 1.05, []float64{0, 0.25, 0.5, 0.75, 1}},
		{3, 17, []float64{5, 10, 15}},
	}
	for _, tt := range tests {
		got := plot.Ticks(tt.lo, tt.hi)
		if len(got) != len(tt.want) {
			t.Errorf("Ticks(%v, %v) = %v, want %v", tt.lo, tt.hi, got, tt.want)
			continue
		}
		for i := range got {
			if math.Abs(got[i]-tt.want[i]) > 1e-9 {
				t.Errorf("Ticks(%v, %v) = %v, want %v", tt.lo, tt.hi, got, tt.want)
			}
		}
	}
	if got := plot.LogTicks(-4, -2.5); len(got) != 5 { // 1e-4, 2e-4, 5e-4, 1e-3, 2e-3
		t.Errorf("LogTicks(-4, -2.5) = %v, want 5 ticks", got)
	}
	if got := plot.Clip("abcdef", 4); got != "abc…" {
		t.Errorf("Clip = %q", got)
	}
}
