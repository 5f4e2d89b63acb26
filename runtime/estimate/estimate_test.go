package estimate

import (
	"path/filepath"
	"testing"
	"time"

	"parak8s.dev/parak8s/runtime/bundle"
)

func TestMedian(t *testing.T) {
	for _, tc := range []struct {
		in   []float64
		want float64
	}{
		{nil, 0},
		{[]float64{3}, 3},
		{[]float64{5, 1, 3}, 3},
		{[]float64{4, 1, 3, 2}, 2.5},
	} {
		if got := Median(tc.in); got != tc.want {
			t.Errorf("Median(%v) = %v, want %v", tc.in, got, tc.want)
		}
	}
}

// model writes a model directory whose manifest measured steps, epochs and
// steps per second on data key key.
func model(t *testing.T, key string, steps int64, epochs int, perSec float64) string {
	t.Helper()
	dir := t.TempDir()
	m := bundle.Manifest{Format: bundle.Format, Classes: []string{"N", "V"}, Input: []int{1, 8},
		DataKey: key, Steps: steps, Epochs: epochs, StepsPerSecond: perSec}
	if err := bundle.WriteJSON(filepath.Join(dir, bundle.FileManifest), m); err != nil {
		t.Fatal(err)
	}
	return dir
}

func TestFromModelsAndTrial(t *testing.T) {
	sp := FromModels([]string{
		model(t, "a", 100, 10, 10), // 1 s/epoch
		model(t, "a", 300, 10, 10), // 3 s/epoch
		model(t, "b", 400, 10, 10), // 4 s/epoch
		model(t, "b", 0, 10, 10),   // no steps: skipped
		filepath.Join(t.TempDir(), "missing"),
	})
	if sp.All != 3 || sp.ByKey["a"] != 2 || sp.ByKey["b"] != 4 || !sp.Measured() {
		t.Fatalf("FromModels = %+v, want all 3, a 2, b 4", sp)
	}
	for _, tc := range []struct {
		config, key string
		want        time.Duration
		epochs      int
	}{
		{`{"training":{"epochs":5}}`, "a", 10 * time.Second, 5},
		{`{"training":{"epochs":5}}`, "c", 15 * time.Second, 5}, // unknown key: overall median
		{`{"training":{}}`, "a", 0, 0},
		{`not json`, "a", 0, 0},
	} {
		got, epochs := sp.Trial([]byte(tc.config), tc.key)
		if got != tc.want || epochs != tc.epochs {
			t.Errorf("Trial(%s, %s) = %v, %d; want %v, %d", tc.config, tc.key, got, epochs, tc.want, tc.epochs)
		}
	}
	if (Speed{}).Measured() {
		t.Error("the zero Speed says it measured")
	}
	if got, epochs := (Speed{}).Trial([]byte(`{"training":{"epochs":5}}`), "a"); got != 0 || epochs != 5 {
		t.Errorf("zero Speed: Trial = %v, %d; want 0, 5", got, epochs)
	}
}
