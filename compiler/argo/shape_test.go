package argo

import (
	"encoding/json"
	"testing"

	wfv1 "github.com/argoproj/argo-workflows/v3/pkg/apis/workflow/v1alpha1"
)

// slowShape is what shapes does with an item flatShape leaves alone.
func slowShape(b []byte) (string, bool) {
	var m map[string]json.RawMessage
	if json.Unmarshal(b, &m) != nil || m == nil {
		return "", false
	}
	for k := range m {
		m[k] = json.RawMessage(`""`)
	}
	out, _ := json.Marshal(m)
	return string(out), true
}

func TestFlatShape(t *testing.T) {
	for _, c := range []struct {
		in string
		ok bool
	}{
		{`{"id":"abc","short":"ab","training-optimizer-lr":"0.001"}`, true},
		{`{"b":"1","a":"x\"y\\z"}`, true},
		{`{}`, true},
		{`{"a":"1","a":"2"}`, false},
		{`{"a\u0062":"1"}`, false},
		{`{"a<b":"1"}`, false},
		{`{"é":"1"}`, false},
		{`{"a":1}`, false},
		{`{"a":{"b":"c"}}`, false},
		{`{ "a":"1"}`, false},
		{`{"a":"1"} `, false},
		{`{"a":"1"`, false},
		{`{"a":"1",}`, false},
		{`["a"]`, false},
		{`"a"`, false},
		{``, false},
	} {
		got, ok := flatShape([]byte(c.in))
		if ok != c.ok {
			t.Errorf("flatShape(%s): ok %v, want %v", c.in, ok, c.ok)
			continue
		}
		if want, _ := slowShape([]byte(c.in)); ok && got != want {
			t.Errorf("flatShape(%s) = %s, encoding/json gives %s", c.in, got, want)
		}
	}
}

// FuzzFlatShape: whatever flatShape accepts, encoding/json reads as an
// object with the same keys.
func FuzzFlatShape(f *testing.F) {
	f.Add([]byte(`{"id":"abc","short":"ab","x":"\"{{a}}\""}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		got, ok := flatShape(b)
		if !ok {
			return
		}
		want, wok := slowShape(b)
		if !wok || got != want {
			t.Fatalf("flatShape(%q) = %s; encoding/json: %s, %v", b, got, want, wok)
		}
	})
}

func TestShapes(t *testing.T) {
	item := func(s string) wfv1.Item { return wfv1.Item{Value: json.RawMessage(s)} }
	got, err := shapes([]wfv1.Item{
		item(`{"id":"1","lr":"0.1"}`),
		item(`{"id":"2","lr":"0.2"}`),
		item(`{"id":"3","lr":"{{workflow.name}}"}`),
		item(`{"id":"4"}`),
		item(`"plain"`),
		item(`"other"`),
		item(`{"lr":"0.3","id":"5"}`),
	})
	if err != nil {
		t.Fatal(err)
	}
	var texts []string
	for _, it := range got {
		texts = append(texts, string(it.Value))
	}
	want := []string{`{"id":"","lr":""}`, `{"id":"3","lr":"{{workflow.name}}"}`, `{"id":""}`, `"plain"`}
	if len(texts) != len(want) {
		t.Fatalf("shapes = %q, want %q", texts, want)
	}
	for i := range want {
		if texts[i] != want[i] {
			t.Fatalf("shapes = %q, want %q", texts, want)
		}
	}
}
