package spec_test

import (
	"path/filepath"
	"strings"
	"testing"
	"time"

	"parak8s.dev/parak8s/compiler/spec"
)

// TestLoadBounded: specs whose sweeps ask for the most checks the schema
// allows are accepted or refused within a bounded time (parac vet answers
// within 10 s on any file: each case takes 0.5-3.5 s of CPU; the wall-clock
// limit here leaves room for a loaded machine and the race detector), and
// malformed keys never panic.
func TestLoadBounded(t *testing.T) {
	const base = `import ("list", "strings")
_ignore: [list.Range(0, 2, 1), strings.Repeat("a", 2)]
name: "x"
data: source: {kind: "wfdb", path: "/data/mitdb"}
model: kind: "deepcnn1d"
`
	for _, tc := range []struct {
		name, sweep string
		wantErr     string // "" when the spec is valid
	}{
		{"grid range of 10000 points", `sweep: parameters: [{path: "training.optimizer.lr", range: {min: 1e-5, max: 1e-1, count: 10000, scale: "log"}}]`, ""},
		{"two grid ranges of 10000 points", `sweep: parameters: [
	{path: "training.optimizer.lr", range: {min: 1e-5, max: 1e-1, count: 10000, scale: "log"}},
	{path: "model.dropout", range: {min: 0, max: 0.5, count: 10000}},
]`, "the grid has more than 100000 trials"},
		{"two ranges in one section, 100000 combinations", `sweep: parameters: [
	{path: "model.dropout", range: {min: 0, max: 0.5, count: 400}},
	{path: "data.signal.before", range: {min: 0.2, max: 0.9, count: 400}},
]`, "the grid has more than 100000 trials"},
		{"rule fields on 90000 trials", `sweep: parameters: [
	{path: "data.signal.before", range: {min: 0.2, max: 0.9, count: 300}},
	{path: "data.signal.after", range: {min: 0.2, max: 0.9, count: 300}},
]`, ""},
		{"random sweep of 100000 samples", `sweep: {mode: "random", samples: 100000, parameters: [
	{path: "data.signal.before", range: {min: 0.2, max: 0.9}},
	{path: "model.dropout", range: {min: 0, max: 0.5}},
]}`, ""},
		{"list point with a key CUE cannot parse", "sweep: {mode: \"list\", points: [{\"a\\u0000[\": 1}]}", "sweep path"},
		{"comprehension over a huge literal list.Range", "_x: [for i in list.Range(0, 3e6, 1) {i}]", "exp.cue:6:15: list.Range asks for 3000000 items: at most 100000"},
		{"huge strings.Repeat", `_x: strings.Repeat("ab", 1_000_000_000)`, "exp.cue:6:5: strings.Repeat asks for 1000000000 items"},
		{"huge list.Repeat, negative step range", "_x: list.Repeat([1], 200001) + list.Range(0, -1e6, -2)", "list.Repeat asks for 200001 items"},
		{"huge negative range", "_x: list.Range(0, -1e6, -2)", "list.Range asks for 500000 items"},
		{"file over a MiB", "_x: \"" + strings.Repeat("a", spec.MaxSpecBytes) + "\"", "more than 1048576 bytes"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, "exp.cue")
			start := time.Now()
			_, err := spec.Load(path, spec.Options{Overlay: map[string][]byte{path: []byte(base + tc.sweep + "\n")}})
			took := time.Since(start)
			if took > 20*time.Second {
				t.Errorf("Load took %v, want under 20s", took)
			}
			switch {
			case tc.wantErr == "" && err != nil:
				t.Errorf("Load: %v", err)
			case tc.wantErr != "" && (err == nil || !strings.Contains(render(err, dir), tc.wantErr)):
				t.Errorf("Load error = %v, want one containing %q", err, tc.wantErr)
			}
			t.Logf("%v", took)
		})
	}
}

// TestLoadTimeout: a spec whose cost no static check sees (a comprehension
// over a computed range) is refused once Options.Timeout has passed, with
// the error at the start of the file.
func TestLoadTimeout(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "exp.cue")
	src := `import "list"
name: "x"
data: source: {kind: "wfdb", path: "/data/mitdb"}
model: kind: "deepcnn1d"
_n: 300000
_x: [for i in list.Range(0, _n, 1) for j in list.Range(0, _n, 1) {i + j}]
`
	start := time.Now()
	_, err := spec.Load(path, spec.Options{Overlay: map[string][]byte{path: []byte(src)}, Timeout: 300 * time.Millisecond})
	if took := time.Since(start); took > 5*time.Second {
		t.Errorf("Load took %v with a 300ms timeout", took)
	}
	if err == nil || !strings.Contains(render(err, dir), "exp.cue:1:1: evaluating the spec took longer than 300ms") {
		t.Errorf("Load error = %v, want the timeout at exp.cue:1:1", err)
	}
}
