package splitmix

import "testing"

// TestStreamsArePinned pins the first draws of a few streams: a change here
// changes every shuffle and augmentation, and so every trained model.
func TestStreamsArePinned(t *testing.T) {
	r := New(7, 3, 11)
	if got := r.Uint64(); got != 0x940dfc47369ea230 {
		t.Errorf("New(7, 3, 11).Uint64() = %#x", got)
	}
	if got := r.Intn(1000); got != 170 {
		t.Errorf("then Intn(1000) = %d, want 170", got)
	}
	if got := r.Float(); got != 0.37887114328244553 {
		t.Errorf("then Float() = %v", got)
	}
	if got := r.Sym(2); got != -1.6446187360310858 {
		t.Errorf("then Sym(2) = %v", got)
	}
	r = New(0, 0, 0)
	if got := r.Uint64(); got != 0xfad5443cdffb6200 {
		t.Errorf("New(0, 0, 0).Uint64() = %#x", got)
	}
	r = New(7, 3)
	if a, b, c := r.Uint64(), r.Intn(1000), r.Intn(5); a != 0xf0a745f6aa4451b2 || b != 502 || c != 0 {
		t.Errorf("New(7, 3) draws %#x %d %d", a, b, c)
	}
}

func TestRanges(t *testing.T) {
	tests := []struct {
		name string
		draw func(r *RNG) bool
	}{
		{"Intn(3) in [0,3)", func(r *RNG) bool { v := r.Intn(3); return v >= 0 && v < 3 }},
		{"Intn(1) is 0", func(r *RNG) bool { return r.Intn(1) == 0 }},
		{"Float in [0,1)", func(r *RNG) bool { v := r.Float(); return v >= 0 && v < 1 }},
		{"Sym(0.5) in [-0.5,0.5)", func(r *RNG) bool { v := r.Sym(0.5); return v >= -0.5 && v < 0.5 }},
	}
	for _, tt := range tests {
		r := New(42, 1)
		for i := range 10000 {
			if !tt.draw(&r) {
				t.Fatalf("%s: draw %d out of range", tt.name, i)
			}
		}
	}
}

func TestKeysSeedDifferentStreams(t *testing.T) {
	a, b, c := New(1, 2, 3), New(1, 3, 2), New(1, 2)
	if x, y, z := a.Uint64(), b.Uint64(), c.Uint64(); x == y || x == z || y == z {
		t.Errorf("streams collide: %#x %#x %#x", x, y, z)
	}
}

func TestIntnIsUniform(t *testing.T) {
	r := New(9)
	var n [6]int
	for range 60000 {
		n[r.Intn(6)]++
	}
	for v, c := range n {
		if c < 9500 || c > 10500 {
			t.Errorf("value %d drawn %d times in 60000, want about 10000", v, c)
		}
	}
}
