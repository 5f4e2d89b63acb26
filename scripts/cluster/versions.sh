# Sourced by scripts/cluster.sh and scripts/cluster/build.sh: the pinned versions of the test
# cluster's parts and the cache folder their binaries live in (one folder per set of versions).
ETCD_VERSION=v3.6.13
KUBE_VERSION=v1.36.3    # kube-apiserver, kube-scheduler; staging modules at v0.36.3
KWOK_VERSION=v0.7.0
ARGO_VERSION=v3.7.3     # workflow-controller and the argo CLI
CLUSTER_KEY="etcd-$ETCD_VERSION.kube-$KUBE_VERSION.kwok-$KWOK_VERSION.argo-$ARGO_VERSION"
CLUSTER_CACHE="${PARAK8S_CACHE:-$HOME/.cache/parak8s}/cluster/$CLUSTER_KEY"
CLUSTER_BINARIES="etcd kube-apiserver kube-scheduler kwok workflow-controller argo"
