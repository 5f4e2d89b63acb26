package score

import (
	"runtime"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"parak8s.dev/parak8s/runtime/dataset"
	"parak8s.dev/parak8s/runtime/model"
	"parak8s.dev/parak8s/schema"
)

func TestOptions(t *testing.T) {
	th := 0.3
	tests := []struct {
		name      string
		threshold *float64
		classes   int
		use       bool
		want      float64
	}{
		{"binary with a threshold", &th, 2, true, 0.3},
		{"binary without", nil, 2, false, 0.5},
		{"five classes with a threshold", &th, 5, false, 0.5},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var exp schema.Experiment
			exp.Evaluation.Threshold = tt.threshold
			o := Options(exp, tt.classes)
			if o.UseThreshold != tt.use || o.Threshold != tt.want {
				t.Errorf("UseThreshold %v, Threshold %v; want %v, %v", o.UseThreshold, o.Threshold, tt.use, tt.want)
			}
		})
	}
}

// TestProbsViews: with evaluation.testTimeViews an image's probabilities
// are the mean of the network's over its views; without, they are the
// network's; views of beats are refused.
func TestProbsViews(t *testing.T) {
	runtime.LockOSThread() // libtorch's grad mode is per OS thread (model's doc)
	defer runtime.UnlockOSThread()
	const size, samples = 12, 5
	net, err := model.New(model.Spec{
		Model:   schema.Model{Kind: "resnet", ResNet: &schema.ResNet{Depth: 18, Width: 4, Stem: "small"}},
		Classes: 2, Input: []int{1, size, size},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer net.Close()
	s := Split{X: make([]float32, samples*size*size), Labels: make([]int, samples)}
	for i := range s.X {
		s.X[i] = float32((i*29)%53)/26 - 1
	}
	var exp schema.Experiment
	exp.Data.Image = &schema.Image{Size: size, Channels: 1, Augment: schema.Augment{Enabled: true, Rotate: 10, Shift: 0.1, Crop: 0.9}}
	one, err := Probs(net, s, exp)
	if err != nil {
		t.Fatal(err)
	}
	plain, err := net.Probs(s.X, samples, Batch)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(plain, one); diff != "" {
		t.Errorf("without views (-net +Probs):\n%s", diff)
	}

	exp.Evaluation.TestTimeViews = 3
	got, err := Probs(net, s, exp)
	if err != nil {
		t.Fatal(err)
	}
	aug, err := dataset.ViewAugment(exp)
	if err != nil {
		t.Fatal(err)
	}
	want := make([]float32, len(plain))
	view := make([]float32, len(s.X))
	for v := range 3 {
		aug.View(s.X, view, samples, 1, size, v)
		p, err := net.Probs(view, samples, Batch)
		if err != nil {
			t.Fatal(err)
		}
		for i := range p {
			want[i] += p[i] / 3
		}
	}
	if diff := cmp.Diff(want, got, cmpopts.EquateApprox(0, 1e-6)); diff != "" {
		t.Errorf("3 views (-mean of the views +Probs):\n%s", diff)
	}
	if cmp.Equal(plain, got, cmpopts.EquateApprox(0, 1e-6)) {
		t.Error("3 views gave the probabilities of the image alone")
	}

	exp.Data.Image = nil
	if _, err := Probs(net, s, exp); err == nil || !strings.Contains(err.Error(), "evaluation.testTimeViews") {
		t.Errorf("views without images: error %v, want one naming evaluation.testTimeViews", err)
	}
}
