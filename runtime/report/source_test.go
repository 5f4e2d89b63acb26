package report

import (
	"reflect"
	"testing"

	"parak8s.dev/parak8s/runtime/step"
)

// TestSweepOrder: a run's sweep tag (a JSON object) loses the sweep's order;
// the run name's label gives it back, and Label renders it as the runner does.
func TestSweepOrder(t *testing.T) {
	os, err := overrides([]byte(`{"training.optimizer.lr": 0.003, "model.dropout": 0.1, "training.batch": 32}`))
	if err != nil {
		t.Fatal(err)
	}
	var paths []string
	for _, o := range os {
		paths = append(paths, o.Path)
	}
	if want := []string{"model.dropout", "training.batch", "training.optimizer.lr"}; !reflect.DeepEqual(paths, want) {
		t.Fatalf("overrides sorted %v, want %v", paths, want)
	}
	inSweepOrder(os, "lr=0.003 dropout=0.1 batch=32")
	if got, want := Label(os), "lr=0.003 dropout=0.1 batch=32"; got != want {
		t.Errorf("Label after inSweepOrder = %q, want %q", got, want)
	}
	// a name the label lacks goes last; a value that looks like a name does not confuse it
	os = []step.Override{{Path: "a.x", Value: "y=1"}, {Path: "b.y", Value: 1.0}, {Path: "c.z", Value: true}}
	inSweepOrder(os, `y=1 x="y=1"`)
	if got, want := Label(os), `y=1 x="y=1" z=true`; got != want {
		t.Errorf("Label = %q, want %q", got, want)
	}
	if _, err := overrides([]byte(`[1]`)); err == nil {
		t.Error("a sweep point that is not an object was accepted")
	}
}
