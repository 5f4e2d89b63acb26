package kyaml

import "testing"

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
