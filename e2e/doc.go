// Package e2e holds the cluster end-to-end tests (build tag e2e): workflows
// compiled by parac are submitted with the real argo CLI to a real
// kube-apiserver, kube-scheduler and Argo workflow-controller whose nodes are
// simulated by kwok (scripts/cluster.sh), and checked from the cluster's own
// records: the workflows' node status and the pods the scheduler bound.
//
//	make e2e    # start the cluster, run these tests, stop it (also on failure)
//
// By hand: `scripts/cluster.sh start`, then
// `go test -c -tags e2e -o e2e.test ./e2e && scripts/cluster.sh exec ./e2e.test -test.v`.
// The tests need the environment `scripts/cluster.sh exec` sets (KUBECONFIG,
// PARAK8S_CLUSTER_BIN) and fail without it. e2e/outputs is the cluster's
// stand-in for Argo's wait container.
package e2e
