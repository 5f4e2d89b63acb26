package ecg

import (
	"errors"
	"fmt"
	"math"
)

// Method says how beat windows are cut.
type Method int

const (
	// MethodWindow cuts a fixed window from Options.Before seconds before
	// to Options.After seconds after each annotated R peak, at Options.Rate.
	MethodWindow Method = iota
	// MethodKachuee follows Kachuee et al. 2018 (arXiv:1805.00794, §III-A);
	// see the package documentation.
	MethodKachuee
)

func (m Method) String() string {
	switch m {
	case MethodWindow:
		return "window"
	case MethodKachuee:
		return "kachuee"
	}
	return fmt.Sprintf("method(%d)", int(m))
}

// Normalization says how each beat window is scaled (MethodWindow only;
// MethodKachuee always scales each 10 s window to [0, 1]).
type Normalization int

const (
	// NormZScore subtracts the beat's mean and divides by its standard
	// deviation (a constant beat becomes all zeros).
	NormZScore Normalization = iota
	// NormMinMax maps the beat's minimum to 0 and maximum to 1 (a constant
	// beat becomes all zeros).
	NormMinMax
	// NormNone keeps physical units (mV).
	NormNone
)

func (n Normalization) String() string {
	switch n {
	case NormZScore:
		return "zscore"
	case NormMinMax:
		return "minmax"
	case NormNone:
		return "none"
	}
	return fmt.Sprintf("normalization(%d)", int(n))
}

// Options configures beat extraction. Start from DefaultOptions or
// KachueeOptions.
type Options struct {
	Lead      string  // signal description to use, e.g. "MLII" (found by name, not position)
	Annotator string  // annotation file extension, e.g. "atr"
	Rate      float64 // output sampling rate in Hz (integer); 0 keeps the record's rate
	Method    Method

	// OtherLeads are read, the first a record has, from a record without
	// Lead.
	OtherLeads []string

	// MethodWindow: the window runs from round(Before·Rate) samples before
	// the R peak to round(After·Rate) samples after it (the R peak is
	// sample round(Before·Rate) of the window). Beats whose window does not
	// fit inside the record are skipped and counted in Stats.SkippedAtEdge.
	Before, After float64
	Normalize     Normalization

	// MethodKachuee: window length in seconds for the [0, 1] scaling and
	// the median RR period, and the zero-padded beat length in samples.
	KachueeWindow float64
	KachueeLength int

	// RR adds RR-interval features to every beat (see Beat.RR); RRWindow
	// is the number of preceding RR intervals in the local average (used by
	// RRRelative too).
	RR       bool
	RRWindow int

	// RRRelative adds NumRRFeatures more features to every beat, after
	// those of RR: its rhythm relative to its own record (see Beat.RR).
	// RRSpan is the number of RR intervals on either side of a beat in the
	// neighbourhood median.
	RRRelative bool
	RRSpan     int

	// RRIrregularity adds one more feature to every beat, after the
	// others: how irregular the rhythm around the beat is (see Beat.RR),
	// over RRSpan intervals on either side.
	RRIrregularity bool

	// RRAverage adds NumAverageFeatures more features to every beat,
	// after those of RRRelative and before RRIrregularity's: the average
	// RR interval around the beat in seconds and the beat's previous,
	// next and local RR over it (see Beat.RR). RRAverageWindow is the
	// length in seconds of the window, centred on the beat, it averages
	// over (de Chazal et al. 2004: 5 minutes).
	RRAverage       bool
	RRAverageWindow float64

	// Template appends a second channel to every beat window: the window
	// minus the record's template, the per-sample median of all the
	// windows cut from that record (its usual beat, found without labels).
	// Beat.Signal then holds the window followed by the difference.
	Template bool
}

// Features returns the number of RR features per beat.
func (o Options) Features() int {
	n := 0
	if o.RR {
		n += NumRRFeatures
	}
	if o.RRRelative {
		n += NumRRFeatures
	}
	if o.RRAverage {
		n += NumAverageFeatures
	}
	if o.RRIrregularity {
		n++
	}
	return n
}

// Channels returns the number of signal channels of a beat: 2 with
// Template, else 1.
func (o Options) Channels() int {
	if o.Template {
		return 2
	}
	return 1
}

// DefaultOptions returns the window method on lead MLII at 125 Hz, 0.25 s
// before to 0.45 s after each R peak (87 samples), z-scored, without RR
// features.
func DefaultOptions() Options {
	return Options{
		Lead:            "MLII",
		Annotator:       "atr",
		Rate:            125,
		Method:          MethodWindow,
		Before:          0.25,
		After:           0.45,
		Normalize:       NormZScore,
		KachueeWindow:   10,
		KachueeLength:   187,
		RRWindow:        10,
		RRSpan:          32,
		RRAverageWindow: 300,
	}
}

// KachueeOptions returns DefaultOptions switched to the Kachuee et al.
// recipe: 125 Hz, 10 s windows scaled to [0, 1], beats of 1.2 median RR
// periods zero-padded to 187 samples (the Kaggle CSV layout).
func KachueeOptions() Options {
	o := DefaultOptions()
	o.Method = MethodKachuee
	return o
}

// Validate reports the first invalid field.
func (o Options) Validate() error {
	switch {
	case o.Lead == "":
		return errors.New("options: empty lead name")
	case o.Annotator == "":
		return errors.New("options: empty annotator")
	case o.Rate < 0 || math.IsNaN(o.Rate) || math.IsInf(o.Rate, 0):
		return fmt.Errorf("options: rate %v: want a non-negative number", o.Rate)
	case (o.RR || o.RRRelative || o.RRIrregularity || o.RRAverage) && o.RRWindow < 1:
		return fmt.Errorf("options: rr window %d: want at least 1", o.RRWindow)
	case (o.RRRelative || o.RRIrregularity) && o.RRSpan < 1:
		return fmt.Errorf("options: rr span %d: want at least 1", o.RRSpan)
	case o.RRAverage && (!(o.RRAverageWindow > 0) || math.IsInf(o.RRAverageWindow, 0)):
		return fmt.Errorf("options: rr average window %v s: want a positive number", o.RRAverageWindow)
	}
	switch o.Method {
	case MethodWindow:
		if !(o.Before >= 0) || !(o.After >= 0) || o.Before+o.After <= 0 || math.IsInf(o.Before+o.After, 0) {
			return fmt.Errorf("options: window %v s before, %v s after: want non-negative, finite, not both zero", o.Before, o.After)
		}
		if o.Normalize < NormZScore || o.Normalize > NormNone {
			return fmt.Errorf("options: unknown %v", o.Normalize)
		}
	case MethodKachuee:
		if !(o.KachueeWindow > 0) || math.IsInf(o.KachueeWindow, 0) {
			return fmt.Errorf("options: kachuee window %v s: want a positive number", o.KachueeWindow)
		}
		if o.KachueeLength < 1 {
			return fmt.Errorf("options: kachuee length %d: want at least 1", o.KachueeLength)
		}
	default:
		return fmt.Errorf("options: unknown %v", o.Method)
	}
	return nil
}
