package step

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
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
// (schema.TrialRoots).
func Resolve(experiment map[string]any, overrides []Override, image string, roots []string) (Resolved, error) {
	m, err := Apply(experiment, overrides)
	if err != nil {
		return Resolved{}, err
	}
	data, _ := m["data"].(map[string]any)
	ref := DatasetRef(data)
	key, err := DataKey(data, ref)
	if err != nil {
		return Resolved{}, err
	}
	cfg, err := Canonical(TrialConfig(m, roots))
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
		ID:         TrialID(cfg, ref, image, seed),
		DataKey:    key,
		Dataset:    ref,
		Image:      image,
		Seed:       seed,
	}, nil
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
