package dataset

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"parak8s.dev/parak8s/runtime/data/digest"
	"parak8s.dev/parak8s/runtime/data/images"
	"parak8s.dev/parak8s/runtime/data/loader"
	"parak8s.dev/parak8s/schema"
)

// Set is a prepared data set (Open) or raw data read with a model's
// preprocessing (OpenRaw). Its methods are safe for concurrent use.
type Set struct {
	m   Manifest
	dir string // prepared directory; "" for raw data
	// Raw data: the beats of the split (signals) or the folder holding
	// CLASS/* (images).
	beats     map[string]*Beats
	imageDirs map[string]string
}

// Manifest returns the set's manifest.
func (s *Set) Manifest() Manifest { return s.m }

// Dir returns the prepared directory ("" for raw data).
func (s *Set) Dir() string { return s.dir }

// Open opens the prepared data set in dir: it reads and checks the manifest
// and that every split's file or folder is there. Split reads the data.
func Open(dir string) (*Set, error) {
	st, err := Inspect(dir)
	if err != nil {
		return nil, err
	}
	if st == StatePartial {
		return nil, fmt.Errorf("opening data set %s: it was not prepared completely (%s is present)", dir, FileIncomplete)
	}
	m, err := ReadManifest(dir)
	if err != nil {
		return nil, err
	}
	for _, n := range m.SplitNames() {
		p := filepath.Join(dir, m.Splits[n].File)
		fi, err := os.Stat(p)
		if err != nil {
			return nil, fmt.Errorf("opening data set %s: split %s: %w", dir, n, err)
		}
		if fi.IsDir() != (m.Kind == KindImage) {
			return nil, fmt.Errorf("opening data set %s: split %s: %s is not a %s", dir, n, p, map[bool]string{true: "folder", false: "file"}[m.Kind == KindImage])
		}
	}
	return &Set{m: *m, dir: dir}, nil
}

// SplitOptions say how Set.Split serves a split.
type SplitOptions struct {
	// Train asks for training augmentation (only when the augmentation of
	// the set's kind is enabled).
	Train bool
	// Augment is the trial's data.image.augment and SignalAugment its
	// data.signal.augment (augmentation is not part of the data key, so a
	// shared prepared set does not fix it); nil uses the one recorded in the
	// manifest.
	Augment       *schema.Augment
	SignalAugment *schema.SignalAugment
	// Seed seeds the augmentation (with the epoch and the sample index).
	Seed uint64
	// Cache keeps decoded, resized images in memory after their first read.
	Cache bool
}

// DefaultSplitOptions returns evaluation settings: no augmentation, images
// cached.
func DefaultSplitOptions() SplitOptions { return SplitOptions{Cache: true} }

// Split opens the split name ("train", "val" or "test"). Signal splits are
// *Beats; image splits are *images.Dataset, which decode the files on demand
// with the preprocessing of data.image.
func (s *Set) Split(name string, opts SplitOptions) (loader.Source, error) {
	info, ok := s.m.Splits[name]
	if !ok {
		return nil, fmt.Errorf("opening split %q of %s: the data set has splits %s", name, s.where(), strings.Join(s.m.SplitNames(), ", "))
	}
	switch s.m.Kind {
	case KindSignal:
		if b, ok := s.beats[name]; ok {
			return s.augmentBeats(b, opts), nil
		}
		b, err := readBeats(filepath.Join(s.dir, info.File), &s.m, info)
		if err != nil {
			return nil, fmt.Errorf("opening split %q: %w", name, err)
		}
		return s.augmentBeats(b, opts), nil
	case KindImage:
		o, err := imageOptions(s.m.Image, s.m.Classes)
		if err != nil {
			return nil, fmt.Errorf("opening split %q of %s: %w", name, s.where(), err)
		}
		o.Cache = opts.Cache
		if opts.Train {
			aug := s.m.Image.Augment
			if opts.Augment != nil {
				aug = *opts.Augment
			}
			if o.Augment, err = augmentOptions(aug, opts.Seed); err != nil {
				return nil, fmt.Errorf("opening split %q of %s: %w", name, s.where(), err)
			}
		}
		folder := filepath.Join(s.dir, info.File)
		if d, ok := s.imageDirs[name]; ok {
			folder = d
		}
		d, err := images.OpenDir(folder, o)
		if err != nil {
			return nil, fmt.Errorf("opening split %q: %w", name, err)
		}
		if c := d.ClassCounts(); !slices.Equal(c, info.Counts) {
			return nil, fmt.Errorf("opening split %q: folder %s holds class counts %v, the manifest says %v", name, folder, c, info.Counts)
		}
		return d, nil
	}
	return nil, fmt.Errorf("opening split %q of %s: kind %q", name, s.where(), s.m.Kind)
}

// augmentBeats wraps a training split when signal augmentation is on.
func (s *Set) augmentBeats(b *Beats, opts SplitOptions) loader.Source {
	var aug schema.SignalAugment
	if s.m.Signal != nil {
		aug = s.m.Signal.Augment
	}
	if opts.SignalAugment != nil {
		aug = *opts.SignalAugment
	}
	if !opts.Train || !aug.Enabled || s.m.Signal == nil {
		return b
	}
	return newAugmentedBeats(b, aug, b.size-s.m.Features, float64(s.m.Signal.SampleRate), opts.Seed)
}

func (s *Set) where() string {
	if s.dir != "" {
		return s.dir
	}
	return s.m.Source
}

// Raw layouts found by OpenRaw.
func detectRaw(path string) (schema.SourceKind, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return "", fmt.Errorf("reading raw data: %w", err)
	}
	if !fi.IsDir() {
		return schema.SourceCSV, nil
	}
	heads, err := filepath.Glob(filepath.Join(path, "*.hea"))
	if err != nil {
		return "", fmt.Errorf("reading raw data %s: %w", path, err)
	}
	if len(heads) > 0 {
		return schema.SourceWFDB, nil
	}
	return schema.SourceImages, nil
}

// rawCSVFile is the beat CSV that OpenRaw reads for split: path itself
// when it is a file; in a folder, NAME.csv for the file data.split names
// (split.by "folder"), else the folder's only *.csv file.
func rawCSVFile(path string, sp schema.Split, split string) (string, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return "", fmt.Errorf("reading raw data: %w", err)
	}
	if !fi.IsDir() {
		return path, nil
	}
	if sp.By != schema.SplitByFolder {
		return csvFile(path)
	}
	name, _ := map[string]any{SplitTrain: sp.Train, SplitVal: sp.Val, SplitTest: sp.Test}[split].(string)
	if name == "" {
		return "", fmt.Errorf("data.split.%s: no file named for this split", split)
	}
	return filepath.Join(path, name+".csv"), nil
}

// OpenRaw reads the raw data at path with the preprocessing of data (a
// model's data config) as one split named split. What path holds decides
// how it is read: a file is a beat CSV (for a CSV source, a folder gives
// the file of split, see rawCSVFile), a folder with *.hea headers is WFDB
// records (those of data.source.records, else all of them: the RECORDS file
// or every header), any other folder
// is images, either PATH/CLASS/* or PATH/SPLIT/CLASS/*. The layout must
// agree with data.source.kind: signals (wfdb, csv) read WFDB records or a
// CSV, images read image folders. data.classes, when set, fixes the label
// order (give the model's classes); for "symbols" labels, beats of other
// symbols are left out. The caller checks Manifest().Input against the
// model's input.
func OpenRaw(ctx context.Context, data schema.Data, path, split string) (*Set, error) {
	s, err := openRaw(ctx, data, path, split)
	if err != nil {
		return nil, fmt.Errorf("opening raw data %s: %w", path, err)
	}
	return s, nil
}

func openRaw(ctx context.Context, data schema.Data, path, split string) (*Set, error) {
	if !slices.Contains(SplitNames(), split) {
		return nil, fmt.Errorf("split %q: want one of %s", split, strings.Join(SplitNames(), ", "))
	}
	if strings.Contains(path, "://") {
		return nil, fmt.Errorf("raw data must be a local path")
	}
	if data.Source.Kind == schema.SourceCSV {
		file, err := rawCSVFile(path, data.Split, split)
		if err != nil {
			return nil, err
		}
		path = file
	}
	layout, err := detectRaw(path)
	if err != nil {
		return nil, err
	}
	signal := data.Source.Kind.Signal()
	switch {
	case data.Source.Kind != schema.SourceImages && !signal:
		return nil, fmt.Errorf("data.source.kind: %q: want %q, %q or %q", data.Source.Kind, schema.SourceWFDB, schema.SourceCSV, schema.SourceImages)
	case signal && layout == schema.SourceImages:
		return nil, fmt.Errorf("the model reads signals (data.source.kind %q), but %s holds neither WFDB headers (*.hea) nor is a CSV file", data.Source.Kind, path)
	case !signal && layout != schema.SourceImages:
		return nil, fmt.Errorf("the model reads images (data.source.kind %q), but %s %s", data.Source.Kind, path, map[schema.SourceKind]string{schema.SourceWFDB: "holds WFDB records", schema.SourceCSV: "is a file, not an image folder"}[layout])
	}
	m := Manifest{Format: Format, SourceKind: layout, Source: path, Splits: map[string]SplitInfo{}}
	set := &Set{}
	var (
		root  string
		files []string
	)
	dopts := DefaultOptions().Digest
	switch layout {
	case schema.SourceWFDB, schema.SourceCSV:
		var src *signalSource
		if layout == schema.SourceWFDB {
			recs := data.Source.Records
			if len(recs) == 0 {
				var err error
				if recs, err = listRecords(path); err != nil {
					return nil, err
				}
			}
			var err error
			src, err = loadWFDB(ctx, path, map[string][]string{split: recs}, data.Signal, data.Classes)
			if err != nil {
				return nil, err
			}
		} else {
			ds, l, err := readCSV(path, data.Signal, data.Classes)
			if err != nil {
				return nil, err
			}
			width := len(ds.Beats[0].Signal)
			b, _, err := toBeats(ds.Beats, l, width, 0, nil)
			if err != nil {
				return nil, err
			}
			src = &signalSource{classes: l.classes, channels: 1, length: width, splits: map[string]*Beats{split: b}, root: filepath.Dir(path), files: []string{filepath.Base(path)}}
		}
		b := src.splits[split]
		sig := *data.Signal
		m.Kind, m.Classes, m.Signal = KindSignal, src.classes, &sig
		m.Input, m.Features = []int{src.channels, src.length}, src.features
		m.Splits[split] = SplitInfo{N: b.Len(), Counts: b.counts(len(src.classes)), Records: b.records, File: split}
		set.beats = map[string]*Beats{split: b}
		root, files = src.root, src.files
	case schema.SourceImages:
		if _, err := imageOptions(data.Image, data.Classes); err != nil {
			return nil, err
		}
		folder := path
		classes, samples, err := images.Scan(folder, data.Classes)
		if err != nil {
			sub := filepath.Join(path, split)
			if fi, serr := os.Stat(sub); serr != nil || !fi.IsDir() {
				return nil, err
			}
			folder = sub
			if classes, samples, err = images.Scan(folder, data.Classes); err != nil {
				return nil, err
			}
		}
		img := *data.Image
		m.Kind, m.Classes, m.Image = KindImage, classes, &img
		m.Input = []int{img.Channels, img.Size, img.Size}
		m.Splits[split] = SplitInfo{N: len(samples), Counts: sampleCounts(samples, len(classes)), File: split}
		set.imageDirs = map[string]string{split: folder}
		root = path
		for _, s := range samples {
			rel, err := filepath.Rel(path, s.Path)
			if err != nil {
				return nil, err
			}
			files = append(files, filepath.ToSlash(rel))
		}
	}
	if err := m.check(); err != nil {
		return nil, err
	}
	dm, err := digest.Files(ctx, root, files, dopts)
	if err != nil {
		return nil, fmt.Errorf("hashing the files read: %w", err)
	}
	m.Digest = dm.Digest()
	set.m = m
	return set, nil
}

// ReadAll reads every sample of a source as prepared for epoch 0 (no
// augmentation): the samples one after the other, and their labels.
func ReadAll(src loader.Source) ([]float32, []int, error) {
	n, size := src.Len(), src.SampleSize()
	x := make([]float32, n*size)
	y := make([]int, n)
	for i := 0; i < n; i++ {
		l, err := src.Get(i, 0, x[i*size:(i+1)*size])
		if err != nil {
			return nil, nil, err
		}
		y[i] = l
	}
	return x, y, nil
}

// RecordIDs returns, per sample of src, the index of its record among the
// split's records (beats of WFDB records, unaugmented); nil for any other
// source, a beat CSV's included.
func RecordIDs(src loader.Source) []int64 {
	if b, ok := src.(*Beats); ok {
		return b.record
	}
	return nil
}

// SplitRecords returns the WFDB records a record split (data.split.by
// "record") assigns to the split name; nil for other kinds of split.
func SplitRecords(sp schema.Split, name string) ([]string, error) {
	s, err := parseSplit(sp)
	if err != nil || s.by != schema.SplitByRecord {
		return nil, err
	}
	return s.records[name], nil
}
