package argo

import (
	"encoding/json"
	"fmt"

	wfv1 "github.com/argoproj/argo-workflows/v3/pkg/apis/workflow/v1alpha1"

	"parak8s.dev/parak8s/internal/kyaml"
)

// Marshal writes a workflow as YAML the way a person would: no status, no
// null timestamps, no empty objects or lists, keys sorted (deterministic).
func Marshal(wf *wfv1.Workflow) ([]byte, error) {
	c := *wf
	c.Status = wfv1.WorkflowStatus{}
	y, err := kyaml.Marshal(&c)
	if err != nil {
		return nil, fmt.Errorf("encoding workflow: %w", err)
	}
	return y, nil
}

// Prime builds encoding/json's encoders for the workflow types (about
// 4 ms of reflection over Argo's large type tree, paid once per process).
// Compile runs it in the background while the spec loads.
func Prime() { _, _ = json.Marshal(&wfv1.Workflow{}) }
