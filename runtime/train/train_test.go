package train

import (
	"context"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"testing"

	"parak8s.dev/parak8s/internal/testenv"
	"parak8s.dev/parak8s/runtime/bundle"
	"parak8s.dev/parak8s/runtime/dataset"
	"parak8s.dev/parak8s/runtime/eval"
	"parak8s.dev/parak8s/runtime/model"
	"parak8s.dev/parak8s/runtime/step"
	"parak8s.dev/parak8s/schema"
)

// ecgExperiment is a small version of the ECG example: a few DS1 records on
// each side of a record split, a narrow network, a few epochs.
func ecgExperiment(mitdb string) schema.Experiment {
	return schema.Experiment{
		Name: "ecg-test",
		Data: schema.Data{
			Source:  schema.Source{Kind: "wfdb", Path: mitdb},
			Classes: []string{"N", "S", "V", "F", "Q"},
			Signal:  &schema.Signal{Lead: "MLII", SampleRate: 125, Recipe: "window", Before: 0.5, After: 0.8, Normalize: "zscore", RRFeatures: true, Labels: "aami"},
			Split: schema.Split{By: "record", Seed: 1,
				Train: []any{"106", "118", "119", "201", "208", "215"}, Val: []any{"209", "223"}},
			Loader: schema.Loader{BatchSize: 64, Workers: 2, Prefetch: 4, Shuffle: true, Seed: 1},
		},
		Model: schema.Model{Kind: "deepcnn1d", Dropout: 0.1, DeepCNN1D: &schema.DeepCNN1D{
			Filters: []int{8, 16, 16}, Kernel: 5, ConvsPerBlock: 1, Pool: 2, BatchNorm: true, GlobalPool: "avg", Hidden: 32}},
		Training: schema.Training{Epochs: 3, Optimizer: schema.Optimizer{Kind: "adam", LR: 3e-3},
			Schedule: schema.Schedule{Kind: "cosine"}, Loss: schema.Loss{Kind: "crossentropy", ClassWeights: "balanced"},
			EarlyStopping: &schema.EarlyStopping{Metric: "f1", Patience: 3}, CheckpointEvery: 5, Seed: 7, Threads: 2},
		Evaluation: schema.Evaluation{Split: "val"},
	}
}

func prepared(t *testing.T, exp schema.Experiment) *dataset.Set {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "data")
	if _, err := dataset.Prepare(context.Background(), exp.Data, dir, dataset.DefaultOptions()); err != nil {
		t.Fatal(err)
	}
	set, err := dataset.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	return set
}

func trial(exp schema.Experiment, set *dataset.Set) Trial {
	return Trial{Resolved: step.Resolved{ID: "t-" + exp.Name, DataKey: "k", Seed: exp.Training.Seed, Experiment: map[string]any{"name": exp.Name}}, Exp: exp, Data: set}
}

func quiet() Options {
	o := DefaultOptions()
	o.Log = nil
	return o
}

// TestECGBeatsChance trains on four records and validates on two others
// (other patients): a real, short run that must beat chance clearly.
func TestECGBeatsChance(t *testing.T) {
	exp := ecgExperiment(testenv.MITDB(t))
	set := prepared(t, exp)
	out := filepath.Join(t.TempDir(), "model")
	m, err := Run(context.Background(), trial(exp, set), out, quiet())
	if err != nil {
		t.Fatal(err)
	}
	// Chance: macro AUC 0.5; the majority class alone gives macro recall 0.2.
	if m.Val[MetricAUC] < 0.75 {
		t.Errorf("val macro AUC %.3f, want >= 0.75 (chance 0.5)", m.Val[MetricAUC])
	}
	if m.Val[MetricRecall] < 0.4 {
		t.Errorf("val macro recall %.3f, want >= 0.4 (majority class: 0.2)", m.Val[MetricRecall])
	}
	checkModelDir(t, out, m)
}

func checkModelDir(t *testing.T, dir string, m *bundle.Manifest) {
	t.Helper()
	got, err := bundle.ReadManifest(dir)
	if err != nil {
		t.Fatal(err)
	}
	if got.Trial != m.Trial || got.Epochs != m.Epochs || got.BestEpoch < 1 || got.BestEpoch > got.Epochs || got.Steps == 0 {
		t.Errorf("manifest %+v", got)
	}
	h, err := bundle.ReadHistory(dir)
	if err != nil || len(h.Epochs) != got.Epochs {
		t.Errorf("history: %d epochs, err %v; manifest says %d", len(h.Epochs), err, got.Epochs)
	}
	for _, f := range []string{bundle.FileWeights, bundle.FileConfig, bundle.FileTraining} {
		if fi, err := os.Stat(filepath.Join(dir, f)); err != nil || fi.Size() == 0 {
			t.Errorf("%s: %v", f, err)
		}
	}
}

// TestPneumoniaBeatsChance trains a narrow ResNet-18 on a slice of the
// PneumoniaMNIST train split (augmentation on) and validates on val.
func TestPneumoniaBeatsChance(t *testing.T) {
	root := testenv.Pneumonia(t)
	src := t.TempDir()
	for split, n := range map[string]int{"train": 300, "val": 120} {
		testenv.CopyImages(t, filepath.Join(root, split), filepath.Join(src, split), n)
	}
	exp := schema.Experiment{
		Name: "pneumonia-test",
		Data: schema.Data{
			Source:  schema.Source{Kind: "images", Path: src},
			Classes: []string{"NORMAL", "PNEUMONIA"},
			Image: &schema.Image{Size: 28, Channels: 1, Mean: []float64{0.5}, Std: []float64{0.25},
				Augment: schema.Augment{Enabled: true, Crop: 1, Rotate: 5, Shift: 0.05, Brightness: 0.1, Contrast: 0.1}},
			Split:  schema.Split{By: "folder", Train: "train", Val: "val"},
			Loader: schema.Loader{BatchSize: 32, Workers: 2, Prefetch: 4, Shuffle: true, Seed: 1},
		},
		Model: schema.Model{Kind: "resnet", Dropout: 0.1, ResNet: &schema.ResNet{Depth: 18, Width: 8, Stem: "small"}},
		Training: schema.Training{Epochs: 3, Optimizer: schema.Optimizer{Kind: "adamw", LR: 3e-3, WeightDecay: 1e-4},
			Schedule: schema.Schedule{Kind: "step", StepEpochs: 2, Gamma: 0.5}, Loss: schema.Loss{Kind: "crossentropy", ClassWeights: "balanced"},
			CheckpointEvery: 100, Seed: 3, Threads: 2, EMA: 0.9},
		Evaluation: schema.Evaluation{Split: "val"},
	}
	set := prepared(t, exp)
	out := filepath.Join(t.TempDir(), "model")
	m, err := Run(context.Background(), trial(exp, set), out, quiet())
	if err != nil {
		t.Fatal(err)
	}
	if m.Val[MetricAUC] < 0.8 {
		t.Errorf("val AUC %.3f, want >= 0.8 (chance 0.5)", m.Val[MetricAUC])
	}
	checkModelDir(t, out, m)
}

// TestResumeContinues stops a run by cancelling its context after a few
// steps, then runs it again with the same checkpoint directory: the second
// run continues from the checkpoint instead of starting over.
func TestResumeContinues(t *testing.T) {
	exp := ecgExperiment(testenv.MITDB(t))
	exp.Training.Epochs = 2
	set := prepared(t, exp)
	ckpt := filepath.Join(t.TempDir(), "ckpt")
	out := filepath.Join(t.TempDir(), "model")
	opts := quiet()
	opts.Checkpoints = ckpt
	opts.StepsPerEpoch = 20

	ctx, cancel := context.WithCancel(context.Background())
	opts.OnStep = func(s int64, _ int, _ float64) {
		if s == 27 {
			cancel()
		}
	}
	if _, err := Run(ctx, trial(exp, set), out, opts); err == nil {
		t.Fatal("a cancelled run returned no error")
	}
	if _, err := os.Stat(filepath.Join(out, bundle.FileManifest)); err == nil {
		t.Fatal("a cancelled run wrote a complete model directory")
	}
	var first int64 = -1
	opts.OnStep = func(s int64, _ int, _ float64) {
		if first < 0 {
			first = s
		}
	}
	m, err := Run(context.Background(), trial(exp, set), out, opts)
	if err != nil {
		t.Fatal(err)
	}
	if first != 28 {
		t.Errorf("the resumed run's first step is %d, want 28", first)
	}
	if m.Steps != 40 || m.Epochs != 2 {
		t.Errorf("resumed run: %d steps over %d epochs, want 40 over 2", m.Steps, m.Epochs)
	}
	// Another trial's checkpoint is not resumed.
	other := trial(exp, set)
	other.Resolved.ID = "another"
	first = -1
	if _, err := Run(context.Background(), other, filepath.Join(t.TempDir(), "m2"), opts); err != nil {
		t.Fatal(err)
	}
	if first != 1 {
		t.Errorf("another trial started at step %d, want 1", first)
	}
}

// TestResumeFinished runs a trial to its end with checkpoints on, then runs
// it again: the checkpoint of the last finished epoch resumes after it, so
// the second run trains nothing and writes the same model.
func TestResumeFinished(t *testing.T) {
	exp := ecgExperiment(testenv.MITDB(t))
	exp.Training.Epochs = 2
	set := prepared(t, exp)
	opts := quiet()
	opts.Checkpoints = filepath.Join(t.TempDir(), "ckpt")
	opts.StepsPerEpoch = 10
	first, err := Run(context.Background(), trial(exp, set), filepath.Join(t.TempDir(), "m1"), opts)
	if err != nil {
		t.Fatal(err)
	}
	steps := 0
	opts.OnStep = func(int64, int, float64) { steps++ }
	again, err := Run(context.Background(), trial(exp, set), filepath.Join(t.TempDir(), "m2"), opts)
	if err != nil {
		t.Fatal(err)
	}
	if steps != 0 || again.Epochs != first.Epochs || again.Steps != first.Steps || again.BestEpoch != first.BestEpoch {
		t.Errorf("rerun of a finished trial: %d new steps, %d epochs, %d steps, best %d; first run %d epochs, %d steps, best %d",
			steps, again.Epochs, again.Steps, again.BestEpoch, first.Epochs, first.Steps, first.BestEpoch)
	}
}

// TestEnsemble trains a model.ensemble of two networks: the model directory
// holds both members' weights, and they are not the same network.
func TestEnsemble(t *testing.T) {
	exp := ecgExperiment(testenv.MITDB(t))
	exp.Training.Epochs = 1
	exp.Model.Ensemble = 2
	set := prepared(t, exp)
	opts := quiet()
	opts.StepsPerEpoch = 10
	out := filepath.Join(t.TempDir(), "model")
	m, err := Run(context.Background(), trial(exp, set), out, opts)
	if err != nil {
		t.Fatal(err)
	}
	checkModelDir(t, out, m)
	w, _, err := bundle.ReadTensors(filepath.Join(out, bundle.FileWeights))
	if err != nil {
		t.Fatal(err)
	}
	byName := map[string][]float32{}
	for _, x := range w {
		byName[x.Name] = x.F32
	}
	a, b := byName["members.0.head.weight"], byName["members.1.head.weight"]
	if a == nil || b == nil || len(byName) != len(w) {
		t.Fatalf("weights %d tensors, members' head %d and %d values", len(w), len(a), len(b))
	}
	if slices.Equal(a, b) {
		t.Error("the two members have the same weights")
	}
}

// TestRefit trains with training.refit: after the selection run, a second
// run on train + val for the chosen epochs is the shipped model; the first
// run's best weights are kept for scoring val. Cancelled during the refit
// and run again, it resumes the refit, not the selection.
func TestRefit(t *testing.T) {
	exp := ecgExperiment(testenv.MITDB(t))
	exp.Training.Epochs = 2
	exp.Training.Refit = true
	set := prepared(t, exp)
	out := filepath.Join(t.TempDir(), "model")
	opts := quiet()
	opts.Checkpoints = filepath.Join(t.TempDir(), "ckpt")
	opts.StepsPerEpoch = 10

	calls := 0
	ctx, cancel := context.WithCancel(context.Background())
	opts.OnStep = func(int64, int, float64) {
		if calls++; calls == 23 { // the refit's third step
			cancel()
		}
	}
	if _, err := Run(ctx, trial(exp, set), out, opts); err == nil {
		t.Fatal("a run cancelled during its refit returned no error")
	}
	var resumed []int64
	opts.OnStep = func(s int64, _ int, _ float64) { resumed = append(resumed, s) }
	m, err := Run(context.Background(), trial(exp, set), out, opts)
	if err != nil {
		t.Fatal(err)
	}
	checkModelDir(t, out, m)
	if m.Refit == nil {
		t.Fatal("manifest has no refit section")
	}
	man := set.Manifest()
	want := bundle.Refit{Splits: []string{"train", "val"}, Samples: man.Splits["train"].N + man.Splits["val"].N, Epochs: m.BestEpoch, Steps: int64(10 * m.BestEpoch)}
	if got := *m.Refit; !slices.Equal(got.Splits, want.Splits) || got.Samples != want.Samples || got.Epochs != want.Epochs || got.Steps != want.Steps {
		t.Errorf("refit %+v, want %+v", got, want)
	}
	if len(resumed) == 0 || resumed[0] != 4 || int64(len(resumed)) != want.Steps-3 {
		t.Errorf("resumed run took steps %v; want the refit's steps 4..%d", resumed, want.Steps)
	}
	h, err := bundle.ReadHistory(out)
	if err != nil || len(h.Refit) != m.BestEpoch || len(h.Epochs) != m.Epochs {
		t.Fatalf("history: %d refit epochs, %d epochs, err %v", len(h.Refit), len(h.Epochs), err)
	}
	for i, e := range h.Refit {
		if e.LR != h.Epochs[i].LR {
			t.Errorf("refit epoch %d: learning rate %g, the selection run's %g", i+1, e.LR, h.Epochs[i].LR)
		}
	}
	shipped, _, err := bundle.ReadTensors(filepath.Join(out, bundle.FileWeights))
	if err != nil {
		t.Fatal(err)
	}
	selection, _, err := bundle.ReadTensors(filepath.Join(out, bundle.FileSelection))
	if err != nil {
		t.Fatal(err)
	}
	if len(shipped) != len(selection) || sameWeights(shipped, selection) {
		t.Errorf("shipped and selection weights: %d and %d tensors, equal %v", len(shipped), len(selection), sameWeights(shipped, selection))
	}
}

// TestAdaptBatchNormValidation validates with model.adaptBatchNorm: the val
// metrics training records are those of the saved model scored record by
// record with adapted statistics, not as one batch of trained statistics.
func TestAdaptBatchNormValidation(t *testing.T) {
	exp := ecgExperiment(testenv.MITDB(t))
	exp.Training.Epochs = 1
	exp.Model.AdaptBatchNorm = 1
	set := prepared(t, exp)
	out := filepath.Join(t.TempDir(), "model")
	opts := quiet()
	opts.StepsPerEpoch = 30
	m, err := Run(context.Background(), trial(exp, set), out, opts)
	if err != nil {
		t.Fatal(err)
	}
	runtime.LockOSThread() // libtorch's grad mode is per OS thread (model's doc)
	defer runtime.UnlockOSThread()
	net, err := model.New(model.Spec{Model: exp.Model, Classes: len(m.Classes), Input: m.Input, Features: m.Features})
	if err != nil {
		t.Fatal(err)
	}
	defer net.Close()
	if _, err := net.Load(filepath.Join(out, bundle.FileWeights), model.LoadOptions{}); err != nil {
		t.Fatal(err)
	}
	val, err := set.Split(dataset.SplitVal, dataset.DefaultSplitOptions())
	if err != nil {
		t.Fatal(err)
	}
	x, y, err := dataset.ReadAll(val)
	if err != nil {
		t.Fatal(err)
	}
	accuracy := func(alpha float64) float64 {
		p, err := net.ProbsByRecord(x, dataset.RecordIDs(val), alpha, 512)
		if err != nil {
			t.Fatal(err)
		}
		rep, err := eval.Compute(eval.Input{Classes: m.Classes, Labels: y, Probs: p}, eval.DefaultOptions())
		if err != nil {
			t.Fatal(err)
		}
		return rep.Accuracy
	}
	if got, plain := accuracy(1), accuracy(0); got != m.Val[MetricAccuracy] || plain == got {
		t.Errorf("recorded val accuracy %v; the saved model scores %v adapted by record, %v unadapted", m.Val[MetricAccuracy], got, plain)
	}
}

func TestSchedule(t *testing.T) {
	for _, tc := range []struct {
		cfg  schema.Schedule
		want []float64 // epochs 0..4 of 5
	}{
		{schema.Schedule{Kind: "none"}, []float64{1, 1, 1, 1, 1}},
		{schema.Schedule{Kind: "step", StepEpochs: 2, Gamma: 0.5}, []float64{1, 1, 0.5, 0.5, 0.25}},
		{schema.Schedule{Kind: "cosine"}, []float64{1, 0.9045, 0.6545, 0.3455, 0.0955}},
		{schema.Schedule{Kind: "cosine", WarmupEpochs: 1, MinLR: 0.2}, []float64{0.5, 1, 0.8828, 0.6, 0.3172}},
	} {
		s := newSchedule(tc.cfg, 1, 5)
		for e, want := range tc.want {
			if got := s.at(e); math.Abs(got-want) > 1e-4 {
				t.Errorf("%+v epoch %d: lr %.4f, want %.4f", tc.cfg, e, got, want)
			}
		}
	}
	p := newSchedule(schema.Schedule{Kind: "plateau", Patience: 2, Gamma: 0.1, MinLR: 0.005}, 1, 10)
	var got []float64
	for _, improved := range []bool{true, false, false, true, false, false, false, false} {
		p.observe(improved)
		got = append(got, p.at(0))
	}
	want := []float64{1, 1, 0.1, 0.1, 0.1, 0.01, 0.01, 0.005}
	for i := range want {
		if math.Abs(got[i]-want[i]) > 1e-12 {
			t.Errorf("plateau: rates %v, want %v", got, want)
			break
		}
	}
}

func TestMonitor(t *testing.T) {
	if _, err := newMonitor("speed", 0); err == nil {
		t.Error("an unknown metric was accepted")
	}
	loss, _ := newMonitor(MetricLoss, 0.01)
	f1, _ := newMonitor(MetricF1, 0)
	for i, tc := range []struct {
		m    *monitor
		v    float64
		want bool
	}{
		{loss, 1, true}, {loss, 0.995, false}, {loss, 0.9, true}, {loss, math.NaN(), false},
		{f1, 0.5, true}, {f1, 0.5, false}, {f1, 0.6, true}, {f1, 0.4, false},
	} {
		if got := tc.m.improved(tc.v); got != tc.want {
			t.Errorf("case %d: improved(%v) = %v", i, tc.v, got)
		}
	}
	if loss.bad != 1 || f1.bad != 1 {
		t.Errorf("bad epochs: loss %d, f1 %d", loss.bad, f1.bad)
	}
}

func TestSummaryBinaryAUC(t *testing.T) {
	r, err := eval.Compute(eval.Input{Classes: []string{"a", "b"}, Labels: []int{0, 1, 1, 0}, Probs: []float32{0.9, 0.1, 0.2, 0.8, 0.4, 0.6, 0.7, 0.3}}, eval.DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	if s := Summary(r); s[MetricAUC] != r.Binary.AUC || s[MetricAccuracy] != 1 {
		t.Errorf("summary %v", s)
	}
}

// sameWeights reports whether a and b hold the same tensors with the same
// values.
func sameWeights(a, b []bundle.Tensor) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i].Name != b[i].Name || !slices.Equal(a[i].F32, b[i].F32) || !slices.Equal(a[i].I64, b[i].I64) {
			return false
		}
	}
	return true
}
