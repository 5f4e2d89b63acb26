package kyaml

import (
	"encoding/json"
)

// keepEmpty are keys whose empty object means something to Kubernetes or
// Argo (an emptyDir volume, Argo's default anti-affinity).
var keepEmpty = map[string]bool{"emptyDir": true, "nodeAntiAffinity": true}

// Marshal encodes obj as JSON, drops nulls and empty objects and lists
// (depth first; see keepEmpty), and returns it as YAML with sorted keys.
// Numbers take the type YAML gives their JSON text, as with
// sigs.k8s.io/yaml's JSONToYAML, without writing the JSON again and parsing
// it as YAML.
func Marshal(obj any) ([]byte, error) {
	b, err := json.Marshal(obj)
	if err != nil {
		return nil, err
	}
	var v any
	if err := json.Unmarshal(b, &v); err != nil {
		return nil, err
	}
	prune(v)
	e := emitter{buf: make([]byte, 0, 2*len(b))}
	skip := 0
	m, isMap := v.(map[string]any)
	l, isList := v.([]any)
	switch {
	case isMap && len(m) > 0:
		e.mapping(m, 0, false)
	case isList && len(l) > 0:
		e.sequence(l, 0, false)
	default:
		e.value(v, 2)
		skip = 1 // the space value writes after a key
	}
	if e.err != nil {
		return nil, e.err
	}
	return e.buf[skip:], nil
}

// prune removes nulls and empty objects and lists below v and reports
// whether v itself is empty.
func prune(v any) bool {
	switch t := v.(type) {
	case nil:
		return true
	case map[string]any:
		for k, e := range t {
			if prune(e) && !keepEmpty[k] {
				delete(t, k)
			}
		}
		return len(t) == 0
	case []any:
		for _, e := range t {
			prune(e)
		}
		return len(t) == 0
	}
	return false
}
