package tracking

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"parak8s.dev/parak8s/runtime/step"
)

// envSkipServers=1 skips the tests that need a real MLflow server when
// MLFLOW_TRACKING_URI is not set.
const envSkipServers = "PARAK8S_SKIP_SERVERS"

// TestMain starts a real MLflow server with scripts/mlflow.sh (installing
// it on first use) unless MLFLOW_TRACKING_URI names one, and stops it at
// the end.
func TestMain(m *testing.M) { os.Exit(testMain(m)) }

func testMain(m *testing.M) int {
	if os.Getenv(step.EnvMLflowURI) != "" || os.Getenv(envSkipServers) == "1" {
		return m.Run()
	}
	stop, err := startServer()
	if err != nil {
		fmt.Fprintf(os.Stderr, "runtime/tracking: the tests need a real MLflow server and could not start one: %v\n"+
			"  set %s to a running server, or %s=1 to skip the server tests\n", err, step.EnvMLflowURI, envSkipServers)
		return 1
	}
	code := m.Run()
	if err := stop(); err != nil {
		fmt.Fprintf(os.Stderr, "runtime/tracking: stopping the MLflow server: %v\n", err)
	}
	return code
}

func startServer() (stop func() error, err error) {
	root, err := repoRoot()
	if err != nil {
		return nil, err
	}
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	state, err := os.MkdirTemp("", "parak8s-mlflow-test-")
	if err != nil {
		return nil, fmt.Errorf("creating state dir: %w", err)
	}
	script := filepath.Join(root, "scripts", "mlflow.sh")
	env := append(os.Environ(), "MLFLOW_PORT="+strconv.Itoa(port), "MLFLOW_STATE="+state, "MLFLOW_WORKERS=2")
	run := func(arg string) ([]byte, error) {
		cmd := exec.Command("bash", script, arg)
		cmd.Env = env
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		out, err := cmd.Output()
		if err != nil {
			return out, fmt.Errorf("scripts/mlflow.sh %s: %w\n%s", arg, err, tail(stderr.String(), 40))
		}
		return out, nil
	}
	t0 := time.Now()
	out, err := run("start")
	if err != nil {
		os.RemoveAll(state)
		return nil, err
	}
	uri := ""
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "export "+step.EnvMLflowURI+"="); ok {
			uri = strings.TrimSpace(v)
		}
	}
	if uri == "" {
		run("stop")
		os.RemoveAll(state)
		return nil, fmt.Errorf("scripts/mlflow.sh start printed no %s line: %q", step.EnvMLflowURI, out)
	}
	fmt.Fprintf(os.Stderr, "runtime/tracking: mlflow server at %s ready in %s\n", uri, time.Since(t0).Round(time.Millisecond))
	os.Setenv(step.EnvMLflowURI, uri)
	return func() error {
		_, err := run("stop")
		os.RemoveAll(state)
		return err
	}, nil
}

func tail(s string, lines int) string {
	l := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(l) > lines {
		l = l[len(l)-lines:]
	}
	return strings.Join(l, "\n")
}

// repoRoot walks up from the working directory to the directory with go.mod.
func repoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", fmt.Errorf("finding repo root: %w", err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		} else if !errors.Is(err, os.ErrNotExist) {
			return "", fmt.Errorf("finding repo root: %w", err)
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", fmt.Errorf("finding repo root: no go.mod above the working directory")
		}
		dir = parent
	}
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("finding a free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// serverClient returns a client of the real server, or skips the test when
// servers are skipped.
func serverClient(t *testing.T, opts Options) *Client {
	t.Helper()
	if os.Getenv(step.EnvMLflowURI) == "" {
		if os.Getenv(envSkipServers) == "1" {
			t.Skipf("%s=1 and %s unset: no MLflow server", envSkipServers, step.EnvMLflowURI)
		}
		t.Fatalf("%s is not set", step.EnvMLflowURI)
	}
	c, err := NewFromEnv(opts)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// uniqueName returns a name no earlier test run used (the server may be
// shared).
func uniqueName(t *testing.T, what string) string {
	return fmt.Sprintf("parak8s-test-%s-%s-%d", strings.ReplaceAll(t.Name(), "/", "-"), what, time.Now().UnixNano())
}
