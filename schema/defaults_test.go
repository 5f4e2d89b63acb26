package schema_test

import (
	"testing"

	"cuelang.org/go/cue"
	"cuelang.org/go/cue/cuecontext"

	"parak8s.dev/parak8s/compiler/spec"
	"parak8s.dev/parak8s/schema"
)

// TestWorkflowDefaults checks that the Go constants `parac platform` names its
// objects with are the defaults the CUE schema gives the workflow.
func TestWorkflowDefaults(t *testing.T) {
	ctx := cuecontext.New()
	root, err := spec.Schema(ctx)
	if err != nil {
		t.Fatal(err)
	}
	def := root.LookupPath(cue.ParsePath(schema.Definition))
	for _, tc := range []struct{ path, want string }{
		{"workflow.serviceAccount", schema.DefaultServiceAccount},
		{"workflow.executorServiceAccount", schema.DefaultServiceAccount},
		{"workflow.checkpointClaim", schema.DefaultCheckpointClaim},
	} {
		v, ok := def.LookupPath(cue.ParsePath(tc.path)).Default()
		if !ok {
			t.Errorf("%s has no default", tc.path)
			continue
		}
		if got, err := v.String(); err != nil || got != tc.want {
			t.Errorf("%s defaults to %q (%v), want %q", tc.path, got, err, tc.want)
		}
	}
}
