package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"parak8s.dev/parak8s/compiler"
	"parak8s.dev/parak8s/internal/testenv"
	"parak8s.dev/parak8s/runtime/results"
	"parak8s.dev/parak8s/runtime/step"
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
