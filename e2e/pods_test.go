//go:build e2e

package e2e

import (
	"context"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/tools/cache"
)

// podWatch records the pods of one experiment while its workflows run (finished
// pods are garbage-collected by Argo, so they are seen on the way).
type podWatch struct {
	mu         sync.Mutex
	pods       map[types.UID]*corev1.Pod // last state of each pod
	running    map[types.UID]bool        // train pods now Running
	maxRunning int                       // most train pods Running at once
	stop       context.CancelFunc
}

func watchPods(t *testing.T, experiment string) *podWatch {
	t.Helper()
	return watchPodsIn(t, namespace, experiment)
}

// watchPodsIn is watchPods in namespace ns.
func watchPodsIn(t *testing.T, ns, experiment string) *podWatch {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	w := &podWatch{pods: map[types.UID]*corev1.Pod{}, running: map[types.UID]bool{}, stop: cancel}
	factory := informers.NewSharedInformerFactoryWithOptions(env.kube, 0, informers.WithNamespace(ns),
		informers.WithTweakListOptions(func(o *metav1.ListOptions) { o.LabelSelector = "parak8s.dev/experiment=" + experiment }))
	inf := factory.Core().V1().Pods().Informer()
	if _, err := inf.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    func(obj any) { w.observe(obj.(*corev1.Pod)) },
		UpdateFunc: func(_, obj any) { w.observe(obj.(*corev1.Pod)) },
	}); err != nil {
		t.Fatal(err)
	}
	factory.Start(ctx.Done())
	if !cache.WaitForCacheSync(ctx.Done(), inf.HasSynced) {
		t.Fatal("pod informer did not sync")
	}
	t.Cleanup(func() { cancel(); factory.Shutdown() })
	return w
}

func (w *podWatch) observe(p *corev1.Pod) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.pods[p.UID] = p
	if p.Labels["parak8s.dev/step"] != "train" {
		return
	}
	if p.Status.Phase == corev1.PodRunning {
		w.running[p.UID] = true
	} else {
		delete(w.running, p.UID)
	}
	w.maxRunning = max(w.maxRunning, len(w.running))
}

// done stops the watch (after a short grace for the last events) and returns what it saw.
func (w *podWatch) done() (pods []*corev1.Pod, maxRunning int) {
	time.Sleep(time.Second)
	w.stop()
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, p := range w.pods {
		pods = append(pods, p)
	}
	return pods, w.maxRunning
}

// gpuNodes returns the names of the nodes labelled as GPU nodes and their GPUs.
func gpuNodes(t *testing.T) (map[string]bool, int) {
	t.Helper()
	nodes, err := env.kube.CoreV1().Nodes().List(context.Background(), metav1.ListOptions{LabelSelector: "nvidia.com/gpu.present=true"})
	if err != nil {
		t.Fatal(err)
	}
	gpu, gpus := map[string]bool{}, 0
	for _, n := range nodes.Items {
		gpu[n.Name] = true
		q := n.Status.Allocatable["nvidia.com/gpu"]
		gpus += int(q.Value())
	}
	if gpus == 0 {
		t.Fatal("the cluster has no GPU node with allocatable nvidia.com/gpu")
	}
	return gpu, gpus
}

// checkPlacement checks that every train pod asks for a GPU and was bound to a GPU
// node by the scheduler, and every other pod to a CPU node; it returns the number of train pods.
func checkPlacement(t *testing.T, pods []*corev1.Pod, gpu map[string]bool) int {
	t.Helper()
	train := 0
	for _, p := range pods {
		isTrain := p.Labels["parak8s.dev/step"] == "train"
		scheduled := false
		for _, c := range p.Status.Conditions {
			scheduled = scheduled || c.Type == corev1.PodScheduled && c.Status == corev1.ConditionTrue
		}
		switch {
		case p.Spec.NodeName == "" || !scheduled:
			t.Errorf("pod %s was never scheduled (%s)", p.Name, p.Status.Phase)
		case isTrain && !gpu[p.Spec.NodeName]:
			t.Errorf("train pod %s ran on %s, not a GPU node", p.Name, p.Spec.NodeName)
		case !isTrain && gpu[p.Spec.NodeName]:
			t.Errorf("%s pod %s ran on the GPU node %s", p.Labels["parak8s.dev/step"], p.Name, p.Spec.NodeName)
		}
		if !isTrain {
			continue
		}
		train++
		if q := mainContainer(p).Resources.Requests["nvidia.com/gpu"]; q.Value() < 1 {
			t.Errorf("train pod %s requests no nvidia.com/gpu", p.Name)
		}
	}
	return train
}

func mainContainer(p *corev1.Pod) corev1.Container {
	for _, c := range p.Spec.Containers {
		if c.Name == "main" {
			return c
		}
	}
	return corev1.Container{}
}
