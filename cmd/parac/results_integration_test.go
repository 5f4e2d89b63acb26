package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"parak8s.dev/parak8s/compiler"
	"parak8s.dev/parak8s/compiler/plan"
	"parak8s.dev/parak8s/internal/stepfixture"
	"parak8s.dev/parak8s/internal/testenv"
	"parak8s.dev/parak8s/runtime/bundle"
	"parak8s.dev/parak8s/runtime/eval"
	"parak8s.dev/parak8s/runtime/local"
	"parak8s.dev/parak8s/runtime/results"
	"parak8s.dev/parak8s/runtime/step"
	"parak8s.dev/parak8s/runtime/tracking"
)

// Server-backed tests of parac (make integration): --skip-finished and the
// report of a cluster's results, against the real PostgreSQL and MLflow of
// scripts/ (the running ones the environment names, else started on their
// default ports and stopped at the end).

// serverEnv returns the value of export (DATABASE_URL, MLFLOW_TRACKING_URI),
// starting the server with scripts/SCRIPT when the environment has none.
func serverEnv(t *testing.T, script, export string) string {
	t.Helper()
	if v := os.Getenv(export); v != "" {
		return v
	}
	v, stop, err := testenv.Server{Script: script, Export: export}.Start()
	if err != nil {
		if testenv.SkipServers() {
			t.Skipf("%s=1 and scripts/%s could not start: %v", testenv.EnvSkipServers, script, err)
		}
		t.Fatalf("starting scripts/%s: %v (set %s to a running server, or %s=1 to skip)", script, err, export, testenv.EnvSkipServers)
	}
	t.Cleanup(func() {
		if err := stop(); err != nil {
			t.Errorf("stopping scripts/%s: %v", script, err)
		}
	})
	return v
}

// parac runs the CLI in the test's process.
func parac(t *testing.T, args ...string) (stdout, stderr string) {
	t.Helper()
	var o, e bytes.Buffer
	if code := run(args, &o, &e); code != 0 {
		t.Fatalf("parac %s: exit %d\n%s", strings.Join(args, " "), code, e.String())
	}
	return o.String(), e.String()
}

// TestIntegrationResubmit records half of a sweep's trials as finished in
// PostgreSQL: compile --skip-finished emits exactly the others (also when
// sharded), and parac plan says the same.
func TestIntegrationResubmit(t *testing.T) {
	if testing.Short() {
		t.Skip("starts servers")
	}
	dsn := serverEnv(t, "postgres.sh", step.EnvDatabaseURL)
	t.Setenv(step.EnvDatabaseURL, dsn)
	t.Setenv(step.EnvMLflowURI, "")
	name := "resubmit-" + strconv.FormatInt(time.Now().UnixNano(), 36)
	dir := t.TempDir()
	spec := filepath.Join(dir, "exp.cue")
	err := os.WriteFile(spec, []byte(fmt.Sprintf(`name: %q
data: source: {kind: "wfdb", path: "/data/mitdb"}
model: kind: "deepcnn1d"
sweep: parameters: [
	{path: "training.optimizer.lr", values: [0.001, 0.01]},
	{path: "model.dropout", values: [0.2, 0.5]},
]
`, name)), 0o644)
	if err != nil {
		t.Fatal(err)
	}
	res, err := compiler.Plan(spec, compiler.DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	trials := res[0].Plan.Trials
	if len(trials) != 4 {
		t.Fatalf("%d trials, want 4", len(trials))
	}
	ctx := context.Background()
	store, err := results.Open(ctx, dsn, results.DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	// trials 0 and 2 finished, 1 failed, 3 never ran
	for i, st := range map[int]results.Status{0: results.StatusSucceeded, 1: results.StatusFailed, 2: results.StatusSucceeded} {
		if err := store.RecordTrial(ctx, results.TrialRecord{ID: trials[i].ID, Experiment: name, Status: st}); err != nil {
			t.Fatal(err)
		}
	}
	workdir := filepath.Join(dir, "work")

	stdout, stderr := parac(t, "compile", "--skip-finished", spec)
	if !strings.Contains(stderr, name+": 2 trials finished in the results database, 2 trials to run") {
		t.Errorf("stderr:\n%s", stderr)
	}
	for i, want := range []bool{false, true, false, true} {
		if got := strings.Contains(stdout, trials[i].ID); got != want {
			t.Errorf("workflow has trial %d (%s): %v, want %v", i, trials[i].Short(), got, want)
		}
	}
	if !strings.Contains(stdout, name+": 2 trials") {
		t.Errorf("the workflow's title does not count 2 trials")
	}
	stdout, _ = parac(t, "compile", "--skip-finished", "--shard", "1", spec)
	if n := strings.Count(stdout, "\nkind: Workflow\n") + strings.Count(stdout[:min(len(stdout), 20)], "kind: Workflow"); n != 2 {
		t.Errorf("--shard 1: %d workflows, want 2", n)
	}

	stdout, _ = parac(t, "plan", "--workdir", workdir, spec)
	for _, want := range []string{
		"new: 2 trials",
		"finished: 2 (work dir 0, database 2)",
		"resubmit (compile --skip-finished): 2 trials in 1 workflow, 1 dataset to prepare",
	} {
		if !strings.Contains(stdout, want) {
			t.Errorf("parac plan lacks %q:\n%s", want, stdout)
		}
	}

	// all finished: nothing to submit, and plan agrees
	for _, i := range []int{1, 3} {
		if err := store.RecordTrial(ctx, results.TrialRecord{ID: trials[i].ID, Experiment: name, Status: results.StatusSucceeded}); err != nil {
			t.Fatal(err)
		}
	}
	stdout, stderr = parac(t, "compile", "--skip-finished", spec)
	if stdout != "" || !strings.Contains(stderr, "4 trials finished in the results database, 0 trials to run") {
		t.Errorf("all finished: stdout %d bytes, stderr:\n%s", len(stdout), stderr)
	}
	stdout, _ = parac(t, "plan", "--workdir", workdir, spec)
	if !strings.Contains(stdout, "resubmit (compile --skip-finished): nothing, every trial is finished") {
		t.Errorf("parac plan:\n%s", stdout)
	}

	// without a database it is a usage error
	t.Setenv(step.EnvDatabaseURL, "")
	var o, e bytes.Buffer
	if code := run([]string{"compile", "--skip-finished", spec}, &o, &e); code != 2 || !strings.Contains(e.String(), "set DATABASE_URL") {
		t.Errorf("without DATABASE_URL: exit %d, stderr %s", code, e.String())
	}
}

// reportTrial writes a finished trial's folder as parac run leaves it:
// trial.json, model/ (model.json, history.json, training.svg), metrics/
// (metrics.json, roc.svg, confusion.svg), out/run-id and the done marker.
func reportTrial(t *testing.T, dir string, tr plan.Trial, experiment string, wrongEvery int, runID string) {
	t.Helper()
	classes := []string{"N", "S", "V", "F", "Q"}
	model, metrics := filepath.Join(dir, local.DirModel), filepath.Join(dir, local.DirMetrics)
	h := bundle.History{}
	for i := 1; i <= 3; i++ {
		f := float64(i)
		h.Epochs = append(h.Epochs, bundle.Epoch{Epoch: i, Steps: int64(100 * i), LR: 1e-3 / f, TrainLoss: 1 / f / float64(wrongEvery),
			ValLoss: 1.2/f + 0.05, Val: map[string]float64{"loss": 1.2/f + 0.05, "f1": 0.5 + 0.1*f}, Seconds: 2})
	}
	man := bundle.Manifest{Format: bundle.Format, Trial: tr.ID, Experiment: experiment, Kind: "deepcnn1d", Classes: classes, Input: []int{1, 187}, DataKey: tr.DataKey,
		Epochs: 3, BestEpoch: 3, Monitor: "f1", Val: h.Epochs[2].Val, Steps: 300, StepsPerSecond: 50, Created: time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)}
	var series []eval.Series
	for _, name := range []string{"train_loss", "val_loss"} {
		s := eval.Series{Name: name}
		for _, e := range h.Epochs {
			s.Values = append(s.Values, map[string]float64{"train_loss": e.TrainLoss, "val_loss": e.ValLoss}[name])
		}
		series = append(series, s)
	}
	training, err := eval.PlotTraining(series, eval.DefaultPlotOptions())
	if err != nil {
		t.Fatal(err)
	}
	in := eval.Input{Classes: classes}
	for i := 0; i < 50; i++ {
		label, pred := i%5, i%5
		if i%wrongEvery == 0 {
			pred = (label + 1) % 5
		}
		in.Labels = append(in.Labels, label)
		for c := 0; c < 5; c++ {
			p := float32(0.1)
			if c == pred {
				p = 0.6
			}
			in.Probs = append(in.Probs, p)
		}
	}
	if _, err := stepfixture.WriteMetrics(metrics, in); err != nil {
		t.Fatal(err)
	}
	for _, d := range []string{model, filepath.Join(dir, local.DirOut)} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	info := local.TrialInfo{ID: tr.ID, Experiment: experiment, DataKey: tr.DataKey, Label: tr.Label(), Overrides: tr.Overrides}
	for _, err := range []error{
		bundle.WriteJSON(filepath.Join(dir, local.FileTrial), info),
		bundle.WriteJSON(filepath.Join(model, bundle.FileManifest), man),
		bundle.WriteJSON(filepath.Join(model, bundle.FileHistory), h),
		bundle.WriteFile(filepath.Join(model, bundle.FileWeights), []byte("weights")),
		eval.WriteSVG(filepath.Join(model, bundle.FileTraining), training),
		bundle.WriteFile(filepath.Join(dir, local.DirOut, step.OutRunID), []byte(runID)),
		bundle.WriteFile(filepath.Join(dir, local.FileDone), nil),
	} {
		if err != nil {
			t.Fatal(err)
		}
	}
}

// TestIntegrationClusterReport: the trials of a sweep tracked to the real
// MLflow and recorded in the real PostgreSQL (as a cluster leaves them) give
// parac report the same HTML as the work dir of a local run of the same
// trials; a trial only the database has (failed) is listed with its status.
func TestIntegrationClusterReport(t *testing.T) {
	if testing.Short() {
		t.Skip("starts servers")
	}
	uri := serverEnv(t, "mlflow.sh", step.EnvMLflowURI)
	dsn := serverEnv(t, "postgres.sh", step.EnvDatabaseURL)
	t.Setenv(step.EnvMLflowURI, uri)
	t.Setenv(step.EnvDatabaseURL, dsn)
	t.Setenv(step.EnvMLflowExperiment, "")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	name := "report-" + strconv.FormatInt(time.Now().UnixNano(), 36)
	dir := t.TempDir()
	spec := filepath.Join(dir, "exp.cue")
	err := os.WriteFile(spec, []byte(fmt.Sprintf(`name: %q
data: source: {kind: "wfdb", path: "/data/mitdb"}
model: kind: "deepcnn1d"
sweep: parameters: [
	{path: "training.optimizer.lr", values: [0.001, 0.01]},
	{path: "model.dropout", values: [0.2, 0.5]},
]
`, name)), 0o644)
	if err != nil {
		t.Fatal(err)
	}
	res, err := compiler.Plan(spec, compiler.DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	trials := res[0].Plan.Trials
	ml, err := tracking.New(tracking.Config{TrackingURI: uri}, tracking.DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	store, err := results.Open(ctx, dsn, results.DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	expID, err := ml.GetOrCreateExperiment(ctx, name)
	if err != nil {
		t.Fatal(err)
	}
	// trials 0-2 finished (tracked as parak8s track does, recorded), 3 failed
	// on the cluster (recorded only)
	localWork := filepath.Join(dir, "local")
	l := local.Layout{Root: localWork, Experiment: name}
	for i, wrong := range []int{10, 4, 25} {
		tr := trials[i]
		sweep, err := json.Marshal(map[string]any{tr.Overrides[0].Path: tr.Overrides[0].Value, tr.Overrides[1].Path: tr.Overrides[1].Value})
		if err != nil {
			t.Fatal(err)
		}
		runName := tr.Short() + " " + tr.Label()
		run, _, err := ml.EnsureRun(ctx, expID, tr.ID, map[string]string{tracking.TagRunName: runName, "parak8s.experiment": name, "parak8s.sweep": string(sweep)})
		if err != nil {
			t.Fatal(err)
		}
		reportTrial(t, l.Trial(tr.ID), tr, name, wrong, run.Info.RunID)
		for _, d := range []string{local.DirModel, local.DirMetrics} {
			if _, err := ml.UploadDir(ctx, run.Info.ArtifactURI, filepath.Join(l.Trial(tr.ID), d), d); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := ml.UpdateRun(ctx, run.Info.RunID, tracking.RunFinished, time.Now()); err != nil {
			t.Fatal(err)
		}
		rec := results.TrialRecord{ID: tr.ID, Experiment: name, Status: results.StatusSucceeded, SweepPoint: sweep, MLflowRunID: run.Info.RunID}
		if err := store.RecordTrial(ctx, rec); err != nil {
			t.Fatal(err)
		}
	}
	generated := regexp.MustCompile(` Generated [0-9-]+ [0-9:]+ [A-Z]+\.`)
	reportOf := func(t *testing.T, args ...string) string {
		t.Helper()
		out := filepath.Join(t.TempDir(), "report.html")
		parac(t, append([]string{"report", "-o", out}, args...)...)
		b, err := os.ReadFile(out)
		if err != nil {
			t.Fatal(err)
		}
		return generated.ReplaceAllString(string(b), "")
	}
	want := reportOf(t, "--workdir", localWork, spec)
	if !strings.Contains(want, trials[2].Short()) || !strings.Contains(want, "data:image/svg+xml;base64,") {
		t.Fatalf("the local report lacks the trials or their plots")
	}
	clusterWork := filepath.Join(dir, "cluster")
	// with the spec: the same as the local report, byte for byte
	if got := reportOf(t, "--workdir", clusterWork, spec); got != want {
		t.Errorf("the report from the servers differs from the local one (%d bytes, want %d)", len(got), len(want))
		os.WriteFile(filepath.Join(os.TempDir(), "report-servers.html"), []byte(got), 0o644)
		os.WriteFile(filepath.Join(os.TempDir(), "report-local.html"), []byte(want), 0o644)
	}
	// without a spec: every trial of the experiment; the same leaderboard
	// order as the local one's
	wantNoSpec := reportOf(t, "--workdir", localWork, "--experiment", name)
	if got := reportOf(t, "--workdir", clusterWork, "--experiment", name); got != wantNoSpec {
		t.Errorf("without a spec the report from the servers differs from the local one (%d bytes, want %d)", len(got), len(wantNoSpec))
		os.WriteFile(filepath.Join(os.TempDir(), "report-servers.html"), []byte(got), 0o644)
		os.WriteFile(filepath.Join(os.TempDir(), "report-local.html"), []byte(wantNoSpec), 0o644)
	}

	// a trial that failed on the cluster: in the database only
	if err := store.RecordTrial(ctx, results.TrialRecord{ID: trials[3].ID, Experiment: name, Status: results.StatusFailed,
		SweepPoint: json.RawMessage(`{"model.dropout": 0.5, "training.optimizer.lr": 0.01}`)}); err != nil {
		t.Fatal(err)
	}
	got := reportOf(t, "--workdir", clusterWork, "--source", "servers", spec)
	if !strings.Contains(got, trials[3].Short()) || !strings.Contains(got, "failed") {
		t.Errorf("the failed trial is not in the report from the servers")
	}
	if !strings.Contains(got, "4 trials, 3 with") {
		t.Errorf("the report from the servers does not count 4 trials, 3 ranked")
	}

	// parac plan with an empty work dir: the finished trials from the
	// database, the speed (2 s an epoch) from the runs' model.json
	stdout, _ := parac(t, "plan", "--workdir", filepath.Join(dir, "plan"), spec)
	for _, want := range []string{
		"finished: 3 (work dir 0, database 3)",
		"new: 1 trial, 1 dataset to prepare; ~" + (time.Duration(res[0].Plan.Experiment.Training.Epochs) * 2 * time.Second).String() + " of training",
		"resubmit (compile --skip-finished): 1 trial in 1 workflow",
	} {
		if !strings.Contains(stdout, want) {
			t.Errorf("parac plan lacks %q:\n%s", want, stdout)
		}
	}
}
