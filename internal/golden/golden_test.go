package golden

import (
	"os"
	"path/filepath"
	"testing"
)

// recorder is a testing.TB that keeps failures instead of failing.
type recorder struct {
	testing.TB
	errors, fatals int
}

func (r *recorder) Helper()               {}
func (r *recorder) Errorf(string, ...any) { r.errors++ }
func (r *recorder) Fatalf(string, ...any) { r.fatals++ }
func (r *recorder) Fatal(...any)          { r.fatals++ }

func TestCheck(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "sub", "want.txt")
	tests := []struct {
		name           string
		update         bool
		got            string
		errors, fatals int
	}{
		{"missing file", false, "a", 0, 1},
		{"update writes it", true, "a", 0, 0},
		{"equal", false, "a", 0, 0},
		{"different", false, "b", 1, 0},
	}
	defer func(u bool) { *update = u }(*update)
	for _, tc := range tests {
		*update = tc.update
		r := &recorder{TB: t}
		Check(r, path, []byte(tc.got))
		if r.errors != tc.errors || r.fatals != tc.fatals {
			t.Errorf("%s: %d errors, %d fatals; want %d, %d", tc.name, r.errors, r.fatals, tc.errors, tc.fatals)
		}
	}
	if b, _ := os.ReadFile(path); string(b) != "a" {
		t.Errorf("golden file holds %q, want %q", b, "a")
	}
}
