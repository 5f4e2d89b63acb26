package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net"
	"os"
	"path/filepath"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/spf13/cobra"

	"parak8s.dev/parak8s/runtime/results"
	"parak8s.dev/parak8s/runtime/step"
)

// Defaults of record's own flags.
const (
	defaultLocalResults = "results.jsonl"
	localResultV1       = "parak8s.result.v1"
)

// recordFlags are record's flags besides the trial's.
type recordFlags struct {
	metrics, model, runID, digest string
	status                        string
	migrate                       bool
	local                         string
	retryTimeout                  time.Duration
}

func newRecordCmd(e *env) *cobra.Command {
	var (
		f  trialFlags
		rf recordFlags
	)
	cmd := &cobra.Command{
		Use:   "record --config FILE [--set PATH=JSON]... --trial ID --image REF --metrics DIR --run-id ID --model-digest DIGEST",
		Short: "Record a trial in the results database (PostgreSQL, DATABASE_URL)",
		Long: `Record writes the trial to the results database named by DATABASE_URL, in one
transaction keyed on the trial id, so recording it again changes nothing and
never duplicates a row: its experiment, config (the trial's resolved config),
sweep point (the swept values, path → value), status, image, dataset digest,
MLflow run id, model digest, the final metrics (step -1; names as track logs them),
the per-epoch metrics of --model's history (step = epoch), and the model artifact
(PARAK8S_REGISTRY@digest, or the digest alone). The final metrics, the per-epoch
ones and the model artifact replace what is stored for the trial, so a retrained
trial keeps no epoch or model row of its earlier training. Missing tables are
created first.

  parak8s record --migrate     only apply the schema migrations, then exit

--status finished records a succeeded trial (never run again); --status failed
records a failed one (--metrics is then optional).

Without DATABASE_URL the record is appended as one JSON line (format
"parak8s.result.v1") to --local (default ./results.jsonl), unless the file already
holds the same record; the last line of a trial is its current state.

Exit codes: 0 ok, 1 failure, 2 usage, 3 the config is not the trial's, 75 the
database stayed unreachable for --retry-timeout.`,
		Args: noPositional,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return record(cmd.Context(), e, &f, rf)
		},
	}
	f.register(cmd.Flags())
	fs := cmd.Flags()
	fs.StringVar(&rf.metrics, step.FlagMetrics[2:], "", "the metrics directory written by evaluate")
	fs.StringVar(&rf.model, step.FlagModel[2:], "", "the model directory written by train, for the per-epoch metrics (optional)")
	fs.StringVar(&rf.runID, step.FlagRunID[2:], "", "the MLflow run id written by track")
	fs.StringVar(&rf.digest, step.FlagDigest[2:], "", "the model digest written by publish (empty: nothing was pushed)")
	fs.StringVar(&rf.status, "status", "finished", "the trial's outcome: finished or failed")
	fs.BoolVar(&rf.migrate, "migrate", false, "apply the schema migrations (alone: only that)")
	fs.StringVar(&rf.local, "local", defaultLocalResults, "the JSON-lines file appended to when DATABASE_URL is not set")
	fs.DurationVar(&rf.retryTimeout, "retry-timeout", results.DefaultOptions().RetryTimeout, "how long to keep retrying while the database is unreachable")
	return cmd
}

func record(ctx context.Context, e *env, f *trialFlags, rf recordFlags) error {
	dsn := os.Getenv(step.EnvDatabaseURL)
	opts := results.DefaultOptions()
	opts.RetryTimeout = rf.retryTimeout
	if rf.migrate && f.config == "" && len(f.sets) == 0 && f.trial == "" {
		if dsn == "" {
			return fmt.Errorf("migrating the results database: %s is not set", step.EnvDatabaseURL)
		}
		return migrate(ctx, e, dsn, opts)
	}
	var status results.Status
	switch rf.status {
	case "finished", string(results.StatusSucceeded):
		status = results.StatusSucceeded
	case string(results.StatusFailed):
		status = results.StatusFailed
	default:
		return usageError{fmt.Errorf("--status %q: want finished or failed", rf.status)}
	}
	if status == results.StatusSucceeded {
		if err := requireFlags([2]string{step.FlagMetrics, rf.metrics}); err != nil {
			return err
		}
	}
	t, err := f.resolve("")
	if err != nil {
		return err
	}
	o, err := readOutcome(rf.model, rf.metrics, t.Exp.Evaluation.Split, t.ID)
	if err != nil {
		return err
	}
	rec, err := newTrialRecord(t, o, status, rf)
	if err != nil {
		return err
	}
	if dsn == "" {
		added, err := appendLocal(rf.local, rec)
		if err != nil {
			return err
		}
		what := "appended to"
		if !added {
			what = "already in"
		}
		fmt.Fprintf(e.stderr, "parak8s record: %s is not set; the record of trial %s is %s %s\n", step.EnvDatabaseURL, step.Short(t.ID), what, rf.local)
		return nil
	}
	store, err := results.Open(ctx, dsn, opts)
	if err != nil {
		return err
	}
	defer store.Close()
	if rf.migrate {
		if err := store.Migrate(ctx); err != nil {
			return dbError(fmt.Errorf("migrating the results database: %w", err))
		}
	}
	if err := store.RecordTrial(ctx, rec); err != nil {
		return dbError(err)
	}
	e.log.Info("recorded", "trial", step.Short(t.ID), "experiment", rec.Experiment, "status", rec.Status,
		"metrics", len(rec.Metrics), "artifacts", len(rec.Artifacts), "retries", store.Stats().Retries)
	return nil
}

func migrate(ctx context.Context, e *env, dsn string, opts results.Options) error {
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
	fmt.Fprintf(e.stderr, "parak8s record: the results database is at schema version %d\n", v)
	return nil
}

// newTrialRecord builds the row of the trial.
func newTrialRecord(t trial, o outcome, status results.Status, rf recordFlags) (results.TrialRecord, error) {
	sweep, err := sweepPoint(t.Overrides)
	if err != nil {
		return results.TrialRecord{}, err
	}
	rec := results.TrialRecord{
		ID:            t.ID,
		Experiment:    t.Exp.Name,
		Config:        json.RawMessage(t.Config),
		SweepPoint:    json.RawMessage(sweep),
		Status:        status,
		Image:         t.Image,
		DatasetDigest: t.Dataset,
		MLflowRunID:   rf.runID,
		ModelDigest:   rf.digest,
		FinishedAt:    time.Now().UTC().Truncate(time.Microsecond),
	}
	if m := o.Manifest; m != nil && !m.Created.IsZero() {
		rec.StartedAt = m.Created.Add(-o.trainingTime()).UTC().Truncate(time.Microsecond)
	}
	final, _ := o.final()
	rec.Metrics = results.FinalMetrics(final)
	for _, p := range o.epochs(time.Time{}) {
		if !math.IsNaN(p.Value) && !math.IsInf(p.Value, 0) {
			rec.Metrics = append(rec.Metrics, results.Metric{Name: p.Name, Step: p.Epoch, Value: p.Value})
		}
	}
	if rf.digest != "" {
		ref := rf.digest
		if repo := os.Getenv(step.EnvRegistry); repo != "" {
			ref = repo + "@" + rf.digest
		}
		rec.Artifacts = []results.Artifact{{Kind: artifactModel, Ref: ref, Digest: rf.digest}}
	}
	return rec, nil
}

// dbError marks a database that stayed unreachable as transient (exit 75).
func dbError(err error) error {
	var ce *pgconn.ConnectError
	var op *net.OpError
	var dns *net.DNSError
	if errors.As(err, &ce) || errors.As(err, &op) || errors.As(err, &dns) ||
		errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.ECONNRESET) || pgconn.Timeout(err) {
		return transientError{err}
	}
	return err
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
		Format: localResultV1, ID: r.ID, Experiment: r.Experiment, Status: string(r.Status),
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
