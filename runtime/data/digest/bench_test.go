package digest

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"parak8s.dev/parak8s/internal/testenv"
)

// BenchmarkDirPneumonia measures hashing the real pneumoniamnist tree (warm
// page cache) at several worker counts; MB/s counts file bytes.
func BenchmarkDirPneumonia(b *testing.B) {
	root := testenv.Pneumonia(b)
	m, err := Dir(context.Background(), root, DefaultOptions())
	if err != nil {
		b.Fatal(err)
	}
	for _, w := range []int{1, 2, 4, 8} {
		b.Run(fmt.Sprintf("workers=%d", w), func(b *testing.B) {
			b.SetBytes(m.TotalSize())
			for b.Loop() {
				if _, err := Dir(context.Background(), root, Options{Workers: w}); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.N*len(m.Entries))/b.Elapsed().Seconds(), "files/s")
		})
	}
}

// BenchmarkDirLargeFiles measures hashing throughput on a few large files,
// where SHA-256 rather than opening files sets the pace.
func BenchmarkDirLargeFiles(b *testing.B) {
	root := b.TempDir()
	chunk := make([]byte, 16<<20)
	for i := range chunk {
		chunk[i] = byte(i * 7)
	}
	for i := range 4 {
		if err := os.WriteFile(filepath.Join(root, fmt.Sprintf("f%d", i)), chunk, 0o644); err != nil {
			b.Fatal(err)
		}
	}
	b.SetBytes(4 << 24)
	for b.Loop() {
		if _, err := Dir(context.Background(), root, DefaultOptions()); err != nil {
			b.Fatal(err)
		}
	}
}
