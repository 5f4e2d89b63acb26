package train

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"parak8s.dev/parak8s/runtime/bundle"
	"parak8s.dev/parak8s/runtime/model"
)

const (
	fileState = "state.json"
	fileLast  = "last.safetensors"
	fileBest  = "best.safetensors"
)

// state is the loop's position, saved with every checkpoint.
type state struct {
	Trial string `json:"trial"`
	// Epoch is the current epoch (0-based) and Batches the batches of it
	// already trained; Step counts optimizer steps over all epochs.
	Epoch   int   `json:"epoch"`
	Batches int   `json:"batches"`
	Step    int64 `json:"step"`
	// Epoch-level results so far.
	History   bundle.History `json:"history"`
	Best      *float64       `json:"best,omitempty"` // nil until an epoch gave a value
	BestEpoch int            `json:"bestEpoch"`
	Bad       int            `json:"bad"`
	// Plateau schedule state.
	LR         float64 `json:"lr"`
	PlateauBad int     `json:"plateauBad"`
	// Running sums of the current epoch's training loss.
	LossSum float64 `json:"lossSum"`
	LossN   int     `json:"lossN"`
	// Seconds of training before this run (for steps/s over restarts).
	Seconds float64 `json:"seconds"`
}

// saveCheckpoint writes the current weights, the best ones (when any), and
// the state last, so an interrupted save leaves the previous checkpoint
// usable.
func saveCheckpoint(dir string, net *model.Net, best model.Weights, st state) error {
	if dir == "" {
		return nil
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("writing checkpoint: %w", err)
	}
	if err := net.Save(filepath.Join(dir, fileLast), map[string]string{"trial": st.Trial}); err != nil {
		return fmt.Errorf("writing checkpoint: %w", err)
	}
	if best != nil {
		if err := bundle.WriteTensors(filepath.Join(dir, fileBest), best, map[string]string{"trial": st.Trial}); err != nil {
			return fmt.Errorf("writing checkpoint: %w", err)
		}
	}
	b, err := json.MarshalIndent(st, "", "  ")
	if err != nil {
		return fmt.Errorf("writing checkpoint: %w", err)
	}
	return bundle.WriteFile(filepath.Join(dir, fileState), b)
}

// loadCheckpoint restores a checkpoint of the same trial into net and returns
// its state and best weights; ok is false when there is none to resume.
func loadCheckpoint(dir, trial string, net *model.Net) (st state, best model.Weights, ok bool, err error) {
	if dir == "" {
		return state{}, nil, false, nil
	}
	b, err := os.ReadFile(filepath.Join(dir, fileState))
	if errors.Is(err, os.ErrNotExist) {
		return state{}, nil, false, nil
	}
	if err != nil {
		return state{}, nil, false, fmt.Errorf("reading checkpoint: %w", err)
	}
	if err := json.Unmarshal(b, &st); err != nil {
		return state{}, nil, false, fmt.Errorf("reading checkpoint %s: %w", dir, err)
	}
	if st.Trial != trial {
		return state{}, nil, false, nil // another trial's checkpoint: start over
	}
	if _, err := net.Load(filepath.Join(dir, fileLast), model.LoadOptions{}); err != nil {
		return state{}, nil, false, fmt.Errorf("resuming from %s: %w", dir, err)
	}
	if _, err := os.Stat(filepath.Join(dir, fileBest)); err == nil {
		w, _, err := bundle.ReadTensors(filepath.Join(dir, fileBest))
		if err != nil {
			return state{}, nil, false, fmt.Errorf("resuming from %s: %w", dir, err)
		}
		best = w
	}
	return st, best, true, nil
}
