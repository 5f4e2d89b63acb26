//go:build e2e

package e2e

import (
	"context"
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/discovery/cached/memory"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/restmapper"
	"sigs.k8s.io/yaml"
)

// TestPlatform applies what `parac platform` prints with server-side apply, so the
// API server validates every object, and reads each one back.
func TestPlatform(t *testing.T) {
	const ns = "parak8s-platform"
	ctx := context.Background()
	out, err := run(t, ctx, nil, env.parac, "platform", "--namespace", ns, "--postgres-password", "e2e")
	if err != nil {
		t.Fatal(err)
	}
	dyn, err := dynamic.NewForConfig(env.cfg)
	if err != nil {
		t.Fatal(err)
	}
	mapper := restmapper.NewDeferredDiscoveryRESTMapper(memory.NewMemCacheClient(env.kube.Discovery()))
	apply := func(doc []byte) (*unstructured.Unstructured, error) {
		var obj unstructured.Unstructured
		if err := yaml.Unmarshal(doc, &obj.Object); err != nil {
			t.Fatal(err)
		}
		gvk := obj.GroupVersionKind()
		m, err := mapper.RESTMapping(gvk.GroupKind(), gvk.Version)
		if err != nil {
			t.Fatalf("%s: %v", gvk, err)
		}
		return dyn.Resource(m.Resource).Namespace(obj.GetNamespace()).Apply(ctx, obj.GetName(), &obj,
			metav1.ApplyOptions{FieldManager: "parak8s-e2e", Force: true})
	}
	docs := strings.Split(string(out), "\n---\n")
	kinds := map[string]int{}
	for _, doc := range docs {
		got, err := apply([]byte(doc))
		if err != nil {
			t.Fatalf("server-side apply rejected:\n%s\n%v", doc, err)
		}
		kinds[got.GetKind()]++
		if got.GetUID() == "" {
			t.Errorf("%s %s came back without a uid", got.GetKind(), got.GetName())
		}
	}
	t.Logf("applied %d objects: %v", len(docs), kinds)
	if kinds["StatefulSet"] != 1 || kinds["Deployment"] != 3 || kinds["Secret"] != 3 || kinds["RoleBinding"] != 1 || kinds["ConfigMap"] != 1 {
		t.Errorf("applied %v, want a StatefulSet, 3 Deployments, 3 Secrets, a RoleBinding and a ConfigMap among them", kinds)
	}
	// The same path rejects what the API server's schema does not allow.
	bad := strings.Replace(docs[len(docs)-1], "replicas: 1", "replicas: 1\n  replicaz: 1", 1)
	if _, err := apply([]byte(bad)); err == nil || !strings.Contains(err.Error(), "replicaz") {
		t.Errorf("an unknown field was not rejected: %v", err)
	}
}
