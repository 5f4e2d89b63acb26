package model

import (
	"math"

	"github.com/sugarme/gotch/nn"
	"github.com/sugarme/gotch/ts"
)

// uniformFanIn is PyTorch's default init for conv and linear layers:
// kaiming_uniform(a=√5) for weights and U(±1/√fan_in) for biases, which are
// both U(±1/√fan_in). gotch's own default (randn, std 1) trains badly.
func uniformFanIn(fanIn int64) nn.Init {
	b := 1 / math.Sqrt(float64(fanIn))
	return nn.NewUniformInit(-b, b)
}

// kaimingNormal is He init for ReLU networks (fan_out, as torchvision's
// ResNet uses).
func kaimingNormal(fanOut int64) nn.Init {
	return nn.NewRandnInit(0, math.Sqrt(2/float64(fanOut)))
}

func conv1d(p *nn.Path, in, out, k int64, bias bool) *nn.Conv1D {
	cfg := nn.DefaultConv1DConfig()
	cfg.Padding = []int64{k / 2}
	cfg.Bias = bias
	cfg.WsInit = uniformFanIn(in * k)
	cfg.BsInit = uniformFanIn(in * k)
	return nn.NewConv1D(p, in, out, k, cfg)
}

func conv2d(p *nn.Path, in, out, k, stride, pad int64) *nn.Conv2D {
	cfg := nn.DefaultConv2DConfig()
	cfg.Stride = []int64{stride, stride}
	cfg.Padding = []int64{pad, pad}
	cfg.Bias = false
	cfg.WsInit = kaimingNormal(out * k * k)
	return nn.NewConv2D(p, in, out, k, cfg)
}

// bnMomentum is the weight of a batch in the running statistics of every
// batch-norm layer (PyTorch's default); AdaptBatchNorm relies on it.
const bnMomentum = 0.1

func batchNorm(p *nn.Path, dim int64, twoD bool) *nn.BatchNorm {
	cfg := nn.DefaultBatchNormConfig()
	cfg.Momentum = bnMomentum
	cfg.WsInit = nn.NewConstInit(1)
	cfg.BsInit = nn.NewConstInit(0)
	if twoD {
		return nn.BatchNorm2D(p, dim, cfg)
	}
	return nn.BatchNorm1D(p, dim, cfg)
}

// batchNormEps is a 2-D batch norm with the given epsilon (batchNorm uses
// PyTorch's 1e-5).
func batchNormEps(p *nn.Path, dim int64, eps float64) *nn.BatchNorm {
	cfg := nn.DefaultBatchNormConfig()
	cfg.Momentum = bnMomentum
	cfg.Eps = eps
	cfg.WsInit = nn.NewConstInit(1)
	cfg.BsInit = nn.NewConstInit(0)
	return nn.BatchNorm2D(p, dim, cfg)
}

func linear(p *nn.Path, in, out int64) *nn.Linear {
	cfg := nn.DefaultLinearConfig()
	cfg.WsInit = uniformFanIn(in)
	cfg.BsInit = uniformFanIn(in)
	return nn.NewLinear(p, in, out, cfg)
}

// swap returns next after dropping prev: forward passes free every
// intermediate as soon as the next op has consumed it (finalizers alone let
// memory grow).
//
// Forward passes use out-of-place ops only (h = h.MustRelu(true), not
// h.MustRelu_()): gotch v0.9.1's in-place methods swap the tensor's C handle
// for a new one without freeing the old handle, whose reference keeps the
// storage alive, so an in-place ReLU or add leaks its activation (about 20 MB
// per training step of the ECG example's network; TestTrainingMemoryIsFlat).
func swap(prev, next *ts.Tensor) *ts.Tensor {
	prev.MustDrop()
	return next
}
