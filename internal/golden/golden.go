package golden

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden files instead of comparing with them")

// Update reports whether the test binary runs with -update, for a test
// that rewrites a golden file of its own form.
func Update() bool { return *update }

// Check compares got with the file at path; with -update it writes got
// there instead (creating the folder).
func Check(t testing.TB, path string, got []byte) {
	t.Helper()
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (rerun the test with -update to write it)", err)
		return
	}
	if !bytes.Equal(got, want) {
		t.Errorf("output differs from the golden file %s (rerun the test with -update and review the diff)", path)
	}
}
