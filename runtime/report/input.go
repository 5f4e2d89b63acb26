package report

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"parak8s.dev/parak8s/runtime/bundle"
	"parak8s.dev/parak8s/runtime/local"
	"parak8s.dev/parak8s/runtime/step"
)

// Plan is what a compiled spec says about one experiment's trials.
type Plan struct {
	Experiment string
	// Params are the swept paths, in sweep order.
	Params []string
	// TrackingURI and MLflowExperiment are the spec's tracking.uri and
	// tracking.experiment ("" when unset).
	TrackingURI, MLflowExperiment string
	// Trials are the plan's trials in sweep order (ID, Label, Overrides).
	Trials []local.TrialInfo
}

// SeveralExperimentsError is FromWorkDir's error when no experiment is
// named and the work dir holds several.
type SeveralExperimentsError struct {
	WorkDir string
	Names   []string
}

func (e *SeveralExperimentsError) Error() string {
	return fmt.Sprintf("%s holds several experiments (%s): pick one with --experiment", e.WorkDir, strings.Join(e.Names, ", "))
}

// WithResults is how many of the input's trials have a metrics.json.
func WithResults(in Input) int {
	n := 0
	for _, t := range in.Trials {
		if _, err := os.Stat(filepath.Join(t.MetricsDir, bundle.FileMetrics)); err == nil {
			n++
		}
	}
	return n
}

// trialFromDir describes a trial folder the runner left.
func trialFromDir(dir string, info local.TrialInfo) Trial {
	t := Trial{
		ID: info.ID, Label: info.Label, Overrides: info.Overrides,
		ModelDir:   filepath.Join(dir, local.DirModel),
		MetricsDir: filepath.Join(dir, local.DirMetrics),
		Status:     "incomplete",
	}
	if local.Finished(dir) {
		t.Status = "finished"
	}
	if b, err := os.ReadFile(filepath.Join(dir, local.DirOut, step.OutRunID)); err == nil {
		t.RunID = strings.TrimSpace(string(b))
	}
	return t
}

// FromPlan reports the plan's trials that have a folder in the work dir,
// in sweep order.
func FromPlan(p Plan, workdir string) Input {
	l := local.Layout{Root: workdir, Experiment: p.Experiment}
	in := Input{Experiment: p.Experiment, Params: p.Params, TrackingURI: p.TrackingURI}
	for _, t := range p.Trials {
		dir := l.Trial(t.ID)
		if _, err := os.Stat(dir); err != nil {
			continue
		}
		in.Trials = append(in.Trials, trialFromDir(dir, t))
	}
	return in
}

// FromWorkDir reports every trial of one experiment in the work dir,
// sorted by label; the swept paths are those the trials override, in
// order of first appearance. With experiment "" the work dir must hold
// one experiment (else a *SeveralExperimentsError).
func FromWorkDir(workdir, experiment string) (Input, error) {
	if experiment == "" {
		dirs, _ := filepath.Glob(filepath.Join(workdir, "*", "trials"))
		var names []string
		for _, d := range dirs {
			names = append(names, filepath.Base(filepath.Dir(d)))
		}
		switch len(names) {
		case 0:
			return Input{}, fmt.Errorf("reporting: no trials in %s (run parac run first, or pass --workdir)", workdir)
		case 1:
			experiment = names[0]
		default:
			return Input{}, &SeveralExperimentsError{WorkDir: workdir, Names: names}
		}
	}
	l := local.Layout{Root: workdir, Experiment: experiment}
	dirs, _ := filepath.Glob(filepath.Join(l.Trials(), "*"))
	in := Input{Experiment: experiment}
	for _, d := range dirs {
		info, err := local.ReadTrialInfo(d)
		if err != nil {
			continue
		}
		in.Trials = append(in.Trials, trialFromDir(d, info))
	}
	if len(in.Trials) == 0 {
		return Input{}, fmt.Errorf("reporting: no trials of %s in %s", experiment, workdir)
	}
	in.Params = sweptPaths(in.Trials)
	sort.SliceStable(in.Trials, func(i, j int) bool { return in.Trials[i].Label < in.Trials[j].Label })
	return in, nil
}

// sweptPaths are the paths the trials override, in order of first
// appearance.
func sweptPaths(ts []Trial) []string {
	var paths []string
	seen := map[string]bool{}
	for _, t := range ts {
		for _, o := range t.Overrides {
			if !seen[o.Path] {
				seen[o.Path] = true
				paths = append(paths, o.Path)
			}
		}
	}
	return paths
}
