package main

import (
	"github.com/spf13/cobra"

	"parak8s.dev/parak8s/runtime/step"
	"parak8s.dev/parak8s/runtime/steps"
)

func newPrepareCmd(e steps.Env) *cobra.Command {
	var (
		f       steps.TrialArgs
		dataKey string
		outDir  string
	)
	cmd := &cobra.Command{
		Use:   "prepare --config FILE [--set PATH=JSON]... [--data-key KEY] --out DIR",
		Short: "Build the prepared data set of a data configuration",
		Long:  help("prepare"),
		Args:  noPositional,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := requireFlags([2]string{step.FlagOut, outDir}); err != nil {
				return err
			}
			t, err := f.Resolve(dataKey)
			if err != nil {
				return err
			}
			_, err = steps.Prepare(cmd.Context(), e, t, outDir)
			return err
		},
	}
	registerTrial(cmd.Flags(), &f)
	cmd.Flags().StringVar(&dataKey, step.FlagDataKey[2:], "", "the data key the config must give (checked when set)")
	cmd.Flags().StringVar(&outDir, step.FlagOut[2:], "", "the directory to write the prepared data set into")
	return cmd
}
