package platform

import (
	"bytes"
	"encoding/json"
	"fmt"

	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/yaml"
)

// YAML returns the platform's objects as one YAML stream (documents separated by
// "---"), headed by a comment that says what to put into specs.
func YAML(o Options) ([]byte, error) {
	objs, err := Objects(o)
	if err != nil {
		return nil, fmt.Errorf("building the platform manifests: %w", err)
	}
	tracking, registry := Endpoints(o)
	var b bytes.Buffer
	fmt.Fprintf(&b, `# ParaK8s platform for namespace %[1]s: kubectl apply --server-side -f -
# In specs: tracking.uri: %[2]q, results.dsn: {name: %[3]q, key: "dsn"},
# registry.repository: "%[4]s/models/NAME", workflow.serviceAccount and
# workflow.executorServiceAccount: %[5]q; submit with argo submit -n %[1]s.
`, o.Namespace, tracking, Postgres, registry, ServiceAccount)
	for i, obj := range objs {
		y, err := marshal(obj)
		if err != nil {
			return nil, err
		}
		if i > 0 {
			b.WriteString("---\n")
		}
		b.Write(y)
	}
	return b.Bytes(), nil
}

// marshal writes one object as YAML without the noise of Go's zero values
// (null creation timestamps, empty status and resources), keys sorted.
func marshal(obj runtime.Object) ([]byte, error) {
	kind := obj.GetObjectKind().GroupVersionKind().Kind
	b, err := json.Marshal(obj)
	if err != nil {
		return nil, fmt.Errorf("encoding %s: %w", kind, err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("encoding %s: %w", kind, err)
	}
	prune(m)
	if b, err = json.Marshal(m); err != nil {
		return nil, fmt.Errorf("encoding %s: %w", kind, err)
	}
	return yaml.JSONToYAML(b)
}

// prune removes nulls and empty objects, depth first; an empty emptyDir stays.
func prune(v any) bool {
	switch t := v.(type) {
	case nil:
		return true
	case map[string]any:
		for k, e := range t {
			if prune(e) && k != "emptyDir" {
				delete(t, k)
			}
		}
		return len(t) == 0
	case []any:
		for _, e := range t {
			prune(e)
		}
	}
	return false
}
