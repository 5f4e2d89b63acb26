package main

import (
	"os"

	"github.com/spf13/cobra"

	"parak8s.dev/parak8s/runtime/step"
	"parak8s.dev/parak8s/runtime/steps"
	"parak8s.dev/parak8s/runtime/train"
)

func newTrainCmd(e steps.Env) *cobra.Command {
	var f steps.TrialArgs
	a := steps.TrainArgs{Options: train.DefaultOptions()}
	opts := &a.Options
	cmd := &cobra.Command{
		Use:   "train --config CONFIG.json --out MODEL_DIR",
		Short: "Train one trial and write its model directory",
		Long:  help("train"),
		Args:  noPositional,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := requireFlags([2]string{step.FlagOut, a.Out}); err != nil {
				return err
			}
			t, err := f.Resolve("")
			if err != nil {
				return err
			}
			if isTerminal(e.Stderr) {
				opts.Progress = e.Stderr
			}
			_, err = steps.Train(cmd.Context(), e, t, a)
			return err
		},
	}
	registerTrial(cmd.Flags(), &f)
	cmd.Flags().StringVar(&a.Data, step.FlagData[2:], "", "the prepared data set `DIR` (default: prepare from data.source)")
	cmd.Flags().StringVar(&a.Out, step.FlagOut[2:], "", "the model directory to write")
	cmd.Flags().StringVar(&opts.Checkpoints, step.FlagCheckpoint[2:], "", "checkpoint `DIR` (resume from it when it holds this trial's checkpoint)")
	cmd.Flags().IntVar(&opts.Threads, "threads", 0, "libtorch threads (default: $"+step.EnvThreads+", training.threads, or the CPU count)")
	cmd.Flags().IntVar(&opts.Epochs, "max-epochs", 0, "stop after at most `N` epochs (quick runs)")
	cmd.Flags().IntVar(&opts.StepsPerEpoch, "max-steps-per-epoch", 0, "train at most `N` batches per epoch (quick runs)")
	return cmd
}

// isTerminal reports whether w is a character device (a terminal).
func isTerminal(w any) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}
