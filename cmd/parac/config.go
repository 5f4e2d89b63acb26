package main

import (
	"encoding/json"
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"parak8s.dev/parak8s/compiler"
	"parak8s.dev/parak8s/runtime/step"
)

// configCmd prints the resolved experiment as JSON: the config artifact of
// the compiled workflow, or with --trial, one trial's config with its swept
// values applied. `parak8s train --config` takes either.
func configCmd(stdout io.Writer) *cobra.Command {
	opts := compiler.DefaultOptions()
	var trial string
	var sets []string
	cmd := &cobra.Command{
		Use:   "config FILE|DIR",
		Short: "Print the resolved experiment (or one trial's config) as JSON",
		Long: `Config prints the experiment with every schema default filled in, as the
compiled workflow passes it to the steps. With --trial ID (a full or short
trial id from "parac trials") it prints that trial's config, its swept values
applied; --set PATH=JSON changes fields after that (for local runs, e.g. a
data path). The output is what "parak8s train --config" reads.`,
		Args: args1,
		RunE: func(cmd *cobra.Command, args []string) error {
			res, err := compiler.Plan(args[0], opts)
			if err != nil {
				return err
			}
			if len(res) != 1 {
				return usageError{fmt.Errorf("%s holds %d experiments; choose one with --experiment", args[0], len(res))}
			}
			p := res[0].Plan
			exp := res[0].Spec.Resolved
			if trial != "" {
				var found bool
				for _, t := range p.Trials {
					if t.ID == trial || t.Short() == trial {
						if exp, err = step.Apply(exp, t.Overrides); err != nil {
							return fmt.Errorf("trial %s: %w", t.Short(), err)
						}
						found = true
						break
					}
				}
				if !found {
					return fmt.Errorf("no trial %s in %s (see parac trials)", trial, args[0])
				}
			}
			overrides := make([]step.Override, 0, len(sets))
			for _, s := range sets {
				o, err := step.ParseSet(s)
				if err != nil {
					return usageError{err}
				}
				overrides = append(overrides, o)
			}
			if exp, err = step.Apply(exp, overrides); err != nil {
				return usageError{err}
			}
			b, err := json.MarshalIndent(exp, "", "  ")
			if err != nil {
				return err
			}
			_, err = fmt.Fprintf(stdout, "%s\n", b)
			return err
		},
	}
	cmd.Flags().StringVar(&opts.Spec.Experiment, "experiment", "", "the experiment `NAME` of a package with several")
	cmd.Flags().StringVar(&trial, "trial", "", "print the config of trial `ID` (full or short)")
	cmd.Flags().StringArrayVar(&sets, "set", nil, "set a field, `PATH=JSON` (repeatable)")
	return cmd
}
