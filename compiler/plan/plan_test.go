package plan_test

import (
	"errors"
	"path/filepath"
	"slices"
	"testing"

	"parak8s.dev/parak8s/compiler/plan"
	"parak8s.dev/parak8s/compiler/spec"
	"parak8s.dev/parak8s/runtime/step"
)

const base = `
name: "t"
data: source: {kind: "wfdb", path: "/d"}
model: kind: "deepcnn1d"
`

func build(t *testing.T, src string, opts plan.Options) *plan.Plan {
	t.Helper()
	f := filepath.Join(t.TempDir(), "exp.cue")
	specs, err := spec.Load(f, spec.Options{Overlay: map[string][]byte{f: []byte(base + src)}})
	if err != nil {
		t.Fatalf("load: %v", err)
	}
	p, err := plan.Build(specs[0].Experiment, specs[0].Resolved, opts)
	if err != nil {
		t.Fatalf("plan: %v", err)
	}
	return p
}

func TestExpand(t *testing.T) {
	for _, tc := range []struct {
		name      string
		src       string
		trials    int
		datasets  int
		firstLbl  string
		lastLabel string
	}{
		{"no sweep", ``, 1, 1, "", ""},
		{"grid values", `sweep: parameters: [{path: "model.dropout", values: [0.1, 0.2]}, {path: "training.epochs", values: [1, 2, 3]}]`, 6, 1, "dropout=0.1 epochs=1", "dropout=0.2 epochs=3"},
		{"grid log range", `sweep: parameters: [{path: "training.optimizer.lr", range: {min: 1e-4, max: 1e-2, count: 3, scale: "log"}}]`, 3, 1, "lr=0.0001", "lr=0.01"},
		{"grid integer range dedups", `sweep: parameters: [{path: "training.epochs", range: {min: 1, max: 2, count: 5, integer: true}}]`, 2, 1, "epochs=1", "epochs=2"},
		{"random", `sweep: {mode: "random", samples: 20, seed: 3, parameters: [{path: "model.dropout", range: {min: 0, max: 0.5}}]}`, 20, 1, "", ""},
		{"random duplicates removed", `sweep: {mode: "random", samples: 50, parameters: [{path: "training.epochs", values: [1, 2]}]}`, 2, 1, "", ""},
		{"list fills missing paths", `sweep: {mode: "list", points: [{"model.dropout": 0.1}, {"training.epochs": 3}]}`, 2, 1, "dropout=0.1 epochs=20", "dropout=0.3 epochs=3"},
		{"data sweep gives datasets", `sweep: parameters: [{path: "data.signal.sampleRate", values: [125, 250]}, {path: "data.loader.batchSize", values: [32, 64]}]`, 4, 2, "sampleRate=125 batchSize=32", "sampleRate=250 batchSize=64"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := build(t, tc.src, plan.DefaultOptions())
			if len(p.Trials) != tc.trials || len(p.Datasets) != tc.datasets {
				t.Fatalf("%d trials in %d datasets, want %d in %d", len(p.Trials), len(p.Datasets), tc.trials, tc.datasets)
			}
			if tc.firstLbl != "" && p.Trials[0].Label() != tc.firstLbl {
				t.Errorf("first trial %q, want %q", p.Trials[0].Label(), tc.firstLbl)
			}
			if tc.lastLabel != "" && p.Trials[len(p.Trials)-1].Label() != tc.lastLabel {
				t.Errorf("last trial %q, want %q", p.Trials[len(p.Trials)-1].Label(), tc.lastLabel)
			}
			again := build(t, tc.src, plan.DefaultOptions())
			ids := map[string]bool{}
			for i, tr := range p.Trials {
				if again.Trials[i].ID != tr.ID {
					t.Fatalf("trial %d id differs between two plans", i)
				}
				if ids[tr.ID] {
					t.Fatalf("duplicate trial id %s", tr.ID)
				}
				ids[tr.ID] = true
				// The id is reproducible from what the pod receives.
				if got := step.TrialID(tr.Config, tr.Dataset, tr.Image, tr.Seed); got != tr.ID {
					t.Fatalf("trial %d: id not reproducible", i)
				}
			}
			var n int
			for _, d := range p.Datasets {
				n += len(d.Trials)
			}
			if n != len(p.Trials) {
				t.Errorf("datasets hold %d trials, want %d", n, len(p.Trials))
			}
			nodes := p.Nodes()
			if want := len(p.Datasets) + len(p.Trials)*len(step.TrialKinds()); len(nodes) != want {
				t.Errorf("%d nodes, want %d", len(nodes), want)
			}
		})
	}
}

func TestTrialIDInputs(t *testing.T) {
	id := func(src string, opts plan.Options) string { return build(t, src, opts).Trials[0].ID }
	ref := id(``, plan.DefaultOptions())
	for name, other := range map[string]string{
		"image digest": id(``, plan.Options{ResolveImage: func(string) (string, error) {
			return "ghcr.io/parak8s/parak8s@sha256:" + string(make64('a')), nil
		}}),
		"seed":    id(`training: seed: 7`, plan.DefaultOptions()),
		"dataset": id(`data: source: digest: "sha256:`+string(make64('b'))+`"`, plan.DefaultOptions()),
		"config":  id(`training: epochs: 3`, plan.DefaultOptions()),
	} {
		if other == ref {
			t.Errorf("changing the %s did not change the trial id", name)
		}
	}
	for name, same := range map[string]string{
		"tracking":  id(`tracking: uri: "http://x:5000"`, plan.DefaultOptions()),
		"resources": id(`resources: cpu: "8"`, plan.DefaultOptions()),
		"workflow":  id(`workflow: retries: 5`, plan.DefaultOptions()),
	} {
		if same != ref {
			t.Errorf("changing %s changed the trial id; it does not shape the trial", name)
		}
	}
}

func make64(c byte) []byte {
	b := make([]byte, 64)
	for i := range b {
		b[i] = c
	}
	return b
}

// TestResolveImage: each image the steps use is resolved once, the GPU image
// only when train asks for GPUs, and a failure names the field.
func TestResolveImage(t *testing.T) {
	const gpu = `resources: gpus: 1
images: gpu: "r/gpu:1"
`
	for _, tc := range []struct {
		name, src string
		fail      string // the reference the resolver fails on
		asked     []string
		field     string // of the ImageError; "" for none
	}{
		{"step only", ``, "", []string{"ghcr.io/parak8s/parak8s:v0.1.0"}, ""},
		{"gpu unused without gpus", `images: gpu: "r/gpu:1"`, "", []string{"ghcr.io/parak8s/parak8s:v0.1.0"}, ""},
		{"gpu", gpu, "", []string{"ghcr.io/parak8s/parak8s:v0.1.0", "r/gpu:1"}, ""},
		{"step fails", gpu, "ghcr.io/parak8s/parak8s:v0.1.0", []string{"ghcr.io/parak8s/parak8s:v0.1.0"}, "images.step"},
		{"gpu fails", gpu, "r/gpu:1", []string{"ghcr.io/parak8s/parak8s:v0.1.0", "r/gpu:1"}, "images.gpu"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := filepath.Join(t.TempDir(), "exp.cue")
			specs, err := spec.Load(f, spec.Options{Overlay: map[string][]byte{f: []byte(base + tc.src)}})
			if err != nil {
				t.Fatal(err)
			}
			var asked []string
			opts := plan.Options{ResolveImage: func(ref string) (string, error) {
				asked = append(asked, ref)
				if ref == tc.fail {
					return "", errors.New("MANIFEST_UNKNOWN")
				}
				return ref + "@sha256:" + string(make64('c')), nil
			}}
			p, err := plan.Build(specs[0].Experiment, specs[0].Resolved, opts)
			if !slices.Equal(asked, tc.asked) {
				t.Errorf("resolved %q, want %q", asked, tc.asked)
			}
			var ie *plan.ImageError
			switch {
			case tc.field == "" && err != nil:
				t.Fatal(err)
			case tc.field == "":
				if want := tc.asked[len(tc.asked)-1] + "@sha256:" + string(make64('c')); p.TrainImage != want {
					t.Errorf("train image %s, want %s", p.TrainImage, want)
				}
			case !errors.As(err, &ie) || ie.Field != tc.field || ie.Ref != tc.fail:
				t.Errorf("error %v, want an ImageError for %s (%s)", err, tc.field, tc.fail)
			}
		})
	}
}
