package ecg

import (
	"math/rand"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"parak8s.dev/parak8s/internal/testenv"
	"parak8s.dev/parak8s/runtime/data/wfdb"
)

// TestRetime checks on a record whose every sample holds its own index
// that each beat of a copy is a real complex of the record with the
// record's symbol, that beats keep 0.3 s apart, that the copy is
// deterministic, and that premature beats come early.
func TestRetime(t *testing.T) {
	const n = 30000
	rec := &wfdb.Record{
		Header:  wfdb.Header{Record: "syn", NumSignals: 2, Fs: 360, NumSamples: n, Signals: []wfdb.Signal{{Description: "V5", Gain: 200}, {Description: "MLII", Gain: 200}}},
		Samples: [][]int16{make([]int16, n), make([]int16, n)},
	}
	for j := range n {
		rec.Samples[1][j] = int16(j)
	}
	var anns []wfdb.Annotation
	symbolAt := map[int16]string{}
	for i, at := 0, 250; at < n-200; i, at = i+1, at+250 {
		sym := "N"
		switch {
		case i%4 == 1:
			sym = "A"
		case i%5 == 2:
			sym = "V"
		}
		anns = append(anns, wfdb.Annotation{Sample: int64(at), Symbol: sym}, wfdb.Annotation{Sample: int64(at + 100), Symbol: "+"})
		symbolAt[int16(at)] = sym
	}

	c, cAnns, ok, err := Retime(rec, anns, 1, "syn~1", RhythmRuns, rand.New(rand.NewSource(1)))
	if err != nil || !ok {
		t.Fatalf("Retime: ok %v, %v", ok, err)
	}
	if c.Header.Record != "syn~1" || len(c.Samples) != 1 || c.Header.Signals[0].Description != "MLII" || int64(len(c.Samples[0])) != c.Header.NumSamples || c.Header.NumSamples != int64(RetimeLength*360) {
		t.Fatalf("copy header %+v, %d signals", c.Header, len(c.Samples))
	}
	y := c.Samples[0]
	count := map[string]int{}
	var sinus []float64 // intervals before sinus beats that follow sinus beats
	var early []float64 // intervals before premature beats
	for i, an := range cAnns {
		src := y[an.Sample]
		if symbolAt[src] != an.Symbol {
			t.Fatalf("beat %d at %d: copied from sample %d (%q), annotated %q", i, an.Sample, src, symbolAt[src], an.Symbol)
		}
		for k := int64(1); k <= 90; k++ { // the 0.25 s before the R peak come along
			if y[an.Sample-k] != src-int16(k) {
				t.Fatalf("beat %d: sample %d before the R peak is %d, want %d", i, k, y[an.Sample-k], src-int16(k))
			}
		}
		count[an.Symbol]++
		if i == 0 {
			continue
		}
		d := float64(an.Sample-cAnns[i-1].Sample) / 360
		if d < 0.29 {
			t.Fatalf("beat %d is %.3f s after the one before", i, d)
		}
		switch {
		case an.Symbol != "N":
			early = append(early, d)
		case cAnns[i-1].Symbol == "N":
			sinus = append(sinus, d)
		}
	}
	if count["A"] == 0 || count["N"] == 0 || count["+"] != 0 {
		t.Errorf("copy beats %v: want N and A beats, no non-beat annotations", count)
	}
	if len(sinus) > 0 && slices.Max(early) >= slices.Min(sinus) {
		t.Errorf("premature beats up to %.2f s after the beat before, sinus intervals from %.2f s", slices.Max(early), slices.Min(sinus))
	}

	again, againAnns, _, _ := Retime(rec, anns, 1, "syn~1", RhythmRuns, rand.New(rand.NewSource(1)))
	if !slices.Equal(again.Samples[0], y) || !cmp.Equal(againAnns, cAnns) {
		t.Error("the same generator gave another copy")
	}

	af, afAnns, _, err := Retime(rec, anns, 1, "syn~2", RhythmAF, rand.New(rand.NewSource(1)))
	if err != nil {
		t.Fatal(err)
	}
	var intervals []float64
	for i, an := range afAnns {
		if src := af.Samples[0][an.Sample]; an.Symbol != "N" || symbolAt[src] != "N" {
			t.Fatalf("AF beat %d: %q copied from a %q beat", i, an.Symbol, symbolAt[src])
		}
		if i > 0 {
			intervals = append(intervals, float64(an.Sample-afAnns[i-1].Sample)/360)
		}
	}
	if lo, hi := slices.Min(intervals), slices.Max(intervals); lo < 0.29 || hi/lo < 2 {
		t.Errorf("AF intervals %.2f-%.2f s: want irregular ones, none under 0.3 s", lo, hi)
	}

	few := slices.DeleteFunc(slices.Clone(anns), func(a wfdb.Annotation) bool { return a.Symbol == "A" && a.Sample > n/2 })
	if _, _, ok, err := Retime(rec, few, 1, "syn~1", RhythmRuns, rand.New(rand.NewSource(1))); ok || err != nil {
		t.Errorf("a record with fewer than %d S beats: ok %v, %v; want no copy", MinRetimeBeats, ok, err)
	}
	if _, _, _, err := Retime(rec, anns, 2, "syn~1", RhythmRuns, rand.New(rand.NewSource(1))); err == nil || !strings.Contains(err.Error(), "no signal 2") {
		t.Errorf("lead 2 of 2 signals: %v", err)
	}
}

// TestLoadRetimed re-times DS1: copies come only from records with
// MinRetimeBeats S beats, carry their names, and are the same every time.
func TestLoadRetimed(t *testing.T) {
	dir := testenv.MITDB(t)
	opt := DefaultOptions()
	opt.RR, opt.RRAverage, opt.Template = true, true, true
	records := []string{"101", "209", "220"} // 3, 383 and 94 S beats
	ds, _, err := LoadRetimed(dir, records, 2, opt)
	if err != nil {
		t.Fatal(err)
	}
	perRecord := map[string][NumClasses]int{}
	for _, b := range ds.Beats {
		c := perRecord[b.Record]
		c[b.Class]++
		perRecord[b.Record] = c
	}
	var names []string
	for r, c := range perRecord {
		names = append(names, r)
		af := strings.HasSuffix(r, "~2") // RhythmAF: normal beats alone
		if c[ClassN] < 50 || (c[ClassS] < 50) != af || (af && c != [NumClasses]int{c[ClassN]}) {
			t.Errorf("copy %s: beats per class %v, want N and S beats (N alone in even copies)", r, c)
		}
	}
	slices.Sort(names)
	if want := []string{"209~1", "209~2", "220~1", "220~2"}; !slices.Equal(names, want) {
		t.Errorf("copies %v, want %v", names, want)
	}
	again, _, err := LoadRetimed(dir, records, 2, opt)
	if err != nil || !cmp.Equal(again, ds) {
		t.Errorf("a second LoadRetimed gave other beats (%v)", err)
	}
}
