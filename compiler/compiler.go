package compiler

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"

	"parak8s.dev/parak8s/compiler/argo"
	"parak8s.dev/parak8s/compiler/plan"
	"parak8s.dev/parak8s/compiler/spec"
	"parak8s.dev/parak8s/runtime/step"
)

// Options tune Compile.
type Options struct {
	Spec spec.Options
	Plan plan.Options
	Argo argo.Options
	// Sets override fields of every experiment (`--set PATH=JSON`); the
	// changed experiment is checked against the schema again.
	Sets []step.Override
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

// Plan loads a spec, applies opts.Sets and plans every experiment in it.
func Plan(path string, opts Options) ([]Result, error) {
	specs, err := spec.Load(path, opts.Spec)
	if err != nil {
		return nil, err
	}
	if len(opts.Sets) > 0 {
		for i, s := range specs {
			if specs[i], err = override(s, opts.Sets); err != nil {
				return nil, err
			}
		}
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
	go argo.Prime()
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

// override applies sets to the experiment of s and checks the result against
// the schema, as a spec of its own that exists only in memory.
func override(s *spec.Spec, sets []step.Override) (*spec.Spec, error) {
	base := step.Clone(s.Resolved).(map[string]any)
	for _, o := range sets {
		addPath(base, o.Path)
	}
	m, err := step.Apply(base, sets)
	if err != nil {
		return nil, fmt.Errorf("applying --set to %s: %w", s.Experiment.Name, err)
	}
	b, err := step.Canonical(m)
	if err != nil {
		return nil, fmt.Errorf("applying --set to %s: %w", s.Experiment.Name, err)
	}
	virtual := filepath.Join(os.TempDir(), "parac-set", s.Experiment.Name, "experiment.cue")
	changed, err := spec.Load(virtual, spec.Options{Overlay: map[string][]byte{virtual: b}})
	if err != nil {
		// Positions would point into the in-memory file: keep the messages.
		pos := regexp.MustCompile("^" + regexp.QuoteMeta(virtual) + `:\d+:\d+: `)
		var msgs []string
		for _, l := range spec.Lines(err, "") {
			msgs = append(msgs, pos.ReplaceAllString(l, ""))
		}
		if msgs == nil {
			msgs = []string{err.Error()}
		}
		return nil, fmt.Errorf("applying --set to %s: %s", s.Experiment.Name, strings.Join(msgs, "; "))
	}
	return changed[0], nil
}

// addPath creates the objects a dotted path needs that the spec leaves out
// (`--set registry.repository=…` on a spec without a registry block), its
// last field null until the override sets it. The schema then judges the
// field like a written one: a misspelt name is refused as unknown.
func addPath(m map[string]any, path string) {
	parts := strings.Split(path, ".")
	for _, p := range parts[:len(parts)-1] {
		next, ok := m[p].(map[string]any)
		if !ok {
			if _, exists := m[p]; exists {
				return // not an object: Apply says so
			}
			next = map[string]any{}
			m[p] = next
		}
		m = next
	}
	if _, ok := m[parts[len(parts)-1]]; !ok {
		m[parts[len(parts)-1]] = nil
	}
}
