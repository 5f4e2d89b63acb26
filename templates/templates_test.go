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
		{step.Record, "r/step:1", []string{"record", step.FlagModel, step.FlagMetrics, step.FlagRunID, step.FlagDigest}, nil, 3},
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
	// With retries, prepare is not memoized: Argo 3.7 hangs on a memoized
	// step with a retryStrategy that hits its cache.
	if a, err := Template(step.Prepare, in); err != nil || a.Memoize != nil || a.RetryStrategy == nil {
		t.Fatalf("with retries: memoize %v, retry %v, %v", a.Memoize, a.RetryStrategy, err)
	}
	in.Experiment.Workflow.Retries = 0
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

// A pvc:// source mounts its whole claim read-only into prepare at
// step.PathSource; other sources mount nothing.
func TestPrepareSourceClaim(t *testing.T) {
	for _, tc := range []struct {
		path, claim, err string
	}{
		{"/data/mitdb", "", ""},
		{"oci://r/mitdb@sha256:" + strings.Repeat("a", 64), "", ""},
		{"pvc://ecg-data/mitdb", "ecg-data", ""},
		{"pvc://ecg-data", "ecg-data", ""},
		{"pvc://Ecg/mitdb", "", "not a DNS-1123 subdomain"},
		{"pvc://ecg/../mitdb", "", "not a clean relative path"},
	} {
		e := experiment()
		e.Data.Source = schema.Source{Kind: "wfdb", Path: tc.path}
		tmpl, err := Template(step.Prepare, Input{Experiment: e, StepImage: "r/step:1", TrainImage: "r/gpu:1"})
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("%s: error %v, want %q", tc.path, err, tc.err)
			}
			continue
		}
		if err != nil {
			t.Fatalf("%s: %v", tc.path, err)
		}
		// Every step has its writable work dir first.
		if len(tmpl.Volumes) == 0 || tmpl.Volumes[0].EmptyDir == nil || tmpl.Container.VolumeMounts[0].MountPath != step.Root {
			t.Fatalf("%s: volumes %v, mounts %v; want the work dir at %s first", tc.path, tmpl.Volumes, tmpl.Container.VolumeMounts, step.Root)
		}
		if tc.claim == "" {
			if len(tmpl.Volumes) != 1 || len(tmpl.Container.VolumeMounts) != 1 {
				t.Errorf("%s: prepare mounts %v", tc.path, tmpl.Volumes)
			}
			continue
		}
		if len(tmpl.Volumes) != 2 || len(tmpl.Container.VolumeMounts) != 2 {
			t.Fatalf("%s: volumes %v, mounts %v; want the work dir and one claim", tc.path, tmpl.Volumes, tmpl.Container.VolumeMounts)
		}
		v, m := tmpl.Volumes[1], tmpl.Container.VolumeMounts[1]
		if pvc := v.PersistentVolumeClaim; pvc == nil || pvc.ClaimName != tc.claim || !pvc.ReadOnly {
			t.Errorf("%s: volume %+v, want claim %s read-only", tc.path, v.VolumeSource, tc.claim)
		}
		if m.Name != v.Name || m.MountPath != step.PathSource || !m.ReadOnly || m.SubPath != "" {
			t.Errorf("%s: mount %+v, want %s read-only, no subPath", tc.path, m, step.PathSource)
		}
	}
}

// The step contract's retry rule (runtime/local retries the same way): a
// usage or config error is final under every policy, ExitTransient is
// retried under every policy that Argo's expression can state.
func TestRetryWhen(t *testing.T) {
	for _, c := range []struct {
		policy, wantPolicy, wantExpr string
	}{
		{"OnFailure", "OnFailure", `!(lastRetry.exitCode in ["2", "3"])`},
		{"Always", "Always", `!(lastRetry.exitCode in ["2", "3"])`},
		{"OnError", "Always", `lastRetry.status == "Error" || lastRetry.exitCode == "75"`},
		{"OnTransientError", "OnTransientError", ""},
	} {
		p, e := retryWhen(c.policy)
		if string(p) != c.wantPolicy || e != c.wantExpr {
			t.Errorf("retryWhen(%q) = %q, %q; want %q, %q", c.policy, p, e, c.wantPolicy, c.wantExpr)
		}
	}
}
