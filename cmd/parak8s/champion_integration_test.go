package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"parak8s.dev/parak8s/internal/stepfixture"
	"parak8s.dev/parak8s/runtime/eval"
	"parak8s.dev/parak8s/runtime/step"
	"parak8s.dev/parak8s/runtime/steps"
	"parak8s.dev/parak8s/runtime/tracking"
)

// Integration tests of the champion (the moving OCI tags and the registered
// model's alias go to the best trial whatever the publishing order) and of a
// forced retrain (one consistent story in MLflow, the registry and
// PostgreSQL), against the real servers, read back with the Python mlflow
// client and psql besides this project's clients.

// championInputs are evaluations of decreasing val_f1, all above the ECG
// example's condition (val_f1 >= 0.80) but the last.
func championInputs() []eval.Input {
	return []eval.Input{
		stepfixture.Predictions(stepfixture.ECG(), 50, 25), // best
		stepfixture.Predictions(stepfixture.ECG(), 50, 10),
		stepfixture.Predictions(stepfixture.ECG(), 50, 7),  // worst that passes
		stepfixture.Predictions(stepfixture.ECG(), 50, 2),  // fails the condition
		stepfixture.Predictions(stepfixture.ECG(), 50, 25), // ties with the best
	}
}

// trackAndPublish runs track and publish of trial i and returns its run id
// and model digest.
func (c *chain) trackAndPublish(t *testing.T, srv testServers, i int) (runID, digest string) {
	t.Helper()
	tr := c.trials[i]
	c.env(t, srv, step.Track, srv.mlflow)
	out := t.TempDir()
	mustRun(t, c.args(step.Track, tr, step.FlagModel, tr.model, step.FlagMetrics, tr.metrics, step.FlagOut, out)...)
	runID = readOutFile(t, out, step.OutRunID)
	c.env(t, srv, step.Publish, srv.mlflow)
	mustRun(t, c.args(step.Publish, tr, step.FlagModel, tr.model, step.FlagMetrics, tr.metrics, step.FlagRunID, runID, step.FlagOut, out)...)
	return runID, readOutFile(t, out, step.OutDigest)
}

// holder returns the trial the champion tag, the experiment tag and the
// alias point at; it fails the test when they disagree.
func (c *chain) holder(ctx context.Context, t *testing.T, ml *tracking.Client, digests map[string]string) string {
	t.Helper()
	byDigest := map[string]string{}
	for trial, d := range digests {
		byDigest[d] = trial
	}
	champ := byDigest[headDigest(ctx, t, c.repo+":champion")]
	if exp := byDigest[headDigest(ctx, t, c.repo+":"+c.name)]; exp != champ {
		t.Errorf("the experiment tag is on trial %s, the champion tag on %s", step.Short(exp), step.Short(champ))
	}
	mv, err := ml.GetModelVersionByAlias(ctx, c.name, "champion")
	if err != nil {
		t.Fatal(err)
	}
	if got := tagValue(mv.Tags, steps.VersionTagTrial); got != champ {
		t.Errorf("the alias is on version %s of trial %s, the champion tag on %s", mv.Version, step.Short(got), step.Short(champ))
	}
	if got := tagValue(mv.Tags, steps.VersionTagOCI); got != c.repo+"@"+digests[champ] {
		t.Errorf("the alias's version has %s = %s, want %s@%s", steps.VersionTagOCI, got, c.repo, digests[champ])
	}
	return champ
}

// TestIntegrationChampion publishes trials out of order, reruns the worst
// and publishes a tie: the tags and the alias stay on the best trial.
func TestIntegrationChampion(t *testing.T) {
	if testing.Short() {
		t.Skip("starts servers")
	}
	srv := startServers(t)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	ml, err := tracking.New(tracking.Config{TrackingURI: srv.mlflow}, tracking.DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	c := newChainOf(t, srv, championInputs())
	f1 := func(i int) float64 { return c.trials[i].report["val_f1"] }
	if !(f1(0) > f1(1) && f1(1) > f1(2) && f1(2) >= 0.8 && f1(3) < 0.8 && f1(4) == f1(0)) {
		t.Fatalf("the fixtures' val_f1 are not in the order the test needs: %v %v %v %v %v", f1(0), f1(1), f1(2), f1(3), f1(4))
	}
	best, tie := c.trials[0].ID, c.trials[4].ID
	digests := map[string]string{}
	publishAll := func(t *testing.T, order ...int) {
		for _, i := range order {
			_, d := c.trackAndPublish(t, srv, i)
			digests[c.trials[i].ID] = d
		}
	}

	// middle, best, then the worst passing and a failing one: the best stays
	t.Run("OutOfOrder", func(t *testing.T) {
		publishAll(t, 1)
		if h := c.holder(ctx, t, ml, digests); h != c.trials[1].ID {
			t.Errorf("after the first publish the champion is %s, want %s", step.Short(h), step.Short(c.trials[1].ID))
		}
		publishAll(t, 0, 2, 3)
		if h := c.holder(ctx, t, ml, digests); h != best {
			t.Errorf("champion %s, want the best %s", step.Short(h), step.Short(best))
		}
	})

	// parac run --force or sync --only of the worst trial runs its publish
	// again: nothing moves.
	t.Run("RerunWorst", func(t *testing.T) {
		publishAll(t, 2)
		if h := c.holder(ctx, t, ml, digests); h != best {
			t.Errorf("champion %s after the worst trial's rerun, want %s", step.Short(h), step.Short(best))
		}
	})

	// a trial as good as the best: the smaller trial id holds, whichever
	// published last
	t.Run("Tie", func(t *testing.T) {
		publishAll(t, 4)
		want := min(best, tie)
		if h := c.holder(ctx, t, ml, digests); h != want {
			t.Errorf("champion %s after a tie, want the smaller id %s", step.Short(h), step.Short(want))
		}
		publishAll(t, 0)
		if h := c.holder(ctx, t, ml, digests); h != want {
			t.Errorf("champion %s after republishing the other, want %s", step.Short(h), step.Short(want))
		}
	})

	// read back by a client no one here wrote
	t.Run("PythonClient", func(t *testing.T) {
		out := pythonMLflow(t, srv.mlflow, `
import json, sys
from mlflow import MlflowClient
c = MlflowClient()
mv = c.get_model_version_by_alias(sys.argv[1], "champion")
vs = c.search_model_versions("name='%s'" % sys.argv[1])
print(json.dumps({"trial": mv.tags.get("parak8s.trial"), "oci": mv.tags.get("parak8s.oci"),
  "versions": sorted(v.tags.get("parak8s.trial") for v in vs)}))
`, c.name)
		var got struct {
			Trial, OCI string
			Versions   []string
		}
		if err := json.Unmarshal([]byte(out), &got); err != nil {
			t.Fatalf("%v: %s", err, out)
		}
		want := min(best, tie)
		if got.Trial != want || got.OCI != c.repo+"@"+digests[want] {
			t.Errorf("mlflow says the champion is trial %s (%s), want %s (%s@%s)", step.Short(got.Trial), got.OCI, step.Short(want), c.repo, digests[want])
		}
		// one version per passing trial, none for the failing one
		wantVersions := []string{c.trials[0].ID, c.trials[1].ID, c.trials[2].ID, c.trials[4].ID}
		slices.Sort(wantVersions)
		if !slices.Equal(got.Versions, wantVersions) {
			t.Errorf("versions of trials %v, want %v", got.Versions, wantVersions)
		}
	})
}

// TestIntegrationChampionConcurrent publishes every trial of a fresh
// experiment at once, as parallel publish pods do: the best holds at the end.
func TestIntegrationChampionConcurrent(t *testing.T) {
	if testing.Short() {
		t.Skip("starts servers")
	}
	srv := startServers(t)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	ml, err := tracking.New(tracking.Config{TrackingURI: srv.mlflow}, tracking.DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	c := newChainOf(t, srv, championInputs()[:4])
	runs := make([]string, len(c.trials))
	c.env(t, srv, step.Track, srv.mlflow)
	for i, tr := range c.trials {
		out := t.TempDir()
		mustRun(t, c.args(step.Track, tr, step.FlagModel, tr.model, step.FlagMetrics, tr.metrics, step.FlagOut, out)...)
		runs[i] = readOutFile(t, out, step.OutRunID)
	}
	// the step environment is the process's: set once, shared by all
	c.env(t, srv, step.Publish, srv.mlflow)
	digests := map[string]string{}
	var mu sync.Mutex
	var wg sync.WaitGroup
	for round := 0; round < 2; round++ {
		for i, tr := range c.trials {
			wg.Add(1)
			go func() {
				defer wg.Done()
				out := filepath.Join(t.TempDir(), "out")
				code, _, stderr := runStep(t, c.args(step.Publish, tr, step.FlagModel, tr.model, step.FlagMetrics, tr.metrics, step.FlagRunID, runs[i], step.FlagOut, out)...)
				if code != 0 {
					t.Errorf("publish %d: exit %d\n%s", i, code, stderr)
					return
				}
				b, _ := os.ReadFile(filepath.Join(out, step.OutDigest))
				mu.Lock()
				digests[tr.ID] = string(b)
				mu.Unlock()
			}()
		}
		wg.Wait()
		if t.Failed() {
			t.FailNow()
		}
		if h := c.holder(ctx, t, ml, digests); h != c.trials[0].ID {
			t.Errorf("round %d: champion %s, want the best %s", round, step.Short(h), step.Short(c.trials[0].ID))
		}
	}
}

// TestIntegrationRetrain records a trial, retrains it (parac run --force:
// a new model, two epochs instead of three, other losses) and records it
// again: MLflow has one active run of the trial with the new history only,
// one model version with the new digest, and PostgreSQL one artifact row
// (repo@new digest) and the new epochs only.
func TestIntegrationRetrain(t *testing.T) {
	if testing.Short() {
		t.Skip("starts servers")
	}
	srv := startServers(t)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	ml, err := tracking.New(tracking.Config{TrackingURI: srv.mlflow}, tracking.DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	c := newChainOf(t, srv, championInputs()[:1])
	a := c.trials[0]
	record := func(t *testing.T, runID, digest string) {
		c.env(t, srv, step.Record, "")
		t.Setenv(step.EnvRegistry, c.repo) // as the workflow gives record
		mustRun(t, c.args(step.Record, a, step.FlagModel, a.model, step.FlagMetrics, a.metrics, step.FlagRunID, runID, step.FlagDigest, digest)...)
	}
	run1, digest1 := c.trackAndPublish(t, srv, 0)
	record(t, run1, digest1)

	// the retrain
	created2 := stepfixture.Created().Add(90 * time.Minute)
	if err := os.RemoveAll(a.model); err != nil {
		t.Fatal(err)
	}
	if err := stepfixture.WriteModel(a.model, stepfixture.Model{Trial: a.ID, Experiment: c.name, Classes: stepfixture.ECG(), Config: a.Experiment, Epochs: 2, Weights: 64 << 10, Created: created2, Scale: 0.5}); err != nil {
		t.Fatal(err)
	}
	run2, digest2 := c.trackAndPublish(t, srv, 0)
	record(t, run2, digest2)
	if run2 == run1 || digest2 == digest1 {
		t.Fatalf("the retrain kept run %s / digest %s", run1, digest1)
	}

	t.Run("MLflow", func(t *testing.T) {
		exp, err := ml.GetExperimentByName(ctx, c.name)
		if err != nil {
			t.Fatal(err)
		}
		runs, err := ml.FindTrialRuns(ctx, exp.ExperimentID, a.ID)
		if err != nil || len(runs) != 1 || runs[0].Info.RunID != run2 {
			t.Errorf("active runs of the trial: %d (%v), want only %s", len(runs), err, run2)
		}
		for _, k := range []string{"train_loss", "val_loss", "lr"} {
			h, err := ml.GetMetricHistory(ctx, run2, k)
			if err != nil {
				t.Fatal(err)
			}
			if len(h) != 2 {
				t.Errorf("%s: %d points, want the retrain's 2", k, len(h))
			}
		}
		// the Python client: the trial's one version has the new digest
		out := pythonMLflow(t, srv.mlflow, `
import json, sys
from mlflow import MlflowClient
c = MlflowClient()
vs = [v for v in c.search_model_versions("name='%s'" % sys.argv[1]) if v.tags.get("parak8s.trial") == sys.argv[2]]
h = c.get_metric_history(sys.argv[3], "train_loss")
print(json.dumps({"versions": [{"run": v.run_id, "oci": v.tags.get("parak8s.oci")} for v in vs],
  "train_loss": [[m.step, m.value] for m in sorted(h, key=lambda m: m.step)]}))
`, c.name, a.ID, run2)
		var got struct {
			Versions []struct{ Run, OCI string }
			Loss     [][2]float64 `json:"train_loss"`
		}
		if err := json.Unmarshal([]byte(out), &got); err != nil {
			t.Fatalf("%v: %s", err, out)
		}
		if len(got.Versions) != 1 || got.Versions[0].Run != run2 || got.Versions[0].OCI != c.repo+"@"+digest2 {
			t.Errorf("versions of the trial %+v, want one of run %s with %s@%s", got.Versions, run2, c.repo, digest2)
		}
		if fmt.Sprint(got.Loss) != "[[1 0.5] [2 0.25]]" {
			t.Errorf("train_loss history %v, want the retrain's [[1 0.5] [2 0.25]]", got.Loss)
		}
	})

	t.Run("PostgreSQL", func(t *testing.T) {
		q := func(sql string) string {
			return psql(t, srv.database, strings.ReplaceAll(sql, "$ID", "'"+a.ID+"'"))
		}
		if got, want := q(`SELECT count(*) || ' ' || string_agg(ref, ',') FROM artifacts WHERE trial_id = $ID`), "1 "+c.repo+"@"+digest2; got != want {
			t.Errorf("artifacts: %q, want %q", got, want)
		}
		if got := q(`SELECT string_agg(step || '=' || value, ' ' ORDER BY step) FROM metrics WHERE trial_id = $ID AND name = 'train_loss'`); got != "1=0.5 2=0.25" {
			t.Errorf("train_loss rows %q, want the retrain's 1=0.5 2=0.25", got)
		}
		if got := q(`SELECT count(*) FROM metrics WHERE trial_id = $ID AND step >= 0`); got != "12" {
			t.Errorf("%s per-epoch rows, want 2 epochs x 6", got)
		}
		// started_at: the model's creation less its epochs' seconds (1.75 + 2)
		want := created2.Add(-3750 * time.Millisecond).UTC().Format("2006-01-02 15:04:05.000")
		if got := q(`SELECT to_char(started_at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS.MS') || ' ' || mlflow_run_id || ' ' || model_digest FROM trials WHERE id = $ID`); got != want+" "+run2+" "+digest2 {
			t.Errorf("trial row %q, want %q", got, want+" "+run2+" "+digest2)
		}
	})
}

// pythonMLflow runs a Python script with the mlflow package of the MLflow
// server's virtualenv (scripts/mlflow.sh) against the tracking URI and
// returns its stdout.
func pythonMLflow(t *testing.T, uri, script string, args ...string) string {
	t.Helper()
	venv := os.Getenv("MLFLOW_VENV")
	if venv == "" {
		cache := os.Getenv("PARAK8S_CACHE")
		if cache == "" {
			home, _ := os.UserHomeDir()
			cache = filepath.Join(home, ".cache", "parak8s")
		}
		venv = filepath.Join(cache, "mlflow-venv")
	}
	py := filepath.Join(venv, "bin", "python")
	if _, err := os.Stat(py); err != nil {
		t.Fatalf("no Python with mlflow at %s (scripts/mlflow.sh makes it; MLFLOW_VENV names another): %v", py, err)
	}
	cmd := exec.Command(py, append([]string{"-c", script}, args...)...)
	cmd.Env = append(os.Environ(), "MLFLOW_TRACKING_URI="+uri)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("python mlflow client: %v\n%s", err, stderr.String())
	}
	return strings.TrimSpace(string(out))
}

// psql runs one query with the psql client and returns its unaligned,
// tuples-only output.
func psql(t *testing.T, dsn, query string) string {
	t.Helper()
	bin, err := exec.LookPath("psql")
	if err != nil {
		matches, _ := filepath.Glob("/usr/lib/postgresql/*/bin/psql")
		if len(matches) == 0 {
			t.Fatal("no psql client (apt-get install postgresql-client)")
		}
		bin = matches[len(matches)-1]
	}
	out, err := exec.Command(bin, dsn, "-X", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-c", query).CombinedOutput()
	if err != nil {
		t.Fatalf("psql %q: %v\n%s", query, err, out)
	}
	return strings.TrimSpace(string(out))
}

// tagValue is the value of key among a model version's tags ("" if absent).
func tagValue(tags []tracking.Tag, key string) string {
	for _, t := range tags {
		if t.Key == key {
			return t.Value
		}
	}
	return ""
}
