package step

import (
	"bytes"
	"encoding/json"
	"math"
	"testing"
)

// viaEncoder is Canonical's encoding/json path, the reference the fast path
// must match byte for byte.
func viaEncoder(t testing.TB, v any) []byte {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		t.Fatal(err)
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte{'\n'})
}

func TestCanonicalMatchesEncodingJSON(t *testing.T) {
	for _, v := range []any{
		nil, true, false, "", "plain", `quote " and \ backslash`, "<&>", "tab\tnew\nline\x00\x1f", "ünï €", "\u2028\u2029", "bad \xff utf8",
		0.0, math.Copysign(0, -1), 1.0, -7.0, 0.1, 1e-6, 9.99e-7, 1e-7, 1.5e-10, 1e20, 1e21, 123456789012345678901234.0, math.MaxFloat64, math.SmallestNonzeroFloat64,
		map[string]any{"b": 1.0, "a": []any{"x", nil, map[string]any{}}, "B": map[string]any{"z": false}, "": "empty key", "é": 2.0},
		map[string]any(nil), []any(nil), []any{},
	} {
		got, ok := appendCanonical(nil, v)
		if !ok {
			t.Errorf("appendCanonical(%#v) fell back", v)
			continue
		}
		if want := viaEncoder(t, v); !bytes.Equal(got, want) {
			t.Errorf("appendCanonical(%#v) = %s, encoding/json writes %s", v, got, want)
		}
	}
	for _, v := range []any{math.NaN(), math.Inf(1), 3, []string{"a"}, map[string]any{"x": int64(1)}, Override{Path: "a", Value: 1.0}} {
		if _, ok := appendCanonical(nil, v); ok {
			t.Errorf("appendCanonical(%#v) did not leave it to encoding/json", v)
		}
	}
	if _, err := Canonical(math.NaN()); err == nil {
		t.Error("Canonical(NaN): no error")
	}
}

// FuzzCanonical checks the fast path against encoding/json on every value
// JSON can decode to.
func FuzzCanonical(f *testing.F) {
	for _, s := range []string{`{"a":[1,2.5,-0.0,1e-7,1e21],"b":"x\u00e9\n<>&","c":null,"d":true}`, `"\ud800"`, `[{},[],""]`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var v any
		if json.Unmarshal(data, &v) != nil {
			return
		}
		got, ok := appendCanonical(nil, v)
		if !ok {
			t.Fatalf("fell back on %s", data)
		}
		if want := viaEncoder(t, v); !bytes.Equal(got, want) {
			t.Fatalf("appendCanonical = %s, encoding/json writes %s", got, want)
		}
	})
}
