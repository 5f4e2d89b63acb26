package platform

import (
	"path/filepath"
	"strings"
	"testing"

	wfv1 "github.com/argoproj/argo-workflows/v3/pkg/apis/workflow/v1alpha1"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/yaml"

	"parak8s.dev/parak8s/internal/golden"
)

func testOptions(ns string) Options {
	o := DefaultOptions()
	o.Namespace, o.PostgresPassword, o.S3SecretKey = ns, "p@ss/word", "s3-s3cret"
	return o
}

// TestGolden compares the manifests with testdata/<namespace>.yaml.
func TestGolden(t *testing.T) {
	for _, tc := range []struct{ ns, storageClass, checkpointClass string }{{"parak8s", "", ""}, {"ml-team", "fast-ssd", "nfs"}} {
		t.Run(tc.ns, func(t *testing.T) {
			o := testOptions(tc.ns)
			o.StorageClass, o.CheckpointStorageClass = tc.storageClass, tc.checkpointClass
			got, err := YAML(o)
			if err != nil {
				t.Fatal(err)
			}
			golden.Check(t, filepath.Join("testdata", tc.ns+".yaml"), got)
		})
	}
}

// TestObjects checks what the servers and specs rely on, decoding the YAML strictly.
func TestObjects(t *testing.T) {
	y, err := YAML(testOptions("team-a"))
	if err != nil {
		t.Fatal(err)
	}
	docs := strings.Split(string(y), "\n---\n")
	kinds := map[string]int{}
	secrets := map[string]corev1.Secret{}
	deployments := map[string]appsv1.Deployment{}
	var repos corev1.ConfigMap
	var checkpoints corev1.PersistentVolumeClaim
	for _, d := range docs {
		var meta struct {
			Kind     string
			Metadata struct{ Name, Namespace string }
		}
		if err := yaml.Unmarshal([]byte(d), &meta); err != nil {
			t.Fatal(err)
		}
		kinds[meta.Kind]++
		var err error
		switch meta.Kind {
		case "Secret":
			var s corev1.Secret
			err = yaml.UnmarshalStrict([]byte(d), &s)
			secrets[s.Name] = s
		case "Deployment":
			var dep appsv1.Deployment
			err = yaml.UnmarshalStrict([]byte(d), &dep)
			deployments[dep.Name] = dep
		case "StatefulSet":
			err = yaml.UnmarshalStrict([]byte(d), &appsv1.StatefulSet{})
		case "ConfigMap":
			if meta.Metadata.Name == ArtifactRepositories {
				err = yaml.UnmarshalStrict([]byte(d), &repos)
			}
		case "PersistentVolumeClaim":
			if meta.Metadata.Name == Checkpoints {
				err = yaml.UnmarshalStrict([]byte(d), &checkpoints)
			}
		}
		if err != nil {
			t.Fatalf("%s: %v", meta.Kind, err)
		}
		if meta.Kind != "Namespace" && meta.Metadata.Namespace != "team-a" {
			t.Errorf("%s is not in namespace team-a", meta.Kind)
		}
	}
	want := map[string]int{"Namespace": 1, "Secret": 3, "ServiceAccount": 1, "Role": 1, "RoleBinding": 1, "ConfigMap": 1,
		"Service": 4, "StatefulSet": 1, "PersistentVolumeClaim": 4, "Deployment": 3}
	for k, n := range want {
		if kinds[k] != n {
			t.Errorf("%d %s objects, want %d (all: %v)", kinds[k], k, n, kinds)
		}
	}
	dsn := "postgres://parak8s:p%40ss%2Fword@parak8s-postgres.team-a.svc.cluster.local:5432/parak8s?sslmode=disable"
	if got := secrets[Postgres].StringData["dsn"]; got != dsn {
		t.Errorf("dsn = %q, want %q (password escaped)", got, dsn)
	}
	args := strings.Join(deployments[MLflow].Spec.Template.Spec.Containers[0].Command, " ")
	for _, w := range []string{"--serve-artifacts", "--backend-store-uri $(MLFLOW_BACKEND_STORE_URI)", "--artifacts-destination /mlflow/artifacts"} {
		if !strings.Contains(args, w) {
			t.Errorf("mlflow command %q lacks %q", args, w)
		}
	}

	// Argo mounts the executor's token by this name and type.
	tok := secrets[ServiceAccountToken]
	if tok.Type != corev1.SecretTypeServiceAccountToken || tok.Annotations[corev1.ServiceAccountNameKey] != ServiceAccount {
		t.Errorf("token Secret %s: type %s, annotations %v", ServiceAccountToken, tok.Type, tok.Annotations)
	}

	// The artifact repository Argo reads points at the store's Service and
	// at the keys of the Secret versitygw takes its credentials from.
	if repos.Annotations["workflows.argoproj.io/default-artifact-repository"] != DefaultArtifactRepository {
		t.Errorf("artifact-repositories annotations %v", repos.Annotations)
	}
	var repo wfv1.ArtifactRepository
	if err := yaml.UnmarshalStrict([]byte(repos.Data[DefaultArtifactRepository]), &repo); err != nil || repo.S3 == nil {
		t.Fatalf("artifact repository %q: %v", repos.Data[DefaultArtifactRepository], err)
	}
	s3 := repo.S3
	if s3.Endpoint != "parak8s-s3.team-a.svc.cluster.local:7070" || s3.Bucket != S3Bucket || s3.Insecure == nil || !*s3.Insecure ||
		s3.CreateBucketIfNotPresent == nil || !strings.Contains(s3.KeyFormat, "{{pod.name}}") {
		t.Errorf("artifact repository %+v", s3)
	}
	for _, ref := range []*corev1.SecretKeySelector{s3.AccessKeySecret, s3.SecretKeySecret} {
		if ref == nil || ref.Name != S3 || secrets[S3].StringData[ref.Key] == "" {
			t.Errorf("artifact repository names %v, which Secret %s lacks", ref, S3)
		}
	}
	gw := deployments[S3].Spec.Template.Spec
	c := gw.Containers[0]
	env := map[string]string{}
	for _, e := range c.Env {
		if e.ValueFrom != nil && e.ValueFrom.SecretKeyRef != nil && e.ValueFrom.SecretKeyRef.Name == S3 {
			env[e.Name] = e.ValueFrom.SecretKeyRef.Key
		}
	}
	if env["ROOT_ACCESS_KEY"] != s3.AccessKeySecret.Key || env["ROOT_SECRET_KEY"] != s3.SecretKeySecret.Key {
		t.Errorf("versitygw credentials %v differ from the artifact repository's", env)
	}
	if got := strings.Join(c.Args, " "); got != "--port :7070 --health /health posix /data" {
		t.Errorf("versitygw args %q", got)
	}
	if c.ReadinessProbe == nil || c.ReadinessProbe.HTTPGet == nil || c.ReadinessProbe.HTTPGet.Port.IntValue() != S3Port {
		t.Errorf("versitygw readiness probe %+v", c.ReadinessProbe)
	}
	if sc := gw.SecurityContext; sc == nil || sc.RunAsUser == nil || *sc.RunAsUser != 65532 || sc.FSGroup == nil {
		t.Errorf("versitygw pod security %+v: want uid 65532 and an fsGroup", sc)
	}

	// Checkpoints must be reachable from every node a retry may land on.
	if len(checkpoints.Spec.AccessModes) != 1 || checkpoints.Spec.AccessModes[0] != corev1.ReadWriteMany {
		t.Errorf("checkpoints claim access modes %v, want ReadWriteMany", checkpoints.Spec.AccessModes)
	}
}

func TestOptionsErrors(t *testing.T) {
	tests := []struct {
		name string
		edit func(*Options)
		want string
	}{
		{"bad namespace", func(o *Options) { o.Namespace = "Team_A" }, `namespace "Team_A"`},
		{"no password", func(o *Options) { o.PostgresPassword = "" }, "no PostgreSQL password"},
		{"no S3 key", func(o *Options) { o.S3SecretKey = "" }, "no S3 access key or secret key"},
		{"no S3 image", func(o *Options) { o.S3Image = "" }, "no s3 image"},
		{"bad checkpoint size", func(o *Options) { o.CheckpointStorage = "lots" }, `checkpoint storage "lots"`},
		{"bad size", func(o *Options) { o.MLflowStorage = "lots" }, `mlflow storage "lots"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := testOptions("parak8s")
			tt.edit(&o)
			if _, err := YAML(o); err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want %q", err, tt.want)
			}
		})
	}
}
