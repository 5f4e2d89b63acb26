package compiler

import (
	"errors"
	"fmt"

	"parak8s.dev/parak8s/compiler/argo"
	"parak8s.dev/parak8s/compiler/plan"
	"parak8s.dev/parak8s/compiler/spec"
)

// Options tune Compile.
type Options struct {
	Spec spec.Options
	Plan plan.Options
	Argo argo.Options
}

// DefaultOptions returns the options of `parac compile`.
func DefaultOptions() Options {
	return Options{Spec: spec.DefaultOptions(), Plan: plan.DefaultOptions(), Argo: argo.DefaultOptions()}
}

// Result is one compiled experiment.
type Result struct {
	Spec      *spec.Spec
	Plan      *plan.Plan
	Workflows []argo.Workflow
}

// Plan loads a spec and plans every experiment in it.
func Plan(path string, opts Options) ([]Result, error) {
	specs, err := spec.Load(path, opts.Spec)
	if err != nil {
		return nil, err
	}
	out := make([]Result, 0, len(specs))
	for _, s := range specs {
		p, err := plan.Build(s.Experiment, s.Resolved, opts.Plan)
		var ie *plan.ImageError
		if errors.As(err, &ie) {
			return nil, s.Errorf(ie.Field, "resolving image %s: %v", ie.Ref, ie.Err)
		}
		if err != nil {
			return nil, err
		}
		out = append(out, Result{Spec: s, Plan: p})
	}
	return out, nil
}

// Compile loads a spec, plans it and emits validated workflows.
func Compile(path string, opts Options) ([]Result, error) {
	res, err := Plan(path, opts)
	if err != nil {
		return nil, err
	}
	for i := range res {
		wfs, err := argo.Emit(res[i].Plan, opts.Argo)
		if err != nil {
			return nil, fmt.Errorf("compiling %q: %w", path, err)
		}
		res[i].Workflows = wfs
	}
	return res, nil
}
