package ecg

import (
	"fmt"
	"math"
)

// maxRateRatio bounds the up/down factors of a Resampler.
const maxRateRatio = 2000

// Resampler converts a signal between two integer sampling rates with a
// linear-phase polyphase FIR filter: the rational factor up/down =
// to/from in lowest terms, a Kaiser-windowed sinc low-pass (β = 5) with
// cutoff at the lower of the two Nyquist frequencies and 10 zero
// crossings on each side, i.e. 2·10·max(up, down)+1 taps at the upsampled
// rate. This is the design scipy.signal.resample_poly uses by default.
// Each polyphase branch is normalised to unit DC gain, so a constant
// signal stays constant. Output sample k lies at input time k·down/up
// exactly (zero phase); beyond the ends the signal is extended with its
// first and last values. A Resampler is immutable and safe for concurrent
// use.
type Resampler struct {
	up, down int
	// phases[p] holds the taps for outputs whose position k·down falls at
	// phase p = (k·down) mod up: y[k] = Σ_i taps[i]·x[q+off[p]+i], with
	// q = (k·down) div up.
	phases [][]float32
	off    []int
}

// NewResampler returns a resampler from rate from to rate to (Hz). Both
// must be positive integers.
func NewResampler(from, to float64) (*Resampler, error) {
	fi, ok1 := integral(from)
	ti, ok2 := integral(to)
	if !ok1 || !ok2 {
		return nil, fmt.Errorf("resampling %v Hz to %v Hz: rates must be positive integers", from, to)
	}
	g := gcd(fi, ti)
	up, down := ti/g, fi/g
	if max(up, down) > maxRateRatio {
		return nil, fmt.Errorf("resampling %v Hz to %v Hz: ratio %d/%d too fine (factors above %d)", from, to, up, down, maxRateRatio)
	}
	r := &Resampler{up: up, down: down}
	if up == 1 && down == 1 {
		return r, nil
	}
	m := max(up, down)
	half := 10 * m
	fc := 1 / float64(m) // cutoff relative to the upsampled Nyquist frequency
	h := make([]float64, 2*half+1)
	i0b := besselI0(5)
	for i := range h {
		t := float64(i - half)
		x := fc * t
		s := 1.0
		if x != 0 {
			s = math.Sin(math.Pi*x) / (math.Pi * x)
		}
		u := t / float64(half)
		w := besselI0(5*math.Sqrt(max(0, 1-u*u))) / i0b
		h[i] = fc * s * w
	}
	r.phases = make([][]float32, up)
	r.off = make([]int, up)
	for p := range up {
		// Taps for input j = q - d with |p + d·up| ≤ half, listed by
		// increasing j (decreasing d).
		dmax := (half - p) / up
		dmin := -((half + p) / up)
		taps := make([]float64, 0, dmax-dmin+1)
		sum := 0.0
		for d := dmax; d >= dmin; d-- {
			v := h[p+d*up+half]
			taps = append(taps, v)
			sum += v
		}
		f := make([]float32, len(taps))
		for i, v := range taps {
			f[i] = float32(v / sum)
		}
		r.phases[p] = f
		r.off[p] = -dmax
	}
	return r, nil
}

// Factors returns the up and down factors (to/from in lowest terms).
func (r *Resampler) Factors() (up, down int) { return r.up, r.down }

// Len returns the output length for an input of n samples: ceil(n·up/down).
func (r *Resampler) Len(n int) int {
	return int((int64(n)*int64(r.up) + int64(r.down) - 1) / int64(r.down))
}

// Position maps a sample index of the input to the nearest output index.
func (r *Resampler) Position(sample int64) int64 {
	return (2*sample*int64(r.up) + int64(r.down)) / (2 * int64(r.down))
}

// Resample returns x at the new rate (a new slice).
func (r *Resampler) Resample(x []float32) []float32 {
	if r.up == 1 && r.down == 1 {
		return append([]float32(nil), x...)
	}
	n := len(x)
	out := make([]float32, r.Len(n))
	if n == 0 {
		return out
	}
	for k := range out {
		pos := k * r.down
		q, p := pos/r.up, pos%r.up
		taps := r.phases[p]
		j0 := q + r.off[p]
		var acc float32
		if j0 >= 0 && j0+len(taps) <= n {
			xs := x[j0 : j0+len(taps)]
			for i, c := range taps {
				acc += c * xs[i]
			}
		} else {
			for i, c := range taps {
				j := min(max(j0+i, 0), n-1)
				acc += c * x[j]
			}
		}
		out[k] = acc
	}
	return out
}

func integral(v float64) (int, bool) {
	if !(v > 0) || v > 1e9 || v != math.Trunc(v) {
		return 0, false
	}
	return int(v), true
}

func gcd(a, b int) int {
	for b != 0 {
		a, b = b, a%b
	}
	return a
}

// besselI0 is the modified Bessel function of the first kind, order 0
// (power series; converges quickly for the small arguments of a Kaiser
// window).
func besselI0(x float64) float64 {
	sum, term := 1.0, 1.0
	q := x * x / 4
	for k := 1; k < 100; k++ {
		term *= q / float64(k*k)
		sum += term
		if term < sum*1e-17 {
			break
		}
	}
	return sum
}
