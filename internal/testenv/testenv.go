package testenv

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

// EnvSkipServers names the variable that, set to 1, lets tests that need a
// real server skip when none can be started (CI never sets it).
const EnvSkipServers = "PARAK8S_SKIP_SERVERS"

// SkipServers reports whether EnvSkipServers is set.
func SkipServers() bool { return os.Getenv(EnvSkipServers) == "1" }

// walkUp returns the first directory, from the working directory upwards,
// for which ok holds.
func walkUp(ok func(dir string) bool) (string, bool) {
	dir, err := os.Getwd()
	if err != nil {
		return "", false
	}
	for {
		if ok(dir) {
			return dir, true
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", false
		}
		dir = parent
	}
}

// RepoRoot returns the module root: the nearest directory above the working
// directory that holds go.mod.
func RepoRoot() (string, error) {
	dir, ok := walkUp(func(d string) bool {
		_, err := os.Stat(filepath.Join(d, "go.mod"))
		return err == nil
	})
	if !ok {
		return "", errors.New("finding the repository root: no go.mod above the working directory")
	}
	return dir, nil
}

// FindData returns shared/data/<name> from the nearest parent directory that
// has it (the repository sits next to shared/), or "" when none does. marker,
// when not empty, is a file the data set must contain.
func FindData(name, marker string) string {
	dir, ok := walkUp(func(d string) bool {
		st, err := os.Stat(filepath.Join(d, "shared", "data", name, marker))
		return err == nil && (marker == "") == st.IsDir()
	})
	if !ok {
		return ""
	}
	return filepath.Join(dir, "shared", "data", name)
}

// Data is FindData that skips the test when the data set is absent.
func Data(tb testing.TB, name, marker string) string {
	tb.Helper()
	d := FindData(name, marker)
	if d == "" {
		tb.Skipf("real data shared/data/%s not found in any parent folder; skipping", name)
	}
	return d
}

// MITDB is the MIT-BIH data set (skips when absent).
func MITDB(tb testing.TB) string {
	tb.Helper()
	return Data(tb, "mitdb", "RECORDS")
}

// Pneumonia is the PneumoniaMNIST image folders (skips when absent).
func Pneumonia(tb testing.TB) string {
	tb.Helper()
	return Data(tb, "pneumoniamnist", "")
}

// Script runs scripts/<name> with args and extra environment and returns its
// standard output.
func Script(name string, env []string, args ...string) (string, error) {
	root, err := RepoRoot()
	if err != nil {
		return "", err
	}
	cmd := exec.Command(filepath.Join(root, "scripts", name), args...)
	cmd.Env = append(os.Environ(), env...)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("scripts/%s %s: %w\n%s", name, strings.Join(args, " "), err, tail(stderr.String(), 40))
	}
	return string(out), nil
}

func tail(s string, lines int) string {
	l := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(l) > lines {
		l = l[len(l)-lines:]
	}
	return strings.Join(l, "\n")
}

// ExportValue returns VALUE from an `export NAME=VALUE` line of out.
func ExportValue(out, name string) string {
	for _, line := range strings.Split(out, "\n") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), "export "+name+"="); ok {
			return v
		}
	}
	return ""
}

// Server is a real server started by one of the scripts in scripts/, which
// all take start|stop|status and print `export VAR=VALUE` on start.
type Server struct {
	// Script is the file name under scripts/, e.g. "postgres.sh".
	Script string
	// Env is extra environment for the script (ports, state folders).
	Env []string
	// Export is the variable the script prints on start.
	Export string
}

// Start starts the server (installing it when the script must) and returns
// the value of its Export variable and a function that stops it again, unless
// it was already running before Start.
func (s Server) Start() (value string, stop func() error, err error) {
	_, statusErr := Script(s.Script, s.Env, "status")
	wasRunning := statusErr == nil
	out, err := Script(s.Script, s.Env, "start")
	if err != nil {
		return "", nil, err
	}
	value = ExportValue(out, s.Export)
	stop = func() error {
		if wasRunning {
			return nil // someone else's server: leave it running
		}
		_, err := Script(s.Script, s.Env, "stop")
		return err
	}
	if value == "" {
		stop()
		return "", nil, fmt.Errorf("scripts/%s start printed no %s: %q", s.Script, s.Export, out)
	}
	return value, stop, nil
}

// CopyImages copies about n images of an image split folder (CLASS/*) into
// dst, keeping the class proportions: the first files of each class in name
// order. Tests use it to train on a slice of a real data set.
func CopyImages(tb testing.TB, src, dst string, n int) {
	tb.Helper()
	classes, err := os.ReadDir(src)
	if err != nil {
		tb.Fatal(err)
	}
	files := map[string][]string{}
	total := 0
	for _, c := range classes {
		if !c.IsDir() {
			continue
		}
		names, err := filepath.Glob(filepath.Join(src, c.Name(), "*"))
		if err != nil {
			tb.Fatal(err)
		}
		sort.Strings(names)
		files[c.Name()] = names
		total += len(names)
	}
	for c, names := range files {
		k := max(1, n*len(names)/max(total, 1))
		if err := os.MkdirAll(filepath.Join(dst, c), 0o755); err != nil {
			tb.Fatal(err)
		}
		var base []string
		for _, f := range names[:min(k, len(names))] {
			base = append(base, filepath.Base(f))
		}
		CopyFiles(tb, filepath.Join(src, c), filepath.Join(dst, c), base...)
	}
}

// CopyFiles copies the named files of folder src into dst, creating it.
func CopyFiles(tb testing.TB, src, dst string, names ...string) {
	tb.Helper()
	if err := os.MkdirAll(dst, 0o755); err != nil {
		tb.Fatal(err)
	}
	for _, n := range names {
		b, err := os.ReadFile(filepath.Join(src, n))
		if err != nil {
			tb.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dst, n), b, 0o644); err != nil {
			tb.Fatal(err)
		}
	}
}

// CopyRecords copies WFDB records (header, signal, annotations) from src
// into dst, creating it.
func CopyRecords(tb testing.TB, src, dst string, records ...string) {
	tb.Helper()
	var names []string
	for _, r := range records {
		names = append(names, r+".hea", r+".dat", r+".atr")
	}
	CopyFiles(tb, src, dst, names...)
}

// GoBuild runs `go build ARGS…` with extra environment (e.g. CGO_ENABLED=0)
// in the test's working directory; the error carries the compiler's output.
func GoBuild(env []string, args ...string) error {
	cmd := exec.Command("go", append([]string{"build"}, args...)...)
	cmd.Env = append(os.Environ(), env...)
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("go build %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return nil
}

// NeedLibtorch skips a test that builds the libtorch (cgo) step program when
// the cgo environment of scripts/cgo-env.sh is not set, and fails it under
// CI, where `make test` always sets it.
func NeedLibtorch(tb testing.TB) {
	tb.Helper()
	if os.Getenv("LIBTORCH") != "" && os.Getenv("CGO_LDFLAGS") != "" {
		return
	}
	msg := "no libtorch cgo environment to build the step program with (run it through make test, or eval \"$(scripts/cgo-env.sh)\" first)"
	if os.Getenv("CI") != "" {
		tb.Fatal(msg)
	}
	tb.Skip(msg)
}
