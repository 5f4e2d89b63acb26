package spec

import "testing"

// TestIndependent: only fields no schema rule reads, declared under no
// condition and constrained by nothing but themselves are checked by their
// own constraint alone.
func TestIndependent(t *testing.T) {
	for path, want := range map[string]bool{
		"model.dropout":           true,
		"training.optimizer.lr":   true,
		"data.loader.batchSize":   true,
		"training.epochs":         true,
		"data.split.by":           false, // read by `if by == "fraction"`
		"data.split.train":        false, // train+val+test must sum to 1
		"data.signal.before":      false, // declared under a condition
		"model.deepcnn1d.filters": false, // under `if kind == "deepcnn1d"`
		"model.kind":              false,
		"data.source.kind":        false,
	} {
		if got := independent(path); got != want {
			t.Errorf("independent(%q) = %v, want %v", path, got, want)
		}
	}
}
