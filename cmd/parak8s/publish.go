package main

import (
	"github.com/spf13/cobra"

	"parak8s.dev/parak8s/runtime/step"
	"parak8s.dev/parak8s/runtime/steps"
)

func newPublishCmd(e steps.Env) *cobra.Command {
	var (
		f steps.TrialArgs
		a steps.PublishArgs
	)
	cmd := &cobra.Command{
		Use:   "publish --config FILE [--set PATH=JSON]... --trial ID --image REF --model DIR --metrics DIR --run-id ID --out DIR",
		Short: "Push a trained model to an OCI registry and register it in MLflow when its condition holds",
		Long:  help("publish"),
		Args:  noPositional,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := requireFlags(
				[2]string{step.FlagModel, a.Model},
				[2]string{step.FlagMetrics, a.Metrics},
				[2]string{step.FlagOut, a.Out},
			); err != nil {
				return err
			}
			t, err := f.Resolve("")
			if err != nil {
				return err
			}
			_, err = steps.Publish(cmd.Context(), e, t, a)
			return err
		},
	}
	registerTrial(cmd.Flags(), &f)
	cmd.Flags().StringVar(&a.Model, step.FlagModel[2:], "", "the model directory written by train")
	cmd.Flags().StringVar(&a.Metrics, step.FlagMetrics[2:], "", "the metrics directory written by evaluate")
	cmd.Flags().StringVar(&a.RunID, step.FlagRunID[2:], "", "the trial's MLflow run id written by track (local:… when tracked locally)")
	cmd.Flags().StringVar(&a.Out, step.FlagOut[2:], "", "where to write model-digest")
	return cmd
}
