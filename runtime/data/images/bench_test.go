package images

import (
	"fmt"
	"testing"

	"parak8s.dev/parak8s/internal/testenv"
)

// BenchmarkGet measures single-goroutine images/s on the real training split.
func BenchmarkGet(b *testing.B) {
	dir := testenv.Pneumonia(b)
	for _, size := range []int{28, 64} {
		for _, aug := range []bool{false, true} {
			for _, cache := range []bool{false, true} {
				b.Run(fmt.Sprintf("size=%d/augment=%v/cache=%v", size, aug, cache), func(b *testing.B) {
					opts := DefaultOptions()
					opts.Size, opts.Cache = size, cache
					if aug {
						opts.Augment = DefaultAugment()
					}
					ds, err := Open(dir, "train", opts)
					if err != nil {
						b.Fatal(err)
					}
					dst := make([]float32, ds.SampleSize())
					if cache { // measure the warm cache, not the first epoch
						for i := range ds.Len() {
							if _, err := ds.Get(i, 0, dst); err != nil {
								b.Fatal(err)
							}
						}
					}
					b.ReportAllocs()
					b.ResetTimer()
					for i := 0; b.Loop(); i++ {
						if _, err := ds.Get(i%ds.Len(), i/ds.Len(), dst); err != nil {
							b.Fatal(err)
						}
					}
					b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "images/s")
				})
			}
		}
	}
}

// BenchmarkAugment measures the augmentation alone (warp and jitter) on one
// grey image at output size.
func BenchmarkAugment(b *testing.B) {
	for _, size := range []int{28, 64} {
		b.Run(fmt.Sprintf("size=%d", size), func(b *testing.B) {
			src := make([]float32, size*size)
			for i := range src {
				src[i] = float32(i%size) / float32(size)
			}
			dst := make([]float32, len(src))
			a := DefaultAugment()
			b.ReportAllocs()
			for i := 0; b.Loop(); i++ {
				d := a.drawFor(0, i, size)
				warp(src, dst, 1, size, d, a.Fill)
				jitter(dst, d)
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "images/s")
		})
	}
}
