package results

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"parak8s.dev/parak8s/runtime/step"
)

// The test servers, set once by TestMain.
var (
	// testDSN is a fresh database created for this test binary.
	testDSN string
	// serverDSN is the server's maintenance database (for creating more).
	serverDSN string
	// repoRoot is the module root (scripts/ lives there).
	repoRoot string
	// skipReason is set when PARAK8S_SKIP_SERVERS=1 and no server could be had.
	skipReason string
)

func TestMain(m *testing.M) { os.Exit(runMain(m)) }

func runMain(m *testing.M) int {
	var err error
	repoRoot, err = findRepoRoot()
	if err != nil {
		fmt.Fprintln(os.Stderr, "results tests:", err)
		return 1
	}
	base := os.Getenv(step.EnvDatabaseURL)
	if base == "" {
		_, statusErr := runScript("postgres.sh", nil, "status")
		wasRunning := statusErr == nil
		out, err := runScript("postgres.sh", nil, "start")
		if err != nil {
			if os.Getenv("PARAK8S_SKIP_SERVERS") == "1" {
				skipReason = fmt.Sprintf("no PostgreSQL (PARAK8S_SKIP_SERVERS=1): %v", err)
				return m.Run()
			}
			fmt.Fprintf(os.Stderr, "results tests: starting PostgreSQL with scripts/postgres.sh failed (set %s, or PARAK8S_SKIP_SERVERS=1 to skip): %v\n",
				step.EnvDatabaseURL, err)
			return 1
		}
		base = exportValue(out, step.EnvDatabaseURL)
		defer func() {
			if wasRunning {
				return // someone else's server: leave it running
			}
			if _, err := runScript("postgres.sh", nil, "stop"); err != nil {
				fmt.Fprintln(os.Stderr, "results tests: stopping PostgreSQL:", err)
			}
		}()
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

func findRepoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", fmt.Errorf("finding the repository root: %w", err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("finding the repository root: no go.mod above the working directory")
		}
		dir = parent
	}
}

// runScript runs scripts/<name> with args and extra environment, returning stdout.
func runScript(name string, env []string, args ...string) (string, error) {
	cmd := exec.Command(filepath.Join(repoRoot, "scripts", name), args...)
	cmd.Env = append(os.Environ(), env...)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("scripts/%s %s: %w\n%s", name, strings.Join(args, " "), err, stderr.String())
	}
	return string(out), nil
}

// exportValue returns VALUE from an `export NAME=VALUE` line of out.
func exportValue(out, name string) string {
	for _, line := range strings.Split(out, "\n") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), "export "+name+"="); ok {
			return v
		}
	}
	return ""
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
