package main

import (
	"encoding/json"
	"fmt"

	"github.com/spf13/pflag"

	"parak8s.dev/parak8s/runtime/step"
	"parak8s.dev/parak8s/schema"
)

// trialFlags are the flags every step shares: the experiment's resolved
// config, the trial's overrides, and the ids the step must agree with.
type trialFlags struct {
	config string
	sets   []string
	trial  string
	image  string
}

func (f *trialFlags) register(fs *pflag.FlagSet) {
	fs.StringVar(&f.config, step.FlagConfig[2:], "", "the resolved experiment (JSON): the compiled config artifact or a trial config")
	fs.StringArrayVar(&f.sets, step.FlagSet[2:], nil, "a swept value of the trial, PATH=JSON (repeatable)")
	fs.StringVar(&f.trial, step.FlagTrial[2:], "", "the trial id the config and overrides must give (checked when set)")
	fs.StringVar(&f.image, step.FlagImage[2:], "", "the image reference the trial id was computed with")
}

// trial is a resolved trial and the same experiment as typed struct.
type trial struct {
	step.Resolved
	Exp schema.Experiment
}

// resolve reads the config, applies the overrides, and checks the trial id
// (and the data key, when given).
func (f *trialFlags) resolve(dataKey string) (trial, error) {
	if f.config == "" {
		return trial{}, usageError{fmt.Errorf("%s is required", step.FlagConfig)}
	}
	exp, err := step.ReadExperiment(f.config)
	if err != nil {
		return trial{}, err
	}
	overrides := make([]step.Override, 0, len(f.sets))
	for _, s := range f.sets {
		o, err := step.ParseSet(s)
		if err != nil {
			return trial{}, usageError{err}
		}
		overrides = append(overrides, o)
	}
	r, err := step.Resolve(exp, overrides, f.image, schema.TrialRoots())
	if err != nil {
		return trial{}, fmt.Errorf("resolving the trial from %s: %w", f.config, err)
	}
	if err := r.Check(f.trial, dataKey); err != nil {
		return trial{}, err
	}
	t := trial{Resolved: r}
	if err := decode(r.Experiment, &t.Exp); err != nil {
		return trial{}, fmt.Errorf("decoding the experiment in %s: %w", f.config, err)
	}
	return t, nil
}

// decode turns a resolved experiment (generic JSON) into the typed struct.
func decode(m map[string]any, exp *schema.Experiment) error {
	b, err := json.Marshal(m)
	if err != nil {
		return err
	}
	return json.Unmarshal(b, exp)
}
