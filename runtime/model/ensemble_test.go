package model

import (
	"fmt"
	"math"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/sugarme/gotch/ts"
)

// memberWeights splits an ensemble's weights into each member's, named as in a
// single network.
func memberWeights(t *testing.T, w Weights, members int) []Weights {
	t.Helper()
	out := make([]Weights, members)
	for _, x := range w {
		var i int
		if _, err := fmt.Sscanf(x.Name, ensemblePrefix+".%d.", &i); err != nil {
			t.Fatalf("ensemble tensor %s is not a member's", x.Name)
		}
		x.Name = strings.TrimPrefix(x.Name, fmt.Sprintf("%s.%d.", ensemblePrefix, i))
		out[i] = append(out[i], x)
	}
	return out
}

func closeTo(t *testing.T, what string, got, want []float32) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d values, want %d", what, len(got), len(want))
	}
	for i := range got {
		if math.Abs(float64(got[i]-want[i])) > 1e-5 {
			t.Fatalf("%s: value %d is %v, want %v", what, i, got[i], want[i])
		}
	}
}

func TestEnsemble(t *testing.T) {
	for _, tc := range []struct {
		name string
		spec Spec
	}{
		{"resnet", imageSpec(3)},
		{"deepcnn1d with rrExpert", expertSpec()},
	} {
		t.Run(tc.name, func(t *testing.T) {
			const members, b = 3, 4
			tc.spec.Model.Dropout = 0 // the losses below are computed in training mode
			spec := tc.spec
			spec.Model.Ensemble = members
			e := newNet(t, spec)
			single := newNet(t, tc.spec)
			if got, want := e.Parameters(), members*single.Parameters(); got != want {
				t.Errorf("ensemble of %d has %d parameters, want %d", members, got, want)
			}
			if err := e.SetTrainingPrior(ones(spec.Classes), counts(spec.Classes)); err != nil {
				t.Fatal(err)
			}
			x := ramp(b*spec.SampleSize(), 1)
			got, err := e.Probs(x, b, b)
			if err != nil {
				t.Fatal(err)
			}
			// The ensemble's probabilities are the mean of its members', each
			// member a network of its own (different initial weights).
			mean := make([]float32, len(got))
			var first []float32
			for i, w := range memberWeights(t, e.Weights(), members) {
				m := newNet(t, tc.spec)
				if _, err := m.SetWeights(w, LoadOptions{}); err != nil {
					t.Fatalf("member %d: %v", i, err)
				}
				if err := m.SetTrainingPrior(ones(spec.Classes), counts(spec.Classes)); err != nil {
					t.Fatal(err)
				}
				p, err := m.Probs(x, b, b)
				if err != nil {
					t.Fatal(err)
				}
				if i == 0 {
					first = p
				} else if slices.Equal(p, first) {
					t.Errorf("member %d scores like member 0: the members share their initial weights", i)
				}
				for j, v := range p {
					mean[j] += v / members
				}
			}
			closeTo(t, "ensemble probabilities against the members' mean", got, mean)

			// The training loss is the sum of the members' own losses.
			in, _ := e.Batch(x, b)
			defer in.MustDrop()
			y := ts.MustOfSlice([]int64{0, 1, 2, 1})
			defer y.MustDrop()
			cw := ts.MustOfSlice(ones(spec.Classes))
			defer cw.MustDrop()
			var want float64
			for _, w := range memberWeights(t, e.Weights(), members) {
				m := newNet(t, tc.spec)
				if _, err := m.SetWeights(w, LoadOptions{}); err != nil {
					t.Fatal(err)
				}
				l := m.Loss(in, y, cw, 0)
				want += l.Float64Values()[0]
				l.MustDrop()
			}
			l := e.Loss(in, y, cw, 0)
			defer l.MustDrop()
			if got := l.Float64Values()[0]; math.Abs(got-want) > 1e-4*math.Abs(want) {
				t.Errorf("ensemble loss %v, want the members' sum %v", got, want)
			}
		})
	}
}

func ones(k int) []float32 {
	w := make([]float32, k)
	for i := range w {
		w[i] = 1
	}
	return w
}

func counts(k int) []int {
	c := make([]int, k)
	for i := range c {
		c[i] = 10 * (i + 1)
	}
	return c
}

// A single network's weights (a pretrained file) load into every member of
// an ensemble, and frozen layers are frozen in every member.
func TestEnsemblePretrainedAndFrozen(t *testing.T) {
	src := newNet(t, imageSpec(2))
	path := filepath.Join(t.TempDir(), "pre.safetensors")
	if err := src.Save(path, nil); err != nil {
		t.Fatal(err)
	}
	spec := imageSpec(2)
	spec.Model.Ensemble = 2
	e := newNet(t, spec)
	if _, err := e.Load(path, LoadOptions{}); err == nil {
		t.Fatal("strict load of a single network into an ensemble succeeded")
	}
	rep, err := e.Load(path, LoadOptions{Partial: true})
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Loaded) != len(e.names()) || len(rep.Missing)+len(rep.Skipped)+len(rep.ShapeMismatch) != 0 {
		t.Errorf("partial load: %d of %d loaded, missing %v, skipped %v, mismatch %v", len(rep.Loaded), len(e.names()), rep.Missing, rep.Skipped, rep.ShapeMismatch)
	}
	x := ramp(4*spec.SampleSize(), 1)
	want, _ := src.Probs(x, 4, 4)
	got, _ := e.Probs(x, 4, 4)
	closeTo(t, "an ensemble of two copies against the copied network", got, want)

	for _, tc := range []struct {
		layers []string
		want   int
	}{
		{[]string{"stem"}, 2 * 3},
		{[]string{"layer1"}, 2 * 2 * 6},
		{[]string{"members.1.layer1"}, 2 * 6},
	} {
		n := newNet(t, spec)
		frozen, err := n.Freeze(tc.layers)
		if err != nil {
			t.Fatal(err)
		}
		if frozen != tc.want {
			t.Errorf("freezing %v froze %d tensors, want %d (in both members)", tc.layers, frozen, tc.want)
		}
	}
}
