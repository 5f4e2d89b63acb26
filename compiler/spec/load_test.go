package spec_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"parak8s.dev/parak8s/compiler/spec"
)

const minimal = `name: "x"
data: source: {kind: "csv", path: "/data/x.csv"}
model: kind: "deepcnn1d"
`

func TestLoadValid(t *testing.T) {
	for _, tc := range []struct {
		name  string
		path  string            // relative to the repository root, or to the temp dir when files is set
		files map[string]string // written to a temp dir
		opts  spec.Options
		check func(t *testing.T, specs []*spec.Spec)
	}{
		{
			name: "ecg example",
			path: "../../examples/ecg/ecg.cue",
			check: func(t *testing.T, specs []*spec.Spec) {
				e := specs[0].Experiment
				if e.Name != "ecg-aami" || e.Model.Kind != "deepcnn1d" || e.Data.Split.By != "record" {
					t.Errorf("got name %q, model %q, split %q", e.Name, e.Model.Kind, e.Data.Split.By)
				}
				// Defaults the spec does not write.
				if e.Workflow.Retries != 2 || e.Workflow.PodGC != "OnPodSuccess" || e.Images.PullPolicy != "IfNotPresent" {
					t.Errorf("defaults: retries %d, podGC %q, pullPolicy %q", e.Workflow.Retries, e.Workflow.PodGC, e.Images.PullPolicy)
				}
				if got := specs[0].Resolved["data"].(map[string]any)["signal"].(map[string]any)["labels"]; got != "aami" {
					t.Errorf("data.signal.labels = %v, want the default aami", got)
				}
				if specs[0].Path != "" {
					t.Errorf("Path = %q, want empty", specs[0].Path)
				}
			},
		},
		{
			name: "swept structs keep the schema's defaults",
			files: map[string]string{"exp.cue": `name: "x"
data: source: {kind: "wfdb", path: "/data/mitdb"}
model: kind: "deepcnn1d"
sweep: parameters: [{path: "training.optimizer", values: [{kind: "sgd", lr: 0.1}, {kind: "adam"}]}]
`},
			path: "exp.cue",
			check: func(t *testing.T, specs []*spec.Spec) {
				vals := specs[0].Experiment.Sweep.Parameters[0].Values
				sgd := vals[0].(map[string]any)
				if sgd["momentum"] != 0.9 || sgd["weightDecay"] != float64(0) || sgd["lr"] != 0.1 {
					t.Errorf("swept optimizer = %v, want momentum 0.9 and weightDecay 0 filled in", sgd)
				}
				if vals[1].(map[string]any)["lr"] != 1e-3 {
					t.Errorf("swept optimizer = %v, want lr 1e-3 filled in", vals[1])
				}
				got := specs[0].Resolved["sweep"].(map[string]any)["parameters"].([]any)[0].(map[string]any)["values"].([]any)[0].(map[string]any)
				if got["momentum"] != 0.9 {
					t.Errorf("Resolved sweep value = %v, want momentum 0.9", got)
				}
			},
		},
		{
			name: "list points valid only together",
			files: map[string]string{"exp.cue": `name: "x"
data: source: {kind: "wfdb", path: "/data/mitdb"}
model: kind: "deepcnn1d"
sweep: {mode: "list", points: [{"data.split.train": 0.7, "data.split.val": 0.3}, {"data.split.train": 0.6, "data.split.val": 0.2, "data.split.test": 0.2}]}
`},
			path: "exp.cue",
		},
		{
			name: "pneumonia example dir",
			path: "../../examples/pneumonia",
			check: func(t *testing.T, specs []*spec.Spec) {
				e := specs[0].Experiment
				if e.Name != "pneumonia-resnet" || e.Model.Kind != "resnet" || e.Sweep == nil || e.Sweep.Mode != "random" {
					t.Errorf("got %+v", e)
				}
				if got := specs[0].Resolved["training"].(map[string]any)["checkpointEvery"]; got != float64(500) {
					t.Errorf("training.checkpointEvery = %v, want the default 500", got)
				}
				if got := specs[0].Resolved["resources"].(map[string]any)["gpuResource"]; got != "nvidia.com/gpu" {
					t.Errorf("resources.gpuResource = %v", got)
				}
			},
		},
		{
			name:  "no import, no cue.mod",
			path:  "exp.cue",
			files: map[string]string{"exp.cue": minimal},
			check: func(t *testing.T, specs []*spec.Spec) {
				e := specs[0].Experiment
				if e.Name != "x" || e.Training.Epochs != 20 || e.Data.Loader.BatchSize != 128 {
					t.Errorf("got %+v", e)
				}
			},
		},
		{
			name:  "import, no cue.mod",
			path:  "exp.cue",
			files: map[string]string{"exp.cue": "package exp\n\nimport \"parak8s.dev/parak8s/schema\"\n\nschema.#Experiment & {\n" + minimal + "}\n"},
			check: func(t *testing.T, specs []*spec.Spec) {
				if specs[0].Experiment.Name != "x" {
					t.Errorf("name %q", specs[0].Experiment.Name)
				}
			},
		},
		{
			name: "user module with two files",
			path: ".",
			files: map[string]string{
				"cue.mod/module.cue": "module: \"example.com/exp@v0\"\nlanguage: version: \"v0.17.0\"\n",
				"exp.cue":            "package exp\n\nimport \"parak8s.dev/parak8s/schema\"\n\nschema.#Experiment & {\n" + minimal + "}\n",
				"res.cue":            "package exp\n\nresources: gpus: 2\n",
			},
			check: func(t *testing.T, specs []*spec.Spec) {
				if g := specs[0].Experiment.Resources.GPUs; g != 2 {
					t.Errorf("resources.gpus = %d, want 2 (from res.cue)", g)
				}
				if len(specs[0].Files) != 2 {
					t.Errorf("Files = %v, want the two user files", specs[0].Files)
				}
			},
		},
		{
			name:  "several experiments",
			path:  "exp.cue",
			files: map[string]string{"exp.cue": experiments},
			check: func(t *testing.T, specs []*spec.Spec) {
				if len(specs) != 2 || specs[0].Path != "experiments.a" || specs[1].Experiment.Name != "b" {
					t.Errorf("got %d specs: %v", len(specs), paths(specs))
				}
			},
		},
		{
			name:  "select one experiment",
			path:  "exp.cue",
			files: map[string]string{"exp.cue": experiments},
			opts:  spec.Options{Experiment: "b"},
			check: func(t *testing.T, specs []*spec.Spec) {
				if len(specs) != 1 || specs[0].Path != "experiments.b" || specs[0].Experiment.Training.Epochs != 5 {
					t.Errorf("got %v", paths(specs))
				}
			},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := tc.path
			if tc.files != nil {
				dir := t.TempDir()
				for name, src := range tc.files {
					p := filepath.Join(dir, filepath.FromSlash(name))
					if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
						t.Fatal(err)
					}
					if err := os.WriteFile(p, []byte(src), 0o644); err != nil {
						t.Fatal(err)
					}
				}
				path = filepath.Join(dir, tc.path)
			}
			specs, err := spec.Load(path, tc.opts)
			if err != nil {
				t.Fatalf("Load: %s", render(err, filepath.Dir(path)))
			}
			if len(specs) == 0 {
				t.Fatal("no experiments")
			}
			if tc.check != nil {
				tc.check(t, specs)
			}
		})
	}
}

const experiments = `package exp

experiments: a: {
	name: "a"
	data: source: {kind: "csv", path: "/data/x.csv"}
	model: kind: "deepcnn1d"
}

experiments: b: {
	name: "b"
	data: source: {kind: "csv", path: "/data/x.csv"}
	model: kind: "deepcnn1d"
	training: epochs: 5
}
`

func TestLoadUnknownExperiment(t *testing.T) {
	f := filepath.Join(t.TempDir(), "exp.cue")
	_, err := spec.Load(f, spec.Options{Experiment: "c", Overlay: map[string][]byte{f: []byte(experiments)}})
	if err == nil || !strings.Contains(err.Error(), `no experiment named "c"`) || !strings.Contains(err.Error(), "a, b") {
		t.Errorf("got %v, want an error naming c and listing a, b", err)
	}
	g := filepath.Join(t.TempDir(), "exp.cue")
	_, err = spec.Load(g, spec.Options{Experiment: "y", Overlay: map[string][]byte{g: []byte(minimal)}})
	if err == nil || !strings.Contains(err.Error(), `"x"`) {
		t.Errorf("single experiment: got %v, want an error naming x", err)
	}
}

func TestLoadOverlay(t *testing.T) {
	f := filepath.Join(t.TempDir(), "virtual", "exp.cue")
	specs, err := spec.Load(f, spec.Options{Overlay: map[string][]byte{f: []byte(minimal)}})
	if err != nil {
		t.Fatal(render(err, filepath.Dir(f)))
	}
	if specs[0].Experiment.Name != "x" {
		t.Errorf("name %q", specs[0].Experiment.Name)
	}
}

func paths(specs []*spec.Spec) []string {
	var out []string
	for _, s := range specs {
		out = append(out, s.Path)
	}
	return out
}
