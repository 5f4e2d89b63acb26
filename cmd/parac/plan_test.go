package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"parak8s.dev/parak8s/compiler"
	"parak8s.dev/parak8s/internal/testenv"
	"parak8s.dev/parak8s/runtime/local"
	"parak8s.dev/parak8s/runtime/results"
	"parak8s.dev/parak8s/runtime/step"
)

// database returns the DSN of a fresh database on the test PostgreSQL
// (DATABASE_URL, else the one scripts/postgres.sh starts), dropped after
// the test.
func database(t *testing.T) string {
	t.Helper()
	base := os.Getenv(step.EnvDatabaseURL)
	if base == "" {
		dsn, stop, err := testenv.Server{Script: "postgres.sh", Export: step.EnvDatabaseURL}.Start()
		if err != nil {
			if testenv.SkipServers() {
				t.Skipf("no PostgreSQL: %v", err)
			}
			t.Fatalf("starting PostgreSQL with scripts/postgres.sh (or set %s=1 to skip): %v", testenv.EnvSkipServers, err)
		}
		t.Cleanup(func() { stop() })
		base = dsn
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, base)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	name := fmt.Sprintf("parac_plan_test_%d_%d", os.Getpid(), rand.Uint32())
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+name); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if c, err := pgx.Connect(ctx, base); err == nil {
			c.Exec(ctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)")
			c.Close(ctx)
		}
	})
	u, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	u.Path = "/" + name
	return u.String()
}

// TestPlanReadsFinishedTrialsFromTheDatabase records one trial as succeeded
// in a real PostgreSQL and checks that parac plan counts it as finished.
func TestPlanReadsFinishedTrialsFromTheDatabase(t *testing.T) {
	dsn := database(t)
	dir := t.TempDir()
	spec := filepath.Join(dir, "exp.cue")
	src := `name: "plan-db"
data: source: {kind: "wfdb", path: "/d"}
model: kind: "deepcnn1d"
sweep: parameters: [{path: "model.dropout", values: [0.1, 0.2, 0.3]}]
`
	if err := os.WriteFile(spec, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	res, err := compiler.Plan(spec, compiler.DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	p := res[0].Plan
	ctx := context.Background()
	store, err := results.Open(ctx, dsn, results.DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	done := p.Trials[1]
	for _, r := range []results.TrialRecord{
		{ID: done.ID, Experiment: "plan-db", Config: done.Config, Status: results.StatusSucceeded},
		{ID: p.Trials[2].ID, Experiment: "plan-db", Config: p.Trials[2].Config, Status: results.StatusFailed},
	} {
		if err := store.RecordTrial(ctx, r); err != nil {
			t.Fatal(err)
		}
	}

	t.Setenv(step.EnvDatabaseURL, dsn)
	var out bytes.Buffer
	f := &localFlags{compiler: compiler.DefaultOptions(), workdir: filepath.Join(dir, local.DefaultWorkDir)}
	if err := showPlan(ctx, &out, io.Discard, p, f); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		`(?m)^` + done.Short() + ` +finished \(database\) `,
		`(?m)^` + p.Trials[2].Short() + ` +new `,
		`(?m)^new: 2 trials, 1 dataset to prepare`,
		`(?m)^finished: 1 \(work dir 0, database 1\)$`,
	} {
		if !regexp.MustCompile(want).Match(out.Bytes()) {
			t.Errorf("plan output lacks %s:\n%s", want, out.String())
		}
	}

	// An unreachable database is an error, not an empty answer.
	t.Setenv(step.EnvDatabaseURL, "postgres://nobody@127.0.0.1:1/none?sslmode=disable&connect_timeout=1")
	if err := showPlan(ctx, io.Discard, io.Discard, p, f); err == nil {
		t.Error("plan with an unreachable DATABASE_URL should fail")
	}
}
