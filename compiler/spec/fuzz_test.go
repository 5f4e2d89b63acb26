package spec_test

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/rogpeppe/go-internal/txtar"

	"parak8s.dev/parak8s/compiler/spec"
)

// slowLoad is the longest FuzzLoad lets Load take on one input before it
// stops the fuzzer, which then keeps the input: evaluation that runs into
// Load's own timeout cannot be stopped and would stall the fuzzing worker
// without a word. It leaves room over DefaultTimeout for a loaded machine
// and coverage instrumentation.
const slowLoad = 30 * time.Second

// FuzzLoad feeds arbitrary bytes to Load as exp.cue (through the overlay):
// Load must not panic, must return either experiments or an error, and
// must do so within slowLoad.
func FuzzLoad(f *testing.F) {
	for _, p := range []string{"../../examples/ecg/ecg.cue", "../../examples/pneumonia/pneumonia.cue"} {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	archives, _ := filepath.Glob(filepath.Join("testdata", "invalid", "*.txtar"))
	for _, a := range archives {
		ar, err := txtar.ParseFile(a)
		if err != nil {
			f.Fatal(err)
		}
		for _, file := range ar.Files {
			if file.Name == "exp.cue" {
				f.Add(file.Data)
			}
		}
	}
	f.Add([]byte(minimal))
	dir := f.TempDir()
	path := filepath.Join(dir, "virtual", "exp.cue")
	f.Fuzz(func(t *testing.T, src []byte) {
		watchdog := time.AfterFunc(slowLoad, func() {
			panic(fmt.Sprintf("Load took over %v on %q (a slow input: bound it in checkBounds and keep it in testdata/fuzz)", slowLoad, src))
		})
		defer watchdog.Stop()
		specs, err := spec.Load(path, spec.Options{Overlay: map[string][]byte{path: src}})
		switch {
		case err != nil && specs != nil:
			t.Fatalf("Load returned both %d experiments and an error: %v", len(specs), err)
		case err == nil && len(specs) == 0:
			t.Fatal("Load returned neither experiments nor an error")
		case err != nil:
			_ = render(err, dir) // rendering must not panic either
		}
	})
}
