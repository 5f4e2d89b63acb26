package main

import (
	"github.com/spf13/cobra"

	"parak8s.dev/parak8s/runtime/step"
	"parak8s.dev/parak8s/runtime/steps"
)

func newEvaluateCmd(e steps.Env) *cobra.Command {
	var f steps.TrialArgs
	var a steps.EvaluateArgs
	cmd := &cobra.Command{
		Use:   "evaluate --model MODEL_DIR --data PATH --out METRICS.json|DIR",
		Short: "Score a model on a data set: metrics JSON, ROC and confusion plots",
		Long:  help("evaluate"),
		Args:  noPositional,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := requireFlags(
				[2]string{step.FlagModel, a.Model},
				[2]string{step.FlagData, a.Data},
				[2]string{step.FlagOut, a.Out},
			); err != nil {
				return err
			}
			a.Trial = f.Trial
			_, err := steps.Evaluate(cmd.Context(), e, a)
			return err
		},
	}
	registerTrial(cmd.Flags(), &f)
	cmd.Flags().StringVar(&a.Model, step.FlagModel[2:], "", "the model `DIR` (from parak8s train)")
	cmd.Flags().StringVar(&a.Data, step.FlagData[2:], "", "a prepared data set, WFDB record dir, beat CSV or image folder")
	cmd.Flags().StringVar(&a.Split, "split", "", "the split to score (default: the model's evaluation.split)")
	cmd.Flags().StringVar(&a.Out, step.FlagOut[2:], "", "METRICS.json, or a directory for metrics.json and plots")
	cmd.Flags().IntVar(&a.Threads, "threads", 0, "libtorch threads (default: the CPU count)")
	cmd.Flags().StringVar(&a.Lead, "lead", "", "raw WFDB records: read the signal `NAME` in place of the model's data.signal.lead")
	return cmd
}
