#!/usr/bin/env bash
# A real Kubernetes control plane with the real Argo controller and simulated nodes, on this
# machine, for the end-to-end tests (e2e/) and for trying compiled workflows by hand.
#
#   scripts/cluster.sh start      build the binaries once (scripts/cluster/build.sh), start etcd,
#                                 kube-apiserver, kube-scheduler, kwok, the Argo
#                                 workflow-controller and e2e-outputs in a network namespace,
#                                 print the export lines (idempotent)
#   scripts/cluster.sh stop       stop all of them, delete the namespace and the cluster's data
#   scripts/cluster.sh exec CMD…  run CMD in the network namespace with the cluster's env
#                                 (KUBECONFIG, ARGO_NAMESPACE, the binaries first on PATH)
#   scripts/cluster.sh env        print the export lines (starts nothing)
#   scripts/cluster.sh status     exit 0 when the API server answers
#
#   scripts/cluster.sh start && scripts/cluster.sh exec argo submit --wait - < wf.yaml
#
# Needs root (ip netns), iproute2, openssl, curl and flock (installed with apt-get when
# missing). Every process runs in the network namespace $NETNS, which has only
# a loopback device: nothing listens on or leaves the machine's own network, and the cluster
# cannot clash with other servers' ports. The cluster: etcd and kube-apiserver on
# 127.0.0.1 (RBAC, a static admin token), kube-scheduler, kwok managing 4 CPU nodes and
# 4 GPU nodes (8 × nvidia.com/gpu each, GPU labels, taint nvidia.com/gpu=present:NoSchedule),
# Argo's CRDs (the full ones, so the API server validates workflows) and its controller in
# namespace argo with an S3 artifact repository that is never contacted (no pod runs:
# kwok moves pod phases along as scripts/cluster/stages.yaml says), and e2e-outputs
# (e2e/outputs), which reports each finished pod's declared outputs the way Argo's wait
# container would. No controller-manager runs: the namespace's service account is made here.
#
# Environment:
#   PARAK8S_CLUSTER_STATE   state dir: certs, kubeconfig, etcd data, logs, pids
#                           (default /tmp/parak8s-cluster)
#   PARAK8S_CLUSTER_NETNS   network namespace (default parak8s-e2e)
#   PARAK8S_CACHE           where the built binaries are cached (default ~/.cache/parak8s)
# Progress goes to stderr; only the export lines go to stdout.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
. "$ROOT/scripts/cluster/versions.sh"
STATE="${PARAK8S_CLUSTER_STATE:-/tmp/parak8s-cluster}"
NETNS="${PARAK8S_CLUSTER_NETNS:-parak8s-e2e}"
BIN="$CLUSTER_CACHE/bin"
API=https://127.0.0.1:6443
NAMESPACE=argo
# stop order; start is the reverse
PROCS="e2e-outputs workflow-controller kwok kube-scheduler kube-apiserver etcd"

log() { echo "cluster.sh: $*" >&2; }
die() { log "error: $*"; exit 1; }

env_lines() {
	echo "export KUBECONFIG=$STATE/kubeconfig"
	echo "export ARGO_NAMESPACE=$NAMESPACE"
	echo "export PARAK8S_CLUSTER_NETNS=$NETNS"
	echo "export PARAK8S_CLUSTER_BIN=$BIN"
}

in_ns() { ip netns exec "$NETNS" "$@"; }

kcurl() { # kcurl ARGS…: curl the API server as the admin
	in_ns curl -sS --fail-with-body --cacert "$STATE/pki/ca.crt" -H "Authorization: Bearer $(cat "$STATE/token")" "$@"
}

answers() { [ -f "$STATE/token" ] && ip netns list 2>/dev/null | grep -qw "$NETNS" && kcurl -m 2 -o /dev/null "$API/readyz" 2>/dev/null; }

alive() { [ -f "$STATE/$1.pid" ] && kill -0 "$(cat "$STATE/$1.pid")" 2>/dev/null; }

launch() { # launch NAME CMD…: start CMD in the namespace, in the background, logging to NAME.log
	local name=$1
	shift
	log "starting $name (log $STATE/$name.log)"
	nohup ip netns exec "$NETNS" "$@" >"$STATE/$name.log" 2>&1 </dev/null 9>&- &
	echo $! >"$STATE/$name.pid"
}

wait_for() { # wait_for WHAT SECONDS CMD…
	local what=$1 secs=$2 i
	shift 2
	for ((i = 0; i < secs * 5; i++)); do
		"$@" 2>/dev/null && return 0
		sleep 0.2
	done
	die "$what not ready within ${secs}s"
}

apply() { # apply API_PATH FILE: server-side apply of one object (YAML) by its full path
	kcurl -o /dev/null -X PATCH -H 'Content-Type: application/apply-patch+yaml' \
		--data-binary "@$2" "$API$1?fieldManager=parak8s-cluster&force=true" ||
		die "applying $2 to $1"
}

certs() {
	local d=$STATE/pki
	mkdir -p "$d"
	openssl req -x509 -newkey rsa:2048 -nodes -days 30 -subj /CN=parak8s-e2e-ca \
		-keyout "$d/ca.key" -out "$d/ca.crt" 2>/dev/null
	openssl req -newkey rsa:2048 -nodes -subj /CN=kube-apiserver -keyout "$d/apiserver.key" -out "$d/apiserver.csr" 2>/dev/null
	printf 'subjectAltName=IP:127.0.0.1,IP:10.96.0.1,DNS:localhost,DNS:kubernetes.default.svc\n' >"$d/san.ext"
	openssl x509 -req -in "$d/apiserver.csr" -CA "$d/ca.crt" -CAkey "$d/ca.key" -CAcreateserial -days 30 \
		-extfile "$d/san.ext" -out "$d/apiserver.crt" 2>/dev/null
	openssl genrsa -out "$d/sa.key" 2048 2>/dev/null
	openssl rsa -in "$d/sa.key" -pubout -out "$d/sa.pub" 2>/dev/null
	od -An -tx1 -N16 /dev/urandom | tr -d ' \n' >"$STATE/token"
	echo "$(cat "$STATE/token"),admin,admin,system:masters" >"$d/tokens.csv"
	cat >"$STATE/kubeconfig" <<-K
	apiVersion: v1
	kind: Config
	clusters:
	- name: parak8s-e2e
	  cluster: {server: "$API", certificate-authority: "$d/ca.crt"}
	users:
	- name: admin
	  user: {token: "$(cat "$STATE/token")"}
	contexts:
	- name: parak8s-e2e
	  context: {cluster: parak8s-e2e, user: admin, namespace: $NAMESPACE}
	current-context: parak8s-e2e
	K
}

# node NAME KIND: a fake node (kwok manages nodes annotated kwok.x-k8s.io/node=fake).
node() {
	local name=$1 kind=$2 f="$STATE/objects/node-$1.yaml"
	{
		printf 'apiVersion: v1\nkind: Node\nmetadata:\n  name: %s\n  annotations: {kwok.x-k8s.io/node: fake}\n  labels:\n' "$name"
		printf '    kubernetes.io/hostname: %s\n    kubernetes.io/os: linux\n    kubernetes.io/arch: amd64\n    type: kwok\n' "$name"
		if [ "$kind" = gpu ]; then
			printf '    nvidia.com/gpu.present: "true"\n    nvidia.com/gpu.count: "8"\n    nvidia.com/gpu.product: NVIDIA-H100-80GB-HBM3\n'
			printf 'spec:\n  taints: [{key: nvidia.com/gpu, value: present, effect: NoSchedule}]\n'
		fi
	} >"$f"
	apply "/api/v1/nodes/$name" "$f"
	local cap='{cpu: "64", memory: 256Gi, pods: "250", ephemeral-storage: 1Ti}'
	[ "$kind" = gpu ] && cap='{cpu: "192", memory: 2Ti, pods: "250", ephemeral-storage: 4Ti, nvidia.com/gpu: "8"}'
	printf 'apiVersion: v1\nkind: Node\nmetadata: {name: %s}\nstatus: {capacity: %s, allocatable: %s}\n' "$name" "$cap" "$cap" >"$f.status"
	apply "/api/v1/nodes/$name/status" "$f.status"
}

objects() {
	local o=$STATE/objects f
	mkdir -p "$o"
	for f in "$CLUSTER_CACHE"/crds/argoproj.io_*.json; do
		f=${f##*/argoproj.io_}
		apply "/apis/apiextensions.k8s.io/v1/customresourcedefinitions/${f%.json}.argoproj.io" "$CLUSTER_CACHE/crds/argoproj.io_$f"
	done
	printf 'apiVersion: v1\nkind: Namespace\nmetadata: {name: %s}\n' $NAMESPACE >"$o/ns.yaml"
	apply "/api/v1/namespaces/$NAMESPACE" "$o/ns.yaml"
	printf 'apiVersion: v1\nkind: ServiceAccount\nmetadata: {name: default, namespace: %s}\n' $NAMESPACE >"$o/sa.yaml"
	apply "/api/v1/namespaces/$NAMESPACE/serviceaccounts/default" "$o/sa.yaml"
	cat >"$o/controller-cm.yaml" <<-C
	apiVersion: v1
	kind: ConfigMap
	metadata: {name: workflow-controller-configmap, namespace: $NAMESPACE}
	data:
	  artifactRepository: |
	    s3:
	      bucket: parak8s-e2e
	      endpoint: s3.parak8s-e2e.invalid:9000
	      insecure: true
	      useSDKCreds: true
	C
	apply "/api/v1/namespaces/$NAMESPACE/configmaps/workflow-controller-configmap" "$o/controller-cm.yaml"
	local i
	for i in 0 1 2 3; do node "cpu-$i" cpu; node "gpu-$i" gpu; done
	wait_for "Argo's CRDs" 30 crds_served
}

nodes_ready() { # kwok has made every node Ready
	[ "$(kcurl "$API/api/v1/nodes" | grep -Ec '"type": ?"Ready"')" = 8 ]
}

crds_served() { # every CRD's resource is in the API server's discovery
	local served f
	served=$(kcurl "$API/apis/argoproj.io/v1alpha1") || return 1
	for f in "$CLUSTER_CACHE"/crds/argoproj.io_*.json; do
		f=${f##*/argoproj.io_}
		grep -Eq "\"name\": ?\"${f%.json}\"" <<<"$served" || return 1
	done
}

# tools installs what the cluster needs and a minimal Debian may lack (as root, with apt-get).
tools() {
	local missing=() t
	for t in ip:iproute2 openssl:openssl curl:curl flock:util-linux; do
		command -v "${t%%:*}" >/dev/null || missing+=("${t#*:}")
	done
	[ ${#missing[@]} -eq 0 ] && return 0
	command -v apt-get >/dev/null || die "missing ${missing[*]}: install them"
	log "installing ${missing[*]} (apt-get)"
	local apt=(apt-get -o DPkg::Lock::Timeout=600)
	DEBIAN_FRONTEND=noninteractive "${apt[@]}" install -y -q --no-install-recommends "${missing[@]}" >&2 ||
		{ "${apt[@]}" update -q >&2 && DEBIAN_FRONTEND=noninteractive "${apt[@]}" install -y -q --no-install-recommends "${missing[@]}" >&2; } ||
		die "could not install ${missing[*]}"
}

start() {
	[ "$(id -u)" = 0 ] || die "the test cluster needs root (ip netns)"
	tools
	mkdir -p "$STATE"
	exec 9>"$STATE.lock"
	flock -w 600 9 || die "timed out waiting for $STATE.lock"
	if answers && alive workflow-controller && alive kwok && alive e2e-outputs; then
		env_lines
		return 0
	fi
	stop_all
	"$ROOT/scripts/cluster/build.sh" >/dev/null
	local t0=$SECONDS
	(cd "$ROOT" && CGO_ENABLED=0 go build -o "$STATE/e2e-outputs" ./e2e/outputs) || die "building e2e/outputs"
	ip netns add "$NETNS"
	ip -n "$NETNS" link set lo up
	certs
	launch etcd "$BIN/etcd" --data-dir "$STATE/etcd" --listen-client-urls http://127.0.0.1:2379 \
		--advertise-client-urls http://127.0.0.1:2379 --listen-peer-urls http://127.0.0.1:2380 \
		--unsafe-no-fsync --max-request-bytes 10485760 --quota-backend-bytes 8589934592 --log-level warn
	local p=$STATE/pki
	launch kube-apiserver "$BIN/kube-apiserver" --etcd-servers http://127.0.0.1:2379 \
		--bind-address 127.0.0.1 --advertise-address 127.0.0.1 --secure-port 6443 \
		--tls-cert-file "$p/apiserver.crt" --tls-private-key-file "$p/apiserver.key" --client-ca-file "$p/ca.crt" \
		--token-auth-file "$p/tokens.csv" --authorization-mode RBAC \
		--service-account-issuer https://kubernetes.default.svc --service-account-key-file "$p/sa.pub" \
		--service-account-signing-key-file "$p/sa.key" --service-cluster-ip-range 10.96.0.0/16 \
		--disable-admission-plugins TaintNodesByCondition --max-requests-inflight 800 --max-mutating-requests-inflight 400
	wait_for kube-apiserver 60 kcurl -m 2 -o /dev/null "$API/readyz"
	log "API server ready after $((SECONDS - t0))s"
	objects
	launch kube-scheduler "$BIN/kube-scheduler" --kubeconfig "$STATE/kubeconfig" --leader-elect=false \
		--secure-port 0 --kube-api-qps 200 --kube-api-burst 400
	launch kwok "$BIN/kwok" --kubeconfig "$STATE/kubeconfig" --manage-all-nodes=false \
		--manage-nodes-with-annotation-selector kwok.x-k8s.io/node=fake --config "$ROOT/scripts/cluster/stages.yaml"
	LEADER_ELECTION_DISABLE=true DEFAULT_REQUEUE_TIME=1s launch workflow-controller "$BIN/workflow-controller" \
		--kubeconfig "$STATE/kubeconfig" -n "$NAMESPACE" --namespaced --managed-namespace "$NAMESPACE" \
		--qps 200 --burst 400 --loglevel error
	launch e2e-outputs "$STATE/e2e-outputs" --kubeconfig "$STATE/kubeconfig" --namespace "$NAMESPACE"
	wait_for "the nodes" 30 nodes_ready
	local n
	for n in $PROCS; do alive "$n" || { tail -n 20 "$STATE/$n.log" >&2; die "$n exited"; }; done
	log "cluster up in $((SECONDS - t0))s (binaries in $BIN)"
	env_lines
}

stop_all() {
	local n pid i
	for n in $PROCS; do
		alive "$n" || { rm -f "$STATE/$n.pid"; continue; }
		pid=$(cat "$STATE/$n.pid")
		kill "$pid" 2>/dev/null || true
		for ((i = 0; i < 50; i++)); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
		kill -9 "$pid" 2>/dev/null || true
		rm -f "$STATE/$n.pid"
	done
	ip netns delete "$NETNS" 2>/dev/null || true
	rm -rf "$STATE/etcd"
}

stop() {
	mkdir -p "$STATE"
	exec 9>"$STATE.lock"
	flock -w 600 9 || die "timed out waiting for $STATE.lock"
	log "stopping the cluster in $NETNS"
	stop_all
}

case "${1:-}" in
start) start ;;
stop) stop ;;
env) env_lines ;;
status) answers ;;
exec)
	shift
	[ $# -gt 0 ] || die "usage: $0 exec CMD…"
	eval "$(env_lines)"
	PATH="$BIN:$PATH" exec ip netns exec "$NETNS" "$@"
	;;
*)
	echo "usage: $0 start|stop|env|status|exec CMD…" >&2
	exit 2
	;;
esac
