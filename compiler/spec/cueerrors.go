package spec

import (
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"

	"cuelang.org/go/cue"
	"cuelang.org/go/cue/ast"
	cueerrors "cuelang.org/go/cue/errors"
	"cuelang.org/go/cue/token"

	"parak8s.dev/parak8s/schema"
)

// CUE's errors rewritten as problems in the user's terms: one per field, at
// the user's position, with friendlier text, never a raw bottom or a secret.

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

var (
	validatorMsg = regexp.MustCompile(`\(does not satisfy (list\.MinItems|list\.MaxItems|strings\.MaxRunes|strings\.MinRunes)\((\d+)\)\)$`)
	listLengths  = regexp.MustCompile(`^incompatible list lengths \((\d+) and (\d+)\)$`)
	// compiled on first use: its bounded repeat makes 80 states
	longString = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^(.*?invalid value )("(?:[^"\\]|\\.){80,}")`) })
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
	m := longString().FindStringSubmatchIndex(msg)
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
