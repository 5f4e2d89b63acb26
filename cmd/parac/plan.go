package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"parak8s.dev/parak8s/compiler/argo"
	lowering "parak8s.dev/parak8s/compiler/local"
	"parak8s.dev/parak8s/compiler/plan"
	"parak8s.dev/parak8s/runtime/estimate"
	"parak8s.dev/parak8s/runtime/local"
	"parak8s.dev/parak8s/runtime/results"
	"parak8s.dev/parak8s/runtime/step"
)

func planCmd(stdout, stderr io.Writer) *cobra.Command {
	var f localFlags
	cmd := &cobra.Command{
		Use:   "plan FILE|DIR",
		Short: "Show which trials are new and which are finished, with time and size estimates",
		Long: `Plan shows what parac run would do, and what the compiled workflow holds:
which trials are new and which are finished (in the work directory, and in
the results database when DATABASE_URL is set), the estimated training time
(epochs × the speed measured by finished trials, from their model.json in the
work directory, else on the MLflow server when MLFLOW_TRACKING_URI is set),
the datasets to prepare, and the workflow's size in bytes and pods.`,
		Args: args1,
		RunE: func(cmd *cobra.Command, args []string) error {
			res, err := f.plans(args[0])
			if err != nil {
				return err
			}
			for i, r := range res {
				if i > 0 {
					fmt.Fprintln(stdout)
				}
				if err := showPlan(cmd.Context(), stdout, stderr, r.Plan, &f); err != nil {
					return err
				}
			}
			return nil
		},
	}
	f.register(cmd)
	return cmd
}

func showPlan(ctx context.Context, stdout, stderr io.Writer, p *plan.Plan, f *localFlags) error {
	sel, err := selectTrials(p, f.only)
	if err != nil {
		return err
	}
	l := local.Layout{Root: f.workdir, Experiment: p.Experiment.Name}
	db, err := results.FinishedFromEnv(ctx, p.Experiment.Name)
	if err != nil {
		return err
	}
	warnUnpinned(stderr, p)
	sp := estimate.Measure(l)
	if !sp.Measured() {
		// nothing measured here: a sweep that ran on a cluster
		if sp, err = measureServers(ctx, p, f.workdir); err != nil {
			fmt.Fprintf(stderr, "warning: %v; no time estimate from the servers\n", err)
		}
	}
	pol, err := lowering.Policy(p.Experiment)
	if err != nil {
		return err
	}
	pol.Cap(f.parallel)

	fmt.Fprintf(stdout, "%s: %s in %s (work dir %s)\n", p.Experiment.Name, plural(len(p.Trials), "trial"), plural(len(p.Datasets), "dataset"), l.Dir())
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "TRIAL\tSTATUS\tEPOCHS\tEST.\tSWEPT")
	var newTrials, inDir, inDB int
	var total time.Duration
	unknown := 0
	prepare := map[string]bool{}
	for i, t := range p.Trials {
		if !sel[i] {
			continue
		}
		est, epochs := sp.Trial(t.Config, t.DataKey)
		status, shown := "new", "?"
		switch {
		case local.Finished(l.Trial(t.ID)):
			status, shown = "finished", ""
			inDir++
		case db[t.ID]:
			status, shown = "finished (database)", ""
			inDB++
		default:
			newTrials++
			if est > 0 {
				total += est
				shown = "~" + local.Round(est).String()
			} else {
				unknown++
			}
			ds := l.Dataset(t.DataKey)
			if _, err := os.Stat(filepath.Join(ds, local.FileDone)); err != nil {
				prepare[t.DataKey] = true
			}
		}
		fmt.Fprintf(tw, "%s\t%s\t%d\t%s\t%s\n", t.Short(), status, epochs, shown, t.Label())
	}
	tw.Flush()

	at := newTrials
	if pol.Parallelism > 0 {
		at = min(at, pol.Parallelism)
	}
	line := fmt.Sprintf("new: %s, %s to prepare", plural(newTrials, "trial"), plural(len(prepare), "dataset"))
	switch {
	case newTrials == 0:
	case unknown == newTrials:
		line += "; no time estimate yet (no finished trial measured its speed)"
	default:
		line += fmt.Sprintf("; ~%s of training, ~%s at %d at once", local.Round(total), local.Round(total/time.Duration(max(at, 1))), at)
		if unknown > 0 {
			line += fmt.Sprintf(" (%d trials without an estimate)", unknown)
		}
	}
	fmt.Fprintln(stdout, "\n"+line)
	fmt.Fprintf(stdout, "finished: %d (work dir %d, database %s)\n", inDir+inDB, inDir, dbCount(db, inDB))

	wfs, err := argo.Emit(p, f.compiler.Argo)
	if err != nil {
		return err
	}
	fp := argo.FootprintOf(p, wfs)
	fmt.Fprintf(stdout, "cluster: %s, %s bytes of YAML; %d pods, at most %d at once%s\n", plural(fp.Workflows, "workflow"), thousands(fp.Bytes), fp.Pods, fp.Peak, shards(fp))
	if db != nil {
		line, err := resubmitLine(p, db, f.compiler.Argo)
		if err != nil {
			return err
		}
		fmt.Fprintln(stdout, line)
	}
	return nil
}

// shards says how the shards share sweep.parallelism.
func shards(fp argo.Footprint) string {
	switch {
	case fp.Workflows <= 1:
		return ""
	case fp.Chained:
		return fmt.Sprintf(" (more shards than sweep.parallelism %d: the workflows run one at a time, through the Argo mutex %s)", fp.Parallelism, fp.Mutex)
	default:
		return fmt.Sprintf(" in total (the workflows run side by side, each at most %d of sweep.parallelism %d)", fp.ShardParallelism, fp.Parallelism)
	}
}

func dbCount(db map[string]bool, n int) string {
	if db == nil {
		return "not asked: no " + step.EnvDatabaseURL
	}
	return fmt.Sprint(n)
}

// thousands writes n with comma separators.
func thousands(n int) string {
	s := fmt.Sprint(n)
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	return b.String()
}
