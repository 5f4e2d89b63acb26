package wfdb

import (
	"os"
	"testing"
)

// ds1 lists the MIT-BIH records of de Chazal's DS1, which is what the
// shared data folder holds.
var ds1 = []string{
	"101", "106", "108", "109", "112", "114", "115", "116", "118", "119", "122",
	"124", "201", "203", "205", "207", "208", "209", "215", "220", "223", "230",
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
