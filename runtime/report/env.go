package report

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"parak8s.dev/parak8s/runtime/local"
	"parak8s.dev/parak8s/runtime/results"
	"parak8s.dev/parak8s/runtime/step"
	"parak8s.dev/parak8s/runtime/tracking"
)

// ServersConfigured reports whether the environment names a server to
// read results from (MLFLOW_TRACKING_URI and/or DATABASE_URL).
func ServersConfigured() bool {
	return os.Getenv(step.EnvMLflowURI) != "" || os.Getenv(step.EnvDatabaseURL) != ""
}

// MLflowExperiment is the MLflow experiment `parak8s track` logs an
// experiment's runs to: the spec's tracking.experiment (fromSpec), else
// MLFLOW_EXPERIMENT_NAME, else the experiment's name.
func MLflowExperiment(name, fromSpec string) string {
	if fromSpec != "" {
		return fromSpec
	}
	if v := os.Getenv(step.EnvMLflowExperiment); v != "" {
		return v
	}
	return name
}

// TrialsFromEnv is FromServers with the servers the environment names:
// the MLflow server at MLFLOW_TRACKING_URI and the results database at
// DATABASE_URL (either may be unset), the report files downloaded to
// WORKDIR/EXPERIMENT/servers. It waits at most 10 minutes.
func TrialsFromEnv(ctx context.Context, experiment, mlflowExperiment, workdir string) ([]Trial, error) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Minute)
	defer cancel()
	s := Servers{
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
	return FromServers(ctx, experiment, s)
}

// PlanFromServers reports the plan's trials the servers have, in sweep
// order with the plan's labels, as FromPlan does for the work dir.
func PlanFromServers(ctx context.Context, p Plan, workdir string) (Input, error) {
	in := Input{Experiment: p.Experiment, Params: p.Params, TrackingURI: p.TrackingURI}
	ts, err := TrialsFromEnv(ctx, p.Experiment, MLflowExperiment(p.Experiment, p.MLflowExperiment), workdir)
	if err != nil {
		return in, err
	}
	byID := map[string]Trial{}
	for _, t := range ts {
		byID[t.ID] = t
	}
	for _, t := range p.Trials {
		st, ok := byID[t.ID]
		if !ok {
			continue
		}
		st.Label, st.Overrides = t.Label, t.Overrides
		in.Trials = append(in.Trials, st)
	}
	return in, nil
}

// ExperimentFromServers reports every trial of an experiment the servers
// have; the swept paths are those the trials override.
func ExperimentFromServers(ctx context.Context, experiment, workdir string) (Input, error) {
	ts, err := TrialsFromEnv(ctx, experiment, MLflowExperiment(experiment, ""), workdir)
	if err != nil {
		return Input{}, err
	}
	if len(ts) == 0 {
		return Input{}, fmt.Errorf("reporting: no trials of %s on the servers (%s, %s)", experiment, step.EnvMLflowURI, step.EnvDatabaseURL)
	}
	return Input{Experiment: experiment, Trials: ts, Params: sweptPaths(ts)}, nil
}
