package steps

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

	"parak8s.dev/parak8s/runtime/bundle"
	"parak8s.dev/parak8s/runtime/outcome"
	"parak8s.dev/parak8s/runtime/step"
	"parak8s.dev/parak8s/runtime/tracking"
)

// Run tags set by Track (besides tracking.TagTrial and tracking.TagRunName).
const (
	TagExperiment = "parak8s.experiment" // the ParaK8s experiment name
	TagSweep      = "parak8s.sweep"      // the sweep point, a JSON object path → value
	TagImage      = "parak8s.image"      // the image reference in the trial id
	TagDataset    = "parak8s.dataset"    // the dataset digest (or "unpinned:" source)
	TagDataKey    = "parak8s.data_key"   // the prepared data set's key
	TagSeed       = "parak8s.seed"
	TagModelKind  = "parak8s.model.kind"
	TagBestEpoch  = "parak8s.model.best_epoch"
	TagRefit      = "parak8s.model.refit_epochs" // set when the model was refit on train + val
	TagCreated    = "parak8s.model.created"      // the model's creation time (RFC 3339): which training the run holds
	TagGitCommit  = "mlflow.source.git.commit"   // MLflow's own tag for the source commit
)

// EnvGitCommit is the variable whose value, when set, is recorded as the
// run's source commit.
const EnvGitCommit = "PARAK8S_GIT_COMMIT"

// Artifact folders of a run.
const (
	artifactModel   = "model"
	artifactMetrics = "metrics"
)

// The local record written when no MLflow server is configured.
const (
	LocalRunPrefix  = "local:"        // run ids of local records: local:<short trial id>
	FileLocalRun    = "tracking.json" // under the output directory
	LocalTrackingV1 = "parak8s.tracking.v1"
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

// Track records the trial as one MLflow run (found by its tag
// parak8s.trial, so a rerun updates the same run) with the model and
// metrics directories as artifacts, or, without MLFLOW_TRACKING_URI, in
// outDir/tracking.json. It writes the run id to outDir/run-id, prints it
// and returns it. An MLflow server that stayed unreachable is a
// TransientError.
func Track(ctx context.Context, e Env, t Trial, modelDir, metricsDir, outDir string) (string, error) {
	o, err := outcome.Read(modelDir, metricsDir, t.Exp.Evaluation.Split, t.ID)
	if err != nil {
		return "", err
	}
	rec, err := newRunRecord(t, o)
	if err != nil {
		return "", err
	}
	rec.ModelDir, rec.MetricsDir = modelDir, metricsDir
	var runID string
	if os.Getenv(step.EnvMLflowURI) == "" {
		runID = LocalRunPrefix + step.Short(t.ID)
		path := filepath.Join(outDir, FileLocalRun)
		if err := writeLocalRun(path, runID, rec, o); err != nil {
			return "", err
		}
		fmt.Fprintf(e.Stderr, "parak8s track: %s is not set; the run is recorded in %s for a later upload\n", step.EnvMLflowURI, path)
	} else {
		cfg, err := tracking.ConfigFromEnv()
		if err != nil {
			return "", err
		}
		if cfg.Experiment != "" {
			rec.Experiment = cfg.Experiment
		}
		c, err := tracking.New(cfg, tracking.DefaultOptions())
		if err != nil {
			return "", err
		}
		if runID, err = trackRun(ctx, e, c, rec, o); err != nil {
			return "", err
		}
	}
	if err := writeOutParam(outDir, step.OutRunID, runID); err != nil {
		return "", err
	}
	fmt.Fprintln(e.Stdout, runID)
	return runID, nil
}

// newRunRecord collects the tags and params of the trial's run.
func newRunRecord(t Trial, o outcome.Outcome) (runRecord, error) {
	rec := runRecord{Experiment: t.Exp.Name, Trial: t.ID}
	if tr := t.Exp.Tracking; tr != nil && tr.Experiment != "" {
		rec.Experiment = tr.Experiment
	}
	sweep, err := outcome.SweepPoint(t.Overrides)
	if err != nil {
		return rec, err
	}
	rec.Name = runName(t)
	rec.Tags = map[string]string{
		tracking.TagTrial:   t.ID,
		tracking.TagRunName: rec.Name,
		TagExperiment:       t.Exp.Name,
		TagSweep:            string(sweep),
		TagImage:            t.Image,
		TagDataset:          t.Dataset,
		TagDataKey:          t.DataKey,
		TagSeed:             fmt.Sprint(t.Seed),
		TagGitCommit:        os.Getenv(EnvGitCommit),
	}
	if m := o.Manifest; m != nil {
		rec.Tags[TagModelKind] = m.Kind
		rec.Tags[TagBestEpoch] = fmt.Sprint(m.BestEpoch)
		if !m.Created.IsZero() {
			rec.Tags[TagCreated] = m.Created.UTC().Format(time.RFC3339Nano)
		}
		if m.Refit != nil {
			rec.Tags[TagRefit] = fmt.Sprint(m.Refit.Epochs)
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
func runName(t Trial) string {
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
func trackMetrics(o outcome.Outcome, start time.Time) []tracking.Metric {
	end := start
	if o.Manifest != nil && !o.Manifest.Created.IsZero() {
		end = o.Manifest.Created
	}
	var ms []tracking.Metric
	for _, p := range o.Epochs(end) {
		ms = append(ms, tracking.Metric{Key: p.Name, Value: tracking.Float(p.Value), Timestamp: tracking.Int64(tracking.Millis(p.Time)), Step: tracking.Int64(p.Epoch)})
	}
	final, _ := o.Final()
	at := tracking.Int64(tracking.Millis(end) + 1)
	last := tracking.Int64(o.LastEpoch())
	for _, k := range slices.Sorted(maps.Keys(final)) {
		ms = append(ms, tracking.Metric{Key: k, Value: tracking.Float(final[k]), Timestamp: at, Step: last})
	}
	return ms
}

// trackRun records the run on the MLflow server and returns its id.
func trackRun(ctx context.Context, e Env, c *tracking.Client, rec runRecord, o outcome.Outcome) (string, error) {
	fail := func(what string, err error) error {
		err = fmt.Errorf("tracking trial %s in MLflow experiment %q: %s: %w", step.Short(rec.Trial), rec.Experiment, what, err)
		if tracking.IsTransient(err) {
			return TransientError{err}
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
	if old, _ := run.Tag(TagCreated); !created && old != "" && old != rec.Tags[TagCreated] {
		if err := c.DeleteRun(ctx, run.Info.RunID); err != nil {
			return "", fail("deleting the run of an earlier training", err)
		}
		e.Log.Info("retrained: the trial's earlier run is deleted", "run", run.Info.RunID, "model_created", old)
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
	e.Log.Info("tracked", "run", id, "new", created, "experiment", rec.Experiment, "trial", step.Short(rec.Trial),
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

func writeLocalRun(path, runID string, rec runRecord, o outcome.Outcome) error {
	end := time.Now()
	if o.Manifest != nil && !o.Manifest.Created.IsZero() {
		end = o.Manifest.Created
	}
	start := end.Add(-o.TrainingTime())
	arts := map[string]string{}
	for name, dir := range map[string]string{artifactModel: rec.ModelDir, artifactMetrics: rec.MetricsDir} {
		abs, err := filepath.Abs(dir)
		if err != nil {
			return fmt.Errorf("recording the run locally: %w", err)
		}
		arts[name] = abs
	}
	lr := localRun{
		Format:     LocalTrackingV1,
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
