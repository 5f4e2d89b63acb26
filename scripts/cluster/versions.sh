# Sourced by scripts/cluster.sh and scripts/cluster/build.sh: the pinned versions of the test
# cluster's parts and the cache folders their binaries live in (one folder per set of versions).
ETCD_VERSION=v3.6.13
KUBE_VERSION=v1.36.3    # kube-apiserver, kube-scheduler, kube-controller-manager, kubelet, kube-proxy; staging modules at v0.36.3
KWOK_VERSION=v0.7.0
ARGO_VERSION=v3.7.3     # workflow-controller, the argo CLI and argoexec (the executor image)
CLUSTER_KEY="etcd-$ETCD_VERSION.kube-$KUBE_VERSION.kwok-$KWOK_VERSION.argo-$ARGO_VERSION"
CLUSTER_CACHE="${PARAK8S_CACHE:-$HOME/.cache/parak8s}/cluster/$CLUSTER_KEY"
CLUSTER_BINARIES="etcd kube-apiserver kube-scheduler kube-controller-manager kubelet kube-proxy kwok workflow-controller argo argoexec"
# The servers that run as pods or beside the real node: the S3 store of Argo's artifact
# repository, the OCI registry, the cluster DNS. Cached apart, so that a new version of one
# does not rebuild the control plane.
VERSITYGW_VERSION=v1.8.0
DISTRIBUTION_VERSION=v3.0.0
COREDNS_VERSION=v1.14.7
SERVERS_KEY="versitygw-$VERSITYGW_VERSION.distribution-$DISTRIBUTION_VERSION.coredns-$COREDNS_VERSION"
SERVERS_CACHE="${PARAK8S_CACHE:-$HOME/.cache/parak8s}/cluster/$SERVERS_KEY"
SERVERS_BINARIES="versitygw registry coredns"
# The real node's runtime, from Debian's packages.
NODE_PACKAGES="containerd runc containernetworking-plugins catatonit iptables conntrack"
# The platform's PostgreSQL and MLflow images (scripts/cluster/platform-images.sh): Debian's
# packages of this suite, and the MLflow that scripts/mlflow.sh pins with its PostgreSQL driver.
DEBIAN_SUITE=bookworm
POSTGRES_MAJOR=15
MLFLOW_VERSION=$(sed -n 's/^MLFLOW_VERSION=//p' "$(dirname "${BASH_SOURCE[0]}")/../mlflow.sh")
MLFLOW_POSTGRES_DRIVER=psycopg2-binary==2.9.10
PLATFORM_KEY="debian-$DEBIAN_SUITE.postgresql-$POSTGRES_MAJOR.mlflow-$MLFLOW_VERSION-$(
	{ "$(dirname "${BASH_SOURCE[0]}")/../mlflow.sh" pins; echo "$MLFLOW_POSTGRES_DRIVER"; } | cksum | cut -d' ' -f1)"
PLATFORM_CACHE="${PARAK8S_CACHE:-$HOME/.cache/parak8s}/platform/$PLATFORM_KEY"
