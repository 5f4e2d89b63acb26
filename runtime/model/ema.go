package model

import (
	"fmt"

	"github.com/sugarme/gotch"
	"github.com/sugarme/gotch/ts"
)

// EMA keeps an exponential moving average of a network's floating-point
// parameters and buffers (shadow = d·shadow + (1−d)·value after every step,
// batch-norm statistics included, as timm's ModelEmaV2 does). The decay
// warms up, d = min(decay, (1+t)/(10+t)) at step t, so early averages are
// not dominated by the random initial weights. Evaluating with the averaged
// weights smooths the step-to-step noise of the optimizer.
type EMA struct {
	decay  float64
	steps  int
	names  []string
	params []*ts.Tensor
	shadow []*ts.Tensor
}

// NewEMA starts an average at the network's current trainable parameters.
func (n *Net) NewEMA(decay float64) (*EMA, error) {
	if decay <= 0 || decay >= 1 {
		return nil, fmt.Errorf("ema decay %v: want a value in (0, 1)", decay)
	}
	e := &EMA{decay: decay}
	vars := n.vs.Variables()
	one := ts.FloatScalar(1)
	defer one.MustDrop()
	ts.NoGrad(func() {
		for _, name := range n.names() {
			v := vars[name]
			if v.DType() != gotch.Float {
				continue // integer buffers (counters) are not averaged
			}
			p := v
			e.names = append(e.names, name)
			e.params = append(e.params, &p)
			e.shadow = append(e.shadow, p.MustMulScalar(one, false)) // a copy, outside autograd
		}
	})
	return e, nil
}

// Update moves the average towards the current values.
func (e *EMA) Update() {
	e.steps++
	d := min(e.decay, float64(1+e.steps)/float64(10+e.steps))
	rate := ts.FloatScalar(1 - d)
	defer rate.MustDrop()
	ts.NoGrad(func() {
		for i, s := range e.shadow {
			s.MustLerp_(e.params[i], rate)
		}
	})
}

// Apply returns a copy of w (the network's weights) with the averaged
// values in place of the current ones.
func (e *EMA) Apply(w Weights) Weights {
	avg := make(map[string]*ts.Tensor, len(e.names))
	for i, name := range e.names {
		avg[name] = e.shadow[i]
	}
	out := make(Weights, len(w))
	for i, t := range w {
		out[i] = t
		if s, ok := avg[t.Name]; ok {
			c := s.MustTo(gotch.CPU, false)
			out[i].F32 = c.Vals().([]float32)
			c.MustDrop()
		}
	}
	return out
}

// Close frees the averages.
func (e *EMA) Close() {
	for _, s := range e.shadow {
		s.MustDrop()
	}
}
