package bundle

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"parak8s.dev/parak8s/runtime/step"
)

// Files of a model directory.
const (
	FileManifest = "model.json"          // Manifest
	FileConfig   = "config.json"         // the trial's resolved experiment (generic JSON)
	FileWeights  = "weights.safetensors" // the network's parameters and buffers
	FileHistory  = "history.json"        // History, one entry per finished epoch
	FileTraining = "training.svg"        // training curves
	// FileSelection holds the first run's best weights when the model was
	// refit on train + val (training.refit): what scores the val split.
	FileSelection = "selection.safetensors"
)

// Files of a metrics directory (the output of evaluate).
const (
	FileMetrics   = "metrics.json"    // eval.Report
	FileROC       = "roc.svg"         // ROC curves
	FileConfusion = "confusion.svg"   // confusion matrix
	FilePredict   = "predictions.csv" // per-sample label and scores
)

// Format is the manifest's format tag; readers refuse others.
const Format = "parak8s.model.v1"

// Manifest describes a trained model.
type Manifest struct {
	Format     string `json:"format"`
	Trial      string `json:"trial"`
	Experiment string `json:"experiment"`
	// Kind is the model kind ("deepcnn1d", "resnet").
	Kind string `json:"kind"`
	// Classes are the class names in output order.
	Classes []string `json:"classes"`
	// Input is the shape of one sample without the batch dimension
	// ([channels, length] or [channels, height, width]); Features is the
	// number of extra features (RR intervals) that follow the signal.
	Input    []int `json:"input"`
	Features int   `json:"features,omitempty"`
	// DataKey names the prepared data set; Dataset is the source digest.
	DataKey string `json:"dataKey"`
	Dataset string `json:"dataset"`
	Image   string `json:"image,omitempty"`
	Seed    int64  `json:"seed"`
	// Overrides are the trial's swept values.
	Overrides []step.Override `json:"overrides,omitempty"`
	// Epochs trained, the epoch whose weights were kept, the metric that
	// chose it, and the validation metrics of that epoch.
	Epochs    int                `json:"epochs"`
	BestEpoch int                `json:"bestEpoch"`
	Monitor   string             `json:"monitor"`
	Val       map[string]float64 `json:"val"`
	// Refit, when set, says the weights are those of a second run on train
	// and val (training.refit); everything above describes the first run.
	Refit *Refit `json:"refit,omitempty"`
	// Steps is the number of optimizer steps taken; StepsPerSecond their rate.
	Steps          int64     `json:"steps"`
	StepsPerSecond float64   `json:"stepsPerSecond"`
	Threads        int       `json:"threads"`
	Libtorch       string    `json:"libtorch"`
	Created        time.Time `json:"created"`
}

// Refit describes the second run of a refit model.
type Refit struct {
	// Splits trained on, the number of samples they hold, and the epochs and
	// optimizer steps taken.
	Splits  []string `json:"splits"`
	Samples int      `json:"samples"`
	Epochs  int      `json:"epochs"`
	Steps   int64    `json:"steps"`
}

// Epoch is one finished epoch.
type Epoch struct {
	Epoch     int                `json:"epoch"`
	Steps     int64              `json:"steps"`
	LR        float64            `json:"lr"`
	TrainLoss float64            `json:"trainLoss"`
	ValLoss   float64            `json:"valLoss"`
	Val       map[string]float64 `json:"val"`
	Seconds   float64            `json:"seconds"`
}

// History is the training history of a model.
type History struct {
	Epochs []Epoch `json:"epochs"`
	// Refit are the epochs of the refit run (training.refit): no val metrics.
	Refit []Epoch `json:"refit,omitempty"`
}

// ReadManifest reads and checks the manifest of a model directory.
func ReadManifest(dir string) (Manifest, error) {
	var m Manifest
	if err := readJSON(filepath.Join(dir, FileManifest), &m); err != nil {
		return Manifest{}, fmt.Errorf("reading model %s: %w", dir, err)
	}
	if m.Format != Format {
		return Manifest{}, fmt.Errorf("reading model %s: format %q, want %q", dir, m.Format, Format)
	}
	if len(m.Classes) < 2 || len(m.Input) < 2 {
		return Manifest{}, fmt.Errorf("reading model %s: manifest lacks classes or input shape", dir)
	}
	return m, nil
}

// ReadConfig reads the resolved experiment a model was trained with.
func ReadConfig(dir string) (map[string]any, error) {
	m, err := step.ReadExperiment(filepath.Join(dir, FileConfig))
	if err != nil {
		return nil, fmt.Errorf("reading model %s: %w", dir, err)
	}
	return m, nil
}

// ReadHistory reads a model's training history; a missing file is an empty
// history.
func ReadHistory(dir string) (History, error) {
	var h History
	err := readJSON(filepath.Join(dir, FileHistory), &h)
	if errors.Is(err, os.ErrNotExist) {
		return History{}, nil
	}
	if err != nil {
		return History{}, fmt.Errorf("reading model %s: %w", dir, err)
	}
	return h, nil
}

// WriteJSON writes v as indented JSON through a temporary file and a rename,
// so a reader never sees half a file.
func WriteJSON(path string, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	return WriteFile(path, append(b, '\n'))
}

// WriteFile writes b to path atomically (temporary file, fsync, rename).
func WriteFile(path string, b []byte) error {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	_, err = f.Write(b)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Chmod(f.Name(), 0o644)
	}
	if err == nil {
		err = os.Rename(f.Name(), path)
	}
	if err != nil {
		os.Remove(f.Name())
		return fmt.Errorf("writing %s: %w", path, err)
	}
	return nil
}

func readJSON(path string, v any) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(b, v); err != nil {
		return fmt.Errorf("%s: %w", filepath.Base(path), err)
	}
	return nil
}
