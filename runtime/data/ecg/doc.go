// Package ecg turns WFDB records (package wfdb) and Kaggle-style CSV files
// into labelled heartbeat windows for training: []float32 windows with
// AAMI class labels.
//
// Beats come from the reference annotations: every annotation whose
// symbol has an AAMI class (N: N L R e j · S: A a J S · V: V E · F: F ·
// Q: / f Q) is one beat; other annotations (rhythm changes, noise,
// artifacts, flutter waves) are skipped. The lead is chosen by name
// (Options.Lead, default "MLII"; record 114 stores MLII second) and
// converted to mV.
//
// Resampling (Options.Rate, default 125 Hz from MIT-BIH's 360 Hz) uses a
// linear-phase polyphase FIR filter, the same design as
// scipy.signal.resample_poly's default: a Kaiser-windowed (β = 5) sinc
// low-pass at the lower Nyquist frequency with 10 zero crossings per side;
// see Resampler. R-peak positions map to round(sample·to/from).
//
// Two ways to cut beats (Options.Method):
//
//   - MethodWindow: Before seconds before to After seconds after the R
//     peak, normalised per beat (z-score, min-max or none). Beats too close
//     to the record's ends are skipped and counted.
//   - MethodKachuee, after Kachuee, Fazeli and Sarrafzadeh 2018 ("ECG
//     heartbeat classification: a deep transferable representation",
//     arXiv:1805.00794, §III-A), the recipe behind the Kaggle CSV: the lead
//     at 125 Hz is cut into consecutive 10 s windows, each scaled to
//     [0, 1]; T is the median RR interval of the annotated R peaks inside
//     the window (the record's median when a window holds fewer than two);
//     each beat is the 1.2·T samples starting at its R peak, cut at the
//     window's end and at 187 samples, zero-padded to 187. Deviation from
//     the paper: R peaks are the reference annotations, not the paper's
//     detector (local maxima above 0.9), so every labelled beat is used
//     and the result is deterministic.
//
// Optional RR features (Options.RR; Options.RRRelative, the rhythm
// relative to the beat's own record; Options.RRAverage, the beat's
// intervals over the mean RR of the 5 minutes around it;
// Options.RRIrregularity, how irregular the rhythm around the beat is) are
// described at Beat.RR;
// Options.Template adds a second channel, each window minus the per-sample
// median window of its record. Both use only the record's own beats, never
// labels, so they are computed the same way for a patient never seen. ReadCSV and
// WriteCSV read and write the Kaggle layout (187 samples + label, no
// header). SplitByRecord assigns records (patients) to train/validation
// parts deterministically; Dataset.Subset takes explicit record lists,
// and DS1Records/DS2Records give de Chazal's inter-patient split.
//
// Everything is deterministic: the same inputs and Options give the same
// beats in the same order. There is no package-level mutable state.
package ecg
