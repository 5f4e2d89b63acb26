package publish

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// The real registry of the integration test, set once by TestMain.
var (
	// realRegistry is host:port of a real registry process ("" when skipped).
	realRegistry string
	// skipReason is set when PARAK8S_SKIP_SERVERS=1 and no registry could be had.
	skipReason string
)

// envRegistry names the registry the integration test uses when set.
const envRegistry = "OCI_REGISTRY"

func TestMain(m *testing.M) { os.Exit(runMain(m)) }

func runMain(m *testing.M) int {
	realRegistry = os.Getenv(envRegistry)
	if realRegistry != "" {
		return m.Run()
	}
	root, err := findRepoRoot()
	if err != nil {
		fmt.Fprintln(os.Stderr, "publish tests:", err)
		return 1
	}
	script := filepath.Join(root, "scripts", "registry.sh")
	wasRunning := exec.Command(script, "status").Run() == nil
	out, err := runScript(script, "start")
	if err != nil {
		if os.Getenv("PARAK8S_SKIP_SERVERS") == "1" {
			skipReason = fmt.Sprintf("no registry process (PARAK8S_SKIP_SERVERS=1): %v", err)
			return m.Run()
		}
		fmt.Fprintf(os.Stderr, "publish tests: starting a registry with scripts/registry.sh failed (set %s, or PARAK8S_SKIP_SERVERS=1 to skip): %v\n",
			envRegistry, err)
		return 1
	}
	for _, line := range strings.Split(out, "\n") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), "export "+envRegistry+"="); ok {
			realRegistry = v
		}
	}
	if realRegistry == "" {
		fmt.Fprintf(os.Stderr, "publish tests: scripts/registry.sh start printed no %s: %q\n", envRegistry, out)
		return 1
	}
	code := m.Run()
	if !wasRunning {
		if _, err := runScript(script, "stop"); err != nil {
			fmt.Fprintln(os.Stderr, "publish tests: stopping the registry:", err)
		}
	}
	return code
}

func runScript(script string, args ...string) (string, error) {
	cmd := exec.Command(script, args...)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("%s %s: %w\n%s", script, strings.Join(args, " "), err, stderr.String())
	}
	return string(out), nil
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

func needRegistry(t testing.TB) {
	t.Helper()
	if skipReason != "" {
		t.Skip(skipReason)
	}
}
