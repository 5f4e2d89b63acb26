package local

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"

	"parak8s.dev/parak8s/runtime/bundle"
	"parak8s.dev/parak8s/runtime/step"
)

// DefaultWorkDir is the work directory of `parac run`.
const DefaultWorkDir = ".parak8s"

// Names inside a unit's folder.
const (
	DirData        = "data"        // a dataset's prepared data (prepare --out)
	DirModel       = "model"       // train --out
	DirMetrics     = "metrics"     // evaluate --out
	DirOut         = "out"         // track and publish --out: output parameters
	DirCheckpoints = "checkpoints" // train --checkpoints
	DirLogs        = "logs"        // one log file per step kind
	FileDone       = "done"        // the unit's done marker, written last
	FileTrial      = "trial.json"  // TrialInfo, written before the first step
	FileConfig     = "experiment.json"
)

// Layout names the folders of a work directory:
//
//	ROOT/EXPERIMENT/config/experiment.json       the config artifact
//	ROOT/EXPERIMENT/datasets/DATAKEY12/{data,logs,done}
//	ROOT/EXPERIMENT/trials/TRIAL12/{trial.json,model,metrics,out,checkpoints,logs,done}
//
// where DATAKEY12 and TRIAL12 are short ids (step.Short).
type Layout struct {
	Root, Experiment string
}

// Dir is the experiment's folder.
func (l Layout) Dir() string { return filepath.Join(l.Root, l.Experiment) }

// Config is the path of the experiment's resolved config (the compiled
// workflow's config artifact).
func (l Layout) Config() string { return filepath.Join(l.Dir(), "config", FileConfig) }

// Dataset is the folder of the dataset with a data key.
func (l Layout) Dataset(key string) string {
	return filepath.Join(l.Dir(), "datasets", step.Short(key))
}

// Trials is the folder holding the trials' folders.
func (l Layout) Trials() string { return filepath.Join(l.Dir(), "trials") }

// Trial is the folder of the trial with an id.
func (l Layout) Trial(id string) string { return filepath.Join(l.Trials(), step.Short(id)) }

// TrialInfo is what a trial's folder says about the trial (FileTrial).
type TrialInfo struct {
	ID         string          `json:"id"`
	Experiment string          `json:"experiment"`
	DataKey    string          `json:"dataKey"`
	Label      string          `json:"label,omitempty"`
	Overrides  []step.Override `json:"overrides,omitempty"`
}

// ReadTrialInfo reads the trial.json of a trial folder.
func ReadTrialInfo(dir string) (TrialInfo, error) {
	var t TrialInfo
	b, err := os.ReadFile(filepath.Join(dir, FileTrial))
	if err != nil {
		return t, fmt.Errorf("reading trial %s: %w", dir, err)
	}
	if err := json.Unmarshal(b, &t); err != nil {
		return t, fmt.Errorf("reading trial %s: %w", dir, err)
	}
	return t, nil
}

// TrialOutputs are the files a finished trial has (besides its done
// marker): the model's manifest and the evaluation's metrics.
func TrialOutputs(dir string) []string {
	return []string{
		filepath.Join(dir, DirModel, bundle.FileManifest),
		filepath.Join(dir, DirMetrics, bundle.FileMetrics),
	}
}

// Finished reports whether the trial folder holds a finished trial: its
// done marker and outputs are present.
func Finished(dir string) bool {
	return finished(filepath.Join(dir, FileDone), TrialOutputs(dir))
}
