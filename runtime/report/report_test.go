package report_test

import (
	"bytes"
	"encoding/xml"
	"errors"
	"io"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"parak8s.dev/parak8s/runtime/bundle"
	"parak8s.dev/parak8s/runtime/eval"
	"parak8s.dev/parak8s/runtime/report"
	"parak8s.dev/parak8s/runtime/step"
)

// trial writes a model and a metrics directory such as train and evaluate
// leave them: quality q in (0, 1) sets how often the model is right.
func trial(t *testing.T, id string, classes []string, q float64, lr float64, history bool) report.Trial {
	t.Helper()
	dir := filepath.Join(t.TempDir(), step.Short(id))
	model, metrics := filepath.Join(dir, "model"), filepath.Join(dir, "metrics")
	for _, d := range []string{model, metrics} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	ov := []step.Override{{Path: "training.optimizer.lr", Value: lr}, {Path: "model.deepcnn1d.filters", Value: []any{32.0, 64.0}}}
	m := bundle.Manifest{Format: bundle.Format, Trial: id, Experiment: "x", Kind: "deepcnn1d", Classes: classes, Input: []int{1, 8},
		Overrides: ov, Epochs: 4, BestEpoch: 3, Monitor: "f1", Val: map[string]float64{"f1": q, "loss": 1 - q}, Steps: 400, StepsPerSecond: 12.5, Threads: 2}
	if err := bundle.WriteJSON(filepath.Join(model, bundle.FileManifest), m); err != nil {
		t.Fatal(err)
	}
	if history {
		var h bundle.History
		for e := 1; e <= 4; e++ {
			h.Epochs = append(h.Epochs, bundle.Epoch{Epoch: e, TrainLoss: 1 / float64(e), ValLoss: 1.2 / float64(e), Val: map[string]float64{"f1": q * float64(e) / 4}})
		}
		if err := bundle.WriteJSON(filepath.Join(model, bundle.FileHistory), h); err != nil {
			t.Fatal(err)
		}
	}
	img, err := eval.PlotTraining([]eval.Series{{Name: "loss", Values: []float64{1, 0.5}}}, eval.DefaultPlotOptions())
	if err != nil {
		t.Fatal(err)
	}
	if err := eval.WritePNG(filepath.Join(model, bundle.FileTraining), img); err != nil {
		t.Fatal(err)
	}
	in := eval.Input{Classes: classes}
	k := len(classes)
	for i := 0; i < 100; i++ {
		y := i % k
		pred := y
		if float64(i%10)/10 >= q {
			pred = (y + 1) % k
		}
		row := make([]float32, k)
		for j := range row {
			row[j] = 0.1
		}
		row[pred] = 0.6 + 0.3*float32(i%7)/7
		in.Labels = append(in.Labels, y)
		in.Probs = append(in.Probs, row...)
	}
	r, err := eval.Compute(in, eval.DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Write(filepath.Join(metrics, bundle.FileMetrics)); err != nil {
		t.Fatal(err)
	}
	curves, err := eval.ROCCurves(in, eval.DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	if img, err = eval.PlotROC(curves, eval.DefaultPlotOptions()); err != nil {
		t.Fatal(err)
	}
	if err := eval.WritePNG(filepath.Join(metrics, bundle.FileROC), img); err != nil {
		t.Fatal(err)
	}
	return report.Trial{ID: id, Label: "lr", Overrides: ov, Status: "finished", ModelDir: model, MetricsDir: metrics, RunID: "run-" + step.Short(id)}
}

func id(c byte) string { return strings.Repeat(string(c), 64) }

func render(t *testing.T, in report.Input, opts report.Options) string {
	t.Helper()
	var b bytes.Buffer
	if err := report.Write(&b, in, opts); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

// leaderboard returns the short ids in the order the leaderboard lists them.
func leaderboard(html string) []string {
	start := strings.Index(html, "<h2>Leaderboard</h2>")
	end := strings.Index(html[start:], "</table>") + start
	var out []string
	for _, m := range regexp.MustCompile(`href="#t-([0-9a-f]+)"`).FindAllStringSubmatch(html[start:end], -1) {
		out = append(out, m[1])
	}
	return out
}

// checkSVG checks that every inline SVG is well-formed XML.
func checkSVG(t *testing.T, html string) int {
	t.Helper()
	n := 0
	for rest := html; ; n++ {
		i := strings.Index(rest, "<svg")
		if i < 0 {
			return n
		}
		j := strings.Index(rest[i:], "</svg>")
		doc := rest[i : i+j+len("</svg>")]
		dec := xml.NewDecoder(strings.NewReader(doc))
		for {
			_, err := dec.Token()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				t.Fatalf("inline SVG is not well-formed: %v\n%s", err, doc)
			}
		}
		rest = rest[i+j:]
	}
}

func TestReport(t *testing.T) {
	bin := []string{"normal", "pneumonia"}
	good := trial(t, id('a'), bin, 0.9, 1e-4, true)
	bad := trial(t, id('b'), bin, 0.6, 1e-2, false)
	mid := trial(t, id('c'), bin, 0.8, 1e-3, true)
	failed := report.Trial{ID: id('d'), Status: "failed", ModelDir: filepath.Join(t.TempDir(), "none"), MetricsDir: filepath.Join(t.TempDir(), "none")}
	in := report.Input{
		Experiment: "x", Params: []string{"training.optimizer.lr", "model.deepcnn1d.filters"},
		Trials:      []report.Trial{bad, failed, good, mid},
		TrackingURI: "http://mlflow.example:5000/",
	}
	html := render(t, in, report.Options{Metric: "accuracy", Generated: time.Date(2025, 1, 2, 3, 4, 0, 0, time.UTC)})

	if got, want := strings.Join(leaderboard(html), " "), "aaaaaaaaaaaa cccccccccccc bbbbbbbbbbbb dddddddddddd"; got != want {
		t.Errorf("leaderboard order %q, want %q (best accuracy first, no metrics last)", got, want)
	}
	for _, want := range []string{
		`href="http://mlflow.example:5000/#/runs/run-aaaaaaaaaaaa"`,
		"(no metrics)",
		"accuracy by training.optimizer.lr",
		"accuracy by model.deepcnn1d.filters",
		"ROC, pneumonia (AUC",
		"true \\ predicted",
		"Generated 2025-01-02 03:04 UTC",
		// Trial b has no history: its training.png is embedded.
		`src="data:image/png;base64,`,
	} {
		if !strings.Contains(html, want) {
			t.Errorf("report lacks %q", want)
		}
	}
	for _, no := range []string{"<script", `src="http`, "ZgotmplZ"} {
		if strings.Contains(html, no) {
			t.Errorf("report contains %q", no)
		}
	}
	// Training curves of a, c; ROC of a, b, c; two sweep plots.
	if n := checkSVG(t, html); n != 7 {
		t.Errorf("%d inline SVG plots, want 7", n)
	}
	// The lr values span two decades: a logarithmic axis with decade ticks.
	if !strings.Contains(html, ">0.001<") {
		t.Error("the lr axis has no 0.001 tick")
	}

	// A loss ranks lowest first.
	html = render(t, in, report.Options{Metric: "val_loss"})
	if got := leaderboard(html)[0]; got != "aaaaaaaaaaaa" {
		t.Errorf("best by val_loss is %s, want aaaaaaaaaaaa", got)
	}
	if !strings.Contains(html, "lowest first") {
		t.Error("a loss should rank lowest first")
	}
}

func TestReportMulticlassAndProblems(t *testing.T) {
	tr := trial(t, id('e'), []string{"N", "S", "V"}, 0.7, 0.1, true)
	broken := trial(t, id('f'), []string{"N", "S", "V"}, 0.7, 0.2, true)
	if err := os.WriteFile(filepath.Join(broken.MetricsDir, bundle.FileMetrics), []byte("{"), 0o644); err != nil {
		t.Fatal(err)
	}
	html := render(t, report.Input{Experiment: "y", Trials: []report.Trial{tr, broken}, TrackingURI: "file:///tmp/mlruns"}, report.DefaultOptions())
	// Three classes: no binary ROC to draw, the PNG of one-vs-rest curves.
	if !strings.Contains(html, `alt="ROC curves" src="data:image/png;base64,`) {
		t.Error("the multi-class ROC PNG is not embedded")
	}
	if !strings.Contains(html, `class="bad"`) || !strings.Contains(html, "reading metrics") {
		t.Error("a broken metrics.json is not reported")
	}
	if strings.Contains(html, "#/runs/") {
		t.Error("a file: tracking URI must not give run links")
	}
	if got := leaderboard(html); got[0] != "eeeeeeeeeeee" {
		t.Errorf("leaderboard %v", got)
	}
}

func TestMetricNames(t *testing.T) {
	if err := report.Write(io.Discard, report.Input{}, report.Options{Metric: "f2"}); err == nil || !strings.Contains(err.Error(), `unknown metric "f2"`) {
		t.Errorf("error %v", err)
	}
	r := &eval.Report{Accuracy: 0.5, Macro: eval.Averages{F1: 0.4, AUC: 0.7}, Weighted: eval.Averages{Recall: 0.3}, Undefined: []string{"precision_macro"}}
	m := &bundle.Manifest{Val: map[string]float64{"auc": 0.9, "nan": math.NaN()}}
	for _, tc := range []struct {
		name string
		want float64
		ok   bool
	}{
		{"accuracy", 0.5, true},
		{"f1", 0.4, true},
		{"f1_macro", 0.4, true},
		{"auc", 0.7, true}, // not binary: the macro average
		{"recall_weighted", 0.3, true},
		{"precision", 0, false}, // undefined
		{"val_auc", 0.9, true},
		{"val_nan", 0, false},
		{"val_f1", 0, false},
	} {
		if err := report.CheckMetric(tc.name); err != nil {
			t.Errorf("%s: %v", tc.name, err)
		}
		got, ok := report.Value(tc.name, r, m)
		if got != tc.want || ok != tc.ok {
			t.Errorf("Value(%s) = %v, %v; want %v, %v", tc.name, got, ok, tc.want, tc.ok)
		}
	}
}
