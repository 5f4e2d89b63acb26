package results

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"parak8s.dev/parak8s/internal/testenv"
	"parak8s.dev/parak8s/runtime/step"
)

// TestRecordTrialSurvivesRestart restarts the server while several
// goroutines record trials: every call must succeed, and afterwards every
// trial is stored exactly once with all its metrics. The server is a
// private one (its own port and state dir), so restarting it disturbs no
// other test package.
func TestRecordTrialSurvivesRestart(t *testing.T) {
	needServer(t)
	if testing.Short() {
		t.Skip("starts a second PostgreSQL; skipped with -short")
	}
	port := os.Getenv("PARAK8S_TEST_PG_RESTART_PORT")
	if port == "" {
		port = "55439"
	}
	env := []string{"PGPORT=" + port, "PARAK8S_PG_STATE=" + filepath.Join(os.TempDir(), "parak8s-pg-restart-test-"+port)}
	out, err := testenv.Script("postgres.sh", env, "start")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if _, err := testenv.Script("postgres.sh", env, "stop"); err != nil {
			t.Error(err)
		}
	})
	dsn, drop, err := createDatabase(testenv.ExportValue(out, step.EnvDatabaseURL))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(drop)

	ctx, cancel := context.WithTimeout(context.Background(), 45*time.Second)
	defer cancel()
	s := openTest(t, dsn, DefaultOptions())
	if err := s.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	exp := t.Name()
	const workers = 4
	var (
		next     atomic.Int64 // the next trial index to record
		recorded atomic.Int64 // calls that returned nil
		stop     atomic.Bool
		wg       sync.WaitGroup
		errMu    sync.Mutex
		errs     []error
	)
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for !stop.Load() {
				i := int(next.Add(1) - 1)
				if err := s.RecordTrial(ctx, sampleTrial(exp, i, StatusSucceeded, float64(i))); err != nil {
					errMu.Lock()
					errs = append(errs, err)
					errMu.Unlock()
					return
				}
				recorded.Add(1)
			}
		}()
	}
	waitFor := func(n int64) {
		for recorded.Load() < n && ctx.Err() == nil {
			errMu.Lock()
			failed := len(errs) > 0
			errMu.Unlock()
			if failed {
				return
			}
			time.Sleep(time.Millisecond)
		}
	}
	begin := time.Now()
	waitFor(200)
	rate := float64(recorded.Load()) / time.Since(begin).Seconds()
	before := recorded.Load()
	if _, err := testenv.Script("postgres.sh", env, "restart"); err != nil {
		stop.Store(true)
		wg.Wait()
		t.Fatal(err)
	}
	waitFor(recorded.Load() + 200)
	stop.Store(true)
	wg.Wait()
	if len(errs) > 0 {
		t.Fatalf("RecordTrial failed across the restart: %v", errs)
	}
	total := int(next.Load())
	t.Logf("%d trials recorded (%d before the restart, %.0f RecordTrial/s with %d workers), %d retries",
		total, before, rate, workers, s.Stats().Retries)
	if s.Stats().Retries == 0 {
		t.Fatal("no call was retried: the restart did not happen while recording")
	}
	if int(recorded.Load()) != total {
		t.Fatalf("%d calls succeeded of %d made", recorded.Load(), total)
	}

	// every trial exactly once, with all of its metrics and its artifact
	var trials, distinct, metrics, artifacts int
	err = s.pool.QueryRow(ctx, `SELECT count(*), count(DISTINCT id),
		(SELECT count(*) FROM metrics m JOIN trials t ON t.id = m.trial_id WHERE t.experiment = $1),
		(SELECT count(*) FROM artifacts a JOIN trials t ON t.id = a.trial_id WHERE t.experiment = $1)
		FROM trials WHERE experiment = $1`, exp).Scan(&trials, &distinct, &metrics, &artifacts)
	if err != nil {
		t.Fatal(err)
	}
	if trials != total || distinct != total || metrics != 4*total || artifacts != total {
		t.Errorf("stored %d trials (%d distinct), %d metrics, %d artifacts; want %d, %d, %d, %d",
			trials, distinct, metrics, artifacts, total, total, 4*total, total)
	}
	for i := range total {
		id := trialID(exp, i)
		var acc float64
		if err := s.pool.QueryRow(ctx, `SELECT value FROM metrics WHERE trial_id = $1 AND name = 'accuracy' AND step = -1`,
			id).Scan(&acc); err != nil || acc != float64(i) {
			t.Fatalf("trial %d: accuracy = %v, %v; want %d", i, acc, err, i)
		}
	}
}

func BenchmarkRecordTrial(b *testing.B) {
	needServer(b)
	ctx := context.Background()
	s := openTest(b, testDSN, DefaultOptions())
	exp := fmt.Sprintf("%s-%d", b.Name(), time.Now().UnixNano())
	if err := s.Migrate(ctx); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		if err := s.RecordTrial(ctx, sampleTrial(exp, i, StatusSucceeded, 0.5)); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "trials/s")
}
