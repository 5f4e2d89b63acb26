package model

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/sugarme/gotch/ts"
)

// AdaptBatchNorm moves the batch-norm statistics towards those of the given
// samples (AdaBN, Li et al. 2016: the samples of one patient, say): after one
// forward pass over all of them in training mode, without gradients, each
// running mean and variance is (1−alpha)·its trained value + alpha·the
// samples' own. It returns a function that restores the trained statistics.
// alpha 0 changes nothing.
func (n *Net) AdaptBatchNorm(x []float32, samples int, alpha float64) (restore func(), err error) {
	if alpha < 0 || alpha > 1 {
		return nil, fmt.Errorf("adapting batch norm: alpha %v is not in [0, 1]", alpha)
	}
	vars := n.vs.Variables()
	var names []string
	for _, name := range n.names() {
		if strings.HasSuffix(name, ".running_mean") || strings.HasSuffix(name, ".running_var") {
			names = append(names, name)
		}
	}
	if alpha == 0 || len(names) == 0 {
		return func() {}, nil
	}
	in, err := n.Batch(x, samples)
	if err != nil {
		return nil, fmt.Errorf("adapting batch norm: %w", err)
	}
	defer in.MustDrop()
	trained := make([]*ts.Tensor, len(names))
	one, w := ts.FloatScalar(1), ts.FloatScalar(alpha/bnMomentum)
	defer one.MustDrop()
	defer w.MustDrop()
	ts.NoGrad(func() {
		for i, name := range names {
			v := vars[name]
			trained[i] = v.MustMulScalar(one, false) // a copy
		}
		// The pass sets each statistic to (1−m)·trained + m·samples' (m =
		// bnMomentum); trained + alpha/m·(that − trained) is the blend.
		n.Forward(in, true).MustDrop()
		for i, name := range names {
			v := vars[name]
			blend := trained[i].MustMulScalar(one, false)
			blend.MustLerp_(&v, w)
			v.Copy_(blend)
			blend.MustDrop()
		}
	})
	return func() {
		ts.NoGrad(func() {
			for i, name := range names {
				v := vars[name]
				v.Copy_(trained[i])
				trained[i].MustDrop()
			}
		})
	}, nil
}

// ProbsByRecord is Probs with batch-norm statistics adapted to each record
// in turn (AdaptBatchNorm with alpha; model.adaptBatchNorm): records[i] is
// the record of sample i; the trained statistics are restored after each.
// With alpha 0 it is Probs, and records may be nil.
func (n *Net) ProbsByRecord(x []float32, records []int64, alpha float64, batch int) ([]float32, error) {
	size, k := n.spec.SampleSize(), n.spec.Classes
	if alpha == 0 {
		return n.Probs(x, len(x)/size, batch)
	}
	if records == nil {
		return nil, fmt.Errorf("model.adaptBatchNorm %v needs the record of every sample (beats of WFDB records)", alpha)
	}
	if len(x) != len(records)*size {
		return nil, fmt.Errorf("scoring %d values as %d samples of %d", len(x), len(records), size)
	}
	groups := records
	members := map[int64][]int{}
	for i, g := range groups {
		members[g] = append(members[g], i)
	}
	out := make([]float32, len(groups)*k)
	for _, g := range slices.Sorted(maps.Keys(members)) {
		idx := members[g]
		gx := make([]float32, 0, len(idx)*size)
		for _, i := range idx {
			gx = append(gx, x[i*size:(i+1)*size]...)
		}
		restore, err := n.AdaptBatchNorm(gx, len(idx), alpha)
		if err != nil {
			return nil, err
		}
		p, err := n.Probs(gx, len(idx), batch)
		restore()
		if err != nil {
			return nil, err
		}
		for j, i := range idx {
			copy(out[i*k:(i+1)*k], p[j*k:(j+1)*k])
		}
	}
	return out, nil
}
