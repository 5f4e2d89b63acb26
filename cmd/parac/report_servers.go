package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"parak8s.dev/parak8s/compiler"
	"parak8s.dev/parak8s/compiler/plan"
	"parak8s.dev/parak8s/runtime/estimate"
	"parak8s.dev/parak8s/runtime/local"
	"parak8s.dev/parak8s/runtime/report"
	"parak8s.dev/parak8s/runtime/results"
	"parak8s.dev/parak8s/runtime/step"
	"parak8s.dev/parak8s/runtime/tracking"
)

// useServers says whether parac report reads the servers: --source servers,
// or auto when the work dir has no trials and a server is configured.
func useServers(source string, haveLocal bool) (bool, error) {
	configured := os.Getenv(step.EnvMLflowURI) != "" || os.Getenv(step.EnvDatabaseURL) != ""
	switch source {
	case "local":
		return false, nil
	case "servers":
		if !configured {
			return false, usageError{fmt.Errorf("--source servers: set %s and/or %s", step.EnvMLflowURI, step.EnvDatabaseURL)}
		}
		return true, nil
	case "auto", "":
		return !haveLocal && configured, nil
	}
	return false, usageError{fmt.Errorf("--source %q: want local, servers or auto", source)}
}

// serverTrials reads an experiment's trials from the configured servers.
func serverTrials(ctx context.Context, experiment, mlflowExperiment, workdir string) ([]report.Trial, error) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Minute)
	defer cancel()
	s := report.Servers{
		MLflowExperiment: mlflowExperiment,
		CacheDir:         filepath.Join(local.Layout{Root: workdir, Experiment: experiment}.Dir(), "servers"),
	}
	if os.Getenv(step.EnvMLflowURI) != "" {
		c, err := tracking.NewFromEnv(tracking.DefaultOptions())
		if err != nil {
			return nil, err
		}
		s.MLflow = c
	}
	if os.Getenv(step.EnvDatabaseURL) != "" {
		opts := results.DefaultOptions()
		opts.RetryTimeout = 5 * time.Second
		store, err := results.Open(ctx, "", opts)
		if err != nil {
			return nil, err
		}
		defer store.Close()
		s.Results = store
	}
	return report.FromServers(ctx, experiment, s)
}

// mlflowExperimentOf is the MLflow experiment track logs to: the spec's
// tracking.experiment, else MLFLOW_EXPERIMENT_NAME, else the experiment.
func mlflowExperimentOf(name, fromSpec string) string {
	if fromSpec != "" {
		return fromSpec
	}
	if v := os.Getenv(step.EnvMLflowExperiment); v != "" {
		return v
	}
	return name
}

// planFromServers reports the spec's trials the servers have, in sweep
// order with the plan's labels, as fromPlan does for the work dir.
func planFromServers(ctx context.Context, r compiler.Result, workdir string) (report.Input, error) {
	p := r.Plan
	in := report.Input{Experiment: p.Experiment.Name, Params: p.Params}
	var fromSpec string
	if tr := p.Experiment.Tracking; tr != nil {
		in.TrackingURI, fromSpec = tr.URI, tr.Experiment
	}
	ts, err := serverTrials(ctx, p.Experiment.Name, mlflowExperimentOf(p.Experiment.Name, fromSpec), workdir)
	if err != nil {
		return in, err
	}
	byID := map[string]report.Trial{}
	for _, t := range ts {
		byID[t.ID] = t
	}
	for _, t := range p.Trials {
		st, ok := byID[t.ID]
		if !ok {
			continue
		}
		st.Label, st.Overrides = t.Label(), t.Overrides
		in.Trials = append(in.Trials, st)
	}
	return in, nil
}

// experimentFromServers reports every trial of an experiment the servers
// have.
func experimentFromServers(ctx context.Context, experiment, workdir string) (report.Input, error) {
	if experiment == "" {
		return report.Input{}, usageError{fmt.Errorf("reporting from the servers without a spec: name the experiment with --experiment")}
	}
	ts, err := serverTrials(ctx, experiment, mlflowExperimentOf(experiment, ""), workdir)
	if err != nil {
		return report.Input{}, err
	}
	if len(ts) == 0 {
		return report.Input{}, fmt.Errorf("reporting: no trials of %s on the servers (%s, %s)", experiment, step.EnvMLflowURI, step.EnvDatabaseURL)
	}
	in := report.Input{Experiment: experiment, Trials: ts}
	seen := map[string]bool{}
	for _, t := range ts {
		for _, o := range t.Overrides {
			if !seen[o.Path] {
				seen[o.Path] = true
				in.Params = append(in.Params, o.Path)
			}
		}
	}
	return in, nil
}

// measureServers is estimate.Measure for a sweep that ran on a cluster: the speed
// the finished trials' model.json files on the MLflow server recorded
// (downloaded with the report's files to WORKDIR/EXPERIMENT/servers). Zero
// without MLFLOW_TRACKING_URI or a finished run.
func measureServers(ctx context.Context, p *plan.Plan, workdir string) (estimate.Speed, error) {
	if os.Getenv(step.EnvMLflowURI) == "" {
		return estimate.Speed{}, nil
	}
	var fromSpec string
	if tr := p.Experiment.Tracking; tr != nil {
		fromSpec = tr.Experiment
	}
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second) // an estimate is not worth a long wait
	defer cancel()
	ts, err := serverTrials(ctx, p.Experiment.Name, mlflowExperimentOf(p.Experiment.Name, fromSpec), workdir)
	if err != nil {
		return estimate.Speed{}, fmt.Errorf("measuring the speed of the trials on %s: %w", step.EnvMLflowURI, err)
	}
	var models []string
	for _, t := range ts {
		if t.Status == "finished" && t.ModelDir != "" {
			models = append(models, t.ModelDir)
		}
	}
	return estimate.FromModels(models), nil
}
