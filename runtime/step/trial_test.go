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

// A Resolver reuses the encoding of untouched sections across trials; every
// trial must still come out as the whole encoding (Canonical of the full
// TrialConfig) gives it, and the base experiment must stay as it was.
func TestResolverMatchesWholeEncoding(t *testing.T) {
	base := map[string]any{
		"name":     "demo",
		"data":     map[string]any{"source": map[string]any{"kind": "wfdb", "path": "/data/mitdb", "digest": ""}, "loader": map[string]any{"batchSize": 64.0}, "classes": []any{"N", "V"}},
		"model":    map[string]any{"kind": "deepcnn1d", "dropout": 0.1},
		"training": map[string]any{"seed": 7.0, "optimizer": map[string]any{"lr": 1e-3}},
		"sweep":    map[string]any{"mode": "grid"},
	}
	before, _ := Canonical(base)
	roots := []string{"training", "name", "model", "data"} // unsorted on purpose
	res := NewResolver(base, "img:1", roots)
	for _, ovs := range [][]Override{
		nil,
		{{Path: "model.dropout", Value: 0.3}},
		{{Path: "data.loader.batchSize", Value: 128.0}, {Path: "training.optimizer.lr", Value: 1e-4}},
		{{Path: "data.source.path", Value: "/other"}},
		{{Path: "model", Value: map[string]any{"kind": "resnet"}}},
		{{Path: "training.seed", Value: 9.0}},
		{{Path: "model", Value: map[string]any{"kind": "resnet", "dropout": 0.2}}, {Path: "model.dropout", Value: 0.5}},
		{{Path: "model.dropout", Value: 0.5}, {Path: "data.source", Value: map[string]any{"kind": "wfdb", "path": "/p", "digest": "sha256:" + strings.Repeat("c", 64)}}},
		// A digest drops the path from the trial config: the objects above
		// an override need not keep their keys from one trial to the next.
		{{Path: "data.source.digest", Value: ""}},
		{{Path: "data.source.digest", Value: "sha256:" + strings.Repeat("d", 64)}},
		nil,
	} {
		got, err := res.Resolve(ovs)
		if err != nil {
			t.Fatal(err)
		}
		m, _ := Apply(base, ovs)
		cfg, _ := Canonical(TrialConfig(m, roots))
		data := m["data"].(map[string]any)
		key, _ := DataKey(data, DatasetRef(data))
		seed := int64(m["training"].(map[string]any)["seed"].(float64))
		if string(got.Config) != string(cfg) || got.DataKey != key || got.ID != TrialID(cfg, DatasetRef(data), "img:1", seed) || got.Seed != seed {
			t.Errorf("%v: Resolver gives config %s, key %s, seed %d; the whole encoding %s, %s, %d", ovs, got.Config, got.DataKey, got.Seed, cfg, key, seed)
		}
		one, _ := Resolve(base, ovs, "img:1", roots)
		if one.ID != got.ID {
			t.Errorf("%v: Resolve and Resolver disagree: %s vs %s", ovs, one.ID, got.ID)
		}
	}
	if after, _ := Canonical(base); string(after) != string(before) {
		t.Errorf("the base experiment changed:\n%s\n%s", before, after)
	}
	if _, err := res.Resolve([]Override{{Path: "model.nope.x", Value: 1.0}}); err == nil {
		t.Error("an override of a missing field: no error")
	}
}
