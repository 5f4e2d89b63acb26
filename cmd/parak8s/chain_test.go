package main

import (
	"context"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"parak8s.dev/parak8s/internal/testenv"
	"parak8s.dev/parak8s/runtime/bundle"
	"parak8s.dev/parak8s/runtime/eval"
	"parak8s.dev/parak8s/runtime/publish"
	"parak8s.dev/parak8s/runtime/results"
	"parak8s.dev/parak8s/runtime/step"
	"parak8s.dev/parak8s/runtime/steps"
	"parak8s.dev/parak8s/runtime/tracking"
	"parak8s.dev/parak8s/schema"
)

// testRealChain runs one trial of a small version of the ECG example through
// every step, with real data and real training, against the real servers:
// prepare → train → evaluate → track → publish → record, with the command
// lines the compiled workflow gives them. Then it reads everything back.
func testRealChain(t *testing.T, srv testServers, c *chain, ml *tracking.Client, store *results.Store) {
	mitdb := testenv.MITDB(t)
	ctx := context.Background()
	exp := step.Clone(c.experiment).(map[string]any)
	for path, v := range map[string]any{
		"name":                    c.name + "-real",
		"data.source.path":        mitdb,
		"data.split.train":        []any{"106", "119", "209"},
		"data.split.val":          []any{"118", "223"},
		"model.deepcnn1d.filters": []any{8.0, 16.0},
		"training.epochs":         2.0,
	} {
		if err := step.Set(exp, path, v); err != nil {
			t.Fatal(err)
		}
	}
	cc := *c
	cc.name = c.name + "-real"
	cc.config = filepath.Join(t.TempDir(), "experiment.json")
	if err := bundle.WriteJSON(cc.config, exp); err != nil {
		t.Fatal(err)
	}
	r, err := step.Resolve(exp, nil, c.image, schema.TrialRoots())
	if err != nil {
		t.Fatal(err)
	}
	tr := chainTrial{Resolved: r}
	dir := t.TempDir()
	data, model, metrics, out := filepath.Join(dir, "dataset"), filepath.Join(dir, "model"), filepath.Join(dir, "metrics"), filepath.Join(dir, "out")

	setStepEnv(t, nil)
	mustRun(t, "prepare", step.FlagConfig, cc.config, step.FlagDataKey, r.DataKey, step.FlagOut, data)
	mustRun(t, cc.args(step.Train, tr, step.FlagData, data, step.FlagCheckpoint, filepath.Join(dir, "ckpt"), step.FlagOut, model, "--max-steps-per-epoch", "40")...)
	mustRun(t, cc.args(step.Evaluate, tr, step.FlagModel, model, step.FlagData, data, step.FlagOut, metrics)...)
	cc.env(t, srv, step.Track, srv.mlflow)
	mustRun(t, cc.args(step.Track, tr, step.FlagModel, model, step.FlagMetrics, metrics, step.FlagOut, out)...)
	runID := readOutFile(t, out, step.OutRunID)
	cc.env(t, srv, step.Publish, srv.mlflow)
	t.Setenv(step.EnvPushCondition, "val_accuracy >= 0") // always holds: the moving tag and the registered version too
	mustRun(t, cc.args(step.Publish, tr, step.FlagModel, model, step.FlagMetrics, metrics, step.FlagRunID, runID, step.FlagOut, out)...)
	digest := readOutFile(t, out, step.OutDigest)
	cc.env(t, srv, step.Record, "")
	mustRun(t, cc.args(step.Record, tr, step.FlagMetrics, metrics, step.FlagRunID, runID, step.FlagDigest, digest, step.FlagModel, model)...)

	man, err := bundle.ReadManifest(model)
	if err != nil {
		t.Fatal(err)
	}
	if man.Trial != r.ID || man.Epochs != 2 || man.Steps != 80 {
		t.Errorf("model: trial %s, %d epochs, %d steps; want %s, 2, 80", step.Short(man.Trial), man.Epochs, man.Steps, step.Short(r.ID))
	}
	// The example refits on train + val; evaluate scores val with the
	// selection run's weights, so it finds what training recorded.
	if man.Refit == nil || man.Refit.Epochs != man.BestEpoch || man.Refit.Steps != int64(40*man.BestEpoch) {
		t.Errorf("model: refit %+v, best epoch %d; want the best epoch's 40 steps each", man.Refit, man.BestEpoch)
	}
	if rep, err := eval.Read(filepath.Join(metrics, bundle.FileMetrics)); err != nil {
		t.Error(err)
	} else if math.Abs(rep.Accuracy-man.Val["accuracy"]) > 1e-9 {
		t.Errorf("evaluate on val: accuracy %v; training recorded %v for the selected epoch", rep.Accuracy, man.Val["accuracy"])
	}

	checkLead(t, mitdb, model, dir)

	// MLflow: the run, its per-epoch history and the model's files.
	run, err := ml.GetRun(ctx, runID)
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := run.Tag(tracking.TagTrial); got != r.ID {
		t.Errorf("run tag %s = %q", tracking.TagTrial, got)
	}
	if h, err := ml.GetMetricHistory(ctx, runID, "val_loss"); err != nil || len(h) != 2 {
		t.Errorf("val_loss history: %d points (%v), want 2", len(h), err)
	}
	if h, err := ml.GetMetricHistory(ctx, runID, "refit_train_loss"); err != nil || len(h) != man.BestEpoch {
		t.Errorf("refit_train_loss history: %d points (%v), want %d", len(h), err, man.BestEpoch)
	}
	if got, _ := run.Tag(steps.TagRefit); got != fmt.Sprint(man.BestEpoch) {
		t.Errorf("run tag %s = %q, want %d", steps.TagRefit, got, man.BestEpoch)
	}
	files, err := ml.ListArtifacts(ctx, run.Info.ArtifactURI, "model")
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, f := range files {
		names = append(names, filepath.Base(f.Path))
	}
	for _, want := range []string{bundle.FileWeights, bundle.FileManifest, bundle.FileConfig, bundle.FileHistory} {
		if !slices.Contains(names, want) {
			t.Errorf("MLflow artifacts under model/: %v lack %s", names, want)
		}
	}
	if mv, err := ml.GetModelVersionByAlias(ctx, cc.name, "champion"); err != nil || mv.RunID != runID {
		t.Errorf("registered model %s@champion: %+v, %v", cc.name, mv, err)
	}

	// OCI: the pushed artifact's files are the model's, byte for byte.
	pulled := filepath.Join(dir, "pulled")
	if _, err := publish.Pull(ctx, publish.Scheme+c.repo+"@"+digest, pulled, publish.DefaultOptions()); err != nil {
		t.Fatal(err)
	}
	sameFiles(t, "pulled model", pulled, model)

	// Postgres: the trial's row.
	rec, err := store.Trial(ctx, r.ID)
	if err != nil {
		t.Fatal(err)
	}
	if rec.Status != results.StatusSucceeded || rec.MLflowRunID != runID || rec.ModelDigest != digest || rec.DatasetDigest == "" || len(rec.Metrics) == 0 {
		t.Errorf("postgres row: status %s, run %s, digest %s, dataset %q, %d metrics", rec.Status, rec.MLflowRunID, rec.ModelDigest, rec.DatasetDigest, len(rec.Metrics))
	}
}

// checkLead scores record 118 raw, then a copy whose header names its MLII
// lead ECG1 (as the MIT-BIH Supraventricular Arrhythmia Database does):
// without --lead evaluate names the signals it found; with --lead ECG1 it
// gives the same metrics as the record itself.
func checkLead(t *testing.T, mitdb, model, dir string) {
	t.Helper()
	same, renamed := filepath.Join(dir, "rec118"), filepath.Join(dir, "rec118-ecg1")
	testenv.CopyRecords(t, mitdb, same, "118")
	testenv.CopyRecords(t, mitdb, renamed, "118")
	hea := filepath.Join(renamed, "118.hea")
	b, err := os.ReadFile(hea)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(hea, []byte(strings.Replace(string(b), " MLII", " ECG1", 1)), 0o644); err != nil {
		t.Fatal(err)
	}
	if code, _, stderr := runStep(t, "evaluate", step.FlagModel, model, step.FlagData, renamed, step.FlagOut, filepath.Join(dir, "x.json")); code == 0 || !strings.Contains(stderr, `no signal "MLII" (signals: ECG1, V1)`) {
		t.Errorf("evaluate on a record without MLII: exit %d, stderr %q", code, stderr)
	}
	want, got := filepath.Join(dir, "m118.json"), filepath.Join(dir, "m118-ecg1.json")
	mustRun(t, "evaluate", step.FlagModel, model, step.FlagData, same, step.FlagOut, want)
	mustRun(t, "evaluate", step.FlagModel, model, step.FlagData, renamed, "--lead", "ECG1", step.FlagOut, got)
	w, errW := eval.Read(want)
	g, errG := eval.Read(got)
	if errW != nil || errG != nil {
		t.Fatal(errW, errG)
	}
	if w.N < 2000 {
		t.Errorf("record 118: %d beats scored, want its 2,278", w.N)
	}
	if d := cmp.Diff(w, g, cmpopts.EquateNaNs()); d != "" {
		t.Errorf("record 118 read as ECG1 with --lead, metrics against MLII's (-MLII +ECG1):\n%s", d)
	}
}
