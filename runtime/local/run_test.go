package local_test

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"parak8s.dev/parak8s/internal/testenv"
	"parak8s.dev/parak8s/runtime/local"
	"parak8s.dev/parak8s/runtime/step"
	"parak8s.dev/parak8s/schema"
)

// The test double of the step program, built once by program.
var (
	fakeOnce sync.Once
	fakeDir  string
	fake     string
	fakeErr  error
)

// program returns the fake step program, building it on first use (not in
// -short mode, which builds no binaries).
func program(t *testing.T) string {
	t.Helper()
	if testing.Short() {
		t.Skip("builds the fake step program")
	}
	fakeOnce.Do(func() {
		if fakeDir, fakeErr = os.MkdirTemp("", "fakestep"); fakeErr != nil {
			return
		}
		fake = filepath.Join(fakeDir, "parak8s")
		fakeErr = testenv.GoBuild(nil, "-o", fake, "./testdata/fakestep")
	})
	if fakeErr != nil {
		t.Fatal(fakeErr)
	}
	return fake
}

func TestMain(m *testing.M) {
	code := m.Run()
	if fakeDir != "" {
		os.RemoveAll(fakeDir)
	}
	os.Exit(code)
}

// experiment is a small resolved experiment; trials sweep model.dropout and
// share one dataset.
func experiment() map[string]any {
	return map[string]any{
		"name":     "t",
		"data":     map[string]any{"source": map[string]any{"path": "/d"}, "classes": []any{"a", "b"}},
		"model":    map[string]any{"dropout": 0.1},
		"training": map[string]any{"seed": 1.0, "epochs": 2.0},
	}
}

// graph builds, by hand, the graph parac builds from a plan: one prepare
// step, then per trial train → evaluate → track → publish → record, with the
// arguments of the step contract.
func graph(t *testing.T, root string, dropouts ...float64) *local.Graph {
	t.Helper()
	exp := experiment()
	l := local.Layout{Root: root, Experiment: "t"}
	cfg, _ := step.Canonical(exp)
	if err := os.MkdirAll(filepath.Dir(l.Config()), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(l.Config(), cfg, 0o644); err != nil {
		t.Fatal(err)
	}
	const image = "img:1"
	g := &local.Graph{Policy: local.Policy{Retry: local.Retry{Policy: local.RetryOnFailure, Backoff: 10 * time.Millisecond, Factor: 2}}}
	var prep string
	for i, d := range dropouts {
		ov := []step.Override{{Path: "model.dropout", Value: d}}
		r, err := step.Resolve(exp, ov, image, schema.TrialRoots())
		if err != nil {
			t.Fatal(err)
		}
		if i == 0 {
			dir := l.Dataset(r.DataKey)
			g.Units = append(g.Units, local.Unit{Kind: "dataset", ID: r.DataKey, Dir: dir, Marker: filepath.Join(dir, local.FileDone), Outputs: []string{filepath.Join(dir, local.DirData)}, OnDemand: true})
			prep = "prepare-" + step.Short(r.DataKey)
			g.Steps = append(g.Steps, local.Step{
				Name: prep, Kind: "prepare", Unit: 0,
				Args: []string{"prepare", step.FlagConfig, l.Config(), step.FlagDataKey, r.DataKey, step.FlagOut, filepath.Join(dir, local.DirData)},
				Log:  filepath.Join(dir, local.DirLogs, "prepare.log"), Marker: filepath.Join(dir, local.DirLogs, "prepare.done"),
			})
		}
		dir := l.Trial(r.ID)
		info, _ := json.Marshal(local.TrialInfo{ID: r.ID, Experiment: "t", DataKey: r.DataKey, Overrides: ov})
		u := len(g.Units)
		g.Units = append(g.Units, local.Unit{Kind: "trial", ID: r.ID, Label: fmt.Sprint("dropout=", d), Dir: dir,
			Files: map[string][]byte{local.FileTrial: info}, Marker: filepath.Join(dir, local.FileDone), Outputs: local.TrialOutputs(dir),
			Clean: []string{filepath.Join(dir, local.DirCheckpoints), filepath.Join(dir, local.DirModel)}})
		common := []string{step.FlagConfig, l.Config(), step.FlagTrial, r.ID, step.FlagImage, image, step.FlagSet, fmt.Sprintf("model.dropout=%v", d)}
		p := func(name string) string { return filepath.Join(dir, name) }
		out := p(local.DirOut)
		data := filepath.Join(l.Dataset(r.DataKey), local.DirData)
		extra := map[string][]string{
			"train":    {step.FlagData, data, step.FlagCheckpoint, p(local.DirCheckpoints), step.FlagOut, p(local.DirModel)},
			"evaluate": {step.FlagModel, p(local.DirModel), step.FlagData, data, step.FlagOut, p(local.DirMetrics)},
			"track":    {step.FlagModel, p(local.DirModel), step.FlagMetrics, p(local.DirMetrics), step.FlagOut, out},
			"publish":  {step.FlagModel, p(local.DirModel), step.FlagMetrics, p(local.DirMetrics), step.FlagRunID, "{{run-id}}", step.FlagOut, out},
			"record":   {step.FlagMetrics, p(local.DirMetrics), step.FlagRunID, "{{run-id}}", step.FlagDigest, "{{digest}}"},
		}
		prev := prep
		for _, k := range []string{"train", "evaluate", "track", "publish", "record"} {
			s := local.Step{
				Name: k + "-" + step.Short(r.ID), Kind: k, Unit: u, Deps: []string{prev},
				Args: append(append([]string{k}, common...), extra[k]...),
				Env:  []string{step.EnvTrial + "=" + r.ID},
				Late: map[string]string{"{{run-id}}": filepath.Join(out, step.OutRunID), "{{digest}}": filepath.Join(out, step.OutDigest)},
				Log:  filepath.Join(dir, local.DirLogs, k+".log"), Marker: filepath.Join(dir, local.DirLogs, k+".done"),
			}
			switch k {
			case "train":
				s.Mkdir = []string{p(local.DirCheckpoints)}
				s.Outputs = []string{filepath.Join(p(local.DirModel), "model.json")}
			case "evaluate":
				s.Outputs = []string{filepath.Join(p(local.DirMetrics), "metrics.json")}
			}
			if k != "publish" && k != "record" {
				s.Late = nil
			}
			if k == "publish" {
				delete(s.Late, "{{digest}}")
			}
			g.Steps = append(g.Steps, s)
			prev = s.Name
		}
	}
	return g
}

type event struct {
	Event string         `json:"event"`
	Kind  string         `json:"kind"`
	ID    string         `json:"id"`
	PID   int            `json:"pid"`
	Child int            `json:"child"`
	T     int64          `json:"t"`
	Code  int            `json:"code"`
	Args  []string       `json:"args"`
	Cwd   string         `json:"cwd"`
	Env   map[string]any `json:"env"`
}

func events(t *testing.T, path string) []event {
	t.Helper()
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []event
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		var e event
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
			t.Fatalf("fake log: %v", err)
		}
		out = append(out, e)
	}
	return out
}

// env is the fake's environment for one test.
func env(t *testing.T, vars ...string) (log string, out []string) {
	dir := t.TempDir()
	log = filepath.Join(dir, "fake.log")
	return log, append(os.Environ(), append([]string{"FAKESTEP_LOG=" + log, "FAKESTEP_STATE=" + dir}, vars...)...)
}

func options(t *testing.T, e []string) local.Options {
	o := local.DefaultOptions()
	o.Program = program(t)
	o.Env = e
	o.Grace = 500 * time.Millisecond
	return o
}

func starts(evs []event, kind string) int {
	n := 0
	for _, e := range evs {
		if e.Event == "start" && (kind == "" || e.Kind == kind) {
			n++
		}
	}
	return n
}

func TestRunsTheDAGInOrder(t *testing.T) {
	root := t.TempDir()
	g := graph(t, root, 0.1, 0.2, 0.3)
	log, e := env(t)
	var rec recorder
	o := options(t, e)
	o.Observer = &rec
	s, err := local.Run(context.Background(), g, o)
	if err != nil {
		t.Fatalf("run: %v", err)
	}
	for i, u := range s.Units {
		if u.Status != local.StatusDone {
			t.Errorf("unit %d: %s, want done", i, u.Status)
		}
	}
	evs := events(t, log)
	if n := starts(evs, ""); n != 1+3*5 {
		t.Errorf("%d steps started, want 16", n)
	}
	// Every step starts after every step it depends on ended.
	ended := map[string]int64{}
	startAt := map[string]int64{}
	for _, e := range evs {
		key := e.Kind + "-" + step.Short(e.ID)
		switch e.Event {
		case "start":
			startAt[key] = e.T
		case "end":
			ended[key] = e.T
		}
	}
	for _, st := range g.Steps {
		for _, d := range st.Deps {
			if !(ended[d] > 0 && ended[d] <= startAt[st.Name]) {
				t.Errorf("%s started before %s ended", st.Name, d)
			}
		}
	}
	for _, u := range g.Units[1:] {
		for _, p := range []string{local.FileDone, local.FileTrial, "record.json", "logs/train.log"} {
			if _, err := os.Stat(filepath.Join(u.Dir, p)); err != nil {
				t.Errorf("trial %s: %v", step.Short(u.ID), err)
			}
		}
		if !local.Finished(u.Dir) {
			t.Errorf("trial %s is not finished", step.Short(u.ID))
		}
	}
	// Record runs in the trial's folder (the local fallbacks write there).
	for _, e := range evs {
		if e.Event == "start" && e.Kind == "record" && filepath.Base(e.Cwd) != step.Short(e.ID) {
			t.Errorf("record ran in %s", e.Cwd)
		}
	}
	if rec.count(local.UnitSucceeded) != 4 || rec.count(local.StepStarted) != 16 {
		t.Errorf("observer saw %d units succeed and %d steps start", rec.count(local.UnitSucceeded), rec.count(local.StepStarted))
	}
}

type recorder struct{ evs []local.Event }

func (r *recorder) Observe(e local.Event) { r.evs = append(r.evs, e) }
func (r *recorder) count(t local.EventType) int {
	n := 0
	for _, e := range r.evs {
		if e.Type == t {
			n++
		}
	}
	return n
}

// trialSpans returns each trial's first start and last end (unix nanos).
func trialSpans(evs []event) map[string][2]int64 {
	spans := map[string][2]int64{}
	for _, e := range evs {
		if e.Kind == "prepare" {
			continue
		}
		s := spans[e.ID]
		if e.Event == "start" && (s[0] == 0 || e.T < s[0]) {
			s[0] = e.T
		}
		if e.Event == "end" && e.T > s[1] {
			s[1] = e.T
		}
		spans[e.ID] = s
	}
	return spans
}

func maxConcurrent(spans map[string][2]int64) int {
	best := 0
	for _, a := range spans {
		n := 0
		for _, b := range spans {
			if b[0] <= a[0] && a[0] < b[1] {
				n++
			}
		}
		best = max(best, n)
	}
	return best
}

func TestParallelism(t *testing.T) {
	for _, tc := range []struct {
		cap, want int
	}{
		{1, 1},
		{2, 2},
		{0, 4}, // no cap: every trial fans out at once
	} {
		t.Run(strconv.Itoa(tc.cap), func(t *testing.T) {
			g := graph(t, t.TempDir(), 0.1, 0.2, 0.3, 0.4)
			g.Policy.Parallelism = tc.cap
			log, e := env(t, "FAKESTEP_SLEEP=train:400ms")
			if _, err := local.Run(context.Background(), g, options(t, e)); err != nil {
				t.Fatal(err)
			}
			if got := maxConcurrent(trialSpans(events(t, log))); got != tc.want {
				t.Errorf("%d trials ran at once, want %d", got, tc.want)
			}
		})
	}
}

func TestRerunSkipsFinished(t *testing.T) {
	root := t.TempDir()
	g := graph(t, root, 0.1, 0.2)
	log, e := env(t)
	if _, err := local.Run(context.Background(), g, options(t, e)); err != nil {
		t.Fatal(err)
	}
	first := starts(events(t, log), "")

	// Everything finished: nothing runs.
	s, err := local.Run(context.Background(), g, options(t, e))
	if err != nil {
		t.Fatal(err)
	}
	if n := starts(events(t, log), "") - first; n != 0 {
		t.Errorf("a rerun started %d steps, want 0", n)
	}
	for i, u := range s.Units {
		if u.Status != local.StatusFinished {
			t.Errorf("unit %d: %s, want finished", i, u.Status)
		}
	}

	// A trial whose metrics are gone runs again from evaluate; its train
	// step and the dataset are still there.
	trial := g.Units[1].Dir
	if err := os.RemoveAll(filepath.Join(trial, local.DirMetrics)); err != nil {
		t.Fatal(err)
	}
	before := events(t, log)
	s, err = local.Run(context.Background(), g, options(t, e))
	if err != nil {
		t.Fatal(err)
	}
	again := events(t, log)[len(before):]
	var kinds []string
	for _, ev := range again {
		if ev.Event == "start" {
			kinds = append(kinds, ev.Kind)
		}
	}
	if want := []string{"evaluate", "track", "publish", "record"}; !slices.Equal(kinds, want) {
		t.Errorf("rerun of a trial without metrics ran %v, want %v", kinds, want)
	}
	if s.Units[0].Status != local.StatusUnneeded && s.Units[0].Status != local.StatusFinished {
		t.Errorf("dataset: %s", s.Units[0].Status)
	}

	// --force runs everything again, from a clean trial folder.
	marker := filepath.Join(trial, local.DirCheckpoints, "stale")
	if err := os.WriteFile(marker, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	o := options(t, e)
	o.Force = true
	before = events(t, log)
	if _, err := local.Run(context.Background(), g, o); err != nil {
		t.Fatal(err)
	}
	if n := starts(events(t, log)[len(before):], ""); n != 11 {
		t.Errorf("--force started %d steps, want 11", n)
	}
	if _, err := os.Stat(marker); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("--force kept the old checkpoints")
	}
}

func TestDatasetRunsOnlyWhenNeeded(t *testing.T) {
	root := t.TempDir()
	g := graph(t, root, 0.1)
	log, e := env(t)
	if _, err := local.Run(context.Background(), g, options(t, e)); err != nil {
		t.Fatal(err)
	}
	// The dataset is gone but its trial is finished: nothing to do.
	if err := os.RemoveAll(g.Units[0].Dir); err != nil {
		t.Fatal(err)
	}
	n := len(events(t, log))
	if _, err := local.Run(context.Background(), g, options(t, e)); err != nil {
		t.Fatal(err)
	}
	if got := starts(events(t, log)[n:], ""); got != 0 {
		t.Errorf("%d steps ran for a finished trial", got)
	}
	// A new trial needs it again.
	g2 := graph(t, root, 0.1, 0.2)
	n = len(events(t, log))
	if _, err := local.Run(context.Background(), g2, options(t, e)); err != nil {
		t.Fatal(err)
	}
	var kinds []string
	for _, ev := range events(t, log)[n:] {
		if ev.Event == "start" {
			kinds = append(kinds, ev.Kind)
		}
	}
	if want := []string{"prepare", "train", "evaluate", "track", "publish", "record"}; !slices.Equal(kinds, want) {
		t.Errorf("ran %v, want %v", kinds, want)
	}
}

func TestRetries(t *testing.T) {
	for _, tc := range []struct {
		name     string
		fail     string
		limit    int
		policy   string
		status   local.Status
		attempts int
	}{
		{"transient then ok", "train:2:75", 2, local.RetryOnTransientError, local.StatusDone, 3},
		{"failure then ok", "train:1:1", 1, local.RetryOnFailure, local.StatusDone, 2},
		{"failure not retried on transient policy", "train:1:1", 3, local.RetryOnTransientError, local.StatusFailed, 1},
		{"config mismatch is final", "train:all:3", 3, local.RetryAlways, local.StatusFailed, 1},
		{"retries run out", "train:all:1", 2, local.RetryAlways, local.StatusFailed, 3},
	} {
		t.Run(tc.name, func(t *testing.T) {
			g := graph(t, t.TempDir(), 0.1, 0.2)
			g.Policy.Retry.Limit = tc.limit
			g.Policy.Retry.Policy = tc.policy
			// Only the first trial's train fails.
			_, e := env(t)
			g.Steps[1].Env = append(g.Steps[1].Env, "FAKESTEP_FAIL="+tc.fail)
			var rec recorder
			o := options(t, e)
			o.Observer = &rec
			s, err := local.Run(context.Background(), g, o)
			if got := s.Steps[1]; got.Status != tc.status || got.Attempts != tc.attempts {
				t.Fatalf("train: %s after %d attempts, want %s after %d (%v)", got.Status, got.Attempts, tc.status, tc.attempts, got.Err)
			}
			if rec.count(local.StepRetrying) != tc.attempts-1 {
				t.Errorf("%d retry events, want %d", rec.count(local.StepRetrying), tc.attempts-1)
			}
			if s.Units[2].Status != local.StatusDone {
				t.Errorf("the other trial: %s, want done", s.Units[2].Status)
			}
			if tc.status == local.StatusDone {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if !errors.Is(err, local.ErrFailed) {
				t.Errorf("error %v, want ErrFailed", err)
			}
			if s.Units[1].Status != local.StatusFailed || s.Steps[2].Status != local.StatusNotRun {
				t.Errorf("failed trial %s, its evaluate %s", s.Units[1].Status, s.Steps[2].Status)
			}
			if local.Finished(g.Units[1].Dir) {
				t.Error("a failed trial looks finished")
			}
			b, _ := os.ReadFile(g.Steps[1].Log)
			if n := strings.Count(string(b), "=== train-"); n != tc.attempts {
				t.Errorf("log holds %d attempts, want %d", n, tc.attempts)
			}
		})
	}
}

func TestFailedDatasetBlocksItsTrials(t *testing.T) {
	g := graph(t, t.TempDir(), 0.1, 0.2)
	_, e := env(t, "FAKESTEP_FAIL=prepare:all:1")
	s, err := local.Run(context.Background(), g, options(t, e))
	if !errors.Is(err, local.ErrFailed) {
		t.Fatalf("error %v, want ErrFailed", err)
	}
	want := []local.Status{local.StatusFailed, local.StatusNotRun, local.StatusNotRun}
	for i, u := range s.Units {
		if u.Status != want[i] {
			t.Errorf("unit %d: %s, want %s", i, u.Status, want[i])
		}
	}
}

func TestStepTimeout(t *testing.T) {
	g := graph(t, t.TempDir(), 0.1)
	g.Policy.StepTimeout = 300 * time.Millisecond
	_, e := env(t, "FAKESTEP_SLEEP=train:1m")
	start := time.Now()
	s, err := local.Run(context.Background(), g, options(t, e))
	if !errors.Is(err, local.ErrFailed) {
		t.Fatalf("error %v, want ErrFailed", err)
	}
	if took := time.Since(start); took > 20*time.Second {
		t.Errorf("a 300ms step deadline took %s", took)
	}
	if st := s.Steps[1]; st.Status != local.StatusFailed || !strings.Contains(fmt.Sprint(st.Err), "deadline") {
		t.Errorf("train: %s, %v", st.Status, st.Err)
	}
}

func TestRunDeadline(t *testing.T) {
	g := graph(t, t.TempDir(), 0.1)
	g.Policy.Timeout = 300 * time.Millisecond
	_, e := env(t, "FAKESTEP_SLEEP=train:1m")
	s, err := local.Run(context.Background(), g, options(t, e))
	if !errors.Is(err, local.ErrDeadline) {
		t.Fatalf("error %v, want ErrDeadline", err)
	}
	if s.Units[1].Status != local.StatusCancelled {
		t.Errorf("trial: %s, want cancelled", s.Units[1].Status)
	}
}

// alive reports whether a process exists and is not a zombie.
func alive(pid int) bool {
	if runtime.GOOS == "linux" {
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
		if err != nil {
			return false
		}
		s := string(b)
		fields := strings.Fields(s[strings.LastIndex(s, ")")+1:])
		return len(fields) > 0 && fields[0] != "Z" && fields[0] != "X"
	}
	return syscall.Kill(pid, 0) == nil
}

func TestCancelLeavesNoProcesses(t *testing.T) {
	for _, tc := range []struct {
		name   string
		ignore bool
	}{{"stops on SIGTERM", false}, {"killed after the grace period", true}} {
		t.Run(tc.name, func(t *testing.T) {
			g := graph(t, t.TempDir(), 0.1, 0.2)
			vars := []string{"FAKESTEP_SLEEP=train:1h", "FAKESTEP_CHILD=train:1"}
			if tc.ignore {
				vars = append(vars, "FAKESTEP_IGNORE_TERM=train:1")
			}
			log, e := env(t, vars...)
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			type result struct {
				s   local.Summary
				err error
			}
			done := make(chan result, 1)
			o := options(t, e)
			go func() {
				s, err := local.Run(ctx, g, o)
				done <- result{s, err}
			}()
			// Wait for both trains and their children.
			var pids []int
			deadline := time.Now().Add(20 * time.Second)
			for len(pids) < 4 && time.Now().Before(deadline) {
				time.Sleep(20 * time.Millisecond)
				pids = pids[:0]
				for _, ev := range events(t, log) {
					if ev.Kind == "train" && ev.Event == "start" {
						pids = append(pids, ev.PID)
					}
					if ev.Event == "child" {
						pids = append(pids, ev.Child)
					}
				}
			}
			if len(pids) < 4 {
				t.Fatalf("the trains did not start: %v", pids)
			}
			cancel()
			var r result
			select {
			case r = <-done:
			case <-time.After(20 * time.Second):
				t.Fatal("the run did not stop")
			}
			if !errors.Is(r.err, local.ErrInterrupted) {
				t.Errorf("error %v, want ErrInterrupted", r.err)
			}
			for i := 1; i < len(r.s.Units); i++ {
				if r.s.Units[i].Status != local.StatusCancelled {
					t.Errorf("unit %d: %s, want cancelled", i, r.s.Units[i].Status)
				}
			}
			for _, pid := range pids {
				for end := time.Now().Add(2 * time.Second); alive(pid) && time.Now().Before(end); {
					time.Sleep(10 * time.Millisecond)
				}
				if alive(pid) {
					t.Errorf("process %d outlived the run", pid)
					syscall.Kill(pid, syscall.SIGKILL)
				}
			}
			terms := 0
			for _, ev := range events(t, log) {
				if ev.Event == "term" {
					terms++
				}
			}
			if want := map[bool]int{false: 2, true: 0}[tc.ignore]; terms != want {
				t.Errorf("%d steps saw SIGTERM, want %d", terms, want)
			}
			if !tc.ignore {
				// Train checkpoints on SIGTERM; a rerun resumes from there.
				if _, err := os.Stat(filepath.Join(g.Units[1].Dir, local.DirCheckpoints, "term.ckpt")); err != nil {
					t.Errorf("no checkpoint written on SIGTERM: %v", err)
				}
			}
		})
	}
}

func TestMissingProgram(t *testing.T) {
	g := graph(t, t.TempDir(), 0.1)
	o := local.DefaultOptions()
	o.Program = filepath.Join(t.TempDir(), "no-such-parak8s")
	if _, err := local.Run(context.Background(), g, o); err == nil || !strings.Contains(err.Error(), "finding the step program") {
		t.Errorf("error %v, want one about the missing program", err)
	}
}

func TestBadGraphs(t *testing.T) {
	for name, edit := range map[string]func(g *local.Graph){
		"unknown dependency": func(g *local.Graph) { g.Steps[1].Deps = []string{"nope"} },
		"cycle":              func(g *local.Graph) { g.Steps[0].Deps = []string{g.Steps[5].Name} },
		"duplicate name":     func(g *local.Graph) { g.Steps[2].Name = g.Steps[1].Name },
		"unknown policy":     func(g *local.Graph) { g.Policy.Retry.Policy = "Sometimes" },
	} {
		t.Run(name, func(t *testing.T) {
			g := graph(t, t.TempDir(), 0.1)
			edit(g)
			o := local.DefaultOptions()
			o.Program = "sh"
			if _, err := local.Run(context.Background(), g, o); err == nil || !strings.HasPrefix(err.Error(), "checking the graph") {
				t.Errorf("error %v, want a graph check", err)
			}
		})
	}
}

func TestOneRunAtATime(t *testing.T) {
	root := t.TempDir()
	g := graph(t, root, 0.1)
	g.Lock = filepath.Join(root, "t", ".lock")
	log, e := env(t)
	slow := append(append([]string(nil), e...), "FAKESTEP_SLEEP=train:1h")
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	o := options(t, slow)
	go func() {
		_, err := local.Run(ctx, g, o)
		done <- err
	}()
	for end := time.Now().Add(20 * time.Second); starts(events(t, log), "train") == 0 && time.Now().Before(end); {
		time.Sleep(20 * time.Millisecond)
	}
	g2 := graph(t, root, 0.2)
	g2.Lock = g.Lock
	if _, err := local.Run(context.Background(), g2, options(t, e)); !errors.Is(err, local.ErrLocked) {
		t.Errorf("a second run: %v, want ErrLocked", err)
	}
	cancel()
	if err := <-done; !errors.Is(err, local.ErrInterrupted) {
		t.Fatalf("first run: %v", err)
	}
	if _, err := local.Run(context.Background(), g2, options(t, e)); err != nil {
		t.Errorf("after the first run ended: %v", err)
	}
}

func TestLateValues(t *testing.T) {
	g := graph(t, t.TempDir(), 0.1, 0.2)
	g.Policy.Retry.Limit = 3
	// Trial 1's publish reads a run id nobody writes: a final failure.
	g.Steps[4].Late["{{run-id}}"] = filepath.Join(t.TempDir(), "missing")
	// Trial 2's record reads an empty digest: an empty value, as in Argo.
	empty := filepath.Join(t.TempDir(), "empty")
	if err := os.WriteFile(empty, []byte("\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	g.Steps[10].Late["{{digest}}"] = empty
	log, e := env(t)
	s, err := local.Run(context.Background(), g, options(t, e))
	if !errors.Is(err, local.ErrFailed) {
		t.Fatalf("error %v", err)
	}
	if st := s.Steps[4]; st.Status != local.StatusFailed || st.Attempts != 1 || !strings.Contains(fmt.Sprint(st.Err), "missing") {
		t.Errorf("publish with a missing run id: %s after %d attempts (%v)", st.Status, st.Attempts, st.Err)
	}
	var args []string
	for _, ev := range events(t, log) {
		if ev.Event == "start" && ev.Kind == "record" {
			args = ev.Args
		}
	}
	if i := slices.Index(args, step.FlagDigest); i < 0 || args[i+1] != "" {
		t.Errorf("record got %v, want an empty %s", args, step.FlagDigest)
	}
}
