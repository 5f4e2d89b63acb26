package platform

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/yaml"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

func testOptions(ns string) Options {
	o := DefaultOptions()
	o.Namespace, o.PostgresPassword = ns, "p@ss/word"
	return o
}

// TestGolden compares the manifests with testdata/<namespace>.yaml.
func TestGolden(t *testing.T) {
	for _, tc := range []struct{ ns, storageClass string }{{"parak8s", ""}, {"ml-team", "fast-ssd"}} {
		t.Run(tc.ns, func(t *testing.T) {
			o := testOptions(tc.ns)
			o.StorageClass = tc.storageClass
			got, err := YAML(o)
			if err != nil {
				t.Fatal(err)
			}
			golden := filepath.Join("testdata", tc.ns+".yaml")
			if *update {
				if err := os.WriteFile(golden, got, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run go test ./platform -update)", err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("manifests differ from %s (run go test ./platform -update and review the diff)", golden)
			}
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
	var secret corev1.Secret
	var mlflow appsv1.Deployment
	for _, d := range docs {
		var meta struct {
			Kind     string
			Metadata struct{ Namespace string }
		}
		if err := yaml.Unmarshal([]byte(d), &meta); err != nil {
			t.Fatal(err)
		}
		kinds[meta.Kind]++
		var err error
		switch meta.Kind {
		case "Secret":
			err = yaml.UnmarshalStrict([]byte(d), &secret)
		case "Deployment":
			var dep appsv1.Deployment
			if err = yaml.UnmarshalStrict([]byte(d), &dep); dep.Name == MLflow {
				mlflow = dep
			}
		case "StatefulSet":
			err = yaml.UnmarshalStrict([]byte(d), &appsv1.StatefulSet{})
		}
		if err != nil {
			t.Fatalf("%s: %v", meta.Kind, err)
		}
		if meta.Kind != "Namespace" && meta.Metadata.Namespace != "team-a" {
			t.Errorf("%s is not in namespace team-a", meta.Kind)
		}
	}
	want := map[string]int{"Namespace": 1, "Secret": 1, "ServiceAccount": 1, "Role": 1, "RoleBinding": 1, "ConfigMap": 1,
		"Service": 3, "StatefulSet": 1, "PersistentVolumeClaim": 2, "Deployment": 2}
	for k, n := range want {
		if kinds[k] != n {
			t.Errorf("%d %s objects, want %d (all: %v)", kinds[k], k, n, kinds)
		}
	}
	dsn := "postgres://parak8s:p%40ss%2Fword@parak8s-postgres.team-a.svc.cluster.local:5432/parak8s?sslmode=disable"
	if secret.StringData["dsn"] != dsn {
		t.Errorf("dsn = %q, want %q (password escaped)", secret.StringData["dsn"], dsn)
	}
	args := strings.Join(mlflow.Spec.Template.Spec.Containers[0].Command, " ")
	for _, w := range []string{"--serve-artifacts", "--backend-store-uri $(MLFLOW_BACKEND_STORE_URI)", "--artifacts-destination /mlflow/artifacts"} {
		if !strings.Contains(args, w) {
			t.Errorf("mlflow command %q lacks %q", args, w)
		}
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
