package results

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/url"
	"os"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"parak8s.dev/parak8s/internal/testenv"
	"parak8s.dev/parak8s/runtime/step"
)

// The test servers, set once by TestMain.
var (
	// testDSN is a fresh database created for this test binary.
	testDSN string
	// serverDSN is the server's maintenance database (for creating more).
	serverDSN string
	// skipReason is set when servers may be skipped and no server could be had.
	skipReason string
)

func TestMain(m *testing.M) { os.Exit(runMain(m)) }

func runMain(m *testing.M) int {
	base := os.Getenv(step.EnvDatabaseURL)
	if base == "" {
		dsn, stop, err := testenv.Server{Script: "postgres.sh", Export: step.EnvDatabaseURL}.Start()
		if err != nil {
			if testenv.SkipServers() {
				skipReason = fmt.Sprintf("no PostgreSQL (%s=1): %v", testenv.EnvSkipServers, err)
				return m.Run()
			}
			fmt.Fprintf(os.Stderr, "results tests: starting PostgreSQL with scripts/postgres.sh failed (set %s, or %s=1 to skip): %v\n",
				step.EnvDatabaseURL, testenv.EnvSkipServers, err)
			return 1
		}
		defer func() {
			if err := stop(); err != nil {
				fmt.Fprintln(os.Stderr, "results tests: stopping PostgreSQL:", err)
			}
		}()
		base = dsn
	}
	serverDSN = base
	// a database of our own, so parallel packages and reruns never see each other's rows
	dsn, drop, err := createDatabase(base)
	if err != nil {
		fmt.Fprintln(os.Stderr, "results tests:", err)
		return 1
	}
	defer drop()
	testDSN = dsn
	return m.Run()
}

func needServer(t testing.TB) {
	t.Helper()
	if skipReason != "" {
		t.Skip(skipReason)
	}
}

// createDatabase creates a uniquely named database on base's server and
// returns its DSN and a function dropping it.
func createDatabase(base string) (string, func(), error) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	u, err := url.Parse(base)
	if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
		return "", nil, fmt.Errorf("the test needs a postgres:// URL, got %q", base)
	}
	name := fmt.Sprintf("parak8s_results_test_%d_%d", os.Getpid(), rand.Uint32())
	conn, err := pgx.Connect(ctx, base)
	if err != nil {
		return "", nil, fmt.Errorf("connecting to %s: %w", u.Redacted(), err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+name); err != nil {
		return "", nil, fmt.Errorf("creating test database %s: %w", name, err)
	}
	u.Path = "/" + name
	drop := func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		conn, err := pgx.Connect(ctx, base)
		if err != nil {
			fmt.Fprintln(os.Stderr, "results tests: dropping test database:", err)
			return
		}
		defer conn.Close(ctx)
		if _, err := conn.Exec(ctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)"); err != nil {
			fmt.Fprintln(os.Stderr, "results tests: dropping test database:", err)
		}
	}
	return u.String(), drop, nil
}

// openTest opens a store on the test database, closed at the end of the test.
func openTest(t testing.TB, dsn string, opts Options) *Store {
	t.Helper()
	s, err := Open(context.Background(), dsn, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	return s
}
