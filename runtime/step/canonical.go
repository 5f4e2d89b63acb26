package step

import (
	"encoding/json"
	"math"
	"slices"
	"strconv"
	"strings"
)

// appendCanonical appends the canonical JSON of v, byte for byte what
// Canonical's encoding/json encoder writes, without reflection: a trial id
// hashes its whole configuration, so a sweep encodes it once per trial. It
// handles the generic JSON types (maps, slices, strings, float64s, bools,
// nil); for anything else, a NaN or an infinity, ok is false and Canonical
// leaves v to encoding/json.
func appendCanonical(b []byte, v any) (_ []byte, ok bool) {
	switch t := v.(type) {
	case nil:
		return append(b, "null"...), true
	case bool:
		return strconv.AppendBool(b, t), true
	case string:
		return appendString(b, t), true
	case float64:
		return appendFloat(b, t)
	case map[string]any:
		if t == nil {
			return append(b, "null"...), true
		}
		keys := make([]string, 0, len(t))
		for k := range t {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		b = append(b, '{')
		for i, k := range keys {
			if i > 0 {
				b = append(b, ',')
			}
			b = append(appendString(b, k), ':')
			if b, ok = appendCanonical(b, t[k]); !ok {
				return b, false
			}
		}
		return append(b, '}'), true
	case []any:
		if t == nil {
			return append(b, "null"...), true
		}
		b = append(b, '[')
		for i, e := range t {
			if i > 0 {
				b = append(b, ',')
			}
			if b, ok = appendCanonical(b, e); !ok {
				return b, false
			}
		}
		return append(b, ']'), true
	}
	return b, false
}

// appendString quotes s as encoding/json does with HTML escaping off:
// printable ASCII other than '"' and '\' as it is, anything else through
// encoding/json itself.
func appendString(b []byte, s string) []byte {
	if !strings.ContainsFunc(s, func(r rune) bool { return r < 0x20 || r > 0x7e || r == '"' || r == '\\' }) {
		b = append(b, '"')
		b = append(b, s...)
		return append(b, '"')
	}
	var sb strings.Builder
	enc := json.NewEncoder(&sb)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(s) // a string always encodes
	return append(b, strings.TrimSuffix(sb.String(), "\n")...)
}

// appendFloat writes f as encoding/json writes a float64: Go's shortest
// form, in exponent form below 1e-6 and from 1e21, with a two-digit
// negative exponent shortened (1e-07 is 1e-7).
func appendFloat(b []byte, f float64) ([]byte, bool) {
	if math.IsInf(f, 0) || math.IsNaN(f) {
		return b, false
	}
	format := byte('f')
	if abs := math.Abs(f); abs != 0 && (abs < 1e-6 || abs >= 1e21) {
		format = 'e'
	}
	b = strconv.AppendFloat(b, f, format, -1, 64)
	if format == 'e' {
		if n := len(b); n >= 4 && b[n-4] == 'e' && b[n-3] == '-' && b[n-2] == '0' {
			b[n-2] = b[n-1]
			b = b[:n-1]
		}
	}
	return b, true
}
