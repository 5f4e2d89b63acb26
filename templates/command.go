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
// environment values hold the in-pod paths of runtime/step (step.Path*) and
// Placeholder strings. Template turns a Command into an Argo container as it
// is; the local runner (parac run) puts local folders in place of the paths
// and the trial's values in place of the placeholders. It is the one
// definition of a step's command line.
type Command struct {
	Kind step.Kind
	// Image runs the step on a cluster (and is the reference in trial ids).
	Image string
	// Args follow step.Program.
	Args []string
	// Env are the variables the step is given, in order.
	Env []Env
	// Params are the input parameters the placeholders name, in order.
	Params []string
	// Inputs are the artifacts the step reads (the config first); Outputs
	// the artifacts it writes.
	Inputs, Outputs []Artifact
	// Results are output parameters: values the step writes to files.
	Results []Artifact
}

// Env is one environment variable of a step.
type Env struct {
	Name string
	// Value may hold placeholders; it is empty when Secret is set.
	Value string
	// Secret, when set, gives the value from a Kubernetes secret. Local runs
	// take it from the user's own environment instead.
	Secret *schema.SecretRef
	// Mounted marks a value that is the path of a volume only the cluster
	// mounts (the registry credentials); local runs leave the variable to
	// the user's environment.
	Mounted bool
}

// Artifact is a named file or folder at a path inside the pod.
type Artifact struct {
	Name, Path string
}

// Placeholder is how arguments and environment values refer to the input
// parameter name: Argo's own syntax, "{{inputs.parameters.NAME}}".
func Placeholder(name string) string { return "{{inputs.parameters." + name + "}}" }

// StepCommand returns the command of one step kind in the workflow described
// by in.
func StepCommand(k step.Kind, in Input) (Command, error) {
	exp := in.Experiment
	c := Command{
		Kind:   k,
		Image:  in.StepImage,
		Args:   []string{string(k), step.FlagConfig, step.PathConfig},
		Env:    []Env{{Name: step.EnvExperiment, Value: exp.Name}},
		Inputs: []Artifact{{step.ArtifactConfig, step.PathConfig}},
	}
	set := func(path string) {
		c.Params = append(c.Params, ParamName(path))
		c.Args = append(c.Args, step.FlagSet, path+"="+Placeholder(ParamName(path)))
	}
	if k == step.Prepare {
		c.Params = append(c.Params, ParamDataKey, ParamShort)
		c.Args = append(c.Args, step.FlagDataKey, Placeholder(ParamDataKey))
		for _, p := range in.Swept {
			if step.PreparePath(p) {
				set(p)
			}
		}
		c.Args = append(c.Args, step.FlagOut, step.PathDataset)
		c.Outputs = []Artifact{{step.ArtifactDataset, step.PathDataset}}
		return c, nil
	}

	// Trial steps: every one recomputes the trial's config from the
	// experiment and the swept values, and checks it against the trial id.
	c.Params = append(c.Params, ParamTrial, ParamShort)
	c.Env = append(c.Env, Env{Name: step.EnvTrial, Value: Placeholder(ParamTrial)})
	c.Args = append(c.Args, step.FlagTrial, Placeholder(ParamTrial), step.FlagImage, in.TrainImage)
	for _, p := range in.Swept {
		set(p)
	}
	dataset := Artifact{step.ArtifactDataset, step.PathDataset}
	model := Artifact{step.ArtifactModel, step.PathModel}
	metrics := Artifact{step.ArtifactMetrics, step.PathMetrics}
	result := func(name string) Artifact { return Artifact{name, step.PathOut + "/" + name} }
	switch k {
	case step.Train:
		c.Image = in.TrainImage
		c.Inputs = append(c.Inputs, dataset)
		c.Args = append(c.Args, step.FlagData, step.PathDataset, step.FlagCheckpoint, step.PathCheckpoint, step.FlagOut, step.PathModel)
		c.Outputs = []Artifact{model}
		c.Env = append(c.Env, Env{Name: step.EnvThreads, Value: fmt.Sprint(threads(exp))}, Env{Name: step.EnvOMPWait, Value: "PASSIVE"})
	case step.Evaluate:
		c.Inputs = append(c.Inputs, dataset, model)
		c.Env = append(c.Env, Env{Name: step.EnvOMPWait, Value: "PASSIVE"})
		c.Args = append(c.Args, step.FlagModel, step.PathModel, step.FlagData, step.PathDataset, step.FlagOut, step.PathMetrics)
		c.Outputs = []Artifact{metrics}
	case step.Track:
		c.Inputs = append(c.Inputs, model, metrics)
		c.Args = append(c.Args, step.FlagModel, step.PathModel, step.FlagMetrics, step.PathMetrics, step.FlagOut, step.PathOut)
		c.Results = []Artifact{result(step.OutRunID)}
		c.Env = append(c.Env, trackingEnv(exp)...)
	case step.Publish:
		c.Inputs = append(c.Inputs, model, metrics)
		c.Params = append(c.Params, step.OutRunID)
		c.Args = append(c.Args, step.FlagModel, step.PathModel, step.FlagMetrics, step.PathMetrics, step.FlagRunID, Placeholder(step.OutRunID), step.FlagOut, step.PathOut)
		c.Results = []Artifact{result(step.OutDigest)}
		c.Env = append(c.Env, trackingEnv(exp)...)
		c.Env = append(c.Env, registryEnv(exp)...)
		if r := exp.Registry; r != nil && r.Auth != "" {
			c.Env = append(c.Env, Env{Name: step.EnvDockerConfig, Value: step.PathDocker, Mounted: true})
		}
	case step.Record:
		// The model's history gives the per-epoch metrics and the start
		// time; the registry repository makes the artifact's ref repo@digest.
		c.Inputs = append(c.Inputs, model, metrics)
		c.Params = append(c.Params, step.OutRunID, step.OutDigest)
		c.Args = append(c.Args, step.FlagModel, step.PathModel, step.FlagMetrics, step.PathMetrics, step.FlagRunID, Placeholder(step.OutRunID), step.FlagDigest, Placeholder(step.OutDigest))
		if r := exp.Registry; r != nil {
			c.Env = append(c.Env, Env{Name: step.EnvRegistry, Value: r.Repository})
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

// Substitute returns s with every placeholder replaced by its value in
// params; it fails on a placeholder params lacks.
func Substitute(s string, params map[string]string) (string, error) {
	const open, close = "{{inputs.parameters.", "}}"
	var b strings.Builder
	for {
		i := strings.Index(s, open)
		if i < 0 {
			b.WriteString(s)
			return b.String(), nil
		}
		j := strings.Index(s[i:], close)
		if j < 0 {
			b.WriteString(s)
			return b.String(), nil
		}
		name := s[i+len(open) : i+j]
		v, ok := params[name]
		if !ok {
			return "", fmt.Errorf("no value for parameter %q", name)
		}
		b.WriteString(s[:i])
		b.WriteString(v)
		s = s[i+j+len(close):]
	}
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
		return Retry{Policy: w.RetryPolicy}, nil
	}
	d, err := time.ParseDuration(w.Backoff)
	if err != nil {
		return Retry{}, fmt.Errorf("workflow.backoff: %w", err)
	}
	return Retry{Limit: w.Retries, Policy: w.RetryPolicy, Backoff: d, Factor: BackoffFactor, MaxDuration: BackoffMaxDuration}, nil
}
