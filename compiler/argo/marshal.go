package argo

import (
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
