package images

import (
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"sync"
)

// Dataset is an indexed list of labelled images that produces normalised
// CHW float32 tensors. It is safe for concurrent use and satisfies
// loader.Source.
type Dataset struct {
	opts    Options
	classes []string
	samples []Sample
	scratch sync.Pool // *scratch
	cache   []cacheSlot
}

type cacheSlot struct {
	once sync.Once
	pix  []float32
	err  error
}

type scratch struct {
	tmp, a, b []float32
}

// Open reads the split folder root/split (for example root/train) in the
// layout described by Scan.
func Open(root, split string, opts Options) (*Dataset, error) {
	return OpenDir(filepath.Join(root, split), opts)
}

// OpenDir reads dir in the layout dir/CLASS/*.png|jpg|jpeg.
func OpenDir(dir string, opts Options) (*Dataset, error) {
	if err := opts.validate(); err != nil {
		return nil, fmt.Errorf("opening image folder %q: %w", dir, err)
	}
	classes, samples, err := Scan(dir, opts.Classes)
	if err != nil {
		return nil, fmt.Errorf("opening image folder %q: %w", dir, err)
	}
	return newDataset(classes, samples, opts), nil
}

// New makes a Dataset from samples (for example one part of
// SplitStratified) whose labels index classes.
func New(classes []string, samples []Sample, opts Options) (*Dataset, error) {
	if err := opts.validate(); err != nil {
		return nil, fmt.Errorf("making image dataset: %w", err)
	}
	if len(classes) == 0 {
		return nil, errors.New("making image dataset: no classes")
	}
	for _, s := range samples {
		if s.Label < 0 || s.Label >= len(classes) {
			return nil, fmt.Errorf("making image dataset: sample %q has label %d, outside [0,%d)", s.Path, s.Label, len(classes))
		}
	}
	return newDataset(slices.Clone(classes), slices.Clone(samples), opts), nil
}

func newDataset(classes []string, samples []Sample, opts Options) *Dataset {
	opts.Mean = slices.Clone(opts.Mean)
	opts.Std = slices.Clone(opts.Std)
	opts.Classes = slices.Clone(opts.Classes)
	d := &Dataset{opts: opts, classes: classes, samples: samples}
	d.scratch.New = func() any { return new(scratch) }
	if opts.Cache {
		d.cache = make([]cacheSlot, len(samples))
	}
	return d
}

// Len returns the number of samples.
func (d *Dataset) Len() int { return len(d.samples) }

// Classes returns the class names in label order.
func (d *Dataset) Classes() []string { return slices.Clone(d.classes) }

// Samples returns a copy of the samples.
func (d *Dataset) Samples() []Sample { return slices.Clone(d.samples) }

// Options returns the options the Dataset was made with.
func (d *Dataset) Options() Options {
	o := d.opts
	o.Mean, o.Std, o.Classes = slices.Clone(o.Mean), slices.Clone(o.Std), slices.Clone(o.Classes)
	return o
}

// Shape returns the channels, height and width of one sample.
func (d *Dataset) Shape() (c, h, w int) { return d.opts.Channels, d.opts.Size, d.opts.Size }

// SampleSize returns the number of float32 values of one sample.
func (d *Dataset) SampleSize() int { return d.opts.Channels * d.opts.Size * d.opts.Size }

// ClassCounts returns the number of samples of every class.
func (d *Dataset) ClassCounts() []int {
	n := make([]int, len(d.classes))
	for _, s := range d.samples {
		n[s.Label]++
	}
	return n
}

// Get writes sample i, augmented for epoch when augmentation is enabled and
// normalised, into dst (SampleSize values, CHW) and returns its label.
func (d *Dataset) Get(i, epoch int, dst []float32) (int, error) {
	if i < 0 || i >= len(d.samples) {
		return 0, fmt.Errorf("getting image %d: index outside [0,%d)", i, len(d.samples))
	}
	if len(dst) != d.SampleSize() {
		return 0, fmt.Errorf("getting image %d: destination holds %d values, want %d", i, len(dst), d.SampleSize())
	}
	s := d.samples[i]
	sc := d.scratch.Get().(*scratch)
	defer d.scratch.Put(sc)
	n := d.SampleSize()
	base, err := d.resized(i, sc)
	if err != nil {
		return 0, fmt.Errorf("getting image %d %q: %w", i, s.Path, err)
	}
	pix := base
	if a := d.opts.Augment; a.Enabled {
		sc.b = grow(sc.b, n)
		dr := a.drawFor(epoch, i, d.opts.Size)
		if dr.identityGeometry() {
			copy(sc.b, base)
		} else {
			warp(base, sc.b, d.opts.Channels, d.opts.Size, dr, a.Fill)
		}
		jitter(sc.b, dr)
		pix = sc.b
	}
	d.normalise(pix, dst)
	return s.Label, nil
}

// resized returns sample i resized to the output size with values in [0,1],
// from the cache when enabled, otherwise in sc.a. The result must not be
// modified.
func (d *Dataset) resized(i int, sc *scratch) ([]float32, error) {
	if d.cache != nil {
		slot := &d.cache[i]
		slot.once.Do(func() {
			pix := make([]float32, d.SampleSize())
			var tmp []float32
			slot.err = d.load(i, pix, &tmp)
			if slot.err == nil {
				slot.pix = pix
			}
		})
		return slot.pix, slot.err
	}
	sc.a = grow(sc.a, d.SampleSize())
	return sc.a, d.load(i, sc.a, &sc.tmp)
}

// load reads, decodes and resizes sample i into dst.
func (d *Dataset) load(i int, dst []float32, tmp *[]float32) error {
	data, err := os.ReadFile(d.samples[i].Path)
	if err != nil {
		return err
	}
	p, err := decode(data, d.opts.Channels, d.opts.MaxPixels)
	if err != nil {
		return err
	}
	*tmp = resize(p, d.opts.Size, d.opts.Filter, dst, *tmp)
	return nil
}

func (d *Dataset) normalise(src, dst []float32) {
	n := d.opts.Size * d.opts.Size
	for c := range d.opts.Channels {
		m, inv := chanValue(d.opts.Mean, c), 1/chanValue(d.opts.Std, c)
		s, o := src[c*n:(c+1)*n], dst[c*n:(c+1)*n]
		for k, v := range s {
			o[k] = (v - m) * inv
		}
	}
}

func grow(b []float32, n int) []float32 {
	if cap(b) < n {
		return make([]float32, n)
	}
	return b[:n]
}

// Stats returns the per-channel mean and standard deviation of the resized,
// un-augmented images in [0,1], for use as Options.Mean and Options.Std
// (compute them on the training part only).
func (d *Dataset) Stats(ctx context.Context) (mean, std []float32, err error) {
	c, n := d.opts.Channels, d.opts.Size*d.opts.Size
	sum, sq := make([]float64, c), make([]float64, c)
	sc := new(scratch)
	for i := range d.samples {
		if err := ctx.Err(); err != nil {
			return nil, nil, fmt.Errorf("computing image statistics: %w", err)
		}
		pix, err := d.resized(i, sc)
		if err != nil {
			return nil, nil, fmt.Errorf("computing image statistics: image %q: %w", d.samples[i].Path, err)
		}
		for ch := range c {
			for _, v := range pix[ch*n : (ch+1)*n] {
				sum[ch] += float64(v)
				sq[ch] += float64(v) * float64(v)
			}
		}
	}
	if len(d.samples) == 0 {
		return nil, nil, errors.New("computing image statistics: no samples")
	}
	total := float64(len(d.samples) * n)
	mean, std = make([]float32, c), make([]float32, c)
	for ch := range c {
		m := sum[ch] / total
		mean[ch] = float32(m)
		std[ch] = float32(math.Sqrt(math.Max(sq[ch]/total-m*m, 0)))
	}
	return mean, std, nil
}
