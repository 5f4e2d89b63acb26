package dataset

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"parak8s.dev/parak8s/runtime/bundle"
	"parak8s.dev/parak8s/runtime/data/ecg"
	"parak8s.dev/parak8s/runtime/data/wfdb"
	"parak8s.dev/parak8s/schema"
)

// splitFormat tags the metadata of a signal split file.
const splitFormat = "parak8s.dataset.split.v1"

// Tensor names of a signal split file.
const (
	tensorX      = "x"
	tensorY      = "y"
	tensorSample = "sample"
	tensorRecord = "record"
)

// Beats is a signal split: fixed-size samples (a beat window followed by its
// RR features) with labels. It implements loader.Source and is safe for
// concurrent use.
type Beats struct {
	x       []float32
	y       []int64
	sample  []int64
	record  []int64 // index into records; nil when the beats come from a CSV
	records []string
	size    int
}

// Len returns the number of beats.
func (b *Beats) Len() int { return len(b.y) }

// SampleSize returns the number of float32 values of one sample.
func (b *Beats) SampleSize() int { return b.size }

// Get copies beat i into dst (epoch is ignored: augmentedBeats perturbs)
// and returns its label.
func (b *Beats) Get(i, _ int, dst []float32) (int, error) {
	if i < 0 || i >= len(b.y) {
		return 0, fmt.Errorf("getting beat %d of %d", i, len(b.y))
	}
	if len(dst) != b.size {
		return 0, fmt.Errorf("getting beat %d: buffer of %d values, want %d", i, len(dst), b.size)
	}
	copy(dst, b.x[i*b.size:(i+1)*b.size])
	return int(b.y[i]), nil
}

// ID names beat i: "RECORD:SAMPLE" (the R peak at the record's own rate) for
// WFDB beats, "line N" for CSV beats.
func (b *Beats) ID(i int) string {
	if b.record != nil {
		return b.records[b.record[i]] + ":" + strconv.FormatInt(b.sample[i], 10)
	}
	return "line " + strconv.FormatInt(b.sample[i], 10)
}

// counts returns the number of beats per class.
func (b *Beats) counts(k int) []int {
	c := make([]int, k)
	for _, y := range b.y {
		c[y]++
	}
	return c
}

// tensors returns the split file's tensors.
func (b *Beats) tensors() []bundle.Tensor {
	n := int64(len(b.y))
	ts := []bundle.Tensor{
		{Name: tensorX, DType: bundle.DTypeF32, Shape: []int64{n, int64(b.size)}, F32: b.x},
		{Name: tensorY, DType: bundle.DTypeI64, Shape: []int64{n}, I64: b.y},
		{Name: tensorSample, DType: bundle.DTypeI64, Shape: []int64{n}, I64: b.sample},
	}
	if b.record != nil {
		ts = append(ts, bundle.Tensor{Name: tensorRecord, DType: bundle.DTypeI64, Shape: []int64{n}, I64: b.record})
	}
	return ts
}

// readBeats reads a signal split file and checks it against the manifest.
func readBeats(path string, m *Manifest, info SplitInfo) (*Beats, error) {
	ts, md, err := bundle.ReadTensors(path)
	if err != nil {
		return nil, err
	}
	if md["format"] != splitFormat {
		return nil, fmt.Errorf("reading %s: format %q, want %q", path, md["format"], splitFormat)
	}
	byName := map[string]bundle.Tensor{}
	for _, t := range ts {
		byName[t.Name] = t
	}
	n, size := int64(info.N), int64(m.SampleSize())
	want := func(name, dtype string, shape ...int64) (bundle.Tensor, error) {
		t, ok := byName[name]
		if !ok {
			return t, fmt.Errorf("reading %s: no tensor %q", path, name)
		}
		if t.DType != dtype || !slices.Equal(t.Shape, shape) {
			return t, fmt.Errorf("reading %s: tensor %q is %s %v, want %s %v", path, name, t.DType, t.Shape, dtype, shape)
		}
		return t, nil
	}
	x, err := want(tensorX, bundle.DTypeF32, n, size)
	if err != nil {
		return nil, err
	}
	y, err := want(tensorY, bundle.DTypeI64, n)
	if err != nil {
		return nil, err
	}
	s, err := want(tensorSample, bundle.DTypeI64, n)
	if err != nil {
		return nil, err
	}
	b := &Beats{x: x.F32, y: y.I64, sample: s.I64, size: int(size), records: info.Records}
	if len(info.Records) > 0 {
		r, err := want(tensorRecord, bundle.DTypeI64, n)
		if err != nil {
			return nil, err
		}
		for i, v := range r.I64 {
			if v < 0 || v >= int64(len(info.Records)) {
				return nil, fmt.Errorf("reading %s: beat %d has record index %d, outside [0, %d)", path, i, v, len(info.Records))
			}
		}
		b.record = r.I64
	}
	k := int64(len(m.Classes))
	for i, v := range b.y {
		if v < 0 || v >= k {
			return nil, fmt.Errorf("reading %s: beat %d has label %d, outside [0, %d)", path, i, v, k)
		}
	}
	if c := b.counts(len(m.Classes)); !slices.Equal(c, info.Counts) {
		return nil, fmt.Errorf("reading %s: class counts %v, the manifest says %v", path, c, info.Counts)
	}
	return b, nil
}

// beatLength is the window length in samples that opt cuts.
func beatLength(opt ecg.Options) int {
	if opt.Method == ecg.MethodKachuee {
		return opt.KachueeLength
	}
	return int(math.Round(opt.Before*opt.Rate) + math.Round(opt.After*opt.Rate))
}

// labeler maps beats to class indices under data.signal.labels.
type labeler struct {
	classes []string
	index   map[string]int
	symbols bool
}

// newLabeler returns the class list and mapping. For "aami" the classes are
// ecg.AAMIClasses() and data.classes, when given, must be exactly those. For
// "symbols" the classes are data.classes or, when absent, the sorted beat
// symbols of all beats; beats whose symbol is not a class are left out.
func newLabeler(labels schema.LabelScheme, classes []string, all []ecg.Beat) (*labeler, error) {
	l := &labeler{symbols: labels == schema.LabelsSymbols}
	switch labels {
	case schema.LabelsAAMI:
		l.classes = ecg.AAMIClasses()
		if len(classes) > 0 && !slices.Equal(classes, l.classes) {
			return nil, fmt.Errorf("data.classes: %v: AAMI labels have the classes %v, in that order", classes, l.classes)
		}
	case schema.LabelsSymbols:
		l.classes = slices.Clone(classes)
		if len(l.classes) == 0 {
			seen := map[string]bool{}
			for _, b := range all {
				if !seen[b.Symbol] {
					seen[b.Symbol] = true
					l.classes = append(l.classes, b.Symbol)
				}
			}
			slices.Sort(l.classes)
		}
		if len(l.classes) < 2 {
			return nil, fmt.Errorf("data.classes: symbol labels need at least 2 classes, the beats give %v", l.classes)
		}
	default:
		return nil, fmt.Errorf("data.signal.labels: %q: want %q or %q", labels, schema.LabelsAAMI, schema.LabelsSymbols)
	}
	l.index = make(map[string]int, len(l.classes))
	for i, c := range l.classes {
		l.index[c] = i
	}
	return l, nil
}

func (l *labeler) label(b ecg.Beat) (int, bool) {
	if !l.symbols {
		return b.Class, b.Class >= 0 && b.Class < len(l.classes)
	}
	c, ok := l.index[b.Symbol]
	return c, ok
}

// toBeats turns ecg beats into a split: each sample is the window (length
// want) followed by nrr RR features. records names the WFDB records (nil for
// CSV beats). Beats without a class are left out and counted.
func toBeats(beats []ecg.Beat, l *labeler, want, nrr int, records []string) (*Beats, int, error) {
	b := &Beats{size: want + nrr, records: records}
	recIndex := map[string]int64{}
	for i, r := range records {
		recIndex[r] = int64(i)
	}
	b.x = make([]float32, 0, len(beats)*b.size)
	dropped := 0
	for _, e := range beats {
		c, ok := l.label(e)
		if !ok {
			dropped++
			continue
		}
		if len(e.Signal) != want || len(e.RR) != nrr {
			return nil, 0, fmt.Errorf("beat %s:%d has %d samples and %d RR features, want %d and %d", e.Record, e.Sample, len(e.Signal), len(e.RR), want, nrr)
		}
		b.x = append(b.x, e.Signal...)
		b.x = append(b.x, e.RR...)
		b.y = append(b.y, int64(c))
		b.sample = append(b.sample, e.Sample)
		if records != nil {
			ri, ok := recIndex[e.Record]
			if !ok {
				return nil, 0, fmt.Errorf("beat %s:%d: record not in the split", e.Record, e.Sample)
			}
			b.record = append(b.record, ri)
		}
	}
	if records != nil && b.record == nil {
		b.record = []int64{}
	}
	if b.y == nil {
		b.y, b.sample = []int64{}, []int64{}
	}
	return b, dropped, nil
}

// listRecords returns the records of a WFDB folder: the lines of its RECORDS
// file, or else the names of its *.hea files, sorted.
func listRecords(dir string) ([]string, error) {
	f, err := os.Open(filepath.Join(dir, "RECORDS"))
	if err == nil {
		defer f.Close()
		var out []string
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			if r := strings.TrimSpace(sc.Text()); r != "" && !strings.HasPrefix(r, "#") {
				out = append(out, r)
			}
		}
		if err := sc.Err(); err != nil {
			return nil, fmt.Errorf("listing records: %s: %w", f.Name(), err)
		}
		if len(out) == 0 {
			return nil, fmt.Errorf("listing records: %s names no record", f.Name())
		}
		return out, nil
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("listing records: %w", err)
	}
	heads, err := filepath.Glob(filepath.Join(dir, "*.hea"))
	if err != nil {
		return nil, fmt.Errorf("listing records of %s: %w", dir, err)
	}
	var out []string
	for _, h := range heads {
		out = append(out, strings.TrimSuffix(filepath.Base(h), ".hea"))
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("listing records of %s: no RECORDS file and no *.hea header", dir)
	}
	slices.Sort(out)
	return out, nil
}

// recordFiles returns the files a record is read from, relative to dir:
// its header, the signal files the header names and its annotation file.
func recordFiles(dir, record, annotator string) ([]string, error) {
	if record == "" || record != filepath.Base(record) || strings.ContainsAny(record, `/\`) {
		return nil, fmt.Errorf("record %q: not a record name", record)
	}
	hea := record + ".hea"
	f, err := os.Open(filepath.Join(dir, hea))
	if err != nil {
		return nil, fmt.Errorf("record %q: %w", record, err)
	}
	h, err := wfdb.ReadHeader(f)
	f.Close()
	if err != nil {
		return nil, fmt.Errorf("record %q: %s: %w", record, filepath.Join(dir, hea), err)
	}
	files := []string{hea}
	for _, s := range h.Signals {
		if s.File == "" || filepath.IsAbs(s.File) || strings.Contains(s.File, "..") || strings.Contains(s.File, `\`) {
			return nil, fmt.Errorf("record %q: signal file %q is not inside %s", record, s.File, dir)
		}
		if !slices.Contains(files, s.File) {
			files = append(files, s.File)
		}
	}
	atr := record + "." + annotator
	if _, err := os.Stat(filepath.Join(dir, atr)); err != nil {
		return nil, fmt.Errorf("record %q: %w", record, err)
	}
	return append(files, atr), nil
}

// signalSource is what the signal sources yield: beats per split, ready to
// write, and the source files they come from.
type signalSource struct {
	classes  []string
	channels int // signal channels C (2 with data.signal.recordTemplate)
	length   int // window length L per channel
	features int // RR features F
	splits   map[string]*Beats
	root     string   // digest root
	files    []string // source files, relative to root
}

// loadWFDB reads the records of each split from dir with the preprocessing
// of sig. parts maps split names to record lists.
func loadWFDB(ctx context.Context, dir string, parts map[string][]string, sig *schema.Signal, classes []string) (*signalSource, error) {
	opt, err := ECGOptions(sig)
	if err != nil {
		return nil, err
	}
	var all []string
	for _, n := range SplitNames() {
		all = append(all, parts[n]...)
	}
	var files []string
	for _, r := range all {
		rf, err := recordFiles(dir, r, opt.Annotator)
		if err != nil {
			return nil, fmt.Errorf("reading WFDB records in %s: %w", dir, err)
		}
		files = append(files, rf...)
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	ds, _, err := ecg.Load(dir, all, opt)
	if err != nil {
		return nil, fmt.Errorf("reading WFDB records in %s: %w", dir, err)
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	l, err := newLabeler(sig.Labels, classes, ds.Beats)
	if err != nil {
		return nil, err
	}
	src := &signalSource{classes: l.classes, channels: opt.Channels(), length: beatLength(opt), splits: map[string]*Beats{}, root: dir, files: files}
	src.features = opt.Features()
	for name, recs := range parts {
		if len(recs) == 0 {
			continue
		}
		b, _, err := toBeats(ds.Subset(recs).Beats, l, src.channels*src.length, src.features, slices.Clone(recs))
		if err != nil {
			return nil, fmt.Errorf("reading WFDB records in %s: %w", dir, err)
		}
		src.splits[name] = b
	}
	return src, nil
}

// readCSV reads a Kaggle-style beat CSV: its beats, their labeler and width.
func readCSV(path string, sig *schema.Signal, classes []string) (*ecg.Dataset, *labeler, error) {
	if sig == nil {
		return nil, nil, fmt.Errorf("data.signal: missing (signal sources need it)")
	}
	if sig.Labels != schema.LabelsAAMI {
		return nil, nil, fmt.Errorf("data.signal.labels: %q: a beat CSV holds AAMI class numbers, use %q", sig.Labels, schema.LabelsAAMI)
	}
	if sig.RecordTemplate {
		return nil, nil, fmt.Errorf("data.signal.recordTemplate: a beat CSV holds no records to take templates from; set it to false")
	}
	for _, f := range []struct {
		name string
		on   bool
	}{{"rrFeatures", sig.RRFeatures}, {"rrRelative", sig.RRRelative}, {"rrIrregularity", sig.RRIrregularity}, {"rrAverage", sig.RRAverage}} {
		if f.on {
			return nil, nil, fmt.Errorf("data.signal.%s: a beat CSV holds no R-peak times to compute RR features from; set it to false", f.name)
		}
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, fmt.Errorf("reading beat CSV: %w", err)
	}
	defer f.Close()
	ds, err := ecg.ReadCSV(bufio.NewReaderSize(f, 1<<20), path)
	if err != nil {
		return nil, nil, fmt.Errorf("reading beat CSV: %w", err)
	}
	if len(ds.Beats) == 0 {
		return nil, nil, fmt.Errorf("reading beat CSV %s: no beats", path)
	}
	l, err := newLabeler(schema.LabelsAAMI, classes, nil)
	if err != nil {
		return nil, nil, err
	}
	return ds, l, nil
}

// loadCSV reads a beat CSV and splits it by fraction, stratified by class
// (beats are keyed by line number).
func loadCSV(path string, sig *schema.Signal, classes []string, sp splitSpec) (*signalSource, error) {
	if sp.by != schema.SplitByFraction {
		return nil, fmt.Errorf("data.split.by: %q: a beat CSV has no records; use %q, or %q with one NAME.csv file per split", sp.by, schema.SplitByFraction, schema.SplitByFolder)
	}
	ds, l, err := readCSV(path, sig, classes)
	if err != nil {
		return nil, err
	}
	width := len(ds.Beats[0].Signal)
	names := sp.names()
	fractions := make([]float64, len(names))
	for i, n := range names {
		fractions[i] = sp.fractions[n]
	}
	labels := make([]int, len(ds.Beats))
	keys := make([]string, len(ds.Beats))
	for i, b := range ds.Beats {
		labels[i] = b.Class
		keys[i] = strconv.FormatInt(b.Sample, 10)
	}
	part := stratify(labels, keys, sp.seed, fractions)
	src := &signalSource{classes: l.classes, channels: 1, length: width, splits: map[string]*Beats{}, root: filepath.Dir(path), files: []string{filepath.Base(path)}}
	for p, n := range names {
		var sel []ecg.Beat
		for i, b := range ds.Beats {
			if part[i] == p {
				sel = append(sel, b)
			}
		}
		b, _, err := toBeats(sel, l, width, 0, nil)
		if err != nil {
			return nil, fmt.Errorf("reading beat CSV %s: %w", path, err)
		}
		src.splits[n] = b
	}
	return src, nil
}

// loadCSVFolder reads one beat CSV per split, dir/NAME.csv for the file
// NAME that data.split names (split.by "folder"): beats split by patient
// before they became rows, as `parac data csv` writes them. All files must
// have one width.
func loadCSVFolder(dir string, sig *schema.Signal, classes []string, sp splitSpec) (*signalSource, error) {
	src := &signalSource{channels: 1, splits: map[string]*Beats{}, root: dir}
	for _, n := range sp.names() {
		name := sp.folders[n] + ".csv"
		ds, l, err := readCSV(filepath.Join(dir, name), sig, classes)
		if err != nil {
			return nil, fmt.Errorf("data.split.%s: %w", n, err)
		}
		width := len(ds.Beats[0].Signal)
		if src.length == 0 {
			src.length, src.classes = width, l.classes
		} else if width != src.length {
			return nil, fmt.Errorf("data.split.%s: %s has %d samples per beat, %s.csv has %d", n, name, width, sp.folders[SplitTrain], src.length)
		}
		b, _, err := toBeats(ds.Beats, l, width, 0, nil)
		if err != nil {
			return nil, fmt.Errorf("reading beat CSV %s: %w", name, err)
		}
		src.splits[n] = b
		src.files = append(src.files, name)
	}
	return src, nil
}
