package templates

import (
	"fmt"
	"strings"
	"time"

	"parak8s.dev/parak8s/runtime/step"
	"parak8s.dev/parak8s/schema"
)

// Command is how one step kind runs, wherever it runs: the step program's
// arguments and environment, the artifacts it reads and writes, its input
// parameters and the output parameters it leaves in files. Arguments and
// environment values are typed (Value: literal text, input parameters, paths
// inside the pod), and each backend renders them: Template as Argo's
// placeholders and pod paths, the local lowering (compiler/local) as the
// trial's values and local folders. It is the one definition of a step's
// command line.
type Command struct {
	Kind step.Kind
	// Image runs the step on a cluster (and is the reference in trial ids).
	Image string
	// Args follow step.Program.
	Args []Value
	// Env are the variables the step is given, in order.
	Env []Env
	// Params are the input parameters the values name, in order.
	Params []string
	// Inputs are the artifacts the step reads (the config first); Outputs
	// the artifacts it writes.
	Inputs, Outputs []Artifact
	// Results are output parameters: values the step writes to files.
	Results []Artifact
	// Volumes are folders a cluster mounts as volumes (not artifacts): a
	// local run creates them before the step starts.
	Volumes []Path
}

// Env is one environment variable of a step.
type Env struct {
	Name  string
	Value Value
	// Secret, when set, gives the value from a Kubernetes secret (Value is
	// empty). Local runs take it from the user's own environment instead.
	Secret *schema.SecretRef
	// Mounted marks a value that is the path of a volume only the cluster
	// mounts (the registry credentials); local runs leave the variable to
	// the user's environment.
	Mounted bool
}

// Artifact is a named file or folder at a path inside the pod.
type Artifact struct {
	Name string
	Path Path
}

// Path is a path inside the pod: Dir, a folder or file of the step
// contract where an artifact or volume is mounted (runtime/step's Path*
// constants), and File, a name below it or empty.
type Path struct {
	Dir, File string
}

// Pod is the path as the step sees it in the pod.
func (p Path) Pod() string {
	if p.File == "" {
		return p.Dir
	}
	return p.Dir + "/" + p.File
}

// PartKind says what a Part holds.
type PartKind int

// The kinds of Part.
const (
	Literal PartKind = iota // Text as it is
	Param                   // the value of the input parameter named Text
	PodPath                 // Path, inside the pod
)

// Part is one piece of a Value.
type Part struct {
	Kind PartKind
	// Text is the literal text (Literal) or the parameter's name (Param).
	Text string
	// Path is the pod path (PodPath).
	Path Path
}

// Value is an argument or an environment value: its parts, concatenated.
type Value []Part

// Lit is literal text.
func Lit(s string) Value { return Value{{Kind: Literal, Text: s}} }

// In is the value of the input parameter name.
func In(name string) Value { return Value{{Kind: Param, Text: name}} }

// At is a path inside the pod.
func At(p Path) Value { return Value{{Kind: PodPath, Path: p}} }

// Join concatenates values.
func Join(vs ...Value) Value {
	var out Value
	for _, v := range vs {
		out = append(out, v...)
	}
	return out
}

// Renderer gives a backend's text for the parameters and pod paths of a
// Value.
type Renderer interface {
	Param(name string) (string, error)
	Path(p Path) (string, error)
}

// Render is v's text, its parameters and paths as r renders them.
func (v Value) Render(r Renderer) (string, error) {
	var b strings.Builder
	for _, p := range v {
		var s string
		var err error
		switch p.Kind {
		case Literal:
			s = p.Text
		case Param:
			s, err = r.Param(p.Text)
		case PodPath:
			s, err = r.Path(p.Path)
		default:
			err = fmt.Errorf("unknown part kind %d", p.Kind)
		}
		if err != nil {
			return "", err
		}
		b.WriteString(s)
	}
	return b.String(), nil
}

// Params are the names of the input parameters v refers to, in order.
func (v Value) Params() []string {
	var out []string
	for _, p := range v {
		if p.Kind == Param {
			out = append(out, p.Text)
		}
	}
	return out
}

// Argo renders values as a workflow's templates hold them: parameters as
// Argo's placeholders (Placeholder), paths as pod paths.
var Argo Renderer = argoRenderer{}

type argoRenderer struct{}

func (argoRenderer) Param(name string) (string, error) { return Placeholder(name), nil }
func (argoRenderer) Path(p Path) (string, error)       { return p.Pod(), nil }

// ArgoText is v as an Argo template holds it.
func ArgoText(v Value) string {
	s, _ := v.Render(Argo) // the Argo renderer never fails
	return s
}

// Placeholder is how an Argo template refers to the input parameter name:
// "{{inputs.parameters.NAME}}".
func Placeholder(name string) string { return "{{inputs.parameters." + name + "}}" }

// StepCommand returns the command of one step kind in the workflow described
// by in.
func StepCommand(k step.Kind, in Input) (Command, error) {
	exp := in.Experiment
	config := Path{Dir: step.PathConfig}
	c := Command{
		Kind:   k,
		Image:  in.StepImage,
		Args:   []Value{Lit(string(k)), Lit(step.FlagConfig), At(config)},
		Env:    []Env{{Name: step.EnvExperiment, Value: Lit(exp.Name)}},
		Inputs: []Artifact{{step.ArtifactConfig, config}},
	}
	args := func(vs ...Value) { c.Args = append(c.Args, vs...) }
	set := func(path string) {
		c.Params = append(c.Params, ParamName(path))
		args(Lit(step.FlagSet), Join(Lit(path+"="), In(ParamName(path))))
	}
	dataset := Artifact{step.ArtifactDataset, Path{Dir: step.PathDataset}}
	if k == step.Prepare {
		c.Params = append(c.Params, ParamDataKey, ParamShort)
		args(Lit(step.FlagDataKey), In(ParamDataKey))
		for _, p := range in.Swept {
			if step.PreparePath(p) {
				set(p)
			}
		}
		args(Lit(step.FlagOut), At(dataset.Path))
		c.Outputs = []Artifact{dataset}
		return c, nil
	}

	// Trial steps: every one recomputes the trial's config from the
	// experiment and the swept values, and checks it against the trial id.
	c.Params = append(c.Params, ParamTrial, ParamShort)
	c.Env = append(c.Env, Env{Name: step.EnvTrial, Value: In(ParamTrial)})
	args(Lit(step.FlagTrial), In(ParamTrial), Lit(step.FlagImage), Lit(in.TrainImage))
	for _, p := range in.Swept {
		set(p)
	}
	model := Artifact{step.ArtifactModel, Path{Dir: step.PathModel}}
	metrics := Artifact{step.ArtifactMetrics, Path{Dir: step.PathMetrics}}
	out := Path{Dir: step.PathOut}
	result := func(name string) Artifact { return Artifact{name, Path{Dir: step.PathOut, File: name}} }
	flag := func(f string, a Artifact) { args(Lit(f), At(a.Path)) }
	switch k {
	case step.Train:
		c.Image = in.TrainImage
		c.Inputs = append(c.Inputs, dataset)
		checkpoints := Path{Dir: step.PathCheckpoint}
		flag(step.FlagData, dataset)
		args(Lit(step.FlagCheckpoint), At(checkpoints))
		flag(step.FlagOut, model)
		c.Outputs = []Artifact{model}
		c.Volumes = []Path{checkpoints}
		c.Env = append(c.Env, Env{Name: step.EnvThreads, Value: Lit(fmt.Sprint(threads(exp)))}, Env{Name: step.EnvOMPWait, Value: Lit("PASSIVE")})
	case step.Evaluate:
		c.Inputs = append(c.Inputs, dataset, model)
		c.Env = append(c.Env, Env{Name: step.EnvOMPWait, Value: Lit("PASSIVE")})
		flag(step.FlagModel, model)
		flag(step.FlagData, dataset)
		flag(step.FlagOut, metrics)
		c.Outputs = []Artifact{metrics}
	case step.Track:
		c.Inputs = append(c.Inputs, model, metrics)
		flag(step.FlagModel, model)
		flag(step.FlagMetrics, metrics)
		args(Lit(step.FlagOut), At(out))
		c.Results = []Artifact{result(step.OutRunID)}
		c.Env = append(c.Env, trackingEnv(exp)...)
	case step.Publish:
		c.Inputs = append(c.Inputs, model, metrics)
		c.Params = append(c.Params, step.OutRunID)
		flag(step.FlagModel, model)
		flag(step.FlagMetrics, metrics)
		args(Lit(step.FlagRunID), In(step.OutRunID), Lit(step.FlagOut), At(out))
		c.Results = []Artifact{result(step.OutDigest)}
		c.Env = append(c.Env, trackingEnv(exp)...)
		c.Env = append(c.Env, registryEnv(exp)...)
		if r := exp.Registry; r != nil && r.Auth != "" {
			c.Env = append(c.Env, Env{Name: step.EnvDockerConfig, Value: At(Path{Dir: step.PathDocker}), Mounted: true})
		}
	case step.Record:
		// The model's history gives the per-epoch metrics and the start
		// time; the registry repository makes the artifact's ref repo@digest.
		c.Inputs = append(c.Inputs, model, metrics)
		c.Params = append(c.Params, step.OutRunID, step.OutDigest)
		flag(step.FlagModel, model)
		flag(step.FlagMetrics, metrics)
		args(Lit(step.FlagRunID), In(step.OutRunID), Lit(step.FlagDigest), In(step.OutDigest))
		if r := exp.Registry; r != nil {
			c.Env = append(c.Env, Env{Name: step.EnvRegistry, Value: Lit(r.Repository)})
		}
		if r := exp.Results; r != nil {
			dsn := r.DSN
			c.Env = append(c.Env, Env{Name: step.EnvDatabaseURL, Secret: &dsn})
		}
	default:
		return c, fmt.Errorf("no command for step kind %q", k)
	}
	return c, nil
}

// Retry is a step's retry policy, as the workflow's retryStrategy states it.
type Retry = step.Retry

// The backoff growth and the time after which a step is not retried.
const (
	BackoffFactor      = 2
	BackoffMaxDuration = time.Hour
)

// RetryPolicy returns the retry policy of the workflow's steps.
func RetryPolicy(w schema.Workflow) (Retry, error) {
	if w.Retries == 0 {
		return Retry{Policy: string(w.RetryPolicy)}, nil
	}
	d, err := time.ParseDuration(w.Backoff)
	if err != nil {
		return Retry{}, fmt.Errorf("workflow.backoff: %w", err)
	}
	return Retry{Limit: w.Retries, Policy: string(w.RetryPolicy), Backoff: d, Factor: BackoffFactor, MaxDuration: BackoffMaxDuration}, nil
}
