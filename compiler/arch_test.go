package compiler_test

import (
	"encoding/json"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"parak8s.dev/parak8s/internal/testenv"
)

type pkg struct {
	ImportPath string
	Deps       []string
	CgoFiles   []string
	Standard   bool
}

func goList(t *testing.T, env []string, patterns ...string) []pkg {
	t.Helper()
	return list(t, env, append([]string{"-deps"}, patterns...)...)
}

// list runs go list -json with args; Deps are each package's transitive
// imports.
func list(t *testing.T, env []string, args ...string) []pkg {
	t.Helper()
	cmd := exec.Command("go", append([]string{"list", "-json"}, args...)...)
	cmd.Dir = ".."
	cmd.Env = append(os.Environ(), env...)
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	var pkgs []pkg
	dec := json.NewDecoder(strings.NewReader(string(out)))
	for {
		var p pkg
		if err := dec.Decode(&p); err == io.EOF {
			break
		} else if err != nil {
			t.Fatal(err)
		}
		pkgs = append(pkgs, p)
	}
	return pkgs
}

// paracRuntime are the runtime packages parac may import besides the
// contract: the local runner, the report and what they read, and publish
// for parac data push (none needs cgo).
var paracRuntime = []string{"local", "estimate", "report", "bundle", "eval", "plot", "results", "publish", "tracking",
	// parac data csv writes the beat CSV from WFDB records.
	"dataset", "data/digest", "data/wfdb", "data/ecg", "data/splitmix", "data/images", "data/loader"}

// heavy are packages parac must not link (see internal/argolint).
var heavy = []string{"github.com/argoproj/argo-workflows/v3/workflow/validate", "k8s.io/client-go/kubernetes", "k8s.io/client-go/kubernetes/scheme", "parak8s.dev/parak8s/internal/argolint"}

// compilerRuntime are the runtime packages a compiler package may import
// besides the contract: the local lowering builds the local runner's graph.
var compilerRuntime = map[string][]string{
	"parak8s.dev/parak8s/compiler/local": {"local", "bundle"},
}

// TestImportGraph enforces the house rules: the compiler imports no runtime
// package but the contract (runtime/step) — the local lowering also the
// local runner's graph (runtime/local) — and no command; parac only the
// local runner's cgo-free ones, neither anything that needs cgo or
// libtorch; the runtime never imports the compiler, a command or cobra
// (the steps are the runtime/steps library), and the contracts
// runtime/step and runtime/outcome need no cgo.
func TestImportGraph(t *testing.T) {
	allowed := func(path string, extra []string) bool {
		rest, ok := strings.CutPrefix(path, "parak8s.dev/parak8s/runtime/")
		return !ok || rest == "step" || slices.Contains(extra, rest)
	}
	for _, root := range list(t, []string{"CGO_ENABLED=1"}, "./compiler/...", "./templates", "./schema") {
		extra := compilerRuntime[root.ImportPath]
		for _, d := range root.Deps {
			if !allowed(d, extra) {
				t.Errorf("compiler side: %s imports %s", root.ImportPath, d)
			}
			if strings.HasPrefix(d, "parak8s.dev/parak8s/cmd/") {
				t.Errorf("compiler side: %s imports the command %s", root.ImportPath, d)
			}
		}
	}
	// The local lowering is pure Go, like the rest of the compiler.
	for _, p := range goList(t, []string{"CGO_ENABLED=1"}, "./compiler/local") {
		if !p.Standard && (len(p.CgoFiles) > 0 || strings.Contains(p.ImportPath, "gotch")) {
			t.Errorf("compiler/local depends on cgo package %s", p.ImportPath)
		}
	}
	for _, p := range goList(t, []string{"CGO_ENABLED=1"}, "./compiler/...", "./cmd/parac", "./templates", "./schema") {
		if p.Standard {
			continue
		}
		if !allowed(p.ImportPath, paracRuntime) {
			t.Errorf("parac imports %s", p.ImportPath)
		}
		if strings.Contains(p.ImportPath, "gotch") {
			t.Errorf("compiler side imports libtorch bindings %s", p.ImportPath)
		}
		if len(p.CgoFiles) > 0 {
			t.Errorf("compiler side depends on cgo package %s", p.ImportPath)
		}
		// Argo's validator and client-go's clientset add half again to
		// parac's size and double its start-up; the tests run the
		// validator (internal/argolint).
		if slices.Contains(heavy, p.ImportPath) {
			t.Errorf("parac links %s", p.ImportPath)
		}
	}
	for _, p := range goList(t, nil, "./runtime/...") {
		if strings.HasPrefix(p.ImportPath, "parak8s.dev/parak8s/compiler") {
			t.Errorf("runtime imports %s", p.ImportPath)
		}
	}
	// The steps are a library (runtime/steps): no runtime package imports
	// a command or the CLI framework; cmd/parak8s is only their wiring.
	for _, root := range list(t, []string{"CGO_ENABLED=1"}, "./runtime/...") {
		for _, d := range root.Deps {
			if strings.HasPrefix(d, "parak8s.dev/parak8s/cmd/") || strings.HasPrefix(d, "github.com/spf13/") {
				t.Errorf("runtime: %s imports %s", root.ImportPath, d)
			}
		}
	}
	// The metric-name contract the later steps share stays pure Go, like
	// the step contract: parac and reports may read it without libtorch.
	for _, p := range goList(t, []string{"CGO_ENABLED=1"}, "./runtime/step", "./runtime/outcome") {
		if !p.Standard && (len(p.CgoFiles) > 0 || strings.Contains(p.ImportPath, "gotch")) {
			t.Errorf("runtime/step or runtime/outcome depends on cgo package %s", p.ImportPath)
		}
	}
}

// TestParacBuildsWithoutCgo builds parac with CGO_ENABLED=0, as go install does
// on a machine without libtorch.
func TestParacBuildsWithoutCgo(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a binary")
	}
	if err := testenv.GoBuild([]string{"CGO_ENABLED=0"}, "-o", filepath.Join(t.TempDir(), "parac"), "parak8s.dev/parak8s/cmd/parac"); err != nil {
		t.Fatal(err)
	}
}
