package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"parak8s.dev/parak8s/runtime/bundle"
	"parak8s.dev/parak8s/runtime/dataset"
	"parak8s.dev/parak8s/runtime/publish"
	"parak8s.dev/parak8s/runtime/step"
	"parak8s.dev/parak8s/runtime/train"
)

func newTrainCmd(e *env) *cobra.Command {
	var f trialFlags
	var data, out string
	opts := train.DefaultOptions()
	cmd := &cobra.Command{
		Use:   "train --config CONFIG.json --out MODEL_DIR",
		Short: "Train one trial and write its model directory",
		Long: `Train trains one trial of an experiment: CONFIG.json is the resolved
experiment ("parac config", or the compiled workflow's config artifact) and
--set gives the trial's swept values. --data is the prepared data set
("parak8s prepare"); without it, the data is prepared from data.source into a
temporary directory first.

With --checkpoints, a checkpoint is written every training.checkpointEvery
steps, after every epoch and on SIGINT/SIGTERM; run the same command again
to resume. The model directory (weights.safetensors, config.json,
model.json, history.json, training.svg) is all "parak8s evaluate" needs.`,
		Args: noPositional,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := requireFlags([2]string{step.FlagOut, out}); err != nil {
				return err
			}
			t, err := f.resolve("")
			if err != nil {
				return err
			}
			ctx := cmd.Context()
			set, cleanup, err := trainData(ctx, e, t, data)
			defer cleanup()
			if err != nil {
				return err
			}
			if opts.Threads == 0 {
				if v := os.Getenv(step.EnvThreads); v != "" {
					if opts.Threads, err = strconv.Atoi(v); err != nil {
						return usageError{fmt.Errorf("%s=%q is not a number", step.EnvThreads, v)}
					}
				}
			}
			pre, cleanPre, err := pretrained(ctx, t.Exp.Model.Pretrained)
			defer cleanPre()
			if err != nil {
				return err
			}
			opts.Log = e.log
			if isTerminal(e.stderr) {
				opts.Progress = e.stderr
			}
			m, err := train.Run(ctx, train.Trial{Resolved: t.Resolved, Exp: t.Exp, Data: set, Pretrained: pre}, out, opts)
			if err != nil {
				if ctx.Err() != nil {
					// Stopped by a signal: the checkpoint is written; a retry resumes.
					return transientError{err}
				}
				return err
			}
			refit := ""
			if m.Refit != nil {
				refit = fmt.Sprintf("; refit on %s: %d epochs, %d steps", strings.Join(m.Refit.Splits, " + "), m.Refit.Epochs, m.Refit.Steps)
			}
			fmt.Fprintf(e.stdout, "model %s: trial %s, %d epochs (best %d by val %s), %d steps at %.1f steps/s%s; val %s\n",
				out, step.Short(m.Trial), m.Epochs, m.BestEpoch, m.Monitor, m.Steps, m.StepsPerSecond, refit, formatMetrics(m.Val))
			return nil
		},
	}
	f.register(cmd.Flags())
	cmd.Flags().StringVar(&data, step.FlagData[2:], "", "the prepared data set `DIR` (default: prepare from data.source)")
	cmd.Flags().StringVar(&out, step.FlagOut[2:], "", "the model directory to write")
	cmd.Flags().StringVar(&opts.Checkpoints, step.FlagCheckpoint[2:], "", "checkpoint `DIR` (resume from it when it holds this trial's checkpoint)")
	cmd.Flags().IntVar(&opts.Threads, "threads", 0, "libtorch threads (default: $"+step.EnvThreads+", training.threads, or the CPU count)")
	cmd.Flags().IntVar(&opts.Epochs, "max-epochs", 0, "stop after at most `N` epochs (quick runs)")
	cmd.Flags().IntVar(&opts.StepsPerEpoch, "max-steps-per-epoch", 0, "train at most `N` batches per epoch (quick runs)")
	return cmd
}

// trainData opens the prepared data set, or prepares one from the config.
func trainData(ctx context.Context, e *env, t trial, dir string) (*dataset.Set, func(), error) {
	nop := func() {}
	if dir != "" {
		set, err := dataset.Open(dir)
		if err != nil {
			return nil, nop, err
		}
		if k := set.Manifest().DataKey; k != "" && k != t.DataKey {
			return nil, nop, fmt.Errorf("%w: the data set in %s has data key %s, the trial wants %s", step.ErrMismatch, dir, step.Short(k), step.Short(t.DataKey))
		}
		return set, nop, nil
	}
	tmp, err := os.MkdirTemp("", "parak8s-data-")
	if err != nil {
		return nil, nop, err
	}
	cleanup := func() { os.RemoveAll(tmp) }
	dir = filepath.Join(tmp, "dataset")
	opts := dataset.DefaultOptions()
	opts.DataKey = t.DataKey
	m, err := dataset.Prepare(ctx, t.Exp.Data, dir, opts)
	if err != nil {
		return nil, cleanup, err
	}
	for _, s := range m.SplitNames() {
		e.log.Info("prepared", "split", m.Summary(s))
	}
	set, err := dataset.Open(dir)
	return set, cleanup, err
}

// pretrained fetches a model.pretrained reference: a safetensors file, a
// model directory, or an oci:// model artifact. It returns the weights file.
func pretrained(ctx context.Context, ref string) (string, func(), error) {
	nop := func() {}
	switch {
	case ref == "":
		return "", nop, nil
	case strings.HasPrefix(ref, publish.Scheme):
		tmp, err := os.MkdirTemp("", "parak8s-pretrained-")
		if err != nil {
			return "", nop, err
		}
		cleanup := func() { os.RemoveAll(tmp) }
		if _, err := publish.Pull(ctx, ref, tmp, publish.DefaultOptions()); err != nil {
			return "", cleanup, fmt.Errorf("model.pretrained: %w", err)
		}
		return filepath.Join(tmp, bundle.FileWeights), cleanup, nil
	}
	fi, err := os.Stat(ref)
	if err != nil {
		return "", nop, fmt.Errorf("model.pretrained: %w", err)
	}
	if fi.IsDir() {
		return filepath.Join(ref, bundle.FileWeights), nop, nil
	}
	return ref, nop, nil
}

func formatMetrics(m map[string]float64) string {
	var parts []string
	for _, k := range []string{train.MetricAccuracy, train.MetricAUC, train.MetricF1, train.MetricPrecision, train.MetricRecall, train.MetricLoss} {
		if v, ok := m[k]; ok {
			parts = append(parts, fmt.Sprintf("%s %.4f", k, v))
		}
	}
	return strings.Join(parts, ", ")
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
