package images

import "math/bits"

// rng is a splitmix64 generator: tiny, allocation-free and stable across Go
// releases, so that augmentations and splits never change under a new
// toolchain.
type rng struct{ s uint64 }

func mix64(z uint64) uint64 {
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	return z ^ (z >> 31)
}

// newRNG seeds a generator from a seed and two further keys.
func newRNG(seed, a, b uint64) rng {
	s := mix64(seed + 0x9e3779b97f4a7c15)
	s = mix64(s ^ (a + 0x632be59bd9b4e019))
	s = mix64(s ^ (b + 0x85157af5a5e3b4f1))
	return rng{s: s}
}

func (r *rng) next() uint64 {
	r.s += 0x9e3779b97f4a7c15
	return mix64(r.s)
}

// float returns a uniform number in [0,1).
func (r *rng) float() float64 { return float64(r.next()>>11) * 0x1p-53 }

// sym returns a uniform number in [-a, a).
func (r *rng) sym(a float64) float64 { return (2*r.float() - 1) * a }

// intn returns a uniform integer in [0,n) (Lemire's method, unbiased).
func (r *rng) intn(n int) int {
	un := uint64(n)
	hi, lo := bits.Mul64(r.next(), un)
	if lo < un {
		t := -un % un
		for lo < t {
			hi, lo = bits.Mul64(r.next(), un)
		}
	}
	return int(hi)
}
