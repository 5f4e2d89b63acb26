package spec

import (
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"

	"cuelang.org/go/cue"
	cueerrors "cuelang.org/go/cue/errors"

	"parak8s.dev/parak8s/compiler/plan"
	"parak8s.dev/parak8s/runtime/step"
	"parak8s.dev/parak8s/schema"
)

// Every trial of a sweep: the schema on combinations of dependent swept
// values, the Go rules (schema.Experiment.Problems) on every distinct
// configuration they read, each problem placed at the swept value behind it.

// maxCUETrials bounds the combinations checked against the CUE schema per
// section, spread evenly over the trials (the first and last included); the
// Go rules are checked on every trial up to maxRuleTrials.
const maxCUETrials = 64

// maxRuleTrials bounds the trials checked against the Go rules: a sweep of
// more trials has an even spread of them checked (the first and last
// included), which keeps parac vet within seconds at plan.MaxTrials.
const maxRuleTrials = 5000

// checkTrials checks every planned trial as a whole: each distinct
// combination of the values of swept fields under one section (data, model,
// training, evaluation), where the schema's rules across fields live,
// against the CUE schema; and each distinct trial against the rules of
// schema.Experiment.Problems. A problem is placed at the swept value of
// the trial that causes it.
func (c *checker) checkTrials(s *Spec) error {
	sw := s.Experiment.Sweep
	pts, err := plan.Points(sw, s.Resolved)
	if err != nil || len(pts) <= 1 && sw.Mode != schema.SweepList {
		return err
	}
	var errs cueerrors.Error
	reported := map[string]bool{}
	report := func(where, msg string) {
		if reported[msg] {
			return
		}
		reported[msg] = true
		errs = cueerrors.Append(errs, cueerrors.Newf(c.at(where), "%s: %s", c.name(where), redact(msg)))
	}
	// CUE: combinations within a section (list points were checked whole).
	if sw.Mode != schema.SweepList {
		sections := map[string][]int{}
		for i, o := range pts[0] {
			root, _, _ := strings.Cut(o.Path, ".")
			sections[root] = append(sections[root], i)
		}
		for _, root := range schema.CrossFieldSections() {
			// Only values of dependent fields can break the schema
			// together (each value alone was checked).
			var idx []int
			for _, i := range sections[root] {
				if !independent(pts[0][i].Path) {
					idx = append(idx, i)
				}
			}
			if len(idx) < 2 {
				continue
			}
			seen := map[string]bool{}
			stride := max(1, len(pts)/maxCUETrials)
			for n, pt := range pts {
				if n%stride != 0 && n != len(pts)-1 {
					continue
				}
				var ovs []step.Override
				for _, i := range idx {
					ovs = append(ovs, pt[i])
				}
				key, _ := step.Canonical(ovs)
				if seen[string(key)] {
					continue
				}
				if len(seen) >= maxCUETrials {
					break
				}
				seen[string(key)] = true
				if msg, _ := c.validate(s.Resolved, ovs, false); msg != "" {
					report(c.blame("", ovs, msg, false), withOthers(ovs, msg))
				}
			}
		}
	}
	if errs != nil {
		return errs
	}
	// Go rules on every distinct trial.
	base := s.Experiment
	base.Sweep = nil
	var ruled []int // the swept values the rules read
	for i, o := range pts[0] {
		if slices.ContainsFunc(schema.RuleFields(), func(f string) bool { return related(o.Path, f) >= 0 }) {
			ruled = append(ruled, i)
		}
	}
	if len(ruled) == 0 {
		return errs
	}
	seen := map[string]bool{}
	stride := max(1, (len(pts)+maxRuleTrials-1)/maxRuleTrials)
	for n, pt := range pts {
		if n%stride != 0 && n != len(pts)-1 {
			continue
		}
		proj := make([]step.Override, 0, len(ruled))
		for _, i := range ruled {
			proj = append(proj, pt[i])
		}
		key, _ := step.Canonical(proj)
		if seen[string(key)] {
			continue
		}
		seen[string(key)] = true
		e, err := trialOf(base, s.Resolved, pt)
		if err != nil {
			continue // the schema checks above report it
		}
		for _, p := range e.Problems() {
			if containsProblem(base.Problems(), p) {
				continue // the experiment's own, reported by checkRules
			}
			msg := p.Path + ": " + p.Msg
			if sw.Mode == schema.SweepList {
				report(c.blame(fmt.Sprintf("sweep.points[%d]", n), pt, msg, true), withOthers(pt, msg))
				continue
			}
			report(c.blame("", pt, msg, false), withOthers(pt, msg))
		}
	}
	return errs
}

func containsProblem(ps []schema.Problem, p schema.Problem) bool {
	return slices.Contains(ps, p)
}

// decodeTrial applies a trial's overrides to the resolved experiment and
// decodes it.
func decodeTrial(resolved map[string]any, ovs []step.Override) (schema.Experiment, error) {
	var e schema.Experiment
	m, err := step.Apply(resolved, ovs)
	if err != nil {
		return e, err
	}
	delete(m, "sweep")
	b, err := json.Marshal(m)
	if err != nil {
		return e, err
	}
	err = json.Unmarshal(b, &e)
	return e, err
}

// trialOf returns base (the decoded experiment) with a trial's overrides
// applied: only the sections the overrides touch are re-decoded, which
// keeps checking 100,000 trials within a second or two.
func trialOf(base schema.Experiment, resolved map[string]any, ovs []step.Override) (schema.Experiment, error) {
	e := base
	byRoot := map[string][]step.Override{}
	for _, o := range ovs {
		root, _, _ := strings.Cut(o.Path, ".")
		byRoot[root] = append(byRoot[root], o)
	}
	for root, os := range byRoot {
		var dst any
		switch root {
		case "data":
			e.Data = schema.Data{}
			dst = &e.Data
		case "model":
			e.Model = schema.Model{}
			dst = &e.Model
		case "training":
			e.Training = schema.Training{}
			dst = &e.Training
		case "evaluation":
			e.Evaluation = schema.Evaluation{}
			dst = &e.Evaluation
		default:
			return decodeTrial(resolved, ovs)
		}
		m, err := step.Apply(map[string]any{root: resolved[root]}, os)
		if err != nil {
			return e, err
		}
		b, err := json.Marshal(m[root])
		if err != nil {
			return e, err
		}
		if err := json.Unmarshal(b, dst); err != nil {
			return e, err
		}
	}
	return e, nil
}

// withOthers prefixes a trial's problem with the swept values that make the
// trial: "trial with data.signal.recordTemplate=true, data.signal.augment.enabled=true: …".
func withOthers(ovs []step.Override, msg string) string {
	var parts []string
	for _, o := range ovs {
		b, _ := step.Canonical(o.Value)
		v := string(b)
		if len(v) > 40 {
			v = v[:37] + "…"
		}
		parts = append(parts, o.Path+"="+v)
	}
	return "trial with " + strings.Join(parts, ", ") + ": " + msg
}

// blame returns the sweep field a trial's problem is placed at: the swept
// value of the parameter whose path is closest to the field in msg (the
// last parameter when none is related). For a list point (where is
// "sweep.points[N]") it is the point's entry.
func (c *checker) blame(where string, ovs []step.Override, msg string, list bool) string {
	field, _, _ := strings.Cut(msg, ": ")
	best, bestLen := len(ovs)-1, -1
	for i, o := range ovs {
		if n := related(o.Path, field); n > bestLen {
			best, bestLen = i, n
		}
	}
	if list {
		return where + "." + strconv.Quote(ovs[best].Path)
	}
	return c.sweepField(ovs[best])
}

// related returns how many leading path elements a and b share when one is
// a prefix of the other (-1 otherwise).
func related(a, b string) int {
	x, y := strings.Split(a, "."), strings.Split(b, ".")
	n := min(len(x), len(y))
	for i := 0; i < n; i++ {
		if x[i] != y[i] && !strings.HasPrefix(y[i], x[i]+"[") {
			return -1
		}
	}
	return n
}

// sweepField returns the path of the sweep field that gives a trial its
// value o: the value in the parameter's values, or its range.
func (c *checker) sweepField(o step.Override) string {
	sw := c.sweep
	for i, p := range sw.Parameters {
		if p.Path != o.Path {
			continue
		}
		if p.Range != nil {
			return fmt.Sprintf("sweep.parameters[%d].range", i)
		}
		want, _ := step.Canonical(o.Value)
		for j, v := range p.Values {
			if b, _ := step.Canonical(v); string(b) == string(want) {
				return fmt.Sprintf("sweep.parameters[%d].values[%d]", i, j)
			}
		}
		return fmt.Sprintf("sweep.parameters[%d]", i)
	}
	return "sweep"
}

// validate checks the experiment with the overrides applied against the
// schema and returns its problems as one line ("" when valid) and, when fill
// is set and it is valid, the experiment completed with the schema's
// defaults. Only the sections the overrides touch are unified, each with its
// own definition (#Experiment.data is #Data…): #Experiment holds no rule
// across sections and the others were validated with the experiment, and a
// section is 5-50 times cheaper to unify than the whole experiment.
func (c *checker) validate(resolved map[string]any, ovs []step.Override, fill bool) (string, map[string]any) {
	byRoot := map[string][]step.Override{}
	var roots []string
	for _, o := range ovs {
		root, _, _ := strings.Cut(o.Path, ".")
		if _, ok := byRoot[root]; !ok {
			roots = append(roots, root)
		}
		byRoot[root] = append(byRoot[root], o)
	}
	sort.Strings(roots)
	var out map[string]any
	if fill {
		out = make(map[string]any, len(resolved))
		for k, v := range resolved {
			out[k] = v
		}
	}
	var msgs []string
	for _, root := range roots {
		sec := lookup(c.def, []string{root})
		if !sec.Exists() || root == "sweep" {
			return c.validateAll(resolved, ovs, fill)
		}
		m, err := step.Apply(map[string]any{root: resolved[root]}, byRoot[root])
		if err != nil {
			return err.Error(), nil
		}
		b, err := step.Canonical(m[root])
		if err != nil {
			return err.Error(), nil
		}
		msg, filled := c.unify(sec, b, fill)
		if msg != "" {
			msgs = append(msgs, msg)
			continue
		}
		if fill && filled != nil {
			out[root] = filled
		}
	}
	if len(msgs) > 0 {
		return strings.Join(dedupe(msgs), "; "), nil
	}
	return "", out
}

// validateAll is validate over the whole experiment.
func (c *checker) validateAll(resolved map[string]any, ovs []step.Override, fill bool) (string, map[string]any) {
	m, err := step.Apply(resolved, ovs)
	if err != nil {
		return err.Error(), nil
	}
	b, err := step.Canonical(m)
	if err != nil {
		return err.Error(), nil
	}
	msg, filled := c.unify(c.def, b, fill)
	out, _ := filled.(map[string]any)
	return msg, out
}

// unify checks the JSON value b against the schema value def, returning its
// problems as one line ("" when valid) and, when fill is set and it is
// valid, the value completed with the schema's defaults.
func (c *checker) unify(def cue.Value, b []byte, fill bool) (string, any) {
	u := def.Unify(c.ctx.CompileBytes(b))
	err := u.Validate(cue.Concrete(true), cue.All())
	if err == nil {
		if !fill {
			return "", nil
		}
		var out any
		if raw, err := u.MarshalJSON(); err == nil && json.Unmarshal(raw, &out) == nil {
			return "", out
		}
		return "", nil
	}
	local := *c
	local.prefix = ""
	var msgs []string
	for _, e := range cueerrors.Errors(local.rewrite(err)) {
		msgs = append(msgs, text(e))
	}
	return strings.Join(dedupe(msgs), "; "), nil
}
