package publish

import (
	"fmt"
	"os"
	"testing"

	"parak8s.dev/parak8s/internal/testenv"
)

// The real registry of the integration test, set once by TestMain.
var (
	// realRegistry is host:port of a real registry process ("" when skipped).
	realRegistry string
	// skipReason is set when servers may be skipped and no registry could be had.
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
	addr, stop, err := testenv.Server{Script: "registry.sh", Export: envRegistry}.Start()
	if err != nil {
		if testenv.SkipServers() {
			skipReason = fmt.Sprintf("no registry process (%s=1): %v", testenv.EnvSkipServers, err)
			return m.Run()
		}
		fmt.Fprintf(os.Stderr, "publish tests: starting a registry with scripts/registry.sh failed (set %s, or %s=1 to skip): %v\n",
			envRegistry, testenv.EnvSkipServers, err)
		return 1
	}
	realRegistry = addr
	code := m.Run()
	if err := stop(); err != nil {
		fmt.Fprintln(os.Stderr, "publish tests: stopping the registry:", err)
	}
	return code
}

func needRegistry(t testing.TB) {
	t.Helper()
	if skipReason != "" {
		t.Skip(skipReason)
	}
}
