//go:build e2e

package e2e

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	wfv1 "github.com/argoproj/argo-workflows/v3/pkg/apis/workflow/v1alpha1"
	wfclientset "github.com/argoproj/argo-workflows/v3/pkg/client/clientset/versioned"
	"github.com/argoproj/argo-workflows/v3/workflow/packer"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"

	"parak8s.dev/parak8s/internal/testenv"
)

const namespace = "argo"

// env is what every test shares: the clients, the argo CLI and a fresh parac.
var env struct {
	root, parac, argo string
	cfg               *rest.Config
	kube              *kubernetes.Clientset
	wf                *wfclientset.Clientset
}

func TestMain(m *testing.M) {
	if err := setup(); err != nil {
		fmt.Fprintf(os.Stderr, "e2e: %v\n(run `make e2e`, or the tests under `scripts/cluster.sh exec`)\n", err)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(filepath.Dir(env.parac))
	os.Exit(code)
}

func setup() error {
	bin := os.Getenv("PARAK8S_CLUSTER_BIN")
	kc := os.Getenv("KUBECONFIG")
	if bin == "" || kc == "" {
		return fmt.Errorf("PARAK8S_CLUSTER_BIN and KUBECONFIG must name the test cluster's binaries and kubeconfig")
	}
	env.argo = filepath.Join(bin, "argo")
	root, err := testenv.RepoRoot()
	if err != nil {
		return err
	}
	env.root = root
	dir, err := os.MkdirTemp("", "parak8s-e2e-")
	if err != nil {
		return err
	}
	env.parac = filepath.Join(dir, "parac")
	if err := testenv.GoBuild([]string{"CGO_ENABLED=0"}, "-o", env.parac, "parak8s.dev/parak8s/cmd/parac"); err != nil {
		return err
	}
	if env.cfg, err = clientcmd.BuildConfigFromFlags("", kc); err != nil {
		return fmt.Errorf("loading %s: %w", kc, err)
	}
	env.cfg.QPS, env.cfg.Burst = 100, 200
	if env.kube, err = kubernetes.NewForConfig(env.cfg); err != nil {
		return err
	}
	env.wf, err = wfclientset.NewForConfig(env.cfg)
	return err
}

// run runs a command with stdin and returns its stdout; stderr goes to the test log.
func run(t *testing.T, ctx context.Context, stdin []byte, name string, args ...string) ([]byte, error) {
	t.Helper()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = env.root
	cmd.Stdin = bytes.NewReader(stdin)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	if s := strings.TrimSpace(stderr.String()); s != "" {
		t.Logf("%s stderr:\n%s", filepath.Base(name), s)
	}
	if err != nil {
		if out := strings.TrimSpace(stdout.String()); out != "" && len(out) < 20000 {
			t.Logf("%s stdout:\n%s", filepath.Base(name), out)
		}
		return stdout.Bytes(), fmt.Errorf("%s %s: %w", filepath.Base(name), strings.Join(args, " "), err)
	}
	return stdout.Bytes(), nil
}

// compile runs `parac compile ARGS…` and returns the YAML.
func compile(t *testing.T, args ...string) []byte {
	t.Helper()
	out, err := run(t, context.Background(), nil, env.parac, append([]string{"compile"}, args...)...)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// submission is what `argo submit --wait -o name` reported.
type submission struct {
	names []string // the workflows created, in order
	err   error    // argo's exit status (non-nil when a workflow did not succeed)
	wall  time.Duration
}

// submit pipes YAML into `argo submit -n argo --wait -o name -` and waits at most timeout.
func submit(t *testing.T, yaml []byte, timeout time.Duration) submission {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	start := time.Now()
	out, err := run(t, ctx, yaml, env.argo, "submit", "-n", namespace, "--wait", "-o", "name", "-")
	s := submission{names: strings.Fields(string(out)), err: err, wall: time.Since(start)}
	if ctx.Err() != nil {
		t.Fatalf("argo submit --wait did not return within %v (workflows %v)", timeout, s.names)
	}
	if len(s.names) == 0 {
		t.Fatalf("argo submit created no workflow: %v\n%s", err, out)
	}
	slog.Info("argo submit --wait returned", "workflows", s.names, "wall", s.wall.Round(time.Millisecond), "err", err)
	return s
}

// workflow reads a workflow back, node status decompressed.
func workflow(t *testing.T, name string) *wfv1.Workflow {
	t.Helper()
	wf, err := env.wf.ArgoprojV1alpha1().Workflows(namespace).Get(context.Background(), name, metav1.GetOptions{})
	if err != nil {
		t.Fatalf("getting workflow %s: %v", name, err)
	}
	// Argo gzips the node status of a workflow that outgrows 1 MB into status.compressedNodes.
	if err := packer.DecompressWorkflow(wf); err != nil {
		t.Fatalf("decompressing the node status of %s: %v", name, err)
	}
	if wf.Status.IsOffloadNodeStatus() {
		t.Fatalf("workflow %s offloaded its node status (no persistence is configured)", name)
	}
	return wf
}

// steps is the order of a trial's tasks.
var steps = []string{"train", "evaluate", "track", "publish", "record"}

// trialChains returns, for each trial DAG node of wf, its tasks by name (a task with
// retries is a Retry node named after the task, its attempts are "task(N)").
func trialChains(wf *wfv1.Workflow) map[string]map[string]wfv1.NodeStatus {
	chains := map[string]map[string]wfv1.NodeStatus{}
	for _, n := range wf.Status.Nodes {
		if n.Type == wfv1.NodeTypeDAG && n.TemplateName == "trial" {
			chains[n.ID] = map[string]wfv1.NodeStatus{}
		}
	}
	for _, n := range wf.Status.Nodes {
		if c, ok := chains[n.BoundaryID]; ok {
			c[n.DisplayName] = n
		}
	}
	return chains
}

// follows reports whether the node status links next after prev: as a child of
// prev, or through prev's attempts (a retried task) or a task group (withItems).
func follows(wf *wfv1.Workflow, prev, next wfv1.NodeStatus) bool {
	frontier := prev.Children
	for depth := 0; depth < 3 && len(frontier) > 0; depth++ {
		var deeper []string
		for _, id := range frontier {
			if id == next.ID {
				return true
			}
			if n := wf.Status.Nodes[id]; n.Type == wfv1.NodeTypePod || n.Type == wfv1.NodeTypeTaskGroup {
				deeper = append(deeper, n.Children...)
			}
		}
		frontier = deeper
	}
	return false
}

// checkOrder checks that every trial of wf ran prepare → train → evaluate → track →
// publish → record: each task Succeeded and started after the one before finished,
// and the node status links each to the one before. It returns the number of trials.
func checkOrder(t *testing.T, wf *wfv1.Workflow) int {
	t.Helper()
	prepares := map[string]wfv1.NodeStatus{} // data key (short) → its prepare task
	for _, n := range wf.Status.Nodes {
		if strings.HasPrefix(n.DisplayName, "prepare-") && !strings.Contains(n.DisplayName, "(") {
			prepares[strings.TrimPrefix(n.DisplayName, "prepare-")] = n
		}
	}
	chains := trialChains(wf)
	if len(prepares) == 0 || len(chains) == 0 {
		t.Fatalf("%s: %d prepare tasks and %d trials in the node status", wf.Name, len(prepares), len(chains))
	}
	for id, chain := range chains {
		trial := wf.Status.Nodes[id]
		key := strings.TrimPrefix(strings.SplitN(trial.DisplayName, "(", 2)[0], "trials-")
		prev, ok := prepares[key]
		if !ok {
			t.Fatalf("%s: trial %s has no prepare-%s", wf.Name, trial.DisplayName, key)
		}
		if prev.Phase != wfv1.NodeSucceeded || !follows(wf, prev, trial) {
			t.Errorf("%s: trial %s does not follow a succeeded %s (%s)", wf.Name, trial.DisplayName, prev.DisplayName, prev.Phase)
		}
		for i, step := range steps {
			n, ok := chain[step]
			switch {
			case !ok:
				t.Errorf("%s: trial %s has no %s task", wf.Name, trial.DisplayName, step)
				continue
			case n.Phase != wfv1.NodeSucceeded:
				t.Errorf("%s: %s of %s is %s", wf.Name, step, trial.DisplayName, n.Phase)
			case n.StartedAt.Before(&prev.FinishedAt):
				t.Errorf("%s: %s of %s started at %v, before %s finished at %v", wf.Name, step, trial.DisplayName, n.StartedAt, prev.DisplayName, prev.FinishedAt)
			case i > 0 && !follows(wf, prev, n):
				t.Errorf("%s: %s of %s is not linked after %s", wf.Name, step, trial.DisplayName, prev.DisplayName)
			}
			prev = n
		}
	}
	return len(chains)
}
