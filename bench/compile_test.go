package main

import (
	"os"
	"path/filepath"
	"testing"

	"parak8s.dev/parak8s/compiler"
)

// BenchmarkCompile profiles what `parac compile` does in one process for
// the specs the bench times (go test -bench Compile -cpuprofile cpu.out
// ./bench): the ECG example and the generated 1,000- and 10,000-trial
// sweeps.
func BenchmarkCompile(b *testing.B) {
	dir := b.TempDir()
	specs := map[string]string{"ecg": "../examples/ecg"}
	for _, n := range []int{1000, 10000} {
		f := filepath.Join(dir, "sweep"+itoa(n)+".cue")
		if err := os.WriteFile(f, []byte(sweep(n)), 0o644); err != nil {
			b.Fatal(err)
		}
		specs["sweep"+itoa(n)] = f
	}
	for _, name := range []string{"ecg", "sweep1000", "sweep10000"} {
		b.Run(name, func(b *testing.B) {
			for b.Loop() {
				if _, err := compiler.Compile(specs[name], compiler.DefaultOptions()); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func itoa(n int) string {
	if n == 1000 {
		return "1000"
	}
	return "10000"
}
