package spec

import (
	"encoding/json"
	"fmt"
	"io/fs"
	"math"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"

	"cuelang.org/go/cue"
	"cuelang.org/go/cue/ast"
	cueerrors "cuelang.org/go/cue/errors"
	"cuelang.org/go/cue/parser"
	"cuelang.org/go/cue/token"

	"parak8s.dev/parak8s/compiler/plan"
	"parak8s.dev/parak8s/runtime/step"
	"parak8s.dev/parak8s/schema"
)

// checker turns CUE errors into problems positioned in the user's files and
// checks what CUE cannot: sweep paths and swept values.
type checker struct {
	ctx    *cue.Context // the context every value of the spec was built in
	root   cue.Value    // the schema package
	def    cue.Value    // #Experiment
	user   cue.Value    // the user's experiment, before unification with def
	prefix string       // CUE path of the experiment in its package
	files  []string     // the user's files, sorted
	syntax []*ast.File  // the user's syntax trees
	full   cue.Value    // def unified with user
	sweep  *schema.Sweep
	fields map[string]cue.Value // fieldSchema's answers by path
}

// rewrite returns err as a CUE error list with one entry per problem, each at
// a position in the user's files where one is known, with friendlier text.
func (c *checker) rewrite(err error) error {
	type group struct {
		path []string
		errs []cueerrors.Error
	}
	var groups []*group
	byPath := map[string]*group{}
	for _, e := range cueerrors.Errors(err) {
		path := cleanPath(e.Path())
		k := strings.Join(path, ".")
		g := byPath[k]
		if g == nil {
			g = &group{path: path}
			byPath[k] = g
			groups = append(groups, g)
		}
		g.errs = append(g.errs, e)
	}
	var out cueerrors.Error
	seen := map[string]bool{}
	for _, g := range groups {
		for _, p := range c.problems(g.path, g.errs) {
			key := p.pos.String() + "\x00" + p.msg
			if seen[key] {
				continue
			}
			seen[key] = true
			out = cueerrors.Append(out, cueerrors.Newf(p.pos, "%s", redact(shorten(p.msg))))
		}
	}
	return out
}

type problem struct {
	pos token.Pos
	msg string
}

// problems condenses the errors CUE reports for one path into what the user
// needs: a choice between literals becomes "want one of …", a type mismatch
// "want <type>", and the noise of disjunctions with defaults is dropped.
func (c *checker) problems(path []string, errs []cueerrors.Error) []problem {
	where := c.name(joinPath(c.relative(path)))
	prefix := ""
	if where != "" {
		prefix = where + ": "
	}
	pos := c.position(errs, path)
	rel := c.relative(path)
	if f := secretField(rel); f != "" {
		return c.secretProblems(f, rel, pos, c.problemsOf(path, rel, prefix, pos, errs))
	}
	return c.problemsOf(path, rel, prefix, pos, errs)
}

// secretProblems words the problems of a field that names a Secret: a
// string written in place of the reference may be the secret itself and is
// never quoted; the names in a reference are shown (URIs redacted).
func (c *checker) secretProblems(field string, rel []string, pos token.Pos, ps []problem) []problem {
	f := strings.Split(field, ".")
	if field != "registry.auth" && len(rel) == len(f) && lookup(c.user, rel).IncompleteKind()&cue.StructKind == 0 {
		return []problem{{pos, c.name(field) + ": want a secret reference {name: SECRET, key: KEY}, not the secret itself (the value is not shown): put it in a Kubernetes Secret and name the Secret here"}}
	}
	for i := range ps {
		if rel[len(rel)-1] == "key" && len(rel) == len(f)+1 {
			ps[i].msg = strings.Replace(ps[i].msg, `(out of bound =~"^[-._a-zA-Z0-9]+$")`, "(want a key of the Secret: letters, digits, '-', '_' and '.')", 1)
		}
	}
	return ps
}

// problemsOf condenses the errors of path (rel relative to the experiment).
func (c *checker) problemsOf(path, rel []string, prefix string, pos token.Pos, errs []cueerrors.Error) []problem {
	var direct, conflicts []cueerrors.Error
	disjunction := false
	for _, e := range errs {
		msg := text(e)
		switch {
		case strings.Contains(msg, "errors in empty disjunction"):
			disjunction = true
		case strings.HasPrefix(msg, "conflicting values"):
			conflicts = append(conflicts, e)
		default:
			direct = append(direct, e)
		}
	}
	got := show(lookup(c.user, rel))
	if v := common(conflicts); v != "" {
		got = v
	}
	if disjunction && len(direct) == 0 {
		alt := c.alternatives(rel)
		if alt == "" {
			alt = others(conflicts, got)
		}
		if alt != "" {
			return []problem{{pos, prefix + "invalid value " + got + " (want one of " + alt + ")"}}
		}
	}
	if len(direct) == 0 && len(conflicts) > 0 {
		want := lookup(c.def, rel).IncompleteKind()
		if want == cue.BottomKind && c.full.Exists() {
			want = lookup(c.full, rel).IncompleteKind() // under a comprehension
		}
		for _, e := range conflicts {
			if strings.Contains(text(e), "mismatched types") && want != cue.BottomKind {
				return []problem{{pos, prefix + "invalid value " + got + " (want " + want.String() + ")"}}
			}
		}
		direct = conflicts[len(conflicts)-1:]
	}
	if len(direct) > 1 {
		// "invalid left-hand value to '!~' (type _|_)" repeats another error.
		var kept []cueerrors.Error
		for _, e := range direct {
			if !strings.Contains(text(e), "(type _|_)") {
				kept = append(kept, e)
			}
		}
		if len(kept) > 0 {
			direct = kept
		}
	}
	var out []problem
	for _, e := range direct {
		msg := cleanBottom(text(e))
		for _, op := range []string{"=~", "!~"} {
			if i := strings.Index(msg, "(out of bound "+op); i >= 0 {
				if d := c.describe(strings.TrimSuffix(msg[i+len("(out of bound "):], ")")); d != "" {
					msg = msg[:i] + "(want " + d + ")"
				}
			}
		}
		msg = friendlier(msg, lookup(c.user, rel))
		switch {
		case msg == "field not allowed":
			msg = "unknown field (not in the schema)"
		case msg == "field is required but not present":
			msg = "required field is missing"
		case strings.HasPrefix(msg, "incomplete value "):
			msg = "incomplete value (want a concrete value, not only a type or constraint)"
		case strings.HasPrefix(msg, "required field missing: "):
			// A rule of the schema read a required field the user left out.
			name := strings.TrimPrefix(msg, "required field missing: ")
			out = append(out, problem{c.position([]cueerrors.Error{e}, path), c.name(joinPath(append(rel[:len(rel):len(rel)], name))) + ": required field is missing"})
			continue
		case isSweepPath(rel) && strings.HasPrefix(msg, "invalid value "):
			msg = fmt.Sprintf("invalid sweep path %s (want a dotted path under %s, e.g. \"model.dropout\")", got, strings.Join(schema.SweepRoots(), ", "))
		}
		if strings.HasPrefix(msg, "invalid value ") && !c.written(rel) {
			// The schema's default does not hold (an empty list where items
			// are needed): the user has to write the field.
			if i := strings.Index(msg, " (want "); i >= 0 {
				msg = "missing" + msg[i:]
			}
		}
		out = append(out, problem{c.position([]cueerrors.Error{e}, path), prefix + msg})
	}
	return out
}

// describe finds the schema definition whose constraint is bound and returns
// its doc comment ("#Name is a DNS-1123 label…" gives "a DNS-1123 label…").
func (c *checker) describe(bound string) string {
	it, err := c.root.Fields(cue.Definitions(true))
	if err != nil {
		return ""
	}
	best, bestLen := "", 0
	for it.Next() {
		src := fmt.Sprint(it.Value())
		if k := it.Value().IncompleteKind(); k == cue.BottomKind || k&(cue.StructKind|cue.ListKind) != 0 {
			continue // a definition of a block, not of a value
		}
		if !it.Selector().IsDefinition() || !strings.Contains(src, bound) || best != "" && len(src) >= bestLen {
			continue
		}
		for _, d := range it.Value().Doc() {
			doc := strings.Join(strings.Fields(d.Text()), " ")
			if after, ok := strings.CutPrefix(doc, it.Selector().String()+" is "); ok {
				best, bestLen = strings.TrimSuffix(after, "."), len(src)
			}
		}
	}
	return best
}

// common returns the value that every "conflicting values" error names: the
// user's value, when the others are the schema's alternatives.
func common(conflicts []cueerrors.Error) string {
	count := map[string]int{}
	for _, e := range conflicts {
		_, args := e.Msg()
		seen := map[string]bool{}
		for _, a := range args {
			s := fmt.Sprint(a)
			if !seen[s] {
				seen[s] = true
				count[s]++
			}
		}
	}
	if len(conflicts) < 2 {
		return ""
	}
	for _, e := range conflicts[:1] {
		_, args := e.Msg()
		for _, a := range args {
			if s := fmt.Sprint(a); count[s] == len(conflicts) {
				return s
			}
		}
	}
	return ""
}

// others lists the concrete values the user's value conflicted with: the
// choices of a disjunction the schema lookup could not see (inside a
// comprehension). It is "" when any of them is not a literal.
func others(conflicts []cueerrors.Error, user string) string {
	var alts []string
	for _, e := range conflicts {
		_, args := e.Msg()
		for _, a := range args {
			s := fmt.Sprint(a)
			if s == user {
				continue
			}
			if strings.ContainsAny(s, " &|<>=") || s == "int" || s == "string" || s == "number" || s == "bool" {
				return ""
			}
			alts = append(alts, s)
		}
	}
	return strings.Join(dedupe(alts), ", ")
}

func show(v cue.Value) string {
	if v.Exists() && v.IsConcrete() {
		return fmt.Sprint(v)
	}
	return "value"
}

func text(e cueerrors.Error) string {
	format, args := e.Msg()
	return fmt.Sprintf(format, args...)
}

// cleanPath drops the schema's definition name and hidden fields (cross-field
// rules live in hidden fields) from an error path.
func cleanPath(path []string) []string {
	out := make([]string, 0, len(path))
	for _, p := range path {
		if strings.HasPrefix(p, "#") || strings.HasPrefix(p, "_") {
			continue
		}
		out = append(out, p)
	}
	return out
}

func (c *checker) position(errs []cueerrors.Error, path []string) token.Pos {
	// The latest user position is the most specific: a literal comes after
	// the structs that enclose it.
	var best token.Pos
	for _, e := range errs {
		for _, p := range cueerrors.Positions(e) {
			if isUserPos(p, c.files) && (!best.IsValid() || p.Filename() == best.Filename() && p.Offset() > best.Offset()) {
				best = p
			}
		}
	}
	if best.IsValid() {
		return best
	}
	// No position in the user's files (a required field that is missing, a
	// rule of the schema): point at the closest enclosing value the user wrote.
	full := path
	if c.prefix != "" {
		full = append(strings.Split(c.prefix, "."), c.relative(path)...)
	}
	for n := len(full); n > 0; n-- {
		if p := fieldPos(c.syntax, full[:n]); p.IsValid() {
			return p
		}
	}
	if len(c.syntax) > 0 {
		return c.syntax[0].Pos()
	}
	for _, e := range errs {
		if ps := cueerrors.Positions(e); len(ps) > 0 {
			return ps[0]
		}
	}
	return token.NoPos
}

// relative strips the experiment's own prefix from an error path.
func (c *checker) relative(path []string) []string {
	if c.prefix == "" {
		return path
	}
	pre := strings.Split(c.prefix, ".")
	if len(path) >= len(pre) && strings.Join(path[:len(pre)], ".") == c.prefix {
		return path[len(pre):]
	}
	return path
}

// lookup finds a path in v, seeing required and optional fields too.
func lookup(v cue.Value, path []string) cue.Value {
	for _, p := range path {
		var sel cue.Selector
		if i, err := strconv.Atoi(p); err == nil {
			sel = cue.Index(i)
		} else {
			sel = cue.Str(p)
		}
		next := v.LookupPath(cue.MakePath(sel))
		if !next.Exists() && sel.Type() == cue.StringLabel {
			if r := v.LookupPath(cue.MakePath(sel.Required())); r.Exists() {
				next = r
			} else {
				next = v.LookupPath(cue.MakePath(sel.Optional()))
			}
		}
		if !next.Exists() {
			return next
		}
		v = next
	}
	return v
}

// alternatives lists the concrete choices of a disjunction in the schema, or
// "" when the field is not a choice between literals.
func (c *checker) alternatives(rel []string) string {
	v := lookup(c.def, rel)
	if !v.Exists() {
		return ""
	}
	op, parts := v.Expr()
	if op != cue.OrOp {
		return ""
	}
	var alts []string
	userKind := lookup(c.user, rel).IncompleteKind()
	for _, p := range parts {
		if !p.IsConcrete() || p.IncompleteKind()&(cue.StringKind|cue.IntKind|cue.NumberKind|cue.BoolKind) == 0 {
			// A choice of another kind than the user's value ("none",
			// "balanced" or a list of weights) is named by its kind.
			if k := kindOf(p); k != cue.BottomKind && k&userKind == 0 && userKind != cue.BottomKind {
				alts = append(alts, "a "+k.String())
				continue
			}
			return ""
		}
		alts = append(alts, fmt.Sprint(p))
	}
	return strings.Join(alts, ", ")
}

// at returns the user's position of a path relative to the experiment
// ("sweep.parameters[1].values[0]").
func (c *checker) at(path string) token.Pos {
	var parts []string
	if c.prefix != "" {
		parts = strings.Split(c.prefix, ".")
	}
	for _, sel := range parsePath(path).Selectors() {
		switch {
		case sel.Type() == cue.IndexLabel:
			parts = append(parts, strconv.Itoa(sel.Index()))
		case sel.LabelType() == cue.StringLabel:
			parts = append(parts, sel.Unquoted())
		default:
			parts = append(parts, sel.String())
		}
	}
	for n := len(parts); n > 0; n-- {
		if p := fieldPos(c.syntax, parts[:n]); p.IsValid() {
			return p
		}
	}
	return c.user.Pos()
}

// parsePath parses a path relative to the experiment; when a selector does
// not parse (a sweep point's key is any string), the longest prefix that
// does is returned.
func parsePath(path string) cue.Path {
	for {
		p := cue.ParsePath(path)
		if p.Err() == nil {
			return p
		}
		i := strings.LastIndexAny(path, ".[")
		if i <= 0 {
			return cue.MakePath()
		}
		path = path[:i]
	}
}

func (c *checker) name(rel string) string {
	if c.prefix == "" || rel == "" {
		return rel
	}
	return c.prefix + "." + rel
}

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
// (field, looked up in #Experiment) on its own.
func (c *checker) fieldOK(field cue.Value, v any) bool {
	return field.Unify(c.ctx.Encode(v)).Validate(cue.Concrete(true)) == nil
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

func dedupe(s []string) []string {
	seen := map[string]bool{}
	out := s[:0]
	for _, x := range s {
		if !seen[x] {
			seen[x] = true
			out = append(out, x)
		}
	}
	return out
}

func sortedKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// invalid returns the problems of an experiment that fails validation: CUE's
// errors, rewritten, and the fields the schema does not allow. CUE skips the
// closedness check of a struct when a value below it is in error, so unknown
// fields next to another mistake would go unreported; a second pass unifies
// the schema with a copy of the experiment whose erroneous values are
// replaced by _ and keeps its "field not allowed" errors. Problems are sorted
// by position.
func (c *checker) invalid(err error) error {
	type field struct {
		rel []string
		pos token.Pos
	}
	var fields []field
	var others cueerrors.Error
	var bad [][]string
	for _, e := range cueerrors.Errors(err) {
		rel := c.relative(cleanPath(e.Path()))
		if text(e) == "field not allowed" {
			fields = append(fields, field{rel, c.position([]cueerrors.Error{e}, cleanPath(e.Path()))})
			continue
		}
		bad = append(bad, rel)
		others = cueerrors.Append(others, e)
	}
	// A list that fails against the schema's default list as well as item
	// by item ("incompatible list lengths (2 and 6)") is reported by item.
	var kept cueerrors.Error
	for _, e := range cueerrors.Errors(others) {
		rel := c.relative(cleanPath(e.Path()))
		if listLengths.MatchString(text(e)) && strictlyAbove(rel, bad) {
			continue
		}
		kept = cueerrors.Append(kept, e)
	}
	var out []cueerrors.Error
	if kept != nil {
		out = cueerrors.Errors(c.rewrite(kept))
	}
	probe := c.def.Unify(c.ctx.BuildExpr(skeleton(c.user, nil, bad)))
	for _, e := range cueerrors.Errors(probe.Validate(cue.All())) {
		if text(e) != "field not allowed" {
			continue
		}
		rel := c.relative(cleanPath(e.Path()))
		full := rel
		if c.prefix != "" {
			full = append(strings.Split(c.prefix, "."), rel...)
		}
		fields = append(fields, field{rel, fieldPos(c.syntax, full)})
	}
	var unknown [][]string
	for _, f := range fields {
		if len(f.rel) > 0 && !isIndex(f.rel[len(f.rel)-1]) {
			unknown = append(unknown, f.rel)
		}
	}
	seen := map[string]bool{}
	for _, f := range fields {
		k := strings.Join(f.rel, ".")
		if seen[k] || !f.pos.IsValid() || len(f.rel) == 0 || isIndex(f.rel[len(f.rel)-1]) || strictlyBelow(f.rel, unknown) || c.undecidable(f.rel, bad) {
			continue
		}
		seen[k] = true
		out = append(out, cueerrors.Newf(f.pos, "%s", c.unknownField(f.rel)))
	}
	sort.SliceStable(out, func(i, j int) bool {
		a, b := out[i].Position(), out[j].Position()
		if a.Filename() != b.Filename() {
			return a.Filename() < b.Filename()
		}
		return a.Offset() < b.Offset()
	})
	var list cueerrors.Error
	for _, e := range out {
		list = cueerrors.Append(list, e)
	}
	return list
}

// skeleton rebuilds the regular fields of v as a CUE expression with its
// concrete scalar values, except that values at or below a path in bad (and
// values that are not concrete) become _.
func skeleton(v cue.Value, path []string, bad [][]string) ast.Expr {
	kind := v.IncompleteKind()
	if kind == cue.BottomKind {
		// A struct or list with an error below it may report no kind.
		if _, err := v.Fields(); err == nil {
			kind = cue.StructKind
		} else if _, err := v.List(); err == nil {
			kind = cue.ListKind
		}
	}
	switch kind {
	case cue.StructKind:
		st := &ast.StructLit{}
		if it, err := v.Fields(); err == nil {
			for it.Next() {
				sel := it.Selector()
				if sel.Type() != cue.StringLabel {
					continue
				}
				p := append(path[:len(path):len(path)], sel.Unquoted())
				st.Elts = append(st.Elts, &ast.Field{Label: ast.NewString(sel.Unquoted()), Value: skeleton(it.Value(), p, bad)})
			}
		}
		return st
	case cue.ListKind:
		l := &ast.ListLit{}
		if it, err := v.List(); err == nil {
			for i := 0; it.Next(); i++ {
				l.Elts = append(l.Elts, skeleton(it.Value(), append(path[:len(path):len(path)], strconv.Itoa(i)), bad))
			}
		}
		return l
	}
	for _, b := range bad {
		if len(b) <= len(path) && strings.Join(b, ".") == strings.Join(path[:len(b)], ".") {
			return ast.NewIdent("_")
		}
	}
	if d, ok := v.Default(); ok || v.IsConcrete() {
		if d.IsConcrete() {
			if x, ok := d.Syntax(cue.Final()).(ast.Expr); ok {
				return x
			}
		}
	}
	return ast.NewIdent("_")
}

func isIndex(s string) bool {
	_, err := strconv.Atoi(s)
	return err == nil
}

// hasPrefix reports whether some path in paths starts with prefix.
func hasPrefix(paths [][]string, prefix []string) bool {
	for _, p := range paths {
		if len(p) >= len(prefix) && strings.Join(p[:len(prefix)], ".") == strings.Join(prefix, ".") {
			return true
		}
	}
	return false
}

// strictlyBelow reports whether some path in paths is a proper prefix of p.
func strictlyBelow(p []string, paths [][]string) bool {
	for _, q := range paths {
		if len(q) < len(p) && strings.Join(q, ".") == strings.Join(p[:len(q)], ".") {
			return true
		}
	}
	return false
}

var conditional struct {
	once   sync.Once
	fields map[string]bool
}

// conditionalFields returns the labels of the fields the schema declares
// inside comprehensions (`if source.kind == "wfdb" { signal: … }`).
func conditionalFields() map[string]bool {
	conditional.once.Do(func() {
		conditional.fields = map[string]bool{}
		walkSchema(func(n ast.Node) bool {
			c, ok := n.(*ast.Comprehension)
			if !ok {
				return true
			}
			if st, ok := c.Value.(*ast.StructLit); ok {
				for _, e := range st.Elts {
					if fd, ok := e.(*ast.Field); ok {
						if name, _, err := ast.LabelName(fd.Label); err == nil {
							conditional.fields[name] = true
						}
					}
				}
			}
			return true
		})
	})
	return conditional.fields
}

// walkSchema walks the syntax of every file of the schema (files that do
// not parse are left out: the schema's own tests parse them all).
func walkSchema(visit func(ast.Node) bool) {
	_ = fs.WalkDir(schema.FS, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := schema.FS.ReadFile(p)
		if err != nil {
			return err
		}
		if f, err := parser.ParseFile(p, b); err == nil {
			ast.Walk(f, visit, nil)
		}
		return nil
	})
}

// undecidable reports whether the field at rel lies in a field the schema adds
// only under a condition (data.signal when data.source.kind is "wfdb"…) while
// a value next to that field, which the condition may read, is in error.
func (c *checker) undecidable(rel []string, bad [][]string) bool {
	for i, name := range rel {
		if conditionalFields()[name] && hasPrefix(bad, rel[:i]) {
			return true
		}
	}
	return false
}

// joinPath renders a path relative to the experiment as the messages show
// it: "resources.tolerations[0].key".
func joinPath(path []string) string {
	var b strings.Builder
	for _, p := range path {
		if isIndex(p) {
			b.WriteString("[" + p + "]")
			continue
		}
		if b.Len() > 0 {
			b.WriteByte('.')
		}
		b.WriteString(p)
	}
	return b.String()
}

var (
	validatorMsg = regexp.MustCompile(`\(does not satisfy (list\.MinItems|list\.MaxItems|strings\.MaxRunes|strings\.MinRunes)\((\d+)\)\)$`)
	listLengths  = regexp.MustCompile(`^incompatible list lengths \((\d+) and (\d+)\)$`)
	longString   = regexp.MustCompile(`^(.*?invalid value )("(?:[^"\\]|\\.){80,}")`)
)

// friendlier rewrites the messages of CUE's validators in the user's terms.
func friendlier(msg string, user cue.Value) string {
	if m := validatorMsg.FindStringSubmatch(msg); m != nil {
		n, _ := strconv.Atoi(m[2])
		what := map[string]string{
			"list.MinItems":    "at least %d item",
			"list.MaxItems":    "at most %d item",
			"strings.MaxRunes": "at most %d character",
			"strings.MinRunes": "at least %d character",
		}[m[1]]
		if n != 1 {
			what += "s"
		}
		return msg[:len(msg)-len(m[0])] + "(want " + fmt.Sprintf(what, n) + ")"
	}
	if strings.HasSuffix(msg, "(does not satisfy list.UniqueItems)") {
		want := "(want unique items"
		if dup := duplicate(user); dup != "" {
			want += ", " + dup + " is repeated"
		}
		return strings.TrimSuffix(msg, "(does not satisfy list.UniqueItems)") + want + ")"
	}
	if m := listLengths.FindStringSubmatch(msg); m != nil {
		n, _ := strconv.Atoi(m[2])
		items := "items"
		if n == 1 {
			items = "item"
		}
		return fmt.Sprintf("invalid value %s (want at least %d %s)", show(user), n, items)
	}
	return msg
}

// duplicate returns the first item of a list that appears twice, as CUE.
func duplicate(v cue.Value) string {
	it, err := v.List()
	if err != nil {
		return ""
	}
	seen := map[string]bool{}
	for it.Next() {
		s := fmt.Sprint(it.Value())
		if seen[s] {
			return s
		}
		seen[s] = true
	}
	return ""
}

var (
	// leftBottom is CUE's report of a validator whose operand is already
	// in error: the operand's own error follows it.
	leftBottom = regexp.MustCompile(`^invalid (?:left-hand|right-hand)? ?value to '[^']*' \(type _\|_\): (?:#?[A-Za-z0-9_.#\[\]"]+: )?`)
	// bottom is CUE's rendering of an erroneous value.
	bottom = regexp.MustCompile(`_\|_(?:\s*//\s*)?`)
)

// cleanBottom removes CUE's internals from a message: the "(type _|_)"
// preamble of an error about an erroneous operand, and "_|_ //" before an
// explanation.
func cleanBottom(msg string) string {
	msg = leftBottom.ReplaceAllString(msg, "")
	if strings.Contains(msg, "_|_") {
		msg = bottom.ReplaceAllString(msg, "")
	}
	return msg
}

// shorten cuts the long string literals of a message.
func shorten(msg string) string {
	m := longString.FindStringSubmatchIndex(msg)
	if m == nil {
		return msg
	}
	lit := msg[m[4]:m[5]]
	return msg[:m[4]] + lit[:40] + `…" (` + strconv.Itoa(len(lit)-2) + " characters)" + msg[m[5]:]
}

func isSweepPath(rel []string) bool {
	return len(rel) == 4 && rel[0] == "sweep" && rel[1] == "parameters" && rel[3] == "path"
}

// written reports whether the user wrote the field at rel (or a value for it
// in a list).
func (c *checker) written(rel []string) bool {
	full := rel
	if c.prefix != "" {
		full = append(strings.Split(c.prefix, "."), rel...)
	}
	return fieldPos(c.syntax, full).IsValid()
}

// unknownField describes a field the schema does not allow. In a map with a
// key pattern (labels, nodeSelector) it is a key that does not match.
func (c *checker) unknownField(rel []string) string {
	parent, key := rel[:len(rel)-1], rel[len(rel)-1]
	if d := c.keyPattern(parent); d != "" {
		if k, err := strconv.Unquote(key); err == nil {
			key = k
		}
		return fmt.Sprintf("%s: invalid key %q (want %s)", c.name(joinPath(parent)), key, d)
	}
	return c.name(joinPath(rel)) + ": unknown field (not in the schema)"
}

// keyPattern describes the key pattern of the schema's map at rel ("" when
// the struct there is not a map of a definition's keys).
func (c *checker) keyPattern(rel []string) string {
	v := lookup(c.def, rel)
	if !v.Exists() {
		return ""
	}
	st, ok := v.Source().(*ast.StructLit)
	if !ok {
		if f, ok := v.Source().(*ast.Field); ok {
			st, _ = f.Value.(*ast.StructLit)
		}
	}
	if st == nil || len(st.Elts) != 1 {
		return ""
	}
	f, ok := st.Elts[0].(*ast.Field)
	if !ok {
		return ""
	}
	l, ok := f.Label.(*ast.ListLit)
	if !ok || len(l.Elts) != 1 {
		return ""
	}
	id, ok := l.Elts[0].(*ast.Ident)
	if !ok {
		return ""
	}
	for _, d := range c.root.LookupPath(cue.MakePath(cue.Def(id.Name))).Doc() {
		doc := strings.Join(strings.Fields(d.Text()), " ")
		if after, ok := strings.CutPrefix(doc, id.Name+" is "); ok {
			return strings.TrimSuffix(after, ".")
		}
	}
	return ""
}

// strictlyAbove reports whether p is a proper prefix of some path in paths.
func strictlyAbove(p []string, paths [][]string) bool {
	for _, q := range paths {
		if len(q) > len(p) && strings.Join(q[:len(p)], ".") == strings.Join(p, ".") {
			return true
		}
	}
	return false
}

// kindOf returns the kind of a schema value, looking into a conjunction
// ([...number] & list.MinItems(2)) whose kind CUE does not report.
func kindOf(v cue.Value) cue.Kind {
	k := v.IncompleteKind()
	if k != cue.BottomKind {
		return k
	}
	if op, parts := v.Expr(); op == cue.AndOp {
		for _, p := range parts {
			if pk := p.IncompleteKind(); pk != cue.BottomKind && pk != cue.TopKind {
				k |= pk
			}
		}
	}
	return k
}
