package results

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
)

// Status is a trial's state.
type Status string

// The trial states.
const (
	StatusPending   Status = "pending"
	StatusRunning   Status = "running"
	StatusSucceeded Status = "succeeded" // a finished trial: never run again
	StatusFailed    Status = "failed"
)

func (s Status) valid() bool {
	switch s {
	case StatusPending, StatusRunning, StatusSucceeded, StatusFailed:
		return true
	}
	return false
}

// FinalStep is the step of a metric's final value.
const FinalStep int64 = -1

// Metric is one value of a metric at a step (FinalStep for the final value).
type Metric struct {
	Name  string
	Step  int64
	Value float64
}

// Artifact is something a trial produced, e.g. the model pushed to a
// registry (Kind "model", Ref the OCI reference, Digest its digest).
type Artifact struct {
	Kind   string
	Ref    string
	Digest string
}

// TrialRecord is one trial as stored. Recording it again upserts: the
// status always replaces the stored one; empty strings, empty JSON and zero
// times leave the stored values as they are. The record's final metrics,
// when it has any, replace the stored final ones, and its per-epoch metrics
// the stored per-epoch ones: stored values the record lacks (an epoch of an
// earlier training of the trial) are removed. Likewise its artifacts of a
// kind replace the stored ones of that kind (a retrained model's digest
// replaces the old one's row). What the record has none of is kept.
type TrialRecord struct {
	ID            string // the trial id
	Experiment    string
	Config        json.RawMessage // the resolved trial config
	SweepPoint    json.RawMessage // the sweep overrides of the trial
	Status        Status
	Image         string
	DatasetDigest string
	MLflowRunID   string
	ModelDigest   string
	StartedAt     time.Time
	FinishedAt    time.Time
	UpdatedAt     time.Time // set by the database; ignored by RecordTrial
	Metrics       []Metric
	Artifacts     []Artifact
}

// FinalMetrics turns a map of final values into metrics, sorted by name.
func FinalMetrics(values map[string]float64) []Metric {
	ms := make([]Metric, 0, len(values))
	for name, v := range values {
		ms = append(ms, Metric{Name: name, Step: FinalStep, Value: v})
	}
	sortMetrics(ms)
	return ms
}

func (r *TrialRecord) validate() error {
	switch {
	case r.ID == "":
		return errors.New("the trial id is empty")
	case r.Experiment == "":
		return errors.New("the experiment name is empty")
	case !r.Status.valid():
		return fmt.Errorf("status %q is not one of pending, running, succeeded, failed", r.Status)
	}
	if len(r.Config) > 0 && !json.Valid(r.Config) {
		return errors.New("the config is not valid JSON")
	}
	if len(r.SweepPoint) > 0 && !json.Valid(r.SweepPoint) {
		return errors.New("the sweep point is not valid JSON")
	}
	type metricKey struct {
		name string
		step int64
	}
	seenM := map[metricKey]bool{}
	for _, m := range r.Metrics {
		switch {
		case m.Name == "":
			return errors.New("a metric has an empty name")
		case m.Step < FinalStep:
			return fmt.Errorf("metric %q has step %d (steps are >= 0, or -1 for the final value)", m.Name, m.Step)
		case seenM[metricKey{m.Name, m.Step}]:
			return fmt.Errorf("metric %q at step %d is given twice", m.Name, m.Step)
		}
		seenM[metricKey{m.Name, m.Step}] = true
	}
	type artifactKey struct{ kind, ref string }
	seenA := map[artifactKey]bool{}
	for _, a := range r.Artifacts {
		switch {
		case a.Kind == "" || a.Ref == "":
			return fmt.Errorf("artifact {kind %q, ref %q} needs both a kind and a ref", a.Kind, a.Ref)
		case seenA[artifactKey{a.Kind, a.Ref}]:
			return fmt.Errorf("artifact %s %q is given twice", a.Kind, a.Ref)
		}
		seenA[artifactKey{a.Kind, a.Ref}] = true
	}
	return nil
}

const upsertTrial = `INSERT INTO trials AS t (id, experiment, config, sweep_point, status, image, dataset_digest,
	mlflow_run_id, model_digest, started_at, finished_at, updated_at)
VALUES ($1, $2, coalesce($3::jsonb, '{}'), coalesce($4::jsonb, '{}'), $5, $6, $7, $8, $9, $10, $11, now())
ON CONFLICT (id) DO UPDATE SET
	config         = coalesce($3::jsonb, t.config),
	sweep_point    = coalesce($4::jsonb, t.sweep_point),
	status         = excluded.status,
	image          = coalesce(nullif(excluded.image, ''), t.image),
	dataset_digest = coalesce(nullif(excluded.dataset_digest, ''), t.dataset_digest),
	mlflow_run_id  = coalesce(nullif(excluded.mlflow_run_id, ''), t.mlflow_run_id),
	model_digest   = coalesce(nullif(excluded.model_digest, ''), t.model_digest),
	started_at     = coalesce(excluded.started_at, t.started_at),
	finished_at    = coalesce(excluded.finished_at, t.finished_at),
	updated_at     = now()
WHERE t.experiment = excluded.experiment
RETURNING id`

const upsertMetrics = `INSERT INTO metrics (trial_id, name, step, value)
SELECT $1, m.name, m.step, m.value FROM unnest($2::text[], $3::bigint[], $4::float8[]) AS m (name, step, value)
ON CONFLICT (trial_id, name, step) DO UPDATE SET value = excluded.value`

// deleteOtherMetrics removes the trial's metrics whose (name, step) the
// record does not have, of the kinds (final: step -1, per-epoch: step >= 0)
// the record has.
const deleteOtherMetrics = `DELETE FROM metrics AS m WHERE m.trial_id = $1
AND (m.step = -1) IN (SELECT s = -1 FROM unnest($3::bigint[]) AS s)
AND (m.name, m.step) NOT IN (SELECT * FROM unnest($2::text[], $3::bigint[]))`

// deleteOtherArtifacts removes the trial's artifacts of the kinds the record
// has whose ref it does not have.
const deleteOtherArtifacts = `DELETE FROM artifacts AS a WHERE a.trial_id = $1
AND a.kind = ANY($2::text[])
AND (a.kind, a.ref) NOT IN (SELECT * FROM unnest($2::text[], $3::text[]))`

const upsertArtifacts = `INSERT INTO artifacts (trial_id, kind, ref, digest)
SELECT $1, a.kind, a.ref, a.digest FROM unnest($2::text[], $3::text[], $4::text[]) AS a (kind, ref, digest)
ON CONFLICT (trial_id, kind, ref) DO UPDATE SET digest = excluded.digest`

// RecordTrial writes r in one transaction (see TrialRecord for the upsert
// rules), retrying on lost connections. Recording a trial id that belongs
// to another experiment is an error.
func (s *Store) RecordTrial(ctx context.Context, r TrialRecord) error {
	if err := r.validate(); err != nil {
		return fmt.Errorf("recording trial %q: %w", r.ID, err)
	}
	if err := s.ensureMigrated(ctx); err != nil {
		return fmt.Errorf("recording trial %q: %w", r.ID, err)
	}
	err := s.retry(ctx, func(ctx context.Context) error {
		return pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error { return recordTx(ctx, tx, &r) })
	})
	if err != nil {
		return fmt.Errorf("recording trial %q: %w", r.ID, err)
	}
	return nil
}

// recordTx sends the whole record as one batch (one round trip).
func recordTx(ctx context.Context, tx pgx.Tx, r *TrialRecord) error {
	b := &pgx.Batch{}
	b.Queue(`INSERT INTO experiments (name) VALUES ($1) ON CONFLICT (name) DO NOTHING`, r.Experiment)
	b.Queue(upsertTrial, r.ID, r.Experiment, jsonArg(r.Config), jsonArg(r.SweepPoint), string(r.Status),
		r.Image, r.DatasetDigest, r.MLflowRunID, r.ModelDigest, timeArg(r.StartedAt), timeArg(r.FinishedAt))
	if len(r.Metrics) > 0 {
		names := make([]string, len(r.Metrics))
		steps := make([]int64, len(r.Metrics))
		values := make([]float64, len(r.Metrics))
		for i, m := range r.Metrics {
			names[i], steps[i], values[i] = m.Name, m.Step, m.Value
		}
		b.Queue(deleteOtherMetrics, r.ID, names, steps)
		b.Queue(upsertMetrics, r.ID, names, steps, values)
	}
	if len(r.Artifacts) > 0 {
		kinds := make([]string, len(r.Artifacts))
		refs := make([]string, len(r.Artifacts))
		digests := make([]string, len(r.Artifacts))
		for i, a := range r.Artifacts {
			kinds[i], refs[i], digests[i] = a.Kind, a.Ref, a.Digest
		}
		b.Queue(deleteOtherArtifacts, r.ID, kinds, refs)
		b.Queue(upsertArtifacts, r.ID, kinds, refs, digests)
	}
	br := tx.SendBatch(ctx, b)
	if _, err := br.Exec(); err != nil {
		_ = br.Close()
		return fmt.Errorf("upserting experiment %q: %w", r.Experiment, err)
	}
	var id string
	if err := br.QueryRow().Scan(&id); err != nil {
		_ = br.Close()
		if errors.Is(err, pgx.ErrNoRows) {
			return fmt.Errorf("the trial is already recorded under another experiment than %q", r.Experiment)
		}
		return fmt.Errorf("upserting the trial: %w", err)
	}
	if len(r.Metrics) > 0 {
		for _, what := range []string{"removing the metrics of an earlier record", "upserting the metrics"} {
			if _, err := br.Exec(); err != nil {
				_ = br.Close()
				return fmt.Errorf("%s (%d given): %w", what, len(r.Metrics), err)
			}
		}
	}
	if len(r.Artifacts) > 0 {
		for _, what := range []string{"removing replaced artifacts", "upserting the artifacts"} {
			if _, err := br.Exec(); err != nil {
				_ = br.Close()
				return fmt.Errorf("%s (%d given): %w", what, len(r.Artifacts), err)
			}
		}
	}
	return br.Close()
}

func jsonArg(raw json.RawMessage) any {
	if len(raw) == 0 {
		return nil
	}
	return string(raw)
}

func timeArg(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t
}
