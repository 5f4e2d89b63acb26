package model

import (
	"fmt"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"

	"github.com/sugarme/gotch/nn"
	"github.com/sugarme/gotch/ts"

	"parak8s.dev/parak8s/runtime/bundle"
	"parak8s.dev/parak8s/schema"
)

func ecgSpec(features int) Spec {
	return Spec{
		Model: schema.Model{Kind: "deepcnn1d", Dropout: 0.3, DeepCNN1D: &schema.DeepCNN1D{
			Filters: []int{8, 16}, Kernel: 5, ConvsPerBlock: 2, Pool: 2, BatchNorm: true, GlobalPool: "avg", Hidden: 16}},
		Classes: 5, Input: []int{1, 40}, Features: features,
	}
}

func imageSpec(classes int) Spec {
	return Spec{
		Model:   schema.Model{Kind: "resnet", Dropout: 0.2, ResNet: &schema.ResNet{Depth: 18, Width: 8, Stem: "small"}},
		Classes: classes, Input: []int{1, 12, 12},
	}
}

func ramp(n int, scale float32) []float32 {
	x := make([]float32, n)
	for i := range x {
		x[i] = scale * float32(math.Sin(float64(i)*0.37))
	}
	return x
}

func newNet(t *testing.T, s Spec) *Net {
	t.Helper()
	runtime.LockOSThread()
	t.Cleanup(runtime.UnlockOSThread)
	Seed(1)
	n, err := New(s)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(n.Close)
	return n
}

func TestForwardShapes(t *testing.T) {
	for _, tc := range []struct {
		name string
		spec Spec
	}{
		{"deepcnn1d", ecgSpec(0)},
		{"deepcnn1d+rr", ecgSpec(5)},
		{"deepcnn1d max pool", func() Spec {
			s := ecgSpec(5)
			s.Model.DeepCNN1D.GlobalPool = "max"
			s.Model.DeepCNN1D.BatchNorm = false
			return s
		}()},
		{"resnet18 small", imageSpec(2)},
		{"resnet34 imagenet rgb", func() Spec {
			s := imageSpec(3)
			s.Model.ResNet.Depth, s.Model.ResNet.Stem, s.Input = 34, "imagenet", []int{3, 32, 32}
			return s
		}()},
	} {
		t.Run(tc.name, func(t *testing.T) {
			n := newNet(t, tc.spec)
			const b = 3
			x, err := n.Batch(ramp(b*tc.spec.SampleSize(), 1), b)
			if err != nil {
				t.Fatal(err)
			}
			defer x.MustDrop()
			for _, train := range []bool{true, false} {
				out := n.Forward(x, train)
				if got := out.MustSize(); !slices.Equal(got, []int64{b, int64(tc.spec.Classes)}) {
					t.Errorf("train=%v: logits shape %v", train, got)
				}
				out.MustDrop()
			}
			p, err := n.Probs(ramp(b*tc.spec.SampleSize(), 1), b, 2)
			if err != nil {
				t.Fatal(err)
			}
			for i := 0; i < b; i++ {
				var sum float32
				for _, v := range p[i*tc.spec.Classes : (i+1)*tc.spec.Classes] {
					sum += v
				}
				if math.Abs(float64(sum)-1) > 1e-4 {
					t.Errorf("sample %d: probabilities sum to %v", i, sum)
				}
			}
		})
	}
}

func TestResNetNamesMatchTorchvision(t *testing.T) {
	n := newNet(t, imageSpec(2))
	names := n.names()
	for _, want := range []string{"conv1.weight", "bn1.running_mean", "layer1.0.conv1.weight", "layer2.0.downsample.0.weight", "layer2.0.downsample.1.bias", "layer4.1.bn2.running_var", "fc.weight", "fc.bias"} {
		if !slices.Contains(names, want) {
			t.Errorf("no parameter %s", want)
		}
	}
	if slices.Contains(names, "layer1.0.downsample.0.weight") {
		t.Error("layer1 block 0 has a downsample but keeps the shape")
	}
}

func TestBadSpecs(t *testing.T) {
	for name, s := range map[string]Spec{
		"unknown kind":     {Model: schema.Model{Kind: "lstm"}, Classes: 2, Input: []int{1, 10}},
		"one class":        func() Spec { s := ecgSpec(0); s.Classes = 1; return s }(),
		"missing section":  {Model: schema.Model{Kind: "resnet"}, Classes: 2, Input: []int{1, 8, 8}},
		"resnet 1-D input": func() Spec { s := imageSpec(2); s.Input = []int{1, 8}; return s }(),
		"depth 50":         func() Spec { s := imageSpec(2); s.Model.ResNet.Depth = 50; return s }(),
	} {
		if _, err := New(s); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}

func TestSaveLoadRoundTrip(t *testing.T) {
	ensemble := ecgSpec(5)
	ensemble.Model.Ensemble = 2
	for name, s := range map[string]Spec{"one network": ecgSpec(5), "ensemble": ensemble} {
		t.Run(name, func(t *testing.T) {
			a := newNet(t, s)
			x := ramp(4*s.SampleSize(), 2)
			// Move the batch-norm running statistics away from their initial values.
			in, _ := a.Batch(x, 4)
			a.Forward(in, true).MustDrop()
			in.MustDrop()
			path := filepath.Join(t.TempDir(), "w.safetensors")
			if err := a.Save(path, map[string]string{"k": "v"}); err != nil {
				t.Fatal(err)
			}
			Seed(2)
			b, err := New(s)
			if err != nil {
				t.Fatal(err)
			}
			defer b.Close()
			pa, _ := a.Probs(x, 4, 4)
			pb, _ := b.Probs(x, 4, 4)
			if slices.Equal(pa, pb) {
				t.Fatal("two seeds gave the same network")
			}
			if _, err := b.Load(path, LoadOptions{}); err != nil {
				t.Fatal(err)
			}
			pb, _ = b.Probs(x, 4, 4)
			if !slices.Equal(pa, pb) {
				t.Errorf("loaded network scores differently:\n%v\n%v", pa, pb)
			}
		})
	}
}

func TestPartialLoadReplacesHead(t *testing.T) {
	src := newNet(t, imageSpec(4))
	path := filepath.Join(t.TempDir(), "pre.safetensors")
	if err := src.Save(path, nil); err != nil {
		t.Fatal(err)
	}
	dst, err := New(imageSpec(2))
	if err != nil {
		t.Fatal(err)
	}
	defer dst.Close()
	if _, err := dst.Load(path, LoadOptions{}); err == nil {
		t.Fatal("strict load of a 4-class network into a 2-class one succeeded")
	}
	rep, err := dst.Load(path, LoadOptions{Partial: true})
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.ShapeMismatch) != 2 || len(rep.Loaded) != len(dst.names())-2 {
		t.Errorf("partial load: %d loaded of %d, mismatch %v", len(rep.Loaded), len(dst.names()), rep.ShapeMismatch)
	}
}

func TestFreeze(t *testing.T) {
	n := newNet(t, imageSpec(2))
	if _, err := n.Freeze([]string{"nope"}); err == nil {
		t.Fatal("freezing an unknown layer succeeded")
	}
	frozen, err := n.Freeze([]string{"stem", "layer1"})
	if err != nil {
		t.Fatal(err)
	}
	// conv1.weight, bn1.weight, bn1.bias + layer1: 2 blocks × (2 convs + 2×2 bn).
	if frozen != 3+2*6 {
		t.Errorf("froze %d tensors, want 15", frozen)
	}
	before := n.Weights()
	opt, err := nn.DefaultAdamConfig().Build(n.VarStore(), 0.1)
	if err != nil {
		t.Fatal(err)
	}
	x, _ := n.Batch(ramp(4*n.spec.SampleSize(), 1), 4)
	y := ts.MustOfSlice([]int64{0, 1, 0, 1})
	loss := n.Forward(x, true).CrossEntropyForLogits(y)
	opt.MustZeroGrad()
	loss.MustBackward()
	opt.MustStep()
	after := n.Weights()
	for i, w := range before {
		same := slices.Equal(w.F32, after[i].F32)
		stat := strings.HasSuffix(w.Name, "running_mean") || strings.HasSuffix(w.Name, "running_var")
		frozenName := w.Name == "conv1.weight" || w.Name == "bn1.weight" || w.Name == "bn1.bias" || strings.HasPrefix(w.Name, "layer1.")
		switch {
		case stat:
		case frozenName && !same:
			t.Errorf("%s is frozen but changed", w.Name)
		case !frozenName && same:
			t.Errorf("%s is trainable but did not change", w.Name)
		}
	}
}

// rss is the process's resident set in bytes (Linux; 0 elsewhere).
func rss() int64 {
	b, err := os.ReadFile("/proc/self/statm")
	if err != nil {
		return 0
	}
	var size, res int64
	if _, err := fmt.Sscan(string(b), &size, &res); err != nil {
		return 0
	}
	return res * int64(os.Getpagesize())
}

// TestTrainingMemoryIsFlat trains a few steps and checks that the resident
// set does not grow with them: each step's activations must be freed
// (gotch's in-place ops leak them; see swap). Before the fix this network
// grew by about 30 MB per step.
func TestTrainingMemoryIsFlat(t *testing.T) {
	if rss() == 0 {
		t.Skip("no /proc/self/statm")
	}
	s := ecgSpec(5)
	s.Input = []int{1, 4000} // 32 × 8 × 4000 floats = 4 MB per activation
	// The step training takes: Net.Loss, here with an RR expert.
	s.Model.DeepCNN1D.RRExpert = &schema.RRExpert{Hidden: []int{16}}
	n := newNet(t, s)
	opt, err := nn.DefaultAdamConfig().Build(n.VarStore(), 1e-3)
	if err != nil {
		t.Fatal(err)
	}
	const b = 32
	x := ramp(b*s.SampleSize(), 1)
	w := n.Tensor([]float32{1, 1, 1, 1, 1})
	defer w.MustDrop()
	labels := make([]int64, b)
	for i := range labels {
		labels[i] = int64(i % s.Classes)
	}
	step := func() {
		in, err := n.Batch(x, b)
		if err != nil {
			t.Fatal(err)
		}
		y := ts.MustOfSlice(labels)
		loss := n.Loss(in, y, w, 0)
		opt.MustZeroGrad()
		loss.MustBackward()
		opt.MustStep()
		in.MustDrop()
		y.MustDrop()
		loss.MustDrop()
	}
	for i := 0; i < 5; i++ {
		step()
	}
	before := rss()
	const steps = 15
	for i := 0; i < steps; i++ {
		step()
	}
	grew := rss() - before
	t.Logf("resident set grew %d MB over %d steps", grew>>20, steps)
	if grew > 160<<20 { // glibc arenas move by ±50 MB; the leak grew ~400 MB
		t.Errorf("resident set grew %d MB over %d training steps", grew>>20, steps)
	}
}

func TestEMA(t *testing.T) {
	n := newNet(t, ecgSpec(0))
	if _, err := n.NewEMA(1); err == nil {
		t.Fatal("decay 1 accepted")
	}
	e, err := n.NewEMA(0.75)
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	before := n.Weights()
	if got := e.Apply(before); !slices.EqualFunc(got, before, func(a, b bundle.Tensor) bool { return slices.Equal(a.F32, b.F32) }) {
		t.Fatal("a fresh average differs from the weights")
	}
	opt, err := nn.DefaultAdamConfig().Build(n.VarStore(), 0.1)
	if err != nil {
		t.Fatal(err)
	}
	x, _ := n.Batch(ramp(4*n.spec.SampleSize(), 1), 4)
	y := ts.MustOfSlice([]int64{0, 1, 2, 3})
	loss := n.Forward(x, true).CrossEntropyForLogits(y)
	opt.MustZeroGrad()
	loss.MustBackward()
	opt.MustStep()
	e.Update()
	after := n.Weights()
	avg := e.Apply(after)
	// The first update's decay is min(0.75, 2/11).
	const d = 2.0 / 11
	moved := 0
	for i, w := range avg {
		for j, v := range w.F32 {
			want := d*before[i].F32[j] + (1-d)*after[i].F32[j]
			if math.Abs(float64(v-want)) > 1e-5 {
				t.Fatalf("%s[%d] = %v, want %v", w.Name, j, v, want)
			}
			if before[i].F32[j] != after[i].F32[j] {
				moved++
			}
		}
	}
	if moved == 0 {
		t.Fatal("the optimizer step changed nothing")
	}
}
