// Package e2e holds the cluster end-to-end tests (build tag e2e): workflows
// compiled by parac are submitted with the real argo CLI to a real
// kube-apiserver, kube-scheduler, kube-controller-manager and Argo
// workflow-controller (scripts/cluster.sh), and checked from the cluster's own
// records and from the outside.
//
// Two kinds of node serve two namespaces:
//
//   - namespace argo: kwok's simulated CPU and GPU nodes. No container runs;
//     kwok moves pod phases along and e2e/outputs stands in for Argo's wait
//     container. The scheduling, retry and 1,000-trial scale tests run here.
//   - namespace parak8s (PARAK8S_REAL_NAMESPACE): the real node
//     (PARAK8S_REAL_NODE: kubelet, containerd, runc). Pods are real
//     containers, argoexec moves artifacts through the S3 store that `parac
//     platform` deploys, and prepare pulls the data pushed with `parac data
//     push` from the platform's registry (realpods_test.go).
//
// Run them all with:
//
//	make e2e    # build the step image, start the cluster, run these tests, stop it (also on failure)
//
// By hand: `make images && scripts/cluster.sh start`, then
// `go test -c -tags e2e -o e2e.test ./e2e && scripts/cluster.sh exec ./e2e.test -test.v`.
// The tests need the environment `scripts/cluster.sh exec` sets (KUBECONFIG,
// PARAK8S_CLUSTER_BIN, PARAK8S_REAL_*, PARAK8S_CONTAINERD_SOCK) and fail
// without it.
package e2e
