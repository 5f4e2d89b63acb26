package dataset

import (
	"math"
	"slices"
	"testing"

	"parak8s.dev/parak8s/schema"
)

func TestAugmentedBeats(t *testing.T) {
	// Two beats of a 10-sample window and 2 RR features each.
	const window, size = 10, 12
	b := &Beats{size: size, y: []int64{0, 1}, sample: []int64{1, 2}, x: make([]float32, 2*size)}
	for i := range b.x {
		b.x[i] = float32(math.Sin(float64(i)))
	}
	get := func(s interface {
		Get(i, epoch int, dst []float32) (int, error)
	}, i, epoch int) []float32 {
		t.Helper()
		dst := make([]float32, size)
		label, err := s.Get(i, epoch, dst)
		if err != nil || label != int(b.y[i]) {
			t.Fatalf("Get(%d, %d): label %d, %v", i, epoch, label, err)
		}
		return dst
	}
	orig := get(b, 1, 0)
	on := schema.SignalAugment{Enabled: true, Scale: 0.2, Noise: 0.05, Baseline: 0.2, Shift: 0.02}
	a := newAugmentedBeats(b, on, window, 100, 7) // 0.02 s at 100 Hz: up to 2 samples

	e0, e0again, e1 := get(a, 1, 0), get(a, 1, 0), get(a, 1, 1)
	if !slices.Equal(e0, e0again) {
		t.Errorf("the same (seed, epoch, beat) drew differently: %v vs %v", e0, e0again)
	}
	if slices.Equal(e0[:window], e1[:window]) || slices.Equal(e0[:window], orig[:window]) {
		t.Errorf("epochs 0 and 1 (or the original) look the same: %v, %v, %v", orig[:window], e0[:window], e1[:window])
	}
	if !slices.Equal(e0[window:], orig[window:]) || !slices.Equal(e1[window:], orig[window:]) {
		t.Errorf("RR features changed: %v → %v, %v", orig[window:], e0[window:], e1[window:])
	}
	if other := newAugmentedBeats(b, on, window, 100, 8); slices.Equal(get(other, 1, 0), e0) {
		t.Error("another seed drew the same beat")
	}
	// Every perturbation at zero is the identity.
	if id := get(newAugmentedBeats(b, schema.SignalAugment{Enabled: true}, window, 100, 7), 1, 3); !slices.Equal(id, orig) {
		t.Errorf("zero augmentation changed the beat: %v → %v", orig, id)
	}
	// A shift alone moves the window by at most 2 samples, edges repeated.
	shiftOnly := newAugmentedBeats(b, schema.SignalAugment{Enabled: true, Shift: 0.02}, window, 100, 7)
	seen := map[int]bool{}
	for epoch := range 40 {
		got := get(shiftOnly, 1, epoch)[:window]
		found := false
		for s := -2; s <= 2 && !found; s++ {
			found = true
			for j := range got {
				if got[j] != orig[min(max(j-s, 0), window-1)] {
					found = false
					break
				}
			}
			if found {
				seen[s] = true
			}
		}
		if !found {
			t.Fatalf("epoch %d: %v is no shift of %v by -2..2 samples", epoch, got, orig[:window])
		}
	}
	if len(seen) < 4 {
		t.Errorf("40 epochs drew only the shifts %v", seen)
	}
	// Bounded: |x'| ≤ |x|·(1+scale) + 2·baseline + 6σ noise.
	for epoch := range 50 {
		for j, v := range get(a, 0, epoch)[:window] {
			if math.Abs(float64(v)) > 1.2+0.4+0.3 {
				t.Fatalf("epoch %d sample %d: %v out of bounds", epoch, j, v)
			}
		}
	}

	// Set.Split wraps only training splits, and only when enabled.
	s := &Set{m: Manifest{Kind: KindSignal, Features: 2, Signal: &schema.Signal{SampleRate: 100}}}
	for _, tc := range []struct {
		name  string
		opts  SplitOptions
		wraps bool
	}{
		{"validation", SplitOptions{SignalAugment: &on}, false},
		{"training, off", SplitOptions{Train: true}, false},
		{"training, on", SplitOptions{Train: true, SignalAugment: &on}, true},
	} {
		_, wrapped := s.augmentBeats(b, tc.opts).(*augmentedBeats)
		if wrapped != tc.wraps {
			t.Errorf("%s: augmented %v, want %v", tc.name, wrapped, tc.wraps)
		}
	}
}
