package main

import (
	"context"
	"fmt"
	"os"
	"time"

	"parak8s.dev/parak8s/compiler/plan"
	"parak8s.dev/parak8s/runtime/estimate"
	"parak8s.dev/parak8s/runtime/report"
	"parak8s.dev/parak8s/runtime/step"
)

// useServers says whether parac report reads the servers: --source servers,
// or auto when the work dir has no trials and a server is configured.
func useServers(source string, haveLocal bool) (bool, error) {
	configured := report.ServersConfigured()
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
	ts, err := report.TrialsFromEnv(ctx, p.Experiment.Name, report.MLflowExperiment(p.Experiment.Name, fromSpec), workdir)
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
