package examples

import (
	"bytes"
	"path/filepath"
	"slices"
	"testing"

	wfv1 "github.com/argoproj/argo-workflows/v3/pkg/apis/workflow/v1alpha1"
	"sigs.k8s.io/yaml"

	"parak8s.dev/parak8s/compiler"
	"parak8s.dev/parak8s/internal/argolint"
	"parak8s.dev/parak8s/internal/golden"
)

// TestGolden compiles every example, checks the result with Argo's validator
// and compares it with the golden file next to it.
func TestGolden(t *testing.T) {
	for _, tc := range []struct {
		dir       string
		minTrials int
	}{
		{"ecg", 100},
		{"pneumonia", 8},
		{"pneumonia-finetune", 8},
		{"demo", 4},
		{"ecg-cv", 4},
		{"ecg-csv", 1},
		{"ecg-svdb", 1},
	} {
		t.Run(tc.dir, func(t *testing.T) {
			res, err := compiler.Compile(tc.dir, compiler.DefaultOptions())
			if err != nil {
				t.Fatalf("compile: %v", err)
			}
			if len(res) != 1 || len(res[0].Workflows) != 1 {
				t.Fatalf("got %d experiments, want 1 with 1 workflow", len(res))
			}
			if n := len(res[0].Plan.Trials); n < tc.minTrials {
				t.Errorf("example has %d trials, want at least %d", n, tc.minTrials)
			}
			got := res[0].Workflows[0].YAML
			if err := argolint.Validate(got); err != nil {
				t.Fatalf("argo rejects the example: %v", err)
			}
			var wf wfv1.Workflow
			if err := yaml.UnmarshalStrict(got, &wf); err != nil {
				t.Fatalf("strict parse: %v", err)
			}
			golden.Check(t, filepath.Join(tc.dir, "workflow.yaml"), got)
			// Deterministic: a second compile gives the same bytes.
			again, err := compiler.Compile(tc.dir, compiler.DefaultOptions())
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(again[0].Workflows[0].YAML, got) {
				t.Error("two compiles of the same spec differ")
			}
		})
	}
}

// TestSVDBHalves: examples/ecg-svdb trains on SVDB's dev half and tests on
// its test half, the halves `make svdb-ecg` copies: the recordings (800 and
// up) at even positions of the sorted list are dev, at odd positions test.
func TestSVDBHalves(t *testing.T) {
	res, err := compiler.Plan("ecg-svdb", compiler.DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	split := res[0].Plan.Experiment.Data.Split
	svdb := func(v any) []string {
		var out []string
		for _, r := range v.([]any) {
			if s := r.(string); s >= "800" {
				out = append(out, s)
			}
		}
		return out
	}
	train, test := svdb(split.Train), svdb(split.Test)
	all := slices.Sorted(slices.Values(append(slices.Clone(train), test...)))
	var dev, odd []string
	for i, r := range all {
		if i%2 == 0 {
			dev = append(dev, r)
		} else {
			odd = append(odd, r)
		}
	}
	if len(all) != 78 || !slices.Equal(slices.Sorted(slices.Values(train)), dev) || !slices.Equal(slices.Sorted(slices.Values(test)), odd) {
		t.Errorf("%d SVDB recordings; train %v, test %v; want the even positions %v and the odd %v", len(all), train, test, dev, odd)
	}
}
