//go:build e2e

package e2e

import (
	"context"
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"

	wfv1 "github.com/argoproj/argo-workflows/v3/pkg/apis/workflow/v1alpha1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/yaml"

	"parak8s.dev/parak8s/platform"
)

// oneTrial narrows the demo to one trial.
var oneTrial = []string{"--set", `sweep.parameters=[{"path":"model.dropout","values":[0.3]}]`}

// demoOn compiles the demo against the data pushed to the real cluster's registry,
// with more --set flags, and decodes it for a test to adjust.
func (rc *realCluster) demoOn(t *testing.T, digest string, sets ...string) *wfv1.Workflow {
	t.Helper()
	args := append([]string{"examples/demo",
		"--set", fmt.Sprintf("images.step=%q", rc.stepImage),
		"--set", fmt.Sprintf("data.source.path=%q", "oci://"+platform.Registry+"."+rc.ns+".svc.cluster.local:5000/data/mitdb-demo@"+digest),
		"--set", fmt.Sprintf("data.source.digest=%q", digest),
	}, sets...)
	var wf wfv1.Workflow
	if err := yaml.UnmarshalStrict(compile(t, args...), &wf); err != nil {
		t.Fatal(err)
	}
	return &wf
}

func encode(t *testing.T, wf *wfv1.Workflow) []byte {
	t.Helper()
	b, err := yaml.Marshal(wf)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// attempts returns the pod nodes of a task (its retries' attempts), in order.
func attempts(wf *wfv1.Workflow, template string) []wfv1.NodeStatus {
	var out []wfv1.NodeStatus
	for _, n := range wf.Status.Nodes {
		if n.Type == wfv1.NodeTypePod && n.TemplateName == template {
			out = append(out, n)
		}
	}
	for i := 1; i < len(out); i++ {
		for j := i; j > 0 && out[j].StartedAt.Before(&out[j-1].StartedAt); j-- {
			out[j], out[j-1] = out[j-1], out[j]
		}
	}
	return out
}

// TestRealExitCodes: a step that cannot reach a server (exit 75) is retried, a
// config mismatch (exit 3) is not; both say why in the node's message, which is
// what `argo get` and the UI show.
func TestRealExitCodes(t *testing.T) {
	rc := setupReal(t, false)
	digest := rc.pushDemoRecords(t, demoRecords)

	// prepare pulls from a registry that does not exist: exit 75, retried once.
	wf := rc.demoOn(t, digest, oneTrial...)
	wf.Spec.Arguments.Artifacts[0].Raw.Data = strings.Replace(wf.Spec.Arguments.Artifacts[0].Raw.Data,
		platform.Registry+"."+rc.ns, "nowhere."+rc.ns, 1)
	sub := rc.submitAndWatch(t, encode(t, wf), 5*time.Minute, nil)
	got := workflowIn(t, rc.ns, sub.names[0])
	pre := attempts(got, "prepare")
	t.Logf("unreachable registry: workflow %s, prepare attempts %d", got.Status.Phase, len(pre))
	if got.Status.Phase != wfv1.WorkflowFailed || len(pre) != 2 {
		t.Errorf("workflow %s with %d prepare attempts, want Failed after 2", got.Status.Phase, len(pre))
	}
	for _, n := range pre {
		if !strings.Contains(n.Message, "exit code 75") || !strings.Contains(n.Message, "nowhere") {
			t.Errorf("prepare attempt %s: message %q, want exit code 75 naming the registry", n.Name, n.Message)
		}
	}

	// train is told a trial id its config does not give: exit 3, not retried.
	bad := regexp.MustCompile(`(?m)^(\s*- id: )[0-9a-f]{64}$`).ReplaceAll(encode(t, rc.demoOn(t, digest, oneTrial...)), []byte("${1}"+strings.Repeat("0", 64)))
	if !strings.Contains(string(bad), strings.Repeat("0", 64)) {
		t.Fatal("no trial id to change in the compiled workflow")
	}
	sub = rc.submitAndWatch(t, bad, 10*time.Minute, nil)
	got = workflowIn(t, rc.ns, sub.names[0])
	train := attempts(got, "train")
	t.Logf("config mismatch: workflow %s, train attempts %d: %q", got.Status.Phase, len(train), firstLine(train))
	if got.Status.Phase != wfv1.WorkflowFailed || len(train) != 1 {
		t.Fatalf("workflow %s with %d train attempts, want Failed after 1", got.Status.Phase, len(train))
	}
	if m := train[0].Message; !strings.Contains(m, "exit code 3") || !strings.Contains(m, "config does not match") {
		t.Errorf("train: message %q, want exit code 3 and the mismatch", m)
	}
	out, err := run(t, context.Background(), nil, env.argo, "get", "-n", rc.ns, got.Name)
	if err != nil || !strings.Contains(string(out), "config does not match") {
		t.Errorf("argo get does not show the mismatch (%v):\n%s", err, out)
	}
}

func firstLine(ns []wfv1.NodeStatus) string {
	if len(ns) == 0 {
		return ""
	}
	return strings.SplitN(ns[0].Message, "\n", 2)[0]
}

// TestRealResume deletes a train pod in the middle of training: the pod that
// takes over, on the same claim, resumes from the checkpoint the deleted pod
// wrote on SIGTERM and the trial finishes. Argo takes over in one of two
// ways, depending on what its controller sees first: the deleted pod failed
// (exit 75), so the node is retried as a second attempt; or the pod is gone,
// so it recreates the pod under the same name (a new UID) in the same attempt.
func TestRealResume(t *testing.T) {
	rc := setupReal(t, false)
	ctx := context.Background()
	digest := rc.pushDemoRecords(t, demoRecords)
	wf := rc.demoOn(t, digest, append(oneTrial, "--set", "training.epochs=12", "--set", `workflow.retryPolicy="Always"`,
		"--set", `training.earlyStopping={"metric":"f1","patience":100,"minDelta":0}`)...)
	// The test cluster has one real node: a retry may not avoid it. Keep the
	// pods to read the attempts' logs afterwards.
	for i := range wf.Spec.Templates {
		if r := wf.Spec.Templates[i].RetryStrategy; r != nil {
			r.Affinity = nil
		}
	}
	wf.Spec.PodGC = nil
	var deleted types.UID
	sub := rc.submitAndWatch(t, encode(t, wf), 15*time.Minute, func(name string) {
		p := rc.runningTrain(t, ctx, name, 5*time.Minute)
		waitFor(t, 5*time.Minute, "two epochs in "+p.Name+"'s log", func() (bool, error) {
			log, err := podLog(ctx, rc.ns, p.Name)
			return len(regexp.MustCompile(`msg=epoch `).FindAllString(log, -1)) >= 2, err
		})
		if err := env.kube.CoreV1().Pods(rc.ns).Delete(ctx, p.Name, metav1.DeleteOptions{}); err != nil {
			t.Fatal(err)
		}
		deleted = p.UID
		t.Logf("deleted %s (uid %s) in the middle of training", p.Name, p.UID)
	})
	got := workflowIn(t, rc.ns, sub.names[0])
	train := attempts(got, "train")
	if got.Status.Phase != wfv1.WorkflowSucceeded || len(train) < 1 || len(train) > 2 {
		t.Fatalf("workflow %s (%s) with %d train attempts, want Succeeded after 1 (pod recreated) or 2 (retried)", got.Status.Phase, got.Status.Message, len(train))
	}
	t.Logf("%d train attempts; the first: %s %q", len(train), train[0].Phase, firstLine(train[:1]))
	pods, err := env.kube.CoreV1().Pods(rc.ns).List(ctx, metav1.ListOptions{LabelSelector: "parak8s.dev/step=train,workflows.argoproj.io/workflow=" + got.Name})
	if err != nil {
		t.Fatal(err)
	}
	var resumed string
	for _, p := range pods.Items {
		if p.UID == deleted || p.Status.Phase != corev1.PodSucceeded {
			continue
		}
		log, err := podLog(ctx, rc.ns, p.Name)
		if err != nil {
			t.Fatal(err)
		}
		resumed = regexp.MustCompile(`msg="resuming from checkpoint".*`).FindString(log)
	}
	m := regexp.MustCompile(`step=(\d+)`).FindStringSubmatch(resumed)
	if m == nil || m[1] == "0" {
		t.Fatalf("the retried train pod did not resume from a checkpoint (log line %q)", resumed)
	}
	t.Logf("the retry resumed: %s", resumed)
}

// podLog reads the main container's log through the API server (and the kubelet).
func podLog(ctx context.Context, ns, pod string) (string, error) {
	b, err := env.kube.CoreV1().Pods(ns).GetLogs(pod, &corev1.PodLogOptions{Container: "main"}).DoRaw(ctx)
	return string(b), err
}
