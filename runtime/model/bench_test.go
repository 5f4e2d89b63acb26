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
