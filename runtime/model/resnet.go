package model

import (
	"fmt"

	"github.com/sugarme/gotch/nn"
	"github.com/sugarme/gotch/ts"

	"parak8s.dev/parak8s/schema"
)

// resNet is ResNet-18/34 (basic blocks) with torchvision's parameter names:
// conv1, bn1, layer1…layer4 (each block conv1, bn1, conv2, bn2 and
// downsample.0/.1 where the shape changes), fc. The "small" stem is a 3×3
// stride-1 convolution without max pooling, for small images such as
// 28×28; "imagenet" is torchvision's 7×7 stride-2 convolution and max pool.
type resNet struct {
	channels, height, width int64
	conv1                   *nn.Conv2D
	bn1                     *nn.BatchNorm
	maxPool                 bool
	blocks                  []*basicBlock
	fc                      *nn.Linear
	dropout                 float64
}

type basicBlock struct {
	conv1, conv2 *nn.Conv2D
	bn1, bn2     *nn.BatchNorm
	down         *nn.Conv2D
	downBN       *nn.BatchNorm
}

func newResNet(p *nn.Path, spec Spec) (forwarder, map[string][]string, error) {
	c := spec.Model.ResNet
	if c == nil {
		return nil, nil, fmt.Errorf("model.resnet is missing")
	}
	if len(spec.Input) != 3 || spec.Features != 0 {
		return nil, nil, fmt.Errorf("resnet wants [channels, height, width] input and no extra features, got %v + %d", spec.Input, spec.Features)
	}
	var layers []int
	switch c.Depth {
	case 18:
		layers = []int{2, 2, 2, 2}
	case 34:
		layers = []int{3, 4, 6, 3}
	default:
		return nil, nil, fmt.Errorf("model.resnet.depth %d is not 18 or 34", c.Depth)
	}
	m := &resNet{channels: int64(spec.Input[0]), height: int64(spec.Input[1]), width: int64(spec.Input[2]), dropout: spec.Model.Dropout}
	w := int64(c.Width)
	if c.Stem == schema.StemImageNet {
		m.conv1 = conv2d(p.Sub("conv1"), m.channels, w, 7, 2, 3)
		m.maxPool = true
	} else {
		m.conv1 = conv2d(p.Sub("conv1"), m.channels, w, 3, 1, 1)
	}
	m.bn1 = batchNorm(p.Sub("bn1"), w, true)
	in := w
	for l, n := range layers {
		out := w << l
		lp := p.Sub(fmt.Sprintf("layer%d", l+1))
		for i := 0; i < n; i++ {
			stride := int64(1)
			if i == 0 && l > 0 {
				stride = 2
			}
			bp := lp.Sub(fmt.Sprint(i))
			b := &basicBlock{
				conv1: conv2d(bp.Sub("conv1"), in, out, 3, stride, 1),
				bn1:   batchNorm(bp.Sub("bn1"), out, true),
				conv2: conv2d(bp.Sub("conv2"), out, out, 3, 1, 1),
				bn2:   batchNorm(bp.Sub("bn2"), out, true),
			}
			if stride != 1 || in != out {
				d := bp.Sub("downsample")
				b.down = conv2d(d.Sub("0"), in, out, 1, stride, 0)
				b.downBN = batchNorm(d.Sub("1"), out, true)
			}
			m.blocks = append(m.blocks, b)
			in = out
		}
	}
	m.fc = linear(p.Sub("fc"), in, int64(spec.Classes))
	return m, map[string][]string{"stem": {"conv1", "bn1"}, "head": {"fc"}}, nil
}

func (b *basicBlock) forward(x *ts.Tensor, train bool) *ts.Tensor {
	h := b.conv1.Forward(x)
	h = swap(h, b.bn1.ForwardT(h, train)).MustRelu(true)
	h = swap(h, b.conv2.Forward(h))
	h = swap(h, b.bn2.ForwardT(h, train))
	if b.down != nil {
		s := b.down.Forward(x)
		s = swap(s, b.downBN.ForwardT(s, train))
		h = h.MustAdd(s, true)
		s.MustDrop()
	} else {
		h = h.MustAdd(x, true)
	}
	return h.MustRelu(true)
}

func (m *resNet) forward(x *ts.Tensor, train bool) *ts.Tensor {
	b := x.MustSize()[0]
	v := x.MustView([]int64{b, m.channels, m.height, m.width}, false)
	h := m.conv1.Forward(v)
	v.MustDrop()
	h = swap(h, m.bn1.ForwardT(h, train)).MustRelu(true)
	if m.maxPool {
		h = h.MustMaxPool2d([]int64{3, 3}, []int64{2, 2}, []int64{1, 1}, []int64{1, 1}, false, true)
	}
	for _, blk := range m.blocks {
		h = swap(h, blk.forward(h, train))
	}
	h = h.MustAdaptiveAvgPool2d([]int64{1, 1}, true).MustFlatten(1, -1, true)
	if m.dropout > 0 && train {
		h = swap(h, ts.MustDropout(h, m.dropout, train))
	}
	return swap(h, m.fc.Forward(h))
}
