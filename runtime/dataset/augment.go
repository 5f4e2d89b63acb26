package dataset

import (
	"math"
	"math/rand/v2"

	"parak8s.dev/parak8s/schema"
)

// augmentedBeats serves a training split of beats with each beat window
// perturbed (data.signal.augment): amplitude scale, time shift with the
// edges repeated, a linear baseline drift and Gaussian noise. The draw
// depends only on (seed, epoch, beat), so a resumed epoch sees the same
// beats; the RR features after the window are copied unchanged.
type augmentedBeats struct {
	*Beats
	aug    schema.SignalAugment
	window int // samples of the beat window (the rest are RR features)
	shift  int // maximum shift in samples
	seed   uint64
}

func newAugmentedBeats(b *Beats, aug schema.SignalAugment, window int, rate float64, seed uint64) *augmentedBeats {
	return &augmentedBeats{Beats: b, aug: aug, window: window, shift: int(math.Round(aug.Shift * rate)), seed: seed}
}

// Get copies beat i, perturbed for epoch, into dst.
func (a *augmentedBeats) Get(i, epoch int, dst []float32) (int, error) {
	label, err := a.Beats.Get(i, epoch, dst)
	if err != nil {
		return 0, err
	}
	r := rand.New(rand.NewPCG(a.seed, uint64(epoch)<<40^uint64(i)))
	w := dst[:a.window]
	if a.shift > 0 {
		// w[j] = w[j-s], edges repeated, in place: a right shift reads
		// lower indices, so it runs from the end; a left shift from the start.
		s, n := r.IntN(2*a.shift+1)-a.shift, len(w)
		if s > 0 {
			for j := n - 1; j >= 0; j-- {
				w[j] = w[max(j-s, 0)]
			}
		} else {
			for j := range n {
				w[j] = w[min(j-s, n-1)]
			}
		}
	}
	scale := 1 + a.aug.Scale*(2*r.Float64()-1)
	offset := a.aug.Baseline * (2*r.Float64() - 1)
	slope := a.aug.Baseline * (2*r.Float64() - 1) / float64(max(len(w)-1, 1))
	for j := range w {
		v := float64(w[j])*scale + offset + slope*float64(j)
		if a.aug.Noise > 0 {
			v += a.aug.Noise * r.NormFloat64()
		}
		w[j] = float32(v)
	}
	return label, nil
}
