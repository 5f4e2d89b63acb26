package loader_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"parak8s.dev/parak8s/internal/testenv"
	"parak8s.dev/parak8s/runtime/data/images"
	"parak8s.dev/parak8s/runtime/data/loader"
)

var _ loader.Source = (*images.Dataset)(nil)

// epochDigest runs one epoch and returns every batch's labels and a checksum
// of its values, plus the time taken.
func epochDigest(t *testing.T, l *loader.Loader, epoch int) ([][]int64, []float64, time.Duration) {
	t.Helper()
	var ys [][]int64
	var sums []float64
	start := time.Now()
	for b, err := range l.Epoch(context.Background(), epoch) {
		if err != nil {
			t.Fatal(err)
		}
		var s float64
		for k, v := range b.X {
			s += float64(v) * float64(k%97+1)
		}
		ys = append(ys, slices.Clone(b.Y))
		sums = append(sums, s)
	}
	return ys, sums, time.Since(start)
}

func TestImagesDeterministicAcrossWorkers(t *testing.T) {
	dir := testenv.Pneumonia(t)
	opts := images.DefaultOptions()
	opts.Size = 64
	opts.Augment = images.DefaultAugment()
	ds, err := images.Open(dir, "val", opts)
	if err != nil {
		t.Fatal(err)
	}
	var refY [][]int64
	var refS []float64
	for _, workers := range []int{1, 2, 5} {
		l, err := loader.New(ds, loader.Options{BatchSize: 32, Workers: workers, Prefetch: 2 * workers, Shuffle: true, Seed: 9})
		if err != nil {
			t.Fatal(err)
		}
		ys, sums, _ := epochDigest(t, l, 2)
		if len(ys) != 17 { // 524 / 32, last short
			t.Fatalf("%d batches, want 17", len(ys))
		}
		if refY == nil {
			refY, refS = ys, sums
			continue
		}
		if !slices.EqualFunc(ys, refY, slices.Equal) || !slices.Equal(sums, refS) {
			t.Fatalf("%d workers: batches differ from 1 worker", workers)
		}
	}
}

// TestImagesThroughput reports batches/s on the real training split; it
// checks only that every sample arrives once per epoch.
func TestImagesThroughput(t *testing.T) {
	dir := testenv.Pneumonia(t)
	for _, size := range []int{28, 64} {
		opts := images.DefaultOptions()
		opts.Size = size
		opts.Cache = true
		opts.Augment = images.DefaultAugment()
		ds, err := images.Open(dir, "train", opts)
		if err != nil {
			t.Fatal(err)
		}
		lo := loader.DefaultOptions()
		lo.BatchSize = 64
		l, err := loader.New(ds, lo)
		if err != nil {
			t.Fatal(err)
		}
		for epoch := range 2 { // epoch 0 fills the cache, epoch 1 reads it
			ys, _, el := epochDigest(t, l, epoch)
			n := 0
			counts := [2]int{}
			for _, y := range ys {
				n += len(y)
				for _, v := range y {
					counts[v]++
				}
			}
			if n != ds.Len() || counts != [2]int{1214, 3494} {
				t.Fatalf("epoch %d: %d samples, counts %v", epoch, n, counts)
			}
			t.Logf("%d->%d augmented, batch 64, %d workers, epoch %d (cache %s): %d batches in %v = %.0f batches/s, %.0f images/s",
				28, size, lo.Workers, epoch, map[bool]string{true: "warm", false: "cold"}[epoch > 0],
				len(ys), el.Round(time.Millisecond), float64(len(ys))/el.Seconds(), float64(n)/el.Seconds())
		}
	}
}
