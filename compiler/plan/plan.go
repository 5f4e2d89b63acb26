package plan

import (
	"fmt"
	"strings"

	"parak8s.dev/parak8s/runtime/step"
	"parak8s.dev/parak8s/schema"
)

// MaxTrials bounds the trials of one experiment.
const MaxTrials = 100000

// Plan is an experiment's trials and the DAG that runs them.
type Plan struct {
	// Experiment is the resolved experiment without overrides.
	Experiment schema.Experiment
	// StepImage runs every step but train; TrainImage runs train (the GPU
	// image when GPUs are requested). Both are after Options.Images.
	StepImage, TrainImage string
	// Config is the canonical JSON of the resolved experiment: the one
	// configuration file every step reads (trials add their overrides).
	Config []byte
	// Params are the swept paths, in sweep order (the same for every trial).
	Params []string
	// Datasets are the distinct data configurations, in order of first use.
	Datasets []Dataset
	// Trials in sweep order, without duplicates.
	Trials []Trial
	// Duplicates counts sweep points that gave an already planned trial.
	Duplicates int
}

// Dataset is one distinct data configuration: one prepare step.
type Dataset struct {
	// Key is the data key (see step.DataKey).
	Key string
	// Ref is the dataset digest or unpinned source reference.
	Ref string
	// Pinned reports whether Ref is a digest.
	Pinned bool
	// Trials are the indexes into Plan.Trials of the trials that use it.
	Trials []int
}

// Trial is one point of the sweep.
type Trial struct {
	// ID is the content address of the trial (64 hex digits).
	ID string
	// Index is the trial's position in Plan.Trials.
	Index int
	// Overrides are the swept values that make the trial differ from the
	// experiment, one per Plan.Params entry.
	Overrides []step.Override
	// Config is the canonical JSON of the trial's configuration (see
	// step.TrialConfig).
	Config []byte
	// DataKey names the trial's dataset.
	DataKey string
	// Dataset is the dataset digest or source reference in the id.
	Dataset string
	// Image is the image reference train runs in (Plan.TrainImage; part of
	// the id).
	Image string
	// Seed is the trial's training seed.
	Seed int64
}

// Short returns the trial's short id.
func (t Trial) Short() string { return step.Short(t.ID) }

// Label is a readable summary of the trial's swept values, e.g.
// "lr=0.001 dropout=0.3".
func (t Trial) Label() string {
	parts := make([]string, 0, len(t.Overrides))
	for _, o := range t.Overrides {
		b, _ := step.Canonical(o.Value)
		name := o.Path[strings.LastIndex(o.Path, ".")+1:]
		parts = append(parts, name+"="+string(b))
	}
	return strings.Join(parts, " ")
}

// Options tune Build.
type Options struct {
	// ResolveImage, when set, maps each image reference the steps use to
	// the reference to run instead (`parac compile --resolve`: the
	// digest-pinned one). Trial ids include the result.
	ResolveImage func(ref string) (string, error)
}

// ImageError is a failure of Options.ResolveImage for the image of a spec
// field ("images.step" or "images.gpu").
type ImageError struct {
	Field, Ref string
	Err        error
}

func (e *ImageError) Error() string {
	return fmt.Sprintf("%s: resolving image %s: %v", e.Field, e.Ref, e.Err)
}

func (e *ImageError) Unwrap() error { return e.Err }

// DefaultOptions returns the options of a plain `parac compile`.
func DefaultOptions() Options { return Options{} }

// Build expands the experiment's sweep into trials and groups them by dataset.
// exp and resolved are the same experiment as struct and generic JSON.
func Build(exp schema.Experiment, resolved map[string]any, opts Options) (*Plan, error) {
	cfg, err := step.Canonical(resolved)
	if err != nil {
		return nil, fmt.Errorf("planning %s: %w", exp.Name, err)
	}
	pts, err := points(exp.Sweep, resolved)
	if err != nil {
		return nil, fmt.Errorf("planning %s: %w", exp.Name, err)
	}
	p := &Plan{Experiment: exp, Config: cfg}
	if p.StepImage, err = resolveImage("images.step", exp.Images.Step, opts); err != nil {
		return nil, err
	}
	p.TrainImage = p.StepImage
	if exp.Resources.GPUs > 0 && exp.Images.GPU != "" && exp.Images.GPU != exp.Images.Step {
		if p.TrainImage, err = resolveImage("images.gpu", exp.Images.GPU, opts); err != nil {
			return nil, err
		}
	}
	if len(pts) > 0 {
		for _, o := range pts[0] {
			p.Params = append(p.Params, o.Path)
		}
	}
	// A trial's id and config read only the trial roots: cloning the rest
	// (the sweep, with all its values) for every trial was a third of
	// planning a large sweep.
	part := make(map[string]any, len(schema.TrialRoots()))
	for _, r := range schema.TrialRoots() {
		if v, ok := resolved[r]; ok {
			part[r] = v
		}
	}
	seen := map[string]bool{}
	byKey := map[string]int{}
	res := step.NewResolver(part, p.TrainImage, schema.TrialRoots())
	for _, o := range pts {
		t, err := trial(res, o)
		if err != nil {
			return nil, fmt.Errorf("planning %s: %w", exp.Name, err)
		}
		if seen[t.ID] {
			p.Duplicates++
			continue
		}
		seen[t.ID] = true
		t.Index = len(p.Trials)
		d, ok := byKey[t.DataKey]
		if !ok {
			d = len(p.Datasets)
			byKey[t.DataKey] = d
			p.Datasets = append(p.Datasets, Dataset{Key: t.DataKey, Ref: t.Dataset, Pinned: !strings.HasPrefix(t.Dataset, "unpinned:")})
		}
		p.Datasets[d].Trials = append(p.Datasets[d].Trials, t.Index)
		p.Trials = append(p.Trials, t)
	}
	return p, nil
}

func resolveImage(field, ref string, opts Options) (string, error) {
	if opts.ResolveImage == nil {
		return ref, nil
	}
	r, err := opts.ResolveImage(ref)
	if err != nil {
		return "", &ImageError{Field: field, Ref: ref, Err: err}
	}
	return r, nil
}

func trial(res *step.Resolver, overrides []step.Override) (Trial, error) {
	r, err := res.Resolve(overrides)
	if err != nil {
		return Trial{}, err
	}
	return Trial{
		ID:        r.ID,
		Overrides: overrides,
		Config:    r.Config,
		DataKey:   r.DataKey,
		Dataset:   r.Dataset,
		Image:     r.Image,
		Seed:      r.Seed,
	}, nil
}
