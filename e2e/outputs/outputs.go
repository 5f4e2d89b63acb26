package main

import (
	"encoding/json"
	"fmt"
	"path"
	"strconv"

	"github.com/argoproj/argo-workflows/v3/pkg/apis/workflow"
	wfv1 "github.com/argoproj/argo-workflows/v3/pkg/apis/workflow/v1alpha1"
	"github.com/argoproj/argo-workflows/v3/workflow/common"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// taskResult is the WorkflowTaskResult Argo's executor would write for the
// finished pod: named by its node id, owned by its workflow, labelled complete,
// carrying the outputs its template declares and the main container's exit code.
func taskResult(pod *corev1.Pod) (*wfv1.WorkflowTaskResult, error) {
	wfName := pod.Labels[common.LabelKeyWorkflow]
	nodeID := pod.Annotations[common.AnnotationKeyNodeID]
	tmpl, err := podTemplate(pod)
	if err != nil {
		return nil, err
	}
	if nodeID == "" {
		nodeID = podEnv(pod, common.EnvVarNodeID)
	}
	if wfName == "" || nodeID == "" {
		return nil, fmt.Errorf("pod %s: no workflow label or node id", pod.Name)
	}
	outputs := &wfv1.Outputs{}
	code := exitCode(pod)
	outputs.ExitCode = &code
	if pod.Status.Phase == corev1.PodSucceeded {
		for _, p := range tmpl.Outputs.Parameters {
			p.Value = wfv1.AnyStringPtr(pod.Name + "/" + p.Name)
			p.ValueFrom = nil
			outputs.Parameters = append(outputs.Parameters, p)
		}
		for _, a := range tmpl.Outputs.Artifacts {
			loc := tmpl.ArchiveLocation
			if loc == nil || loc.S3 == nil {
				return nil, fmt.Errorf("pod %s: template %q declares artifact %q but has no S3 archive location", pod.Name, tmpl.Name, a.Name)
			}
			key := loc.S3.Key
			if key == "" {
				key = pod.Name
			}
			a.Path = ""
			a.ArtifactLocation = wfv1.ArtifactLocation{S3: &wfv1.S3Artifact{S3Bucket: loc.S3.S3Bucket, Key: path.Join(key, a.Name+".tgz")}}
			outputs.Artifacts = append(outputs.Artifacts, a)
		}
	}
	res := &wfv1.WorkflowTaskResult{
		TypeMeta: metav1.TypeMeta{APIVersion: workflow.APIVersion, Kind: workflow.WorkflowTaskResultKind},
		ObjectMeta: metav1.ObjectMeta{
			Name: nodeID,
			Labels: map[string]string{
				common.LabelKeyWorkflow:               wfName,
				common.LabelKeyReportOutputsCompleted: "true",
			},
		},
		NodeResult: wfv1.NodeResult{Outputs: outputs},
	}
	for _, o := range pod.OwnerReferences {
		if o.Kind == workflow.WorkflowKind {
			res.OwnerReferences = []metav1.OwnerReference{{APIVersion: o.APIVersion, Kind: o.Kind, Name: o.Name, UID: o.UID}}
		}
	}
	return res, nil
}

// podTemplate decodes the template Argo hands its executor in ARGO_TEMPLATE.
func podTemplate(pod *corev1.Pod) (*wfv1.Template, error) {
	raw := podEnv(pod, common.EnvVarTemplate)
	if raw == "" {
		return nil, fmt.Errorf("pod %s: no %s in any container", pod.Name, common.EnvVarTemplate)
	}
	var t wfv1.Template
	if err := json.Unmarshal([]byte(raw), &t); err != nil {
		return nil, fmt.Errorf("pod %s: decoding %s: %w", pod.Name, common.EnvVarTemplate, err)
	}
	return &t, nil
}

func podEnv(pod *corev1.Pod, name string) string {
	for _, cs := range [][]corev1.Container{pod.Spec.InitContainers, pod.Spec.Containers} {
		for _, c := range cs {
			for _, e := range c.Env {
				if e.Name == name && e.Value != "" {
					return e.Value
				}
			}
		}
	}
	return ""
}

// exitCode is the main container's exit code ("0" when it has none).
func exitCode(pod *corev1.Pod) string {
	for _, s := range pod.Status.ContainerStatuses {
		if s.Name == common.MainContainerName && s.State.Terminated != nil {
			return strconv.Itoa(int(s.State.Terminated.ExitCode))
		}
	}
	return "0"
}
