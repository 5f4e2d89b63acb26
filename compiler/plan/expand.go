package plan

import (
	"fmt"
	"math"
	"math/rand/v2"
	"sort"
	"strconv"

	"parak8s.dev/parak8s/runtime/step"
	"parak8s.dev/parak8s/schema"
)

// Points returns the sweep's points as override lists, in sweep order (the
// trials Build plans, duplicates included). An experiment without a sweep
// has one point with no overrides.
func Points(sw *schema.Sweep, resolved map[string]any) ([][]step.Override, error) {
	return points(sw, resolved)
}

// Values returns the values a grid gives a parameter: its values, or the
// points of its range as the trials get them (rounded).
func Values(p schema.Parameter) []any { return values(p) }

// Tidy rounds a number drawn from a range as the trials get it.
func Tidy(v float64, integer bool) float64 { return tidy(v, integer) }

// points returns the sweep's points as override lists, in sweep order. An
// experiment without a sweep has one point with no overrides.
func points(sw *schema.Sweep, resolved map[string]any) ([][]step.Override, error) {
	if sw == nil {
		return [][]step.Override{nil}, nil
	}
	switch sw.Mode {
	case schema.SweepGrid:
		return grid(sw.Parameters)
	case schema.SweepRandom:
		return random(sw), nil
	case schema.SweepList:
		return list(sw.Points, resolved), nil
	}
	return nil, fmt.Errorf("expanding sweep: unknown mode %q", sw.Mode)
}

// values lists a grid parameter's values: its values, or count points of its
// range spaced linearly or logarithmically.
func values(p schema.Parameter) []any {
	if p.Range == nil {
		return p.Values
	}
	r := p.Range
	out := make([]any, 0, r.Count)
	seen := map[float64]bool{}
	for i := 0; i < r.Count; i++ {
		f := float64(i) / float64(r.Count-1)
		var v float64
		if r.Scale == schema.ScaleLog {
			v = math.Exp(math.Log(r.Min) + f*(math.Log(r.Max)-math.Log(r.Min)))
		} else {
			v = r.Min + f*(r.Max-r.Min)
		}
		v = tidy(v, r.Integer)
		if !seen[v] {
			seen[v] = true
			out = append(out, v)
		}
	}
	return out
}

// tidy rounds a generated number to 4 significant digits (or to an integer),
// so that trial configs and names stay readable and reproducible.
func tidy(v float64, integer bool) float64 {
	if integer {
		return math.Round(v)
	}
	s := strconv.FormatFloat(v, 'g', 4, 64)
	r, _ := strconv.ParseFloat(s, 64)
	return r
}

func grid(params []schema.Parameter) ([][]step.Override, error) {
	lists := make([][]any, len(params))
	total := 1
	for i, p := range params {
		lists[i] = values(p)
		if len(lists[i]) == 0 {
			return nil, fmt.Errorf("expanding sweep: parameter %q has no values", p.Path)
		}
		total *= len(lists[i])
		if total > MaxTrials {
			return nil, fmt.Errorf("expanding sweep: the grid has more than %d trials", MaxTrials)
		}
	}
	out := make([][]step.Override, 0, total)
	idx := make([]int, len(params))
	for {
		pt := make([]step.Override, len(params))
		for i, p := range params {
			pt[i] = step.Override{Path: p.Path, Value: lists[i][idx[i]]}
		}
		out = append(out, pt)
		// The last parameter varies fastest.
		i := len(idx) - 1
		for ; i >= 0; i-- {
			idx[i]++
			if idx[i] < len(lists[i]) {
				break
			}
			idx[i] = 0
		}
		if i < 0 {
			return out, nil
		}
	}
}

func random(sw *schema.Sweep) [][]step.Override {
	rng := rand.New(rand.NewPCG(uint64(sw.Seed), 0x70617261))
	out := make([][]step.Override, 0, sw.Samples)
	for n := 0; n < sw.Samples; n++ {
		pt := make([]step.Override, len(sw.Parameters))
		for i, p := range sw.Parameters {
			var v any
			switch {
			case p.Range == nil:
				v = p.Values[rng.IntN(len(p.Values))]
			case p.Range.Scale == schema.ScaleLog:
				lo, hi := math.Log(p.Range.Min), math.Log(p.Range.Max)
				v = tidy(math.Exp(lo+rng.Float64()*(hi-lo)), p.Range.Integer)
			default:
				v = tidy(p.Range.Min+rng.Float64()*(p.Range.Max-p.Range.Min), p.Range.Integer)
			}
			pt[i] = step.Override{Path: p.Path, Value: v}
		}
		out = append(out, pt)
	}
	return out
}

// list turns explicit points into override lists over the union of their
// paths, sorted; a point that does not name a path keeps the experiment's
// value, so every trial sets the same paths (the workflow's items need the
// same keys).
func list(pts []map[string]any, resolved map[string]any) [][]step.Override {
	paths := map[string]bool{}
	for _, pt := range pts {
		for k := range pt {
			paths[k] = true
		}
	}
	sorted := make([]string, 0, len(paths))
	for k := range paths {
		sorted = append(sorted, k)
	}
	sort.Strings(sorted)
	out := make([][]step.Override, 0, len(pts))
	for _, pt := range pts {
		o := make([]step.Override, 0, len(sorted))
		for _, k := range sorted {
			v, ok := pt[k]
			if !ok {
				v, _ = step.Get(resolved, k)
			}
			o = append(o, step.Override{Path: k, Value: v})
		}
		out = append(out, o)
	}
	return out
}
