package dataset

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"parak8s.dev/parak8s/schema"
)

// Format is the manifest's format tag; readers refuse others.
const Format = "parak8s.dataset.v1"

// Files of a prepared directory.
const (
	FileManifest   = "manifest.json"   // Manifest, written last
	FileSource     = "source.manifest" // digest manifest of the source files
	FileIncomplete = ".incomplete"     // present while Prepare writes
)

// Split names, in their canonical order.
const (
	SplitTrain = "train"
	SplitVal   = "val"
	SplitTest  = "test"
)

// SplitNames returns the split names in canonical order.
func SplitNames() []string { return []string{SplitTrain, SplitVal, SplitTest} }

// Kinds of data sets.
const (
	KindSignal = "signal" // beats from WFDB records or a beat CSV
	KindImage  = "image"  // image folders
)

// Manifest describes a prepared (or raw, opened) data set.
type Manifest struct {
	Format string `json:"format"`
	// Kind is KindSignal or KindImage.
	Kind string `json:"kind"`
	// SourceKind is the layout read: "wfdb", "csv" or "images".
	SourceKind schema.SourceKind `json:"sourceKind"`
	// Source is the source path or reference as given.
	Source string `json:"source"`
	// Digest is runtime/data/digest's digest over exactly the source files
	// used: the dataset digest recorded with every trial.
	Digest string `json:"digest"`
	// DataKey names the data configuration (empty for raw data).
	DataKey string `json:"dataKey,omitempty"`
	// Classes are the class names in label order.
	Classes []string `json:"classes"`
	// Input is the shape of one sample without the RR features: [1, L] for
	// signals, [C, H, W] for images.
	Input []int `json:"input"`
	// Features is the number of RR features that follow the signal in each
	// sample (0 when none).
	Features int `json:"features"`
	// Signal and Image are the preprocessing that made the samples.
	Signal *schema.Signal `json:"signal,omitempty"`
	Image  *schema.Image  `json:"image,omitempty"`
	// Splits maps SplitTrain, SplitVal and SplitTest (those present) to their
	// contents.
	Splits map[string]SplitInfo `json:"splits"`
}

// SplitInfo describes one split.
type SplitInfo struct {
	// N is the number of samples; Counts the number per class.
	N      int   `json:"n"`
	Counts []int `json:"counts"`
	// Records are the WFDB records of the split, in order.
	Records []string `json:"records,omitempty"`
	// File is the split's file (signals) or folder (images), relative to
	// the prepared directory.
	File string `json:"file"`
}

// SampleSize is the number of float32 values of one sample.
func (m Manifest) SampleSize() int {
	n := 1
	for _, d := range m.Input {
		n *= d
	}
	return n + m.Features
}

// SplitNames returns the names of the splits present, in canonical order.
func (m Manifest) SplitNames() []string {
	var out []string
	for _, s := range SplitNames() {
		if _, ok := m.Splits[s]; ok {
			out = append(out, s)
		}
	}
	return out
}

// Summary returns one line describing a split: its size and per-class
// counts, e.g. "train: 1234 samples (N 1000, S 100, V 134)".
func (m Manifest) Summary(split string) string {
	info, ok := m.Splits[split]
	if !ok {
		return split + ": absent"
	}
	parts := make([]string, len(info.Counts))
	for i, c := range info.Counts {
		name := fmt.Sprint(i)
		if i < len(m.Classes) {
			name = m.Classes[i]
		}
		parts[i] = fmt.Sprintf("%s %d", name, c)
	}
	s := fmt.Sprintf("%s: %d samples (%s)", split, info.N, strings.Join(parts, ", "))
	if len(info.Records) > 0 {
		s += fmt.Sprintf(", %d records", len(info.Records))
	}
	return s
}

// check validates a manifest read from disk (or built by Prepare).
func (m Manifest) check() error {
	if m.Format != Format {
		return fmt.Errorf("format %q, want %q", m.Format, Format)
	}
	if m.Kind != KindSignal && m.Kind != KindImage {
		return fmt.Errorf("kind %q, want %q or %q", m.Kind, KindSignal, KindImage)
	}
	if len(m.Classes) < 2 {
		return fmt.Errorf("%d classes, want at least 2", len(m.Classes))
	}
	want := 2
	if m.Kind == KindImage {
		want = 3
	}
	if len(m.Input) != want || slices.ContainsFunc(m.Input, func(d int) bool { return d < 1 }) {
		return fmt.Errorf("input shape %v, want %d positive dimensions", m.Input, want)
	}
	if m.Features < 0 {
		return fmt.Errorf("%d features", m.Features)
	}
	if len(m.Splits) == 0 {
		return errors.New("no splits")
	}
	for name, s := range m.Splits {
		if !slices.Contains(SplitNames(), name) {
			return fmt.Errorf("unknown split %q", name)
		}
		if len(s.Counts) != len(m.Classes) {
			return fmt.Errorf("split %q: %d class counts for %d classes", name, len(s.Counts), len(m.Classes))
		}
		sum := 0
		for _, c := range s.Counts {
			sum += c
		}
		if sum != s.N {
			return fmt.Errorf("split %q: class counts sum to %d, not %d", name, sum, s.N)
		}
		if s.File == "" || filepath.IsAbs(s.File) || strings.Contains(s.File, "..") || strings.ContainsAny(s.File, `/\`) {
			return fmt.Errorf("split %q: bad file name %q", name, s.File)
		}
	}
	return nil
}

// ReadManifest reads and checks the manifest of a prepared directory.
func ReadManifest(dir string) (*Manifest, error) {
	b, err := os.ReadFile(filepath.Join(dir, FileManifest))
	if err != nil {
		return nil, fmt.Errorf("reading data set %s: %w", dir, err)
	}
	var m Manifest
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("reading data set %s: %s: %w", dir, FileManifest, err)
	}
	if err := m.check(); err != nil {
		return nil, fmt.Errorf("reading data set %s: %s: %w", dir, FileManifest, err)
	}
	return &m, nil
}

// State says what a directory holds.
type State int

const (
	// StateEmpty: the directory is absent or empty.
	StateEmpty State = iota
	// StateComplete: a manifest and no incomplete marker.
	StateComplete
	// StatePartial: the marker of a Prepare that did not finish.
	StatePartial
	// StateOther: files that are not a prepared data set.
	StateOther
)

func (s State) String() string {
	switch s {
	case StateEmpty:
		return "empty"
	case StateComplete:
		return "complete"
	case StatePartial:
		return "partial"
	case StateOther:
		return "other"
	}
	return fmt.Sprintf("state(%d)", int(s))
}

// Inspect reports what dir holds. StateComplete only says that Prepare
// finished there; Open checks the contents.
func Inspect(dir string) (State, error) {
	entries, err := os.ReadDir(dir)
	if errors.Is(err, os.ErrNotExist) {
		return StateEmpty, nil
	}
	if err != nil {
		return 0, fmt.Errorf("inspecting %s: %w", dir, err)
	}
	if len(entries) == 0 {
		return StateEmpty, nil
	}
	var manifest bool
	for _, e := range entries {
		switch e.Name() {
		case FileIncomplete:
			return StatePartial, nil
		case FileManifest:
			manifest = true
		}
	}
	if manifest {
		return StateComplete, nil
	}
	return StateOther, nil
}

// Clear removes the contents of a directory left behind by an interrupted
// Prepare (StatePartial), so that Prepare can run there again. It refuses
// any other directory.
func Clear(dir string) error {
	st, err := Inspect(dir)
	if err != nil {
		return err
	}
	if st != StatePartial {
		return fmt.Errorf("clearing %s: it holds no interrupted data set (%s)", dir, st)
	}
	return clearDir(dir)
}

// clearDir removes everything inside dir, the incomplete marker last.
func clearDir(dir string) error {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return fmt.Errorf("clearing %s: %w", dir, err)
	}
	for _, e := range entries {
		if e.Name() == FileIncomplete {
			continue
		}
		if err := os.RemoveAll(filepath.Join(dir, e.Name())); err != nil {
			return fmt.Errorf("clearing %s: %w", dir, err)
		}
	}
	if err := os.Remove(filepath.Join(dir, FileIncomplete)); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("clearing %s: %w", dir, err)
	}
	return nil
}
