package step

import (
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"os"
	"slices"
	"strings"
)

// Resolved is one trial as the compiler plans it and as a step program sees
// it: the experiment with the trial's overrides applied and the ids derived
// from it. Both sides build it with Resolve, so they agree bit for bit.
type Resolved struct {
	// Experiment is the resolved experiment (generic JSON) with the trial's
	// overrides applied.
	Experiment map[string]any
	// Overrides are the trial's swept values, in sweep order.
	Overrides []Override
	// Config is the canonical JSON of the trial's part of the experiment
	// (the fields named by the roots given to Resolve).
	Config []byte
	// ID is the trial id; DataKey names its prepared data set.
	ID, DataKey string
	// Dataset is the dataset digest or "unpinned:" source reference in the id.
	Dataset string
	// Image is the image reference in the id.
	Image string
	// Seed is training.seed.
	Seed int64
}

// Resolve applies the overrides to the experiment and derives the trial's
// ids. roots are the experiment fields that make up a trial's configuration
// (schema.TrialRoots). The experiment is not modified; Resolved.Experiment
// is a deep copy.
func Resolve(experiment map[string]any, overrides []Override, image string, roots []string) (Resolved, error) {
	r, err := NewResolver(experiment, image, roots).Resolve(overrides)
	if err != nil {
		return Resolved{}, err
	}
	r.Experiment = Clone(r.Experiment).(map[string]any)
	return r, nil
}

// Resolver resolves the trials of one experiment: the parts of it that no
// override of a trial touches are copied and encoded once, not once per
// trial.
type Resolver struct {
	base  map[string]any
	image string
	roots []string // sorted, as canonical JSON orders keys
	// encoded holds the canonical JSON of untouched parts by dotted path;
	// dataKey the data key while no override changes what prepare produces.
	encoded map[string][]byte
	dataKey string
}

// NewResolver returns a Resolver of the experiment's trials. The experiment
// must not change while the Resolver is used.
func NewResolver(experiment map[string]any, image string, roots []string) *Resolver {
	sorted := slices.Clone(roots)
	slices.Sort(sorted)
	return &Resolver{base: experiment, image: image, roots: slices.Compact(sorted), encoded: map[string][]byte{}}
}

// Resolve applies the overrides and derives the trial's ids, exactly as
// Resolve does. Resolved.Experiment shares the parts no override touches
// with the Resolver's experiment: do not modify it.
func (r *Resolver) Resolve(overrides []Override) (Resolved, error) {
	// setAt holds the paths the overrides set; on those and every path above
	// one.
	setAt, on := map[string]bool{}, map[string]bool{}
	prepared := false // whether an override changes what prepare produces
	for _, o := range overrides {
		setAt[o.Path] = true
		prepared = prepared || o.Path == "data" || PreparePath(o.Path)
		for p := o.Path; ; {
			on[p] = true
			i := strings.LastIndexByte(p, '.')
			if i < 0 {
				break
			}
			p = p[:i]
		}
	}
	m := maps.Clone(r.base)
	for _, o := range overrides {
		if err := set(m, o.Path, Clone(o.Value), true); err != nil {
			return Resolved{}, err
		}
	}
	data, _ := m["data"].(map[string]any)
	ref := DatasetRef(data)
	key := r.dataKey
	if key == "" || prepared {
		var err error
		if key, err = DataKey(data, ref); err != nil {
			return Resolved{}, err
		}
		if !prepared {
			r.dataKey = key
		}
	}
	cfg, err := r.encode(make([]byte, 0, 1024), "", TrialConfig(m, r.roots), setAt, on)
	if err != nil {
		return Resolved{}, err
	}
	var seed int64
	if v, ok := Get(m, "training.seed"); ok {
		if f, ok := v.(float64); ok {
			seed = int64(f)
		}
	}
	return Resolved{
		Experiment: m,
		Overrides:  overrides,
		Config:     cfg,
		ID:         TrialID(cfg, ref, r.image, seed),
		DataKey:    key,
		Dataset:    ref,
		Image:      r.image,
		Seed:       seed,
	}, nil
}

// encode appends the canonical JSON of v, found at path, as Canonical
// writes it: objects above an override key by key, the parts no override
// touches from the cache, what an override set whole.
func (r *Resolver) encode(b []byte, path string, v any, setAt, on map[string]bool) ([]byte, error) {
	obj, isObj := v.(map[string]any)
	switch {
	case path != "" && !on[path]:
		enc, ok := r.encoded[path]
		if !ok {
			var err error
			if enc, err = Canonical(v); err != nil {
				return nil, err
			}
			r.encoded[path] = enc
		}
		return append(b, enc...), nil
	case path != "" && setAt[path], !isObj, obj == nil:
		enc, err := Canonical(v)
		return append(b, enc...), err
	}
	// The keys are sorted anew for each trial: a pinned digest drops the
	// path from data.source (TrialConfig), so they vary between trials.
	b = append(b, '{')
	for i, k := range slices.Sorted(maps.Keys(obj)) {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(appendString(b, k), ':')
		sub := k
		if path != "" {
			sub = path + "." + k
		}
		var err error
		if b, err = r.encode(b, sub, obj[k], setAt, on); err != nil {
			return nil, err
		}
	}
	return append(b, '}'), nil
}

// ErrMismatch marks a step invocation whose config does not give the trial id
// or data key it was told to expect (exit code ExitConfig).
var ErrMismatch = errors.New("config does not match")

// Check returns an error wrapping ErrMismatch when trial (if not empty) is not
// the resolved trial id, or dataKey (if not empty) is not its data key.
func (r Resolved) Check(trial, dataKey string) error {
	if trial != "" && trial != r.ID {
		return fmt.Errorf("%w: %s %s, but the config and overrides give trial %s", ErrMismatch, FlagTrial, Short(trial), Short(r.ID))
	}
	if dataKey != "" && dataKey != r.DataKey {
		return fmt.Errorf("%w: %s %s, but the config gives data key %s", ErrMismatch, FlagDataKey, Short(dataKey), Short(r.DataKey))
	}
	return nil
}

// ReadExperiment reads a resolved experiment written as JSON (the config
// artifact of a compiled workflow, or a trial config file).
func ReadExperiment(path string) (map[string]any, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading config: %w", err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("reading config %s: %w", path, err)
	}
	if m == nil {
		return nil, fmt.Errorf("reading config %s: not a JSON object", path)
	}
	return m, nil
}
