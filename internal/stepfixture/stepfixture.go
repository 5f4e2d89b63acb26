// Package stepfixture writes test fixtures for the steps after train: a
// model directory and a metrics directory in the formats of runtime/bundle,
// as train and evaluate write them, built from made-up predictions with the
// real metric and plot code. Only tests import it.
package stepfixture

import (
	"os"
	"path/filepath"
	"strings"
	"time"

	"parak8s.dev/parak8s/runtime/bundle"
	"parak8s.dev/parak8s/runtime/eval"
)

// Created is the model's creation time in every fixture.
func Created() time.Time { return time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC) }

// Model describes a model directory to write.
type Model struct {
	Trial      string         // manifest trial ("" : not checked)
	Experiment string         // manifest experiment
	Classes    []string       // class names
	Config     map[string]any // config.json (nil: {})
	Epochs     int            // epochs of history
	Weights    int            // bytes of weights.safetensors
	Created    time.Time      // the model's creation (zero: Created)
	Scale      float64        // multiplies the losses of the history (0: 1)
}

// WriteModel writes a model directory: model.json, config.json,
// weights.safetensors (made-up bytes), history.json and training.svg.
func WriteModel(dir string, m Model) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	h := bundle.History{}
	scale := m.Scale
	if scale == 0 {
		scale = 1
	}
	created := m.Created
	if created.IsZero() {
		created = Created()
	}
	for i := 1; i <= m.Epochs; i++ {
		f := float64(i)
		h.Epochs = append(h.Epochs, bundle.Epoch{
			Epoch: i, Steps: int64(100 * i), LR: 1e-3 / f, TrainLoss: scale / f, ValLoss: scale*1.2/f + 0.05,
			Val:     map[string]float64{"loss": 1.2/f + 0.05, "accuracy": 0.6 + 0.1*f, "f1": 0.55 + 0.1*f, "auc": 0.7 + 0.05*f},
			Seconds: 1.5 + f/4,
		})
	}
	best := m.Epochs
	man := bundle.Manifest{
		Format: bundle.Format, Trial: m.Trial, Experiment: m.Experiment, Kind: "deepcnn1d",
		Classes: m.Classes, Input: []int{1, 187}, Features: 4, DataKey: strings.Repeat("d", 64), Dataset: "unpinned:/data/mitdb",
		Seed: 7, Epochs: m.Epochs, BestEpoch: best, Monitor: "f1", Steps: int64(100 * m.Epochs), StepsPerSecond: 40,
		Threads: 1, Libtorch: "2.1.2", Created: created,
	}
	if best > 0 {
		man.Val = h.Epochs[best-1].Val
	}
	cfg := m.Config
	if cfg == nil {
		cfg = map[string]any{}
	}
	w := make([]byte, m.Weights)
	for i := range w {
		w[i] = byte(i*31 + i/251)
	}
	var series []eval.Series
	for _, name := range []string{"train_loss", "val_loss"} {
		s := eval.Series{Name: name}
		for _, e := range h.Epochs {
			s.Values = append(s.Values, map[string]float64{"train_loss": e.TrainLoss, "val_loss": e.ValLoss}[name])
		}
		series = append(series, s)
	}
	img, err := eval.PlotTraining(series, eval.DefaultPlotOptions())
	if err != nil {
		return err
	}
	for _, err := range []error{
		bundle.WriteJSON(filepath.Join(dir, bundle.FileManifest), man),
		bundle.WriteJSON(filepath.Join(dir, bundle.FileConfig), cfg),
		bundle.WriteFile(filepath.Join(dir, bundle.FileWeights), w),
		bundle.WriteJSON(filepath.Join(dir, bundle.FileHistory), h),
		eval.WriteSVG(filepath.Join(dir, bundle.FileTraining), img),
	} {
		if err != nil {
			return err
		}
	}
	return nil
}

// Predictions makes n labelled samples of k classes; every wrongEvery-th
// sample (0: none) is predicted as the next class.
func Predictions(classes []string, n, wrongEvery int) eval.Input {
	k := len(classes)
	in := eval.Input{Classes: classes}
	for i := 0; i < n; i++ {
		label := i % k
		pred := label
		if wrongEvery > 0 && i%wrongEvery == 0 {
			pred = (label + 1) % k
		}
		in.Labels = append(in.Labels, label)
		conf := 0.55 + 0.4*float64((i*7)%10)/10
		for c := 0; c < k; c++ {
			p := (1 - conf) / float64(k-1)
			if c == pred {
				p = conf
			}
			in.Probs = append(in.Probs, float32(p))
		}
	}
	return in
}

// WriteMetrics writes a metrics directory: metrics.json (eval.Report),
// roc.svg and confusion.svg.
func WriteMetrics(dir string, in eval.Input) (*eval.Report, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	r, err := eval.Compute(in, eval.DefaultOptions())
	if err != nil {
		return nil, err
	}
	curves, err := eval.ROCCurves(in, eval.DefaultOptions())
	if err != nil {
		return nil, err
	}
	roc, err := eval.PlotROC(curves, eval.DefaultPlotOptions())
	if err != nil {
		return nil, err
	}
	conf, err := eval.PlotConfusion(r.Confusion, eval.DefaultPlotOptions())
	if err != nil {
		return nil, err
	}
	for _, err := range []error{
		r.Write(filepath.Join(dir, bundle.FileMetrics)),
		eval.WriteSVG(filepath.Join(dir, bundle.FileROC), roc),
		eval.WriteSVG(filepath.Join(dir, bundle.FileConfusion), conf),
	} {
		if err != nil {
			return nil, err
		}
	}
	return r, nil
}

// ECG are the five AAMI classes of the ECG examples.
func ECG() []string { return []string{"N", "S", "V", "F", "Q"} }

// Pneumonia are the two classes of the pneumonia examples.
func Pneumonia() []string { return []string{"NORMAL", "PNEUMONIA"} }

// Named returns a named set of predictions: good, poor, binary or silent.
func Named(name string) (eval.Input, bool) {
	switch name {
	case "good": // 5 classes, macro F1 0.9
		return Predictions(ECG(), 50, 10), true
	case "poor": // 5 classes, macro F1 0.5
		return Predictions(ECG(), 50, 2), true
	case "binary": // 2 classes, one in eight wrong
		return Predictions(Pneumonia(), 40, 8), true
	case "silent": // 2 classes, the positive class never predicted
		in := Predictions(Pneumonia(), 10, 0)
		for i := range in.Labels {
			in.Probs[2*i], in.Probs[2*i+1] = 0.9, 0.1
		}
		return in, true
	}
	return eval.Input{}, false
}
