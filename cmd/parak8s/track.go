package main

import (
	"github.com/spf13/cobra"

	"parak8s.dev/parak8s/runtime/step"
	"parak8s.dev/parak8s/runtime/steps"
)

func newTrackCmd(e steps.Env) *cobra.Command {
	var (
		f                            steps.TrialArgs
		modelDir, metricsDir, outDir string
	)
	cmd := &cobra.Command{
		Use:   "track --config FILE [--set PATH=JSON]... --trial ID --image REF --model DIR --metrics DIR --out DIR",
		Short: "Record a trial as one MLflow run: tags, params, metric history, artifacts",
		Long:  help("track"),
		Args:  noPositional,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := requireFlags(
				[2]string{step.FlagModel, modelDir},
				[2]string{step.FlagMetrics, metricsDir},
				[2]string{step.FlagOut, outDir},
			); err != nil {
				return err
			}
			t, err := f.Resolve("")
			if err != nil {
				return err
			}
			_, err = steps.Track(cmd.Context(), e, t, modelDir, metricsDir, outDir)
			return err
		},
	}
	registerTrial(cmd.Flags(), &f)
	cmd.Flags().StringVar(&modelDir, step.FlagModel[2:], "", "the model directory written by train")
	cmd.Flags().StringVar(&metricsDir, step.FlagMetrics[2:], "", "the metrics directory written by evaluate")
	cmd.Flags().StringVar(&outDir, step.FlagOut[2:], "", "where to write run-id (and tracking.json without a server)")
	return cmd
}
