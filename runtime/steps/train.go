package steps

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"parak8s.dev/parak8s/runtime/bundle"
	"parak8s.dev/parak8s/runtime/dataset"
	"parak8s.dev/parak8s/runtime/publish"
	"parak8s.dev/parak8s/runtime/step"
	"parak8s.dev/parak8s/runtime/train"
)

// TrainArgs are the directories of a training and its options.
type TrainArgs struct {
	// Data is the prepared data set; "" prepares one from data.source into
	// a temporary directory first.
	Data string
	// Out is the model directory to write.
	Out string
	// Options are the trainer's; Log is set to Env.Log, and Threads, when
	// 0, to $PARAK8S_THREADS when that is set.
	Options train.Options
}

// Train trains the trial into the model directory a.Out and prints one
// line about the model. A context cancelled by a signal (the checkpoint is
// written, a rerun resumes) is a TransientError.
func Train(ctx context.Context, e Env, t Trial, a TrainArgs) (*bundle.Manifest, error) {
	set, cleanup, err := trainData(ctx, e, t, a.Data)
	defer cleanup()
	if err != nil {
		return nil, err
	}
	opts := a.Options
	if opts.Threads == 0 {
		if v := os.Getenv(step.EnvThreads); v != "" {
			if opts.Threads, err = strconv.Atoi(v); err != nil {
				return nil, Usage(fmt.Errorf("%s=%q is not a number", step.EnvThreads, v))
			}
		}
	}
	pre, cleanPre, err := pretrained(ctx, t.Exp.Model.Pretrained)
	defer cleanPre()
	if err != nil {
		return nil, err
	}
	opts.Log = e.Log
	m, err := train.Run(ctx, train.Trial{Resolved: t.Resolved, Exp: t.Exp, Data: set, Pretrained: pre}, a.Out, opts)
	if err != nil {
		if ctx.Err() != nil {
			// Stopped by a signal: the checkpoint is written; a retry resumes.
			return nil, TransientError{err}
		}
		return nil, err
	}
	refit := ""
	if m.Refit != nil {
		refit = fmt.Sprintf("; refit on %s: %d epochs, %d steps", strings.Join(m.Refit.Splits, " + "), m.Refit.Epochs, m.Refit.Steps)
	}
	fmt.Fprintf(e.Stdout, "model %s: trial %s, %d epochs (best %d by val %s), %d steps at %.1f steps/s%s; val %s\n",
		a.Out, step.Short(m.Trial), m.Epochs, m.BestEpoch, m.Monitor, m.Steps, m.StepsPerSecond, refit, formatMetrics(m.Val))
	return m, nil
}

// trainData opens the prepared data set, or prepares one from the config.
func trainData(ctx context.Context, e Env, t Trial, dir string) (*dataset.Set, func(), error) {
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
		e.Log.Info("prepared", "split", m.Summary(s))
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
