package kyaml

import (
	"fmt"
	"maps"
	"math"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"
)

// The writer: block style as yaml.v2 writes it (two-space indent, a list
// under a key at the key's indent), for the values JSON decodes to. A string
// is written plain only when a YAML 1.1 reader (sigs.k8s.io/yaml, as
// kubectl and argo use) reads it back as that same string; otherwise quoted.
// Lines are not folded.

// maxKey is the longest key YAML allows in the block style written here
// (an implicit key is at most 1024 characters, its quotes included).
const maxKey = 1000

// emitter appends YAML to buf; err is the first value it cannot write.
type emitter struct {
	buf []byte
	err error
}

func (e *emitter) indent(n int) {
	for range n {
		e.buf = append(e.buf, ' ')
	}
}

// value writes v after a "key:" or "- " already written on the current
// line; nested blocks start on the next line at indent.
func (e *emitter) value(v any, indent int) {
	switch t := v.(type) {
	case map[string]any:
		if len(t) == 0 {
			e.buf = append(e.buf, " {}\n"...)
			return
		}
		e.buf = append(e.buf, '\n')
		e.mapping(t, indent, false)
	case []any:
		if len(t) == 0 {
			e.buf = append(e.buf, " []\n"...)
			return
		}
		e.buf = append(e.buf, '\n')
		e.sequence(t, indent, false)
	default:
		e.buf = append(e.buf, ' ')
		e.scalar(v, indent)
		if e.buf[len(e.buf)-1] != '\n' { // a literal block ends its own line
			e.buf = append(e.buf, '\n')
		}
	}
}

// mapping writes the keys of m in order at indent; inline means the first
// key goes on the current line (after "- ").
func (e *emitter) mapping(m map[string]any, indent int, inline bool) {
	for i, k := range slices.Sorted(maps.Keys(m)) {
		if i > 0 || !inline {
			e.indent(indent)
		}
		start := len(e.buf)
		e.str(k, indent, true)
		if len(e.buf)-start > maxKey && e.err == nil {
			e.err = fmt.Errorf("key %.40q… is longer than YAML's limit for a key (%d characters as written)", k, maxKey)
		}
		e.buf = append(e.buf, ':')
		// A list under a key stays at the key's indent, as yaml.v2 writes it.
		if _, isList := m[k].([]any); isList {
			e.value(m[k], indent)
		} else {
			e.value(m[k], indent+2)
		}
	}
}

// sequence writes the items of s at indent, each after "- ".
func (e *emitter) sequence(s []any, indent int, inline bool) {
	for i, v := range s {
		if i > 0 || !inline {
			e.indent(indent)
		}
		e.buf = append(e.buf, '-')
		switch t := v.(type) {
		case map[string]any:
			if len(t) > 0 {
				e.buf = append(e.buf, ' ')
				e.mapping(t, indent+2, true)
				continue
			}
		case []any:
			if len(t) > 0 {
				e.buf = append(e.buf, ' ')
				e.sequence(t, indent+2, true)
				continue
			}
		}
		e.value(v, indent+2)
	}
}

// scalar writes a string, number, bool or null; indent is where a block
// string's lines go.
func (e *emitter) scalar(v any, indent int) {
	switch t := v.(type) {
	case nil:
		e.buf = append(e.buf, "null"...)
	case bool:
		e.buf = strconv.AppendBool(e.buf, t)
	case string:
		e.str(t, indent, false)
	case float64:
		e.buf = appendNumber(e.buf, t)
	default:
		panic(fmt.Sprintf("kyaml: %T is not a value JSON decodes to", v))
	}
}

// appendNumber writes a number decoded from JSON as the type YAML gives its
// JSON text: an integral number below 1e21 as digits when it fits an int64
// or uint64, any other in Go's shortest form (as yaml.v2 writes a float64).
func appendNumber(b []byte, f float64) []byte {
	if f == math.Trunc(f) && math.Abs(f) < 1e21 {
		if math.Abs(f) < 1<<53 {
			return strconv.AppendInt(b, int64(f), 10)
		}
		// JSON writes the shortest digits that read back as f; YAML takes
		// them for an int when they fit one.
		digits := strconv.FormatFloat(f, 'f', -1, 64)
		if _, err := strconv.ParseInt(digits, 10, 64); err == nil {
			return append(b, digits...)
		}
		if _, err := strconv.ParseUint(digits, 10, 64); err == nil {
			return append(b, digits...)
		}
	}
	return strconv.AppendFloat(b, f, 'g', -1, 64)
}

// str writes s plain when that reads back as the same string, as a literal
// block when it has several lines (not as a key), else quoted.
func (e *emitter) str(s string, indent int, key bool) {
	switch {
	case !key && strings.Contains(s, "\n") && blockSafe(s):
		e.literal(s, indent)
	case plainSafe(s):
		e.buf = append(e.buf, s...)
	case !resolvesAsString(s) || !printable(s):
		e.buf = strconv.AppendQuote(e.buf, s)
	default:
		e.buf = append(e.buf, '\'')
		e.buf = append(e.buf, strings.ReplaceAll(s, "'", "''")...)
		e.buf = append(e.buf, '\'')
	}
}

// literal writes s as a literal block (|) with its lines at indent, ending
// its last line; the chomping indicator keeps its final line breaks exact.
func (e *emitter) literal(s string, indent int) {
	body := strings.TrimRight(s, "\n")
	switch len(s) - len(body) {
	case 0:
		e.buf = append(e.buf, "|-\n"...)
	case 1:
		e.buf = append(e.buf, "|\n"...)
	default:
		e.buf = append(e.buf, "|+\n"...)
	}
	for line := range strings.SplitSeq(body, "\n") {
		if line != "" {
			e.indent(indent)
			e.buf = append(e.buf, line...)
		}
		e.buf = append(e.buf, '\n')
	}
	for i := 1; i < len(s)-len(body); i++ {
		e.buf = append(e.buf, '\n')
	}
}

// blockSafe reports whether s can be a literal block: printable text whose
// first line does not start with a space (that would need an indentation
// indicator) and with no space or tab before a line break.
func blockSafe(s string) bool {
	if s[0] == ' ' || s[0] == '\t' || s[0] == '\n' || strings.Contains(s, " \n") || strings.Contains(s, "\t\n") || strings.Contains(s, "\n\t") {
		return false
	}
	for _, r := range s {
		if r != '\n' && r != '\t' && !printableRune(r) {
			return false
		}
	}
	return true
}

// plainSafe reports whether s can be written plain: a conservative subset
// of YAML's plain scalars in block context (no indicator or document marker
// first, no ": " or " #", no surrounding space, no tab) that resolves to a
// string.
func plainSafe(s string) bool {
	if s == "" || s[0] == ' ' || s[len(s)-1] == ' ' || s[len(s)-1] == ':' {
		return false
	}
	if strings.ContainsAny(s[:1], "?:,[]{}#&*!|>'\"%@`") || s[0] == '-' && (len(s) == 1 || s[1] == ' ') {
		return false
	}
	if strings.Contains(s, ": ") || strings.Contains(s, " #") || strings.HasPrefix(s, "---") || strings.HasPrefix(s, "...") {
		return false
	}
	for _, r := range s {
		if r == '\t' || !printableRune(r) {
			return false
		}
	}
	return resolvesAsString(s)
}

// number matches the plain scalars YAML 1.1 reads as numbers, in its
// forms (bases, underscores, sexagesimal colons, exponents without a dot as
// yaml.v2 reads them, infinities, NaN); date the start of a timestamp.
var (
	number = regexp.MustCompile(`(?i)^(` +
		`[-+]?(0b[01_]+|0o?[0-7_]+|0x[0-9a-f_]+|[0-9][0-9_]*)` +
		`|[-+]?([0-9][0-9_]*)?\.[0-9_.]*(e[-+]?[0-9]+)?` +
		`|[-+]?[0-9][0-9_]*e[-+]?[0-9]+` +
		`|[-+]?[0-9][0-9_]*(:[0-5]?[0-9])+(\.[0-9_]*)?` +
		`|[-+]?\.inf|\.nan` +
		`)$`)
	date = regexp.MustCompile(`^[0-9]{4}-[0-9]{1,2}-[0-9]{1,2}`)
)

// resolvesAsString reports whether a YAML 1.1 reader takes the plain text s
// for a string: not null, a boolean, the merge key, a number or a date. It
// errs towards false: a string quoted needlessly still reads back the same.
func resolvesAsString(s string) bool {
	if len(s) <= len("false") {
		switch strings.ToLower(s) {
		case "", "~", "=", "<<", "null", "y", "n", "yes", "no", "on", "off", "true", "false":
			return false
		}
	}
	if c := s[0]; (c < '0' || c > '9') && c != '.' && c != '+' && c != '-' {
		return true
	}
	// What Go's number parsers accept, as yaml.v2 tries them.
	if _, err := strconv.ParseInt(s, 0, 64); err == nil {
		return false
	}
	if _, err := strconv.ParseUint(s, 0, 64); err == nil {
		return false
	}
	if _, err := strconv.ParseFloat(s, 64); err == nil {
		return false
	}
	if date.MatchString(s) {
		return false
	}
	// The hex digits a, c, d and f appear in YAML's numbers only after 0x
	// and in inf and nan: a trial id, say, needs no regular expression.
	lower := strings.ToLower(s)
	if !strings.ContainsAny(lower, "acdf") || strings.Contains(lower, "0x") || strings.Contains(lower, "inf") || strings.Contains(lower, "nan") {
		if number.MatchString(s) {
			return false
		}
	}
	for _, p := range []string{"0b", "-0b", "+0b"} {
		if rest, ok := strings.CutPrefix(s, p); ok {
			if _, err := strconv.ParseInt(rest, 2, 64); err == nil {
				return false
			}
		}
	}
	return true
}

func printable(s string) bool {
	for _, r := range s {
		if !printableRune(r) {
			return false
		}
	}
	return true
}

// printableRune reports whether r may appear unescaped in a YAML scalar
// (YAML's printable set, less the byte order mark and the line separators).
func printableRune(r rune) bool {
	switch {
	case r == utf8.RuneError:
		return false
	case r >= 0x20 && r <= 0x7E:
		return true
	case r == 0x85 || r == 0xFEFF || r == 0x2028 || r == 0x2029:
		return false
	case r >= 0xA0 && r <= 0xD7FF, r >= 0xE000 && r <= 0xFFFD, r >= 0x10000 && r <= 0x10FFFF:
		return true
	}
	return false
}
