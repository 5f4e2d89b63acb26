package results

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"time"

	"github.com/jackc/pgx/v5"
)

// ErrNotFound is returned (wrapped) when a trial, or a ranked trial, does
// not exist.
var ErrNotFound = errors.New("not found")

// Entry is one row of a leaderboard: a succeeded trial and the final value
// of the ranking metric.
type Entry struct {
	Rank        int // 1 = best
	TrialID     string
	Value       float64
	ModelDigest string
	MLflowRunID string
	SweepPoint  json.RawMessage
	FinishedAt  time.Time
}

// FinishedTrials returns the ids of the experiment's succeeded trials,
// sorted; these are never run again.
func (s *Store) FinishedTrials(ctx context.Context, experiment string) ([]string, error) {
	if err := s.ensureMigrated(ctx); err != nil {
		return nil, fmt.Errorf("listing finished trials of %q: %w", experiment, err)
	}
	var ids []string
	err := s.retry(ctx, func(ctx context.Context) error {
		rows, err := s.pool.Query(ctx, `SELECT id FROM trials WHERE experiment = $1 AND status = $2 ORDER BY id`,
			experiment, string(StatusSucceeded))
		if err != nil {
			return err
		}
		ids, err = pgx.CollectRows(rows, pgx.RowTo[string])
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("listing finished trials of %q: %w", experiment, err)
	}
	return ids, nil
}

// The leaderboard queries: succeeded trials with a final value of the
// metric, NaN left out, ties broken by finish time and then trial id so the
// order is stable. A NULL limit means no limit.
const (
	leaderboardSelect = `SELECT t.id, m.value, t.model_digest, t.mlflow_run_id, t.sweep_point, t.finished_at
FROM trials t JOIN metrics m ON m.trial_id = t.id AND m.name = $2 AND m.step = -1
WHERE t.experiment = $1 AND t.status = 'succeeded' AND m.value <> 'NaN'::float8
ORDER BY m.value `
	leaderboardTail   = `, t.finished_at ASC NULLS LAST, t.id ASC LIMIT $3`
	leaderboardHigher = leaderboardSelect + `DESC` + leaderboardTail
	leaderboardLower  = leaderboardSelect + `ASC` + leaderboardTail
)

// Leaderboard ranks the experiment's succeeded trials by the final value of
// metric, best first (highest first when higherIsBetter), at most limit
// entries (limit <= 0: all).
func (s *Store) Leaderboard(ctx context.Context, experiment, metric string, higherIsBetter bool, limit int) ([]Entry, error) {
	if err := s.ensureMigrated(ctx); err != nil {
		return nil, fmt.Errorf("ranking trials of %q by %q: %w", experiment, metric, err)
	}
	q := leaderboardLower
	if higherIsBetter {
		q = leaderboardHigher
	}
	var lim any
	if limit > 0 {
		lim = limit
	}
	var entries []Entry
	err := s.retry(ctx, func(ctx context.Context) error {
		rows, err := s.pool.Query(ctx, q, experiment, metric, lim)
		if err != nil {
			return err
		}
		entries, err = pgx.CollectRows(rows, func(row pgx.CollectableRow) (Entry, error) {
			var e Entry
			var sweep []byte
			var finished *time.Time
			err := row.Scan(&e.TrialID, &e.Value, &e.ModelDigest, &e.MLflowRunID, &sweep, &finished)
			e.SweepPoint = json.RawMessage(sweep)
			if finished != nil {
				e.FinishedAt = *finished
			}
			return e, err
		})
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("ranking trials of %q by %q: %w", experiment, metric, err)
	}
	for i := range entries {
		entries[i].Rank = i + 1
	}
	return entries, nil
}

// Best returns the experiment's best succeeded trial by the final value of
// metric; an error wrapping ErrNotFound when no trial has one.
func (s *Store) Best(ctx context.Context, experiment, metric string, higherIsBetter bool) (Entry, error) {
	entries, err := s.Leaderboard(ctx, experiment, metric, higherIsBetter, 1)
	if err != nil {
		return Entry{}, err
	}
	if len(entries) == 0 {
		return Entry{}, fmt.Errorf("finding the best trial of %q by %q: no succeeded trial has a final value: %w",
			experiment, metric, ErrNotFound)
	}
	return entries[0], nil
}

// Trial reads one trial back with its metrics (sorted by name, then step)
// and artifacts (sorted by kind, then ref); an error wrapping ErrNotFound
// when it is not recorded.
func (s *Store) Trial(ctx context.Context, id string) (TrialRecord, error) {
	if err := s.ensureMigrated(ctx); err != nil {
		return TrialRecord{}, fmt.Errorf("reading trial %q: %w", id, err)
	}
	var r TrialRecord
	err := s.retry(ctx, func(ctx context.Context) error {
		r = TrialRecord{}
		return pgx.BeginTxFunc(ctx, s.pool, pgx.TxOptions{AccessMode: pgx.ReadOnly, IsoLevel: pgx.RepeatableRead},
			func(tx pgx.Tx) error { return readTrial(ctx, tx, id, &r) })
	})
	if err != nil {
		return TrialRecord{}, fmt.Errorf("reading trial %q: %w", id, err)
	}
	return r, nil
}

func readTrial(ctx context.Context, tx pgx.Tx, id string, r *TrialRecord) error {
	var status string
	var config, sweep []byte
	var started, finished *time.Time
	err := tx.QueryRow(ctx, `SELECT id, experiment, config, sweep_point, status, image, dataset_digest,
	mlflow_run_id, model_digest, started_at, finished_at, updated_at FROM trials WHERE id = $1`, id).Scan(
		&r.ID, &r.Experiment, &config, &sweep, &status, &r.Image, &r.DatasetDigest,
		&r.MLflowRunID, &r.ModelDigest, &started, &finished, &r.UpdatedAt)
	if errors.Is(err, pgx.ErrNoRows) {
		return ErrNotFound
	}
	if err != nil {
		return err
	}
	r.Status, r.Config, r.SweepPoint = Status(status), config, sweep
	if started != nil {
		r.StartedAt = *started
	}
	if finished != nil {
		r.FinishedAt = *finished
	}
	rows, err := tx.Query(ctx, `SELECT name, step, value FROM metrics WHERE trial_id = $1 ORDER BY name, step`, id)
	if err != nil {
		return err
	}
	r.Metrics, err = pgx.CollectRows(rows, pgx.RowToStructByPos[Metric])
	if err != nil {
		return err
	}
	rows, err = tx.Query(ctx, `SELECT kind, ref, digest FROM artifacts WHERE trial_id = $1 ORDER BY kind, ref`, id)
	if err != nil {
		return err
	}
	r.Artifacts, err = pgx.CollectRows(rows, pgx.RowToStructByPos[Artifact])
	return err
}

func sortMetrics(ms []Metric) {
	sort.Slice(ms, func(i, j int) bool {
		if ms[i].Name != ms[j].Name {
			return ms[i].Name < ms[j].Name
		}
		return ms[i].Step < ms[j].Step
	})
}

// Trials returns the experiment's trials, sorted by id, without their
// config, metrics and artifacts: id, experiment, sweep point, status, image,
// dataset digest, run id, model digest and times.
func (s *Store) Trials(ctx context.Context, experiment string) ([]TrialRecord, error) {
	if err := s.ensureMigrated(ctx); err != nil {
		return nil, fmt.Errorf("listing trials of %q: %w", experiment, err)
	}
	var out []TrialRecord
	err := s.retry(ctx, func(ctx context.Context) error {
		out = nil
		rows, err := s.pool.Query(ctx, `SELECT id, experiment, sweep_point, status, image, dataset_digest,
	mlflow_run_id, model_digest, started_at, finished_at, updated_at FROM trials WHERE experiment = $1 ORDER BY id`, experiment)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var r TrialRecord
			var status string
			var sweep []byte
			var started, finished *time.Time
			if err := rows.Scan(&r.ID, &r.Experiment, &sweep, &status, &r.Image, &r.DatasetDigest,
				&r.MLflowRunID, &r.ModelDigest, &started, &finished, &r.UpdatedAt); err != nil {
				return err
			}
			r.Status, r.SweepPoint = Status(status), sweep
			if started != nil {
				r.StartedAt = *started
			}
			if finished != nil {
				r.FinishedAt = *finished
			}
			out = append(out, r)
		}
		return rows.Err()
	})
	if err != nil {
		return nil, fmt.Errorf("listing trials of %q: %w", experiment, err)
	}
	return out, nil
}
