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
	const base = `name: "x"
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
