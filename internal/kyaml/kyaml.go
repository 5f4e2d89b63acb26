package kyaml

import (
	"encoding/json"
	"fmt"

	"sigs.k8s.io/yaml"
)

// keepEmpty are keys whose empty object means something to Kubernetes or
// Argo (an emptyDir volume, Argo's default anti-affinity).
var keepEmpty = map[string]bool{"emptyDir": true, "nodeAntiAffinity": true}

// Marshal encodes obj as JSON, drops nulls and empty objects and lists
// (depth first; see keepEmpty), and returns it as YAML with sorted keys.
func Marshal(obj any) ([]byte, error) {
	b, err := json.Marshal(obj)
	if err != nil {
		return nil, err
	}
	var m any
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, err
	}
	prune(m)
	if b, err = json.Marshal(m); err != nil {
		return nil, err
	}
	y, err := yaml.JSONToYAML(b)
	if err != nil {
		return nil, fmt.Errorf("as YAML: %w", err)
	}
	return y, nil
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
