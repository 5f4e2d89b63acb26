package dataset

import (
	"bytes"
	"context"
	"io"
	"log"
	"math"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/registry"

	"parak8s.dev/parak8s/internal/testenv"
	"parak8s.dev/parak8s/runtime/data/digest"
	"parak8s.dev/parak8s/runtime/data/ecg"
	"parak8s.dev/parak8s/runtime/data/images"
	"parak8s.dev/parak8s/runtime/data/loader"
	"parak8s.dev/parak8s/runtime/publish"
	"parak8s.dev/parak8s/schema"
)

// wfdbData is a resolved WFDB data config (the schema's defaults) splitting
// train and val by record.
func wfdbData(path string, recipe schema.Recipe, rr bool, train, val []any) schema.Data {
	return schema.Data{
		Source: schema.Source{Kind: schema.SourceWFDB, Path: path},
		Signal: &schema.Signal{Lead: "MLII", SampleRate: 125, Recipe: recipe, Before: 0.5, After: 0.8, Normalize: "zscore", RRFeatures: rr, Labels: schema.LabelsAAMI},
		Split:  schema.Split{By: schema.SplitByRecord, Seed: 1, Train: train, Val: val, Test: []any{}},
	}
}

// imageData is a resolved image data config (the schema's defaults, 28 px).
func imageData(path string, split schema.Split) schema.Data {
	return schema.Data{
		Source: schema.Source{Kind: schema.SourceImages, Path: path},
		Image: &schema.Image{Size: 28, Channels: 1, Mean: []float64{0.5}, Std: []float64{0.25}, Augment: schema.Augment{
			Enabled: true, Rotate: 10, Shift: 0.1, Crop: 0.9, Brightness: 0.1, Contrast: 0.1,
		}},
		Split: split,
	}
}

func prepareT(t *testing.T, data schema.Data) (string, *Manifest) {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "prepared")
	opts := DefaultOptions()
	opts.DataKey = "key"
	m, err := Prepare(context.Background(), data, dir, opts)
	if err != nil {
		t.Fatal(err)
	}
	return dir, m
}

// splitSamples opens the prepared set in dir and returns its split's samples.
func splitSamples(t *testing.T, dir, split string) ([][]float32, []int) {
	t.Helper()
	set, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	sp, err := set.Split(split, DefaultSplitOptions())
	if err != nil {
		t.Fatal(err)
	}
	return samples(t, sp, 0)
}

// samples returns every sample and label of a source.
func samples(t *testing.T, src loader.Source, epoch int) ([][]float32, []int) {
	t.Helper()
	var xs [][]float32
	var ys []int
	for i := range src.Len() {
		x := make([]float32, src.SampleSize())
		y, err := src.Get(i, epoch, x)
		if err != nil {
			t.Fatal(err)
		}
		xs, ys = append(xs, x), append(ys, y)
	}
	return xs, ys
}

func equalSamples(t *testing.T, what string, ax [][]float32, ay []int, bx [][]float32, by []int) {
	t.Helper()
	if len(ax) != len(bx) || !slices.Equal(ay, by) {
		t.Fatalf("%s: %d samples, labels differ (%d vs %d samples)", what, len(ax), len(ax), len(bx))
	}
	for i := range ax {
		if !slices.Equal(ax[i], bx[i]) {
			t.Fatalf("%s: sample %d differs", what, i)
		}
	}
}

// copyRecords copies WFDB records (header, signal, annotations) into a new
// folder under the test's temporary folder.
func copyRecords(t *testing.T, mitdb string, records ...string) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "records")
	testenv.CopyRecords(t, mitdb, dir, records...)
	return dir
}

// smallImages builds a Kermany tree under the test's temporary folder from
// the first n[split][class] images of the shared PneumoniaMNIST folders.
func smallImages(t *testing.T, root string, n map[string]map[string]int, flat bool) string {
	t.Helper()
	out := filepath.Join(t.TempDir(), "images")
	for split, classes := range n {
		for class, k := range classes {
			entries, err := os.ReadDir(filepath.Join(root, split, class))
			if err != nil {
				t.Fatal(err)
			}
			var names []string
			for _, e := range entries[:k] {
				names = append(names, e.Name())
			}
			to := filepath.Join(out, split, class)
			if flat {
				to = filepath.Join(out, class)
			}
			testenv.CopyFiles(t, filepath.Join(root, split, class), to, names...)
		}
	}
	return out
}

// TestPrepareWFDBByRecord prepares three MIT-BIH records split by record and
// checks the counts (published per-record figures), the samples against
// runtime/data/ecg, the digest, the on-disk layout and determinism.
func TestPrepareWFDBByRecord(t *testing.T) {
	mitdb := testenv.MITDB(t)
	data := wfdbData(mitdb, "window", true, []any{"101", "106"}, []any{"119"})
	start := time.Now()
	dir, m := prepareT(t, data)
	t.Logf("prepared 3 records in %v", time.Since(start))

	// 0.5 s before and 0.8 s after at 125 Hz: round(62.5) + 100 samples.
	if m.Kind != KindSignal || !slices.Equal(m.Input, []int{1, 163}) || m.Features != 5 || m.DataKey != "key" || m.SourceKind != schema.SourceWFDB {
		t.Fatalf("manifest %+v", m)
	}
	if !slices.Equal(m.Classes, []string{"N", "S", "V", "F", "Q"}) {
		t.Fatalf("classes %v", m.Classes)
	}
	// MIT-BIH per-record beat counts (N S V F Q): 101 1860 3 0 0 2, 106
	// 1507 0 520 0 0, 119 1543 0 444 0 0; the window method drops the beats
	// within 0.5 s of a record's start or 0.8 s of its end: two N in 101,
	// one N in 106 and one N in 119.
	want := map[string]SplitInfo{
		"train": {N: 1858 + 3 + 2 + 1506 + 520, Counts: []int{1858 + 1506, 3, 520, 0, 2}, Records: []string{"101", "106"}, File: "train.safetensors"},
		"val":   {N: 1542 + 444, Counts: []int{1542, 0, 444, 0, 0}, Records: []string{"119"}, File: "val.safetensors"},
	}
	for n, w := range want {
		got := m.Splits[n]
		if got.N != w.N || !slices.Equal(got.Counts, w.Counts) || !slices.Equal(got.Records, w.Records) || got.File != w.File {
			t.Errorf("split %s: %+v, want %+v", n, got, w)
		}
	}
	if len(m.Splits) != 2 {
		t.Errorf("splits %v", m.SplitNames())
	}

	// The digest covers exactly the nine files of the three records.
	var files []string
	for _, r := range []string{"101", "106", "119"} {
		files = append(files, r+".hea", r+".dat", r+".atr")
	}
	dm, err := digest.Files(context.Background(), mitdb, files, digest.DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	if m.Digest != dm.Digest() {
		t.Errorf("digest %s, want %s", m.Digest, dm.Digest())
	}
	src, err := os.ReadFile(filepath.Join(dir, FileSource))
	if err != nil || !bytes.Equal(src, dm.Text()) {
		t.Errorf("%s differs from the source manifest (%v)", FileSource, err)
	}
	entries, _ := os.ReadDir(dir)
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	if !slices.Equal(names, []string{FileManifest, FileSource, "train.safetensors", "val.safetensors"}) {
		t.Errorf("prepared files %v", names)
	}

	// The samples are ecg's beats, window then RR features, in record order.
	opt := ecg.DefaultOptions()
	opt.Before, opt.After, opt.RR = 0.5, 0.8, true
	set, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range []string{"train", "val"} {
		ds, _, err := ecg.Load(mitdb, want[n].Records, opt)
		if err != nil {
			t.Fatal(err)
		}
		start := time.Now()
		sp, err := set.Split(n, DefaultSplitOptions())
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("read split %s (%d beats) in %v", n, sp.Len(), time.Since(start))
		var wx [][]float32
		var wy []int
		for _, b := range ds.Beats {
			wx, wy = append(wx, append(slices.Clone(b.Signal), b.RR...)), append(wy, b.Class)
		}
		gx, gy := samples(t, sp, 0)
		equalSamples(t, n, gx, gy, wx, wy)
		if id := sp.(*Beats).ID(0); id != want[n].Records[0]+":"+strconv.FormatInt(ds.Beats[0].Sample, 10) {
			t.Errorf("ID(0) = %q", id)
		}
	}
	if _, err := set.Split("test", DefaultSplitOptions()); err == nil || !strings.Contains(err.Error(), "has splits train, val") {
		t.Errorf("absent split: %v", err)
	}

	// Same config, byte-identical output.
	again, _ := prepareT(t, data)
	d1, err := digest.Dir(context.Background(), dir, digest.DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	d2, err := digest.Dir(context.Background(), again, digest.DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	if d1.Digest() != d2.Digest() {
		t.Errorf("two prepares differ:\n%s\n%s", d1.Text(), d2.Text())
	}
}

// TestPrepareDS1 prepares all 22 DS1 records (Kachuee beats, which skip
// none) split by fraction, and checks the totals of the data README.
func TestPrepareDS1(t *testing.T) {
	mitdb := testenv.MITDB(t)
	data := wfdbData(mitdb, "kachuee", true, nil, nil)
	data.Split = schema.Split{By: schema.SplitByFraction, Seed: 1, Train: 0.8, Val: 0.2, Test: 0.0}
	start := time.Now()
	dir, m := prepareT(t, data)
	t.Logf("prepared DS1 in %v", time.Since(start))
	total := make([]int, 5)
	var recs []string
	for _, n := range m.SplitNames() {
		for c, k := range m.Splits[n].Counts {
			total[c] += k
		}
		recs = append(recs, m.Splits[n].Records...)
	}
	if want := []int{45866, 944, 3788, 415, 8}; !slices.Equal(total, want) {
		t.Errorf("DS1 counts %v, want %v", total, want)
	}
	slices.Sort(recs)
	if !slices.Equal(recs, ecg.DS1Records()) || len(m.Splits["val"].Records) != 4 {
		t.Errorf("records %v (val %v)", recs, m.Splits["val"].Records)
	}
	set, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	start = time.Now()
	sp, err := set.Split("train", DefaultSplitOptions())
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("read the train split (%d beats of %d values) in %v", sp.Len(), sp.SampleSize(), time.Since(start))
}

// TestPrepareWFDBByFraction splits five records (five patients) by fraction
// and checks that splits hold whole records, disjoint, as ecg.SplitByRecord
// assigns them.
func TestPrepareWFDBByFraction(t *testing.T) {
	mitdb := testenv.MITDB(t)
	recs := []string{"101", "106", "108", "109", "112"}
	data := wfdbData(mitdb, "kachuee", false, nil, nil)
	data.Source.Records = recs
	data.Split = schema.Split{By: schema.SplitByFraction, Seed: 7, Train: 0.6, Val: 0.4, Test: 0.0}
	dir, m := prepareT(t, data)
	parts, err := ecg.SplitByRecord(recs, 7, []float64{0.6, 0.4, 0})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(m.Splits["train"].Records, parts[0]) || !slices.Equal(m.Splits["val"].Records, parts[1]) {
		t.Fatalf("records train %v val %v, want %v", m.Splits["train"].Records, m.Splits["val"].Records, parts)
	}
	all := append(slices.Clone(m.Splits["train"].Records), m.Splits["val"].Records...)
	slices.Sort(all)
	if !slices.Equal(all, recs) || len(m.Splits["train"].Records) != 3 {
		t.Fatalf("records %v", all)
	}
	// Kachuee beats: no beat skipped, 187 samples, no RR features.
	perRecord := map[string]int{"101": 1865, "106": 2027, "108": 1763, "109": 2532, "112": 2539}
	set, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range []string{"train", "val"} {
		info := m.Splits[n]
		want := 0
		for _, r := range info.Records {
			want += perRecord[r]
		}
		if info.N != want {
			t.Errorf("split %s: %d beats, want %d", n, info.N, want)
		}
		sp, err := set.Split(n, DefaultSplitOptions())
		if err != nil {
			t.Fatal(err)
		}
		b := sp.(*Beats)
		for i := range b.Len() {
			r, _, _ := strings.Cut(b.ID(i), ":")
			if !slices.Contains(info.Records, r) {
				t.Fatalf("split %s: beat %s from a record of another split", n, b.ID(i))
			}
		}
	}
	if !slices.Equal(m.Input, []int{1, 187}) || m.Features != 0 {
		t.Errorf("input %v features %d", m.Input, m.Features)
	}
}

// TestPrepareSymbols labels beats by their WFDB symbol: the sorted symbols
// of the data by default, or data.classes (other beats are left out).
func TestPrepareSymbols(t *testing.T) {
	mitdb := testenv.MITDB(t)
	data := wfdbData(mitdb, "kachuee", false, []any{"101"}, []any{"106"})
	data.Signal.Labels = schema.LabelsSymbols
	_, m := prepareT(t, data)
	// 101: N 1860, A 3, Q 2; 106: N 1507, V 520.
	if !slices.Equal(m.Classes, []string{"A", "N", "Q", "V"}) || !slices.Equal(m.Splits["train"].Counts, []int{3, 1860, 2, 0}) || !slices.Equal(m.Splits["val"].Counts, []int{0, 1507, 0, 520}) {
		t.Errorf("classes %v, splits %+v", m.Classes, m.Splits)
	}
	data.Classes = []string{"V", "N"}
	_, m = prepareT(t, data)
	if !slices.Equal(m.Classes, []string{"V", "N"}) || !slices.Equal(m.Splits["train"].Counts, []int{0, 1860}) || !slices.Equal(m.Splits["val"].Counts, []int{520, 1507}) {
		t.Errorf("classes %v, splits %+v", m.Classes, m.Splits)
	}
}

// TestOpenRawMatchesPrepared reads the validation records as raw data, from a
// WFDB folder and from a CSV written by ecg.WriteCSV, and compares with the
// prepared split.
func TestOpenRawMatchesPrepared(t *testing.T) {
	mitdb := testenv.MITDB(t)
	ctx := context.Background()

	// WFDB folder, window beats with RR features.
	data := wfdbData(mitdb, "window", true, []any{"101"}, []any{"106", "119"})
	dir, m := prepareT(t, data)
	vx, vy := splitSamples(t, dir, "val")
	raw, err := OpenRaw(ctx, data, copyRecords(t, mitdb, "106", "119"), "test")
	if err != nil {
		t.Fatal(err)
	}
	rm := raw.Manifest()
	if rm.SourceKind != schema.SourceWFDB || !slices.Equal(rm.Input, m.Input) || rm.Features != m.Features || rm.Splits["test"].N != m.Splits["val"].N || !slices.Equal(rm.Splits["test"].Records, []string{"106", "119"}) {
		t.Fatalf("raw manifest %+v", rm)
	}
	if rm.Digest == "" {
		t.Error("raw manifest has no digest")
	}
	rs, err := raw.Split("test", DefaultSplitOptions())
	if err != nil {
		t.Fatal(err)
	}
	rx, ry := samples(t, rs, 0)
	equalSamples(t, "raw WFDB", rx, ry, vx, vy)

	// CSV: Kachuee beats (187 samples) without RR features.
	kdata := wfdbData(mitdb, "kachuee", false, []any{"101"}, []any{"119"})
	kdir, _ := prepareT(t, kdata)
	kx, ky := splitSamples(t, kdir, "val")
	ds, _, err := ecg.Load(mitdb, []string{"119"}, ecg.KachueeOptions())
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := ecg.WriteCSV(&buf, ds, 0); err != nil {
		t.Fatal(err)
	}
	csv := filepath.Join(t.TempDir(), "beats.csv")
	if err := os.WriteFile(csv, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	craw, err := OpenRaw(ctx, kdata, csv, "val")
	if err != nil {
		t.Fatal(err)
	}
	if cm := craw.Manifest(); cm.SourceKind != schema.SourceCSV || !slices.Equal(cm.Input, []int{1, 187}) || cm.Features != 0 {
		t.Fatalf("csv manifest %+v", cm)
	}
	cs, err := craw.Split("val", DefaultSplitOptions())
	if err != nil {
		t.Fatal(err)
	}
	cx, cy := samples(t, cs, 0)
	equalSamples(t, "raw CSV", cx, cy, kx, ky)
	if id := cs.(*Beats).ID(2); id != "line 3" {
		t.Errorf("csv ID(2) = %q", id)
	}

	// RR features cannot come from a CSV.
	if _, err := OpenRaw(ctx, data, csv, "val"); err == nil || !strings.Contains(err.Error(), "data.signal.rrFeatures") {
		t.Errorf("csv with RR features: %v", err)
	}
}

// TestPrepareCSV prepares a beat CSV split by fraction, stratified by class.
func TestPrepareCSV(t *testing.T) {
	mitdb := testenv.MITDB(t)
	ds, _, err := ecg.Load(mitdb, []string{"208"}, ecg.KachueeOptions())
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := ecg.WriteCSV(&buf, ds, 0); err != nil {
		t.Fatal(err)
	}
	folder := t.TempDir()
	csv := filepath.Join(folder, "mitbih_208.csv")
	if err := os.WriteFile(csv, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	data := wfdbData(csv, "kachuee", false, nil, nil)
	data.Source.Kind = schema.SourceCSV
	data.Split = schema.Split{By: schema.SplitByFraction, Seed: 3, Train: 0.7, Val: 0.2, Test: 0.1}
	dir, m := prepareT(t, data)
	// 208: N 1586, S 2, V 992, F 373, Q 2, each class split 0.7/0.2/0.1 by
	// largest remainder, ties to the earlier split (V: 694.4, 198.4, 99.2).
	want := map[string][]int{
		"train": {1110, 2, 695, 261, 2},
		"val":   {317, 0, 198, 75, 0},
		"test":  {159, 0, 99, 37, 0},
	}
	for n, w := range want {
		if got := m.Splits[n].Counts; !slices.Equal(got, w) {
			t.Errorf("split %s counts %v, want %v", n, got, w)
		}
	}
	if m.SourceKind != schema.SourceCSV || !slices.Equal(m.Input, []int{1, 187}) || m.Features != 0 {
		t.Errorf("manifest %+v", m)
	}
	// Every line is in exactly one split.
	set, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, n := range []string{"train", "val", "test"} {
		sp, err := set.Split(n, DefaultSplitOptions())
		if err != nil {
			t.Fatal(err)
		}
		for i := range sp.Len() {
			id := sp.(*Beats).ID(i)
			if seen[id] {
				t.Fatalf("%s in two splits", id)
			}
			seen[id] = true
		}
	}
	if len(seen) != len(ds.Beats) {
		t.Errorf("%d beats in the splits, %d in the CSV", len(seen), len(ds.Beats))
	}
	// A folder holding one CSV works too, with the same digest.
	data.Source.Path = folder
	_, m2 := prepareT(t, data)
	if m2.Digest != m.Digest {
		t.Errorf("folder digest %s, file digest %s", m2.Digest, m.Digest)
	}
}

// TestPrepareImagesFolder prepares a small Kermany tree split by folder and
// checks the copies, the counts, the samples and the augmentation.
func TestPrepareImagesFolder(t *testing.T) {
	root := testenv.Pneumonia(t)
	src := smallImages(t, root, map[string]map[string]int{
		"train": {"NORMAL": 12, "PNEUMONIA": 18},
		"val":   {"NORMAL": 4, "PNEUMONIA": 6},
	}, false)
	data := imageData(src, schema.Split{By: schema.SplitByFolder, Seed: 1, Train: "train", Val: "val"})
	dir, m := prepareT(t, data)
	if m.Kind != KindImage || !slices.Equal(m.Classes, []string{"NORMAL", "PNEUMONIA"}) || !slices.Equal(m.Input, []int{1, 28, 28}) {
		t.Fatalf("manifest %+v", m)
	}
	if !slices.Equal(m.Splits["train"].Counts, []int{12, 18}) || !slices.Equal(m.Splits["val"].Counts, []int{4, 6}) || m.Splits["train"].File != "train" {
		t.Fatalf("splits %+v", m.Splits)
	}
	// Copies are byte for byte, so the prepared folders digest like the source.
	for _, n := range []string{"train", "val"} {
		a, err := digest.Dir(context.Background(), filepath.Join(src, n), digest.DefaultOptions())
		if err != nil {
			t.Fatal(err)
		}
		b, err := digest.Dir(context.Background(), filepath.Join(dir, n), digest.DefaultOptions())
		if err != nil {
			t.Fatal(err)
		}
		if a.Digest() != b.Digest() {
			t.Errorf("split %s: copies differ from the source", n)
		}
	}
	whole, err := digest.Dir(context.Background(), src, digest.DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	if m.Digest != whole.Digest() {
		t.Errorf("digest %s, want the digest of the whole source %s", m.Digest, whole.Digest())
	}

	set, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	o := images.DefaultOptions()
	o.Size, o.Mean, o.Std = 28, []float32{0.5}, []float32{0.25}
	ref, err := images.Open(src, "val", o)
	if err != nil {
		t.Fatal(err)
	}
	rx, ry := samples(t, ref, 0)
	val, err := set.Split("val", SplitOptions{Train: false})
	if err != nil {
		t.Fatal(err)
	}
	vx, vy := samples(t, val, 0)
	equalSamples(t, "val", vx, vy, rx, ry)

	plain, err := set.Split("train", DefaultSplitOptions())
	if err != nil {
		t.Fatal(err)
	}
	aug, err := set.Split("train", SplitOptions{Train: true, Seed: 5, Cache: true})
	if err != nil {
		t.Fatal(err)
	}
	px, _ := samples(t, plain, 0)
	ax0, _ := samples(t, aug, 0)
	ax0again, _ := samples(t, aug, 0)
	ax1, _ := samples(t, aug, 1)
	if slices.Equal(px[0], ax0[0]) {
		t.Error("augmented sample equals the plain one")
	}
	if !slices.Equal(ax0[0], ax0again[0]) {
		t.Error("augmentation is not a function of (epoch, index)")
	}
	if slices.Equal(ax0[0], ax1[0]) {
		t.Error("epochs 0 and 1 augment alike")
	}
	off, err := set.Split("train", SplitOptions{Train: true, Augment: &schema.Augment{Enabled: false}, Cache: true})
	if err != nil {
		t.Fatal(err)
	}
	ox, _ := samples(t, off, 0)
	if !slices.Equal(ox[0], px[0]) {
		t.Error("the trial's augment.enabled=false did not switch augmentation off")
	}

	// Raw: the source root with split "val" reads the val folder.
	raw, err := OpenRaw(context.Background(), data, src, "val")
	if err != nil {
		t.Fatal(err)
	}
	rs, err := raw.Split("val", DefaultSplitOptions())
	if err != nil {
		t.Fatal(err)
	}
	gx, gy := samples(t, rs, 0)
	equalSamples(t, "raw val", gx, gy, rx, ry)
	// And a PATH/CLASS folder directly.
	raw2, err := OpenRaw(context.Background(), data, filepath.Join(src, "val"), "test")
	if err != nil {
		t.Fatal(err)
	}
	if got := raw2.Manifest().Splits["test"]; got.N != 10 {
		t.Errorf("raw class folders: %+v", got)
	}

	// Determinism.
	again, _ := prepareT(t, data)
	d1, _ := digest.Dir(context.Background(), dir, digest.DefaultOptions())
	d2, _ := digest.Dir(context.Background(), again, digest.DefaultOptions())
	if d1 == nil || d2 == nil || d1.Digest() != d2.Digest() {
		t.Error("two prepares differ")
	}

	// Tampering is caught when a split is opened.
	os.Remove(filepath.Join(dir, "val", "NORMAL", mustFirst(t, filepath.Join(dir, "val", "NORMAL"))))
	if _, err := set.Split("val", DefaultSplitOptions()); err == nil || !strings.Contains(err.Error(), "class counts [3 6], the manifest says [4 6]") {
		t.Errorf("tampered split: %v", err)
	}
}

func mustFirst(t *testing.T, dir string) string {
	t.Helper()
	e, err := os.ReadDir(dir)
	if err != nil || len(e) == 0 {
		t.Fatalf("listing %s: %v", dir, err)
	}
	return e[0].Name()
}

// TestPrepareImagesFraction splits a PATH/CLASS folder three ways.
func TestPrepareImagesFraction(t *testing.T) {
	root := testenv.Pneumonia(t)
	src := smallImages(t, root, map[string]map[string]int{"train": {"NORMAL": 10, "PNEUMONIA": 20}}, true)
	split := schema.Split{By: schema.SplitByFraction, Seed: 11, Train: 0.6, Val: 0.2, Test: 0.2}
	dir, m := prepareT(t, imageData(src, split))
	want := map[string][]int{"train": {6, 12}, "val": {2, 4}, "test": {2, 4}}
	for n, w := range want {
		if !slices.Equal(m.Splits[n].Counts, w) {
			t.Errorf("split %s: counts %v, want %v", n, m.Splits[n].Counts, w)
		}
	}
	seen := map[string]string{}
	for _, n := range []string{"train", "val", "test"} {
		for _, c := range m.Classes {
			es, err := os.ReadDir(filepath.Join(dir, n, c))
			if err != nil {
				t.Fatal(err)
			}
			for _, e := range es {
				if prev, ok := seen[c+"/"+e.Name()]; ok {
					t.Fatalf("%s/%s in %s and %s", c, e.Name(), prev, n)
				}
				seen[c+"/"+e.Name()] = n
			}
		}
	}
	if len(seen) != 30 {
		t.Errorf("%d images in the splits, want 30", len(seen))
	}
	// Another seed gives another assignment.
	split.Seed = 12
	dir2, m2 := prepareT(t, imageData(src, split))
	differs := false
	for k, n := range seen {
		if _, err := os.Stat(filepath.Join(dir2, n, k)); err != nil {
			differs = true
		}
	}
	if !differs || m2.Digest != m.Digest {
		t.Errorf("seed 12: same assignment (%v) or another source digest", !differs)
	}
}

// TestPrepareOCI pushes records to an in-process registry and prepares from
// the oci:// reference: same result as the local folder.
func TestPrepareOCI(t *testing.T) {
	mitdb := testenv.MITDB(t)
	local := copyRecords(t, mitdb, "101", "106")
	srv := httptest.NewServer(registry.New(registry.Logger(log.New(io.Discard, "", 0))))
	t.Cleanup(srv.Close)
	host := strings.TrimPrefix(srv.URL, "http://")
	ctx := context.Background()
	res, err := publish.PushDataset(ctx, publish.Dataset{Dir: local}, "oci://"+host+"/data/mitdb:v1", publish.DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	data := wfdbData(local, "window", false, []any{"101"}, []any{"106"})
	_, lm := prepareT(t, data)

	data.Source.Path = "oci://" + host + "/data/mitdb@" + res.Digest
	tmp := t.TempDir()
	opts := DefaultOptions()
	opts.DataKey, opts.TempDir = "key", tmp
	dir := filepath.Join(t.TempDir(), "p")
	om, err := Prepare(ctx, data, dir, opts)
	if err != nil {
		t.Fatal(err)
	}
	if om.Digest != lm.Digest || om.Source != data.Source.Path || !slices.Equal(om.Splits["val"].Counts, lm.Splits["val"].Counts) {
		t.Errorf("oci manifest %+v, local %+v", om, lm)
	}
	if left, _ := os.ReadDir(tmp); len(left) != 0 {
		t.Errorf("pulled copy left behind: %v", left)
	}
	// A tag with data.source.digest works; a wrong pin or none does not.
	for _, c := range []struct {
		path, pin, err string
	}{
		{"oci://" + host + "/data/mitdb:v1", res.Digest, ""},
		{"oci://" + host + "/data/mitdb:v1", "", "must pin its digest"},
		{"oci://" + host + "/data/mitdb:v1", "sha256:" + strings.Repeat("0", 64), "want sha256:000"},
		{"oci://" + host + "/data/mitdb@" + res.Digest, "sha256:" + strings.Repeat("1", 64), "disagrees with the digest"},
	} {
		d := data
		d.Source.Path, d.Source.Digest = c.path, c.pin
		out := filepath.Join(t.TempDir(), "p")
		_, err := Prepare(ctx, d, out, opts)
		if c.err == "" {
			if err != nil {
				t.Errorf("%s pinned %s: %v", c.path, c.pin, err)
			}
			continue
		}
		if err == nil || !strings.Contains(err.Error(), c.err) {
			t.Errorf("%s pinned %s: error %v, want %q", c.path, c.pin, err, c.err)
		}
		if _, serr := os.Stat(out); serr == nil {
			t.Errorf("failed Prepare left %s", out)
		}
	}
}

// TestPrepareErrors checks that bad configs and inputs fail with errors that
// name the field or path, and leave nothing behind.
func TestPrepareErrors(t *testing.T) {
	mitdb := testenv.MITDB(t)
	pneu := testenv.Pneumonia(t)
	imgs := smallImages(t, pneu, map[string]map[string]int{"train": {"NORMAL": 2, "PNEUMONIA": 2}, "val": {"NORMAL": 1}}, false)
	base := func() schema.Data { return wfdbData(mitdb, "window", true, []any{"101"}, []any{"106"}) }
	img := func() schema.Data {
		return imageData(imgs, schema.Split{By: schema.SplitByFolder, Train: "train", Val: "val"})
	}
	csv := filepath.Join(t.TempDir(), "b.csv")
	os.WriteFile(csv, []byte("0.1,0.2,1\n0.3,0.4,0\n"), 0o644)
	notEmpty := t.TempDir()
	os.WriteFile(filepath.Join(notEmpty, "x"), nil, 0o644)
	// beatCSV reads csv split by fraction, without RR features unless set
	// changes the signal.
	beatCSV := func(set func(*schema.Signal)) func() schema.Data {
		return func() schema.Data {
			d := base()
			d.Source = schema.Source{Kind: schema.SourceCSV, Path: csv}
			d.Signal.RRFeatures = false
			set(d.Signal)
			d.Split = schema.Split{By: schema.SplitByFraction, Train: 1.0}
			return d
		}
	}
	for _, c := range []struct {
		name string
		data func() schema.Data
		dir  string
		err  []string
	}{
		{"unknown record", func() schema.Data { d := base(); d.Split.Val = []any{"999"}; return d }, "", []string{`record "999"`, filepath.Join(mitdb, "999.hea")}},
		{"record not in source.records", func() schema.Data { d := base(); d.Source.Records = []string{"101"}; return d }, "", []string{`data.split.val: record "106" is not in data.source.records`}},
		{"record twice", func() schema.Data { d := base(); d.Split.Val = []any{"101"}; return d }, "", []string{`data.split.val: record "101" is already in data.split.train`}},
		{"wfdb by folder", func() schema.Data {
			d := base()
			d.Split = schema.Split{By: schema.SplitByFolder, Train: "t"}
			return d
		}, "", []string{`data.split.by: "folder"`}},
		{"fraction too few records", func() schema.Data {
			d := base()
			d.Source.Records = []string{"101"}
			d.Split = schema.Split{By: schema.SplitByFraction, Train: 0.8, Val: 0.2}
			return d
		}, "", []string{"data.split.val: fraction 0.2 of 1 records gives no record"}},
		{"wfdb path missing", func() schema.Data { d := base(); d.Source.Path = "/nonexistent/mitdb"; return d }, "", []string{"/nonexistent/mitdb"}},
		{"no signal", func() schema.Data { d := base(); d.Signal = nil; return d }, "", []string{"data.signal: missing"}},
		{"bad recipe", func() schema.Data { d := base(); d.Signal.Recipe = "pan-tompkins"; return d }, "", []string{`data.signal.recipe: "pan-tompkins"`}},
		{"bad lead", func() schema.Data { d := base(); d.Signal.Lead = "V9"; return d }, "", []string{`no signal "V9"`}},
		{"aami classes", func() schema.Data { d := base(); d.Classes = []string{"N", "V"}; return d }, "", []string{"data.classes: [N V]"}},
		{"bad kind", func() schema.Data { d := base(); d.Source.Kind = "parquet"; return d }, "", []string{`data.source.kind: "parquet"`}},
		{"pin mismatch", func() schema.Data { d := base(); d.Source.Digest = "sha256:" + strings.Repeat("a", 64); return d }, "", []string{"data.source.digest is sha256:aaa", "the source files used have digest sha256:"}},
		{"http", func() schema.Data { d := base(); d.Source.Path = "https://example.com/mitdb"; return d }, "", []string{"http(s) sources are not supported"}},
		{"not empty", base, notEmpty, []string{notEmpty + " is not empty"}},
		{"csv rr", beatCSV(func(s *schema.Signal) { s.RRFeatures = true }), "", []string{"data.signal.rrFeatures"}},
		{"csv template", beatCSV(func(s *schema.Signal) { s.RecordTemplate = true }), "", []string{"data.signal.recordTemplate: a beat CSV holds no records"}},
		{"csv relative rr", beatCSV(func(s *schema.Signal) { s.RRRelative = true }), "", []string{"data.signal.rrRelative: a beat CSV"}},
		{"csv rr irregularity", beatCSV(func(s *schema.Signal) { s.RRIrregularity = true }), "", []string{"data.signal.rrIrregularity: a beat CSV"}},
		{"csv symbols", beatCSV(func(s *schema.Signal) { s.Labels = schema.LabelsSymbols }), "", []string{`data.signal.labels: "symbols"`}},
		{"csv by record", func() schema.Data {
			d := beatCSV(func(*schema.Signal) {})()
			d.Split = base().Split
			return d
		}, "", []string{`data.split.by: "record": a beat CSV`}},
		{"missing split folder", func() schema.Data { d := img(); d.Split.Val = "validation"; return d }, "", []string{`data.split.val: folder "validation"`}},
		{"missing class folder", func() schema.Data { return img() }, "", []string{"data.split.val", filepath.Join(imgs, "val", "PNEUMONIA")}},
		{"images by record", func() schema.Data {
			d := img()
			d.Split = schema.Split{By: schema.SplitByRecord, Train: []any{"a"}}
			return d
		}, "", []string{"image folders have no records"}},
		{"images fraction on split folders", func() schema.Data {
			d := img()
			d.Split = schema.Split{By: schema.SplitByFraction, Train: 1.0}
			return d
		}, "", []string{`data.split.by "fraction" reads PATH/CLASS`}},
		{"no image config", func() schema.Data { d := img(); d.Image = nil; return d }, "", []string{"data.image: missing"}},
		{"image mean", func() schema.Data { d := img(); d.Image.Mean = []float64{0.1, 0.2}; return d }, "", []string{"data.image.mean: 2 values for 1 channels"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			dir := c.dir
			if dir == "" {
				dir = filepath.Join(t.TempDir(), "out")
			}
			_, err := Prepare(context.Background(), c.data(), dir, DefaultOptions())
			if err == nil {
				t.Fatal("no error")
			}
			t.Log(err)
			for _, w := range c.err {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
			if c.dir == "" {
				if _, serr := os.Stat(dir); serr == nil {
					t.Errorf("failed Prepare left %s", dir)
				}
			}
		})
	}
}

// TestOpenErrors checks Open, Split and OpenRaw on bad inputs.
func TestOpenErrors(t *testing.T) {
	mitdb := testenv.MITDB(t)
	pneu := testenv.Pneumonia(t)
	ctx := context.Background()
	data := wfdbData(mitdb, "window", false, []any{"101"}, []any{"106"})
	dir, _ := prepareT(t, data)

	// A split file swapped for another's.
	swapped := filepath.Join(t.TempDir(), "swapped")
	os.CopyFS(swapped, os.DirFS(dir))
	b, _ := os.ReadFile(filepath.Join(swapped, "train.safetensors"))
	os.WriteFile(filepath.Join(swapped, "val.safetensors"), b, 0o644)
	s, err := Open(swapped)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Split("val", DefaultSplitOptions()); err == nil || !strings.Contains(err.Error(), `tensor "x" is F32`) {
		t.Errorf("swapped split: %v", err)
	}
	// A split file missing.
	os.Remove(filepath.Join(swapped, "val.safetensors"))
	if _, err := Open(swapped); err == nil || !strings.Contains(err.Error(), "split val") {
		t.Errorf("missing split file: %v", err)
	}
	// An interrupted prepare.
	os.WriteFile(filepath.Join(swapped, FileIncomplete), nil, 0o644)
	if _, err := Open(swapped); err == nil || !strings.Contains(err.Error(), "not prepared completely") {
		t.Errorf("partial: %v", err)
	}
	if _, err := Open(t.TempDir()); err == nil || !strings.Contains(err.Error(), FileManifest) {
		t.Errorf("empty folder: %v", err)
	}

	imgData := imageData(pneu, schema.Split{By: schema.SplitByFolder, Train: "train", Val: "val"})
	for _, c := range []struct {
		name        string
		data        schema.Data
		path, split string
		err         string
	}{
		{"images model on WFDB", imgData, copyRecords(t, mitdb, "101"), "test", "the model reads images"},
		{"signal model on images", data, filepath.Join(pneu, "val"), "test", "the model reads signals"},
		{"missing path", data, "/nonexistent/raw", "test", "/nonexistent/raw"},
		{"bad split", data, mitdb, "holdout", `split "holdout"`},
		{"oci", data, "oci://example.com/x@sha256:" + strings.Repeat("0", 64), "test", "must be a local path"},
		{"images without classes", imgData, filepath.Join(pneu, "val", "NORMAL"), "test", "no class folder found"},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := OpenRaw(ctx, c.data, c.path, c.split)
			t.Log(err)
			if err == nil || !strings.Contains(err.Error(), c.err) {
				t.Fatalf("error %v, want %q", err, c.err)
			}
		})
	}
}

// TestPrepareRecordRelative: with data.signal.recordTemplate every sample
// is two channels (the window, then the window minus its own record's
// template) followed by the RR features, ten with data.signal.rrRelative
// and one more with data.signal.rrIrregularity; the same prepared or read
// raw.
func TestPrepareRecordRelative(t *testing.T) {
	mitdb := testenv.MITDB(t)
	data := wfdbData(mitdb, "window", true, []any{"101"}, []any{"106", "119"})
	data.Signal.RecordTemplate, data.Signal.RRRelative, data.Signal.RRIrregularity = true, true, true
	dir, m := prepareT(t, data)
	if !slices.Equal(m.Input, []int{2, 163}) || m.Features != 11 || !m.Signal.RecordTemplate || !m.Signal.RRRelative || !m.Signal.RRIrregularity {
		t.Fatalf("manifest input %v, features %d, signal %+v", m.Input, m.Features, m.Signal)
	}
	vx, vy := splitSamples(t, dir, "val")
	opt := ecg.DefaultOptions()
	opt.Before, opt.After, opt.RR, opt.RRRelative, opt.RRIrregularity, opt.Template = 0.5, 0.8, true, true, true, true
	ds, _, err := ecg.Load(mitdb, []string{"106", "119"}, opt)
	if err != nil {
		t.Fatal(err)
	}
	var wx [][]float32
	var wy []int
	for _, b := range ds.Beats {
		wx, wy = append(wx, append(slices.Clone(b.Signal), b.RR...)), append(wy, b.Class)
	}
	equalSamples(t, "prepared", vx, vy, wx, wy)
	// Most beats of 106 and 119 are N: their median difference is small
	// next to the window's own scale (z-scored: 1).
	var diff []float64
	for _, x := range vx {
		for _, v := range x[163 : 2*163] {
			diff = append(diff, math.Abs(float64(v)))
		}
	}
	slices.Sort(diff)
	if med := diff[len(diff)/2]; med > 0.3 {
		t.Errorf("median |beat - template| = %.3f, want well under 1", med)
	}

	raw, err := OpenRaw(context.Background(), data, copyRecords(t, mitdb, "106", "119"), "test")
	if err != nil {
		t.Fatal(err)
	}
	if rm := raw.Manifest(); !slices.Equal(rm.Input, m.Input) {
		t.Fatalf("raw input %v", rm.Input)
	}
	rs, err := raw.Split("test", DefaultSplitOptions())
	if err != nil {
		t.Fatal(err)
	}
	rx, ry := samples(t, rs, 0)
	equalSamples(t, "raw", rx, ry, vx, vy)

	data.Signal.Augment.Enabled = true
	if _, err := Prepare(context.Background(), data, t.TempDir(), DefaultOptions()); err == nil || !strings.Contains(err.Error(), "data.signal.augment.enabled") {
		t.Errorf("template with augmentation: %v", err)
	}
}
