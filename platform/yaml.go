package platform

import (
	"bytes"
	"fmt"

	"k8s.io/apimachinery/pkg/runtime"

	"parak8s.dev/parak8s/internal/kyaml"
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
# Compiled workflows use it by default (workflow.serviceAccount and executorServiceAccount
# %[5]q, workflow.checkpointClaim %[6]q, Argo artifacts in S3 %[7]q
# through ConfigMap %[8]q): submit them with argo submit -n %[1]s.
# In specs: tracking.uri: %[2]q, results.dsn: {name: %[3]q, key: "dsn"},
# registry.repository: "%[4]s/models/NAME".
`, o.Namespace, tracking, Postgres, registry, ServiceAccount, Checkpoints, S3Bucket, ArtifactRepositories)
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
	y, err := kyaml.Marshal(obj)
	if err != nil {
		return nil, fmt.Errorf("encoding %s: %w", obj.GetObjectKind().GroupVersionKind().Kind, err)
	}
	return y, nil
}
