package ecg

import (
	"fmt"
	"math/rand"

	"parak8s.dev/parak8s/runtime/data/wfdb"
)

// MinRetimeBeats is the fewest supraventricular ectopic beats (and
// normal-class beats) a record needs for Retime to make copies of it.
const MinRetimeBeats = 20

// RetimeLength is the seconds of signal in each copy Retime makes.
const RetimeLength = 600.0

// retimePre and retimePost are the seconds of a complex copied around its
// R peak.
const retimePre, retimePost = 0.25, 0.45

// Rhythm is a kind of rhythm Retime re-times a record into.
type Rhythm int

const (
	// RhythmRuns is a sinus rhythm broken by runs of premature beats,
	// each run ended by a pause.
	RhythmRuns Rhythm = iota
	// RhythmAF is the record's normal beats at the irregular intervals of
	// atrial fibrillation, for contrast: irregularity alone is not ectopy.
	RhythmAF
)

// Retime makes a copy of signal lead of rec in which the record's own
// beats come in a rhythm drawn from r, so that its supraventricular ectopic
// beats are seen in rhythms the record does not have (docs/ecg-model.md).
//
// RhythmRuns is a sinus rhythm broken by runs of premature beats, each run
// ended by a pause. Per copy r draws the sinus interval (0.6-1.6 s), how
// often a run follows a sinus beat (5-100 %), the longest run (1-6 beats),
// the coupling interval (0.45-0.8 of the sinus interval, also the interval
// within a run) and the pauses after runs (1-3.5 sinus intervals, from
// non-compensatory to the long pauses of sinus arrest); every interval
// jitters by 3 %. Sinus beats are copies of the record's commonest
// normal-class symbol, premature beats of its S-class beats or, in 30 % of
// runs when it has MinRetimeBeats of them, its V-class beats. RhythmAF
// holds sinus beats alone, at intervals uniform in 0.5-1.5 times a mean
// interval of 0.5-1 s (0.3 s at least).
//
// Each P-QRS-T complex is copied from 0.25 s before its R peak to 0.45 s
// after (cut short by the next one) and straight lines bridge the gaps;
// the copy is RetimeLength seconds long and named name, its annotations
// carry the copied beats' symbols. ok is false, with no error, when the
// record has fewer than MinRetimeBeats S-class or normal-class beats whose
// complexes fit in the signal.
func Retime(rec *wfdb.Record, anns []wfdb.Annotation, lead int, name string, rhythm Rhythm, r *rand.Rand) (out *wfdb.Record, outAnns []wfdb.Annotation, ok bool, err error) {
	if lead < 0 || lead >= len(rec.Samples) || lead >= len(rec.Header.Signals) {
		return nil, nil, false, fmt.Errorf("re-timing record %q: no signal %d", rec.Header.Record, lead)
	}
	fs := rec.Header.Fs
	if fs <= 0 {
		return nil, nil, false, fmt.Errorf("re-timing record %q: sampling frequency %v", rec.Header.Record, fs)
	}
	sig := rec.Samples[lead]
	a, b := int64(retimePre*fs), int64(retimePost*fs)
	bySymbol := map[string][]int64{}
	var pool [NumClasses][]int64 // S and V beats
	for _, an := range anns {
		c, isBeat := AAMIClass(an.Symbol)
		if !isBeat || an.Sample-a < 0 || an.Sample+b > int64(len(sig)) {
			continue
		}
		bySymbol[an.Symbol] = append(bySymbol[an.Symbol], an.Sample)
		pool[c] = append(pool[c], an.Sample)
	}
	sinus := ""
	for _, s := range []string{"N", "L", "R", "e", "j"} {
		if len(bySymbol[s]) > len(bySymbol[sinus]) {
			sinus = s
		}
	}
	if len(pool[ClassS]) < MinRetimeBeats || len(bySymbol[sinus]) < MinRetimeBeats {
		return nil, nil, false, nil
	}
	annAt := map[int64]wfdb.Annotation{}
	for _, an := range anns {
		annAt[an.Sample] = an
	}

	// The rhythm: beat times in seconds and the pool each beat comes from.
	s := 0.6 + r.Float64()
	runP := 0.05 + 0.95*r.Float64()
	longest := 1 + r.Intn(6)
	coupling := s * (0.45 + 0.35*r.Float64())
	pauseLo := 1 + 1.5*r.Float64()
	pauseHi := pauseLo + r.Float64()
	vRuns := len(pool[ClassV]) >= MinRetimeBeats
	// No interval under 0.3 s: a complex then keeps its QRS.
	jitter := func(d float64) float64 { return max(0.3, d*(1+0.03*r.NormFloat64())) }
	type beat struct {
		t    float64
		from []int64
	}
	var beats []beat
	if rhythm == RhythmAF {
		for t, mean := 1.0, 0.5+0.5*r.Float64(); t < RetimeLength-1; t += max(0.3, mean*(0.5+r.Float64())) {
			beats = append(beats, beat{t, bySymbol[sinus]})
		}
	}
	for t := 1.0; rhythm == RhythmRuns && t < RetimeLength-1; {
		beats = append(beats, beat{t, bySymbol[sinus]})
		if r.Float64() >= runP {
			t += jitter(s)
			continue
		}
		from := pool[ClassS]
		if vRuns && r.Float64() < 0.3 {
			from = pool[ClassV]
		}
		for range 1 + r.Intn(longest) {
			if t += jitter(coupling); t < RetimeLength-1 {
				beats = append(beats, beat{t, from})
			}
		}
		t += jitter(s * (pauseLo + (pauseHi-pauseLo)*r.Float64()))
	}

	n := int64(RetimeLength * fs)
	y := make([]int16, n)
	last, lastV := int64(0), sig[0]
	for i, bt := range beats {
		src := bt.from[r.Intn(len(bt.from))]
		at := int64(bt.t * fs)
		from := at - a
		for k := last; k < from; k++ { // bridge the gap
			f := float64(k-last) / float64(from-last)
			y[k] = int16(float64(lastV)*(1-f) + float64(sig[src-a])*f)
		}
		end := min(at+b, n)
		if i+1 < len(beats) {
			end = min(end, int64(beats[i+1].t*fs)-a)
		}
		copy(y[from:end], sig[src-a:src-a+(end-from)])
		last, lastV = end, y[end-1] // end > from: beats are 0.3 s apart
		outAnns = append(outAnns, wfdb.Annotation{Sample: at, Code: annAt[src].Code, Symbol: annAt[src].Symbol})
	}
	for k := last; k < n; k++ {
		y[k] = lastV
	}
	h := wfdb.Header{Record: name, NumSignals: 1, Fs: fs, NumSamples: n, Signals: []wfdb.Signal{rec.Header.Signals[lead]}}
	return &wfdb.Record{Header: h, Samples: [][]int16{y}}, outAnns, true, nil
}
