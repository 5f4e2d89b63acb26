package kyaml

import (
	"encoding/json"
	"math"
	"testing"

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

// TestMarshalAsJSONToYAML checks that Marshal writes what writing the pruned
// JSON and converting it with sigs.k8s.io/yaml's JSONToYAML writes (what it
// did before it skipped that round trip): number types, quoting, block
// strings, key order.
func TestMarshalAsJSONToYAML(t *testing.T) {
	for _, in := range []any{
		map[string]any{"int": 3, "neg": -7, "zero": 0.0, "negzero": math.Copysign(0, -1), "big": int64(1) << 62, "uint": uint64(1) << 63, "huge": 1e20, "exp": 1e21, "small": 1e-5, "frac": 0.125, "lr": 0.001},
		map[string]any{"s": []any{"true", "no", "1.5", "0x1F", "", " lead", "a: b", "#c", "multi\nline\n", "tab\there", "<&>", "ünï", "~", "null"}},
		map[string]any{"10": 1, "9": 2, "a10": 3, "a9": 4, "B": 5, "b": 6, "": 7},
		map[string]any{"list": []any{nil, map[string]any{"x": nil}, []any{}, 1}, "emptyDir": map[string]any{}},
		struct {
			N  json.Number `json:"n"`
			F  float32     `json:"f"`
			Ok bool        `json:"ok"`
		}{"12345678901234567890", 0.1, true},
	} {
		got, err := Marshal(in)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := json.Marshal(in)
		var m any
		_ = json.Unmarshal(b, &m)
		prune(m)
		b, _ = json.Marshal(m)
		want, err := yaml.JSONToYAML(b)
		if err != nil {
			t.Fatal(err)
		}
		if string(got) != string(want) {
			t.Errorf("Marshal(%v) =\n%s\nJSONToYAML gives\n%s", in, got, want)
		}
	}
}
