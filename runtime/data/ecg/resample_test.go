package ecg

import (
	"math"
	"strings"
	"testing"
)

func sine(n int, rate, freq float64) []float32 {
	x := make([]float32, n)
	for i := range x {
		x[i] = float32(math.Sin(2 * math.Pi * freq * float64(i) / rate))
	}
	return x
}

func TestResampler(t *testing.T) {
	r, err := NewResampler(360, 125)
	if err != nil {
		t.Fatal(err)
	}
	if up, down := r.Factors(); up != 25 || down != 72 {
		t.Errorf("factors %d/%d, want 25/72", up, down)
	}
	if got := r.Len(650000); got != 225695 {
		t.Errorf("Len(650000) = %d, want 225695 (ceil(650000·125/360))", got)
	}
	for _, c := range []struct{ in, want int64 }{{0, 0}, {360, 125}, {1000, 347}, {72, 25}, {650000 - 1, 225694}} {
		if got := r.Position(c.in); got != c.want {
			t.Errorf("Position(%d) = %d, want %d", c.in, got, c.want)
		}
	}

	// Passband: a 5 Hz and a 20 Hz sine come out as the same sines
	// sampled at 125 Hz (zero phase), away from the ends.
	for _, f := range []float64{5, 20} {
		y := r.Resample(sine(36000, 360, f))
		want := sine(len(y), 125, f)
		var worst float64
		for i := 500; i < len(y)-500; i++ {
			worst = max(worst, math.Abs(float64(y[i]-want[i])))
		}
		if worst > 2e-3 {
			t.Errorf("%v Hz sine: max error %v after resampling", f, worst)
		}
	}
	// Stopband: a 100 Hz sine is above the new Nyquist frequency (62.5 Hz)
	// and must not alias into the output.
	y := r.Resample(sine(36000, 360, 100))
	var peak float64
	for i := 500; i < len(y)-500; i++ {
		peak = max(peak, math.Abs(float64(y[i])))
	}
	if peak > 0.01 {
		t.Errorf("100 Hz sine leaks through with amplitude %v", peak)
	}
	// A constant stays constant, ends included.
	c := make([]float32, 1000)
	for i := range c {
		c[i] = 3.5
	}
	for i, v := range r.Resample(c) {
		if math.Abs(float64(v)-3.5) > 1e-5 {
			t.Fatalf("constant input: output %d = %v", i, v)
		}
	}
	if got := r.Resample(nil); len(got) != 0 {
		t.Errorf("Resample(nil) = %v", got)
	}
	if got := r.Resample([]float32{2}); len(got) != 1 || math.Abs(float64(got[0])-2) > 1e-6 {
		t.Errorf("Resample([2]) = %v", got)
	}

	// Upsampling by 2 keeps the original samples' sine and fills between.
	u, err := NewResampler(125, 250)
	if err != nil {
		t.Fatal(err)
	}
	yu := u.Resample(sine(5000, 125, 10))
	wu := sine(len(yu), 250, 10)
	for i := 200; i < len(yu)-200; i++ {
		if math.Abs(float64(yu[i]-wu[i])) > 2e-3 {
			t.Fatalf("upsampling: sample %d = %v, want %v", i, yu[i], wu[i])
		}
	}

	id, err := NewResampler(360, 360)
	if err != nil {
		t.Fatal(err)
	}
	in := []float32{1, 2, 3}
	out := id.Resample(in)
	out[0] = 9
	if in[0] != 1 || len(out) != 3 {
		t.Error("identity resampler did not return a copy")
	}

	for _, c := range []struct {
		from, to float64
		want     string
	}{
		{360, 0, "positive integers"},
		{360.5, 125, "positive integers"},
		{math.NaN(), 125, "positive integers"},
		{-360, 125, "positive integers"},
		{360, 997 * 1009, "too fine"},
	} {
		if _, err := NewResampler(c.from, c.to); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("NewResampler(%v, %v) err = %v, want %q", c.from, c.to, err, c.want)
		}
	}
}

func BenchmarkResample(b *testing.B) {
	r, err := NewResampler(360, 125)
	if err != nil {
		b.Fatal(err)
	}
	x := sine(650000, 360, 7)
	for b.Loop() {
		r.Resample(x)
	}
}
