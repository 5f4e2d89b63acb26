package ecg

import (
	"fmt"
	"math"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"

	"parak8s.dev/parak8s/runtime/data/wfdb"
)

// Beat is one labelled heartbeat.
type Beat struct {
	Record string // record name; "" for beats read from CSV
	// Sample is the annotated R peak at the record's own rate (MIT-BIH:
	// 360 Hz); for beats read from CSV it is the 1-based line number.
	Sample int64
	Class  int    // AAMI class, index into Dataset.Classes
	Symbol string // the WFDB annotation symbol ("N", "V", …); "" for CSV beats
	// Signal is the beat window; with Options.Template it is followed by
	// the window minus the record's template (same length).
	Signal []float32
	// RR holds, when Options.RR is set, in seconds: previous RR, next RR,
	// local average RR (mean of up to Options.RRWindow preceding RR
	// intervals, the previous one included), previous/local and
	// next/local (the last two are ratios, unitless). The first beat of a
	// record uses its next RR as previous RR and local average, the last
	// beat its previous RR as next RR; a record with a single beat gets
	// zeros.
	//
	// With Options.RRRelative, NumRRFeatures more follow (after the above
	// when Options.RR is set too), each the natural log of a ratio, so 0
	// for a beat in its record's usual rhythm: previous, next and local
	// average RR over the record's median RR; next over previous RR (a
	// compensatory pause); previous RR over the median of the
	// Options.RRSpan intervals on either side (prematurity against the
	// neighbourhood, which runs of ectopic beats do not hide). Intervals
	// are floored at one sample.
	//
	// With Options.RRAverage, NumAverageFeatures more follow (de Chazal
	// et al. 2004; Lin and Yang 2014): the average RR interval in seconds,
	// the mean of the intervals that lie inside the Options.RRAverageWindow
	// seconds centred on the beat (the record's mean for a record shorter
	// than that), then previous, next and local average RR over it. Unlike
	// the median of RRRelative, the mean counts long pauses and fast runs,
	// so a record whose beats are mostly premature ones still has an
	// average longer than their intervals.
	//
	// With Options.RRIrregularity, one more follows: the natural log of
	// 0.01 plus the median absolute log ratio of successive previous-RR
	// intervals among the Options.RRSpan on either side of the beat,
	// leaving out the two that involve the beat's own intervals (about
	// -3.3 in a regular sinus rhythm, -1.3 in atrial fibrillation). A
	// premature beat in a regular rhythm (a supraventricular ectopic) is
	// then told apart from the normal beats of an irregular one.
	RR []float32
}

// NumRRFeatures is the number of features per beat of Options.RR (and of
// Options.RRRelative).
const NumRRFeatures = 5

// NumAverageFeatures is the number of Options.RRAverage features per beat.
const NumAverageFeatures = 4

// Dataset is a list of beats with the class names their labels index.
type Dataset struct {
	Classes []string // AAMIClasses()
	Rate    float64  // sampling rate of Beat.Signal in Hz
	Beats   []Beat
}

// Counts returns the number of beats per class.
func (d *Dataset) Counts() []int {
	c := make([]int, len(d.Classes))
	for _, b := range d.Beats {
		if b.Class >= 0 && b.Class < len(c) {
			c[b.Class]++
		}
	}
	return c
}

// Subset returns the beats of the named records, in the dataset's order
// (the beats are shared, not copied).
func (d *Dataset) Subset(records []string) *Dataset {
	out := &Dataset{Classes: d.Classes, Rate: d.Rate}
	for _, b := range d.Beats {
		if slices.Contains(records, b.Record) {
			out.Beats = append(out.Beats, b)
		}
	}
	return out
}

// Stats counts what Extract did with a record's annotations.
type Stats struct {
	Annotations   int             // annotations read
	Candidates    int             // annotations with an AAMI class
	SkippedAtEdge int             // candidates outside the signal or whose window did not fit in it
	Beats         [NumClasses]int // beats returned, per class
}

// Extract cuts the beats of one record. anns are the record's
// annotations (any order is accepted; they are sorted by sample).
func Extract(rec *wfdb.Record, anns []wfdb.Annotation, opt Options) ([]Beat, Stats, error) {
	var st Stats
	name := rec.Header.Record
	if err := opt.Validate(); err != nil {
		return nil, st, fmt.Errorf("extracting beats of record %q: %w", name, err)
	}
	lead := rec.Header.SignalIndex(opt.Lead)
	for _, l := range opt.OtherLeads {
		if lead >= 0 {
			break
		}
		lead = rec.Header.SignalIndex(l)
	}
	if lead < 0 {
		var have []string
		for _, s := range rec.Header.Signals {
			have = append(have, s.Description)
		}
		want := strconv.Quote(opt.Lead)
		for _, l := range opt.OtherLeads {
			want += " or " + strconv.Quote(l)
		}
		return nil, st, fmt.Errorf("extracting beats of record %q: no signal %s (signals: %s)", name, want, strings.Join(have, ", "))
	}
	x, err := rec.Physical(lead)
	if err != nil {
		return nil, st, fmt.Errorf("extracting beats: %w", err)
	}
	fs := rec.Header.Fs
	rate := opt.Rate
	if rate == 0 {
		rate = fs
	}
	pos := func(s int64) int64 { return s }
	if rate != fs {
		rs, err := NewResampler(fs, rate)
		if err != nil {
			return nil, st, fmt.Errorf("extracting beats of record %q: %w", name, err)
		}
		x = rs.Resample(x)
		pos = rs.Position
	}

	st.Annotations = len(anns)
	type cand struct {
		sample int64
		class  int
		symbol string
	}
	var cands []cand
	for _, a := range anns {
		if c, ok := AAMIClass(a.Symbol); ok {
			cands = append(cands, cand{a.Sample, c, a.Symbol})
		}
	}
	slices.SortStableFunc(cands, func(a, b cand) int {
		switch {
		case a.sample < b.sample:
			return -1
		case a.sample > b.sample:
			return 1
		}
		return 0
	})
	st.Candidates = len(cands)
	samples := make([]int64, len(cands))
	for i, c := range cands {
		samples[i] = c.sample
	}
	var rr, rel [][NumRRFeatures]float32
	var irr []float32
	var avg [][NumAverageFeatures]float32
	if opt.Features() > 0 {
		rr = rrFeatures(samples, fs, opt.RRWindow)
	}
	if opt.RRRelative {
		rel = relativeRR(rr, opt.RRSpan, 1/fs)
	}
	if opt.RRAverage {
		avg = averageRR(samples, rr, fs, opt.RRAverageWindow)
	}
	if opt.RRIrregularity {
		irr = irregularity(rr, opt.RRSpan, 1/fs)
	}

	var cutter func(c int64) ([]float32, bool)
	switch opt.Method {
	case MethodWindow:
		nb := int64(math.Round(opt.Before * rate))
		na := int64(math.Round(opt.After * rate))
		cutter = func(c int64) ([]float32, bool) {
			lo, hi := c-nb, c+na
			if lo < 0 || hi > int64(len(x)) {
				return nil, false
			}
			w := append([]float32(nil), x[lo:hi]...)
			normalize(w, opt.Normalize)
			return w, true
		}
	case MethodKachuee:
		k := newKachuee(x, rate, opt, mapAll(samples, pos))
		cutter = k.cut
	}

	beats := make([]Beat, 0, len(cands))
	nIn := int64(len(rec.Samples[lead]))
	for i, c := range cands {
		if c.sample < 0 || c.sample >= nIn { // outside the signal
			st.SkippedAtEdge++
			continue
		}
		w, ok := cutter(pos(c.sample))
		if !ok {
			st.SkippedAtEdge++
			continue
		}
		b := Beat{Record: name, Sample: c.sample, Class: c.class, Symbol: c.symbol, Signal: w}
		if opt.RR {
			b.RR = append(b.RR, rr[i][:]...)
		}
		if opt.RRRelative {
			b.RR = append(b.RR, rel[i][:]...)
		}
		if opt.RRAverage {
			b.RR = append(b.RR, avg[i][:]...)
		}
		if opt.RRIrregularity {
			b.RR = append(b.RR, irr[i])
		}
		st.Beats[c.class]++
		beats = append(beats, b)
	}
	if opt.Template {
		addTemplateChannel(beats)
	}
	return beats, st, nil
}

// addTemplateChannel appends to every beat's window its difference from
// the per-sample median of all the windows (which have one length).
func addTemplateChannel(beats []Beat) {
	if len(beats) == 0 {
		return
	}
	n := len(beats[0].Signal)
	tmpl := make([]float32, n)
	col := make([]float32, len(beats))
	for j := range n {
		for i, b := range beats {
			col[i] = b.Signal[j]
		}
		tmpl[j] = float32(median(col))
	}
	for i := range beats {
		w := beats[i].Signal
		s := make([]float32, 2*n)
		copy(s, w)
		for j, v := range w {
			s[n+j] = v - tmpl[j]
		}
		beats[i].Signal = s
	}
}

func mapAll(s []int64, f func(int64) int64) []int64 {
	out := make([]int64, len(s))
	for i, v := range s {
		out[i] = f(v)
	}
	return out
}

func normalize(w []float32, n Normalization) {
	if len(w) == 0 {
		return
	}
	switch n {
	case NormZScore:
		var sum float64
		for _, v := range w {
			sum += float64(v)
		}
		mean := sum / float64(len(w))
		var ss float64
		for _, v := range w {
			d := float64(v) - mean
			ss += d * d
		}
		sd := math.Sqrt(ss / float64(len(w)))
		if sd == 0 {
			sd = 1
		}
		for i, v := range w {
			w[i] = float32((float64(v) - mean) / sd)
		}
	case NormMinMax:
		minMax(w)
	}
}

// minMax scales w to [0, 1] in place; a constant w becomes zeros.
func minMax(w []float32) {
	if len(w) == 0 {
		return
	}
	lo, hi := w[0], w[0]
	for _, v := range w {
		lo = min(lo, v)
		hi = max(hi, v)
	}
	r := hi - lo
	for i, v := range w {
		if r == 0 {
			w[i] = 0
		} else {
			w[i] = (v - lo) / r
		}
	}
}

// rrFeatures computes Beat.RR for beats at the given sorted samples.
func rrFeatures(samples []int64, fs float64, window int) [][NumRRFeatures]float32 {
	n := len(samples)
	out := make([][NumRRFeatures]float32, n)
	if n < 2 {
		return out
	}
	iv := make([]float64, n-1) // iv[i] = interval between beat i and i+1, seconds
	for i := range iv {
		iv[i] = float64(samples[i+1]-samples[i]) / fs
	}
	for i := range n {
		var pre, post, local float64
		if i > 0 {
			pre = iv[i-1]
		}
		if i < n-1 {
			post = iv[i]
		}
		if i == 0 {
			pre = post
			local = post
		} else {
			lo := max(0, i-window)
			var s float64
			for _, v := range iv[lo:i] {
				s += v
			}
			local = s / float64(i-lo)
		}
		if i == n-1 {
			post = pre
		}
		var rpre, rpost float64
		if local != 0 {
			rpre, rpost = pre/local, post/local
		}
		out[i] = [NumRRFeatures]float32{float32(pre), float32(post), float32(local), float32(rpre), float32(rpost)}
	}
	return out
}

// relativeRR computes the Options.RRRelative features from the rrFeatures
// of a record's beats; intervals are floored at floor seconds.
func relativeRR(rr [][NumRRFeatures]float32, span int, floor float64) [][NumRRFeatures]float32 {
	out := make([][NumRRFeatures]float32, len(rr))
	if len(rr) < 2 {
		return out
	}
	pre := make([]float64, len(rr))
	for i, f := range rr {
		pre[i] = max(float64(f[0]), floor)
	}
	rec := median(pre)
	lr := func(a, b float64) float32 { return float32(math.Log(max(a, floor) / max(b, floor))) }
	buf := make([]float64, 0, 2*span)
	for i, f := range rr {
		buf = around(buf, pre, i, 1, span)
		near := median(buf)
		post, local := float64(f[1]), float64(f[2])
		out[i] = [NumRRFeatures]float32{lr(pre[i], rec), lr(post, rec), lr(local, rec), lr(post, pre[i]), lr(pre[i], near)}
	}
	return out
}

// averageRR computes the Options.RRAverage features of beats at the given
// sorted samples from their rrFeatures: interval i (between beats i and
// i+1) counts for beat k when both its ends lie within window/2 seconds of
// beat k (when none does, the interval before the beat, or after the
// first beat, stands in). The mean is floored at one sample.
func averageRR(samples []int64, rr [][NumRRFeatures]float32, fs, window float64) [][NumAverageFeatures]float32 {
	n := len(samples)
	out := make([][NumAverageFeatures]float32, n)
	if n < 2 {
		return out
	}
	half := int64(math.Round(window / 2 * fs))
	// sum[i] = total length of intervals 0..i-1 in samples.
	sum := make([]int64, n)
	for i := 1; i < n; i++ {
		sum[i] = sum[i-1] + samples[i] - samples[i-1]
	}
	lo, hi := 0, 0 // first and last beat inside the window
	for k := range n {
		for samples[k]-samples[lo] > half {
			lo++
		}
		for hi+1 < n && samples[hi+1]-samples[k] <= half {
			hi++
		}
		a, b := lo, hi
		if a == b { // no interval inside the window: the one before the beat
			a, b = max(0, k-1), max(1, k)
		}
		mean := max(float64(sum[b]-sum[a])/float64(b-a), 1) / fs
		r := rr[k]
		out[k] = [NumAverageFeatures]float32{float32(mean), float32(float64(r[0]) / mean), float32(float64(r[1]) / mean), float32(float64(r[2]) / mean)}
	}
	return out
}

// irregularity computes the Options.RRIrregularity feature from the
// rrFeatures of a record's beats; intervals are floored at floor seconds.
func irregularity(rr [][NumRRFeatures]float32, span int, floor float64) []float32 {
	out := make([]float32, len(rr))
	if len(rr) < 2 {
		return out
	}
	// step[j]: |log| of beat j's previous interval over beat j-1's; beat
	// i's own intervals take part in step[i] and step[i+1].
	step := make([]float64, len(rr))
	for j := 1; j < len(rr); j++ {
		step[j] = math.Abs(math.Log(max(float64(rr[j][0]), floor) / max(float64(rr[j-1][0]), floor)))
	}
	buf := make([]float64, 0, 2*span)
	for i := range rr {
		buf = around(buf, step, i, 2, span)
		out[i] = float32(math.Log(0.01 + median(buf)))
	}
	return out
}

// around refills buf with the span values of v before index i and the span
// values after v[i:i+gap], which it leaves out.
func around(buf, v []float64, i, gap, span int) []float64 {
	buf = append(buf[:0], v[max(0, i-span):i]...)
	lo := min(len(v), i+gap)
	return append(buf, v[lo:min(len(v), lo+span)]...)
}

// LoadRecord reads dir/name (header, signals and the Options.Annotator
// annotations) and extracts its beats.
func LoadRecord(dir, name string, opt Options) ([]Beat, Stats, error) {
	rec, err := wfdb.ReadRecord(dir, name)
	if err != nil {
		return nil, Stats{}, fmt.Errorf("loading beats: %w", err)
	}
	anns, err := wfdb.ReadAnnotationFile(filepath.Join(dir, name+"."+opt.Annotator))
	if err != nil {
		return nil, Stats{}, fmt.Errorf("loading beats of record %q: %w", name, err)
	}
	return Extract(rec, anns, opt)
}

// Load extracts the beats of records from dir, several records at a time,
// and returns them in the order of records (the result does not depend
// on scheduling). Options.Rate 0 keeps each record's rate; then all
// records must share it.
func Load(dir string, records []string, opt Options) (*Dataset, Stats, error) {
	if err := opt.Validate(); err != nil {
		return nil, Stats{}, fmt.Errorf("loading beats: %w", err)
	}
	type result struct {
		beats []Beat
		st    Stats
		rate  float64
		err   error
	}
	res := make([]result, len(records))
	sem := make(chan struct{}, 4)
	var wg sync.WaitGroup
	for i, name := range records {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			rec, err := wfdb.ReadRecord(dir, name)
			if err != nil {
				res[i].err = fmt.Errorf("loading beats: %w", err)
				return
			}
			anns, err := wfdb.ReadAnnotationFile(filepath.Join(dir, name+"."+opt.Annotator))
			if err != nil {
				res[i].err = fmt.Errorf("loading beats of record %q: %w", name, err)
				return
			}
			res[i].rate = opt.Rate
			if opt.Rate == 0 {
				res[i].rate = rec.Header.Fs
			}
			res[i].beats, res[i].st, res[i].err = Extract(rec, anns, opt)
		}()
	}
	wg.Wait()
	ds := &Dataset{Classes: AAMIClasses()}
	var total Stats
	for i, r := range res {
		if r.err != nil {
			return nil, Stats{}, r.err
		}
		if i == 0 {
			ds.Rate = r.rate
		} else if r.rate != ds.Rate {
			return nil, Stats{}, fmt.Errorf("loading beats: record %q is at %v Hz, record %q at %v Hz; set Options.Rate", records[i], r.rate, records[0], ds.Rate)
		}
		ds.Beats = append(ds.Beats, r.beats...)
		total.Annotations += r.st.Annotations
		total.Candidates += r.st.Candidates
		total.SkippedAtEdge += r.st.SkippedAtEdge
		for c := range total.Beats {
			total.Beats[c] += r.st.Beats[c]
		}
	}
	return ds, total, nil
}
