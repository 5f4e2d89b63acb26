package templates

import (
	"slices"
	"strings"
	"testing"

	"parak8s.dev/parak8s/runtime/step"
	"parak8s.dev/parak8s/schema"
)

func experiment() schema.Experiment {
	return schema.Experiment{
		Name:      "x",
		Images:    schema.Images{Step: "r/step:1", PullPolicy: "IfNotPresent"},
		Resources: schema.Resources{CPU: "2500m", Memory: "1Gi", GPUs: 1, GPUResource: "nvidia.com/gpu"},
		Workflow:  schema.Workflow{Retries: 1, RetryPolicy: "OnFailure", Backoff: "1s", StepDeadline: "1h"},
		Results:   &schema.Results{DSN: schema.SecretRef{Name: "pg", Key: "dsn"}},
	}
}

func TestTemplates(t *testing.T) {
	in := Input{Experiment: experiment(), Swept: []string{"data.signal.sampleRate", "training.optimizer.lr"}, StepImage: "r/step:1", TrainImage: "r/gpu:1"}
	for _, tc := range []struct {
		kind      step.Kind
		image     string
		args      []string // must appear, in this order
		noArgs    []string
		inputArts int
	}{
		{step.Prepare, "r/step:1", []string{"prepare", step.FlagDataKey, step.FlagSet, "data.signal.sampleRate={{inputs.parameters.data-signal-sampleRate}}", step.FlagOut}, []string{"training.optimizer.lr={{inputs.parameters.training-optimizer-lr}}"}, 1},
		{step.Train, "r/gpu:1", []string{"train", step.FlagTrial, step.FlagImage, "r/gpu:1", step.FlagSet, step.FlagSet, step.FlagData, step.FlagCheckpoint, step.FlagOut}, nil, 2},
		{step.Evaluate, "r/step:1", []string{"evaluate", step.FlagModel, step.FlagData, step.FlagOut}, nil, 3},
		{step.Track, "r/step:1", []string{"track", step.FlagMetrics, step.FlagOut}, nil, 3},
		{step.Publish, "r/step:1", []string{"publish", step.FlagRunID}, nil, 3},
		{step.Record, "r/step:1", []string{"record", step.FlagRunID, step.FlagDigest}, nil, 2},
	} {
		t.Run(string(tc.kind), func(t *testing.T) {
			tpl, err := Template(tc.kind, in)
			if err != nil {
				t.Fatal(err)
			}
			c := tpl.Container
			if c.Image != tc.image {
				t.Errorf("image %s, want %s", c.Image, tc.image)
			}
			rest := c.Args
			for _, want := range tc.args {
				i := slices.Index(rest, want)
				if i < 0 {
					t.Fatalf("args %v lack %q (in order)", c.Args, want)
				}
				rest = rest[i+1:]
			}
			for _, no := range tc.noArgs {
				if slices.Contains(c.Args, no) {
					t.Errorf("args %v should not contain %q", c.Args, no)
				}
			}
			if len(tpl.Inputs.Artifacts) != tc.inputArts {
				t.Errorf("%d input artifacts, want %d", len(tpl.Inputs.Artifacts), tc.inputArts)
			}
			if c.SecurityContext == nil || *c.SecurityContext.AllowPrivilegeEscalation {
				t.Error("containers must not escalate privileges")
			}
			for _, e := range c.Env {
				if e.Name == step.EnvDatabaseURL && (e.ValueFrom == nil || e.Value != "") {
					t.Error("DATABASE_URL must come from a secret")
				}
			}
		})
	}
}

func TestThreadsFromCPU(t *testing.T) {
	for cpu, want := range map[string]int{"2500m": 3, "1": 1, "100m": 1, "16": 16} {
		e := experiment()
		e.Resources.CPU = cpu
		if got := threads(e); got != want {
			t.Errorf("threads(%s) = %d, want %d", cpu, got, want)
		}
	}
	e := experiment()
	e.Training.Threads = 5
	if threads(e) != 5 {
		t.Error("training.threads must win over the CPU request")
	}
	if !strings.Contains(ParamName("a.b.c"), "a-b-c") {
		t.Error("ParamName")
	}
}

func TestMemoKeyFollowsImage(t *testing.T) {
	in := Input{Experiment: experiment(), StepImage: "r/step@sha256:" + strings.Repeat("a", 64), TrainImage: "r/gpu:1", Memoize: true}
	a, err := Template(step.Prepare, in)
	if err != nil {
		t.Fatal(err)
	}
	in.StepImage = "r/step@sha256:" + strings.Repeat("b", 64)
	b, err := Template(step.Prepare, in)
	if err != nil {
		t.Fatal(err)
	}
	if a.Memoize == nil || b.Memoize == nil {
		t.Fatal("prepare should be memoized when asked")
	}
	if a.Memoize.Key == b.Memoize.Key {
		t.Error("a new step image must not reuse the cached dataset of the old one")
	}
	if !strings.HasPrefix(a.Memoize.Key, "{{inputs.parameters.data-key}}-") {
		t.Errorf("memo key %q should start with the data key", a.Memoize.Key)
	}
}
