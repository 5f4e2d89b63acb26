package examples

import (
	"bytes"
	"path/filepath"
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
