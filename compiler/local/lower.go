package local

import (
	"encoding/json"
	"fmt"
	"path/filepath"
	"slices"
	"time"

	"parak8s.dev/parak8s/compiler/plan"
	runner "parak8s.dev/parak8s/runtime/local"
	"parak8s.dev/parak8s/runtime/step"
	"parak8s.dev/parak8s/schema"
	"parak8s.dev/parak8s/templates"
)

// Lower lays out the plan's DAG as local processes for the trials selected
// (indexes into p.Trials) and the datasets they need, in the work directory
// l. The steps and their dependencies are plan.Nodes; each step's command is
// templates.StepCommand, the one the Argo templates are made of, rendered
// with the unit's local folders in place of the pod paths and the trial's
// values in place of the input parameters, as Argo fills them in from the
// fan-out's items. Output parameters of the trial's earlier steps (track's
// run id, publish's digest) are late values (runner.Step.Late), read from
// the files those steps write when the steps that need them start.
//
// lookupEnv is the user's environment: MLFLOW_TRACKING_URI set there wins
// over the spec's tracking.uri; secrets and the cluster's mounted
// credentials are left to it.
func Lower(p *plan.Plan, l runner.Layout, selected map[int]bool, lookupEnv func(string) (string, bool)) (*runner.Graph, error) {
	exp := p.Experiment
	in := templates.Input{Experiment: exp, Swept: p.Params, StepImage: p.StepImage, TrainImage: p.TrainImage}
	cmds := map[step.Kind]templates.Command{}
	// results are the output parameters of the trial steps and where the
	// steps write them.
	results := map[string]templates.Path{}
	for _, k := range step.Kinds() {
		c, err := templates.StepCommand(k, in)
		if err != nil {
			return nil, err
		}
		cmds[k] = c
		for _, r := range c.Results {
			results[r.Name] = r.Path
		}
	}
	policy, err := Policy(exp)
	if err != nil {
		return nil, err
	}
	g := &runner.Graph{Policy: policy}
	needed := map[int]bool{}
	for ti, ok := range selected {
		if ok {
			needed[datasetOf(p, ti)] = true
		}
	}
	trialUnit := map[int]int{}
	for _, n := range p.Nodes() {
		d := p.Datasets[n.Dataset]
		ds := l.Dataset(d.Key)
		r := renderer{
			params: map[string]string{},
			dirs: map[string]string{
				step.PathConfig:  l.Config(),
				step.PathDataset: filepath.Join(ds, runner.DirData),
			},
		}
		var unit int
		if n.Kind == step.Prepare {
			if !needed[n.Dataset] {
				continue
			}
			unit = len(g.Units)
			g.Units = append(g.Units, runner.Unit{
				Kind: "dataset", ID: d.Key, Dir: ds, OnDemand: true,
				Marker:  filepath.Join(ds, runner.FileDone),
				Outputs: []string{filepath.Join(ds, runner.DirData)},
				Clean:   []string{filepath.Join(ds, runner.DirData)},
			})
			r.params[templates.ParamDataKey] = d.Key
			r.params[templates.ParamShort] = step.Short(d.Key)
			for _, o := range p.Trials[d.Trials[0]].Overrides {
				if step.PreparePath(o.Path) {
					v, err := step.Canonical(o.Value)
					if err != nil {
						return nil, err
					}
					r.params[templates.ParamName(o.Path)] = string(v)
				}
			}
		} else {
			if !selected[n.Trial] {
				continue
			}
			t := p.Trials[n.Trial]
			td := l.Trial(t.ID)
			for pod, dir := range map[string]string{
				step.PathModel: runner.DirModel, step.PathMetrics: runner.DirMetrics,
				step.PathCheckpoint: runner.DirCheckpoints, step.PathOut: runner.DirOut,
			} {
				r.dirs[pod] = filepath.Join(td, dir)
			}
			u, ok := trialUnit[n.Trial]
			if !ok {
				u = len(g.Units)
				trialUnit[n.Trial] = u
				info, err := json.MarshalIndent(runner.TrialInfo{ID: t.ID, Experiment: exp.Name, DataKey: t.DataKey, Label: t.Label(), Overrides: t.Overrides}, "", "  ")
				if err != nil {
					return nil, err
				}
				g.Units = append(g.Units, runner.Unit{
					Kind: "trial", ID: t.ID, Label: t.Label(), Dir: td,
					Files:   map[string][]byte{runner.FileTrial: append(info, '\n')},
					Marker:  filepath.Join(td, runner.FileDone),
					Outputs: runner.TrialOutputs(td),
					Clean:   []string{r.dirs[step.PathModel], r.dirs[step.PathMetrics], r.dirs[step.PathCheckpoint], r.dirs[step.PathOut]},
				})
			}
			unit = u
			r.params[templates.ParamTrial] = t.ID
			r.params[templates.ParamShort] = t.Short()
			for _, o := range t.Overrides {
				v, err := step.Canonical(o.Value)
				if err != nil {
					return nil, err
				}
				r.params[templates.ParamName(o.Path)] = string(v)
			}
			r.results = results
		}
		s, err := lowerStep(n, cmds[n.Kind], unit, g.Units[unit].Dir, &r, lookupEnv)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", n.Name, err)
		}
		g.Steps = append(g.Steps, s)
	}
	return g, nil
}

// lowerStep renders one node's command as a local step of unit.
func lowerStep(n plan.Node, c templates.Command, unit int, dir string, r *renderer, lookupEnv func(string) (string, bool)) (runner.Step, error) {
	r.late = nil
	s := runner.Step{
		Name: n.Name, Kind: string(n.Kind), Unit: unit, Deps: n.Deps,
		Log:    filepath.Join(dir, runner.DirLogs, string(n.Kind)+".log"),
		Marker: filepath.Join(dir, runner.DirLogs, string(n.Kind)+".done"),
	}
	for _, v := range c.Volumes {
		lp, err := r.Path(v)
		if err != nil {
			return s, err
		}
		s.Mkdir = append(s.Mkdir, lp)
	}
	for _, a := range c.Args {
		v, err := a.Render(r)
		if err != nil {
			return s, err
		}
		s.Args = append(s.Args, v)
	}
	for _, e := range c.Env {
		if e.Secret != nil || e.Mounted {
			continue // the user's own environment has it, or not
		}
		if _, set := lookupEnv(e.Name); set && e.Name == step.EnvMLflowURI {
			continue
		}
		v, err := e.Value.Render(r)
		if err != nil {
			return s, err
		}
		s.Env = append(s.Env, e.Name+"="+v)
	}
	s.Late = r.late
	for _, a := range append(append([]templates.Artifact(nil), c.Outputs...), c.Results...) {
		lp, err := r.Path(a.Path)
		if err != nil {
			return s, err
		}
		s.Outputs = append(s.Outputs, lp)
	}
	return s, nil
}

// renderer renders a step's values on this machine: input parameters as
// the node's values, output parameters of earlier steps as late values,
// pod paths as the unit's folders.
type renderer struct {
	// params are the node's input parameter values.
	params map[string]string
	// dirs map the pod's folders (templates.Path.Dir) to local ones.
	dirs map[string]string
	// results are the trial's output parameters (trial steps only).
	results map[string]templates.Path
	// late collects the late values the step refers to.
	late map[string]string
}

func (r *renderer) Param(name string) (string, error) {
	if v, ok := r.params[name]; ok {
		return v, nil
	}
	if at, ok := r.results[name]; ok {
		file, err := r.Path(at)
		if err != nil {
			return "", err
		}
		ph := LateValue(name)
		if r.late == nil {
			r.late = map[string]string{}
		}
		r.late[ph] = file
		return ph, nil
	}
	return "", fmt.Errorf("no value for parameter %q", name)
}

func (r *renderer) Path(p templates.Path) (string, error) {
	dir, ok := r.dirs[p.Dir]
	if !ok {
		return "", fmt.Errorf("no local folder for the pod path %s", p.Pod())
	}
	if p.File == "" {
		return dir, nil
	}
	return filepath.Join(dir, filepath.FromSlash(p.File)), nil
}

// LateValue is the placeholder a step's arguments and environment hold for
// the output parameter name of an earlier step until it starts
// (runner.Step.Late).
func LateValue(name string) string { return "{{" + name + "}}" }

func datasetOf(p *plan.Plan, trial int) int {
	for di, d := range p.Datasets {
		if slices.Contains(d.Trials, trial) {
			return di
		}
	}
	return -1
}

// Policy is the workflow's retry strategy, deadlines and parallelism as the
// local runner applies them.
func Policy(exp schema.Experiment) (runner.Policy, error) {
	w := exp.Workflow
	rp, err := templates.RetryPolicy(w)
	if err != nil {
		return runner.Policy{}, err
	}
	stepDeadline, err := time.ParseDuration(w.StepDeadline)
	if err != nil {
		return runner.Policy{}, fmt.Errorf("workflow.stepDeadline: %w", err)
	}
	active, err := time.ParseDuration(w.ActiveDeadline)
	if err != nil {
		return runner.Policy{}, fmt.Errorf("workflow.activeDeadline: %w", err)
	}
	pol := runner.Policy{
		Retry:       rp,
		StepTimeout: stepDeadline,
		Timeout:     active,
	}
	if sw := exp.Sweep; sw != nil {
		pol.Parallelism = sw.Parallelism
	}
	return pol, nil
}
