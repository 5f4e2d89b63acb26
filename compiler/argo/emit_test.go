package argo_test

import (
	"bytes"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	wfv1 "github.com/argoproj/argo-workflows/v3/pkg/apis/workflow/v1alpha1"
	"sigs.k8s.io/yaml"

	"parak8s.dev/parak8s/compiler/argo"
	"parak8s.dev/parak8s/compiler/plan"
	"parak8s.dev/parak8s/compiler/spec"
	"parak8s.dev/parak8s/internal/argolint"
	"parak8s.dev/parak8s/runtime/step"
)

// sweepSpec is a spec with a grid of n1*n2*n3 trials and the given extras.
func sweepSpec(n1, n2, n3 int, extra string) string {
	return fmt.Sprintf(`
name: "big"
data: source: {kind: "wfdb", path: "/data/mitdb"}
model: kind: "deepcnn1d"
resources: {gpus: 2, nodeSelector: "nvidia.com/gpu.present": "true", tolerations: [{key: "nvidia.com/gpu", operator: "Exists", effect: "NoSchedule"}]}
tracking: {uri: "http://mlflow:5000", token: {name: "mlflow", key: "token"}}
results: dsn: {name: "pg", key: "dsn"}
registry: {repository: "registry.example.com/m", when: "val_auc >= 0.9", auth: "regcred"}
%s
sweep: {
	parallelism: 7
	parameters: [
		{path: "training.optimizer.lr", range: {min: 1e-5, max: 1e-1, count: %d, scale: "log"}},
		{path: "model.dropout", range: {min: 0, max: 0.9, count: %d}},
		{path: "training.epochs", range: {min: 1, max: 1000, count: %d, integer: true}},
	]
}
`, extra, n1, n2, n3)
}

func compile(t testing.TB, src string, opts argo.Options) (*plan.Plan, []argo.Workflow) {
	t.Helper()
	dir := t.TempDir()
	f := filepath.Join(dir, "exp.cue")
	specs, err := spec.Load(f, spec.Options{Overlay: map[string][]byte{f: []byte(src)}})
	if err != nil {
		t.Fatalf("load: %v", err)
	}
	p, err := plan.Build(specs[0].Experiment, specs[0].Resolved, plan.DefaultOptions())
	if err != nil {
		t.Fatalf("plan: %v", err)
	}
	wfs, err := argo.Emit(p, opts)
	if err != nil {
		t.Fatalf("emit: %v", err)
	}
	return p, wfs
}

func parse(t testing.TB, y []byte) *wfv1.Workflow {
	t.Helper()
	var wf wfv1.Workflow
	if err := yaml.UnmarshalStrict(y, &wf); err != nil {
		t.Fatalf("strict parse: %v", err)
	}
	return &wf
}

func TestEmitShape(t *testing.T) {
	p, wfs := compile(t, sweepSpec(4, 3, 2, ""), argo.DefaultOptions())
	if len(p.Trials) != 24 || len(wfs) != 1 {
		t.Fatalf("got %d trials in %d workflows, want 24 in 1", len(p.Trials), len(wfs))
	}
	y := wfs[0].YAML
	wf := parse(t, y)

	// One template per step kind plus the two DAGs, whatever the trial count.
	if got, want := len(wf.Spec.Templates), len(step.Kinds())+2; got != want {
		t.Errorf("%d templates, want %d", got, want)
	}
	// The experiment's config travels once.
	if n := bytes.Count(y, []byte(`"checkpointEvery"`)); n != 1 {
		t.Errorf("config appears %d times, want once", n)
	}
	main := wf.GetTemplateByName(argo.EntryTemplate)
	if main.Parallelism == nil || *main.Parallelism != 7 {
		t.Errorf("parallelism = %v, want 7", main.Parallelism)
	}
	var items int
	for _, task := range main.DAG.Tasks {
		items += len(task.WithItems)
		if strings.HasPrefix(task.Name, "trials-") && !strings.HasPrefix(task.Depends, "prepare-") {
			t.Errorf("fan-out %s depends on %q, want its prepare task", task.Name, task.Depends)
		}
	}
	if items != len(p.Trials) {
		t.Errorf("%d items, want %d", items, len(p.Trials))
	}
	// The trial chain follows the plan.
	trial := wf.GetTemplateByName(argo.TrialTemplate)
	prev := ""
	for i, k := range step.TrialKinds() {
		task := trial.DAG.Tasks[i]
		if task.Name != string(k) || task.Depends != prev {
			t.Errorf("trial task %d = %s after %q, want %s after %q", i, task.Name, task.Depends, k, prev)
		}
		prev = string(k)
	}

	train := wf.GetTemplateByName(string(step.Train))
	if q := train.Container.Resources.Limits["nvidia.com/gpu"]; q.Value() != 2 {
		t.Errorf("train gpu limit = %v, want 2", q.String())
	}
	if train.NodeSelector["nvidia.com/gpu.present"] != "true" || len(train.Tolerations) != 1 {
		t.Errorf("train node selector/tolerations not carried: %v %v", train.NodeSelector, train.Tolerations)
	}
	if train.RetryStrategy == nil || train.RetryStrategy.Affinity == nil {
		t.Error("train retries should avoid the failed node")
	}
	if train.Metadata.Labels["parak8s.dev/trial"] == "" || wf.Labels["parak8s.dev/experiment"] != "big" {
		t.Error("missing parak8s.dev labels")
	}
	if wf.Spec.AutomountServiceAccountToken == nil || *wf.Spec.AutomountServiceAccountToken {
		t.Error("service account token should not be mounted by default")
	}
	if sc := wf.Spec.SecurityContext; sc == nil || sc.RunAsNonRoot == nil || !*sc.RunAsNonRoot {
		t.Error("pods must run as non-root")
	}
	if wf.Spec.PodGC == nil || wf.Spec.TTLStrategy == nil || wf.Spec.ActiveDeadlineSeconds == nil {
		t.Error("podGC, ttlStrategy and activeDeadlineSeconds must be set")
	}
	// Secrets only by reference.
	for _, tpl := range wf.Spec.Templates {
		if tpl.Container == nil {
			continue
		}
		for _, e := range tpl.Container.Env {
			if strings.Contains(e.Name, "TOKEN") || e.Name == step.EnvDatabaseURL {
				if e.Value != "" || e.ValueFrom == nil || e.ValueFrom.SecretKeyRef == nil {
					t.Errorf("%s: %s must come from a secretKeyRef", tpl.Name, e.Name)
				}
			}
		}
	}
	// Deterministic.
	_, again := compile(t, sweepSpec(4, 3, 2, ""), argo.DefaultOptions())
	if !bytes.Equal(again[0].YAML, y) {
		t.Error("two compiles differ")
	}
}

func TestEmitShards(t *testing.T) {
	for _, tc := range []struct {
		name       string
		n1, n2, n3 int
		opts       argo.Options
		extra      string
		wantShards int
	}{
		{"fits", 10, 10, 10, argo.DefaultOptions(), "workflow: maxTrialsPerWorkflow: 1000", 1},
		{"default: 250 per workflow", 10, 10, 10, argo.DefaultOptions(), "", 4},
		{"max trials from spec", 10, 10, 3, argo.DefaultOptions(), "workflow: maxTrialsPerWorkflow: 100", 3},
		{"max trials flag", 10, 10, 2, argo.Options{MaxBytes: 1 << 20, MaxTrials: 30}, "", 7},
		{"bytes", 10, 10, 10, argo.Options{MaxBytes: 100 << 10}, "", 0},
		{"more shards than parallelism: chained", 10, 10, 10, argo.Options{MaxBytes: 1 << 20, MaxTrials: 100}, "", 10},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, wfs := compile(t, sweepSpec(tc.n1, tc.n2, tc.n3, tc.extra), tc.opts)
			if tc.wantShards > 0 && len(wfs) != tc.wantShards {
				t.Errorf("%d workflows, want %d", len(wfs), tc.wantShards)
			}
			if tc.wantShards == 0 && len(wfs) < 2 {
				t.Errorf("%d workflows, want a split", len(wfs))
			}
			seen := map[int]bool{}
			names := map[string]bool{}
			// Trials the shards may run at once, together: side by side the
			// sum of their parallelism; chained (each holding the
			// experiment's mutex) the largest.
			var sum, largest int64
			mutexes := 0
			for _, w := range wfs {
				for _, tmpl := range w.Workflow.Spec.Templates {
					if tmpl.Name == argo.EntryTemplate && tmpl.Parallelism != nil {
						sum += *tmpl.Parallelism
						largest = max(largest, *tmpl.Parallelism)
					}
				}
				if sy := w.Workflow.Spec.Synchronization; sy != nil && len(sy.Mutexes) == 1 && sy.Mutexes[0].Name == argo.ShardMutex(p.Experiment.Name) {
					mutexes++
				}
				if len(w.YAML) > tc.opts.MaxBytes {
					t.Errorf("workflow of %d bytes exceeds %d", len(w.YAML), tc.opts.MaxBytes)
				}
				if err := argolint.Validate(w.YAML); err != nil {
					t.Error(err)
				}
				names[w.Workflow.GenerateName] = true
				for _, i := range w.Trials {
					if seen[i] {
						t.Errorf("trial %d in two shards", i)
					}
					seen[i] = true
				}
			}
			if len(seen) != len(p.Trials) {
				t.Errorf("shards hold %d trials, want %d", len(seen), len(p.Trials))
			}
			if len(names) != len(wfs) {
				t.Errorf("shards share generateName prefixes: %v", names)
			}
			par := p.Experiment.Sweep.Parallelism
			running := sum
			switch {
			case mutexes == len(wfs) && len(wfs) > 1:
				running = largest
				if len(wfs) <= par {
					t.Errorf("%d shards chained by a mutex, but parallelism %d gives each a slot side by side", len(wfs), par)
				}
			case mutexes != 0:
				t.Errorf("%d of %d shards hold the mutex, want all or none", mutexes, len(wfs))
			case len(wfs) > par:
				t.Errorf("%d shards side by side with parallelism %d: want them chained", len(wfs), par)
			}
			if running > int64(par) {
				t.Errorf("the %d shards may run %d trials at once together, over the spec's parallelism %d", len(wfs), running, par)
			}
			if want := int64(argo.MostAtOnce(par, len(wfs))); running != want {
				t.Errorf("the %d shards may run %d trials at once together, MostAtOnce says %d", len(wfs), running, want)
			}
		})
	}
}

func TestShardParallelism(t *testing.T) {
	for _, tc := range []struct {
		parallelism, shards, want, most int
		chained                         bool
	}{
		{16, 1, 16, 16, false}, {16, 4, 4, 16, false}, {16, 3, 5, 15, false}, {4, 4, 1, 4, false},
		{2, 4, 2, 2, true}, {64, 65, 64, 64, true}, {1, 1, 1, 1, false}, {1, 2, 1, 1, true}, {7, 0, 7, 7, false},
	} {
		if got := argo.ShardParallelism(tc.parallelism, tc.shards); got != tc.want {
			t.Errorf("ShardParallelism(%d, %d) = %d, want %d", tc.parallelism, tc.shards, got, tc.want)
		}
		if got := argo.Chained(tc.parallelism, tc.shards); got != tc.chained {
			t.Errorf("Chained(%d, %d) = %v, want %v", tc.parallelism, tc.shards, got, tc.chained)
		}
		if got := argo.MostAtOnce(tc.parallelism, tc.shards); got != tc.most || got > tc.parallelism {
			t.Errorf("MostAtOnce(%d, %d) = %d, want %d (at most the parallelism)", tc.parallelism, tc.shards, got, tc.most)
		}
	}
}

func TestValidateRejects(t *testing.T) {
	_, wfs := compile(t, sweepSpec(2, 2, 2, ""), argo.DefaultOptions())
	good := string(wfs[0].YAML)
	for name, bad := range map[string]string{
		"cycle":          strings.Replace(good, "depends: evaluate", "depends: record", 1),
		"unknown field":  strings.Replace(good, "entrypoint: main", "entrypoint: main\n  entrypoitn: x", 1),
		"missing target": strings.Replace(good, "template: train", "template: trainx", 1),
		"bad podGC":      strings.Replace(good, "strategy: OnPodSuccess", "strategy: OnPodSucess", 1),
	} {
		if bad == good {
			t.Fatalf("%s: mutation did not apply", name)
		}
		if err := argolint.Validate([]byte(bad)); err == nil {
			t.Errorf("%s: Validate accepted a broken workflow", name)
		}
	}
}

func TestEmitMemoizesPinnedPrepare(t *testing.T) {
	digest := strings.Repeat("c", 64)
	pinned := `images: step: "r.example.com/parak8s@sha256:` + digest + `"
data: source: digest: "sha256:` + digest + `"`
	// Only without retries: Argo 3.7 hangs on a memoized step with a retryStrategy.
	noRetries := "\nworkflow: retries: 0"
	for _, tc := range []struct {
		extra string
		want  bool
	}{{"", false}, {pinned, false}, {pinned + noRetries, true}} {
		_, wfs := compile(t, sweepSpec(2, 2, 2, tc.extra), argo.DefaultOptions())
		prep := parse(t, wfs[0].YAML).GetTemplateByName(string(step.Prepare))
		if got := prep.Memoize != nil; got != tc.want {
			t.Errorf("pinned=%v: prepare memoized = %v", tc.want, got)
		}
	}
}
