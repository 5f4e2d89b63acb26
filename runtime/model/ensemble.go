package model

import (
	"fmt"
	"math"

	"github.com/sugarme/gotch"
	"github.com/sugarme/gotch/nn"
	"github.com/sugarme/gotch/ts"
)

// ensemblePrefix names the members' parameters: members.0.conv1.weight, ….
const ensemblePrefix = "members"

// ensemble is model.ensemble: member networks of one kind, each built from
// its own random initialisation under members.I. Its output is the mean of
// the members' class probabilities (a deep ensemble); its training loss is
// the sum of the members' own (Net.Loss), so each learns on its own.
type ensemble struct {
	members []forwarder
}

// newEnsemble builds n members with build, each under its own path, and
// returns the body and the layer groups of the members together.
func newEnsemble(p *nn.Path, n int, build func(*nn.Path) (forwarder, map[string][]string, error)) (forwarder, map[string][]string, error) {
	e := &ensemble{}
	var single map[string][]string // every member's groups: the members are of one kind
	for i := range n {
		body, g, err := build(p.Sub(ensemblePrefix).Sub(fmt.Sprint(i)))
		if err != nil {
			return nil, nil, err
		}
		e.members, single = append(e.members, body), g
	}
	groups := map[string][]string{}
	for name, prefixes := range single {
		for _, q := range prefixes {
			groups[name] = append(groups[name], memberNames(q, n)...)
		}
	}
	return e, groups, nil
}

// forward returns the log of the members' mean probabilities: logits whose
// softmax is that mean.
func (e *ensemble) forward(x *ts.Tensor, train bool) *ts.Tensor {
	var lp []*ts.Tensor
	for _, m := range e.members {
		lp = append(lp, m.forward(x, train).MustLogSoftmax(1, gotch.Float, true))
	}
	stacked := ts.MustStack(lp, 0)
	for _, t := range lp {
		t.MustDrop()
	}
	mean := stacked.MustLogsumexp([]int64{0}, false, true)
	shift := ts.FloatScalar(math.Log(float64(len(e.members))))
	defer shift.MustDrop()
	return mean.MustSubScalar(shift, true)
}

// losses returns each member's training loss.
func (e *ensemble) losses(x, y, weights *ts.Tensor, smoothing float64) []*ts.Tensor {
	var out []*ts.Tensor
	for _, m := range e.members {
		out = append(out, bodyLoss(m, x, y, weights, smoothing))
	}
	return out
}

// setPrior passes the training prior to the members that use it.
func (e *ensemble) setPrior(prior []float64) {
	for _, m := range e.members {
		if b, ok := m.(priorSetter); ok {
			b.setPrior(prior)
		}
	}
}

// memberNames returns, for a name of a single network's weights (a
// pretrained file's), the same tensor's name in every member.
func memberNames(name string, members int) []string {
	out := make([]string, members)
	for i := range out {
		out[i] = fmt.Sprintf("%s.%d.%s", ensemblePrefix, i, name)
	}
	return out
}
