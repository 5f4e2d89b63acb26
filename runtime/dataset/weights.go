package dataset

import (
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"math"
	"slices"

	"parak8s.dev/parak8s/schema"
)

// ClassWeights returns the per-class loss weights that training.loss.
// classWeights asks for, given the training split's class counts:
//
//   - "none" (or nil): nil, meaning unweighted;
//   - "balanced": n / (K · count_k), scikit-learn's formula, with n the
//     number of samples and K the number of classes; a class with no
//     sample gets weight 0 (it cannot contribute to the loss anyway);
//   - "sqrt": the square roots of the balanced weights, scaled so that the
//     mean weight per training sample is 1;
//   - a list of K non-negative numbers: those weights.
func ClassWeights(counts []int, spec any) ([]float32, error) {
	k := len(counts)
	switch s := spec.(type) {
	case nil:
		return nil, nil
	case string:
		return ClassWeights(counts, schema.ClassWeightMode(s))
	case schema.ClassWeightMode:
		switch s {
		case schema.ClassWeightsNone:
			return nil, nil
		case schema.ClassWeightsBalanced, schema.ClassWeightsSqrt:
			n := 0
			for i, c := range counts {
				if c < 0 {
					return nil, fmt.Errorf("balancing class weights: class %d has count %d", i, c)
				}
				n += c
			}
			if n == 0 {
				return nil, fmt.Errorf("balancing class weights: the %d classes have no samples", k)
			}
			w := make([]float32, k)
			for i, c := range counts {
				if c > 0 {
					w[i] = float32(float64(n) / (float64(k) * float64(c)))
				}
			}
			if s == schema.ClassWeightsSqrt {
				var sum float64
				for i, c := range counts {
					sum += math.Sqrt(float64(w[i])) * float64(c)
				}
				for i := range w {
					w[i] = float32(math.Sqrt(float64(w[i])) * float64(n) / sum)
				}
			}
			return w, nil
		}
		return nil, fmt.Errorf("class weights %q: want \"none\", \"balanced\", \"sqrt\" or a list of numbers", s)
	case []any, []float64, []float32, []int:
		vals, err := floats(s)
		if err != nil {
			return nil, err
		}
		if len(vals) != k {
			return nil, fmt.Errorf("class weights: %d values for %d classes", len(vals), k)
		}
		w := make([]float32, k)
		for i, v := range vals {
			if !(v >= 0) || math.IsInf(v, 0) {
				return nil, fmt.Errorf("class weights[%d]: %v: want a finite non-negative number", i, v)
			}
			w[i] = float32(v)
		}
		return w, nil
	}
	return nil, fmt.Errorf("class weights %v (%T): want \"none\", \"balanced\", \"sqrt\" or a list of numbers", spec, spec)
}

func floats(v any) ([]float64, error) {
	switch t := v.(type) {
	case []float64:
		return slices.Clone(t), nil
	case []float32:
		out := make([]float64, len(t))
		for i, x := range t {
			out[i] = float64(x)
		}
		return out, nil
	case []int:
		out := make([]float64, len(t))
		for i, x := range t {
			out[i] = float64(x)
		}
		return out, nil
	case []any:
		out := make([]float64, len(t))
		for i, x := range t {
			f, ok := schema.Number(x)
			if !ok {
				return nil, fmt.Errorf("class weights[%d]: %v (%T): want a number", i, x, x)
			}
			out[i] = f
		}
		return out, nil
	}
	return nil, fmt.Errorf("class weights %v: want a list of numbers", v)
}

// largestRemainder splits n into len(fractions) parts proportional to
// fractions (which sum to 1), rounding by largest remainder (to 9 decimals),
// ties to the earlier part.
func largestRemainder(n int, fractions []float64) []int {
	sizes := make([]int, len(fractions))
	rem := make([]float64, len(fractions))
	total := 0
	for i, f := range fractions {
		// Round away float noise (0.7·2 = 1.3999…) so that equal decimal
		// remainders tie, and ties go to the earlier part.
		x := math.Round(f*float64(n)*1e9) / 1e9
		sizes[i] = int(math.Floor(x))
		rem[i] = math.Round((x-float64(sizes[i]))*1e9) / 1e9
		total += sizes[i]
	}
	order := make([]int, len(fractions))
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(a, b int) int {
		switch {
		case rem[a] > rem[b]:
			return -1
		case rem[a] < rem[b]:
			return 1
		}
		return 0
	})
	for i := 0; total < n; i++ {
		sizes[order[i%len(order)]]++
		total++
	}
	return sizes
}

// stratify assigns items to parts, class by class: the items of a class are
// ordered by SHA-256 of (seed, key) and cut into consecutive runs whose sizes
// are fractions of the class size (largest remainder). The result, the part
// of every item, depends only on the seed, the fractions and the set of
// (label, key) pairs, not on their order. Keys must be unique.
func stratify(labels []int, keys []string, seed int, fractions []float64) []int {
	byClass := map[int][]int{}
	for i, l := range labels {
		byClass[l] = append(byClass[l], i)
	}
	hash := func(i int) [32]byte {
		h := sha256.New()
		var b [8]byte
		binary.LittleEndian.PutUint64(b[:], uint64(seed))
		h.Write(b[:])
		h.Write([]byte(keys[i]))
		var out [32]byte
		h.Sum(out[:0])
		return out
	}
	part := make([]int, len(labels))
	for _, items := range byClass {
		hs := make(map[int][32]byte, len(items))
		for _, i := range items {
			hs[i] = hash(i)
		}
		slices.SortFunc(items, func(a, b int) int {
			ha, hb := hs[a], hs[b]
			return slices.Compare(ha[:], hb[:])
		})
		sizes := largestRemainder(len(items), fractions)
		j := 0
		for p, size := range sizes {
			for range size {
				part[items[j]] = p
				j++
			}
		}
	}
	return part
}
