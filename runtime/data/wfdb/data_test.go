package wfdb

import (
	"os"
	"path/filepath"
	"testing"
)

// ds1 lists the MIT-BIH records of de Chazal's DS1, which is what the
// shared data folder holds.
var ds1 = []string{
	"101", "106", "108", "109", "112", "114", "115", "116", "118", "119", "122",
	"124", "201", "203", "205", "207", "208", "209", "215", "220", "223", "230",
}

// mitdbDir finds shared/data/mitdb by walking up from the package
// directory (the repository root sits next to shared/), and skips the test
// when it is absent.
func mitdbDir(tb testing.TB) string {
	tb.Helper()
	dir, err := os.Getwd()
	if err != nil {
		tb.Fatal(err)
	}
	for {
		cand := filepath.Join(dir, "shared", "data", "mitdb")
		if st, err := os.Stat(filepath.Join(cand, "RECORDS")); err == nil && !st.IsDir() {
			return cand
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			tb.Skip("MIT-BIH data not found: no shared/data/mitdb in any parent of the package directory")
			return ""
		}
		dir = parent
	}
}

// readSlice returns at most n bytes of a data file from offset off, for
// fuzz seeds (read at test time, never copied into the repository).
func readSlice(tb testing.TB, path string, off, n int) []byte {
	tb.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		tb.Fatal(err)
	}
	if off > len(b) {
		off = len(b)
	}
	end := min(off+n, len(b))
	return b[off:end]
}
