package rhythm

import (
	"math/rand"
	"testing"
)

// TestRhythms pins the records docs/ecg-model.md reports for seed 7 (drawn
// in rrprobe's order) and checks each rhythm's intervals.
func TestRhythms(t *testing.T) {
	r := rand.New(rand.NewSource(7))
	count := func(p []bool) (premature int) {
		for _, x := range p {
			if x {
				premature++
			}
		}
		return premature
	}
	times, p := Ectopic(r)
	if n, a := len(times), count(p); a != 1082 || n-a != 310 {
		t.Errorf("ectopic: %d premature, %d sinus beats; want 1082 and 310", a, n-a)
	}
	af := AF(r)
	for i := 1; i < len(af); i++ {
		if d := af[i] - af[i-1]; d < 0.4 || d > 1.2 {
			t.Fatalf("af: interval %d is %v s, want 0.4-1.2", i, d)
		}
	}
	if n := len(af); n != 2237 {
		t.Errorf("af: %d beats, want 2237", n)
	}
	times, p = SinusAPB(r)
	if a := count(p); a != 92 {
		t.Errorf("sinus-apb: %d premature beats, want 92", a)
	}
	for i := 1; i < len(times); i++ {
		if times[i] <= times[i-1] {
			t.Fatalf("sinus-apb: beat %d at %v s is not after beat %d at %v s", i, times[i], i-1, times[i-1])
		}
	}
	if times, p := SinusAPB(rand.New(rand.NewSource(7))); count(p) != 114 || len(times)-count(p) != 2135 {
		t.Errorf("sinus-apb from a fresh seed 7 (splice): %d premature of %d, want 114 of 2249", count(p), len(times))
	}
}
