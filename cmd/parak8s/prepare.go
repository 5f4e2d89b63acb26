package main

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"parak8s.dev/parak8s/runtime/dataset"
	"parak8s.dev/parak8s/runtime/publish"
	"parak8s.dev/parak8s/runtime/step"
)

func newPrepareCmd(e *env) *cobra.Command {
	var (
		f       trialFlags
		dataKey string
		outDir  string
	)
	cmd := &cobra.Command{
		Use:   "prepare --config FILE [--set PATH=JSON]... [--data-key KEY] --out DIR",
		Short: "Build the prepared data set of a data configuration",
		Long: `Prepare reads the experiment's data section (with the trial's overrides) and
writes the prepared data set that train and evaluate read into DIR:
manifest.json (classes, input shape, splits, the source digest), the source
file list (source.manifest), and per split either SPLIT.safetensors (signals:
beat windows and RR features, labels) or SPLIT/CLASS/* (copies of the images).

The source is data.source.path: a WFDB record folder, a Kaggle-style beat CSV
or an image folder; oci://REPO@sha256:… (pulled and checked first); or
pvc://CLAIM/PATH, read from PATH below the claim the compiled workflow mounts
at ` + step.PathSource + `.
--data-key, when given, must be the data key of the config (exit code 3
otherwise). It is recorded in the manifest.

A DIR that already holds a complete data set with the same data key is reused
as it is; a DIR left half-written by an interrupted prepare is cleared and
prepared again. manifest.json is written last.

One line per split goes to stdout: its size and per-class counts.

On any failure DIR is left as it was found (absent or empty).

Exit codes: 0 ok, 1 failure, 2 usage, 3 the config does not give --data-key
or the source does not give what the config asks for (a missing path or
artifact, another digest than data.source.digest or the reference's; not
worth a rerun), 75 the source registry was unreachable (rerun the step).`,
		Args: noPositional,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := requireFlags([2]string{step.FlagOut, outDir}); err != nil {
				return err
			}
			t, err := f.resolve(dataKey)
			if err != nil {
				return err
			}
			return prepareData(cmd.Context(), e, t, outDir)
		},
	}
	f.register(cmd.Flags())
	cmd.Flags().StringVar(&dataKey, step.FlagDataKey[2:], "", "the data key the config must give (checked when set)")
	cmd.Flags().StringVar(&outDir, step.FlagOut[2:], "", "the directory to write the prepared data set into")
	return cmd
}

// prepareData writes (or reuses) the prepared data set of t in out.
func prepareData(ctx context.Context, e *env, t trial, out string) error {
	short := step.Short(t.DataKey)
	st, err := dataset.Inspect(out)
	if err != nil {
		return err
	}
	switch st {
	case dataset.StateComplete:
		s, err := dataset.Open(out)
		if err != nil {
			return fmt.Errorf("checking the data set already in %s: %w", out, err)
		}
		m := s.Manifest()
		if m.DataKey != t.DataKey {
			return fmt.Errorf("%s already holds the data set of data key %s, not %s; give an empty or absent --out", out, step.Short(m.DataKey), short)
		}
		e.log.Info("reusing the prepared data set", "dir", out, "dataKey", short, "digest", m.Digest)
		fmt.Fprintf(e.stdout, "reused %s: data key %s, source digest %s\n", out, short, m.Digest)
		printSplits(e, m)
		return nil
	case dataset.StatePartial:
		e.log.Warn("clearing a half-written data set", "dir", out)
		if err := dataset.Clear(out); err != nil {
			return err
		}
	case dataset.StateOther:
		return fmt.Errorf("%s is not empty and holds no prepared data set; give an empty or absent --out", out)
	}

	opts := dataset.DefaultOptions()
	opts.DataKey = t.DataKey
	opts.Log = e.log
	e.log.Info("preparing", "dir", out, "dataKey", short, "kind", t.Exp.Data.Source.Kind, "source", t.Exp.Data.Source.Path)
	m, err := dataset.Prepare(ctx, t.Exp.Data, out, opts)
	if err != nil {
		switch {
		case strings.HasPrefix(t.Exp.Data.Source.Path, publish.Scheme) && registryUnreachable(err):
			return transientError{err}
		case errors.Is(err, dataset.ErrSource):
			return sourceMismatch{err}
		}
		return err
	}
	e.log.Info("prepared", "dir", out, "digest", m.Digest, "classes", strings.Join(m.Classes, ","), "input", fmt.Sprint(m.Input), "features", m.Features)
	fmt.Fprintf(e.stdout, "prepared %s: data key %s, source digest %s\n", out, short, m.Digest)
	printSplits(e, *m)
	return nil
}

// sourceMismatch is a source that does not give what the config asks for
// (dataset.ErrSource): a config problem, exit code 3, not retried.
type sourceMismatch struct{ error }

func (s sourceMismatch) Unwrap() error        { return s.error }
func (s sourceMismatch) Is(target error) bool { return target == step.ErrMismatch }

func printSplits(e *env, m dataset.Manifest) {
	for _, n := range m.SplitNames() {
		fmt.Fprintln(e.stdout, m.Summary(n))
	}
}
