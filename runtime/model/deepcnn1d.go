package model

import (
	"fmt"
	"math"
	"slices"

	"github.com/sugarme/gotch"
	"github.com/sugarme/gotch/nn"
	"github.com/sugarme/gotch/ts"

	"parak8s.dev/parak8s/schema"
)

// deepCNN1D: blocks of (conv → batch norm → ReLU) × convsPerBlock followed by
// max pooling, global average or max pooling, RR features joined, then
// hidden linear → ReLU → dropout → linear. With rrExpert, a second
// classifier (linear → ReLU per hidden layer, then linear) sees the RR
// features alone; the two are trained each on its own loss (Net.Loss) and
// the output is their fused log-probabilities, the RR expert's weighted by
// rrExpert.weight. With rrExpert.decides, the RR expert alone then splits
// the fused probability of those classes among them, its training prior
// removed (SetTrainingPrior), in full or in the share rrExpert.removePrior.
type deepCNN1D struct {
	channels, length, features int64
	convs                      [][]*nn.Conv1D
	norms                      [][]*nn.BatchNorm
	pool                       []int64
	globalMax                  bool
	hidden, out                *nn.Linear
	dropout                    float64
	expert                     []*nn.Linear // rrExpert layers, head last
	weight                     float64      // rrExpert.weight
	decides                    *splitter    // rrExpert.decides
	logPrior                   *ts.Tensor   // rrExpert.logPrior, the expert's log training prior
	removePrior                float64      // rrExpert.removePrior, the share of logPrior removed
}

// splitter masks the classes of rrExpert.decides: 1 for them and 0 for the
// others (decide), the opposite (keep), and decide's additive form, 0 for
// them and -1e30 for the others (hide).
type splitter struct{ decide, keep, hide *ts.Tensor }

func newDeepCNN1D(p *nn.Path, spec Spec) (forwarder, map[string][]string, error) {
	c := spec.Model.DeepCNN1D
	if c == nil {
		return nil, nil, fmt.Errorf("model.deepcnn1d is missing")
	}
	if len(spec.Input) != 2 {
		return nil, nil, fmt.Errorf("deepcnn1d wants [channels, length] input, got %v", spec.Input)
	}
	m := &deepCNN1D{
		channels: int64(spec.Input[0]), length: int64(spec.Input[1]), features: int64(spec.Features),
		globalMax: c.GlobalPool == schema.GlobalPoolMax, dropout: spec.Model.Dropout,
	}
	in, length := m.channels, m.length
	blocks := p.Sub("blocks")
	for i, f := range c.Filters {
		b := blocks.Sub(fmt.Sprint(i))
		var convs []*nn.Conv1D
		var norms []*nn.BatchNorm
		for j := 0; j < c.ConvsPerBlock; j++ {
			convs = append(convs, conv1d(b.Sub(fmt.Sprintf("conv%d", j)), in, int64(f), int64(c.Kernel), !c.BatchNorm))
			if c.BatchNorm {
				norms = append(norms, batchNorm(b.Sub(fmt.Sprintf("bn%d", j)), int64(f), false))
			}
			in = int64(f)
		}
		pool := int64(c.Pool)
		if pool > 1 && length/pool < 1 {
			pool = 1 // the signal is too short to pool further
		}
		if pool > 1 {
			length /= pool
		}
		m.convs = append(m.convs, convs)
		m.norms = append(m.norms, norms)
		m.pool = append(m.pool, pool)
	}
	m.hidden = linear(p.Sub("hidden"), in+m.features, int64(c.Hidden))
	m.out = linear(p.Sub("head"), int64(c.Hidden), int64(spec.Classes))
	if e := c.RRExpert; e != nil {
		if m.features == 0 {
			return nil, nil, fmt.Errorf("model.deepcnn1d.rrExpert: the data has no RR features for it (data.signal.rrFeatures, rrRelative or rrIrregularity)")
		}
		m.weight = e.Weight
		switch {
		case m.weight == 0:
			m.weight = 0.5
		case m.weight < 0 || m.weight >= 1:
			return nil, nil, fmt.Errorf("model.deepcnn1d.rrExpert.weight: %v is outside (0, 1)", e.Weight)
		}
		p := p.Sub("rrExpert")
		in := m.features
		for i, h := range e.Hidden {
			m.expert = append(m.expert, linear(p.Sub(fmt.Sprint(i)), in, int64(h)))
			in = int64(h)
		}
		m.expert = append(m.expert, linear(p.Sub("head"), in, int64(spec.Classes)))
		if e.RemovePrior != nil && len(e.Decides) == 0 {
			return nil, nil, fmt.Errorf("model.deepcnn1d.rrExpert.removePrior: needs rrExpert.decides")
		}
		if len(e.Decides) > 0 {
			m.removePrior = 1
			if r := e.RemovePrior; r != nil {
				if *r < 0 || *r > 1 {
					return nil, nil, fmt.Errorf("model.deepcnn1d.rrExpert.removePrior: %v is outside [0, 1]", *r)
				}
				m.removePrior = *r
			}
			mask := make([]float32, spec.Classes)
			for _, name := range e.Decides {
				i := slices.Index(spec.ClassNames, name)
				if i < 0 {
					return nil, nil, fmt.Errorf("model.deepcnn1d.rrExpert.decides: %q is not one of the classes %v", name, spec.ClassNames)
				}
				mask[i] = 1
			}
			keep, hide := make([]float32, len(mask)), make([]float32, len(mask))
			for i, v := range mask {
				keep[i], hide[i] = 1-v, (v-1)*1e30
			}
			on := func(v []float32) *ts.Tensor { return ts.MustOfSlice(v).MustTo(p.Device(), true) }
			m.decides = &splitter{decide: on(mask), keep: on(keep), hide: on(hide)}
			m.logPrior = p.MustZerosNoTrain("logPrior", []int64{int64(spec.Classes)})
		}
	}
	return m, map[string][]string{"stem": {"blocks.0"}, "head": {"head"}}, nil
}

func (m *deepCNN1D) forward(x *ts.Tensor, train bool) *ts.Tensor {
	logits := m.experts(x, train)
	if len(logits) == 1 {
		return logits[0]
	}
	if m.decides == nil {
		return fuse(logits, []float64{1 - m.weight, m.weight})
	}
	share := ts.FloatScalar(m.removePrior)
	defer share.MustDrop()
	prior := m.logPrior.MustMulScalar(share, false)
	rhythm := logits[1].MustLogSoftmax(1, gotch.Float, false).MustSub(prior, true)
	prior.MustDrop()
	fused := fuse(logits, []float64{1 - m.weight, m.weight}).MustLogSoftmax(1, gotch.Float, true)
	return m.decides.split(fused, rhythm)
}

// split returns the log-probabilities fused with the probability of the
// masked classes shared among them in the proportions of the
// log-probabilities rhythm. It drops fused and rhythm.
func (s *splitter) split(fused, rhythm *ts.Tensor) *ts.Tensor {
	mass := fused.MustAdd(s.hide, false).MustLogsumexp([]int64{1}, true, true)
	norm := rhythm.MustAdd(s.hide, false).MustLogsumexp([]int64{1}, true, true)
	inside := rhythm.MustSub(norm, true).MustAdd(mass, true).MustMul(s.decide, true)
	norm.MustDrop()
	mass.MustDrop()
	out := fused.MustMul(s.keep, true).MustAdd(inside, true)
	inside.MustDrop()
	return out
}

// setPrior sets the RR expert's log training prior, for rrExpert.decides.
// A class without training samples keeps log prior 0: the expert never
// learnt it, so removing the prior must not lift it.
func (m *deepCNN1D) setPrior(prior []float64) {
	if m.logPrior == nil {
		return
	}
	lp := make([]float32, len(prior))
	for i, p := range prior {
		if p > 0 {
			lp[i] = float32(math.Log(p))
		}
	}
	t := ts.MustOfSlice(lp).MustTo(m.logPrior.MustDevice(), true)
	defer t.MustDrop()
	ts.NoGrad(func() { m.logPrior.Copy_(t) })
}

// experts returns the logits of the CNN and, with rrExpert, of the RR
// classifier.
func (m *deepCNN1D) experts(x *ts.Tensor, train bool) []*ts.Tensor {
	if m.expert == nil {
		return []*ts.Tensor{m.cnn(x, train)}
	}
	return []*ts.Tensor{m.cnn(x, train), m.rhythm(x)}
}

// rhythm is the rrExpert classifier.
func (m *deepCNN1D) rhythm(x *ts.Tensor) *ts.Tensor {
	h := x.MustNarrow(1, m.channels*m.length, m.features, false)
	for i, l := range m.expert {
		h = swap(h, l.Forward(h))
		if i < len(m.expert)-1 {
			h = h.MustRelu(true)
		}
	}
	return h
}

func (m *deepCNN1D) cnn(x *ts.Tensor, train bool) *ts.Tensor {
	b := x.MustSize()[0]
	n := m.channels * m.length
	h := x.MustNarrow(1, 0, n, false).MustReshape([]int64{b, m.channels, m.length}, true)
	for i := range m.convs {
		for j, conv := range m.convs[i] {
			h = swap(h, conv.Forward(h))
			if len(m.norms[i]) > 0 {
				h = swap(h, m.norms[i][j].ForwardT(h, train))
			}
			h = h.MustRelu(true)
		}
		if p := m.pool[i]; p > 1 {
			h = h.MustMaxPool1d([]int64{p}, []int64{p}, []int64{0}, []int64{1}, false, true)
		}
	}
	if m.globalMax {
		h = h.MustAmax([]int64{2}, false, true)
	} else {
		h = h.MustMeanDim([]int64{2}, false, gotch.Float, true)
	}
	if m.features > 0 {
		f := x.MustNarrow(1, n, m.features, false)
		joined := ts.MustCat([]*ts.Tensor{h, f}, 1)
		h.MustDrop()
		f.MustDrop()
		h = joined
	}
	h = swap(h, m.hidden.Forward(h)).MustRelu(true)
	if m.dropout > 0 && train {
		h = swap(h, ts.MustDropout(h, m.dropout, train))
	}
	return swap(h, m.out.Forward(h))
}
