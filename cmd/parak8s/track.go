package main

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"parak8s.dev/parak8s/runtime/bundle"
	"parak8s.dev/parak8s/runtime/step"
	"parak8s.dev/parak8s/runtime/tracking"
)

// Run tags set by track (besides tracking.TagTrial and tracking.TagRunName).
const (
	tagExperiment = "parak8s.experiment" // the ParaK8s experiment name
	tagSweep      = "parak8s.sweep"      // the sweep point, a JSON object path → value
	tagImage      = "parak8s.image"      // the image reference in the trial id
	tagDataset    = "parak8s.dataset"    // the dataset digest (or "unpinned:" source)
	tagDataKey    = "parak8s.data_key"   // the prepared data set's key
	tagSeed       = "parak8s.seed"
	tagModelKind  = "parak8s.model.kind"
	tagBestEpoch  = "parak8s.model.best_epoch"
	tagRefit      = "parak8s.model.refit_epochs" // set when the model was refit on train + val
	tagCreated    = "parak8s.model.created"      // the model's creation time (RFC 3339): which training the run holds
	tagGitCommit  = "mlflow.source.git.commit"   // MLflow's own tag for the source commit
)

// envGitCommit, when set, is recorded as the run's source commit.
const envGitCommit = "PARAK8S_GIT_COMMIT"

// Artifact folders of a run.
const (
	artifactModel   = "model"
	artifactMetrics = "metrics"
)

// The local record written when no MLflow server is configured.
const (
	localRunPrefix  = "local:"        // run ids of local records: local:<short trial id>
	fileLocalRun    = "tracking.json" // under --out
	localTrackingV1 = "parak8s.tracking.v1"
)

// runRecord is everything track sends for one trial: an MLflow run's
// content, whether it goes to a server or to a local file.
type runRecord struct {
	Experiment string // the MLflow experiment name
	Trial      string
	Name       string // the run name
	Tags       map[string]string
	Params     map[string]string
	// ModelDir and MetricsDir are uploaded as the run's artifacts.
	ModelDir, MetricsDir string
}

func newTrackCmd(e *env) *cobra.Command {
	var (
		f                            trialFlags
		modelDir, metricsDir, outDir string
	)
	cmd := &cobra.Command{
		Use:   "track --config FILE [--set PATH=JSON]... --trial ID --image REF --model DIR --metrics DIR --out DIR",
		Short: "Record a trial as one MLflow run: tags, params, metric history, artifacts",
		Long: `Track records a trial as one MLflow run, found by its tag parak8s.trial, so a
rerun updates the same run and never makes a second one.

The run gets:
  tags       parak8s.trial, parak8s.experiment, parak8s.sweep (the swept values as
             JSON), parak8s.image, parak8s.dataset, parak8s.data_key, parak8s.seed,
             parak8s.model.kind, parak8s.model.best_epoch, parak8s.model.created,
             parak8s.model.refit_epochs (refit models), and mlflow.source.git.commit
             when PARAK8S_GIT_COMMIT is set; the run is named "<short id> <swept values>"
  params     every leaf of the trial's resolved config ("training.optimizer.lr")
  metrics    per epoch (step = epoch, timestamps from the training history):
             train_loss, val_loss, lr, val_<metric>, and refit_train_loss for a
             refit model's second run; then the evaluation's final
             metrics at the last epoch: <split>_accuracy, <split>_auc,
             <split>_precision, <split>_recall, <split>_f1 (two classes: the positive
             class; more: macro), <split>_<m>_macro, <split>_<m>_weighted and
             <split>_<class>_<m> (split = evaluation.split)
  artifacts  the model directory under model/, the metrics directory under metrics/
and ends FINISHED. The run id is written to OUT/run-id and printed.

Metric timestamps come from the model, not the clock, so a rerun logs points
MLflow already has and adds none. A run holding another training of the trial
(its parak8s.model.created differs: the trial was retrained) is deleted and a
new run made, so the history is never a mix of two trainings.

Environment: MLFLOW_TRACKING_URI, MLFLOW_EXPERIMENT_NAME (default: tracking.experiment,
else the experiment's name), MLFLOW_TRACKING_TOKEN or MLFLOW_TRACKING_USERNAME and
MLFLOW_TRACKING_PASSWORD, PARAK8S_GIT_COMMIT.

Without MLFLOW_TRACKING_URI nothing is sent: the same run (experiment, tags,
params, every metric point, and the model and metrics directories as artifact
paths) is written to OUT/tracking.json (format "parak8s.tracking.v1", field names
as in MLflow's REST API), and OUT/run-id is "local:<short trial id>".

Exit codes: 0 ok, 1 failure, 2 usage, 3 the model or config is not the trial's,
75 the MLflow server stayed unreachable (rerun the step).`,
		Args: noPositional,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := requireFlags(
				[2]string{step.FlagModel, modelDir},
				[2]string{step.FlagMetrics, metricsDir},
				[2]string{step.FlagOut, outDir},
			); err != nil {
				return err
			}
			t, err := f.resolve("")
			if err != nil {
				return err
			}
			return track(cmd.Context(), e, t, modelDir, metricsDir, outDir)
		},
	}
	f.register(cmd.Flags())
	cmd.Flags().StringVar(&modelDir, step.FlagModel[2:], "", "the model directory written by train")
	cmd.Flags().StringVar(&metricsDir, step.FlagMetrics[2:], "", "the metrics directory written by evaluate")
	cmd.Flags().StringVar(&outDir, step.FlagOut[2:], "", "where to write run-id (and tracking.json without a server)")
	return cmd
}

func track(ctx context.Context, e *env, t trial, modelDir, metricsDir, outDir string) error {
	o, err := readOutcome(modelDir, metricsDir, t.Exp.Evaluation.Split, t.ID)
	if err != nil {
		return err
	}
	rec, err := newRunRecord(t, o)
	if err != nil {
		return err
	}
	rec.ModelDir, rec.MetricsDir = modelDir, metricsDir
	var runID string
	if os.Getenv(step.EnvMLflowURI) == "" {
		runID = localRunPrefix + step.Short(t.ID)
		path := filepath.Join(outDir, fileLocalRun)
		if err := writeLocalRun(path, runID, rec, o); err != nil {
			return err
		}
		fmt.Fprintf(e.stderr, "parak8s track: %s is not set; the run is recorded in %s for a later upload\n", step.EnvMLflowURI, path)
	} else {
		cfg, err := tracking.ConfigFromEnv()
		if err != nil {
			return err
		}
		if cfg.Experiment != "" {
			rec.Experiment = cfg.Experiment
		}
		c, err := tracking.New(cfg, tracking.DefaultOptions())
		if err != nil {
			return err
		}
		if runID, err = trackRun(ctx, e, c, rec, o); err != nil {
			return err
		}
	}
	if err := writeOutParam(outDir, step.OutRunID, runID); err != nil {
		return err
	}
	fmt.Fprintln(e.stdout, runID)
	return nil
}

// newRunRecord collects the tags and params of the trial's run.
func newRunRecord(t trial, o outcome) (runRecord, error) {
	rec := runRecord{Experiment: t.Exp.Name, Trial: t.ID}
	if tr := t.Exp.Tracking; tr != nil && tr.Experiment != "" {
		rec.Experiment = tr.Experiment
	}
	sweep, err := sweepPoint(t.Overrides)
	if err != nil {
		return rec, err
	}
	rec.Name = runName(t)
	rec.Tags = map[string]string{
		tracking.TagTrial:   t.ID,
		tracking.TagRunName: rec.Name,
		tagExperiment:       t.Exp.Name,
		tagSweep:            string(sweep),
		tagImage:            t.Image,
		tagDataset:          t.Dataset,
		tagDataKey:          t.DataKey,
		tagSeed:             fmt.Sprint(t.Seed),
		tagGitCommit:        os.Getenv(envGitCommit),
	}
	if m := o.Manifest; m != nil {
		rec.Tags[tagModelKind] = m.Kind
		rec.Tags[tagBestEpoch] = fmt.Sprint(m.BestEpoch)
		if !m.Created.IsZero() {
			rec.Tags[tagCreated] = m.Created.UTC().Format(time.RFC3339Nano)
		}
		if m.Refit != nil {
			rec.Tags[tagRefit] = fmt.Sprint(m.Refit.Epochs)
		}
	}
	for k, v := range rec.Tags {
		if v == "" {
			delete(rec.Tags, k)
		}
	}
	var cfg map[string]any
	if err := json.Unmarshal(t.Config, &cfg); err != nil {
		return rec, fmt.Errorf("decoding the trial config: %w", err)
	}
	rec.Params = tracking.Flatten(cfg)
	return rec, nil
}

// runName is "<short id>" followed by the swept values ("lr=0.001 dropout=0.3").
func runName(t trial) string {
	parts := []string{step.Short(t.ID)}
	for _, o := range t.Overrides {
		b, err := step.Canonical(o.Value)
		if err != nil {
			continue
		}
		parts = append(parts, o.Path[strings.LastIndex(o.Path, ".")+1:]+"="+string(b))
	}
	return strings.Join(parts, " ")
}

// trackMetrics returns every metric point of the run: the per-epoch history
// ending at the model's creation time (start when the model has none), then
// the final metrics at the last epoch, a millisecond later.
func trackMetrics(o outcome, start time.Time) []tracking.Metric {
	end := start
	if o.Manifest != nil && !o.Manifest.Created.IsZero() {
		end = o.Manifest.Created
	}
	var ms []tracking.Metric
	for _, p := range o.epochs(end) {
		ms = append(ms, tracking.Metric{Key: p.Name, Value: tracking.Float(p.Value), Timestamp: tracking.Int64(tracking.Millis(p.Time)), Step: tracking.Int64(p.Epoch)})
	}
	final, _ := o.final()
	at := tracking.Int64(tracking.Millis(end) + 1)
	last := tracking.Int64(o.lastEpoch())
	for _, k := range slices.Sorted(maps.Keys(final)) {
		ms = append(ms, tracking.Metric{Key: k, Value: tracking.Float(final[k]), Timestamp: at, Step: last})
	}
	return ms
}

// trackRun records the run on the MLflow server and returns its id.
func trackRun(ctx context.Context, e *env, c *tracking.Client, rec runRecord, o outcome) (string, error) {
	fail := func(what string, err error) error {
		err = fmt.Errorf("tracking trial %s in MLflow experiment %q: %s: %w", step.Short(rec.Trial), rec.Experiment, what, err)
		if tracking.IsTransient(err) {
			return transientError{err}
		}
		return err
	}
	expID, err := c.GetOrCreateExperiment(ctx, rec.Experiment)
	if err != nil {
		return "", fail("getting the experiment", err)
	}
	run, created, err := c.EnsureRun(ctx, expID, rec.Trial, rec.Tags)
	if err != nil {
		return "", fail("finding the trial's run", err)
	}
	// A run that holds another training of the trial (parac run --force
	// retrained it) is deleted and the trial gets a new run: MLflow cannot
	// remove metric points, and one run must tell one training's story.
	if old, _ := run.Tag(tagCreated); !created && old != "" && old != rec.Tags[tagCreated] {
		if err := c.DeleteRun(ctx, run.Info.RunID); err != nil {
			return "", fail("deleting the run of an earlier training", err)
		}
		e.log.Info("retrained: the trial's earlier run is deleted", "run", run.Info.RunID, "model_created", old)
		if run, created, err = c.EnsureRun(ctx, expID, rec.Trial, rec.Tags); err != nil {
			return "", fail("finding the trial's run", err)
		}
	}
	id := run.Info.RunID
	metrics := trackMetrics(o, time.UnixMilli(int64(run.Info.StartTime)))
	batch := tracking.Batch{
		Params:  tracking.ParamsFromMap(rec.Params),
		Tags:    tracking.TagsFromMap(rec.Tags),
		Metrics: metrics,
	}
	if err := c.LogBatch(ctx, id, batch); err != nil {
		return "", fail("logging params, tags and metrics", err)
	}
	var files int
	var bytes int64
	for _, a := range []struct{ dir, path string }{{rec.ModelDir, artifactModel}, {rec.MetricsDir, artifactMetrics}} {
		st, err := c.UploadDir(ctx, run.Info.ArtifactURI, a.dir, a.path)
		if err != nil {
			return "", fail("uploading "+a.path+" artifacts", err)
		}
		files += st.Files
		bytes += st.Bytes
	}
	if _, err := c.UpdateRun(ctx, id, tracking.RunFinished, time.Now()); err != nil {
		return "", fail("finishing the run", err)
	}
	e.log.Info("tracked", "run", id, "new", created, "experiment", rec.Experiment, "trial", step.Short(rec.Trial),
		"params", len(rec.Params), "metric_points", len(metrics), "artifact_files", files, "artifact_bytes", bytes)
	return id, nil
}

// localRun is OUT/tracking.json: an MLflow run recorded without a server.
type localRun struct {
	Format     string            `json:"format"`
	RunID      string            `json:"run_id"`
	Experiment string            `json:"experiment_name"`
	RunName    string            `json:"run_name"`
	Status     string            `json:"status"`
	StartTime  int64             `json:"start_time"`
	EndTime    int64             `json:"end_time"`
	Tags       []tracking.Tag    `json:"tags"`
	Params     []tracking.Param  `json:"params"`
	Metrics    []tracking.Metric `json:"metrics"`
	// Artifacts maps an artifact folder of the run ("model", "metrics") to
	// the local directory holding its files.
	Artifacts map[string]string `json:"artifacts"`
}

func writeLocalRun(path, runID string, rec runRecord, o outcome) error {
	end := time.Now()
	if o.Manifest != nil && !o.Manifest.Created.IsZero() {
		end = o.Manifest.Created
	}
	start := end.Add(-o.trainingTime())
	arts := map[string]string{}
	for name, dir := range map[string]string{artifactModel: rec.ModelDir, artifactMetrics: rec.MetricsDir} {
		abs, err := filepath.Abs(dir)
		if err != nil {
			return fmt.Errorf("recording the run locally: %w", err)
		}
		arts[name] = abs
	}
	lr := localRun{
		Format:     localTrackingV1,
		RunID:      runID,
		Experiment: rec.Experiment,
		RunName:    rec.Name,
		Status:     string(tracking.RunFinished),
		StartTime:  tracking.Millis(start),
		EndTime:    tracking.Millis(end),
		Tags:       tracking.TagsFromMap(rec.Tags),
		Params:     tracking.ParamsFromMap(rec.Params),
		Metrics:    trackMetrics(o, end),
		Artifacts:  arts,
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return fmt.Errorf("recording the run locally: %w", err)
	}
	return bundle.WriteJSON(path, lr)
}
