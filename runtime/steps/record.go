package steps

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"time"

	"parak8s.dev/parak8s/runtime/outcome"
	"parak8s.dev/parak8s/runtime/results"
	"parak8s.dev/parak8s/runtime/step"
)

// The local results file appended to when no database is configured.
const (
	DefaultLocalResults = "results.jsonl"
	LocalResultV1       = "parak8s.result.v1"
)

// RecordArgs are what Record is given besides the trial.
type RecordArgs struct {
	Metrics string // the metrics directory from Evaluate ("" for a failed trial)
	Model   string // the model directory from Train, for the per-epoch metrics ("": none)
	RunID   string // the MLflow run id from Track
	Digest  string // the model digest from Publish ("": nothing was pushed)
	Status  results.Status
	// Migrate applies the schema migrations first.
	Migrate bool
	// Local is the JSON-lines file appended to without DATABASE_URL.
	Local        string
	RetryTimeout time.Duration // how long to retry while the database is unreachable
}

// ParseStatus reads the --status of record: finished (or succeeded) or
// failed; anything else is a UsageError.
func ParseStatus(s string) (results.Status, error) {
	switch s {
	case "finished", string(results.StatusSucceeded):
		return results.StatusSucceeded, nil
	case string(results.StatusFailed):
		return results.StatusFailed, nil
	}
	return "", Usage(fmt.Errorf("--status %q: want finished or failed", s))
}

// Record writes the trial to the results database $DATABASE_URL in one
// transaction keyed on the trial id (missing tables are created first), or,
// without it, appends it to a.Local unless the file already holds the same
// record. It returns the record. A database that stayed unreachable for
// a.RetryTimeout is a TransientError.
func Record(ctx context.Context, e Env, t Trial, a RecordArgs) (results.TrialRecord, error) {
	dsn := os.Getenv(step.EnvDatabaseURL)
	opts := results.DefaultOptions()
	opts.RetryTimeout = a.RetryTimeout
	o, err := outcome.Read(a.Model, a.Metrics, t.Exp.Evaluation.Split, t.ID)
	if err != nil {
		return results.TrialRecord{}, err
	}
	rec, err := newTrialRecord(t, o, a)
	if err != nil {
		return rec, err
	}
	if dsn == "" {
		added, err := appendLocal(a.Local, rec)
		if err != nil {
			return rec, err
		}
		what := "appended to"
		if !added {
			what = "already in"
		}
		fmt.Fprintf(e.Stderr, "parak8s record: %s is not set; the record of trial %s is %s %s\n", step.EnvDatabaseURL, step.Short(t.ID), what, a.Local)
		return rec, nil
	}
	store, err := results.Open(ctx, dsn, opts)
	if err != nil {
		return rec, err
	}
	defer store.Close()
	if a.Migrate {
		if err := store.Migrate(ctx); err != nil {
			return rec, dbError(fmt.Errorf("migrating the results database: %w", err))
		}
	}
	if err := store.RecordTrial(ctx, rec); err != nil {
		return rec, dbError(err)
	}
	e.Log.Info("recorded", "trial", step.Short(t.ID), "experiment", rec.Experiment, "status", rec.Status,
		"metrics", len(rec.Metrics), "artifacts", len(rec.Artifacts), "retries", store.Stats().Retries)
	return rec, nil
}

// Migrate applies the schema migrations of the results database
// $DATABASE_URL, retrying for retryTimeout while it is unreachable.
func Migrate(ctx context.Context, e Env, retryTimeout time.Duration) error {
	dsn := os.Getenv(step.EnvDatabaseURL)
	if dsn == "" {
		return fmt.Errorf("migrating the results database: %s is not set", step.EnvDatabaseURL)
	}
	opts := results.DefaultOptions()
	opts.RetryTimeout = retryTimeout
	store, err := results.Open(ctx, dsn, opts)
	if err != nil {
		return err
	}
	defer store.Close()
	if err := store.Migrate(ctx); err != nil {
		return dbError(fmt.Errorf("migrating the results database: %w", err))
	}
	v, err := store.SchemaVersion(ctx)
	if err != nil {
		return dbError(err)
	}
	fmt.Fprintf(e.Stderr, "parak8s record: the results database is at schema version %d\n", v)
	return nil
}

// newTrialRecord builds the row of the trial.
func newTrialRecord(t Trial, o outcome.Outcome, a RecordArgs) (results.TrialRecord, error) {
	sweep, err := outcome.SweepPoint(t.Overrides)
	if err != nil {
		return results.TrialRecord{}, err
	}
	rec := results.TrialRecord{
		ID:            t.ID,
		Experiment:    t.Exp.Name,
		Config:        json.RawMessage(t.Config),
		SweepPoint:    json.RawMessage(sweep),
		Status:        a.Status,
		Image:         t.Image,
		DatasetDigest: t.Dataset,
		MLflowRunID:   a.RunID,
		ModelDigest:   a.Digest,
		FinishedAt:    time.Now().UTC().Truncate(time.Microsecond),
	}
	if m := o.Manifest; m != nil && !m.Created.IsZero() {
		rec.StartedAt = m.Created.Add(-o.TrainingTime()).UTC().Truncate(time.Microsecond)
	}
	final, _ := o.Final()
	rec.Metrics = results.FinalMetrics(final)
	for _, p := range o.Epochs(time.Time{}) {
		if !math.IsNaN(p.Value) && !math.IsInf(p.Value, 0) {
			rec.Metrics = append(rec.Metrics, results.Metric{Name: p.Name, Step: p.Epoch, Value: p.Value})
		}
	}
	if a.Digest != "" {
		ref := a.Digest
		if repo := os.Getenv(step.EnvRegistry); repo != "" {
			ref = repo + "@" + a.Digest
		}
		rec.Artifacts = []results.Artifact{{Kind: artifactModel, Ref: ref, Digest: a.Digest}}
	}
	return rec, nil
}

// localResult is one line of the local results file.
type localResult struct {
	Format        string          `json:"format"`
	ID            string          `json:"id"`
	Experiment    string          `json:"experiment"`
	Status        string          `json:"status"`
	Config        json.RawMessage `json:"config"`
	SweepPoint    json.RawMessage `json:"sweep_point"`
	Image         string          `json:"image,omitempty"`
	DatasetDigest string          `json:"dataset_digest,omitempty"`
	MLflowRunID   string          `json:"mlflow_run_id,omitempty"`
	ModelDigest   string          `json:"model_digest,omitempty"`
	StartedAt     *time.Time      `json:"started_at,omitempty"`
	FinishedAt    *time.Time      `json:"finished_at,omitempty"`
	Metrics       []localMetric   `json:"metrics"`
	Artifacts     []localArtifact `json:"artifacts,omitempty"`
}

type localMetric struct {
	Name  string  `json:"name"`
	Step  int64   `json:"step"`
	Value float64 `json:"value"`
}

type localArtifact struct {
	Kind   string `json:"kind"`
	Ref    string `json:"ref"`
	Digest string `json:"digest,omitempty"`
}

func toLocal(r results.TrialRecord) localResult {
	l := localResult{
		Format: LocalResultV1, ID: r.ID, Experiment: r.Experiment, Status: string(r.Status),
		Config: r.Config, SweepPoint: r.SweepPoint, Image: r.Image, DatasetDigest: r.DatasetDigest,
		MLflowRunID: r.MLflowRunID, ModelDigest: r.ModelDigest, Metrics: []localMetric{},
	}
	if !r.StartedAt.IsZero() {
		l.StartedAt = &r.StartedAt
	}
	if !r.FinishedAt.IsZero() {
		l.FinishedAt = &r.FinishedAt
	}
	for _, m := range r.Metrics {
		l.Metrics = append(l.Metrics, localMetric(m))
	}
	for _, a := range r.Artifacts {
		l.Artifacts = append(l.Artifacts, localArtifact(a))
	}
	return l
}

// sameRecord compares two local records, the time of recording aside.
func sameRecord(a, b localResult) bool {
	a.FinishedAt, b.FinishedAt = nil, nil
	ja, errA := json.Marshal(a)
	jb, errB := json.Marshal(b)
	return errA == nil && errB == nil && bytes.Equal(ja, jb)
}

// appendLocal appends the record to path as one JSON line unless the file
// already holds the same record; added says whether it wrote.
func appendLocal(path string, r results.TrialRecord) (added bool, err error) {
	l := toLocal(r)
	line, err := json.Marshal(l)
	if err != nil {
		return false, fmt.Errorf("recording trial %s in %s: %w", step.Short(r.ID), path, err)
	}
	if dir := filepath.Dir(path); dir != "." {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return false, fmt.Errorf("recording trial %s in %s: %w", step.Short(r.ID), path, err)
		}
	}
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_APPEND, 0o644)
	if err != nil {
		return false, fmt.Errorf("recording trial %s: %w", step.Short(r.ID), err)
	}
	defer f.Close()
	var last *localResult
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 0, 64<<10), 64<<20)
	for n := 1; sc.Scan(); n++ {
		if len(bytes.TrimSpace(sc.Bytes())) == 0 {
			continue
		}
		var old localResult
		if err := json.Unmarshal(sc.Bytes(), &old); err != nil {
			return false, fmt.Errorf("recording trial %s: %s line %d: %w", step.Short(r.ID), path, n, err)
		}
		if old.ID == l.ID {
			last = &old
		}
	}
	if err := sc.Err(); err != nil {
		return false, fmt.Errorf("recording trial %s: reading %s: %w", step.Short(r.ID), path, err)
	}
	if last != nil && sameRecord(*last, l) {
		return false, nil
	}
	// One write of a whole line with O_APPEND: concurrent records of other
	// trials never interleave.
	if _, err := f.Write(append(line, '\n')); err != nil {
		return false, fmt.Errorf("recording trial %s in %s: %w", step.Short(r.ID), path, err)
	}
	if err := f.Sync(); err != nil {
		return false, fmt.Errorf("recording trial %s in %s: %w", step.Short(r.ID), path, err)
	}
	return true, nil
}
