package argo_test

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/rogpeppe/go-internal/txtar"

	"parak8s.dev/parak8s/compiler"
	"parak8s.dev/parak8s/internal/argolint"
)

// TestCorpusPassesArgo compiles the examples and every spec file of parac's
// testscripts that the compiler accepts (the corpus's invalid specs stop
// before Emit) and runs Argo's validator on each workflow it writes. parac
// does not link the validator (see internal/argolint), so this test, with
// TestEmitShards (shards) and the examples' goldens, is where the shapes
// Emit writes meet Argo's rules.
func TestCorpusPassesArgo(t *testing.T) {
	archives, err := filepath.Glob("../../cmd/parac/testdata/*/*.txtar")
	if err != nil || len(archives) == 0 {
		t.Fatalf("no testscripts: %v", err)
	}
	specs, workflows := 0, 0
	check := func(name, path string) {
		res, err := compiler.Compile(path, compiler.DefaultOptions())
		if err != nil {
			return
		}
		specs++
		for _, r := range res {
			for _, w := range r.Workflows {
				workflows++
				if err := argolint.Validate(w.YAML); err != nil {
					t.Errorf("%s: %v", name, err)
				}
			}
		}
	}
	examples, err := filepath.Glob("../../examples/*/*.cue")
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, e := range examples {
		if dir := filepath.Dir(e); !seen[dir] {
			seen[dir] = true
			check(dir, dir)
		}
	}
	for _, a := range archives {
		ar, err := txtar.ParseFile(a)
		if err != nil {
			t.Fatal(err)
		}
		dir := t.TempDir()
		if err := txtar.Write(ar, dir); err != nil {
			t.Fatal(err)
		}
		for _, f := range ar.Files {
			if !strings.HasSuffix(f.Name, ".cue") {
				continue
			}
			check(filepath.Base(a)+": "+f.Name, filepath.Join(dir, f.Name))
		}
	}
	// The corpus holds dozens of valid specs; far fewer means the glob or
	// the archives changed and this test checks nothing.
	if specs < 30 {
		t.Fatalf("only %d specs of the testscripts compiled (%d workflows)", specs, workflows)
	}
	t.Logf("%d specs, %d workflows validated by Argo", specs, workflows)
}
