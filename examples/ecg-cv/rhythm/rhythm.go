package rhythm

import "math/rand"

// Length is the seconds of rhythm each function makes: a 30-minute record.
const Length = 1800.0

// Ectopic is sinus bradycardia (1.5 s) broken by runs of 1-6 atrial
// premature beats at 0.8 s, each run ended by a 2-4 s pause, so most beats
// are premature (as in DS2's record 232). It returns the beat times in
// seconds and whether each beat is premature.
func Ectopic(r *rand.Rand) (times []float64, premature []bool) {
	cur := 1.0
	for cur < Length {
		times, premature = append(times, cur), append(premature, false)
		cur += 1.5 * (1 + 0.03*r.NormFloat64())
		k := 1 + r.Intn(6)
		cur -= 0.7 // the run starts 0.7 s before the next sinus beat was due
		for range k {
			times, premature = append(times, cur), append(premature, true)
			cur += 0.8 * (1 + 0.03*r.NormFloat64())
		}
		cur += 2 + 2*r.Float64() - 0.8
	}
	return times, premature
}

// AF is atrial fibrillation's rhythm: RR intervals uniform in 0.4-1.2 s,
// no beat premature. It returns the beat times in seconds.
func AF(r *rand.Rand) []float64 {
	var times []float64
	for cur := 1.0; cur < Length; cur += 0.4 + 0.8*r.Float64() {
		times = append(times, cur)
	}
	return times
}

// SinusAPB is a 0.8 s sinus rhythm with 5% atrial premature beats 0.25 s
// early, each followed by a compensatory pause: the rhythm DS1's S beats
// mostly come in. It returns the beat times in seconds and whether each
// beat is premature.
func SinusAPB(r *rand.Rand) (times []float64, premature []bool) {
	cur := 1.0
	for cur < Length {
		if r.Float64() < 0.05 {
			times, premature = append(times, cur-0.25), append(premature, true)
			cur += 0.8 * (1 + 0.02*r.NormFloat64())
		}
		times, premature = append(times, cur), append(premature, false)
		cur += 0.8 * (1 + 0.02*r.NormFloat64())
	}
	return times, premature
}
