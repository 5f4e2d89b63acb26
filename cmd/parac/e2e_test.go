package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"parak8s.dev/parak8s/compiler"
	"parak8s.dev/parak8s/internal/testenv"
	"parak8s.dev/parak8s/runtime/bundle"
	"parak8s.dev/parak8s/runtime/eval"
	"parak8s.dev/parak8s/runtime/local"
	"parak8s.dev/parak8s/runtime/step"
)

// TestE2EDemo runs the demo sweep (examples/demo: 4 trials, 2 at a time) with
// parac run and the real step program on real MIT-BIH records, one epoch per
// trial, in five runs over one work directory:
//
//  1. interrupted: SIGINT once a train step has checkpointed (training
//     checkpoints every 20 steps here); the steps stop, no process of the
//     step program is left, the checkpoints stay.
//  2. resumed, with one trial's step made to fail: trials/T/out, the folder
//     track writes its outputs to, is a plain file, so `parak8s track`
//     fails (as on a broken volume) on every attempt. The step is retried
//     (workflow.retries), then reported; the other trials finish, and the
//     interrupted ones resume from their checkpoints. This run's step
//     markers and logs give the DAG order and the parallelism cap.
//  3. fixed (the file removed): only T's track, publish and record run.
//  4. rerun: nothing runs, nothing is written, and it is fast.
//  5. parac report: every trial in the leaderboard with its metrics.
//
// MLFLOW_TRACKING_URI and DATABASE_URL are removed from the steps'
// environment: tracking and results go to local files.
func TestE2EDemo(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the real step program on real data (about a minute)")
	}
	if runtime.GOOS != "linux" {
		t.Skip("the orphan check reads /proc")
	}
	mitdb := testenv.MITDB(t)
	testenv.NeedLibtorch(t)
	bin := t.TempDir()
	parak8s := filepath.Join(bin, step.Program)
	// Whatever a failed check leaves running of this test's own build of
	// the step program goes at the end.
	t.Cleanup(func() {
		for _, pid := range procs(parak8s) {
			syscall.Kill(pid, syscall.SIGKILL)
		}
	})
	parac := filepath.Join(bin, "parac")
	for _, b := range []struct {
		out, pkg string
		env      []string
	}{
		{parak8s, "parak8s.dev/parak8s/cmd/parak8s", nil},
		{parac, "parak8s.dev/parak8s/cmd/parac", []string{"CGO_ENABLED=0"}},
	} {
		if err := testenv.GoBuild(b.env, "-o", b.out, b.pkg); err != nil {
			t.Fatal(err)
		}
	}

	demo := filepath.Join("..", "..", "examples", "demo")
	work := t.TempDir()
	sets := []string{
		fmt.Sprintf("data.source.path=%q", mitdb),
		"training.epochs=1",
		"training.checkpointEvery=20",
	}
	f := localFlags{compiler: compiler.DefaultOptions(), sets: sets}
	res, err := f.plans(demo)
	if err != nil {
		t.Fatal(err)
	}
	p := res[0].Plan
	if len(p.Trials) < 4 || len(p.Datasets) != 1 || p.Experiment.Sweep == nil || p.Experiment.Sweep.Parallelism != 2 {
		t.Fatalf("the demo should be a sweep of at least 4 trials over 1 dataset, 2 at a time: %d trials, %d datasets", len(p.Trials), len(p.Datasets))
	}
	attempts := p.Experiment.Workflow.Retries + 1
	if attempts < 2 {
		t.Fatalf("the demo's workflow.retries is %d: nothing to retry", attempts-1)
	}
	l := local.Layout{Root: work, Experiment: p.Experiment.Name}
	args := []string{"run", "--workdir", work, "--parak8s", parak8s, "--grace", "60s"}
	for _, s := range sets {
		args = append(args, "--set", s)
	}
	args = append(args, demo)
	var env []string
	for _, kv := range os.Environ() {
		name, _, _ := strings.Cut(kv, "=")
		if name != step.EnvMLflowURI && name != step.EnvDatabaseURL && name != step.EnvRegistry {
			env = append(env, kv)
		}
	}
	runParac := func(t *testing.T) (stdout, stderr string, code int, took time.Duration) {
		t.Helper()
		var o, e bytes.Buffer
		cmd := exec.Command(parac, args...)
		cmd.Env, cmd.Stdout, cmd.Stderr = env, &o, &e
		start := time.Now()
		err := cmd.Run()
		took = time.Since(start)
		var ee *exec.ExitError
		if err != nil && !errors.As(err, &ee) {
			t.Fatalf("running parac: %v", err)
		}
		t.Logf("parac run (%s, exit %d):\n%s%s", took.Round(time.Millisecond), cmd.ProcessState.ExitCode(), o.String(), e.String())
		noOrphans(t, parak8s)
		return o.String(), e.String(), cmd.ProcessState.ExitCode(), took
	}
	short := func(i int) string { return p.Trials[i].Short() }
	logOf := func(i int, k step.Kind) string {
		return filepath.Join(l.Trial(p.Trials[i].ID), local.DirLogs, string(k)+".log")
	}
	ok := t.Run("interrupt", func(t *testing.T) {
		var o bytes.Buffer
		cmd := exec.Command(parac, args...)
		cmd.Env, cmd.Stdout, cmd.Stderr = env, &o, &o
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		exited := make(chan error, 1)
		go func() { exited <- cmd.Wait() }()
		var state string
		for end := time.Now().Add(2 * time.Minute); state == "" && time.Now().Before(end); time.Sleep(50 * time.Millisecond) {
			m, _ := filepath.Glob(filepath.Join(l.Trials(), "*", local.DirCheckpoints, "state.json"))
			if len(m) > 0 {
				state = m[0]
			}
			select {
			case err := <-exited:
				t.Fatalf("parac run ended (%v) before a train step checkpointed:\n%s", err, o.String())
			default:
			}
		}
		if state == "" {
			cmd.Process.Kill()
			t.Fatalf("no checkpoint after 2 minutes:\n%s", o.String())
		}
		// The orphan check below can fail: the step program runs now.
		if n := len(procs(parak8s)); n == 0 {
			t.Fatal("no process of the step program is running while train runs")
		}
		if err := cmd.Process.Signal(os.Interrupt); err != nil {
			t.Fatal(err)
		}
		select {
		case <-exited:
		case <-time.After(90 * time.Second):
			cmd.Process.Kill()
			t.Fatalf("parac run did not stop within 90s of SIGINT:\n%s", o.String())
		}
		out := o.String()
		t.Logf("parac run, interrupted:\n%s", out)
		noOrphans(t, parak8s)
		if code := cmd.ProcessState.ExitCode(); code != 1 {
			t.Errorf("interrupted parac run exited %d, want 1", code)
		}
		if n := strings.Count(out, "start   prepare-"); n != 1 {
			t.Errorf("prepare started %d times, want once for the shared dataset", n)
		}
		if !regexp.MustCompile(`(?m)^\S+ stopped train-`).MatchString(out) || !regexp.MustCompile(`(?m)^trials: .*cancelled`).MatchString(out) {
			t.Errorf("no stopped train step and cancelled trials in the output")
		}
		trial := filepath.Dir(filepath.Dir(state))
		if local.Finished(trial) {
			t.Errorf("the interrupted trial %s looks finished", trial)
		}
	})
	if !ok {
		t.FailNow()
	}

	// Which trials checkpointed before the interruption, at which step.
	checkpointed := map[int]int64{}
	for i, tr := range p.Trials {
		b, err := os.ReadFile(filepath.Join(l.Trial(tr.ID), local.DirCheckpoints, "state.json"))
		if err != nil {
			continue
		}
		var st struct{ Step int64 }
		if err := json.Unmarshal(b, &st); err != nil {
			t.Fatalf("checkpoint of %s: %v", short(i), err)
		}
		checkpointed[i] = st.Step
	}
	if len(checkpointed) == 0 {
		t.Fatal("no trial has a checkpoint after the interruption")
	}
	// The trial whose track step fails: one that did not checkpoint if
	// there is one, so that the resumed trials run to the end.
	broken := len(p.Trials) - 1
	for i := range p.Trials {
		if _, ok := checkpointed[i]; !ok {
			broken = i
		}
	}
	brokenOut := filepath.Join(l.Trial(p.Trials[broken].ID), local.DirOut)
	if err := os.MkdirAll(filepath.Dir(brokenOut), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(brokenOut, []byte("not a folder\n"), 0o644); err != nil {
		t.Fatal(err)
	}

	ok = t.Run("resume and a failing step", func(t *testing.T) {
		out, stderr, code, _ := runParac(t)
		if code != 1 || !strings.Contains(stderr, "steps failed in 1 of ") {
			t.Errorf("exit %d, stderr %q; want 1 and one failed unit", code, stderr)
		}
		if strings.Contains(out, "start   prepare-") {
			t.Error("the finished dataset was prepared again")
		}
		b := short(broken)
		if n := strings.Count(out, "retry   track-"+b); n != attempts-1 {
			t.Errorf("track-%s retried %d times, want %d", b, n, attempts-1)
		}
		want := regexp.MustCompile(`(?m)^` + b + ` +failed .*track-` + b + `: exit code (\d+) \(log: .*track\.log\) \(` + strconv.Itoa(attempts) + ` attempts\)`)
		if m := want.FindStringSubmatch(out); m == nil {
			t.Errorf("the summary does not report track-%s failing after %d attempts", b, attempts)
		} else if m[1] == strconv.Itoa(step.ExitConfig) || m[1] == strconv.Itoa(step.ExitUsage) {
			t.Errorf("track failed with exit code %s, which is never retried", m[1])
		}
		if n := strings.Count(readFile(t, logOf(broken, step.Track)), "=== track-"+b+" attempt"); n != attempts {
			t.Errorf("track.log of %s shows %d attempts, want %d", b, n, attempts)
		}
		if n := strings.Count(out, "ok      trial "); n != len(p.Trials)-1 {
			t.Errorf("%d trials finished, want %d", n, len(p.Trials)-1)
		}
		for _, k := range []step.Kind{step.Publish, step.Record} {
			if strings.Contains(out, "start   "+string(k)+"-"+b) {
				t.Errorf("%s-%s ran after track failed", k, b)
			}
		}
		// The interrupted trials resumed from their checkpoints.
		resumed := regexp.MustCompile(`msg="resuming from checkpoint" .* step=(\d+)`)
		for i, at := range checkpointed {
			m := resumed.FindStringSubmatch(readFile(t, logOf(i, step.Train)))
			if m == nil {
				t.Errorf("train of %s did not resume from its checkpoint (step %d)", short(i), at)
				continue
			}
			if n, _ := strconv.ParseInt(m[1], 10, 64); n < at {
				t.Errorf("train of %s resumed at step %d, the checkpoint was at step %d", short(i), n, at)
			}
		}

		// DAG order, from the steps' done markers (when each step ended) and
		// their logs (how long its last attempt took).
		prepared := markerTime(t, filepath.Join(l.Dataset(p.Datasets[0].Key), local.DirLogs, string(step.Prepare)+".done"))
		type span struct {
			trial      string
			start, end time.Time
		}
		var trials []span
		const slack = 5 * time.Millisecond // the logs round durations to milliseconds
		for i := range p.Trials {
			prev, prevName := prepared, "prepare"
			var first time.Time
			for _, k := range step.TrialKinds() {
				if i == broken && k == step.Track {
					break
				}
				dir := filepath.Join(l.Trial(p.Trials[i].ID), local.DirLogs)
				end := markerTime(t, filepath.Join(dir, string(k)+".done"))
				start := end.Add(-lastTook(t, filepath.Join(dir, string(k)+".log")))
				if start.Add(slack).Before(prev) {
					t.Errorf("%s-%s started %s before %s ended", k, short(i), prev.Sub(start), prevName)
				}
				if first.IsZero() {
					first = start
				}
				prev, prevName = end, string(k)
			}
			end := prev
			if i == broken {
				st, err := os.Stat(logOf(i, step.Track))
				if err != nil {
					t.Fatal(err)
				}
				end = st.ModTime()
			} else if done := markerTime(t, filepath.Join(l.Trial(p.Trials[i].ID), local.FileDone)); done.Before(prev) {
				t.Errorf("trial %s was marked done before its last step ended", short(i))
			}
			trials = append(trials, span{short(i), first, end})
		}
		// The parallelism cap: at most 2 trials between their first step's
		// start and their last step's end at any time, and 2 at some time.
		type edge struct {
			at    time.Time
			delta int
			trial string
		}
		var edges []edge
		for _, s := range trials {
			edges = append(edges, edge{s.start, 1, s.trial}, edge{s.end, -1, s.trial})
		}
		sort.Slice(edges, func(i, j int) bool {
			if !edges[i].at.Equal(edges[j].at) {
				return edges[i].at.Before(edges[j].at)
			}
			return edges[i].delta < edges[j].delta
		})
		running, most := 0, 0
		for _, e := range edges {
			running += e.delta
			if running > most {
				most = running
			}
		}
		if most != p.Experiment.Sweep.Parallelism {
			var spans []string
			for _, s := range trials {
				spans = append(spans, fmt.Sprintf("%s %s-%s", s.trial, s.start.Format("15:04:05.000"), s.end.Format("15:04:05.000")))
			}
			t.Errorf("at most %d trials ran at once, want %d (the sweep's parallelism): %s", most, p.Experiment.Sweep.Parallelism, strings.Join(spans, ", "))
		}
	})
	if !ok {
		t.FailNow()
	}

	if err := os.Remove(brokenOut); err != nil {
		t.Fatal(err)
	}
	t.Run("fixed", func(t *testing.T) {
		out, _, code, _ := runParac(t)
		if code != 0 {
			t.Fatalf("exit %d", code)
		}
		if !strings.Contains(out, fmt.Sprintf("skip    1 dataset and %d trials finished earlier", len(p.Trials)-1)) {
			t.Error("the finished dataset and trials were not skipped")
		}
		b := short(broken)
		for _, k := range step.TrialKinds() {
			ran := strings.Contains(out, "start   "+string(k)+"-"+b)
			if want := k != step.Train && k != step.Evaluate; ran != want {
				t.Errorf("%s-%s ran: %v, want %v", k, b, ran, want)
			}
		}
		if n := strings.Count(out, "start   "); n != 3 {
			t.Errorf("%d steps started, want 3 (track, publish and record of %s)", n, b)
		}
		if !regexp.MustCompile(fmt.Sprintf(`(?m)^trials: 1 done, %d finished`, len(p.Trials)-1)).MatchString(out) {
			t.Error("the summary does not say 1 done and the rest finished")
		}
	})

	t.Run("rerun skips", func(t *testing.T) {
		before := snapshot(t, l.Dir())
		out, _, code, took := runParac(t)
		if code != 0 {
			t.Fatalf("exit %d", code)
		}
		if strings.Contains(out, "start ") || !strings.Contains(out, fmt.Sprintf("skip    1 dataset and %d trials finished earlier", len(p.Trials))) ||
			!regexp.MustCompile(fmt.Sprintf(`(?m)^trials: %d finished`, len(p.Trials))).MatchString(out) {
			t.Error("a rerun of a finished sweep ran something")
		}
		if took > 15*time.Second {
			t.Errorf("a rerun with nothing to do took %s", took)
		}
		after := snapshot(t, l.Dir())
		for path, v := range before {
			if after[path] != v && filepath.Base(path) != ".lock" && filepath.Base(path) != local.FileConfig {
				t.Errorf("the rerun changed %s", path)
			}
		}
	})

	t.Run("fan-out", func(t *testing.T) {
		ds, _ := filepath.Glob(filepath.Join(l.Dir(), "datasets", "*"))
		if len(ds) != 1 || filepath.Base(ds[0]) != step.Short(p.Datasets[0].Key) {
			t.Errorf("dataset folders %v, want one for data key %s", ds, step.Short(p.Datasets[0].Key))
		}
		attempt := regexp.MustCompile(`(?m)^=== prepare-\S+ attempt `)
		if n := len(attempt.FindAllString(readFile(t, filepath.Join(ds[0], local.DirLogs, "prepare.log")), -1)); n != 1 {
			t.Errorf("prepare ran %d times over all the runs, want once", n)
		}
		for i, tr := range p.Trials {
			dir := l.Trial(tr.ID)
			if !local.Finished(dir) {
				t.Errorf("trial %s is not finished", short(i))
			}
			if !strings.Contains(readFile(t, filepath.Join(dir, "results.jsonl")), tr.ID) {
				t.Errorf("trial %s has no local result record", short(i))
			}
			if _, err := os.Stat(filepath.Join(dir, local.DirOut, step.OutRunID)); err != nil {
				t.Errorf("trial %s has no run id: %v", short(i), err)
			}
		}
	})

	t.Run("report", func(t *testing.T) {
		html := filepath.Join(work, "report.html")
		cmd := exec.Command(parac, "report", "--workdir", work, "-o", html)
		cmd.Env = env
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("parac report: %v\n%s", err, out)
		}
		page := readFile(t, html)
		i, j := strings.Index(page, "<h2>Leaderboard</h2>"), strings.Index(page, "<h2>Trials</h2>")
		if i < 0 || j < i {
			t.Fatal("the report has no leaderboard and trials sections")
		}
		board := page[i:j]
		if n := strings.Count(board, "<tr"); n != len(p.Trials)+1 {
			t.Errorf("the leaderboard has %d rows, want a header and %d trials", n, len(p.Trials))
		}
		for k, tr := range p.Trials {
			rep, err := eval.Read(filepath.Join(l.Trial(tr.ID), local.DirMetrics, bundle.FileMetrics))
			if err != nil {
				t.Fatal(err)
			}
			row := regexp.MustCompile(`(?s)<tr[^>]*>\s*<td>\d+</td>\s*<td class="l"><a href="#t-` + short(k) + `"><code>` + short(k) + `</code></a>(?: <span class="tag">best</span>)?</td>\s*<td><b>([0-9.]+)</b></td><td>([0-9.]+)</td>.*?</tr>`)
			m := row.FindStringSubmatch(board)
			if m == nil {
				t.Errorf("no ranked leaderboard row for trial %s", short(k))
				continue
			}
			// The ranking metric (f1_macro) first, then accuracy.
			if want := fmt.Sprintf("%.4f", rep.Macro.F1); m[1] != want {
				t.Errorf("trial %s: f1_macro %s in the leaderboard, %s in its metrics", short(k), m[1], want)
			}
			if want := fmt.Sprintf("%.4f", rep.Accuracy); m[2] != want {
				t.Errorf("trial %s: accuracy %s in the leaderboard, %s in its metrics", short(k), m[2], want)
			}
			if !strings.Contains(page[j:], tr.ID) {
				t.Errorf("the trial section lacks the id %s", tr.ID)
			}
		}
		// Per trial: its training curves (SVG), ROC curves (PNG) and
		// confusion matrix.
		for _, what := range []string{"<svg", `alt="ROC curves" src="data:image/svg+xml;base64,`, `true \ predicted`} {
			if n := strings.Count(page[j:], what); n != len(p.Trials) {
				t.Errorf("the trials section has %d of %q, want one per trial (%d)", n, what, len(p.Trials))
			}
		}
	})
}

// procs returns the live processes whose executable is exe.
func procs(exe string) []int {
	want, err := filepath.EvalSymlinks(exe)
	if err != nil {
		return nil
	}
	ents, _ := os.ReadDir("/proc")
	var out []int
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if got, err := os.Readlink(filepath.Join("/proc", e.Name(), "exe")); err == nil && got == want && alive(pid) {
			out = append(out, pid)
		}
	}
	return out
}

// noOrphans fails when a process of the step program outlived parac run.
// The runner waits for every step it started before it exits, so none may
// be left; the short wait only covers /proc catching up.
func noOrphans(t *testing.T, exe string) {
	t.Helper()
	left := procs(exe)
	for end := time.Now().Add(200 * time.Millisecond); len(left) > 0 && time.Now().Before(end); left = procs(exe) {
		time.Sleep(20 * time.Millisecond)
	}
	for _, pid := range left {
		syscall.Kill(pid, syscall.SIGKILL)
	}
	if len(left) > 0 {
		t.Errorf("processes of the step program outlived parac run: %v", left)
	}
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// markerTime is when the runner wrote a done marker.
func markerTime(t *testing.T, path string) time.Time {
	t.Helper()
	var m struct{ Finished time.Time }
	if err := json.Unmarshal([]byte(readFile(t, path)), &m); err != nil || m.Finished.IsZero() {
		t.Fatalf("marker %s: %v", path, err)
	}
	return m.Finished
}

var doneAfter = regexp.MustCompile(`(?m)^=== done after (\S+)$`)

// lastTook is how long the last successful attempt in a step log took.
func lastTook(t *testing.T, log string) time.Duration {
	t.Helper()
	m := doneAfter.FindAllStringSubmatch(readFile(t, log), -1)
	if m == nil {
		t.Fatalf("%s: no finished attempt", log)
	}
	d, err := time.ParseDuration(m[len(m)-1][1])
	if err != nil {
		t.Fatalf("%s: %v", log, err)
	}
	return d
}

// snapshot maps every file under dir to its size and modification time.
func snapshot(t *testing.T, dir string) map[string]string {
	t.Helper()
	out := map[string]string{}
	err := filepath.Walk(dir, func(path string, info os.FileInfo, err error) error {
		if err != nil || info.IsDir() {
			return err
		}
		out[path] = fmt.Sprint(info.Size(), info.ModTime().UnixNano())
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}
