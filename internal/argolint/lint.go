package argolint

import (
	"fmt"

	wfv1 "github.com/argoproj/argo-workflows/v3/pkg/apis/workflow/v1alpha1"
	"github.com/argoproj/argo-workflows/v3/workflow/validate"
	"sigs.k8s.io/yaml"
)

// notFound answers every template lookup of the offline validator with "not
// found": compiled workflows never refer to templates outside themselves.
type notFound struct{}

func (notFound) Get(name string) (*wfv1.WorkflowTemplate, error) {
	return nil, fmt.Errorf("workflow template %q not found (offline)", name)
}

type clusterNotFound struct{}

func (clusterNotFound) Get(name string) (*wfv1.ClusterWorkflowTemplate, error) {
	return nil, fmt.Errorf("cluster workflow template %q not found (offline)", name)
}

// Validate parses workflow YAML strictly (unknown fields fail, as in `argo
// lint`) and runs Argo's own validation on it, as `argo lint --offline` does.
func Validate(y []byte) (err error) {
	var wf wfv1.Workflow
	if err := yaml.UnmarshalStrict(y, &wf); err != nil {
		return fmt.Errorf("parsing workflow: %w", err)
	}
	// Argo v3.7.3's validator dereferences a nil template when a task names
	// an undefined one and the workflow has podMetadata: check names first.
	defined := map[string]bool{}
	for _, t := range wf.Spec.Templates {
		defined[t.Name] = true
	}
	for _, t := range wf.Spec.Templates {
		if t.DAG == nil {
			continue
		}
		for _, task := range t.DAG.Tasks {
			if task.TemplateRef == nil && !defined[task.Template] {
				return fmt.Errorf("argo validation: templates.%s.tasks.%s: template name '%s' undefined", t.Name, task.Name, task.Template)
			}
		}
	}
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("argo validation crashed: %v", r)
		}
	}()
	if err := validate.ValidateWorkflow(notFound{}, clusterNotFound{}, &wf, nil, validate.ValidateOpts{Lint: true}); err != nil {
		return fmt.Errorf("argo validation: %w", err)
	}
	return nil
}
