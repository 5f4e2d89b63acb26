package model

import (
	"math"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/sugarme/gotch/ts"

	"parak8s.dev/parak8s/schema"
)

func expertSpec() Spec {
	s := ecgSpec(6)
	s.Model.Dropout = 0 // train-mode passes repeat exactly
	s.Model.DeepCNN1D.RRExpert = &schema.RRExpert{Hidden: []int{8, 4}}
	return s
}

// TestRRExpert: the RR expert sees the features alone, the output is the
// weighted sum of the two experts' log-probabilities (equal weights when
// rrExpert.weight is unset), and the loss is the sum of each expert's cross
// entropy.
func TestRRExpert(t *testing.T) {
	s := expertSpec()
	n := newNet(t, s)
	for _, name := range []string{"rrExpert.0.weight", "rrExpert.1.bias", "rrExpert.head.weight", "head.weight"} {
		if !slices.Contains(n.names(), name) {
			t.Errorf("no parameter %s in %v", name, n.names())
		}
	}
	const b = 4
	flat := ramp(b*s.SampleSize(), 1)
	x, err := n.Batch(flat, b)
	if err != nil {
		t.Fatal(err)
	}
	defer x.MustDrop()
	e := n.body.(experts)

	parts := e.experts(x, false)
	cnn, rr := parts[0].Float64Values(), parts[1].Float64Values()
	for _, p := range parts {
		p.MustDrop()
	}
	logSoftmax := func(v []float64) []float64 {
		var m float64 = math.Inf(-1)
		for _, x := range v {
			m = max(m, x)
		}
		var z float64
		for _, x := range v {
			z += math.Exp(x - m)
		}
		o := make([]float64, len(v))
		for i, x := range v {
			o[i] = x - m - math.Log(z)
		}
		return o
	}
	k := s.Classes
	for _, tt := range []struct{ set, w float64 }{{0, 0.5}, {0.7, 0.7}} {
		sw := expertSpec()
		sw.Model.DeepCNN1D.RRExpert.Weight = tt.set
		nw := newNet(t, sw) // same seed: the same parameters as n
		out := nw.Forward(x, false)
		fused := out.Float64Values()
		out.MustDrop()
		w := tt.w
		for i := 0; i < b; i++ {
			a, r := logSoftmax(cnn[i*k:(i+1)*k]), logSoftmax(rr[i*k:(i+1)*k])
			for j := 0; j < k; j++ {
				if want := (1-w)*a[j] + w*r[j]; math.Abs(fused[i*k+j]-want) > 1e-5 {
					t.Fatalf("weight %v, sample %d class %d: fused %v, want %v", w, i, j, fused[i*k+j], want)
				}
			}
		}
	}

	// Changing the beat window moves the CNN only.
	shifted := slices.Clone(flat)
	for i := 0; i < b; i++ {
		for j := 0; j < 40; j++ {
			shifted[i*s.SampleSize()+j] += 0.5
		}
	}
	x2, err := n.Batch(shifted, b)
	if err != nil {
		t.Fatal(err)
	}
	defer x2.MustDrop()
	parts2 := e.experts(x2, false)
	if slices.Equal(parts2[0].Float64Values(), cnn) || !slices.Equal(parts2[1].Float64Values(), rr) {
		t.Error("the RR expert must see the features alone, the CNN the window too")
	}
	for _, p := range parts2 {
		p.MustDrop()
	}

	// The loss is the sum of the experts' weighted cross entropies.
	y := n.Tensor([]int64{0, 1, 2, 1})
	defer y.MustDrop()
	w := n.Tensor([]float32{1, 2, 1, 3, 1})
	defer w.MustDrop()
	var want float64
	for _, l := range e.experts(x, true) {
		ce := l.MustCrossEntropyLoss(y, w, 1, -100, 0.1, true)
		want += ce.Float64Values()[0]
		ce.MustDrop()
	}
	loss := n.Loss(x, y, w, 0.1)
	got := loss.Float64Values()[0]
	loss.MustDrop()
	if math.Abs(got-want) > 1e-5 {
		t.Errorf("loss %v, want %v", got, want)
	}

	// Without the expert the loss is the plain cross entropy.
	ps := ecgSpec(6)
	ps.Model.Dropout = 0
	plain := newNet(t, ps)
	logits := plain.Forward(x, true)
	ce := logits.MustCrossEntropyLoss(y, w, 1, -100, 0, true)
	loss = plain.Loss(x, y, w, 0)
	if a, b := ce.Float64Values()[0], loss.Float64Values()[0]; math.Abs(a-b) > 1e-6 {
		t.Errorf("plain loss %v, want %v", b, a)
	}
	ce.MustDrop()
	loss.MustDrop()

	// No RR features: refused.
	s0 := ecgSpec(0)
	s0.Model.DeepCNN1D.RRExpert = &schema.RRExpert{Hidden: []int{8}}
	if _, err := New(s0); err == nil || !strings.Contains(err.Error(), "model.deepcnn1d.rrExpert") {
		t.Errorf("no features: %v", err)
	}

	// A weight outside (0, 1) is refused (parac vet refuses it first).
	for _, bad := range []float64{1, 1.5, -0.2} {
		sb := expertSpec()
		sb.Model.DeepCNN1D.RRExpert.Weight = bad
		if _, err := New(sb); err == nil || !strings.Contains(err.Error(), "model.deepcnn1d.rrExpert.weight") {
			t.Errorf("weight %v: %v", bad, err)
		}
	}
}

// TestRRExpertDecides: with rrExpert.decides the fused probability of N and
// S is split between them by the RR expert alone, its training prior
// removed (all of it, or the share rrExpert.removePrior); the other classes
// keep the fused log-probabilities. The prior is saved with the weights.
func TestRRExpertDecides(t *testing.T) {
	s := expertSpec()
	s.ClassNames = []string{"N", "S", "V", "F", "Q"}
	s.Model.DeepCNN1D.RRExpert.Weight = 0.7
	s.Model.DeepCNN1D.RRExpert.Decides = []string{"S", "N"}
	weights, counts := []float32{1, 2, 1, 1, 1}, []int{80, 10, 5, 4, 1}
	const b = 3
	var (
		n   *Net
		x   *ts.Tensor
		got []float64
	)
	for _, share := range []float64{0.5, 0, 1} { // 1 last: the checks below use it
		s.Model.DeepCNN1D.RRExpert.RemovePrior = &share
		if share == 1 {
			s.Model.DeepCNN1D.RRExpert.RemovePrior = nil // unset is 1
		}
		n = newNet(t, s)
		if err := n.SetTrainingPrior(weights, counts); err != nil {
			t.Fatal(err)
		}
		var err error
		if x, err = n.Batch(ramp(b*s.SampleSize(), 1), b); err != nil {
			t.Fatal(err)
		}
		defer x.MustDrop()
		got = checkSplit(t, n, x, share)
	}

	// The prior travels with the weights; a network without it splits
	// otherwise.
	path := filepath.Join(t.TempDir(), "w.safetensors")
	if err := n.Save(path, nil); err != nil {
		t.Fatal(err)
	}
	fresh := newNet(t, s)
	before := fresh.Forward(x, false)
	defer before.MustDrop()
	if _, err := fresh.Load(path, LoadOptions{}); err != nil {
		t.Fatal(err)
	}
	after := fresh.Forward(x, false)
	defer after.MustDrop()
	if v := after.Float64Values(); !slices.EqualFunc(v, got, func(a, b float64) bool { return math.Abs(a-b) < 1e-6 }) {
		t.Errorf("loaded network gives %v, want %v", v, got)
	}
	if slices.Equal(before.Float64Values(), got) {
		t.Error("the prior changed nothing")
	}

	// A class without training samples is not lifted: its log prior stays 0.
	if err := n.SetTrainingPrior(weights, []int{80, 0, 5, 4, 1}); err != nil {
		t.Fatal(err)
	}
	lp := n.body.(*deepCNN1D).logPrior.Float64Values()
	if lp[1] != 0 || lp[0] >= 0 {
		t.Errorf("log prior with no S beats: %v, want S at 0 and N below", lp)
	}
	if err := n.SetTrainingPrior(weights[:4], counts); err == nil {
		t.Error("4 weights for 5 classes: no error")
	}
	bad := expertSpec()
	bad.ClassNames = s.ClassNames
	bad.Model.DeepCNN1D.RRExpert.Decides = []string{"N", "X"}
	if _, err := New(bad); err == nil || !strings.Contains(err.Error(), `"X" is not one of the classes`) {
		t.Errorf("unknown class: %v", err)
	}
	for _, share := range []float64{-0.1, 1.5} {
		bad := expertSpec()
		bad.ClassNames = s.ClassNames
		bad.Model.DeepCNN1D.RRExpert.Decides = []string{"N", "S"}
		bad.Model.DeepCNN1D.RRExpert.RemovePrior = &share
		if _, err := New(bad); err == nil || !strings.Contains(err.Error(), "rrExpert.removePrior") {
			t.Errorf("removePrior %v: %v", share, err)
		}
	}
	bad = expertSpec()
	half := 0.5
	bad.Model.DeepCNN1D.RRExpert.RemovePrior = &half
	if _, err := New(bad); err == nil || !strings.Contains(err.Error(), "needs rrExpert.decides") {
		t.Errorf("removePrior without decides: %v", err)
	}
}

// checkSplit compares n's output on x (3 samples) with the split computed by
// hand from its two classifiers' logits, for TestRRExpertDecides's spec
// (rrExpert.weight 0.7, the prior below) with share of the log prior
// removed, and returns the output.
func checkSplit(t *testing.T, n *Net, x *ts.Tensor, share float64) []float64 {
	t.Helper()
	s := n.spec
	const b = 3
	parts := n.body.(experts).experts(x, false)
	cnn, rr := parts[0].Float64Values(), parts[1].Float64Values()
	for _, p := range parts {
		p.MustDrop()
	}
	out := n.Forward(x, false)
	got := out.Float64Values()
	out.MustDrop()

	logSumExp := func(v ...float64) float64 {
		m := slices.Max(v)
		var z float64
		for _, x := range v {
			z += math.Exp(x - m)
		}
		return m + math.Log(z)
	}
	prior := []float64{80, 20, 5, 4, 1} // weights times counts, over 110
	k := s.Classes
	for i := 0; i < b; i++ {
		c, r := cnn[i*k:(i+1)*k], rr[i*k:(i+1)*k]
		fused := make([]float64, k)
		for j := range fused {
			fused[j] = 0.3*(c[j]-logSumExp(c...)) + 0.7*(r[j]-logSumExp(r...))
		}
		z := logSumExp(fused...)
		want := make([]float64, k)
		for j := range want {
			want[j] = fused[j] - z
		}
		mass := logSumExp(want[0], want[1])
		adj := []float64{r[0] - share*math.Log(prior[0]/110), r[1] - share*math.Log(prior[1]/110)}
		want[0], want[1] = mass+adj[0]-logSumExp(adj...), mass+adj[1]-logSumExp(adj...)
		var total float64
		for j := range want {
			if math.Abs(got[i*k+j]-want[j]) > 1e-4 {
				t.Fatalf("removePrior %v, sample %d class %d: %v, want %v", share, i, j, got[i*k+j], want[j])
			}
			total += math.Exp(got[i*k+j])
		}
		if math.Abs(total-1) > 1e-4 {
			t.Errorf("removePrior %v, sample %d: probabilities sum to %v", share, i, total)
		}
	}
	return got
}
