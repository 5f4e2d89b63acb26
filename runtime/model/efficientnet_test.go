package model

import (
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/sugarme/gotch"
	"github.com/sugarme/gotch/ts"

	"parak8s.dev/parak8s/internal/golden"
	"parak8s.dev/parak8s/runtime/bundle"
	"parak8s.dev/parak8s/schema"
)

func effSpec(classes int, input ...int) Spec {
	return Spec{
		Model:   schema.Model{Kind: "efficientnet", Dropout: 0.2, EfficientNet: &schema.EfficientNet{Variant: "lite0"}},
		Classes: classes, Input: input,
	}
}

func TestEfficientNetForward(t *testing.T) {
	for _, tc := range []struct {
		name  string
		input []int
	}{
		{"grey 28", []int{1, 28, 28}},
		{"rgb 32", []int{3, 32, 32}},
		{"odd 33", []int{3, 33, 33}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			n := newNet(t, effSpec(2, tc.input...))
			const b = 3
			x, err := n.Batch(ramp(b*n.Spec().SampleSize(), 1), b)
			if err != nil {
				t.Fatal(err)
			}
			defer x.MustDrop()
			y := n.Tensor([]int64{0, 1, 1})
			defer y.MustDrop()
			cw := n.Tensor([]float32{1, 1})
			defer cw.MustDrop()
			loss := n.Loss(x, y, cw, 0)
			loss.MustBackward()
			if v := loss.Float64Values()[0]; math.IsNaN(v) || v <= 0 {
				t.Errorf("loss %v", v)
			}
			loss.MustDrop()
			w := n.vs.Variables()["conv_stem.weight"]
			g := w.MustGrad(false)
			if s := g.MustAbs(false).MustSum(g.DType(), true).Float64Values()[0]; s == 0 {
				t.Error("no gradient reached the stem")
			}
			g.MustDrop()
			p, err := n.Probs(ramp(b*n.Spec().SampleSize(), 1), b, 2)
			if err != nil {
				t.Fatal(err)
			}
			if len(p) != b*2 {
				t.Fatalf("%d probabilities, want %d", len(p), b*2)
			}
		})
	}
}

func TestPadSame(t *testing.T) {
	for _, tc := range []struct {
		size, k                  int64
		top, bottom, outSizeWant int64
	}{
		{28, 3, 0, 1, 14},
		{28, 5, 1, 2, 14},
		{7, 3, 1, 1, 4},
		{7, 5, 2, 2, 4},
		{1, 3, 1, 1, 1},
	} {
		t.Run(fmt.Sprintf("%d k%d", tc.size, tc.k), func(t *testing.T) {
			x := ts.MustOnes([]int64{1, 1, tc.size, tc.size}, gotch.Float, Device())
			defer x.MustDrop()
			p := padSame(x, tc.k, 2)
			defer p.MustDrop()
			sz := p.MustSize()
			if got := sz[2]; got != tc.size+tc.top+tc.bottom {
				t.Errorf("padded to %d rows, want %d", got, tc.size+tc.top+tc.bottom)
			}
			if out := (sz[2]-tc.k)/2 + 1; out != tc.outSizeWant {
				t.Errorf("output %d rows, want %d (TensorFlow's same)", out, tc.outSizeWant)
			}
			// the first padded row is zero exactly when the top pad is 1 or more
			first := p.MustSelect(2, 0, false)
			s := first.MustSum(first.DType(), true).Float64Values()[0]
			if (s == 0) != (tc.top > 0) {
				t.Errorf("top row sums to %v with top pad %d", s, tc.top)
			}
		})
	}
}

// TestEfficientNetNames keeps the network's parameter names and shapes
// (3 channels, 1000 classes: the ImageNet checkpoint's) in a golden file;
// go test -run TestEfficientNetNames -update rewrites it. When the
// converted checkpoint is in the cache (make pretrained), it must load
// strictly: every tensor by name and shape, both ways.
func TestEfficientNetNames(t *testing.T) {
	n := newNet(t, effSpec(1000, 3, 224, 224))
	var b strings.Builder
	for _, w := range n.Weights() {
		fmt.Fprintf(&b, "%s %v\n", w.Name, w.Shape)
	}
	namesFile := filepath.Join("testdata", "efficientnet-lite0.txt")
	if golden.Update() {
		if err := os.WriteFile(namesFile, []byte(b.String()), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(namesFile)
	if err != nil {
		t.Fatal(err)
	}
	if b.String() != string(want) {
		t.Errorf("names and shapes differ from %s (go test -update rewrites it):\n%s", namesFile, b.String())
	}
	for _, name := range []string{"conv_stem.weight", "bn0.running_var", "blocks.0.depthwise_conv.weight", "blocks.15.project_conv.weight", "conv_head.weight", "fc.bias"} {
		if !slices.Contains(n.names(), name) {
			t.Errorf("no parameter %s", name)
		}
	}
	if slices.Contains(n.names(), "blocks.0.expand_conv.weight") {
		t.Error("block 0 (expansion 1) has an expand_conv")
	}

	cache := os.Getenv("PARAK8S_CACHE")
	if cache == "" {
		home, _ := os.UserHomeDir()
		cache = filepath.Join(home, ".cache", "parak8s")
	}
	file := filepath.Join(cache, "pretrained", "efficientnet-lite0-0.1.0", bundle.FileWeights)
	if _, err := os.Stat(file); err != nil {
		t.Skipf("no converted checkpoint at %s (make pretrained): names checked against the golden file only", file)
	}
	rep, err := n.Load(file, LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Loaded) != len(n.names()) {
		t.Errorf("loaded %d of %d tensors", len(rep.Loaded), len(n.names()))
	}
}

func TestEfficientNetFreezeStem(t *testing.T) {
	n := newNet(t, effSpec(2, 3, 16, 16))
	before := n.Parameters()
	k, err := n.Freeze([]string{"stem"})
	if err != nil {
		t.Fatal(err)
	}
	if k != 3 { // conv_stem.weight, bn0.weight, bn0.bias
		t.Errorf("froze %d tensors, want 3", k)
	}
	if got, want := before-n.Parameters(), int64(32*3*3*3+32+32); got != want {
		t.Errorf("froze %d values, want %d", got, want)
	}
}

func TestEfficientNetBadSpecs(t *testing.T) {
	for name, s := range map[string]Spec{
		"missing section": {Model: schema.Model{Kind: "efficientnet"}, Classes: 2, Input: []int{3, 8, 8}},
		"1-D input":       effSpec(2, 1, 8),
		"variant":         func() Spec { s := effSpec(2, 3, 8, 8); s.Model.EfficientNet.Variant = "lite4"; return s }(),
	} {
		t.Run(name, func(t *testing.T) {
			if n, err := New(s); err == nil {
				n.Close()
				t.Fatal("no error")
			}
		})
	}
}
