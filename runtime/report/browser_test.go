package report_test

import (
	"crypto/sha256"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"parak8s.dev/parak8s/internal/browser"
	"parak8s.dev/parak8s/internal/testenv"
	"parak8s.dev/parak8s/runtime/report"
	"parak8s.dev/parak8s/runtime/step"
)

// sweep is a make demo-like ECG sweep (five classes, the steps' PNGs and
// JSON files) over a grid of the given sizes: learning rate, dropout, the
// CNN's filters and the batch size. Trials share the folders of ten
// fixtures of increasing quality, so the report holds one copy of a
// fixture's PNGs per trial, as a real sweep does.
func sweep(t *testing.T, sizes ...int) report.Input {
	t.Helper()
	classes := []string{"N", "S", "V", "F", "Q"}
	var fixtures []report.Trial
	for k := range 10 {
		fixtures = append(fixtures, trial(t, id('0'+byte(k)), classes, 0.45+0.05*float64(k), 0, k%2 == 0))
	}
	values := [][]any{
		{1e-4, 3e-4, 1e-3, 3e-3, 1e-2, 3e-2, 1e-1, 2e-4, 5e-4, 2e-3},
		{0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.05, 0.15, 0.25},
		{[]any{8.0, 16.0}, []any{16.0, 32.0}, []any{8.0, 16.0, 32.0}, []any{32.0, 64.0}, []any{16.0, 32.0, 64.0}},
		{64.0, 128.0},
	}
	paths := []string{"training.optimizer.lr", "model.dropout", "model.deepcnn1d.filters", "data.loader.batchSize"}
	in := report.Input{Experiment: "ecg-sweep", Params: paths[:len(sizes)], TrackingURI: "http://127.0.0.1:5055"}
	n := 1
	for _, s := range sizes {
		n *= s
	}
	for i := range n {
		var ov []step.Override
		rest := i
		for p, s := range sizes {
			ov = append(ov, step.Override{Path: paths[p], Value: values[p][rest%s]})
			rest /= s
		}
		f := fixtures[(i*7+i/3)%len(fixtures)]
		tid := fmt.Sprintf("%x", sha256.Sum256([]byte(label(ov))))
		in.Trials = append(in.Trials, report.Trial{
			ID: tid, Overrides: ov, Status: "finished", ModelDir: f.ModelDir, MetricsDir: f.MetricsDir,
			RunID: "run" + step.Short(tid), Label: label(ov),
		})
	}
	return in
}

func label(ov []step.Override) string {
	var parts []string
	for _, o := range ov {
		b, _ := step.Canonical(o.Value)
		parts = append(parts, o.Path[strings.LastIndex(o.Path, ".")+1:]+"="+string(b))
	}
	return strings.Join(parts, " ")
}

func writeReport(t *testing.T, in report.Input) (string, int) {
	t.Helper()
	html := render(t, in, report.Options{Metric: "f1_macro", Generated: time.Date(2026, 1, 2, 3, 4, 0, 0, time.UTC)})
	path := filepath.Join(t.TempDir(), "report.html")
	if err := os.WriteFile(path, []byte(html), 0o644); err != nil {
		t.Fatal(err)
	}
	return path, len(html)
}

// seen is what a person sees of a report on opening it, read by the
// script below.
type seen struct {
	Title   string
	Headers []string
	Rows    int
	// BestRow is the index of the highlighted leaderboard row, BestRowBg
	// its cells' background.
	BestRow   int
	BestRowBg string
	// Axes are the parallel coordinates' axes, Lines its drawn lines;
	// BestLine the stroke of the best trial's line.
	Axes      []string
	Lines     int
	BestLine  string
	ParBox    box
	SweepPlot int
	// ROC and Confusion are the best trial's, as laid out on the page.
	ROC, Confusion box
	ROCDrawn       bool
}

type box struct {
	Visible            bool
	Top, Width, Height float64
}

const look = `(() => {
  const box = el => {
    if (!el) return {Visible: false};
    const r = el.getBoundingClientRect();
    const shown = el.getClientRects().length > 0 && getComputedStyle(el).visibility !== "hidden" && !el.closest("details:not([open])");
    return {Visible: shown && r.width > 0 && r.height > 0, Top: r.top + scrollY, Width: r.width, Height: r.height};
  };
  const rows = [...document.querySelectorAll("table.leaderboard tr")].slice(1);
  const best = rows.findIndex(r => r.classList.contains("best"));
  const roc = document.querySelector("#best .roc img, #best .roc svg");
  const line = document.querySelector("svg.parcoords a.pc-best polyline");
  return {
    Title: document.title,
    Headers: [...document.querySelectorAll("table.leaderboard tr:first-child th")].map(th => th.textContent),
    Rows: rows.length,
    BestRow: best,
    BestRowBg: best < 0 ? "" : getComputedStyle(rows[best].cells[2]).backgroundColor,
    Axes: [...document.querySelectorAll("svg.parcoords g.pc-axis")].map(g => g.dataset.param),
    Lines: document.querySelectorAll("svg.parcoords a.pc-line").length,
    BestLine: line ? line.getAttribute("stroke") : "",
    ParBox: box(document.querySelector("svg.parcoords")),
    SweepPlot: [...document.querySelectorAll(".plots svg[aria-label^='f1_macro by ']")].filter(e => box(e).Visible).length,
    ROC: box(roc),
    ROCDrawn: !!roc && (roc.tagName.toLowerCase() !== "img" || (roc.complete && roc.naturalWidth > 0)),
    Confusion: box(document.querySelector("#best table.confusion")),
  };
})()`

// TestReportInBrowser opens a make demo-like report in headless Chromium and
// checks what a person sees without clicking: one column per metric, the
// best trial highlighted, parallel coordinates with one axis per swept
// parameter, and the best trial's ROC curve and confusion matrix on the
// first screen. It saves the screenshot README shows, and measures the
// report of a 120-trial sweep and the time a 1,000-trial one takes to render.
func TestReportInBrowser(t *testing.T) {
	if testing.Short() {
		t.Skip("starts Chromium")
	}
	exe := browser.Need(t)
	const width, height = 1400, 900
	b, err := browser.Start(exe, browser.Options{Width: width, Height: height})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()

	t.Run("demo", func(t *testing.T) {
		in := sweep(t, 2, 2) // make demo: lr x dropout
		path, _ := writeReport(t, in)
		if _, err := b.Open("file://" + path); err != nil {
			t.Fatal(err)
		}
		var s seen
		if err := b.Eval(look, &s); err != nil {
			t.Fatal(err)
		}
		if s.Title != "ecg-sweep · ParaK8s report" {
			t.Errorf("title %q", s.Title)
		}
		if got, want := strings.Join(s.Headers, "|"), "#|trial|f1_macro ↓|accuracy|auc|epochs|steps/s|lr|dropout|status|MLflow"; got != want {
			t.Errorf("leaderboard columns %q, want %q", got, want)
		}
		if s.Rows != 4 || s.BestRow != 0 || s.BestRowBg != "rgb(255, 243, 196)" {
			t.Errorf("leaderboard: %d rows, best row %d with background %q; want 4, 0, rgb(255, 243, 196)", s.Rows, s.BestRow, s.BestRowBg)
		}
		if got, want := strings.Join(s.Axes, " "), "training.optimizer.lr model.dropout f1_macro"; got != want || s.Lines != 4 || s.BestLine != "#d62728" || !s.ParBox.Visible {
			t.Errorf("parallel coordinates: axes %q (want %q), %d lines (want 4), best line %q, box %+v", got, want, s.Lines, s.BestLine, s.ParBox)
		}
		if s.SweepPlot != 2 {
			t.Errorf("%d per-parameter plots visible, want 2", s.SweepPlot)
		}
		// The best trial's ROC and confusion matrix are on the first screen.
		for name, bx := range map[string]box{"ROC curve": s.ROC, "confusion matrix": s.Confusion} {
			if !bx.Visible || bx.Top+bx.Height/2 > height {
				t.Errorf("the best trial's %s is not on the first screen: %+v", name, bx)
			}
		}
		if !s.ROCDrawn {
			t.Error("the best trial's ROC image did not decode")
		}
		root, err := testenv.RepoRoot()
		if err != nil {
			t.Fatal(err)
		}
		shot := filepath.Join(root, "out", "screenshots", "report.png")
		if err := b.Screenshot(shot); err != nil {
			t.Fatal(err)
		}
		t.Logf("screenshot: %s", shot)
	})

	t.Run("120 trials", func(t *testing.T) {
		in := sweep(t, 5, 4, 3, 2)
		path, size := writeReport(t, in)
		took, err := b.Open("file://" + path)
		if err != nil {
			t.Fatal(err)
		}
		var s seen
		if err := b.Eval(look, &s); err != nil {
			t.Fatal(err)
		}
		t.Logf("120-trial report: %d bytes (%.1f KiB a trial), rendered in %v", size, float64(size)/1024/120, took.Round(time.Millisecond))
		if s.Rows != 120 || len(s.Axes) != 5 || s.Lines != 120 {
			t.Errorf("%d rows, %d axes, %d lines; want 120, 5, 120", s.Rows, len(s.Axes), s.Lines)
		}
		// docs/running.md: "about 2 MB".
		if size > 3<<20 {
			t.Errorf("the 120-trial report is %d bytes, over 3 MiB", size)
		}
	})

	t.Run("1000 trials", func(t *testing.T) {
		in := sweep(t, 10, 10, 5, 2)
		path, size := writeReport(t, in)
		cpu := b.CPU()
		took, err := b.Open("file://" + path)
		if err != nil {
			t.Fatal(err)
		}
		cpu = b.CPU() - cpu
		var s seen
		if err := b.Eval(look, &s); err != nil {
			t.Fatal(err)
		}
		load, busy := busy()
		t.Logf("1000-trial report: %d bytes, rendered in %v (browser CPU %v; load average %.1f on %d cores)", size, took.Round(time.Millisecond), cpu, load, runtime.NumCPU())
		if s.Rows != 1000 || s.Lines != 1000 || !s.ROC.Visible {
			t.Errorf("%d rows, %d lines, ROC %+v", s.Rows, s.Lines, s.ROC)
		}
		// The wall time is checked when the machine is not busier than its
		// cores; the browser's CPU time always, with twice the room on a busy
		// machine (shared caches and frequency make CPU time grow too: 2.11 s
		// at load 10.7 on 2 cores where a quiet run took 1.46 s).
		if limit := map[bool]time.Duration{false: 2 * time.Second, true: 4 * time.Second}[busy]; cpu > limit {
			t.Errorf("the browser used %v of CPU to render the 1,000-trial report, want under %v", cpu, limit)
		}
		if took > 2*time.Second {
			if busy {
				t.Logf("the 1,000-trial report took %v to render, over 2 s, on a busy machine: not checked", took)
			} else {
				t.Errorf("the 1,000-trial report took %v to render, want under 2 s", took)
			}
		}
	})
}

// busy reports the 1-minute load average and whether it exceeds the cores.
func busy() (float64, bool) {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return 0, false
	}
	var load float64
	fmt.Sscan(string(b), &load)
	return load, load > float64(runtime.NumCPU())
}
