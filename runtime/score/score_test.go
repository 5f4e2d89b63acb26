package score

import (
	"testing"

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
