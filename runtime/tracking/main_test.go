package tracking

import (
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"parak8s.dev/parak8s/internal/testenv"
	"parak8s.dev/parak8s/runtime/step"
)

// TestMain starts a real MLflow server with scripts/mlflow.sh (installing
// it on first use) unless MLFLOW_TRACKING_URI names one, and stops it at
// the end.
func TestMain(m *testing.M) { os.Exit(testMain(m)) }

func testMain(m *testing.M) int {
	if os.Getenv(step.EnvMLflowURI) != "" || testenv.SkipServers() {
		return m.Run()
	}
	stop, err := startServer()
	if err != nil {
		fmt.Fprintf(os.Stderr, "runtime/tracking: the tests need a real MLflow server and could not start one: %v\n"+
			"  set %s to a running server, or %s=1 to skip the server tests\n", err, step.EnvMLflowURI, testenv.EnvSkipServers)
		return 1
	}
	code := m.Run()
	if err := stop(); err != nil {
		fmt.Fprintf(os.Stderr, "runtime/tracking: stopping the MLflow server: %v\n", err)
	}
	return code
}

// startServer starts a server of its own on a free port with a fresh state
// folder, and sets MLFLOW_TRACKING_URI for the tests.
func startServer() (stop func() error, err error) {
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	state, err := os.MkdirTemp("", "parak8s-mlflow-test-")
	if err != nil {
		return nil, fmt.Errorf("creating state dir: %w", err)
	}
	t0 := time.Now()
	uri, stopServer, err := testenv.Server{
		Script: "mlflow.sh",
		Env:    []string{"MLFLOW_PORT=" + strconv.Itoa(port), "MLFLOW_STATE=" + state, "MLFLOW_WORKERS=2"},
		Export: step.EnvMLflowURI,
	}.Start()
	if err != nil {
		os.RemoveAll(state)
		return nil, err
	}
	fmt.Fprintf(os.Stderr, "runtime/tracking: mlflow server at %s ready in %s\n", uri, time.Since(t0).Round(time.Millisecond))
	os.Setenv(step.EnvMLflowURI, uri)
	return func() error {
		err := stopServer()
		os.RemoveAll(state)
		return err
	}, nil
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
		if os.Getenv(testenv.EnvSkipServers) == "1" {
			t.Skipf("%s=1 and %s unset: no MLflow server", testenv.EnvSkipServers, step.EnvMLflowURI)
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
