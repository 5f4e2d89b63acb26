package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"sync"
	"syscall"
	"time"

	wfclientset "github.com/argoproj/argo-workflows/v3/pkg/client/clientset/versioned"
	wftyped "github.com/argoproj/argo-workflows/v3/pkg/client/clientset/versioned/typed/workflow/v1alpha1"
	"github.com/argoproj/argo-workflows/v3/workflow/common"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/clientcmd"
)

func main() {
	if err := run(); err != nil {
		slog.Error("e2e-outputs", "err", err)
		os.Exit(1)
	}
}

func run() error {
	kubeconfig := flag.String("kubeconfig", os.Getenv("KUBECONFIG"), "kubeconfig of the cluster")
	namespace := flag.String("namespace", "argo", "namespace whose workflow pods to report")
	flag.Parse()
	cfg, err := clientcmd.BuildConfigFromFlags("", *kubeconfig)
	if err != nil {
		return fmt.Errorf("loading kubeconfig %q: %w", *kubeconfig, err)
	}
	cfg.QPS, cfg.Burst = 200, 400
	kube, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return fmt.Errorf("making the Kubernetes client: %w", err)
	}
	wf, err := wfclientset.NewForConfig(cfg)
	if err != nil {
		return fmt.Errorf("making the Argo client: %w", err)
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()

	r := &reporter{results: wf.ArgoprojV1alpha1().WorkflowTaskResults(*namespace), done: map[types.UID]bool{}}
	factory := informers.NewSharedInformerFactoryWithOptions(kube, 30*time.Second,
		informers.WithNamespace(*namespace),
		informers.WithTweakListOptions(func(o *metav1.ListOptions) { o.LabelSelector = common.LabelKeyWorkflow }))
	pods := factory.Core().V1().Pods().Informer()
	if _, err := pods.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    func(obj any) { r.observe(ctx, obj) },
		UpdateFunc: func(_, obj any) { r.observe(ctx, obj) },
		DeleteFunc: r.forget,
	}); err != nil {
		return fmt.Errorf("watching pods: %w", err)
	}
	slog.Info("reporting the outputs of finished workflow pods", "namespace", *namespace)
	factory.Start(ctx.Done())
	<-ctx.Done()
	factory.Shutdown()
	return nil
}

// reporter writes one WorkflowTaskResult per finished pod.
type reporter struct {
	results wftyped.WorkflowTaskResultInterface
	mu      sync.Mutex
	done    map[types.UID]bool
}

func (r *reporter) forget(obj any) {
	if pod, ok := obj.(*corev1.Pod); ok {
		r.mu.Lock()
		delete(r.done, pod.UID)
		r.mu.Unlock()
	}
}

func (r *reporter) observe(ctx context.Context, obj any) {
	pod, ok := obj.(*corev1.Pod)
	if !ok || (pod.Status.Phase != corev1.PodSucceeded && pod.Status.Phase != corev1.PodFailed) {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.done[pod.UID] {
		return
	}
	res, err := taskResult(pod)
	if err != nil {
		slog.Error("building a task result", "pod", pod.Name, "err", err)
		r.done[pod.UID] = true // the pod will not change: do not retry
		return
	}
	_, err = r.results.Create(ctx, res, metav1.CreateOptions{})
	if err != nil && !apierrors.IsAlreadyExists(err) {
		if !errors.Is(err, context.Canceled) {
			slog.Error("writing the task result", "pod", pod.Name, "node", res.Name, "err", err)
		}
		return // retried on the next update or resync
	}
	r.done[pod.UID] = true
	slog.Debug("reported", "pod", pod.Name, "node", res.Name, "phase", pod.Status.Phase)
}
