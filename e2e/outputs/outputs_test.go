package main

import (
	"encoding/json"
	"strings"
	"testing"

	wfv1 "github.com/argoproj/argo-workflows/v3/pkg/apis/workflow/v1alpha1"
	"github.com/argoproj/argo-workflows/v3/workflow/common"
	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func testPod(t *testing.T, phase corev1.PodPhase, code int32, tmpl *wfv1.Template) *corev1.Pod {
	t.Helper()
	var env []corev1.EnvVar
	if tmpl != nil {
		b, err := json.Marshal(tmpl)
		if err != nil {
			t.Fatal(err)
		}
		env = []corev1.EnvVar{{Name: common.EnvVarTemplate, Value: string(b)}}
	}
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{
			Name:            "wf-train-123",
			Labels:          map[string]string{common.LabelKeyWorkflow: "wf"},
			Annotations:     map[string]string{common.AnnotationKeyNodeID: "wf-123"},
			OwnerReferences: []metav1.OwnerReference{{APIVersion: "argoproj.io/v1alpha1", Kind: "Workflow", Name: "wf", UID: "u1"}},
		},
		Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "wait", Env: env}, {Name: "main"}}},
		Status: corev1.PodStatus{Phase: phase, ContainerStatuses: []corev1.ContainerStatus{
			{Name: "wait", State: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{}}},
			{Name: "main", State: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{ExitCode: code}}},
		}},
	}
}

func TestTaskResult(t *testing.T) {
	s3 := &wfv1.ArtifactLocation{S3: &wfv1.S3Artifact{S3Bucket: wfv1.S3Bucket{Bucket: "b"}, Key: "wf/wf-train-123"}}
	train := &wfv1.Template{
		Name:            "train",
		ArchiveLocation: s3,
		Outputs: wfv1.Outputs{
			Parameters: []wfv1.Parameter{{Name: "run-id", ValueFrom: &wfv1.ValueFrom{Path: "/out/run-id"}}},
			Artifacts:  []wfv1.Artifact{{Name: "model", Path: "/parak8s/model"}},
		},
	}
	zero, one := "0", "1"
	tests := []struct {
		name    string
		pod     *corev1.Pod
		want    wfv1.Outputs
		wantErr string
	}{
		{
			name: "succeeded: declared parameters and artifacts",
			pod:  testPod(t, corev1.PodSucceeded, 0, train),
			want: wfv1.Outputs{
				ExitCode:   &zero,
				Parameters: []wfv1.Parameter{{Name: "run-id", Value: wfv1.AnyStringPtr("wf-train-123/run-id")}},
				Artifacts: []wfv1.Artifact{{Name: "model", ArtifactLocation: wfv1.ArtifactLocation{
					S3: &wfv1.S3Artifact{S3Bucket: wfv1.S3Bucket{Bucket: "b"}, Key: "wf/wf-train-123/model.tgz"}}}},
			},
		},
		{
			name: "failed: the exit code only",
			pod:  testPod(t, corev1.PodFailed, 1, train),
			want: wfv1.Outputs{ExitCode: &one},
		},
		{
			name:    "no template",
			pod:     testPod(t, corev1.PodSucceeded, 0, nil),
			wantErr: "no ARGO_TEMPLATE",
		},
		{
			name:    "artifact without archive location",
			pod:     testPod(t, corev1.PodSucceeded, 0, &wfv1.Template{Name: "t", Outputs: wfv1.Outputs{Artifacts: []wfv1.Artifact{{Name: "a"}}}}),
			wantErr: `declares artifact "a" but has no S3 archive location`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := taskResult(tt.pod)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got.Name != "wf-123" || got.Labels[common.LabelKeyWorkflow] != "wf" || got.Labels[common.LabelKeyReportOutputsCompleted] != "true" {
				t.Errorf("name/labels = %s %v", got.Name, got.Labels)
			}
			if len(got.OwnerReferences) != 1 || got.OwnerReferences[0].UID != "u1" {
				t.Errorf("owner = %v, want the workflow", got.OwnerReferences)
			}
			if d := cmp.Diff(tt.want, *got.Outputs); d != "" {
				t.Errorf("outputs (-want +got):\n%s", d)
			}
		})
	}
}
