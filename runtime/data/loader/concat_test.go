package loader

import "testing"

func TestConcat(t *testing.T) {
	a, b := newFake(3, 2), newFake(2, 2)
	c, err := Concat(a, b)
	if err != nil {
		t.Fatal(err)
	}
	if c.Len() != 5 || c.SampleSize() != 2 {
		t.Fatalf("Len %d, SampleSize %d; want 5, 2", c.Len(), c.SampleSize())
	}
	for _, tc := range []struct {
		i, label int
		first    float32 // the first value the fake writes: its own index * 1000 + epoch * 100000
	}{
		{0, 0, 100000},
		{2, 2, 102000},
		{3, 0, 100000}, // b's sample 0
		{4, 1, 101000},
	} {
		dst := make([]float32, 2)
		label, err := c.Get(tc.i, 1, dst)
		if err != nil || label != tc.label || dst[0] != tc.first {
			t.Errorf("Get(%d) = label %d, first value %v, err %v; want %d, %v", tc.i, label, dst[0], err, tc.label, tc.first)
		}
	}
	if !a.touched[2] || !b.touched[0] || !b.touched[1] || a.touched[3] {
		t.Errorf("samples got from a %v, from b %v", a.touched, b.touched)
	}
	for _, i := range []int{-1, 5} {
		if _, err := c.Get(i, 0, make([]float32, 2)); err == nil {
			t.Errorf("Get(%d) of 5 samples: no error", i)
		}
	}
	if _, err := Concat(a, newFake(1, 3)); err == nil {
		t.Error("sources of sizes 2 and 3: no error")
	}
	if _, err := Concat(); err == nil {
		t.Error("no sources: no error")
	}
}
