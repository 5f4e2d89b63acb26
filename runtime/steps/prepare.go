package steps

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"parak8s.dev/parak8s/runtime/dataset"
	"parak8s.dev/parak8s/runtime/publish"
	"parak8s.dev/parak8s/runtime/step"
)

// Prepare writes the prepared data set of t into out, or reuses the one
// out already holds for the same data key; a half-written one is cleared
// first. It prints one line for the data set and one per split. A source
// that does not give what the config asks for is step.ErrMismatch; an
// unreachable source registry a TransientError.
func Prepare(ctx context.Context, e Env, t Trial, out string) (*dataset.Manifest, error) {
	short := step.Short(t.DataKey)
	st, err := dataset.Inspect(out)
	if err != nil {
		return nil, err
	}
	switch st {
	case dataset.StateComplete:
		s, err := dataset.Open(out)
		if err != nil {
			return nil, fmt.Errorf("checking the data set already in %s: %w", out, err)
		}
		m := s.Manifest()
		if m.DataKey != t.DataKey {
			return nil, fmt.Errorf("%s already holds the data set of data key %s, not %s; give an empty or absent --out", out, step.Short(m.DataKey), short)
		}
		e.Log.Info("reusing the prepared data set", "dir", out, "dataKey", short, "digest", m.Digest)
		fmt.Fprintf(e.Stdout, "reused %s: data key %s, source digest %s\n", out, short, m.Digest)
		printSplits(e, m)
		return &m, nil
	case dataset.StatePartial:
		e.Log.Warn("clearing a half-written data set", "dir", out)
		if err := dataset.Clear(out); err != nil {
			return nil, err
		}
	case dataset.StateOther:
		return nil, fmt.Errorf("%s is not empty and holds no prepared data set; give an empty or absent --out", out)
	}

	opts := dataset.DefaultOptions()
	opts.DataKey = t.DataKey
	opts.Log = e.Log
	e.Log.Info("preparing", "dir", out, "dataKey", short, "kind", t.Exp.Data.Source.Kind, "source", t.Exp.Data.Source.Path)
	m, err := dataset.Prepare(ctx, t.Exp.Data, out, opts)
	if err != nil {
		switch {
		case strings.HasPrefix(t.Exp.Data.Source.Path, publish.Scheme) && registryUnreachable(err):
			return nil, TransientError{err}
		case errors.Is(err, dataset.ErrSource):
			return nil, sourceMismatch{err}
		}
		return nil, err
	}
	e.Log.Info("prepared", "dir", out, "digest", m.Digest, "classes", strings.Join(m.Classes, ","), "input", fmt.Sprint(m.Input), "features", m.Features)
	fmt.Fprintf(e.Stdout, "prepared %s: data key %s, source digest %s\n", out, short, m.Digest)
	printSplits(e, *m)
	return m, nil
}

func printSplits(e Env, m dataset.Manifest) {
	for _, n := range m.SplitNames() {
		fmt.Fprintln(e.Stdout, m.Summary(n))
	}
}
