package step

import (
	"strings"
	"testing"
)

// With data.source.digest pinned, where the data sits (a folder, a claim, a
// registry) changes neither the data key nor the trial config; without a
// digest the path is all that names the data, so it does.
func TestContentAddressIgnoresPinnedPath(t *testing.T) {
	data := func(path, digest string) map[string]any {
		src := map[string]any{"kind": "wfdb", "path": path}
		if digest != "" {
			src["digest"] = digest
		}
		return map[string]any{"source": src, "classes": []any{"N", "V"}}
	}
	d := "sha256:" + strings.Repeat("a", 64)
	for _, tc := range []struct {
		name string
		a, b map[string]any
		same bool
	}{
		{"pinned", data("/data/mitdb", d), data("oci://r.local/mitdb@"+d, d), true},
		{"unpinned", data("/data/mitdb", ""), data("/other/mitdb", ""), false},
		{"other digest", data("/data/mitdb", d), data("/data/mitdb", "sha256:"+strings.Repeat("b", 64)), false},
	} {
		ka, _ := DataKey(tc.a, DatasetRef(tc.a))
		kb, _ := DataKey(tc.b, DatasetRef(tc.b))
		ca, _ := Canonical(TrialConfig(map[string]any{"data": tc.a}, []string{"data"}))
		cb, _ := Canonical(TrialConfig(map[string]any{"data": tc.b}, []string{"data"}))
		if (ka == kb) != tc.same || (string(ca) == string(cb)) != tc.same {
			t.Errorf("%s: data keys equal %v, configs equal %v; want %v", tc.name, ka == kb, string(ca) == string(cb), tc.same)
		}
	}
	// The caller's map keeps its path.
	m := data("/data/mitdb", d)
	TrialConfig(map[string]any{"data": m}, []string{"data"})
	if m["source"].(map[string]any)["path"] != "/data/mitdb" {
		t.Error("TrialConfig changed its argument")
	}
}
