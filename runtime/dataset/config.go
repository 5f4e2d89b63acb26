package dataset

import (
	"fmt"
	"slices"

	"parak8s.dev/parak8s/runtime/data/ecg"
	"parak8s.dev/parak8s/runtime/data/images"
	"parak8s.dev/parak8s/schema"
)

// splitSpec is data.split decoded: one of fractions, record lists or
// folders, per split name.
type splitSpec struct {
	by        schema.SplitBy
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
		case schema.SplitByFraction:
			if s.fractions[n] > 0 {
				out = append(out, n)
			}
		case schema.SplitByRecord:
			if len(s.records[n]) > 0 {
				out = append(out, n)
			}
		case schema.SplitByFolder:
			if s.folders[n] != "" {
				out = append(out, n)
			}
		}
	}
	return out
}

// parseSplit decodes data.split with the schema's split rules, the ones
// the compiler checks on every trial (schema.Split.Sets), and returns the
// first broken one, naming its field.
func parseSplit(sp schema.Split) (splitSpec, error) {
	sets, problems := sp.Sets()
	s := splitSpec{by: sets.By, seed: sets.Seed, fractions: sets.Fractions, records: sets.Records, folders: sets.Folders}
	if len(problems) > 0 {
		p := problems[0]
		return s, fmt.Errorf("%s: %s", p.Field(), p.Msg)
	}
	return s, nil
}

// ECGOptions maps data.signal to runtime/data/ecg options.
func ECGOptions(sig *schema.Signal) (ecg.Options, error) {
	if sig == nil {
		return ecg.Options{}, fmt.Errorf("data.signal: missing (signal sources need it)")
	}
	o := ecg.DefaultOptions()
	o.Lead, o.OtherLeads = sig.Lead, sig.OtherLeads
	if o.Lead == "" {
		return o, fmt.Errorf("data.signal.lead: empty")
	}
	if sig.SampleRate < 1 {
		return o, fmt.Errorf("data.signal.sampleRate: %d: want a positive rate in Hz", sig.SampleRate)
	}
	o.Rate = float64(sig.SampleRate)
	switch sig.Recipe {
	case schema.RecipeWindow:
		o.Method = ecg.MethodWindow
	case schema.RecipeKachuee:
		o.Method = ecg.MethodKachuee
	default:
		return o, fmt.Errorf("data.signal.recipe: %q: want \"window\" or \"kachuee\"", sig.Recipe)
	}
	o.Before, o.After = sig.Before, sig.After
	switch sig.Normalize {
	case schema.NormalizeZScore:
		o.Normalize = ecg.NormZScore
	case schema.NormalizeMinMax:
		o.Normalize = ecg.NormMinMax
	case schema.NormalizeNone:
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
	if sig.Labels != schema.LabelsAAMI && sig.Labels != schema.LabelsSymbols {
		return o, fmt.Errorf("data.signal.labels: %q: want %q or %q", sig.Labels, schema.LabelsAAMI, schema.LabelsSymbols)
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

// ViewAugment is the augmentation whose geometry gives the test-time views
// of evaluation.testTimeViews (images.Augment.View): data.image.augment
// with a fixed seed, so the views are the same in every run and trial.
func ViewAugment(exp schema.Experiment) (images.Augment, error) {
	img := exp.Data.Image
	if img == nil || !img.Augment.Enabled {
		return images.Augment{}, fmt.Errorf("evaluation.testTimeViews: %d views need images with data.image.augment", exp.Evaluation.TestTimeViews)
	}
	return augmentOptions(img.Augment, 0)
}
