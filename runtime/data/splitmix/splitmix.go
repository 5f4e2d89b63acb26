package splitmix

import "math/bits"

const gamma = 0x9e3779b97f4a7c15

// keyed offsets each key of New by its position, so that (a, b) and (b, a)
// seed different streams.
var keyed = [...]uint64{0x632be59bd9b4e019, 0x85157af5a5e3b4f1}

// RNG is a splitmix64 generator. The zero value is a valid generator.
type RNG struct{ s uint64 }

func mix64(z uint64) uint64 {
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	return z ^ (z >> 31)
}

// New seeds a generator from a seed and up to two further keys (an epoch,
// an example index, a class label). It panics on more keys.
func New(seed uint64, keys ...uint64) RNG {
	if len(keys) > len(keyed) {
		panic("splitmix.New: too many keys")
	}
	s := mix64(seed + gamma)
	for i, k := range keys {
		s = mix64(s ^ (k + keyed[i]))
	}
	return RNG{s: s}
}

// Uint64 returns the next 64 random bits.
func (r *RNG) Uint64() uint64 {
	r.s += gamma
	return mix64(r.s)
}

// Float returns a uniform number in [0,1).
func (r *RNG) Float() float64 { return float64(r.Uint64()>>11) * 0x1p-53 }

// Sym returns a uniform number in [-a, a).
func (r *RNG) Sym(a float64) float64 { return (2*r.Float() - 1) * a }

// Intn returns a uniform integer in [0,n), n > 0 (Lemire's method, unbiased).
func (r *RNG) Intn(n int) int {
	un := uint64(n)
	hi, lo := bits.Mul64(r.Uint64(), un)
	if lo < un {
		t := -un % un
		for lo < t {
			hi, lo = bits.Mul64(r.Uint64(), un)
		}
	}
	return int(hi)
}
