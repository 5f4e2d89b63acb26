package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"parak8s.dev/parak8s/compiler"
	"parak8s.dev/parak8s/runtime/bundle"
	"parak8s.dev/parak8s/runtime/local"
	"parak8s.dev/parak8s/runtime/report"
	"parak8s.dev/parak8s/runtime/step"
)

func reportCmd(stdout io.Writer) *cobra.Command {
	opts := compiler.DefaultOptions()
	ropts := report.DefaultOptions()
	workdir := local.DefaultWorkDir
	var out, source string
	cmd := &cobra.Command{
		Use:   "report [FILE|DIR]",
		Short: "Write an HTML report of an experiment's trials from the work directory",
		Long: `Report writes one static HTML file (no network, no scripts) from what parac
run left in the work directory: a leaderboard ranked by --metric, the
sweep's metric-against-parameter plots, and per trial its training curves,
ROC curve, confusion matrix and a link to its MLflow run.

With a spec, the report shows the spec's trials; without one, every trial
of the experiment in the work directory (--experiment picks one when there
are several). The default output is WORKDIR/EXPERIMENT/report.html.

A sweep run on a cluster left its results on the servers: when the work
directory has none of the trials (or with --source servers), the report is
made from the MLflow runs tagged with the experiment (MLFLOW_TRACKING_URI;
the MLflow experiment is the spec's tracking.experiment, else
MLFLOW_EXPERIMENT_NAME, else the experiment's name), whose report files are
downloaded to WORKDIR/EXPERIMENT/servers, and from the trials of the results
database (DATABASE_URL), which gives each trial's status. The report is the
same as a local run's of the same trials.`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := report.CheckMetric(ropts.Metric); err != nil {
				return usageError{err}
			}
			var inputs []report.Input
			if len(args) == 1 {
				res, err := compiler.Plan(args[0], opts)
				if err != nil {
					return err
				}
				for _, r := range res {
					in := report.FromPlan(reportPlan(r), workdir)
					if servers, err := useServers(source, len(in.Trials) > 0); err != nil {
						return err
					} else if servers {
						if in, err = report.PlanFromServers(cmd.Context(), reportPlan(r), workdir); err != nil {
							return err
						}
					}
					inputs = append(inputs, in)
				}
			} else {
				in, err := report.FromWorkDir(workdir, opts.Spec.Experiment)
				if several := (*report.SeveralExperimentsError)(nil); errors.As(err, &several) {
					err = usageError{err}
				}
				servers, serr := useServers(source, err == nil)
				if serr != nil {
					return serr
				}
				if servers {
					if opts.Spec.Experiment == "" {
						return usageError{errors.New("reporting from the servers without a spec: name the experiment with --experiment")}
					}
					in, err = report.ExperimentFromServers(cmd.Context(), opts.Spec.Experiment, workdir)
				}
				if err != nil {
					return err
				}
				inputs = append(inputs, in)
			}
			if len(inputs) > 1 && out != "" {
				return usageError{errors.New("the spec has several experiments: pick one with --experiment to use -o")}
			}
			ropts.Generated = time.Now()
			for _, in := range inputs {
				if os.Getenv(step.EnvMLflowURI) != "" {
					in.TrackingURI = os.Getenv(step.EnvMLflowURI)
				}
				var b bytes.Buffer
				if err := report.Write(&b, in, ropts); err != nil {
					return err
				}
				path := out
				if path == "" {
					path = filepath.Join(local.Layout{Root: workdir, Experiment: in.Experiment}.Dir(), "report.html")
				}
				if path == "-" {
					if _, err := stdout.Write(b.Bytes()); err != nil {
						return err
					}
					continue
				}
				if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
					return fmt.Errorf("writing the report: %w", err)
				}
				if err := bundle.WriteFile(path, b.Bytes()); err != nil {
					return fmt.Errorf("writing the report: %w", err)
				}
				fmt.Fprintf(stdout, "%s: %s with results, report in %s\n", in.Experiment, plural(report.WithResults(in), "trial"), path)
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&opts.Spec.Experiment, "experiment", "", "only the experiment `NAME`")
	cmd.Flags().StringVar(&workdir, "workdir", workdir, "the work `DIR` parac run wrote")
	cmd.Flags().StringVar(&source, "source", "auto", "where the results are: `local` (the work dir), servers (MLFLOW_TRACKING_URI and/or DATABASE_URL), auto (local when the work dir has the trials)")
	cmd.Flags().StringVar(&ropts.Metric, "metric", ropts.Metric, "rank trials by `NAME`: "+strings.Join(report.Metrics(), ", ")+", or val_ and a training metric")
	cmd.Flags().StringVarP(&out, "output", "o", "", "write the report to `FILE` (- for stdout)")
	cmd.Flags().IntVar(&ropts.Details, "details", report.DefaultDetails, "show the curves, ROC and confusion matrix of the best `N` trials (-1: all)")
	return cmd
}

// reportPlan is what the report needs of a compiled plan.
func reportPlan(r compiler.Result) report.Plan {
	p := r.Plan
	rp := report.Plan{Experiment: p.Experiment.Name, Params: p.Params}
	if tr := p.Experiment.Tracking; tr != nil {
		rp.TrackingURI, rp.MLflowExperiment = tr.URI, tr.Experiment
	}
	for _, t := range p.Trials {
		rp.Trials = append(rp.Trials, local.TrialInfo{ID: t.ID, Label: t.Label(), Overrides: t.Overrides})
	}
	return rp
}
