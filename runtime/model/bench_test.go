package model

import (
	"fmt"
	"runtime"
	"testing"

	"github.com/sugarme/gotch/nn"
	"github.com/sugarme/gotch/ts"

	"parak8s.dev/parak8s/schema"
)

// BenchmarkTrainStep times one Adam step of the deepcnn1d network on a batch
// of 128 beats of 163 samples + 5 RR features, for a few filter layouts.
func BenchmarkTrainStep(b *testing.B) {
	for _, filters := range [][]int{{32, 64, 128, 128}, {16, 32, 64, 64}, {32, 32, 64, 64}} {
		b.Run(fmt.Sprint(filters), func(b *testing.B) {
			runtime.LockOSThread()
			defer runtime.UnlockOSThread()
			SetThreads(0)
			s := Spec{Model: schema.Model{Kind: "deepcnn1d", Dropout: 0.3, DeepCNN1D: &schema.DeepCNN1D{
				Filters: filters, Kernel: 5, ConvsPerBlock: 2, Pool: 2, BatchNorm: true, GlobalPool: "avg", Hidden: 64}},
				Classes: 5, Input: []int{1, 163}, Features: 5}
			n, err := New(s)
			if err != nil {
				b.Fatal(err)
			}
			defer n.Close()
			opt, err := nn.DefaultAdamConfig().Build(n.VarStore(), 1e-3)
			if err != nil {
				b.Fatal(err)
			}
			x := ramp(128*s.SampleSize(), 1)
			labels := make([]int64, 128)
			for i := range labels {
				labels[i] = int64(i % 5)
			}
			w := ts.MustOfSlice([]float32{1, 1, 1, 1, 1})
			defer w.MustDrop()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				in, _ := n.Batch(x, 128)
				y := ts.MustOfSlice(labels)
				loss := n.Forward(in, true).MustCrossEntropyLoss(y, w, 1, -100, 0, true)
				opt.MustZeroGrad()
				loss.MustBackward()
				opt.MustStep()
				in.MustDrop()
				y.MustDrop()
				loss.MustDrop()
			}
		})
	}
}

// BenchmarkImageTrainStep times one AdamW step on a batch of 64 images with
// one libtorch thread: the pneumonia example's EfficientNet-Lite0 at 56×56
// and 28×28 (3 channels), and the width-16 small-stem ResNet-18 it replaced.
func BenchmarkImageTrainStep(b *testing.B) {
	eff := schema.Model{Kind: "efficientnet", Dropout: 0.2, EfficientNet: &schema.EfficientNet{Variant: "lite0"}}
	res := schema.Model{Kind: "resnet", Dropout: 0.2, ResNet: &schema.ResNet{Depth: 18, Width: 16, Stem: "small"}}
	for _, tc := range []struct {
		name   string
		model  schema.Model
		input  []int
		frozen []string
	}{
		{"efficientnet-lite0 3x56x56", eff, []int{3, 56, 56}, nil},
		{"efficientnet-lite0 3x56x56 stem+blocks0-5 frozen", eff, []int{3, 56, 56}, []string{"stem", "blocks.0", "blocks.1", "blocks.2", "blocks.3", "blocks.4", "blocks.5"}},
		{"efficientnet-lite0 3x28x28", eff, []int{3, 28, 28}, nil},
		{"resnet18 w16 small 1x28x28", res, []int{1, 28, 28}, nil},
	} {
		b.Run(tc.name, func(b *testing.B) {
			runtime.LockOSThread()
			defer runtime.UnlockOSThread()
			SetThreads(1)
			s := Spec{Model: tc.model, Classes: 2, Input: tc.input}
			n, err := New(s)
			if err != nil {
				b.Fatal(err)
			}
			defer n.Close()
			if _, err := n.Freeze(tc.frozen); err != nil {
				b.Fatal(err)
			}
			opt, err := nn.NewAdamWConfig(0.9, 0.999, 1e-4).Build(n.VarStore(), 1e-3)
			if err != nil {
				b.Fatal(err)
			}
			const batch = 64
			x := ramp(batch*s.SampleSize(), 1)
			labels := make([]int64, batch)
			for i := range labels {
				labels[i] = int64(i % 2)
			}
			w := ts.MustOfSlice([]float32{1, 1})
			defer w.MustDrop()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				in, _ := n.Batch(x, batch)
				y := ts.MustOfSlice(labels)
				loss := n.Loss(in, y, w, 0)
				opt.MustZeroGrad()
				loss.MustBackward()
				opt.MustStep()
				in.MustDrop()
				y.MustDrop()
				loss.MustDrop()
			}
		})
	}
}
