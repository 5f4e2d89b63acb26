package kyaml

import (
	"encoding/json"
	"math"
	"testing"
	"unicode/utf8"

	"github.com/google/go-cmp/cmp"
	"sigs.k8s.io/yaml"
)

func TestMarshal(t *testing.T) {
	for _, tc := range []struct {
		name string
		in   any
		want string
	}{
		{"nulls and empties go", map[string]any{"a": nil, "b": map[string]any{}, "c": []any{}, "d": 1}, "d: 1\n"},
		{"depth first", map[string]any{"spec": map[string]any{"x": map[string]any{"y": nil}}, "kind": "Pod"}, "kind: Pod\n"},
		{"emptyDir stays", map[string]any{"volumes": []any{map[string]any{"name": "w", "emptyDir": map[string]any{}}}}, "volumes:\n- emptyDir: {}\n  name: w\n"},
		{"lists under keys and in lists", map[string]any{"a": []any{map[string]any{"x": 1, "z": []any{"p"}}, []any{1, 2}, map[string]any{}}}, "a:\n- x: 1\n  z:\n  - p\n- - 1\n  - 2\n- {}\n"},
		{"block strings", map[string]any{"s": "a\n\nb\n", "t": []any{"a\nb"}, "u": "a\n\n"}, "s: |\n  a\n\n  b\nt:\n- |-\n  a\n  b\nu: |+\n  a\n\n"},
		{"quoting", map[string]any{"a": "{{x}}", "b": "1.5", "c": "2Gi", "d": "it's: x", "e": "\x01"}, "a: '{{x}}'\nb: \"1.5\"\nc: 2Gi\nd: 'it''s: x'\ne: \"\\x01\"\n"},
		{"keys sorted, zero values kept", struct {
			B int    `json:"b"`
			A string `json:"a"`
		}{0, ""}, "a: \"\"\nb: 0\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Marshal(tc.in)
			if err != nil || string(got) != tc.want {
				t.Errorf("Marshal = %q, %v; want %q", got, err, tc.want)
			}
		})
	}
}

// TestMarshalReadsBack checks that a YAML 1.1 reader (sigs.k8s.io/yaml, as
// kubectl and argo read) gets back exactly the pruned JSON Marshal started
// from: number types, quoting, block strings.
func TestMarshalReadsBack(t *testing.T) {
	for _, in := range []any{
		map[string]any{"int": 3, "neg": -7, "zero": 0.0, "negzero": math.Copysign(0, -1), "big": int64(1) << 62, "uint": uint64(1) << 63, "huge": 1e20, "exp": 1e21, "small": 1e-5, "frac": 0.125, "lr": 0.001},
		map[string]any{"s": []any{"true", "no", "Yes", "ON", "1.5", "0x1F", "0o17", "017", "1_000", "1:20", "2026-12-03", "2026-12-03T10:00:00Z", ".inf", "-.Inf", ".NaN", "+1", "-", "<<", "=", "", " lead", "trail ", "a: b", "a:b", "end:", "#c", "a #c", "a#c", "multi\nline\n", "multi\nline", "two\n\n", "\nlead", "x\n  indented\n", "sp \nx", "tab\there", "x\n\ty", "<&>", "ünï", "~", "null", "NULL", "y", "n", "2Gi", "500m", "{{inputs.parameters.x}}", "[a]", "a, b", "'q'", "\"q\"", "%x", "@x", "`x", "!x", "&x", "*x", "|x", ">x", "?x", "? x", "- x", "---", "...", "--- x", "... 0", "a [b] {c} | > #d", "a\r\nb", "\u0085", "\u2028", "\ufeff", "\x01", "é\u00a0x"}},
		map[string]any{"10": 1, "9": 2, "a10": 3, "a9": 4, "B": 5, "b": 6, "": 7, "true": 8, "a: b": 9, "multi\nline": 10},
		map[string]any{"list": []any{nil, map[string]any{"x": nil}, []any{}, 1, []any{[]any{1, 2}, map[string]any{"a": []any{"x"}, "b": "multi\nline\n"}}}, "emptyDir": map[string]any{}},
		[]any{"top", map[string]any{"k": "v"}},
		"multi\nline\n",
		struct {
			N  json.Number `json:"n"`
			F  float32     `json:"f"`
			Ok bool        `json:"ok"`
		}{"12345678901234567890", 0.1, true},
	} {
		readsBack(t, in)
	}
}

// FuzzMarshal writes a string as a key, a value and a list item, and the
// reader must get each back unchanged.
func FuzzMarshal(f *testing.F) {
	for _, s := range []string{"a", "1", "true", "a: b", "x\ny\n", " ", "- ", "#", "\t", "'", "é"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if !utf8.ValidString(s) {
			return // JSON replaces invalid bytes before Marshal sees them
		}
		m := map[string]any{"list": []any{s, map[string]any{"k": s}}, "m": map[string]any{"k": s}}
		// A key may be refused for its length as written (at most 4 bytes
		// for each byte of s, plus quotes), never for anything else.
		if _, err := Marshal(map[string]any{s: 1}); err == nil {
			m[s] = s
		} else if 4*len(s)+2 <= maxKey {
			t.Fatalf("key %q refused: %v", s, err)
		}
		readsBack(t, m)
	})
}

// readsBack fails t unless Marshal(in), read by sigs.k8s.io/yaml, is the
// JSON of in without its nulls and empty values.
func readsBack(t *testing.T, in any) {
	t.Helper()
	got, err := Marshal(in)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(in)
	var want any
	_ = json.Unmarshal(b, &want)
	prune(want)
	j, err := yaml.YAMLToJSON(got)
	if err != nil {
		t.Fatalf("Marshal(%#v) wrote YAML that does not read:\n%s\n%v", in, got, err)
	}
	var back any
	if err := json.Unmarshal(j, &back); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, back); diff != "" {
		t.Errorf("Marshal(%#v) =\n%s\nreads back different (-want +got):\n%s", in, got, diff)
	}
}
