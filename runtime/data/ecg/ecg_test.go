package ecg

import (
	"math"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"parak8s.dev/parak8s/internal/testenv"
	"parak8s.dev/parak8s/runtime/data/wfdb"
)

func TestAAMIClass(t *testing.T) {
	want := map[string]int{
		"N": ClassN, "L": ClassN, "R": ClassN, "e": ClassN, "j": ClassN,
		"A": ClassS, "a": ClassS, "J": ClassS, "S": ClassS,
		"V": ClassV, "E": ClassV, "F": ClassF,
		"/": ClassQ, "f": ClassQ, "Q": ClassQ,
	}
	for c := 0; c <= 63; c++ {
		sym := wfdb.Symbol(c)
		got, ok := AAMIClass(sym)
		w, wok := want[sym]
		if ok != wok || got != w {
			t.Errorf("AAMIClass(%q) = %d, %v; want %d, %v", sym, got, ok, w, wok)
		}
	}
	if got := AAMIClasses(); !reflect.DeepEqual(got, []string{"N", "S", "V", "F", "Q"}) {
		t.Errorf("AAMIClasses() = %v", got)
	}
}

// TestDS1Totals checks the reader and the AAMI mapping against the
// published DS1 totals: N 45,866 · S 944 · V 3,788 · F 415 · Q 8.
func TestDS1Totals(t *testing.T) {
	dir := testenv.MITDB(t)
	want := [NumClasses]int{45866, 944, 3788, 415, 8}
	var got [NumClasses]int
	for _, name := range DS1Records() {
		anns, err := wfdb.ReadAnnotationFile(filepath.Join(dir, name+".atr"))
		if err != nil {
			t.Fatal(err)
		}
		for _, a := range anns {
			if c, ok := AAMIClass(a.Symbol); ok {
				got[c]++
			}
		}
	}
	if got != want {
		t.Fatalf("DS1 AAMI totals = %v, want %v", got, want)
	}

	// Extraction accounts for every one of them: returned or skipped at
	// the record's edges.
	start := time.Now()
	ds, st, err := Load(dir, DS1Records(), DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	elapsed := time.Since(start)
	if st.Candidates != 51021 {
		t.Errorf("candidates = %d, want 51021", st.Candidates)
	}
	var sum [NumClasses]int
	for c, n := range ds.Counts() {
		sum[c] = n
	}
	if sum != st.Beats {
		t.Errorf("Counts() = %v, Stats.Beats = %v", sum, st.Beats)
	}
	if len(ds.Beats)+st.SkippedAtEdge != 51021 || st.SkippedAtEdge > 2*len(DS1Records()) {
		t.Errorf("%d beats + %d skipped at edges, want 51021 with few skipped", len(ds.Beats), st.SkippedAtEdge)
	}
	if ds.Rate != 125 || len(ds.Beats[0].Signal) != 87 {
		t.Errorf("rate %v, beat length %d; want 125 Hz, 87", ds.Rate, len(ds.Beats[0].Signal))
	}
	t.Logf("Load(22 records): %d beats in %v (%.0f beats/s, %v per record, 4 records at a time)",
		len(ds.Beats), elapsed, float64(len(ds.Beats))/elapsed.Seconds(), elapsed/22)
}

func synthRecord(n int, leads ...string) *wfdb.Record {
	h := wfdb.Header{Record: "syn", NumSignals: len(leads), Fs: 360, NumSamples: int64(n)}
	rec := &wfdb.Record{}
	for i, l := range leads {
		h.Signals = append(h.Signals, wfdb.Signal{Format: 212, Gain: 100, Baseline: 10 * i, Description: l})
		x := make([]int16, n)
		for j := range x {
			x[j] = int16(j%2000 + 10*i) // physical value j/100 (mod 20)
		}
		rec.Samples = append(rec.Samples, x)
	}
	rec.Header = h
	return rec
}

func TestExtractWindow(t *testing.T) {
	rec := synthRecord(4000, "V5", "MLII")
	anns := []wfdb.Annotation{
		{Sample: 1000, Symbol: "V"},
		{Sample: 5, Symbol: "N"}, // too close to the start
		{Sample: 500, Symbol: "+"},
		{Sample: 720, Symbol: "A"},
		{Sample: 3990, Symbol: "F"}, // too close to the end
		{Sample: 1360, Symbol: "~"},
		{Sample: 1450, Symbol: "/"},
	}
	opt := DefaultOptions()
	opt.Rate = 0 // keep 360 Hz so the windows can be checked sample by sample
	opt.Before, opt.After = 0.1, 0.2
	opt.Normalize = NormNone
	opt.RR = true
	opt.RRWindow = 2
	beats, st, err := Extract(rec, anns, opt)
	if err != nil {
		t.Fatal(err)
	}
	wantSt := Stats{Annotations: 7, Candidates: 5, SkippedAtEdge: 2, Beats: [NumClasses]int{ClassS: 1, ClassV: 1, ClassQ: 1}}
	if st != wantSt {
		t.Errorf("stats = %+v, want %+v", st, wantSt)
	}
	var got []string
	for _, b := range beats {
		got = append(got, b.Symbol)
		if len(b.Signal) != 36+72 {
			t.Fatalf("beat at %d: %d samples, want 108", b.Sample, len(b.Signal))
		}
		for i, v := range b.Signal {
			want := float32(b.Sample-36+int64(i)) / 100 // MLII baseline 10 cancels the +10
			if math.Abs(float64(v-want)) > 1e-5 {
				t.Fatalf("beat at %d sample %d = %v, want %v", b.Sample, i, v, want)
			}
		}
	}
	if !reflect.DeepEqual(got, []string{"A", "V", "/"}) {
		t.Errorf("symbols = %v", got)
	}
	// RR over all five candidate beats 5, 720, 1000, 1450, 3990 (in s):
	// beat 720: pre 715/360, post 280/360, local mean(715)/360.
	// beat 1000: pre 280, post 450, local mean(715, 280).
	// beat 1450: pre 450, post 2540, local mean(280, 450).
	s := func(v float64) float32 { return float32(v / 360) }
	wantRR := [][]float32{
		{s(715), s(280), s(715), 1, float32(280.0 / 715)},
		{s(280), s(450), s(497.5), float32(280 / 497.5), float32(450 / 497.5)},
		{s(450), s(2540), s(365), float32(450.0 / 365), float32(2540.0 / 365)},
	}
	for i, b := range beats {
		for j := range wantRR[i] {
			if math.Abs(float64(b.RR[j]-wantRR[i][j])) > 1e-5 {
				t.Errorf("beat %d RR = %v, want %v", b.Sample, b.RR, wantRR[i])
				break
			}
		}
	}

	// Annotations outside the signal are skipped by both methods, even
	// absurd ones (a corrupt file's SKIPs can reach any int64 time).
	bad := []wfdb.Annotation{{Sample: -5, Symbol: "N"}, {Sample: 1 << 62, Symbol: "N"}, {Sample: 4000, Symbol: "N"}, {Sample: 2000, Symbol: "N"}}
	for _, o := range []Options{opt, KachueeOptions()} {
		b, st, err := Extract(rec, bad, o)
		if err != nil || len(b) != 1 || b[0].Sample != 2000 || st.SkippedAtEdge != 3 {
			t.Errorf("%v: out-of-range annotations: %d beats, %+v, %v", o.Method, len(b), st, err)
		}
	}

	// A record without the lead is read on the first of OtherLeads it has.
	other := opt
	other.Lead, other.OtherLeads = "V1", []string{"II", "MLII", "V5"}
	if b, _, err := Extract(rec, anns, other); err != nil || !reflect.DeepEqual(b, beats) {
		t.Errorf("lead V1, other leads II, MLII, V5: err %v, want the MLII beats", err)
	}
	other.OtherLeads = []string{"II"}
	if _, _, err := Extract(rec, anns, other); err == nil || !strings.Contains(err.Error(), `no signal "V1" or "II" (signals: V5, MLII)`) {
		t.Errorf("missing leads: err = %v", err)
	}

	opt.Lead = "V1"
	if _, _, err := Extract(rec, anns, opt); err == nil || !strings.Contains(err.Error(), `no signal "V1" (signals: V5, MLII)`) {
		t.Errorf("missing lead: err = %v", err)
	}
}

func TestRRFeaturesEdges(t *testing.T) {
	if got := rrFeatures([]int64{100}, 360, 10); got[0] != [NumRRFeatures]float32{} {
		t.Errorf("single beat RR = %v, want zeros", got[0])
	}
	got := rrFeatures([]int64{0, 360, 1080}, 360, 10)
	want := [][NumRRFeatures]float32{{1, 1, 1, 1, 1}, {1, 2, 1, 1, 2}, {2, 2, 1.5, float32(2 / 1.5), float32(2 / 1.5)}}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("beat %d RR = %v, want %v", i, got[i], want[i])
		}
	}
}

func TestNormalize(t *testing.T) {
	tests := []struct {
		n    Normalization
		in   []float32
		want []float32
	}{
		{NormZScore, []float32{1, 3}, []float32{-1, 1}},
		{NormZScore, []float32{2, 2, 2}, []float32{0, 0, 0}},
		{NormMinMax, []float32{-1, 0, 3}, []float32{0, 0.25, 1}},
		{NormMinMax, []float32{5, 5}, []float32{0, 0}},
		{NormNone, []float32{-1, 7}, []float32{-1, 7}},
		{NormZScore, []float32{}, []float32{}},
	}
	for _, tt := range tests {
		w := append([]float32{}, tt.in...)
		normalize(w, tt.n)
		if !reflect.DeepEqual(w, tt.want) {
			t.Errorf("%v(%v) = %v, want %v", tt.n, tt.in, w, tt.want)
		}
	}
}

func TestOptionsValidate(t *testing.T) {
	tests := []struct {
		name    string
		mod     func(*Options)
		wantErr string
	}{
		{"default", func(*Options) {}, ""},
		{"kachuee", func(o *Options) { *o = KachueeOptions() }, ""},
		{"no lead", func(o *Options) { o.Lead = "" }, "empty lead"},
		{"no annotator", func(o *Options) { o.Annotator = "" }, "empty annotator"},
		{"negative rate", func(o *Options) { o.Rate = -1 }, "rate -1"},
		{"nan rate", func(o *Options) { o.Rate = math.NaN() }, "rate NaN"},
		{"rr window", func(o *Options) { o.RR, o.RRWindow = true, 0 }, "rr window 0"},
		{"rr window for relative features", func(o *Options) { o.RRRelative, o.RRWindow = true, 0 }, "rr window 0"},
		{"empty window", func(o *Options) { o.Before, o.After = 0, 0 }, "not both zero"},
		{"negative before", func(o *Options) { o.Before = -0.1 }, "non-negative"},
		{"bad normalization", func(o *Options) { o.Normalize = 7 }, "normalization(7)"},
		{"bad method", func(o *Options) { o.Method = 9 }, "method(9)"},
		{"kachuee window", func(o *Options) { o.Method, o.KachueeWindow = MethodKachuee, 0 }, "kachuee window"},
		{"kachuee length", func(o *Options) { o.Method, o.KachueeLength = MethodKachuee, 0 }, "kachuee length"},
	}
	for _, tt := range tests {
		o := DefaultOptions()
		tt.mod(&o)
		err := o.Validate()
		if (tt.wantErr == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), tt.wantErr)) {
			t.Errorf("%s: err = %v, want %q", tt.name, err, tt.wantErr)
		}
	}
}

func TestExtractKachueeSynthetic(t *testing.T) {
	// 125 Hz record (no resampling), 20 s: windows of 1250 samples.
	n := 2500
	rec := &wfdb.Record{Header: wfdb.Header{Record: "k", NumSignals: 1, Fs: 125, Signals: []wfdb.Signal{{Gain: 1, Description: "MLII"}}}}
	x := make([]int16, n)
	for i := range x {
		x[i] = int16(i % 1250) // window k scales to (i mod 1250)/1249
	}
	rec.Samples = [][]int16{x}
	// Window 0: peaks 100, 200, 300, 1240 → RR 100, 100, 940 → T 100,
	// 1.2T = 120. Window 1: one peak → the record's median RR (100).
	anns := []wfdb.Annotation{{Sample: 100, Symbol: "N"}, {Sample: 200, Symbol: "V"}, {Sample: 300, Symbol: "N"}, {Sample: 1240, Symbol: "N"}, {Sample: 1300, Symbol: "F"}}
	beats, st, err := Extract(rec, anns, KachueeOptions())
	if err != nil {
		t.Fatal(err)
	}
	if len(beats) != 5 || st.SkippedAtEdge != 0 {
		t.Fatalf("%d beats, %d skipped", len(beats), st.SkippedAtEdge)
	}
	wantLen := map[int64]int{100: 120, 200: 120, 300: 120, 1240: 10 /* cut at window end */, 1300: 120}
	for _, b := range beats {
		if len(b.Signal) != 187 {
			t.Fatalf("beat %d: length %d", b.Sample, len(b.Signal))
		}
		nz := wantLen[b.Sample]
		for i, v := range b.Signal {
			var want float32
			if i < nz {
				want = float32((int(b.Sample)+i)%1250) / 1249
			}
			if math.Abs(float64(v-want)) > 1e-6 {
				t.Fatalf("beat %d sample %d = %v, want %v", b.Sample, i, v, want)
			}
		}
	}
}

// TestExtractMITDB extracts record 101 with both methods and record 114
// (MLII stored second), checks shapes, normalisation and determinism, and
// reports the extraction speed.
func TestExtractMITDB(t *testing.T) {
	dir := testenv.MITDB(t)
	rec, err := wfdb.ReadRecord(dir, "101")
	if err != nil {
		t.Fatal(err)
	}
	anns, err := wfdb.ReadAnnotationFile(filepath.Join(dir, "101.atr"))
	if err != nil {
		t.Fatal(err)
	}
	opt := DefaultOptions()
	opt.RR = true
	start := time.Now()
	beats, st, err := Extract(rec, anns, opt)
	el := time.Since(start)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("101 window method: %d beats in %v (%.0f beats/s, resampling included)", len(beats), el, float64(len(beats))/el.Seconds())
	if st.Candidates != 1865 || len(beats)+st.SkippedAtEdge != 1865 {
		t.Errorf("stats %+v, %d beats; want 1865 candidates", st, len(beats))
	}
	for _, b := range beats {
		var m, ss float64
		for _, v := range b.Signal {
			m += float64(v)
		}
		m /= float64(len(b.Signal))
		for _, v := range b.Signal {
			ss += (float64(v) - m) * (float64(v) - m)
		}
		if math.Abs(m) > 1e-4 || math.Abs(ss/float64(len(b.Signal))-1) > 1e-3 {
			t.Fatalf("beat %d: mean %v, variance %v after z-scoring", b.Sample, m, ss/float64(len(b.Signal)))
		}
		if len(b.RR) != NumRRFeatures || b.RR[0] <= 0 || b.RR[0] > 3 {
			t.Fatalf("beat %d: RR %v", b.Sample, b.RR)
		}
	}
	again, _, err := Extract(rec, anns, opt)
	if err != nil || !reflect.DeepEqual(beats, again) {
		t.Error("second extraction differs from the first")
	}

	k, _, err := Extract(rec, anns, KachueeOptions())
	if err != nil {
		t.Fatal(err)
	}
	if len(k) != 1865 {
		t.Errorf("kachuee: %d beats, want 1865", len(k))
	}
	for _, b := range k {
		if len(b.Signal) != 187 || b.Signal[len(b.Signal)-1] != 0 {
			t.Fatalf("kachuee beat %d: length %d, last %v", b.Sample, len(b.Signal), b.Signal[len(b.Signal)-1])
		}
		for _, v := range b.Signal {
			if v < 0 || v > 1 {
				t.Fatalf("kachuee beat %d value %v outside [0, 1]", b.Sample, v)
			}
		}
	}

	// Record 114 stores V5 first: the MLII window must come from signal 1.
	r114, err := wfdb.ReadRecord(dir, "114")
	if err != nil {
		t.Fatal(err)
	}
	a114, err := wfdb.ReadAnnotationFile(filepath.Join(dir, "114.atr"))
	if err != nil {
		t.Fatal(err)
	}
	o := DefaultOptions()
	o.Rate, o.Normalize = 0, NormNone
	b114, _, err := Extract(r114, a114, o)
	if err != nil {
		t.Fatal(err)
	}
	mlii, _ := r114.Physical(1)
	nb := int64(math.Round(o.Before * 360))
	for _, b := range b114[:50] {
		if !reflect.DeepEqual(b.Signal, mlii[b.Sample-nb:b.Sample-nb+int64(len(b.Signal))]) {
			t.Fatalf("114 beat at %d is not the MLII window", b.Sample)
		}
	}
}

func BenchmarkExtract(b *testing.B) {
	dir := testenv.MITDB(b)
	rec, err := wfdb.ReadRecord(dir, "208")
	if err != nil {
		b.Fatal(err)
	}
	anns, err := wfdb.ReadAnnotationFile(filepath.Join(dir, "208.atr"))
	if err != nil {
		b.Fatal(err)
	}
	for _, c := range []struct {
		name string
		opt  Options
	}{{"window125", DefaultOptions()}, {"kachuee", KachueeOptions()}} {
		b.Run(c.name, func(b *testing.B) {
			n := 0
			for b.Loop() {
				beats, _, err := Extract(rec, anns, c.opt)
				if err != nil {
					b.Fatal(err)
				}
				n += len(beats)
			}
			b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "beats/s")
		})
	}
}

// TestExtractTemplate checks the record-template channel on the synthetic
// ramp record, where every window is its R peak's time plus a fixed ramp:
// the per-sample median of the windows is the median beat's window, so each
// difference is a constant, (R peak - median R peak)/100 mV.
func TestExtractTemplate(t *testing.T) {
	rec := synthRecord(4000, "V5", "MLII")
	opt := DefaultOptions()
	opt.Rate, opt.Before, opt.After, opt.Normalize = 0, 0.1, 0.2, NormNone
	opt.Template = true
	for _, c := range []struct {
		name  string
		peaks []int64
		mid   float64 // per-sample median R peak
	}{
		{"odd", []int64{720, 1000, 1450}, 1000},
		{"even", []int64{720, 1000}, 860},
		{"one", []int64{1500}, 1500},
	} {
		var anns []wfdb.Annotation
		for _, p := range c.peaks {
			anns = append(anns, wfdb.Annotation{Sample: p, Symbol: "N"})
		}
		beats, _, err := Extract(rec, anns, opt)
		if err != nil || len(beats) != len(c.peaks) {
			t.Fatalf("%s: %d beats, %v", c.name, len(beats), err)
		}
		for _, b := range beats {
			if len(b.Signal) != 2*108 {
				t.Fatalf("%s: beat %d has %d samples, want 2 x 108", c.name, b.Sample, len(b.Signal))
			}
			for i, v := range b.Signal[:108] {
				if want := float32(b.Sample-36+int64(i)) / 100; math.Abs(float64(v-want)) > 1e-5 {
					t.Fatalf("%s: beat %d window sample %d = %v, want %v", c.name, b.Sample, i, v, want)
				}
			}
			want := (float64(b.Sample) - c.mid) / 100
			for i, v := range b.Signal[108:] {
				if math.Abs(float64(v)-want) > 1e-4 {
					t.Fatalf("%s: beat %d difference sample %d = %v, want %v", c.name, b.Sample, i, v, want)
				}
			}
		}
	}
	if opt.Channels() != 2 || DefaultOptions().Channels() != 1 {
		t.Errorf("channels %d / %d", opt.Channels(), DefaultOptions().Channels())
	}
}

// TestRelativeRR: a regular 60/min rhythm with one premature beat (0.6 s)
// and its compensatory pause (1.4 s).
func TestRelativeRR(t *testing.T) {
	l := func(v float64) float32 { return float32(math.Log(v)) }
	samples := []int64{0, 360, 720, 936, 1440, 1800}
	rel := relativeRR(rrFeatures(samples, 360, 10), 2, 1.0/360)
	// The record's median RR is 1 s. Beat 3: local average mean(1, 1,
	// 0.6), neighbours 1 1 | 1.4 1 (median 1). Beat 4: local average
	// mean(1, 1, 0.6, 1.4) = 1, neighbours 1 0.6 | 1 (median 1).
	want := map[int][NumRRFeatures]float32{
		0: {}, // every ratio 1
		3: {l(0.6), l(1.4), l(2.6 / 3), l(1.4 / 0.6), l(0.6)},
		4: {l(1.4), 0, 0, l(1 / 1.4), l(1.4)},
	}
	for i, w := range want {
		for j := range w {
			if math.Abs(float64(rel[i][j]-w[j])) > 1e-5 {
				t.Errorf("beat %d: %v, want %v", i, rel[i], w)
				break
			}
		}
	}
	if got := relativeRR(rrFeatures([]int64{5}, 360, 10), 2, 1.0/360); got[0] != ([NumRRFeatures]float32{}) {
		t.Errorf("single beat: %v", got)
	}
	// Two annotations on one sample: intervals floored, no infinities.
	for _, f := range relativeRR(rrFeatures([]int64{0, 360, 360, 720}, 360, 10), 2, 1.0/360) {
		for _, v := range f {
			if math.IsInf(float64(v), 0) || math.IsNaN(float64(v)) {
				t.Fatalf("zero interval gives %v", f)
			}
		}
	}
	o := DefaultOptions()
	o.RR, o.RRRelative = true, true
	if o.Features() != 2*NumRRFeatures || DefaultOptions().Features() != 0 {
		t.Errorf("features %d / %d", o.Features(), DefaultOptions().Features())
	}
	o.RRSpan = 0
	if err := o.Validate(); err == nil || !strings.Contains(err.Error(), "rr span 0") {
		t.Errorf("span 0: %v", err)
	}
}

// TestIrregularity: the rhythm of TestRelativeRR (previous intervals 1 1 1
// 0.6 1.4 1 s) with two intervals on either side; beat i's own steps
// (step[i], step[i+1]) never count, so the premature beat itself sits in
// a regular rhythm.
func TestIrregularity(t *testing.T) {
	samples := []int64{0, 360, 720, 936, 1440, 1800}
	got := irregularity(rrFeatures(samples, 360, 10), 2, 1.0/360)
	// steps 0..5: 0 0 0 a b c
	a, b, c := math.Log(1/0.6), math.Log(1.4/0.6), math.Log(1.4)
	l := func(med float64) float32 { return float32(math.Log(0.01 + med)) }
	want := []float32{
		l(a / 2),       // steps | 2 3
		l(a),           // steps 0 | 3 4
		l(c / 2),       // steps 0 1 | 4 5: 0 0 c b
		l(0),           // steps 1 2 | 5: 0 0 c
		l(a / 2),       // steps 2 3 |
		l((a + b) / 2), // steps 3 4 |
	}
	for i := range want {
		if math.Abs(float64(got[i]-want[i])) > 1e-5 {
			t.Errorf("beat %d: %v, want %v", i, got[i], want[i])
		}
	}
	if got := irregularity(rrFeatures([]int64{5}, 360, 10), 2, 1.0/360); got[0] != 0 {
		t.Errorf("single beat: %v", got)
	}
	// Two annotations on one sample: intervals floored, no infinities.
	for _, v := range irregularity(rrFeatures([]int64{0, 360, 360, 720}, 360, 10), 2, 1.0/360) {
		if math.IsInf(float64(v), 0) || math.IsNaN(float64(v)) {
			t.Fatalf("zero interval gives %v", v)
		}
	}
	// An irregular rhythm (alternating 0.7 and 1.3 s) scores higher at every
	// beat than the regular rhythm with one premature beat does at it.
	var alt []int64
	for i, s := 0, int64(0); i < 40; i++ {
		alt = append(alt, s)
		s += []int64{252, 468}[i%2]
	}
	for i, v := range irregularity(rrFeatures(alt, 360, 10), 4, 1.0/360) {
		if v <= got[3] {
			t.Errorf("alternating rhythm, beat %d: %v, not above %v", i, v, got[3])
		}
	}
	o := DefaultOptions()
	o.RR, o.RRRelative, o.RRIrregularity = false, false, true
	if o.Features() != 1 {
		t.Errorf("features %d, want 1", o.Features())
	}
	o.RRSpan = 0
	if err := o.Validate(); err == nil || !strings.Contains(err.Error(), "rr span 0") {
		t.Errorf("span 0: %v", err)
	}
}

// TestAverageRR: beats at 0 1 2 3 4 5 6 s with a 4 s pause before the
// last and a 4 s window (±2 s): the last beat's window holds only the
// pause.
func TestAverageRR(t *testing.T) {
	samples := []int64{0, 360, 720, 1080, 1440, 1800, 3240}
	rr := rrFeatures(samples, 360, 10)
	got := averageRR(samples, rr, 360, 4)
	// Intervals inside ±2 s of each beat, in seconds.
	means := []float64{1, 1, 1, 1, 1, 1, 4}
	for i, m := range means {
		want := [NumAverageFeatures]float32{float32(m), float32(float64(rr[i][0]) / m), float32(float64(rr[i][1]) / m), float32(float64(rr[i][2]) / m)}
		for j := range want {
			if math.Abs(float64(got[i][j]-want[j])) > 1e-6 {
				t.Errorf("beat %d feature %d: %v, want %v", i, j, got[i][j], want[j])
			}
		}
	}
	// A window over the whole record: the record's mean interval (9 s / 6),
	// pauses counted, unlike a median (1 s).
	for i, f := range averageRR(samples, rr, 360, 100) {
		if math.Abs(float64(f[0])-1.5) > 1e-6 {
			t.Errorf("whole record, beat %d: average %v, want 1.5", i, f[0])
		}
	}
	if got := averageRR([]int64{7}, rrFeatures([]int64{7}, 360, 10), 360, 300); got[0] != [NumAverageFeatures]float32{} {
		t.Errorf("single beat: %v", got)
	}
	for _, f := range averageRR([]int64{0, 0, 0}, rrFeatures([]int64{0, 0, 0}, 360, 10), 360, 300) {
		for _, v := range f {
			if math.IsInf(float64(v), 0) || math.IsNaN(float64(v)) {
				t.Fatalf("zero intervals give %v", f)
			}
		}
	}
	o := DefaultOptions()
	o.RRAverage = true
	if o.Features() != NumAverageFeatures {
		t.Errorf("features %d, want %d", o.Features(), NumAverageFeatures)
	}
	o.RRAverageWindow = 0
	if err := o.Validate(); err == nil || !strings.Contains(err.Error(), "rr average window 0") {
		t.Errorf("window 0: %v", err)
	}
}
