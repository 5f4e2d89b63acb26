//go:build e2e

package e2e

import (
	"slices"
	"strings"
	"testing"
	"time"

	wfv1 "github.com/argoproj/argo-workflows/v3/pkg/apis/workflow/v1alpha1"

	"parak8s.dev/parak8s/compiler/argo"
)

// TestExamples submits both examples as parac compiles them and checks that each
// workflow Succeeded with every trial's steps run in DAG order.
func TestExamples(t *testing.T) {
	for _, ex := range []string{"ecg", "pneumonia"} {
		t.Run(ex, func(t *testing.T) {
			t.Parallel()
			s := submit(t, compile(t, "examples/"+ex), 15*time.Minute)
			if s.err != nil {
				t.Fatalf("argo submit --wait: %v", s.err)
			}
			for _, name := range s.names {
				wf := workflow(t, name)
				if wf.Status.Phase != wfv1.WorkflowSucceeded {
					t.Fatalf("%s: %s: %s", name, wf.Status.Phase, wf.Status.Message)
				}
				n := checkOrder(t, wf)
				t.Logf("%s: %s, %d trials in DAG order, %d nodes, %v", ex, name, n, len(wf.Status.Nodes), s.wall.Round(time.Second))
			}
		})
	}
}

// sweep submits one experiment of testdata/sweeps and checks the placement of its
// pods, its parallelism and that every workflow (shard) Succeeded in DAG order.
func sweep(t *testing.T, experiment string, wantTrials, parallelism int, timeout time.Duration) {
	gpu, gpus := gpuNodes(t)
	yaml := compile(t, "--experiment", experiment, "e2e/testdata/sweeps")
	w := watchPods(t, "e2e-"+experiment)
	s := submit(t, yaml, timeout)
	pods, maxRunning := w.done()
	if s.err != nil {
		t.Fatalf("argo submit --wait: %v", s.err)
	}
	var wfs []*wfv1.Workflow
	trials := 0
	for _, name := range s.names {
		wf := workflow(t, name)
		if wf.Status.Phase != wfv1.WorkflowSucceeded {
			t.Fatalf("%s: %s: %s", name, wf.Status.Phase, wf.Status.Message)
		}
		trials += checkOrder(t, wf)
		if n, share := maxConcurrent(wf), argo.ShardParallelism(parallelism, len(s.names)); n > share {
			t.Errorf("%s: %d trials ran at once, its share of parallelism %d is %d", name, n, parallelism, share)
		}
		wfs = append(wfs, wf)
	}
	train := checkPlacement(t, pods, gpu)
	if trials != wantTrials || train != wantTrials {
		t.Errorf("%d trials finished and %d train pods ran, want %d", trials, train, wantTrials)
	}
	// Together the shards never run more trials than the sweep's
	// parallelism: side by side they share it; with more shards than
	// parallelism they run one at a time (argo.Chained).
	limit := parallelism
	if n := maxConcurrent(wfs...); n > limit {
		t.Errorf("%d trials ran at once across the %d workflows, parallelism is %d", n, len(wfs), parallelism)
	}
	if most := min(gpus, limit); maxRunning > most {
		t.Errorf("%d train pods ran at once: more than %d (the GPUs, or the parallelism)", maxRunning, most)
	}
	t.Logf("%s: %d trials in %d workflow(s), %d pods (%d train pods, all on GPU nodes) in %v: %.1f pods/s; at most %d trials at once across the workflows (parallelism %d), %d train pods Running at once on %d GPUs",
		experiment, trials, len(wfs), len(pods), train, s.wall.Round(time.Second), float64(len(pods))/s.wall.Seconds(), maxConcurrent(wfs...), parallelism, maxRunning, gpus)
}

// maxConcurrent is the most trials of the workflows that ran at once, from their
// start and finish times.
func maxConcurrent(wfs ...*wfv1.Workflow) int {
	type edge struct {
		at    time.Time
		delta int
	}
	var edges []edge
	for _, wf := range wfs {
		for id := range trialChains(wf) {
			n := wf.Status.Nodes[id]
			edges = append(edges, edge{n.StartedAt.Time, 1}, edge{n.FinishedAt.Time, -1})
		}
	}
	// at equal times a finish comes before a start
	slices.SortFunc(edges, func(a, b edge) int {
		if c := a.at.Compare(b.at); c != 0 {
			return c
		}
		return a.delta - b.delta
	})
	most, now := 0, 0
	for _, e := range edges {
		now += e.delta
		most = max(most, now)
	}
	return most
}

func TestSweep100(t *testing.T) { sweep(t, "sweep100", 100, 16, 20*time.Minute) }

func TestSweep1000(t *testing.T) { sweep(t, "sweep1000", 1000, 64, 40*time.Minute) }

// TestRetry: every train pod of e2e-fails fails; each is retried as the retryStrategy
// says (2 retries, on other nodes) and the workflow fails saying which step.
func TestRetry(t *testing.T) {
	s := submit(t, compile(t, "--experiment", "fails", "e2e/testdata/sweeps"), 5*time.Minute)
	if s.err == nil {
		t.Fatal("argo submit --wait succeeded for a workflow whose train steps all fail")
	}
	wf := workflow(t, s.names[0])
	if wf.Status.Phase != wfv1.WorkflowFailed {
		t.Fatalf("%s: %s, want Failed", wf.Name, wf.Status.Phase)
	}
	chains := trialChains(wf)
	if len(chains) != 2 {
		t.Fatalf("%d trials, want 2", len(chains))
	}
	for id, chain := range chains {
		trial := wf.Status.Nodes[id]
		train := chain["train"]
		var nodes []string
		for _, c := range train.Children {
			a := wf.Status.Nodes[c]
			if a.Type != wfv1.NodeTypePod || a.Phase != wfv1.NodeFailed || !strings.Contains(a.Message, "exit code 1") {
				t.Errorf("%s: attempt %s is %s %s %q, want a Failed pod with exit code 1", trial.DisplayName, a.DisplayName, a.Type, a.Phase, a.Message)
			}
			nodes = append(nodes, a.HostNodeName)
		}
		if train.Type != wfv1.NodeTypeRetry || train.Phase != wfv1.NodeFailed || len(train.Children) != 3 {
			t.Errorf("%s: train is %s %s with %d attempts, want a Failed Retry node with 1 + 2 attempts", trial.DisplayName, train.Type, train.Phase, len(train.Children))
		}
		slices.Sort(nodes)
		if len(slices.Compact(nodes)) != len(train.Children) {
			t.Errorf("%s: retries of train ran on %v, want a different node each time (nodeAntiAffinity)", trial.DisplayName, nodes)
		}
		if !strings.Contains(train.Message, "No more retries left") {
			t.Errorf("%s: train says %q, want it to say that no retries are left", trial.DisplayName, train.Message)
		}
		for _, step := range steps[1:] {
			if n, ok := chain[step]; ok && n.Phase != wfv1.NodeOmitted {
				t.Errorf("%s: %s is %s after train failed", trial.DisplayName, step, n.Phase)
			}
		}
		if trial.Phase != wfv1.NodeFailed {
			t.Errorf("trial %s is %s, want Failed", trial.DisplayName, trial.Phase)
		}
	}
	t.Logf("%s Failed as it should after %v: train tried 3 times per trial, %q", wf.Name, s.wall.Round(time.Second), "No more retries left")
}
