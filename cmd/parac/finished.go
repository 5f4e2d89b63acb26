package main

import (
	"context"
	"fmt"
	"io"
	"os"

	"parak8s.dev/parak8s/compiler"
	"parak8s.dev/parak8s/compiler/argo"
	"parak8s.dev/parak8s/compiler/plan"
	"parak8s.dev/parak8s/runtime/results"
	"parak8s.dev/parak8s/runtime/step"
)

// withoutTrials returns a copy of p without the trials in drop, their
// indexes renumbered and the datasets no remaining trial uses left out.
func withoutTrials(p *plan.Plan, drop map[string]bool) *plan.Plan {
	q := *p
	q.Trials = nil
	q.Datasets = nil
	newIndex := map[int]int{}
	for i, t := range p.Trials {
		if drop[t.ID] {
			continue
		}
		newIndex[i] = len(q.Trials)
		t.Index = len(q.Trials)
		q.Trials = append(q.Trials, t)
	}
	for _, d := range p.Datasets {
		var kept []int
		for _, i := range d.Trials {
			if j, ok := newIndex[i]; ok {
				kept = append(kept, j)
			}
		}
		if len(kept) > 0 {
			d.Trials = kept
			q.Datasets = append(q.Datasets, d)
		}
	}
	return &q
}

// compileSkipping is parac compile --skip-finished: the spec's experiments
// without the trials the results database (DATABASE_URL) holds as finished.
// An experiment with nothing left gives no workflow.
func compileSkipping(ctx context.Context, path string, opts compiler.Options, stderr io.Writer) ([]compiler.Result, error) {
	if os.Getenv(step.EnvDatabaseURL) == "" {
		return nil, usageError{fmt.Errorf("--skip-finished reads the finished trials from the results database: set %s", step.EnvDatabaseURL)}
	}
	res, err := compiler.Plan(path, opts)
	if err != nil {
		return nil, err
	}
	var out []compiler.Result
	for _, r := range res {
		done, err := results.FinishedFromEnv(ctx, r.Plan.Experiment.Name)
		if err != nil {
			return nil, err
		}
		p := withoutTrials(r.Plan, done)
		skipped := len(r.Plan.Trials) - len(p.Trials)
		fmt.Fprintf(stderr, "%s: %s finished in the results database, %s to run\n", p.Experiment.Name, plural(skipped, "trial"), plural(len(p.Trials), "trial"))
		if len(p.Trials) == 0 {
			continue
		}
		if r.Workflows, err = argo.Emit(p, opts.Argo); err != nil {
			return nil, fmt.Errorf("compiling %q: %w", path, err)
		}
		r.Plan = p
		out = append(out, r)
	}
	return out, nil
}

// resubmitLine says what parac compile --skip-finished would emit, given the
// trials the results database holds as finished.
func resubmitLine(p *plan.Plan, done map[string]bool, opts argo.Options) (string, error) {
	q := withoutTrials(p, done)
	if len(q.Trials) == 0 {
		return "resubmit (compile --skip-finished): nothing, every trial is finished", nil
	}
	wfs, err := argo.Emit(q, opts)
	if err != nil {
		return "", err
	}
	return fmt.Sprintf("resubmit (compile --skip-finished): %s in %s, %s to prepare",
		plural(len(q.Trials), "trial"), plural(len(wfs), "workflow"), plural(len(q.Datasets), "dataset")), nil
}
