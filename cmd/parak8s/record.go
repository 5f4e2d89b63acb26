package main

import (
	"github.com/spf13/cobra"

	"parak8s.dev/parak8s/runtime/results"
	"parak8s.dev/parak8s/runtime/step"
	"parak8s.dev/parak8s/runtime/steps"
)

// recordFlags are record's flags besides the trial's: the library's
// arguments and the --status word.
type recordFlags struct {
	steps.RecordArgs
	status string
}

func newRecordCmd(e steps.Env) *cobra.Command {
	var (
		f  steps.TrialArgs
		rf recordFlags
	)
	cmd := &cobra.Command{
		Use:   "record --config FILE [--set PATH=JSON]... --trial ID --image REF --metrics DIR --run-id ID --model-digest DIGEST",
		Short: "Record a trial in the results database (PostgreSQL, DATABASE_URL)",
		Long:  help("record"),
		Args:  noPositional,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			if rf.Migrate && f.Config == "" && len(f.Sets) == 0 && f.Trial == "" {
				return steps.Migrate(ctx, e, rf.RetryTimeout)
			}
			var err error
			if rf.Status, err = steps.ParseStatus(rf.status); err != nil {
				return err
			}
			if rf.Status == results.StatusSucceeded {
				if err := requireFlags([2]string{step.FlagMetrics, rf.Metrics}); err != nil {
					return err
				}
			}
			t, err := f.Resolve("")
			if err != nil {
				return err
			}
			_, err = steps.Record(ctx, e, t, rf.RecordArgs)
			return err
		},
	}
	registerTrial(cmd.Flags(), &f)
	fs := cmd.Flags()
	fs.StringVar(&rf.Metrics, step.FlagMetrics[2:], "", "the metrics directory written by evaluate")
	fs.StringVar(&rf.Model, step.FlagModel[2:], "", "the model directory written by train, for the per-epoch metrics (optional)")
	fs.StringVar(&rf.RunID, step.FlagRunID[2:], "", "the MLflow run id written by track")
	fs.StringVar(&rf.Digest, step.FlagDigest[2:], "", "the model digest written by publish (empty: nothing was pushed)")
	fs.StringVar(&rf.status, "status", "finished", "the trial's outcome: finished or failed")
	fs.BoolVar(&rf.Migrate, "migrate", false, "apply the schema migrations (alone: only that)")
	fs.StringVar(&rf.Local, "local", steps.DefaultLocalResults, "the JSON-lines file appended to when DATABASE_URL is not set")
	fs.DurationVar(&rf.RetryTimeout, "retry-timeout", results.DefaultOptions().RetryTimeout, "how long to keep retrying while the database is unreachable")
	return cmd
}
