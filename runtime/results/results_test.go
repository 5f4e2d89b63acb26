package results

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"reflect"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

func trialID(parts ...any) string {
	sum := sha256.Sum256([]byte(fmt.Sprint(parts...)))
	return hex.EncodeToString(sum[:])
}

func sampleTrial(experiment string, i int, status Status, acc float64) TrialRecord {
	start := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC).Add(time.Duration(i) * time.Minute)
	return TrialRecord{
		ID:            trialID(experiment, i),
		Experiment:    experiment,
		Config:        json.RawMessage(fmt.Sprintf(`{"lr": 0.001, "seed": %d}`, i)),
		SweepPoint:    json.RawMessage(fmt.Sprintf(`{"seed": %d}`, i)),
		Status:        status,
		Image:         "ghcr.io/parak8s/step@sha256:" + strings.Repeat("a", 64),
		DatasetDigest: "sha256:" + strings.Repeat("b", 64),
		MLflowRunID:   fmt.Sprintf("run-%d", i),
		ModelDigest:   "sha256:" + trialID("model", i),
		StartedAt:     start,
		FinishedAt:    start.Add(30 * time.Second),
		Metrics: []Metric{
			{Name: "accuracy", Step: FinalStep, Value: acc},
			{Name: "loss", Step: 0, Value: 1.5},
			{Name: "loss", Step: 1, Value: 0.75},
			{Name: "loss", Step: FinalStep, Value: 1 - acc},
		},
		Artifacts: []Artifact{{Kind: "model", Ref: "127.0.0.1:5000/m:" + trialID(experiment, i), Digest: "sha256:" + trialID("model", i)}},
	}
}

// rowCounts returns the rows stored for one trial in each table.
func rowCounts(t *testing.T, s *Store, id string) [3]int {
	t.Helper()
	var c [3]int
	err := s.pool.QueryRow(context.Background(), `SELECT
		(SELECT count(*) FROM trials WHERE id = $1),
		(SELECT count(*) FROM metrics WHERE trial_id = $1),
		(SELECT count(*) FROM artifacts WHERE trial_id = $1)`, id).Scan(&c[0], &c[1], &c[2])
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestRecordTrialRoundTripAndIdempotent(t *testing.T) {
	needServer(t)
	ctx := context.Background()
	s := openTest(t, testDSN, DefaultOptions())
	r := sampleTrial(t.Name(), 1, StatusSucceeded, 0.9)
	for i := 0; i < 3; i++ {
		if err := s.RecordTrial(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	if got, want := rowCounts(t, s, r.ID), [3]int{1, 4, 1}; got != want {
		t.Errorf("rows (trials, metrics, artifacts) after recording 3 times = %v, want %v", got, want)
	}
	got, err := s.Trial(ctx, r.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.UpdatedAt.IsZero() {
		t.Error("updated_at is not set")
	}
	want := r
	want.UpdatedAt = got.UpdatedAt
	sortMetrics(want.Metrics)
	got.StartedAt, got.FinishedAt = got.StartedAt.UTC(), got.FinishedAt.UTC()
	// jsonb normalizes whitespace
	for _, p := range [][2]*json.RawMessage{{&got.Config, &want.Config}, {&got.SweepPoint, &want.SweepPoint}} {
		if !jsonEqual(t, *p[0], *p[1]) {
			t.Errorf("json = %s, want %s", *p[0], *p[1])
		}
		*p[0] = *p[1]
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Trial() =\n%+v\nwant\n%+v", got, want)
	}

	// a later record with fewer fields updates what it gives and keeps the rest
	update := TrialRecord{ID: r.ID, Experiment: r.Experiment, Status: StatusSucceeded,
		Metrics: []Metric{{Name: "accuracy", Step: FinalStep, Value: 0.95}, {Name: "f1", Step: FinalStep, Value: 0.5}}}
	if err := s.RecordTrial(ctx, update); err != nil {
		t.Fatal(err)
	}
	got2, err := s.Trial(ctx, r.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got2.MLflowRunID != r.MLflowRunID || got2.ModelDigest != r.ModelDigest || !jsonEqual(t, got2.Config, r.Config) {
		t.Errorf("a partial record erased stored fields: %+v", got2)
	}
	// the final metrics are replaced (the final loss is gone), the per-epoch ones kept
	wantM := []Metric{{"accuracy", FinalStep, 0.95}, {"f1", FinalStep, 0.5}, {"loss", 0, 1.5}, {"loss", 1, 0.75}}
	sortMetrics(wantM)
	if !reflect.DeepEqual(got2.Metrics, wantM) {
		t.Errorf("metrics after a record of final ones %+v, want %+v", got2.Metrics, wantM)
	}

	// a retrained trial: fewer epochs and a new model digest replace the old
	retrain := sampleTrial(t.Name(), 1, StatusSucceeded, 0.8)
	retrain.Metrics = []Metric{{"accuracy", FinalStep, 0.8}, {"loss", 0, 1.25}}
	retrain.Artifacts = []Artifact{{Kind: "model", Ref: "127.0.0.1:5000/m@sha256:" + trialID("retrained"), Digest: "sha256:" + trialID("retrained")}}
	if err := s.RecordTrial(ctx, retrain); err != nil {
		t.Fatal(err)
	}
	got3, err := s.Trial(ctx, r.ID)
	if err != nil {
		t.Fatal(err)
	}
	sortMetrics(retrain.Metrics)
	if !reflect.DeepEqual(got3.Metrics, retrain.Metrics) || !reflect.DeepEqual(got3.Artifacts, retrain.Artifacts) {
		t.Errorf("after the retrain: metrics %+v artifacts %+v, want %+v %+v", got3.Metrics, got3.Artifacts, retrain.Metrics, retrain.Artifacts)
	}
}

func jsonEqual(t *testing.T, a, b []byte) bool {
	t.Helper()
	var x, y any
	if err := json.Unmarshal(a, &x); err != nil {
		t.Fatalf("%s: %v", a, err)
	}
	if err := json.Unmarshal(b, &y); err != nil {
		t.Fatalf("%s: %v", b, err)
	}
	return reflect.DeepEqual(x, y)
}

func TestRecordTrialInvalid(t *testing.T) {
	needServer(t)
	s := openTest(t, testDSN, DefaultOptions())
	good := sampleTrial(t.Name(), 1, StatusSucceeded, 0.5)
	tests := []struct {
		name   string
		change func(*TrialRecord)
		want   string
	}{
		{"no id", func(r *TrialRecord) { r.ID = "" }, "trial id is empty"},
		{"no experiment", func(r *TrialRecord) { r.Experiment = "" }, "experiment name is empty"},
		{"bad status", func(r *TrialRecord) { r.Status = "done" }, `status "done"`},
		{"no status", func(r *TrialRecord) { r.Status = "" }, `status ""`},
		{"bad config", func(r *TrialRecord) { r.Config = json.RawMessage(`{"lr":`) }, "config is not valid JSON"},
		{"bad sweep point", func(r *TrialRecord) { r.SweepPoint = json.RawMessage(`x`) }, "sweep point is not valid JSON"},
		{"metric without name", func(r *TrialRecord) { r.Metrics = []Metric{{Step: -1}} }, "empty name"},
		{"metric step -2", func(r *TrialRecord) { r.Metrics = []Metric{{Name: "a", Step: -2}} }, "step -2"},
		{"duplicate metric", func(r *TrialRecord) {
			r.Metrics = []Metric{{Name: "a", Step: 3, Value: 1}, {Name: "a", Step: 3, Value: 2}}
		}, `metric "a" at step 3 is given twice`},
		{"artifact without ref", func(r *TrialRecord) { r.Artifacts = []Artifact{{Kind: "model"}} }, "needs both a kind and a ref"},
		{"duplicate artifact", func(r *TrialRecord) {
			r.Artifacts = []Artifact{{Kind: "model", Ref: "x"}, {Kind: "model", Ref: "x"}}
		}, "given twice"},
		{"other experiment", func(r *TrialRecord) {
			r.ID = trialID(t.Name(), "shared")
			r.Experiment = t.Name() + "-other"
		}, "already recorded under another experiment"},
	}
	// the trial the "other experiment" case collides with
	owner := good
	owner.ID = trialID(t.Name(), "shared")
	if err := s.RecordTrial(context.Background(), owner); err != nil {
		t.Fatal(err)
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := good
			r.Metrics = append([]Metric(nil), good.Metrics...)
			tt.change(&r)
			err := s.RecordTrial(context.Background(), r)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("RecordTrial() error = %v, want one containing %q", err, tt.want)
			}
			if !strings.HasPrefix(err.Error(), "recording trial ") {
				t.Errorf("error %q does not say what was being done", err)
			}
		})
	}
	var n int
	if err := s.pool.QueryRow(context.Background(), `SELECT count(*) FROM trials WHERE experiment = $1`,
		t.Name()+"-other").Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != 0 {
		t.Errorf("a rejected record left %d rows", n)
	}
}

func TestLeaderboard(t *testing.T) {
	needServer(t)
	ctx := context.Background()
	s := openTest(t, testDSN, DefaultOptions())
	exp := t.Name()
	accs := []float64{0.7, 0.9, 0.8, 0.9, math.NaN(), 0.6}
	var ids []string
	for i, a := range accs {
		r := sampleTrial(exp, i, StatusSucceeded, a)
		ids = append(ids, r.ID)
		if err := s.RecordTrial(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	// neither a failed trial nor another experiment's trial is ranked
	if err := s.RecordTrial(ctx, sampleTrial(exp, 10, StatusFailed, 0.99)); err != nil {
		t.Fatal(err)
	}
	if err := s.RecordTrial(ctx, sampleTrial(exp+"-other", 11, StatusSucceeded, 1.0)); err != nil {
		t.Fatal(err)
	}
	// ties (trials 1 and 3 at 0.9) go to the one that finished first (trial 1)
	tests := []struct {
		name   string
		metric string
		higher bool
		limit  int
		want   []int // indexes into ids
	}{
		{"accuracy higher is better", "accuracy", true, 0, []int{1, 3, 2, 0, 5}},
		{"accuracy top 2", "accuracy", true, 2, []int{1, 3}},
		{"loss lower is better", "loss", false, 3, []int{1, 3, 2}},
		{"accuracy lower is better", "accuracy", false, 0, []int{5, 0, 2, 1, 3}},
		{"unknown metric", "nope", true, 0, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := s.Leaderboard(ctx, exp, tt.metric, tt.higher, tt.limit)
			if err != nil {
				t.Fatal(err)
			}
			var gotIDs, wantIDs []string
			for i, e := range got {
				gotIDs = append(gotIDs, e.TrialID)
				if e.Rank != i+1 {
					t.Errorf("entry %d has rank %d", i, e.Rank)
				}
			}
			for _, i := range tt.want {
				wantIDs = append(wantIDs, ids[i])
			}
			if !reflect.DeepEqual(gotIDs, wantIDs) {
				t.Errorf("Leaderboard() = %v\nwant %v", gotIDs, wantIDs)
			}
		})
	}

	best, err := s.Best(ctx, exp, "accuracy", true)
	if err != nil {
		t.Fatal(err)
	}
	if best.TrialID != ids[1] || best.Value != 0.9 || best.MLflowRunID != "run-1" || best.FinishedAt.IsZero() ||
		!jsonEqual(t, best.SweepPoint, []byte(`{"seed": 1}`)) {
		t.Errorf("Best() = %+v, want trial 1 with 0.9", best)
	}
	if _, err := s.Best(ctx, exp, "nope", true); !errors.Is(err, ErrNotFound) {
		t.Errorf("Best() of an unknown metric: error = %v, want ErrNotFound", err)
	}
}

func TestFinishedTrials(t *testing.T) {
	needServer(t)
	ctx := context.Background()
	s := openTest(t, testDSN, DefaultOptions())
	exp := t.Name()
	var want []string
	for i, st := range []Status{StatusSucceeded, StatusFailed, StatusRunning, StatusSucceeded, StatusPending} {
		r := sampleTrial(exp, i, st, 0.5)
		if st == StatusSucceeded {
			want = append(want, r.ID)
		}
		if err := s.RecordTrial(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	if want[0] > want[1] {
		want[0], want[1] = want[1], want[0]
	}
	got, err := s.FinishedTrials(ctx, exp)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("FinishedTrials() = %v, want %v", got, want)
	}
	if got, err := s.FinishedTrials(ctx, exp+"-none"); err != nil || len(got) != 0 {
		t.Errorf("FinishedTrials() of an unknown experiment = %v, %v; want none", got, err)
	}
	all, err := s.Trials(ctx, exp)
	if err != nil || len(all) != 5 {
		t.Fatalf("Trials() = %d trials (%v), want 5", len(all), err)
	}
	statuses := map[Status]int{}
	for i, r := range all {
		statuses[r.Status]++
		var sweep map[string]any
		if i > 0 && all[i-1].ID >= r.ID || r.Experiment != exp || json.Unmarshal(r.SweepPoint, &sweep) != nil || sweep["seed"] == nil ||
			!strings.HasPrefix(r.MLflowRunID, "run-") || r.FinishedAt.IsZero() {
			t.Errorf("Trials()[%d] = %+v", i, r)
		}
	}
	if statuses[StatusSucceeded] != 2 || statuses[StatusFailed] != 1 {
		t.Errorf("Trials() statuses %v", statuses)
	}
	if _, err := s.Trial(ctx, trialID("missing")); !errors.Is(err, ErrNotFound) {
		t.Errorf("Trial() of a missing id: error = %v, want ErrNotFound", err)
	}
}

// TestMigrateOnce runs many migrators at once on a fresh database: each
// migration is applied exactly once and a rerun changes nothing.
func TestMigrateOnce(t *testing.T) {
	needServer(t)
	ctx := context.Background()
	dsn, drop, err := createDatabase(serverDSN)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(drop)
	ms, err := Migrations()
	if err != nil {
		t.Fatal(err)
	}
	if len(ms) == 0 || ms[0].Version != 1 {
		t.Fatalf("Migrations() = %+v, want versions from 1", ms)
	}
	const migrators = 8
	var wg sync.WaitGroup
	errs := make([]error, migrators)
	for i := range migrators {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s, err := Open(ctx, dsn, DefaultOptions())
			if err != nil {
				errs[i] = err
				return
			}
			defer s.Close()
			errs[i] = s.Migrate(ctx)
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatal(err)
	}
	s := openTest(t, dsn, DefaultOptions())
	type row struct {
		Version   int
		AppliedAt time.Time
	}
	read := func() []row {
		rows, err := s.pool.Query(ctx, `SELECT version, applied_at FROM schema_migrations ORDER BY version`)
		if err != nil {
			t.Fatal(err)
		}
		rs, err := pgx.CollectRows(rows, pgx.RowToStructByPos[row])
		if err != nil {
			t.Fatal(err)
		}
		return rs
	}
	before := read()
	if len(before) != len(ms) {
		t.Fatalf("schema_migrations has %d rows, want %d: %+v", len(before), len(ms), before)
	}
	for i, r := range before {
		if r.Version != ms[i].Version {
			t.Errorf("schema_migrations row %d is version %d, want %d", i, r.Version, ms[i].Version)
		}
	}
	if err := s.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	if after := read(); !reflect.DeepEqual(after, before) {
		t.Errorf("a second Migrate changed schema_migrations: %+v -> %+v", before, after)
	}
	if v, err := s.SchemaVersion(ctx); err != nil || v != ms[len(ms)-1].Version {
		t.Errorf("SchemaVersion() = %d, %v; want %d", v, err, ms[len(ms)-1].Version)
	}

	// a released migration that changed is refused
	if _, err := s.pool.Exec(ctx, `UPDATE schema_migrations SET checksum = 'x' WHERE version = 1`); err != nil {
		t.Fatal(err)
	}
	if err := s.Migrate(ctx); err == nil || !strings.Contains(err.Error(), "must not change") {
		t.Errorf("Migrate() with a changed migration: error = %v, want a checksum error", err)
	}
}

func TestOpenWithoutDSN(t *testing.T) {
	t.Setenv("DATABASE_URL", "")
	if _, err := Open(context.Background(), "", DefaultOptions()); err == nil || !strings.Contains(err.Error(), "DATABASE_URL") {
		t.Errorf("Open(\"\") without DATABASE_URL: error = %v, want one naming DATABASE_URL", err)
	}
	if _, err := Open(context.Background(), "postgres://a:b@[::1", DefaultOptions()); err == nil ||
		!strings.HasPrefix(err.Error(), "opening results database") {
		t.Errorf("Open() of a bad DSN: error = %v", err)
	}
}

func TestRetryable(t *testing.T) {
	tests := []struct {
		err  error
		want bool
	}{
		{nil, false},
		{context.Canceled, false},
		{fmt.Errorf("x: %w", context.DeadlineExceeded), false},
		{&pgconn.PgError{Code: "57P01"}, true},
		{&pgconn.PgError{Code: "08006"}, true},
		{&pgconn.PgError{Code: "40001"}, true},
		{&pgconn.PgError{Code: "23505"}, false}, // unique violation
		{&pgconn.PgError{Code: "42P01"}, false}, // undefined table
		{fmt.Errorf("reading: %w", io.ErrUnexpectedEOF), true},
		{&net.OpError{Op: "dial", Err: syscall.ECONNREFUSED}, true},
		{fmt.Errorf("write: %w", syscall.EPIPE), true},
		{errors.New("conn closed"), true},
		{errors.New("the trial is already recorded"), false},
	}
	for _, tt := range tests {
		if got := retryable(tt.err); got != tt.want {
			t.Errorf("retryable(%v) = %v, want %v", tt.err, got, tt.want)
		}
	}
}

func TestRetryGivesUp(t *testing.T) {
	s := &Store{opts: Options{RetryTimeout: 200 * time.Millisecond, RetryInitial: 10 * time.Millisecond, RetryMax: 20 * time.Millisecond}}
	tries := 0
	err := s.retry(context.Background(), func(context.Context) error { tries++; return io.ErrUnexpectedEOF })
	if err == nil || !strings.Contains(err.Error(), "giving up after") || tries < 5 {
		t.Errorf("retry() = %v after %d tries, want giving up after several", err, tries)
	}
	tries = 0
	err = s.retry(context.Background(), func(context.Context) error { tries++; return &pgconn.PgError{Code: "23505"} })
	if err == nil || tries != 1 {
		t.Errorf("retry() of a permanent error tried %d times (%v), want 1", tries, err)
	}
}
