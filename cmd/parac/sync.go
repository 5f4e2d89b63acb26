package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"parak8s.dev/parak8s/runtime/local"
	"parak8s.dev/parak8s/runtime/step"
)

// syncSteps are the steps that talk to servers; sync runs them again.
var syncSteps = []step.Kind{step.Track, step.Publish, step.Record}

// syncCmd uploads what local runs kept in files: it runs the track, publish
// and record steps of the finished trials again, now with the servers of the
// environment. The steps are idempotent (a run is found by its trial tag, a
// push by its tag, a row by its trial id), so syncing twice changes nothing.
func syncCmd(stdout io.Writer) *cobra.Command {
	var f localFlags
	var program string
	cmd := &cobra.Command{
		Use:   "sync FILE|DIR",
		Short: "Upload the finished local trials to MLflow, the registry and PostgreSQL",
		Long: `Sync runs the track, publish and record steps of every trial "parac run"
finished in the work directory again, with the environment parac runs in:
export MLFLOW_TRACKING_URI, DATABASE_URL (and have the spec's registry
reachable) first. Trials that ran without those servers kept their records
in their folders; sync sends them. The steps are idempotent: a trial already
on the servers is found there, not duplicated.`,
		Args: args1,
		RunE: func(cmd *cobra.Command, args []string) error {
			if _, ok := os.LookupEnv(step.EnvMLflowURI); !ok {
				if _, ok := os.LookupEnv(step.EnvDatabaseURL); !ok {
					return usageError{fmt.Errorf("nothing to sync to: set %s and/or %s", step.EnvMLflowURI, step.EnvDatabaseURL)}
				}
			}
			res, err := f.plans(args[0])
			if err != nil {
				return err
			}
			prog, err := findProgram(program)
			if err != nil {
				return err
			}
			root, err := filepath.Abs(f.workdir)
			if err != nil {
				return err
			}
			ctx, kill, stop := interrupts()
			defer stop()
			for _, r := range res {
				l := local.Layout{Root: root, Experiment: r.Plan.Experiment.Name}
				sel, err := selectTrials(r.Plan, f.only)
				if err != nil {
					return err
				}
				var ids []string
				for i, t := range r.Plan.Trials {
					dir := l.Trial(t.ID)
					if !sel[i] || !local.Finished(dir) {
						continue
					}
					// Forget that the server steps ran: the runner resumes the
					// trial at track, with its model and metrics in place.
					for _, k := range syncSteps {
						if err := os.Remove(filepath.Join(dir, local.DirLogs, string(k)+".done")); err != nil && !errors.Is(err, os.ErrNotExist) {
							return err
						}
					}
					if err := os.Remove(filepath.Join(dir, local.FileDone)); err != nil {
						return err
					}
					ids = append(ids, t.ID)
				}
				if len(ids) == 0 {
					fmt.Fprintf(stdout, "%s: no finished trials in %s\n", r.Plan.Experiment.Name, l.Dir())
					continue
				}
				ff := f
				ff.only = ids
				if err := runExperiment(ctx, r.Plan, &ff, local.Options{Program: prog, Grace: local.DefaultOptions().Grace, Kill: kill}, stdout); err != nil {
					return err
				}
			}
			return nil
		},
	}
	f.register(cmd)
	cmd.Flags().StringVar(&program, "parak8s", "", "the step program (default: parak8s next to parac, else in $PATH)")
	return cmd
}
