package steps

import (
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"

	"parak8s.dev/parak8s/runtime/bundle"
	"parak8s.dev/parak8s/runtime/step"
	"parak8s.dev/parak8s/schema"
)

// Env is what every step shares: its output streams and logger.
type Env struct {
	Stdout, Stderr io.Writer
	Log            *slog.Logger
}

// Trial is a resolved trial and the same experiment as typed struct.
type Trial struct {
	step.Resolved
	Exp schema.Experiment
}

// TrialArgs are what every step is given to find its trial: the
// experiment's resolved config, the trial's overrides, and the ids the
// step must agree with (the flags of the runtime/step contract).
type TrialArgs struct {
	Config string   // the resolved experiment (JSON file)
	Sets   []string // the trial's swept values, PATH=JSON
	Trial  string   // the trial id the config and overrides must give ("": not checked)
	Image  string   // the image reference the trial id was computed with
}

// Resolve reads the config, applies the overrides, and checks the trial id
// (and the data key, when given).
func (a TrialArgs) Resolve(dataKey string) (Trial, error) {
	if a.Config == "" {
		return Trial{}, Usage(fmt.Errorf("%s is required", step.FlagConfig))
	}
	exp, err := step.ReadExperiment(a.Config)
	if err != nil {
		return Trial{}, err
	}
	overrides := make([]step.Override, 0, len(a.Sets))
	for _, s := range a.Sets {
		o, err := step.ParseSet(s)
		if err != nil {
			return Trial{}, Usage(err)
		}
		overrides = append(overrides, o)
	}
	r, err := step.Resolve(exp, overrides, a.Image, schema.TrialRoots())
	if err != nil {
		return Trial{}, fmt.Errorf("resolving the trial from %s: %w", a.Config, err)
	}
	if err := r.Check(a.Trial, dataKey); err != nil {
		return Trial{}, err
	}
	t := Trial{Resolved: r}
	if err := decode(r.Experiment, &t.Exp); err != nil {
		return Trial{}, fmt.Errorf("decoding the experiment in %s: %w", a.Config, err)
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

// writeOutParam writes one output parameter file under dir (created if
// needed).
func writeOutParam(dir, name, value string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("writing %s: %w", name, err)
	}
	return bundle.WriteFile(filepath.Join(dir, name), []byte(value))
}
