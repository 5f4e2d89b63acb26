package spec

import (
	"sort"
	"strconv"
	"strings"

	"cuelang.org/go/cue"
	"cuelang.org/go/cue/ast"
	cueerrors "cuelang.org/go/cue/errors"
	"cuelang.org/go/cue/token"

	"parak8s.dev/parak8s/schema"
)

// The checker and where things are: paths relative to the experiment, their
// positions in the user's files and their names in messages.

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

// strictlyAbove reports whether p is a proper prefix of some path in paths.
func strictlyAbove(p []string, paths [][]string) bool {
	for _, q := range paths {
		if len(q) > len(p) && strings.Join(q[:len(p)], ".") == strings.Join(p, ".") {
			return true
		}
	}
	return false
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
