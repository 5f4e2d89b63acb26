package spec

import (
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"

	"cuelang.org/go/cue"
	cueerrors "cuelang.org/go/cue/errors"

	"parak8s.dev/parak8s/compiler/plan"
	"parak8s.dev/parak8s/runtime/step"
	"parak8s.dev/parak8s/schema"
)

// The sweep: its paths and the values it gives them, each checked against
// the field's schema.

// checkSweep checks every sweep parameter: its path names a field of the
// resolved experiment under a sweepable root, no path is swept twice, ranges
// are well-formed, the grid is not too large, and every distinct swept value
// (the points of a grid range, both rounded ends of a random one) passes the
// schema in place of the field's value: a field no schema rule reads
// (independent) by its own constraint, any other by a unification of its
// section. A swept struct is completed with the schema's defaults, as the
// field would be. Then the trials are checked as a whole (checkTrials). The
// checks of one spec are bounded (maxRangeChecks, maxFieldChecks,
// maxCUETrials, maxRuleTrials) so that the largest sweeps load in a second
// or two.
func (c *checker) checkSweep(s *Spec) error {
	sw := s.Experiment.Sweep
	if sw == nil {
		return nil
	}
	var errs cueerrors.Error
	add := func(where string, format string, args ...any) {
		errs = cueerrors.Append(errs, cueerrors.Newf(c.at(where), "%s: %s", c.name(where), redact(fmt.Sprintf(format, args...))))
	}
	checked := map[string]bool{}
	// value checks v at path and returns it completed with the schema's
	// defaults (v itself when it is not a struct or list).
	value := func(where, path string, v any) any {
		key, err := step.Canonical(v)
		if err != nil {
			add(where, "cannot encode value: %v", err)
			return v
		}
		k := path + "=" + string(key)
		if checked[k] {
			return v
		}
		checked[k] = true
		if !composite(v) && independent(path) {
			// Valid in every trial when its own constraint holds: no
			// unification of the section needed (the error, if any, is
			// worded by the section's below).
			if field := c.fieldSchema(s.Resolved, path); field.Exists() && c.fieldOK(field, v) {
				return v
			}
		}
		msg, filled := c.validate(s.Resolved, []step.Override{{Path: path, Value: v}}, composite(v))
		if msg != "" {
			add(where, "%s", msg)
			return v
		}
		if filled != nil {
			if f, ok := step.Get(filled, path); ok {
				return f
			}
		}
		return v
	}
	pathOK := func(where, path string) bool {
		root, _, _ := strings.Cut(path, ".")
		if !slices.Contains(schema.SweepRoots(), root) {
			add(where, "sweep path %q is not under %s", path, strings.Join(schema.SweepRoots(), ", "))
			return false
		}
		if _, ok := step.Get(s.Resolved, path); !ok {
			if lookup(c.full, strings.Split(path, ".")).Exists() {
				add(where, "sweep path %q is an optional field the experiment leaves unset: set it in the experiment to sweep it (trials replace a value, they never add a field)", path)
				return false
			}
			add(where, "unknown sweep path %q (no such field in the resolved experiment)", path)
			return false
		}
		return true
	}
	switch sw.Mode {
	case schema.SweepGrid, schema.SweepRandom:
		firstAt := map[string]int{}
		total := 1
		for i := range sw.Parameters {
			p := &sw.Parameters[i]
			where := fmt.Sprintf("sweep.parameters[%d]", i)
			if j, dup := firstAt[p.Path]; dup {
				add(where+".path", "path %q is already swept by sweep.parameters[%d]", p.Path, j)
				continue
			}
			firstAt[p.Path] = i
			if !pathOK(where+".path", p.Path) {
				continue
			}
			switch {
			case p.Values == nil && p.Range == nil:
				add(where, "needs values or range")
			case p.Values != nil && p.Range != nil:
				add(where, "has both values and range; give one")
			case p.Values != nil:
				for j, v := range p.Values {
					p.Values[j] = value(fmt.Sprintf("%s.values[%d]", where, j), p.Path, v)
				}
			default:
				r := p.Range
				switch {
				case r.Min > r.Max:
					add(where+".range", "min %v is greater than max %v", r.Min, r.Max)
				case r.Scale == schema.ScaleLog && r.Min <= 0:
					add(where+".range.min", "a log range needs min > 0, got %v", r.Min)
				case sw.Mode == schema.SweepGrid && r.Count == 0:
					add(where+".range", "a grid range needs count (the number of points)")
				case sw.Mode == schema.SweepRandom && !r.Integer && c.isInt(p.Path) && r.Min != r.Max:
					add(where+".range", "%s is an integer field: a random range draws fractions, set integer: true", p.Path)
				case sw.Mode == schema.SweepGrid:
					// A spread of the points (every point of a range up to
					// maxFieldChecks) against the field's own constraint
					// (cheap), a smaller spread, the ends included, as
					// values (a section's unification each, unless the
					// field is independent).
					pts := plan.Values(*p)
					field := c.fieldSchema(s.Resolved, p.Path)
					for j, v := range pts {
						full := spread(j, len(pts), maxRangeChecks)
						if !full && (!spread(j, len(pts), maxFieldChecks) || field.Exists() && c.fieldOK(field, v)) {
							continue
						}
						if before := len(cueerrors.Errors(errs)); value(where+".range", p.Path, v) != nil && len(cueerrors.Errors(errs)) > before {
							break // one point out of the schema is enough
						}
					}
				default:
					for _, end := range []float64{r.Min, r.Max} {
						value(where+".range", p.Path, plan.Tidy(end, r.Integer))
					}
				}
			}
			if sw.Mode == schema.SweepGrid {
				if n := len(plan.Values(*p)); n > 0 {
					total *= n
				}
				if total > plan.MaxTrials {
					add(where, "the grid has more than %d trials (%d so far, at this parameter): use mode \"random\" with samples, or fewer values", plan.MaxTrials, total)
					total = 1
				}
			}
		}
	case schema.SweepList:
		for i, pt := range sw.Points {
			ok := true
			for _, path := range sortedKeys(pt) {
				ok = pathOK(fmt.Sprintf("sweep.points[%d].%s", i, strconv.Quote(path)), path) && ok
			}
			if !ok {
				continue
			}
			// The fields of a point are valid together (split fractions):
			// it is checked as a whole, and its structs completed.
			var ovs []step.Override
			hasComposite := false
			for _, path := range sortedKeys(pt) {
				ovs = append(ovs, step.Override{Path: path, Value: pt[path]})
				hasComposite = hasComposite || composite(pt[path])
			}
			msg, filled := c.validate(s.Resolved, ovs, hasComposite)
			if msg != "" {
				add(c.blame(fmt.Sprintf("sweep.points[%d]", i), ovs, msg, true), "%s", msg)
				continue
			}
			for _, path := range sortedKeys(pt) {
				if f, ok := step.Get(filled, path); ok && composite(pt[path]) {
					pt[path] = f
				}
			}
		}
	}
	if errs != nil {
		return errs
	}
	setSweep(s)
	return c.checkTrials(s)
}

// setSweep writes the (completed) sweep of s.Experiment back into s.Resolved.
func setSweep(s *Spec) {
	b, err := json.Marshal(s.Experiment.Sweep)
	if err != nil {
		return
	}
	var m map[string]any
	if json.Unmarshal(b, &m) == nil {
		s.Resolved["sweep"] = m
	}
}

// composite reports whether a swept value is a struct or a list of them,
// which the schema completes with defaults.
func composite(v any) bool {
	switch t := v.(type) {
	case map[string]any:
		return true
	case []any:
		return slices.ContainsFunc(t, composite)
	}
	return false
}

// maxRangeChecks bounds the points of one grid range checked against the
// whole section (a CUE unification each, about a millisecond); a spread of
// at most maxFieldChecks (every point of a smaller range) is checked against
// the field's own constraint (tens of microseconds each). The schema's
// numeric constraints are intervals, which the ends and the spread decide.
const (
	maxRangeChecks = 16
	maxFieldChecks = 1000
)

// spread reports whether point i of n is one of the at most max points
// spread evenly over them, the first and the last included.
func spread(i, n, max int) bool {
	if n <= max || i == 0 || i == n-1 {
		return true
	}
	step := float64(n-1) / float64(max-1)
	k := math.Round(float64(i) / step)
	return int(math.Round(k*step)) == i
}

// fieldOK reports whether v satisfies the schema's constraint of one field
// (field, looked up in #Experiment) on its own. v is read as CUE reads the
// trial's JSON, as validate does: 64 (a float64 from JSON) is an int.
func (c *checker) fieldOK(field cue.Value, v any) bool {
	b, err := step.Canonical(v)
	if err != nil {
		return false
	}
	return field.Unify(c.ctx.CompileBytes(b)).Validate(cue.Concrete(true)) == nil
}

// fieldSchema returns the schema's constraint of the field at path in the
// context of the experiment: the field's section definition unified with
// the resolved section less that field, which also finds fields the schema
// adds under a condition (data.signal when data.source.kind is "wfdb").
func (c *checker) fieldSchema(resolved map[string]any, path string) cue.Value {
	if v, ok := c.fields[path]; ok {
		return v
	}
	v := c.fieldSchemaOf(resolved, path)
	if c.fields == nil {
		c.fields = map[string]cue.Value{}
	}
	c.fields[path] = v
	return v
}

func (c *checker) fieldSchemaOf(resolved map[string]any, path string) cue.Value {
	parts := strings.Split(path, ".")
	if v := lookup(c.def, parts); v.Exists() || len(parts) < 2 {
		return v
	}
	sec := lookup(c.def, parts[:1])
	m, ok := step.Clone(resolved[parts[0]]).(map[string]any)
	if !sec.Exists() || !ok {
		return cue.Value{}
	}
	parent := m
	for _, p := range parts[1 : len(parts)-1] {
		if parent, ok = parent[p].(map[string]any); !ok {
			return cue.Value{}
		}
	}
	delete(parent, parts[len(parts)-1])
	b, err := step.Canonical(m)
	if err != nil {
		return cue.Value{}
	}
	return lookup(sec.Unify(c.ctx.CompileBytes(b)), parts[1:])
}

// isInt reports whether the schema types the field at path as an integer.
func (c *checker) isInt(path string) bool {
	return lookup(c.full, strings.Split(path, ".")).IncompleteKind() == cue.IntKind
}
