package model

import (
	"math"
	"slices"
	"strings"
	"testing"

	"parak8s.dev/parak8s/runtime/bundle"
)

// runningStats returns the running means and variances of n's batch norms,
// in name order, as one slice.
func runningStats(n *Net) []float32 {
	var out []float32
	for _, w := range n.Weights() {
		if strings.Contains(w.Name, ".running_") {
			out = append(out, w.F32...)
		}
	}
	return out
}

func TestAdaptBatchNorm(t *testing.T) {
	for _, s := range []Spec{ecgSpec(0), imageSpec(2)} {
		t.Run(string(s.Model.Kind), func(t *testing.T) {
			n := newNet(t, s)
			const samples = 6
			x := ramp(samples*s.SampleSize(), 2)
			before := n.Weights()
			trained := runningStats(n)
			stats := map[float64][]float32{}
			for _, alpha := range []float64{0, 0.5, 1} {
				restore, err := n.AdaptBatchNorm(x, samples, alpha)
				if err != nil {
					t.Fatal(err)
				}
				stats[alpha] = runningStats(n)
				restore()
				if !slices.EqualFunc(n.Weights(), before, func(a, b bundle.Tensor) bool { return slices.Equal(a.F32, b.F32) }) {
					t.Fatalf("alpha %v: restore left other weights than the trained ones", alpha)
				}
			}
			if !slices.Equal(stats[0], trained) {
				t.Error("alpha 0 changed the statistics")
			}
			if slices.Equal(stats[1], trained) {
				t.Fatal("alpha 1 left the statistics as trained")
			}
			// alpha 0.5 is halfway between the trained statistics and the samples' own.
			for i := range trained {
				if want := (trained[i] + stats[1][i]) / 2; math.Abs(float64(stats[0.5][i]-want)) > 1e-4*(1+math.Abs(float64(want))) {
					t.Fatalf("statistic %d: alpha 0.5 gives %v, want %v (trained %v, alpha 1 %v)", i, stats[0.5][i], want, trained[i], stats[1][i])
				}
			}
			if _, err := n.AdaptBatchNorm(x, samples, 1.5); err == nil {
				t.Error("alpha 1.5 accepted")
			}
		})
	}
}

// TestProbsByRecord scores two groups of samples: with alpha 0 as Probs does;
// with alpha 1 each group as it scores alone, whatever the other group holds.
func TestProbsByRecord(t *testing.T) {
	s := ecgSpec(0)
	n := newNet(t, s)
	size := s.SampleSize()
	a, b := ramp(4*size, 1), ramp(3*size, 5)
	x := slices.Concat(a[:2*size], b[:size], a[2*size:], b[size:]) // groups interleaved
	groups := []int64{7, 7, 3, 7, 7, 3, 3}
	plain, err := n.Probs(x, 7, 2)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := n.ProbsByRecord(x, groups, 0, 2); err != nil || !slices.Equal(got, plain) {
		t.Fatalf("alpha 0: %v (%v), want Probs' %v", got, err, plain)
	}
	got, err := n.ProbsByRecord(x, groups, 1, 2)
	if err != nil {
		t.Fatal(err)
	}
	alone, err := n.ProbsByRecord(a, []int64{1, 1, 1, 1}, 1, 2)
	if err != nil {
		t.Fatal(err)
	}
	k := s.Classes
	mine := slices.Concat(got[:2*k], got[3*k:5*k])
	for i := range mine {
		if math.Abs(float64(mine[i]-alone[i])) > 1e-5 {
			t.Fatalf("group 7 scored with group 3 around: %v; alone: %v", mine, alone)
		}
	}
	if slices.Equal(got, plain) {
		t.Error("alpha 1 scored as without adaptation")
	}
	if _, err := n.ProbsByRecord(x, groups[:6], 1, 2); err == nil {
		t.Error("6 records for 7 samples accepted")
	}
	if _, err := n.ProbsByRecord(x, nil, 1, 2); err == nil {
		t.Error("alpha 1 without records accepted")
	}
}
