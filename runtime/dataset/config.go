package dataset

import (
	"fmt"
	"math"
	"slices"

	"parak8s.dev/parak8s/runtime/data/ecg"
	"parak8s.dev/parak8s/runtime/data/images"
	"parak8s.dev/parak8s/schema"
)

// Source kinds (data.source.kind).
const (
	SourceWFDB   = "wfdb"
	SourceCSV    = "csv"
	SourceImages = "images"
)

// Split methods (data.split.by).
const (
	ByFraction = "fraction"
	ByRecord   = "record"
	ByFolder   = "folder"
)

// splitSpec is data.split decoded: one of fractions, record lists or
// folders, per split name.
type splitSpec struct {
	by        string
	seed      int
	fractions map[string]float64
	records   map[string][]string
	folders   map[string]string
}

// names returns the splits the spec asks for, in canonical order: fractions
// above zero, non-empty record lists, named folders. Train always comes
// first and is always asked for.
func (s splitSpec) names() []string {
	var out []string
	for _, n := range SplitNames() {
		switch s.by {
		case ByFraction:
			if s.fractions[n] > 0 {
				out = append(out, n)
			}
		case ByRecord:
			if len(s.records[n]) > 0 {
				out = append(out, n)
			}
		case ByFolder:
			if s.folders[n] != "" {
				out = append(out, n)
			}
		}
	}
	return out
}

// parseSplit decodes data.split (values as decoded from JSON: float64,
// []any of strings, string; Go values []string and ints are accepted too).
func parseSplit(sp schema.Split) (splitSpec, error) {
	s := splitSpec{by: sp.By, seed: sp.Seed}
	if s.by == "" {
		s.by = ByFraction
	}
	if sp.Seed < 0 {
		return s, fmt.Errorf("data.split.seed: %d is negative", sp.Seed)
	}
	vals := map[string]any{SplitTrain: sp.Train, SplitVal: sp.Val, SplitTest: sp.Test}
	switch s.by {
	case ByFraction:
		s.fractions = map[string]float64{}
		sum := 0.0
		for _, n := range SplitNames() {
			f, ok := number(vals[n])
			if vals[n] == nil {
				f, ok = 0, true
			}
			if !ok || !(f >= 0 && f <= 1) {
				return s, fmt.Errorf("data.split.%s: %v: want a fraction in [0, 1]", n, vals[n])
			}
			s.fractions[n] = f
			sum += f
		}
		if math.Abs(sum-1) > 1e-9 {
			return s, fmt.Errorf("data.split: fractions sum to %v, want 1", sum)
		}
		if s.fractions[SplitTrain] == 0 {
			return s, fmt.Errorf("data.split.train: fraction 0: the train split would be empty")
		}
	case ByRecord:
		s.records = map[string][]string{}
		seen := map[string]string{}
		for _, n := range SplitNames() {
			l, ok := stringList(vals[n])
			if !ok {
				return s, fmt.Errorf("data.split.%s: %v: want a list of record names", n, vals[n])
			}
			for _, r := range l {
				if r == "" {
					return s, fmt.Errorf("data.split.%s: empty record name", n)
				}
				if prev, dup := seen[r]; dup {
					return s, fmt.Errorf("data.split.%s: record %q is already in data.split.%s", n, r, prev)
				}
				seen[r] = n
			}
			s.records[n] = l
		}
		if len(s.records[SplitTrain]) == 0 {
			return s, fmt.Errorf("data.split.train: no records")
		}
	case ByFolder:
		s.folders = map[string]string{}
		for _, n := range SplitNames() {
			v := vals[n]
			if v == nil {
				continue
			}
			f, ok := v.(string)
			if !ok || f == "" || f == "." || f == ".." || slices.ContainsFunc([]rune(f), func(r rune) bool { return r == '/' || r == '\\' }) {
				return s, fmt.Errorf("data.split.%s: %v: want a folder name", n, v)
			}
			s.folders[n] = f
		}
		if s.folders[SplitTrain] == "" {
			return s, fmt.Errorf("data.split.train: no folder named")
		}
	default:
		return s, fmt.Errorf("data.split.by: %q: want %q, %q or %q", s.by, ByFraction, ByRecord, ByFolder)
	}
	return s, nil
}

func number(v any) (float64, bool) {
	switch t := v.(type) {
	case float64:
		return t, true
	case float32:
		return float64(t), true
	case int:
		return float64(t), true
	case int64:
		return float64(t), true
	}
	return 0, false
}

func stringList(v any) ([]string, bool) {
	switch t := v.(type) {
	case nil:
		return nil, true
	case []string:
		return slices.Clone(t), true
	case []any:
		out := make([]string, len(t))
		for i, e := range t {
			s, ok := e.(string)
			if !ok {
				return nil, false
			}
			out[i] = s
		}
		return out, true
	}
	return nil, false
}

// Label schemes of data.signal.labels.
const (
	LabelsAAMI    = "aami"
	LabelsSymbols = "symbols"
)

// ECGOptions maps data.signal to runtime/data/ecg options.
func ECGOptions(sig *schema.Signal) (ecg.Options, error) {
	if sig == nil {
		return ecg.Options{}, fmt.Errorf("data.signal: missing (signal sources need it)")
	}
	o := ecg.DefaultOptions()
	o.Lead = sig.Lead
	if o.Lead == "" {
		return o, fmt.Errorf("data.signal.lead: empty")
	}
	if sig.SampleRate < 1 {
		return o, fmt.Errorf("data.signal.sampleRate: %d: want a positive rate in Hz", sig.SampleRate)
	}
	o.Rate = float64(sig.SampleRate)
	switch sig.Recipe {
	case "window":
		o.Method = ecg.MethodWindow
	case "kachuee":
		o.Method = ecg.MethodKachuee
	default:
		return o, fmt.Errorf("data.signal.recipe: %q: want \"window\" or \"kachuee\"", sig.Recipe)
	}
	o.Before, o.After = sig.Before, sig.After
	switch sig.Normalize {
	case "zscore":
		o.Normalize = ecg.NormZScore
	case "minmax":
		o.Normalize = ecg.NormMinMax
	case "none":
		o.Normalize = ecg.NormNone
	default:
		return o, fmt.Errorf("data.signal.normalize: %q: want \"zscore\", \"minmax\" or \"none\"", sig.Normalize)
	}
	o.RR = sig.RRFeatures
	o.RRRelative = sig.RRRelative
	o.RRIrregularity = sig.RRIrregularity
	o.RRAverage = sig.RRAverage
	o.Template = sig.RecordTemplate
	if o.Template && sig.Augment.Enabled {
		return o, fmt.Errorf("data.signal.augment.enabled: augmentation cannot be combined with data.signal.recordTemplate")
	}
	if sig.Labels != LabelsAAMI && sig.Labels != LabelsSymbols {
		return o, fmt.Errorf("data.signal.labels: %q: want %q or %q", sig.Labels, LabelsAAMI, LabelsSymbols)
	}
	if err := o.Validate(); err != nil {
		return o, fmt.Errorf("data.signal: %w", err)
	}
	return o, nil
}

// imageOptions maps data.image to runtime/data/images options (without
// augmentation).
func imageOptions(img *schema.Image, classes []string) (images.Options, error) {
	if img == nil {
		return images.Options{}, fmt.Errorf("data.image: missing (image sources need it)")
	}
	o := images.DefaultOptions()
	o.Size, o.Channels = img.Size, img.Channels
	if o.Size < 1 {
		return o, fmt.Errorf("data.image.size: %d: want a positive size", img.Size)
	}
	if o.Channels != 1 && o.Channels != 3 {
		return o, fmt.Errorf("data.image.channels: %d: want 1 or 3", img.Channels)
	}
	if n := len(img.Mean); n != 1 && n != o.Channels {
		return o, fmt.Errorf("data.image.mean: %d values for %d channels", n, o.Channels)
	}
	if n := len(img.Std); n != 1 && n != o.Channels {
		return o, fmt.Errorf("data.image.std: %d values for %d channels", n, o.Channels)
	}
	o.Mean = make([]float32, len(img.Mean))
	for i, v := range img.Mean {
		o.Mean[i] = float32(v)
	}
	o.Std = make([]float32, len(img.Std))
	for i, v := range img.Std {
		if !(v > 0) {
			return o, fmt.Errorf("data.image.std[%d]: %v: want a positive number", i, v)
		}
		o.Std[i] = float32(v)
	}
	o.Classes = slices.Clone(classes)
	o.Cache = true
	return o, nil
}

// augmentOptions maps data.image.augment to the images package's
// augmentation. crop (the smallest random-crop scale) becomes a zoom range
// of ±(1-crop); the warp fills uncovered pixels from the nearest edge.
func augmentOptions(a schema.Augment, seed uint64) (images.Augment, error) {
	if !a.Enabled {
		return images.Augment{}, nil
	}
	if !(a.Crop > 0 && a.Crop <= 1) {
		return images.Augment{}, fmt.Errorf("data.image.augment.crop: %v: want a scale in (0, 1]", a.Crop)
	}
	return images.Augment{
		Enabled:    true,
		Seed:       seed,
		Shift:      a.Shift,
		Zoom:       1 - a.Crop,
		Rotate:     a.Rotate,
		Fill:       images.FillEdge,
		HFlip:      a.Flip,
		Brightness: a.Brightness,
		Contrast:   a.Contrast,
	}, nil
}
