package model

import (
	"fmt"
	"slices"
	"strings"

	"github.com/sugarme/gotch"
	"github.com/sugarme/gotch/nn"
	"github.com/sugarme/gotch/ts"

	"parak8s.dev/parak8s/schema"
)

// Spec is everything a network's shape depends on.
type Spec struct {
	// Model is the experiment's model section.
	Model schema.Model
	// Classes is the number of outputs.
	Classes int
	// Input is the shape of one sample ([channels, length] for deepcnn1d,
	// [channels, height, width] for resnet and efficientnet); Features is the number of
	// extra values after it (RR intervals, deepcnn1d only).
	Input    []int
	Features int
	// ClassNames name the outputs, in order (model.deepcnn1d.rrExpert.decides
	// refers to them).
	ClassNames []string
}

// SampleSize is the number of float32 values of one flat sample.
func (s Spec) SampleSize() int {
	n := 1
	for _, d := range s.Input {
		n *= d
	}
	return n + s.Features
}

// forwarder is a network body: logits from a flat batch [B, SampleSize].
type forwarder interface {
	forward(x *ts.Tensor, train bool) *ts.Tensor
}

// Net is a network and its parameters.
type Net struct {
	spec Spec
	dev  gotch.Device
	vs   *nn.VarStore
	body forwarder
	// groups maps layer group names accepted by Freeze ("stem", "head") to
	// parameter name prefixes.
	groups map[string][]string
}

// Device returns the device networks are built on: the first CUDA device when
// libtorch has one (a GPU image, linked with libtorch_cuda), else the CPU.
func Device() gotch.Device { return gotch.CudaIfAvailable() }

// New builds a network with freshly initialised parameters on Device().
// Seed libtorch first (Seed) for reproducible weights.
func New(spec Spec) (*Net, error) {
	if spec.Classes < 2 {
		return nil, fmt.Errorf("building model: %d classes, want at least 2", spec.Classes)
	}
	dev := Device()
	vs := nn.NewVarStore(dev)
	n := &Net{spec: spec, vs: vs, dev: dev}
	build := func(p *nn.Path) (forwarder, map[string][]string, error) {
		switch spec.Model.Kind {
		case schema.ModelDeepCNN1D:
			return newDeepCNN1D(p, spec)
		case schema.ModelResNet:
			return newResNet(p, spec)
		case schema.ModelEfficientNet:
			return newEfficientNet(p, spec)
		}
		return nil, nil, fmt.Errorf("model.kind %q is not one of deepcnn1d, resnet, efficientnet", spec.Model.Kind)
	}
	var err error
	switch m := spec.Model.Ensemble; {
	case m > 1:
		n.body, n.groups, err = newEnsemble(vs.Root(), m, build)
	case m < 0:
		err = fmt.Errorf("model.ensemble %d: want 1 or more networks", m)
	default:
		n.body, n.groups, err = build(vs.Root())
	}
	if err != nil {
		vs.Destroy()
		return nil, fmt.Errorf("building model: %w", err)
	}
	return n, nil
}

// Spec returns the network's spec.
func (n *Net) Spec() Spec { return n.spec }

// VarStore returns the network's parameters (for the optimizer).
func (n *Net) VarStore() *nn.VarStore { return n.vs }

// Close frees the parameters.
func (n *Net) Close() { n.vs.Destroy() }

// Forward returns the logits [B, Classes] of a flat batch [B, SampleSize].
// train selects batch statistics and dropout.
func (n *Net) Forward(x *ts.Tensor, train bool) *ts.Tensor { return n.body.forward(x, train) }

// priorSetter is a body that uses the training prior (SetTrainingPrior).
type priorSetter interface {
	setPrior(prior []float64)
}

// SetTrainingPrior records the class distribution the network is trained
// under (training.loss.classWeights times the class counts, one value per
// class), for a body that removes it from a classifier's output
// (rrExpert.decides); Save keeps it. Other bodies ignore it.
func (n *Net) SetTrainingPrior(weights []float32, counts []int) error {
	b, ok := n.body.(priorSetter)
	if !ok {
		return nil
	}
	if len(weights) != n.spec.Classes || len(counts) != n.spec.Classes {
		return fmt.Errorf("training prior: %d weights and %d counts for %d classes", len(weights), len(counts), n.spec.Classes)
	}
	prior := make([]float64, len(counts))
	var sum float64
	for i, c := range counts {
		prior[i] = float64(weights[i]) * float64(c)
		sum += prior[i]
	}
	if sum <= 0 {
		return fmt.Errorf("training prior: no weighted samples")
	}
	for i := range prior {
		prior[i] /= sum
	}
	b.setPrior(prior)
	return nil
}

// experts is a body made of classifiers trained each on its own loss
// (deepcnn1d with rrExpert); its forward fuses their logits.
type experts interface {
	experts(x *ts.Tensor, train bool) []*ts.Tensor
}

// Loss returns the training loss of a flat batch x with labels y: the
// cross entropy of the logits with the given class weights and label
// smoothing, or for a body of several experts the sum of each expert's
// cross entropy, so that none learns to lean on the others. An
// ensemble's loss is the sum of its members'.
func (n *Net) Loss(x, y, weights *ts.Tensor, smoothing float64) *ts.Tensor {
	return bodyLoss(n.body, x, y, weights, smoothing)
}

// bodyLoss is Net.Loss for one body (an ensemble's member too).
func bodyLoss(body forwarder, x, y, weights *ts.Tensor, smoothing float64) *ts.Tensor {
	switch b := body.(type) {
	case *ensemble:
		return sum(b.losses(x, y, weights, smoothing))
	case experts:
		var losses []*ts.Tensor
		for _, logits := range b.experts(x, true) {
			losses = append(losses, logits.MustCrossEntropyLoss(y, weights, 1, -100, smoothing, true))
		}
		return sum(losses)
	}
	return body.forward(x, true).MustCrossEntropyLoss(y, weights, 1, -100, smoothing, true)
}

// fuse returns the experts' log-probabilities summed with the given weights
// (which sum to 1): logits whose softmax is the normalised weighted
// geometric mean of the experts' probabilities (a product of experts).
func fuse(logits []*ts.Tensor, weights []float64) *ts.Tensor {
	var lp []*ts.Tensor
	for i, l := range logits {
		lp = append(lp, l.MustLogSoftmax(1, gotch.Float, true).MustMulScalar(ts.FloatScalar(weights[i]), true))
	}
	return sum(lp)
}

// sum adds tensors of one shape, dropping them.
func sum(t []*ts.Tensor) *ts.Tensor {
	s := t[0]
	for _, x := range t[1:] {
		s = s.MustAdd(x, true)
		x.MustDrop()
	}
	return s
}

// Device returns the device the network lives on.
func (n *Net) Device() gotch.Device { return n.dev }

// Tensor copies Go values to a tensor on the network's device.
func (n *Net) Tensor(v any) *ts.Tensor {
	t := ts.MustOfSlice(v)
	if n.dev == gotch.CPU {
		return t
	}
	return t.MustTo(n.dev, true)
}

// Batch makes the input tensor of n flat samples on the network's device.
func (n *Net) Batch(x []float32, samples int) (*ts.Tensor, error) {
	size := n.spec.SampleSize()
	if len(x) != samples*size {
		return nil, fmt.Errorf("batch of %d values for %d samples of %d", len(x), samples, size)
	}
	return n.Tensor(x).MustView([]int64{int64(samples), int64(size)}, true), nil
}

// Probs returns the softmax scores [n × Classes] of n flat samples, computed
// in evaluation mode, without gradients, batch samples at a time.
func (n *Net) Probs(x []float32, samples, batch int) ([]float32, error) {
	size := n.spec.SampleSize()
	if len(x) != samples*size {
		return nil, fmt.Errorf("scoring %d values as %d samples of %d", len(x), samples, size)
	}
	if batch <= 0 {
		batch = 256
	}
	out := make([]float32, 0, samples*n.spec.Classes)
	var err error
	ts.NoGrad(func() {
		for i := 0; i < samples && err == nil; i += batch {
			m := min(batch, samples-i)
			var in *ts.Tensor
			if in, err = n.Batch(x[i*size:(i+m)*size], m); err != nil {
				return
			}
			logits := n.Forward(in, false)
			in.MustDrop()
			p := logits.MustSoftmax(1, gotch.Float, true).MustTo(gotch.CPU, true)
			out = append(out, p.Vals().([]float32)...)
			p.MustDrop()
		}
	})
	return out, err
}

// names returns the parameter and buffer names, sorted.
func (n *Net) names() []string {
	vars := n.vs.Variables()
	names := make([]string, 0, len(vars))
	for k := range vars {
		names = append(names, k)
	}
	slices.Sort(names)
	return names
}

// Freeze stops gradients for the parameters of the named layers: a group
// name ("stem", "head"), or a parameter name prefix at a dot boundary
// ("layer1", "blocks.0"). A name that matches nothing is an error.
func (n *Net) Freeze(layers []string) (frozen int, err error) {
	vars := n.vs.Variables()
	names := n.names()
	for _, l := range layers {
		prefixes := n.groups[l]
		switch {
		case prefixes != nil:
		case n.members() > 1:
			// A single network's layer in every member, or one member's.
			prefixes = append(memberNames(l, n.members()), l)
		default:
			prefixes = []string{l}
		}
		matched := 0
		for _, name := range names {
			for _, p := range prefixes {
				if name == p || strings.HasPrefix(name, p+".") {
					t := vars[name]
					if t.MustRequiresGrad() {
						t.MustRequiresGrad_(false)
						frozen++
					}
					matched++
					break
				}
			}
		}
		if matched == 0 {
			return frozen, fmt.Errorf("freezing %q: no such layer (groups: %s; layers: %s)", l, strings.Join(sortedKeys(n.groups), ", "), strings.Join(topLevel(names), ", "))
		}
	}
	return frozen, nil
}

func sortedKeys(m map[string][]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

func topLevel(names []string) []string {
	var out []string
	for _, n := range names {
		top, _, _ := strings.Cut(n, ".")
		if !slices.Contains(out, top) {
			out = append(out, top)
		}
	}
	return out
}

// members returns the number of member networks (model.ensemble): 1 for a
// single network.
func (n *Net) members() int {
	if e, ok := n.body.(*ensemble); ok {
		return len(e.members)
	}
	return 1
}

// Parameters returns the number of trainable values.
func (n *Net) Parameters() int64 {
	var total int64
	for _, t := range n.vs.TrainableVariables() {
		total += int64(t.Numel())
	}
	return total
}
