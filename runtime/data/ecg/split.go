package ecg

import (
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"math"
	"slices"
	"sort"
)

// MITBIHPatient returns the subject of an MIT-BIH Arrhythmia Database
// record: records 201 and 202 come from the same man, every other record
// from a different subject. Other names are returned unchanged.
func MITBIHPatient(record string) string {
	if record == "202" {
		return "201"
	}
	return record
}

// SplitByRecord assigns records to len(fractions) parts, keeping all
// records of one patient (MITBIHPatient) in the same part. The assignment
// depends only on the set of records, the seed and the fractions: patients
// are ordered by SHA-256 of (seed, patient) and cut into consecutive runs
// whose sizes are the fractions of the number of patients, rounded by
// largest remainder (ties to the earlier part). Fractions must be
// non-negative and sum to 1. Each part lists its records sorted.
func SplitByRecord(records []string, seed int64, fractions []float64) ([][]string, error) {
	if len(fractions) == 0 {
		return nil, fmt.Errorf("splitting records: no fractions")
	}
	sum := 0.0
	for _, f := range fractions {
		if !(f >= 0) || math.IsInf(f, 0) {
			return nil, fmt.Errorf("splitting records: fraction %v: want a non-negative number", f)
		}
		sum += f
	}
	if math.Abs(sum-1) > 1e-9 {
		return nil, fmt.Errorf("splitting records: fractions %v sum to %v, want 1", fractions, sum)
	}
	groups := map[string][]string{}
	for _, r := range records {
		p := MITBIHPatient(r)
		if !slices.Contains(groups[p], r) {
			groups[p] = append(groups[p], r)
		}
	}
	type keyed struct {
		patient string
		key     [32]byte
	}
	var order []keyed
	for p := range groups {
		var s [8]byte
		binary.BigEndian.PutUint64(s[:], uint64(seed))
		h := sha256.New()
		h.Write(s[:])
		h.Write([]byte(p))
		var k keyed
		k.patient = p
		copy(k.key[:], h.Sum(nil))
		order = append(order, k)
	}
	sort.Slice(order, func(i, j int) bool {
		if c := slices.Compare(order[i].key[:], order[j].key[:]); c != 0 {
			return c < 0
		}
		return order[i].patient < order[j].patient
	})
	counts := largestRemainder(len(order), fractions)
	parts := make([][]string, len(fractions))
	next := 0
	for i, c := range counts {
		parts[i] = []string{}
		for _, k := range order[next : next+c] {
			parts[i] = append(parts[i], groups[k.patient]...)
		}
		slices.Sort(parts[i])
		next += c
	}
	return parts, nil
}

func largestRemainder(n int, fractions []float64) []int {
	counts := make([]int, len(fractions))
	rem := make([]float64, len(fractions))
	left := n
	for i, f := range fractions {
		exact := f * float64(n)
		counts[i] = int(math.Floor(exact))
		rem[i] = exact - float64(counts[i])
		left -= counts[i]
	}
	idx := make([]int, len(fractions))
	for i := range idx {
		idx[i] = i
	}
	sort.SliceStable(idx, func(a, b int) bool { return rem[idx[a]] > rem[idx[b]] })
	for i := 0; left > 0; i = (i + 1) % len(idx) {
		counts[idx[i]]++
		left--
	}
	return counts
}
