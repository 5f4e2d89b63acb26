package images

import (
	"errors"
	"fmt"
	"math"
)

// Filter is the resampling filter used to bring an image to the output size.
type Filter int

const (
	// FilterArea averages the exact source area under each output pixel on a
	// shrinking axis and interpolates bilinearly on a growing one.
	FilterArea Filter = iota
	// FilterBilinear interpolates bilinearly with half-pixel centres.
	FilterBilinear
)

// String returns the filter's name.
func (f Filter) String() string {
	switch f {
	case FilterArea:
		return "area"
	case FilterBilinear:
		return "bilinear"
	}
	return fmt.Sprintf("Filter(%d)", int(f))
}

// Fill says what a geometric augmentation puts where the warped image does
// not reach.
type Fill int

const (
	// FillEdge repeats the nearest edge pixel.
	FillEdge Fill = iota
	// FillZero fills with black (0 before normalisation).
	FillZero
)

// String returns the fill's name.
func (f Fill) String() string {
	switch f {
	case FillEdge:
		return "edge"
	case FillZero:
		return "zero"
	}
	return fmt.Sprintf("Fill(%d)", int(f))
}

// Augment configures training augmentation. The zero value is disabled.
type Augment struct {
	// Enabled turns augmentation on.
	Enabled bool
	// Seed seeds the per-sample generator together with epoch and index.
	Seed uint64
	// Shift is the largest translation, as a fraction of the side, in each
	// direction (0.1 moves by up to ±10%): the random crop/shift.
	Shift float64
	// Zoom draws a scale factor in [1-Zoom, 1+Zoom]; 0 disables.
	Zoom float64
	// Rotate is the largest rotation in degrees, either way.
	Rotate float64
	// Fill chooses what fills the area a warp uncovers.
	Fill Fill
	// HFlip flips horizontally with probability 1/2 when set.
	HFlip bool
	// Brightness is the largest additive change, in [0,1] pixel units.
	Brightness float64
	// Contrast draws a contrast factor in [1-Contrast, 1+Contrast].
	Contrast float64
}

// DefaultAugment returns a mild augmentation suited to small grey medical
// images: ±10% shift, ±10% zoom, ±10°, edge fill, no flip, ±0.1 brightness
// and ±10% contrast. It is enabled.
func DefaultAugment() Augment {
	return Augment{
		Enabled:    true,
		Shift:      0.1,
		Zoom:       0.1,
		Rotate:     10,
		Fill:       FillEdge,
		Brightness: 0.1,
		Contrast:   0.1,
	}
}

// Options configures a Dataset.
type Options struct {
	// Size is the side of the square output, in pixels.
	Size int
	// Channels is 1 (grey) or 3 (RGB).
	Channels int
	// Filter is the resampling filter.
	Filter Filter
	// Mean and Std normalise each channel: (v - Mean[c]) / Std[c], with v in
	// [0,1]. Each holds 1 value (used for every channel) or Channels values.
	Mean, Std []float32
	// Classes, when not empty, lists the class folders to read, in label
	// order; otherwise every non-hidden folder is a class, sorted by name.
	Classes []string
	// MaxPixels refuses images with more pixels than this before decoding.
	MaxPixels int
	// Cache keeps every resized, un-augmented image in memory after its first
	// read (Len × Channels × Size × Size × 4 bytes), so later epochs skip
	// reading, decoding and resizing.
	Cache bool
	// Augment configures training augmentation; disabled when zero.
	Augment Augment
}

// DefaultOptions returns 28×28 grey output, area filter, mean 0.5 and std
// 0.5 (values in [-1,1]), sorted class folders, a 64-megapixel limit, no cache
// and no augmentation.
func DefaultOptions() Options {
	return Options{
		Size:      28,
		Channels:  1,
		Filter:    FilterArea,
		Mean:      []float32{0.5},
		Std:       []float32{0.5},
		MaxPixels: 1 << 26,
	}
}

func finiteNonNeg(name string, v float64) error {
	if math.IsNaN(v) || math.IsInf(v, 0) || v < 0 {
		return fmt.Errorf("%s must be a finite number >= 0, got %v", name, v)
	}
	return nil
}

func (o Options) validate() error {
	var errs []error
	if o.Size < 1 || o.Size > 1<<14 {
		errs = append(errs, fmt.Errorf("size must be in [1, 16384], got %d", o.Size))
	}
	if o.Channels != 1 && o.Channels != 3 {
		errs = append(errs, fmt.Errorf("channels must be 1 or 3, got %d", o.Channels))
	}
	if o.Filter != FilterArea && o.Filter != FilterBilinear {
		errs = append(errs, fmt.Errorf("unknown filter %v", o.Filter))
	}
	for _, p := range []struct {
		name string
		v    []float32
	}{{"mean", o.Mean}, {"std", o.Std}} {
		if len(p.v) != 1 && len(p.v) != o.Channels {
			errs = append(errs, fmt.Errorf("%s must hold 1 or %d values, got %d", p.name, o.Channels, len(p.v)))
		}
		for _, x := range p.v {
			if math.IsNaN(float64(x)) || math.IsInf(float64(x), 0) {
				errs = append(errs, fmt.Errorf("%s must be finite, got %v", p.name, x))
			}
		}
	}
	for _, s := range o.Std {
		if s <= 0 {
			errs = append(errs, fmt.Errorf("std must be > 0, got %v", s))
		}
	}
	if o.MaxPixels < 1 {
		errs = append(errs, fmt.Errorf("max pixels must be >= 1, got %d", o.MaxPixels))
	}
	a := o.Augment
	if a.Fill != FillEdge && a.Fill != FillZero {
		errs = append(errs, fmt.Errorf("unknown augmentation fill %v", a.Fill))
	}
	for _, p := range []struct {
		name string
		v    float64
	}{{"shift", a.Shift}, {"zoom", a.Zoom}, {"rotate", a.Rotate}, {"brightness", a.Brightness}, {"contrast", a.Contrast}} {
		if err := finiteNonNeg("augmentation "+p.name, p.v); err != nil {
			errs = append(errs, err)
		}
	}
	if a.Shift > 1 {
		errs = append(errs, fmt.Errorf("augmentation shift must be <= 1, got %v", a.Shift))
	}
	if a.Zoom >= 1 {
		errs = append(errs, fmt.Errorf("augmentation zoom must be < 1, got %v", a.Zoom))
	}
	if a.Contrast > 1 {
		errs = append(errs, fmt.Errorf("augmentation contrast must be <= 1, got %v", a.Contrast))
	}
	return errors.Join(errs...)
}

// chanValue returns v[c], broadcasting a single value.
func chanValue(v []float32, c int) float32 {
	if len(v) == 1 {
		return v[0]
	}
	return v[c]
}
