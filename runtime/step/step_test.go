package step

import (
	"strings"
	"testing"
)

func TestParseCondition(t *testing.T) {
	for _, tc := range []struct {
		in      string
		metrics map[string]float64
		holds   bool
		err     string
	}{
		{"", nil, true, ""},
		{"val_auc >= 0.95", map[string]float64{"val_auc": 0.95}, true, ""},
		{"val_auc>=0.95", map[string]float64{"val_auc": 0.94}, false, ""},
		{"val_loss < 1e-1", map[string]float64{"val_loss": 0.05}, true, ""},
		{"test_f1 == 1", map[string]float64{"test_f1": 1}, true, ""},
		{"val_auc >= 0.9", map[string]float64{}, false, "was not computed"},
		{"auc >= 0.9", nil, false, "not a metric name"},
		{"val_auc >= nan", nil, false, "not a finite number"},
		{"val_auc ~ 1", nil, false, "no comparison"},
	} {
		c, err := ParseCondition(tc.in)
		if err == nil {
			var ok bool
			ok, err = c.Holds(tc.metrics)
			if err == nil && ok != tc.holds {
				t.Errorf("%q holds = %v, want %v", tc.in, ok, tc.holds)
			}
		}
		if (err != nil) != (tc.err != "") || err != nil && !strings.Contains(err.Error(), tc.err) {
			t.Errorf("%q: error %v, want %q", tc.in, err, tc.err)
		}
	}
}

func TestSetAndApply(t *testing.T) {
	m := map[string]any{"a": map[string]any{"b": 1.0}, "c": "x"}
	out, err := Apply(m, []Override{{Path: "a.b", Value: 2.0}})
	if err != nil {
		t.Fatal(err)
	}
	if m["a"].(map[string]any)["b"] != 1.0 || out["a"].(map[string]any)["b"] != 2.0 {
		t.Fatal("Apply must copy, not mutate")
	}
	for _, bad := range []string{"a.x", "c.d", "z"} {
		if err := Set(Clone(m).(map[string]any), bad, 1); err == nil {
			t.Errorf("Set(%q) should fail: paths never add fields", bad)
		}
	}
}

func TestSetRoundTrip(t *testing.T) {
	for _, v := range []any{0.001, "adam", []any{32.0, 64.0}, true, nil, map[string]any{"k": "v"}} {
		s, err := FormatSet(Override{Path: "training.optimizer.lr", Value: v})
		if err != nil {
			t.Fatal(err)
		}
		o, err := ParseSet(s)
		if err != nil {
			t.Fatalf("ParseSet(%q): %v", s, err)
		}
		a, _ := Canonical(v)
		b, _ := Canonical(o.Value)
		if string(a) != string(b) || o.Path != "training.optimizer.lr" {
			t.Errorf("round trip of %v gave %v", v, o)
		}
	}
	for _, bad := range []string{"", "=1", "a=", "a=1 2", "a..b=1", "a={"} {
		if _, err := ParseSet(bad); err == nil {
			t.Errorf("ParseSet(%q) should fail", bad)
		}
	}
}

func TestDataKeyIgnoresTrainingOnlySettings(t *testing.T) {
	d := func(batch float64, rotate float64, rate float64, noise float64) map[string]any {
		return map[string]any{
			"loader": map[string]any{"batchSize": batch},
			"image":  map[string]any{"size": 28.0, "augment": map[string]any{"rotate": rotate}},
			"signal": map[string]any{"sampleRate": rate, "augment": map[string]any{"noise": noise}},
		}
	}
	k := func(m map[string]any) string { s, _ := DataKey(m, "unpinned:/d"); return s }
	if k(d(32, 0, 125, 0)) != k(d(64, 10, 125, 0.1)) {
		t.Error("loader and augmentation settings must not change the data key")
	}
	if k(d(32, 0, 125, 0)) == k(d(32, 0, 250, 0)) {
		t.Error("preprocessing must change the data key")
	}
	for path, want := range map[string]bool{
		"data.signal.sampleRate": true, "data.signal.augment.noise": false, "data.image.augment.rotate": false,
		"data.image.size": true, "data.loader.batchSize": false, "training.epochs": false,
	} {
		if PreparePath(path) != want {
			t.Errorf("PreparePath(%s) = %v, want %v", path, !want, want)
		}
	}
}

func FuzzParseSet(f *testing.F) {
	for _, s := range []string{"a.b=1", `model.kind="resnet"`, "x=[1,2]", "=", "a=\x00"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		o, err := ParseSet(s)
		if err != nil {
			return
		}
		back, err := FormatSet(o)
		if err != nil {
			t.Fatalf("FormatSet of a parsed value: %v", err)
		}
		if _, err := ParseSet(back); err != nil {
			t.Fatalf("re-parse of %q: %v", back, err)
		}
	})
}

func FuzzParseCondition(f *testing.F) {
	for _, s := range []string{"val_auc >= 0.95", "test_loss<1e-3", "", "x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		c, err := ParseCondition(s)
		if err != nil {
			return
		}
		if _, err := ParseCondition(c.String()); err != nil && c.Metric != "" {
			t.Fatalf("canonical form %q does not parse: %v", c.String(), err)
		}
	})
}
