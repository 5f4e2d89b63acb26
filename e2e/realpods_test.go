//go:build e2e

package e2e

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	wfv1 "github.com/argoproj/argo-workflows/v3/pkg/apis/workflow/v1alpha1"
	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/discovery/cached/memory"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/restmapper"

	"parak8s.dev/parak8s/internal/testenv"
	"parak8s.dev/parak8s/platform"
)

// realCluster is what the real node's tests share: the namespace whose pods run
// on the real node, with the platform applied, and the step image imported.
type realCluster struct {
	ns, node, sock string
	opts           platform.Options
	stepImage      string        // parak8s.local/parak8s@sha256:…
	ready          time.Duration // from applying the platform to its servers' readiness
	s3             *minio.Client
	registry       string // the registry Service's address, host:port
}

// setupReal applies `parac platform`'s servers that the real-pod tests use (the S3
// store, the registry, RBAC, the checkpoints claim; PostgreSQL and MLflow only with
// full, as the node has two cores), waits for them, and imports the step image into
// the node's containerd.
func setupReal(t *testing.T, full bool) *realCluster {
	t.Helper()
	rc := &realCluster{ns: os.Getenv("PARAK8S_REAL_NAMESPACE"), node: os.Getenv("PARAK8S_REAL_NODE"), sock: os.Getenv("PARAK8S_CONTAINERD_SOCK")}
	if rc.ns == "" || rc.node == "" || rc.sock == "" {
		t.Fatal("PARAK8S_REAL_NAMESPACE, PARAK8S_REAL_NODE and PARAK8S_CONTAINERD_SOCK must name the real node (scripts/cluster.sh exec)")
	}
	ctx := context.Background()
	o := platform.DefaultOptions()
	o.Namespace, o.PostgresPassword, o.S3SecretKey = rc.ns, "e2e-postgres", "e2e-s3-secret-key"
	for _, img := range strings.Split(os.Getenv("PARAK8S_NODE_IMAGES"), ",") {
		switch {
		case strings.Contains(img, "/registry:"):
			o.RegistryImage = img
		case strings.Contains(img, "/versitygw:"):
			o.S3Image = img
		case strings.Contains(img, "/postgres:"):
			o.PostgresImage = img
		case strings.Contains(img, "/mlflow:"):
			o.MLflowImage = img
		}
	}
	rc.opts = o
	objs, err := platform.Objects(o)
	if err != nil {
		t.Fatal(err)
	}
	var keep []runtime.Object
	for _, obj := range objs {
		switch v := obj.(type) {
		case *appsv1.StatefulSet:
			if !full {
				continue // PostgreSQL
			}
		case *appsv1.Deployment:
			if v.Name == platform.MLflow && !full {
				continue
			}
		}
		keep = append(keep, obj)
	}
	start := time.Now()
	applyObjects(t, keep)
	deployments := []string{platform.S3, platform.Registry}
	if full {
		deployments = append(deployments, platform.MLflow)
		waitFor(t, 5*time.Minute, "statefulset "+platform.Postgres+" ready", func() (bool, error) {
			ss, err := env.kube.AppsV1().StatefulSets(rc.ns).Get(ctx, platform.Postgres, metav1.GetOptions{})
			return err == nil && ss.Status.ReadyReplicas == 1, err
		})
	}
	for _, d := range deployments {
		waitFor(t, 5*time.Minute, "deployment "+d+" available", func() (bool, error) {
			dep, err := env.kube.AppsV1().Deployments(rc.ns).Get(ctx, d, metav1.GetOptions{})
			return err == nil && dep.Status.AvailableReplicas == 1, err
		})
	}
	rc.ready = time.Since(start)
	rc.stepImage = importStepImage(t, rc.sock)
	rc.registry = serviceAddr(t, rc.ns, platform.Registry)
	s3, err := minio.New(serviceAddr(t, rc.ns, platform.S3), &minio.Options{Creds: credentials.NewStaticV4(o.S3AccessKey, o.S3SecretKey, "")})
	if err != nil {
		t.Fatal(err)
	}
	rc.s3 = s3
	return rc
}

// applyObjects applies objs with server-side apply, as `kubectl apply --server-side` does.
func applyObjects(t *testing.T, objs []runtime.Object) {
	t.Helper()
	ctx := context.Background()
	dyn, err := dynamic.NewForConfig(env.cfg)
	if err != nil {
		t.Fatal(err)
	}
	mapper := restmapper.NewDeferredDiscoveryRESTMapper(memory.NewMemCacheClient(env.kube.Discovery()))
	for _, obj := range objs {
		m, err := runtime.DefaultUnstructuredConverter.ToUnstructured(obj)
		if err != nil {
			t.Fatal(err)
		}
		u := &unstructured.Unstructured{Object: m}
		gvk := u.GroupVersionKind()
		mapping, err := mapper.RESTMapping(gvk.GroupKind(), gvk.Version)
		if err != nil {
			t.Fatalf("%s: %v", gvk, err)
		}
		if _, err := dyn.Resource(mapping.Resource).Namespace(u.GetNamespace()).Apply(ctx, u.GetName(), u,
			metav1.ApplyOptions{FieldManager: "parak8s-e2e", Force: true}); err != nil {
			t.Fatalf("applying %s %s: %v", u.GetKind(), u.GetName(), err)
		}
	}
}

func waitFor(t *testing.T, timeout time.Duration, what string, cond func() (bool, error)) {
	t.Helper()
	start := time.Now()
	var last error
	for time.Since(start) < timeout {
		ok, err := cond()
		if ok {
			t.Logf("%s after %v", what, time.Since(start).Round(time.Millisecond))
			return
		}
		last = err
		time.Sleep(500 * time.Millisecond)
	}
	t.Fatalf("%s: not within %v (last error: %v)", what, timeout, last)
}

// serviceAddr is a Service's cluster IP and first port: reachable from the test
// through kube-proxy's rules, as from any pod.
func serviceAddr(t *testing.T, ns, name string) string {
	t.Helper()
	s, err := env.kube.CoreV1().Services(ns).Get(context.Background(), name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return fmt.Sprintf("%s:%d", s.Spec.ClusterIP, s.Spec.Ports[0].Port)
}

// importStepImage imports the step image `make images` wrote (out/images/cpu, or
// PARAK8S_STEP_LAYOUT) into the node's containerd and returns its pinned name.
func importStepImage(t *testing.T, sock string) string {
	t.Helper()
	lay := os.Getenv("PARAK8S_STEP_LAYOUT")
	if lay == "" {
		lay = filepath.Join(env.root, "out", "images", "cpu")
	}
	var idx struct {
		Manifests []struct {
			Digest      string            `json:"digest"`
			Annotations map[string]string `json:"annotations"`
		} `json:"manifests"`
	}
	b, err := os.ReadFile(filepath.Join(lay, "index.json"))
	if err == nil {
		err = json.Unmarshal(b, &idx)
	}
	if err != nil || len(idx.Manifests) == 0 {
		t.Fatalf("no step image in %s (make images): %v", lay, err)
	}
	m := idx.Manifests[len(idx.Manifests)-1]
	tarball := filepath.Join(t.TempDir(), "step.tar")
	if out, err := exec.Command("tar", "-C", lay, "-cf", tarball, ".").CombinedOutput(); err != nil {
		t.Fatalf("tar: %v\n%s", err, out)
	}
	start := time.Now()
	if out, err := exec.Command("ctr", "-a", sock, "-n", "k8s.io", "images", "import", "--base-name", "parak8s.local/parak8s", tarball).CombinedOutput(); err != nil {
		t.Fatalf("ctr images import: %v\n%s", err, out)
	}
	// Pods name it by digest: give containerd that name too (an import names it by tag).
	ref := "parak8s.local/parak8s@" + m.Digest
	tag := "parak8s.local/parak8s:" + m.Annotations["org.opencontainers.image.ref.name"]
	if out, err := exec.Command("ctr", "-a", sock, "-n", "k8s.io", "images", "tag", "--force", tag, ref).CombinedOutput(); err != nil {
		t.Fatalf("ctr images tag: %v\n%s", err, out)
	}
	t.Logf("imported the step image %s (%s) in %v", ref, m.Annotations["org.opencontainers.image.ref.name"], time.Since(start).Round(time.Millisecond))
	return ref
}

// pushDemoRecords pushes the demo's MIT-BIH records with `parac data push` and
// returns the artifact's digest.
func (rc *realCluster) pushDemoRecords(t *testing.T, records []string) string {
	t.Helper()
	mitdb := testenv.MITDB(t)
	args := []string{"data", "push"}
	for _, r := range records {
		for _, ext := range []string{"hea", "dat", "atr"} {
			args = append(args, filepath.Join(mitdb, r+"."+ext))
		}
	}
	args = append(args, rc.registry+"/data/mitdb-demo")
	out, err := run(t, context.Background(), nil, env.parac, args...)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	pinned := lines[len(lines)-1]
	_, d, ok := strings.Cut(pinned, "@")
	if !ok {
		t.Fatalf("parac data push printed no pinned reference:\n%s", out)
	}
	t.Logf("parac data push: %s", lines[0])
	return d
}

// submitAndWatch submits one workflow with `argo submit -n NS`, calls during (when
// not nil) while it runs, then waits for it with `argo wait`.
func (rc *realCluster) submitAndWatch(t *testing.T, yaml []byte, timeout time.Duration, during func(name string)) submission {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	start := time.Now()
	out, err := run(t, ctx, yaml, env.argo, "submit", "-n", rc.ns, "-o", "name", "-")
	names := strings.Fields(string(out))
	if err != nil || len(names) != 1 {
		t.Fatalf("argo submit: %v\n%s", err, out)
	}
	if during != nil {
		during(names[0])
	}
	_, err = run(t, ctx, nil, env.argo, "wait", "-n", rc.ns, names[0])
	if ctx.Err() != nil {
		t.Fatalf("workflow %s did not finish within %v", names[0], timeout)
	}
	return submission{names: names, err: err, wall: time.Since(start)}
}

// demoRecords are examples/demo's MIT-BIH records.
var demoRecords = []string{"106", "118", "119", "203", "208", "209", "220", "223"}

// TestRealPods runs the demo sweep, compiled by parac, in real containers: the
// dataset pushed with `parac data push` and pulled by prepare, every artifact
// moved through the S3 store by argoexec, and the metrics the pods computed equal
// to a local `parac run` of the same plan on the same data.
func TestRealPods(t *testing.T) {
	rc := setupReal(t, false)
	ctx := context.Background()
	digest := rc.pushDemoRecords(t, demoRecords)
	sets := []string{
		"--set", fmt.Sprintf("images.step=%q", rc.stepImage),
		"--set", fmt.Sprintf("data.source.path=%q", "oci://"+platform.Registry+"."+rc.ns+".svc.cluster.local:5000/data/mitdb-demo@"+digest),
		"--set", fmt.Sprintf("data.source.digest=%q", digest),
	}
	yaml := compile(t, append([]string{"examples/demo"}, sets...)...)
	watch := watchPodsIn(t, rc.ns, "ecg-demo")
	sub := rc.submitAndWatch(t, yaml, 20*time.Minute, func(name string) {
		// Inside a running step: confined as the pod spec says.
		rc.checkConfinement(t, rc.runningTrain(t, ctx, name, 5*time.Minute))
	})
	wf := workflowIn(t, rc.ns, sub.names[0])
	if sub.err != nil || wf.Status.Phase != wfv1.WorkflowSucceeded {
		t.Fatalf("workflow %s: %s (%s): %v", wf.Name, wf.Status.Phase, wf.Status.Message, sub.err)
	}
	if n := checkOrder(t, wf); n != 4 {
		t.Errorf("%d trials ran, want 4", n)
	}
	t.Logf("demo sweep on the real node: %v wall (argo submit --wait)", sub.wall.Round(time.Second))

	// Every pod ran on the real node, in containerd (seen while they ran: Argo
	// deletes the pods of succeeded steps).
	pods, _ := watch.done()
	steps := map[string]int{}
	for _, p := range pods {
		if p.Labels["workflows.argoproj.io/workflow"] != wf.Name {
			continue
		}
		steps[p.Labels["parak8s.dev/step"]]++
		for _, cs := range p.Status.ContainerStatuses {
			t.Logf("pod %s node %s container %s %s", p.Name, p.Spec.NodeName, cs.Name, cs.ContainerID)
			if p.Spec.NodeName != rc.node || !strings.HasPrefix(cs.ContainerID, "containerd://") {
				t.Errorf("pod %s container %s ran on %q as %q, want %s and containerd://", p.Name, cs.Name, p.Spec.NodeName, cs.ContainerID, rc.node)
			}
		}
	}
	if want := map[string]int{"prepare": 1, "train": 4, "evaluate": 4, "track": 4, "publish": 4, "record": 4}; !maps.Equal(steps, want) {
		t.Errorf("pods by step %v, want %v", steps, want)
	}
	t.Logf("pod start latency (created -> main container started): median %v, max %v over %d pods", median(starts(pods, wf.Name)), slices.Max(starts(pods, wf.Name)), len(starts(pods, wf.Name)))
	logClusterMemory(t)

	// The artifacts are in the store, and the metrics are the trials' own.
	objects := map[string]int64{}
	for o := range rc.s3.ListObjects(ctx, platform.S3Bucket, minio.ListObjectsOptions{Prefix: wf.Name + "/", Recursive: true}) {
		if o.Err != nil {
			t.Fatal(o.Err)
		}
		objects[o.Key] = o.Size
	}
	count := map[string]int{}
	for k := range objects {
		count[filepath.Base(k)]++
	}
	t.Logf("%d objects in s3://%s/%s/: %v", len(objects), platform.S3Bucket, wf.Name, count)
	if count["dataset.tgz"] != 1 || count["model.tgz"] != 4 || count["metrics.tgz"] != 4 {
		t.Errorf("the store holds %v, want 1 dataset.tgz, 4 model.tgz and 4 metrics.tgz", count)
	}
	cluster := map[string]map[string]any{} // trial id → metrics.json
	for _, n := range wf.Status.Nodes {
		if n.TemplateName != "evaluate" || n.Type != wfv1.NodeTypePod || n.Outputs == nil {
			continue
		}
		for _, a := range n.Outputs.Artifacts {
			if a.Name != "metrics" || a.S3 == nil {
				continue
			}
			files := untgz(t, rc.s3, a.S3.Key)
			var m map[string]any
			if err := json.Unmarshal(files["metrics.json"], &m); err != nil {
				t.Fatalf("%s: metrics.json: %v (files %v)", a.S3.Key, err, keys(files))
			}
			cluster[param(n, "trial")] = m
		}
	}
	if len(cluster) != 4 {
		t.Fatalf("read the metrics of %d trials from the store, want 4", len(cluster))
	}

	// The same plan, run locally on the same data (the same artifact, pulled by
	// prepare through the registry Service's address; with the digest pinned the
	// trial ids do not depend on the path).
	work := t.TempDir()
	parak8s := os.Getenv("PARAK8S_BINARY")
	if parak8s == "" {
		parak8s = filepath.Join(env.root, "bin", "parak8s")
	}
	start := time.Now()
	localSets := []string{"run", "examples/demo", "--set", fmt.Sprintf("images.step=%q", rc.stepImage),
		"--set", fmt.Sprintf("data.source.path=%q", "oci://"+rc.registry+"/data/mitdb-demo@"+digest),
		"--set", fmt.Sprintf("data.source.digest=%q", digest), "--workdir", filepath.Join(work, "run"), "--parak8s", parak8s}
	if _, err := run(t, ctx, nil, env.parac, localSets...); err != nil {
		t.Fatal(err)
	}
	t.Logf("parac run of the same plan: %v wall; on the real node %v (ratio %.2f)", time.Since(start).Round(time.Second),
		sub.wall.Round(time.Second), sub.wall.Seconds()/time.Since(start).Seconds())
	for trial, m := range cluster {
		b, err := os.ReadFile(filepath.Join(work, "run", "ecg-demo", "trials", trial[:12], "metrics", "metrics.json"))
		if err != nil {
			t.Errorf("trial %s: no local metrics (a different trial id?): %v", trial[:12], err)
			continue
		}
		var want map[string]any
		if err := json.Unmarshal(b, &want); err != nil {
			t.Fatal(err)
		}
		if diff := compareNumbers("", want, m); diff != "" {
			t.Errorf("trial %s: cluster metrics differ from parac run's: %s", trial[:12], diff)
		}
	}
}

// workflowIn is workflow in namespace ns.
func workflowIn(t *testing.T, ns, name string) *wfv1.Workflow {
	t.Helper()
	wf, err := env.wf.ArgoprojV1alpha1().Workflows(ns).Get(context.Background(), name, metav1.GetOptions{})
	if err != nil {
		t.Fatalf("getting workflow %s: %v", name, err)
	}
	return wf
}

func param(n wfv1.NodeStatus, name string) string {
	if n.Inputs == nil {
		return ""
	}
	for _, p := range n.Inputs.Parameters {
		if p.Name == name && p.Value != nil {
			return p.Value.String()
		}
	}
	return ""
}

// untgz reads an artifact Argo archived (tar.gz) from the store: file name → bytes.
func untgz(t *testing.T, s3 *minio.Client, key string) map[string][]byte {
	t.Helper()
	obj, err := s3.GetObject(context.Background(), platform.S3Bucket, key, minio.GetObjectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer obj.Close()
	zr, err := gzip.NewReader(obj)
	if err != nil {
		t.Fatalf("%s: %v", key, err)
	}
	files := map[string][]byte{}
	tr := tar.NewReader(zr)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return files
		}
		if err != nil {
			t.Fatalf("%s: %v", key, err)
		}
		if h.Typeflag != tar.TypeReg {
			continue
		}
		var b bytes.Buffer
		if _, err := io.Copy(&b, tr); err != nil {
			t.Fatal(err)
		}
		files[filepath.Base(h.Name)] = b.Bytes()
	}
}

func keys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// compareNumbers compares two decoded JSON values, numbers within 1e-6 relative;
// it returns the first difference ("" when none).
func compareNumbers(path string, want, got any) string {
	switch w := want.(type) {
	case map[string]any:
		g, ok := got.(map[string]any)
		if !ok || len(g) != len(w) {
			return fmt.Sprintf("%s: %v keys, got %v", path, keys(w), got)
		}
		for k := range w {
			if d := compareNumbers(path+"."+k, w[k], g[k]); d != "" {
				return d
			}
		}
	case []any:
		g, ok := got.([]any)
		if !ok || len(g) != len(w) {
			return fmt.Sprintf("%s: %d items, got %v", path, len(w), got)
		}
		for i := range w {
			if d := compareNumbers(fmt.Sprintf("%s[%d]", path, i), w[i], g[i]); d != "" {
				return d
			}
		}
	case float64:
		g, ok := got.(float64)
		if !ok || math.Abs(g-w) > 1e-6*math.Max(1, math.Abs(w)) {
			return fmt.Sprintf("%s: %v, got %v", path, w, got)
		}
	default:
		if fmt.Sprint(want) != fmt.Sprint(got) {
			return fmt.Sprintf("%s: %v, got %v", path, want, got)
		}
	}
	return ""
}

// podProcess finds the process of a pod's running container on the real node,
// through containerd (ctr task ls): its PID.
func (rc *realCluster) podProcess(t *testing.T, containerID string) int {
	t.Helper()
	id := strings.TrimPrefix(containerID, "containerd://")
	out, err := exec.Command("ctr", "-a", rc.sock, "-n", "k8s.io", "task", "ls").Output()
	if err != nil {
		t.Fatalf("ctr task ls: %v", err)
	}
	for _, line := range strings.Split(string(out), "\n") {
		f := strings.Fields(line)
		if len(f) >= 3 && f[0] == id && f[2] == "RUNNING" {
			var pid int
			fmt.Sscan(f[1], &pid)
			return pid
		}
	}
	return 0
}

// checkConfinement looks, from the node, at a running step container: it runs as
// uid 65532, has no service account token, and its memory cgroup enforces the
// pod's limit.
func (rc *realCluster) checkConfinement(t *testing.T, p *corev1.Pod) {
	t.Helper()
	var cs *corev1.ContainerStatus
	for i := range p.Status.ContainerStatuses {
		if p.Status.ContainerStatuses[i].Name == "main" {
			cs = &p.Status.ContainerStatuses[i]
		}
	}
	if cs == nil || cs.State.Running == nil {
		t.Fatalf("pod %s: main container not running", p.Name)
	}
	pid := rc.podProcess(t, cs.ContainerID)
	if pid == 0 {
		t.Fatalf("pod %s: no running task for %s", p.Name, cs.ContainerID)
	}
	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(status), "\n") {
		if strings.HasPrefix(line, "Uid:") && strings.Fields(line)[1] != "65532" {
			t.Errorf("pod %s: main runs as %q, want uid 65532", p.Name, line)
		}
	}
	if _, err := os.Stat(fmt.Sprintf("/proc/%d/root/var/run/secrets/kubernetes.io/serviceaccount", pid)); err == nil {
		t.Errorf("pod %s: a service account token is mounted into the step's container", p.Name)
	}
	// The container's own memory cgroup, as runc mounts it for the container.
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/root/sys/fs/cgroup/memory/memory.limit_in_bytes", pid))
	if err != nil {
		t.Fatal(err)
	}
	limit := strings.TrimSpace(string(b))
	want := p.Spec.Containers[len(p.Spec.Containers)-1].Resources.Limits.Memory()
	for _, c := range p.Spec.Containers {
		if c.Name == "main" {
			want = c.Resources.Limits.Memory()
		}
	}
	if limit != fmt.Sprint(want.Value()) {
		t.Errorf("pod %s: memory cgroup limit %s, want %d (%s)", p.Name, limit, want.Value(), want)
	}
	t.Logf("pod %s (pid %d on %s): uid 65532, no token, memory.limit_in_bytes %s", p.Name, pid, p.Spec.NodeName, limit)
}

// runningTrain waits for a train pod of the workflow to be running and returns it.
func (rc *realCluster) runningTrain(t *testing.T, ctx context.Context, workflow string, timeout time.Duration) *corev1.Pod {
	t.Helper()
	var found *corev1.Pod
	waitFor(t, timeout, "a running train pod", func() (bool, error) {
		if wf := workflowIn(t, rc.ns, workflow); wf.Status.Fulfilled() {
			t.Fatalf("workflow %s ended %s before a train pod ran: %s", workflow, wf.Status.Phase, wf.Status.Message)
		}
		pods, err := env.kube.CoreV1().Pods(rc.ns).List(ctx, metav1.ListOptions{LabelSelector: "parak8s.dev/step=train,workflows.argoproj.io/workflow=" + workflow})
		if err != nil {
			return false, err
		}
		for i, p := range pods.Items {
			for _, cs := range p.Status.ContainerStatuses {
				if cs.Name == "main" && cs.State.Running != nil && p.DeletionTimestamp == nil {
					found = &pods.Items[i]
					return true, nil
				}
			}
		}
		return false, nil
	})
	return found
}

// starts returns how long each of the workflow's pods took from creation to its
// main container's start.
func starts(pods []*corev1.Pod, workflow string) []time.Duration {
	var out []time.Duration
	for _, p := range pods {
		if p.Labels["workflows.argoproj.io/workflow"] != workflow {
			continue
		}
		for _, cs := range p.Status.ContainerStatuses {
			var at metav1.Time
			switch {
			case cs.Name != "main":
				continue
			case cs.State.Terminated != nil:
				at = cs.State.Terminated.StartedAt
			case cs.State.Running != nil:
				at = cs.State.Running.StartedAt
			default:
				continue
			}
			out = append(out, at.Sub(p.CreationTimestamp.Time).Round(time.Second))
		}
	}
	if len(out) == 0 {
		out = append(out, 0)
	}
	return out
}

func median(ds []time.Duration) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[len(s)/2]
}

// logClusterMemory logs what the test cluster holds in memory: the resident
// size of its processes (control plane, kwok, the node's kubelet, containerd,
// kube-proxy, CoreDNS: everything in its network namespace) now, and the peak
// of all pods' memory cgroups (kubepods, read through containerd's view of
// the host's cgroups).
func logClusterMemory(t *testing.T) {
	t.Helper()
	out, err := exec.Command("ip", "netns", "pids", os.Getenv("PARAK8S_CLUSTER_NETNS")).Output()
	if err != nil {
		t.Logf("cluster memory: %v", err)
		return
	}
	var rss int64
	for _, pid := range strings.Fields(string(out)) {
		b, err := os.ReadFile("/proc/" + pid + "/statm")
		if f := strings.Fields(string(b)); err == nil && len(f) > 1 {
			var pages int64
			fmt.Sscan(f[1], &pages)
			rss += pages * int64(os.Getpagesize())
		}
	}
	pods := "unknown"
	if pid, err := os.ReadFile(filepath.Join(os.Getenv("PARAK8S_CLUSTER_STATE"), "containerd.pid")); err == nil {
		if b, err := os.ReadFile("/proc/" + strings.TrimSpace(string(pid)) + "/root/sys/fs/cgroup/memory/kubepods/memory.max_usage_in_bytes"); err == nil {
			var n int64
			fmt.Sscan(string(b), &n)
			pods = fmt.Sprintf("%d MiB", n>>20)
		}
	}
	t.Logf("cluster memory: processes %d MiB resident now; pods' peak %s", rss>>20, pods)
}
