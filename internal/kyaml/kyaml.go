package kyaml

import (
	"encoding/json"
	"fmt"
	"math"
	"strconv"

	"go.yaml.in/yaml/v2"
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
	var m any
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, err
	}
	prune(m)
	y, err := yaml.Marshal(yamlNumbers(m))
	if err != nil {
		return nil, fmt.Errorf("as YAML: %w", err)
	}
	return y, nil
}

// yamlNumbers replaces, in place below v, each number (a float64 from
// JSON) by the value YAML resolves its JSON text to: an integral number
// below 1e21, written as digits, is an int (int64 when it does not fit int,
// uint64 when it does not fit that); any other is a float64.
func yamlNumbers(v any) any {
	switch t := v.(type) {
	case float64:
		if t != math.Trunc(t) || math.Abs(t) >= 1e21 {
			return t
		}
		s := strconv.FormatFloat(t, 'f', -1, 64)
		if i, err := strconv.ParseInt(s, 10, 64); err == nil {
			if i == int64(int(i)) {
				return int(i)
			}
			return i
		}
		if u, err := strconv.ParseUint(s, 10, 64); err == nil {
			return u
		}
		return t
	case map[string]any:
		for k, e := range t {
			t[k] = yamlNumbers(e)
		}
	case []any:
		for i, e := range t {
			t[i] = yamlNumbers(e)
		}
	}
	return v
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
