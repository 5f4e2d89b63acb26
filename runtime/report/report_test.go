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

	"parak8s.dev/parak8s/internal/golden"
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
	if err := eval.WriteSVG(filepath.Join(model, bundle.FileTraining), img); err != nil {
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
	if err := eval.WriteSVG(filepath.Join(metrics, bundle.FileROC), img); err != nil {
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
	golden.Check(t, filepath.Join("testdata", "binary.html"), []byte(html))

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
		// Trial b has no history: its training.svg is embedded.
		`src="data:image/svg+xml;base64,`,
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
	// Training curves of a, c; ROC of a, b, c; two sweep plots; the
	// parallel coordinates; the best trial's (a) training and ROC again.
	if n := checkSVG(t, html); n != 10 {
		t.Errorf("%d inline SVG plots, want 10", n)
	}
	// The best trial is marked in the leaderboard and shown open at the top,
	// with its ROC curve and confusion matrix; all trials stay in the folded
	// list.
	if !strings.Contains(html, `<tr class="best">`+"\n<td>1</td>\n"+`<td class="l"><a href="#t-aaaaaaaaaaaa">`) {
		t.Error("the best trial's leaderboard row is not highlighted")
	}
	best := section(html, `<section class="best" id="best">`, "</section>")
	for _, want := range []string{`<a href="#t-aaaaaaaaaaaa"><code>aaaaaaaaaaaa</code></a>`, "ROC, pneumonia (AUC", `<table class="confusion">`} {
		if !strings.Contains(best, want) {
			t.Errorf("the best trial's section lacks %q", want)
		}
	}
	if n := strings.Count(section(html, "<h2>Trials</h2>", "</body>"), "<details id="); n != 4 {
		t.Errorf("%d trials in the folded list, want 4", n)
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

// section returns the text from start up to end.
func section(html, start, end string) string {
	i := strings.Index(html, start)
	if i < 0 {
		return ""
	}
	j := strings.Index(html[i:], end)
	if j < 0 {
		return html[i:]
	}
	return html[i : i+j]
}

// headers returns the leaderboard's column headers.
func headers(html string) []string {
	head := section(section(html, `<table class="leaderboard">`, "</table>"), "<tr>", "</tr>")
	var out []string
	for _, m := range regexp.MustCompile(`<th[^>]*>([^<]*)</th>`).FindAllStringSubmatch(head, -1) {
		out = append(out, m[1])
	}
	return out
}

func TestLeaderboardColumns(t *testing.T) {
	bin := []string{"normal", "pneumonia"}
	in := report.Input{Experiment: "x", Params: []string{"training.optimizer.lr"}, Trials: []report.Trial{
		trial(t, id('a'), bin, 0.9, 1e-4, false), trial(t, id('b'), bin, 0.6, 1e-2, false),
	}}
	for _, tc := range []struct{ metric, want string }{
		// One column per metric: the ranking one first, marked, never twice.
		{"f1_macro", "# trial f1_macro ↓ accuracy auc epochs steps/s lr status MLflow"},
		{"f1", "# trial f1_macro ↓ accuracy auc epochs steps/s lr status MLflow"},
		{"accuracy", "# trial accuracy ↓ f1_macro auc epochs steps/s lr status MLflow"},
		{"recall_weighted", "# trial recall_weighted ↓ accuracy f1_macro auc epochs steps/s lr status MLflow"},
		{"val_loss", "# trial val_loss ↑ accuracy f1_macro auc epochs steps/s lr status MLflow"},
	} {
		html := render(t, in, report.Options{Metric: tc.metric})
		if got := strings.Join(headers(html), " "); got != tc.want {
			t.Errorf("--metric %s: columns %q, want %q", tc.metric, got, tc.want)
		}
		if strings.Contains(html, "f1 macro") {
			t.Errorf("--metric %s: the report names f1_macro as \"f1 macro\"", tc.metric)
		}
	}
}

func TestDetails(t *testing.T) {
	bin := []string{"normal", "pneumonia"}
	in := report.Input{Experiment: "x", Trials: []report.Trial{
		trial(t, id('a'), bin, 0.6, 1e-4, false), trial(t, id('b'), bin, 0.9, 1e-2, false), trial(t, id('c'), bin, 0.7, 1e-3, false),
	}}
	for _, tc := range []struct {
		details int
		folded  string
		omitted string
	}{
		{0, "b c a", ""},
		{-1, "b c a", ""},
		{2, "b c", "1 more trials are in the leaderboard"},
		{1, "b", "2 more trials are in the leaderboard"},
	} {
		html := render(t, in, report.Options{Details: tc.details})
		var folded []string
		for _, m := range regexp.MustCompile(`<details id="t-(.)`).FindAllStringSubmatch(html, -1) {
			folded = append(folded, m[1])
		}
		if got := strings.Join(folded, " "); got != tc.folded {
			t.Errorf("Details %d: trials %q shown in detail, want %q", tc.details, got, tc.folded)
		}
		if tc.omitted != "" && !strings.Contains(html, tc.omitted) {
			t.Errorf("Details %d: no note %q", tc.details, tc.omitted)
		}
		// Every leaderboard row links to details that exist.
		for _, short := range leaderboard(html) {
			if !strings.Contains(html, `<details id="t-`+short+`"`) {
				t.Errorf("Details %d: the leaderboard links to #t-%s, which is not in the report", tc.details, short)
			}
		}
		if n := len(leaderboard(html)); n != len(folded) {
			t.Errorf("Details %d: %d leaderboard links for %d trials in detail", tc.details, n, len(folded))
		}
		// The best trial is always shown open.
		if !strings.Contains(html, `<section class="best" id="best">`) {
			t.Errorf("Details %d: no best trial section", tc.details)
		}
	}
}

func TestParallelCoordinates(t *testing.T) {
	tr := func(c byte, q float64, ov ...step.Override) report.Trial {
		x := trial(t, id(c), []string{"N", "S", "V"}, q, 0, false)
		x.Overrides = ov
		return x
	}
	lr := func(v float64) step.Override { return step.Override{Path: "training.optimizer.lr", Value: v} }
	kind := func(v string) step.Override { return step.Override{Path: "model.kind", Value: v} }
	drop := func(v float64) step.Override { return step.Override{Path: "model.dropout", Value: v} }
	in := report.Input{Experiment: "pc", Params: []string{"training.optimizer.lr", "model.kind", "model.dropout"}, Trials: []report.Trial{
		tr('a', 0.5, lr(1e-4), kind("cnn"), drop(0.1)),
		tr('b', 0.9, lr(1e-3), kind("resnet"), drop(0.3)),
		tr('c', 0.7, lr(1e-2), kind("cnn")), // no dropout: its line breaks there
		{ID: id('d'), Status: "failed", Overrides: []step.Override{lr(1e-1), kind("cnn"), drop(0.5)}},
	}}
	html := render(t, in, report.DefaultOptions())
	pc := section(html, `<svg class="parcoords"`, "</svg>")
	if pc == "" {
		t.Fatal("no parallel-coordinates plot")
	}
	// One axis per swept parameter and the ranking metric, in sweep order;
	// one line per trial with a value (the failed one has none).
	var axes []string
	for _, m := range regexp.MustCompile(`<g class="pc-axis[^"]*" data-param="([^"]+)"`).FindAllStringSubmatch(pc, -1) {
		axes = append(axes, m[1])
	}
	if got, want := strings.Join(axes, " "), "training.optimizer.lr model.kind model.dropout f1_macro"; got != want {
		t.Errorf("axes %q, want %q", got, want)
	}
	if !strings.Contains(pc, `data-axes="4" data-lines="3"`) {
		t.Errorf("parallel coordinates: %.200s", pc)
	}
	// The best trial is drawn last, in red, linked to its details, with
	// its values as a tooltip.
	lines := regexp.MustCompile(`<a href="#t-([0-9a-f]+)" class="([^"]+)"`).FindAllStringSubmatch(pc, -1)
	if len(lines) != 3 || lines[2][1] != "bbbbbbbbbbbb" || lines[2][2] != "pc-line pc-best" {
		t.Errorf("lines %v: want 3, the best (b) last", lines)
	}
	if !strings.Contains(pc, "<title>bbbbbbbbbbbb · lr=0.001 · kind=&#34;resnet&#34; · dropout=0.3 · f1_macro=") {
		t.Error("the best line's tooltip does not list its values")
	}
	// lr spans three decades: a log axis; kind is categorical.
	for _, want := range []string{">0.001</text>", ">&#34;cnn&#34;</text>", ">&#34;resnet&#34;</text>"} {
		if !strings.Contains(pc, want) {
			t.Errorf("parallel coordinates lack the tick %s", want)
		}
	}
	// Trial c has no dropout: a solid line to kind, a dashed one from there
	// to the metric.
	c := section(pc, `<a href="#t-cccccccccccc"`, "</a>")
	if n, d := strings.Count(c, "<polyline"), strings.Count(c, "stroke-dasharray"); n != 2 || d != 1 {
		t.Errorf("trial c without dropout is drawn as %d polylines, %d dashed; want 2, 1", n, d)
	}
	checkSVG(t, html)

	// No swept parameters: no plot.
	in.Params = nil
	if html := render(t, in, report.DefaultOptions()); strings.Contains(html, `<svg class="parcoords"`) {
		t.Error("a report without swept parameters has parallel coordinates")
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
	if !strings.Contains(html, `alt="ROC curves" src="data:image/svg+xml;base64,`) {
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
