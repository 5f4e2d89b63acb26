package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
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
					in := fromPlan(r, workdir)
					if servers, err := useServers(source, len(in.Trials) > 0); err != nil {
						return err
					} else if servers {
						if in, err = planFromServers(cmd.Context(), r, workdir); err != nil {
							return err
						}
					}
					inputs = append(inputs, in)
				}
			} else {
				in, err := fromWorkDir(workdir, opts.Spec.Experiment)
				servers, serr := useServers(source, err == nil)
				if serr != nil {
					return serr
				}
				if servers {
					in, err = experimentFromServers(cmd.Context(), opts.Spec.Experiment, workdir)
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
				fmt.Fprintf(stdout, "%s: %s with results, report in %s\n", in.Experiment, plural(withResults(in), "trial"), path)
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

func withResults(in report.Input) int {
	n := 0
	for _, t := range in.Trials {
		if _, err := os.Stat(filepath.Join(t.MetricsDir, bundle.FileMetrics)); err == nil {
			n++
		}
	}
	return n
}

// trialFromDir describes a trial folder the runner left.
func trialFromDir(dir string, info local.TrialInfo) report.Trial {
	t := report.Trial{
		ID: info.ID, Label: info.Label, Overrides: info.Overrides,
		ModelDir:   filepath.Join(dir, local.DirModel),
		MetricsDir: filepath.Join(dir, local.DirMetrics),
		Status:     "incomplete",
	}
	if local.Finished(dir) {
		t.Status = "finished"
	}
	if b, err := os.ReadFile(filepath.Join(dir, local.DirOut, step.OutRunID)); err == nil {
		t.RunID = strings.TrimSpace(string(b))
	}
	return t
}

// fromPlan reports the spec's trials that have a folder in the work dir.
func fromPlan(r compiler.Result, workdir string) report.Input {
	p := r.Plan
	l := local.Layout{Root: workdir, Experiment: p.Experiment.Name}
	in := report.Input{Experiment: p.Experiment.Name, Params: p.Params}
	if tr := p.Experiment.Tracking; tr != nil {
		in.TrackingURI = tr.URI
	}
	for _, t := range p.Trials {
		dir := l.Trial(t.ID)
		if _, err := os.Stat(dir); err != nil {
			continue
		}
		in.Trials = append(in.Trials, trialFromDir(dir, local.TrialInfo{ID: t.ID, Label: t.Label(), Overrides: t.Overrides}))
	}
	return in
}

// fromWorkDir reports every trial of one experiment in the work dir.
func fromWorkDir(workdir, experiment string) (report.Input, error) {
	if experiment == "" {
		dirs, _ := filepath.Glob(filepath.Join(workdir, "*", "trials"))
		var names []string
		for _, d := range dirs {
			names = append(names, filepath.Base(filepath.Dir(d)))
		}
		switch len(names) {
		case 0:
			return report.Input{}, fmt.Errorf("reporting: no trials in %s (run parac run first, or pass --workdir)", workdir)
		case 1:
			experiment = names[0]
		default:
			return report.Input{}, usageError{fmt.Errorf("%s holds several experiments (%s): pick one with --experiment", workdir, strings.Join(names, ", "))}
		}
	}
	l := local.Layout{Root: workdir, Experiment: experiment}
	dirs, _ := filepath.Glob(filepath.Join(l.Trials(), "*"))
	in := report.Input{Experiment: experiment}
	seen := map[string]bool{}
	for _, d := range dirs {
		info, err := local.ReadTrialInfo(d)
		if err != nil {
			continue
		}
		in.Trials = append(in.Trials, trialFromDir(d, info))
		for _, o := range info.Overrides {
			if !seen[o.Path] {
				seen[o.Path] = true
				in.Params = append(in.Params, o.Path)
			}
		}
	}
	if len(in.Trials) == 0 {
		return report.Input{}, fmt.Errorf("reporting: no trials of %s in %s", experiment, workdir)
	}
	sort.SliceStable(in.Trials, func(i, j int) bool { return in.Trials[i].Label < in.Trials[j].Label })
	return in, nil
}
