#!/usr/bin/env bash
# A real Kubernetes control plane with the real Argo controller, one real node and simulated
# nodes, on this machine, for the end-to-end tests (e2e/) and for trying compiled workflows by
# hand.
#
#   scripts/cluster.sh start      build the binaries once (scripts/cluster/build.sh), start etcd,
#                                 kube-apiserver, kube-scheduler, kube-controller-manager, kwok,
#                                 the real node (containerd + runc + kubelet, kube-proxy, CoreDNS),
#                                 the Argo workflow-controller, argo server with its web UI
#                                 (scripts/cluster/argo-ui.sh, 127.0.0.1:2746 in the namespace)
#                                 and e2e-outputs in a network namespace, print the export
#                                 lines (idempotent)
#   scripts/cluster.sh stop       stop all of them, delete the namespace and the cluster's data
#   scripts/cluster.sh exec CMD…  run CMD in the network namespace with the cluster's env
#                                 (KUBECONFIG, ARGO_NAMESPACE, the binaries first on PATH)
#   scripts/cluster.sh env        print the export lines (starts nothing)
#   scripts/cluster.sh status     exit 0 when the API server answers
#
#   scripts/cluster.sh start && scripts/cluster.sh exec argo submit --wait - < wf.yaml
#
# Needs root (ip netns), iproute2, openssl, curl, flock and, for the real node, Debian's
# containerd, runc, CNI plugins, catatonit, iptables and conntrack (installed with apt-get
# when missing). Every process runs in the network namespace $NETNS, which has only a
# loopback device and the pods' bridge: nothing listens on or leaves the machine's own
# network, and the cluster cannot clash with other servers' ports. The cluster:
# - etcd and kube-apiserver on 127.0.0.1 (RBAC, a static admin token, the PodNodeSelector
#   admission plugin), kube-scheduler, kube-controller-manager (the controllers a workload
#   needs: deployments, replica sets, stateful sets, endpoints, service accounts, volume
#   binding, garbage collection; not node lifecycle, which would evict the kwok nodes' pods);
# - Argo's CRDs (the full ones, so the API server validates workflows) and its controller,
#   watching every namespace, with argoexec (built here, image parak8s.local/argoexec) as
#   the executor;
# - namespace argo: pods go to kwok's 4 CPU and 4 GPU nodes (8 × nvidia.com/gpu each, GPU
#   labels, taint nvidia.com/gpu=present:NoSchedule), where no container runs: kwok moves pod
#   phases along as scripts/cluster/stages.yaml says, and e2e-outputs (e2e/outputs) reports
#   each finished pod's declared outputs the way Argo's wait container would; its artifact
#   repository is an S3 endpoint that is never contacted;
# - namespace parak8s (the default of `parac platform`): pods go to the real node real-0 —
#   kubelet, containerd and runc in a private mount namespace (sysctls it would rewrite are
#   bind-mounted over), pods on the bridge cni0 (10.88.0.0/16, the node at 10.88.0.1),
#   kube-proxy in iptables mode for Services (masquerading all service traffic: there is no
#   bridge netfilter), CoreDNS at 10.96.0.10 for *.svc.cluster.local, and hostPath
#   persistent volumes under the state dir for the claims. Images come from no registry:
#   the pause (catatonit), argoexec, versitygw and registry images are built with
#   `parac images server` and imported into containerd (ctr), pods use IfNotPresent.
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
SBIN="$SERVERS_CACHE/bin"
API=https://127.0.0.1:6443
NAMESPACE=argo
# The real node: its name, address (the bridge's), the pods' subnet, the cluster DNS address,
# the namespace whose pods it runs, and containerd's socket.
NODE=real-0
NODE_IP=10.88.0.1
POD_CIDR=10.88.0.0/16
DNS_IP=10.96.0.10
REAL_NAMESPACE=parak8s
NODE_STATE=$STATE/node
CTR_SOCK=$NODE_STATE/containerd/containerd.sock
# Images the real node runs, imported into containerd at start.
IMAGE_PAUSE=parak8s.local/pause:catatonit
IMAGE_ARGOEXEC=parak8s.local/argoexec:$ARGO_VERSION
IMAGE_POSTGRES=parak8s.local/postgres:$POSTGRES_MAJOR
IMAGE_MLFLOW=parak8s.local/mlflow:$MLFLOW_VERSION
IMAGE_VERSITYGW=parak8s.local/versitygw:$VERSITYGW_VERSION
IMAGE_REGISTRY=parak8s.local/registry:$DISTRIBUTION_VERSION
# stop order; start is the reverse (kubelet is the launcher that also started containerd)
PROCS="e2e-outputs argo-server workflow-controller coredns kube-proxy kubelet kwok kube-controller-manager kube-scheduler kube-apiserver etcd"

log() { echo "cluster.sh: $*" >&2; }
die() { log "error: $*"; exit 1; }

env_lines() {
	echo "export KUBECONFIG=$STATE/kubeconfig"
	echo "export ARGO_NAMESPACE=$NAMESPACE"
	echo "export PARAK8S_CLUSTER_NETNS=$NETNS"
	echo "export PARAK8S_CLUSTER_BIN=$BIN"
	echo "export PARAK8S_CLUSTER_STATE=$STATE"
	echo "export PARAK8S_ARGO_SERVER=http://127.0.0.1:2746"
	echo "export PARAK8S_REAL_NODE=$NODE"
	echo "export PARAK8S_REAL_NAMESPACE=$REAL_NAMESPACE"
	echo "export PARAK8S_CONTAINERD_SOCK=$CTR_SOCK"
	echo "export PARAK8S_NODE_IMAGES=$IMAGE_ARGOEXEC,$IMAGE_VERSITYGW,$IMAGE_REGISTRY,$IMAGE_POSTGRES,$IMAGE_MLFLOW"
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
	# PodNodeSelector keeps each namespace's pods on its kind of node.
	printf 'apiVersion: v1\nkind: Namespace\nmetadata: {name: %s, annotations: {scheduler.alpha.kubernetes.io/node-selector: type=kwok}}\n' $NAMESPACE >"$o/ns.yaml"
	apply "/api/v1/namespaces/$NAMESPACE" "$o/ns.yaml"
	printf 'apiVersion: v1\nkind: Namespace\nmetadata: {name: %s, annotations: {scheduler.alpha.kubernetes.io/node-selector: type=real}}\n' $REAL_NAMESPACE >"$o/ns-real.yaml"
	apply "/api/v1/namespaces/$REAL_NAMESPACE" "$o/ns-real.yaml"
	printf 'apiVersion: v1\nkind: ServiceAccount\nmetadata: {name: default, namespace: %s}\n' $NAMESPACE >"$o/sa.yaml"
	apply "/api/v1/namespaces/$NAMESPACE/serviceaccounts/default" "$o/sa.yaml"
	# What compiled workflows name by default (parac platform makes them in its namespace):
	# the step pods' and executor's account with its token, and the checkpoints claim, here
	# bound to a volume no kwok pod ever mounts.
	printf 'apiVersion: v1\nkind: ServiceAccount\nmetadata: {name: parak8s-workflow, namespace: %s}\n' $NAMESPACE >"$o/sa-wf.yaml"
	apply "/api/v1/namespaces/$NAMESPACE/serviceaccounts/parak8s-workflow" "$o/sa-wf.yaml"
	cat >"$o/sa-wf-token.yaml" <<-T
	apiVersion: v1
	kind: Secret
	metadata: {name: parak8s-workflow.service-account-token, namespace: $NAMESPACE, annotations: {kubernetes.io/service-account.name: parak8s-workflow}}
	type: kubernetes.io/service-account-token
	T
	apply "/api/v1/namespaces/$NAMESPACE/secrets/parak8s-workflow.service-account-token" "$o/sa-wf-token.yaml"
	cat >"$o/pv-kwok.yaml" <<-V
	apiVersion: v1
	kind: PersistentVolume
	metadata: {name: kwok-checkpoints}
	spec:
	  capacity: {storage: 1Ti}
	  accessModes: [ReadWriteMany]
	  hostPath: {path: /nonexistent/kwok-checkpoints}
	  claimRef: {namespace: $NAMESPACE, name: parak8s-checkpoints}
	V
	apply "/api/v1/persistentvolumes/kwok-checkpoints" "$o/pv-kwok.yaml"
	printf 'apiVersion: v1\nkind: PersistentVolumeClaim\nmetadata: {name: parak8s-checkpoints, namespace: %s}\nspec: {accessModes: [ReadWriteMany], resources: {requests: {storage: 100Gi}}, storageClassName: "", volumeName: kwok-checkpoints}\n' $NAMESPACE >"$o/pvc-kwok.yaml"
	apply "/api/v1/namespaces/$NAMESPACE/persistentvolumeclaims/parak8s-checkpoints" "$o/pvc-kwok.yaml"
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
	  links: |
	    - name: MLflow
	      scope: workflow
	      url: http://parak8s-mlflow.$REAL_NAMESPACE.svc.cluster.local:5000/#/experiments?experiment=\${workflow.metadata.labels.parak8s.dev/experiment}
	C
	apply "/api/v1/namespaces/$NAMESPACE/configmaps/workflow-controller-configmap" "$o/controller-cm.yaml"
	local i
	for i in 0 1 2 3; do node "cpu-$i" cpu; node "gpu-$i" gpu; done
	wait_for "Argo's CRDs" 30 crds_served
}

nodes_ready() { # kwok has made every fake node Ready (the real node was waited for)
	[ "$(kcurl "$API/api/v1/nodes?labelSelector=type%3Dkwok" | grep -Ec '"type": ?"Ready"')" = 8 ]
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
	for t in ip:iproute2 openssl:openssl curl:curl flock:util-linux containerd:containerd runc:runc \
		/usr/lib/cni/bridge:containernetworking-plugins catatonit:catatonit iptables:iptables conntrack:conntrack; do
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

# --- the real node -------------------------------------------------------------------------

# network: the pods' bridge (the node's address), the DNS address, forwarding, and the API
# server at the `kubernetes` Service address for pods (it listens on loopback only).
network() {
	ip -n "$NETNS" link add cni0 type bridge
	ip -n "$NETNS" addr add "$NODE_IP/16" dev cni0
	ip -n "$NETNS" link set cni0 up
	ip -n "$NETNS" addr add "$DNS_IP/32" dev lo
	# Service addresses from the node itself (the tests, containerd): routed towards the pods,
	# kube-proxy's OUTPUT rules rewrite them to a pod's address.
	ip -n "$NETNS" route add 10.96.0.0/16 dev cni0 src "$NODE_IP"
	in_ns sysctl -q -w net.ipv4.ip_forward=1 net.ipv4.conf.all.route_localnet=1 net.ipv4.conf.cni0.route_localnet=1
	in_ns iptables -t nat -A PREROUTING -d 10.96.0.1/32 -p tcp --dport 443 -j DNAT --to-destination 127.0.0.1:6443
}

# node_config writes containerd's, the CNI's, kubelet's, kube-proxy's and CoreDNS's config.
node_config() {
	local n=$NODE_STATE
	mkdir -p "$n/containerd" "$n/cni" "$n/kubelet" "$n/fakesys"
	cat >"$n/containerd/config.toml" <<-C
	version = 2
	root = "$n/containerd/root"
	state = "$n/containerd/state"
	[grpc]
	  address = "$CTR_SOCK"
	[plugins."io.containerd.grpc.v1.cri"]
	  restrict_oom_score_adj = true
	  sandbox_image = "$IMAGE_PAUSE"
	  tolerate_missing_hugetlb_controller = true
	  disable_hugetlb_controller = true
	  [plugins."io.containerd.grpc.v1.cri".cni]
	    bin_dir = "/usr/lib/cni"
	    conf_dir = "$n/cni"
	  [plugins."io.containerd.grpc.v1.cri".containerd]
	    snapshotter = "overlayfs"
	    default_runtime_name = "runc"
	    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
	      runtime_type = "io.containerd.runc.v2"
	      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
	        SystemdCgroup = false
	C
	cat >"$n/cni/10-bridge.conflist" <<-C
	{"cniVersion": "1.0.0", "name": "parak8s-e2e", "plugins": [
	  {"type": "bridge", "bridge": "cni0", "isGateway": true, "ipMasq": false, "hairpinMode": true,
	   "ipam": {"type": "host-local", "ranges": [[{"subnet": "$POD_CIDR"}]], "routes": [{"dst": "0.0.0.0/0"}], "dataDir": "$n/cni-ipam"}},
	  {"type": "portmap", "capabilities": {"portMappings": true}}]}
	C
	cat >"$n/kubelet/config.yaml" <<-C
	apiVersion: kubelet.config.k8s.io/v1beta1
	kind: KubeletConfiguration
	cgroupDriver: cgroupfs
	failCgroupV1: false
	failSwapOn: false
	containerRuntimeEndpoint: unix://$CTR_SOCK
	oomScoreAdj: 0
	address: 0.0.0.0
	readOnlyPort: 0
	port: 10250
	healthzBindAddress: 127.0.0.1
	authentication: {anonymous: {enabled: true}, webhook: {enabled: false}}
	authorization: {mode: AlwaysAllow}
	enforceNodeAllocatable: ["pods"]
	evictionHard: {}
	imageGCHighThresholdPercent: 100
	imageGCLowThresholdPercent: 99
	clusterDNS: ["$DNS_IP"]
	clusterDomain: cluster.local
	resolvConf: ""
	serializeImagePulls: false
	makeIPTablesUtilChains: false
	localStorageCapacityIsolation: true
	C
	cat >"$n/kube-proxy.yaml" <<-C
	apiVersion: kubeproxy.config.k8s.io/v1alpha1
	kind: KubeProxyConfiguration
	clientConnection: {kubeconfig: "$STATE/kubeconfig"}
	hostnameOverride: $NODE
	mode: iptables
	clusterCIDR: $POD_CIDR
	iptables: {masqueradeAll: true}
	conntrack: {maxPerCore: 0, min: 0, tcpEstablishedTimeout: 0s, tcpCloseWaitTimeout: 0s}
	metricsBindAddress: 127.0.0.1:10249
	healthzBindAddress: 127.0.0.1:10256
	C
	cat >"$n/Corefile" <<-C
	.:53 {
	    errors
	    cache 30
	    kubernetes cluster.local in-addr.arpa ip6.arpa {
	        kubeconfig $STATE/kubeconfig
	        fallthrough in-addr.arpa ip6.arpa
	    }
	}
	C
	# kubelet would otherwise rewrite these machine-wide sysctls; the launcher bind-mounts
	# these files over them in its own mount namespace.
	printf '1\n' >"$n/fakesys/overcommit_memory"
	printf '0\n' >"$n/fakesys/panic_on_oom"
	printf '10\n' >"$n/fakesys/panic"
	printf '1\n' >"$n/fakesys/panic_on_oops"
	cat >"$n/launcher.sh" <<-C
	#!/usr/bin/env bash
	# containerd and kubelet share this private mount namespace (kubelet's volume mounts must
	# be the ones runc sees); not \`ip netns exec\`, which remounts /sys without the cgroups.
	set -e
	mount --bind "$n/fakesys/overcommit_memory" /proc/sys/vm/overcommit_memory
	mount --bind "$n/fakesys/panic_on_oom" /proc/sys/vm/panic_on_oom
	mount --bind "$n/fakesys/panic" /proc/sys/kernel/panic
	mount --bind "$n/fakesys/panic_on_oops" /proc/sys/kernel/panic_on_oops
	containerd --config "$n/containerd/config.toml" >"$STATE/containerd.log" 2>&1 &
	echo \$! >"$STATE/containerd.pid"
	for i in \$(seq 100); do [ -S "$CTR_SOCK" ] && break; sleep 0.1; done
	exec "$BIN/kubelet" --config="$n/kubelet/config.yaml" --kubeconfig="$STATE/kubeconfig" \\
		--root-dir="$n/kubelet/root" --cert-dir="$n/kubelet/root/pki" --hostname-override=$NODE \\
		--node-ip=$NODE_IP --node-labels=type=real,parak8s.dev/node=real --v=1
	C
	chmod +x "$n/launcher.sh"
}

# node_images builds the images the real node runs and imports them into containerd.
node_images() {
	local d=$STATE/images img
	mkdir -p "$d"
	(cd "$ROOT" && CGO_ENABLED=0 go build -o "$d/parac" ./cmd/parac) || die "building parac"
	"$d/parac" images server --binary "$(command -v catatonit)" --layout "$d/pause" --tag "${IMAGE_PAUSE##*:}" -- -P >/dev/null
	"$d/parac" images server --binary "$BIN/argoexec" --user 8737 --layout "$d/argoexec" --tag "${IMAGE_ARGOEXEC##*:}" >/dev/null
	"$d/parac" images server --binary "$SBIN/versitygw" --layout "$d/versitygw" --tag "${IMAGE_VERSITYGW##*:}" >/dev/null
	"$d/parac" images server --binary "$SBIN/registry" --layout "$d/registry" --tag "${IMAGE_REGISTRY##*:}" \
		--file "$ROOT/scripts/cluster/registry.yml:/etc/distribution/config.yml" --dir /var/lib/registry \
		-- serve /etc/distribution/config.yml >/dev/null
	for img in pause:$IMAGE_PAUSE argoexec:$IMAGE_ARGOEXEC versitygw:$IMAGE_VERSITYGW registry:$IMAGE_REGISTRY; do
		import_image "$d/${img%%:*}" "${img#*:}"
	done
	# PostgreSQL and MLflow from Debian's packages and PyPI, built once into the cache.
	local name layout ref
	while read -r name layout ref; do
		import_image "$layout" "$ref"
	done < <("$ROOT/scripts/cluster/platform-images.sh" "$d/parac" || die "building the platform images")
}

# import_image LAYOUT REF: import the OCI layout's image named REF's tag as REF.
import_image() {
	local layout=$1 ref=$2
	tar -C "$layout" -cf "$STATE/import.tar" . &&
		ctr -a "$CTR_SOCK" -n k8s.io images import --base-name "${ref%:*}" "$STATE/import.tar" >/dev/null ||
		die "importing $ref into containerd"
	rm -f "$STATE/import.tar"
}

# volumes: hostPath persistent volumes under the state dir that any claim (ReadWriteOnce or
# ReadWriteMany, no storage class) binds to; writable by the non-root steps and servers.
volumes() {
	local i f
	for i in $(seq 0 15); do
		mkdir -p "$STATE/volumes/pv-$i" && chmod 0777 "$STATE/volumes/pv-$i"
		f=$STATE/objects/pv-$i.yaml
		cat >"$f" <<-V
		apiVersion: v1
		kind: PersistentVolume
		metadata: {name: pv-$i, labels: {type: real}}
		spec:
		  capacity: {storage: 500Gi}
		  accessModes: [ReadWriteOnce, ReadWriteMany]
		  persistentVolumeReclaimPolicy: Retain
		  hostPath: {path: "$STATE/volumes/pv-$i", type: Directory}
		  nodeAffinity:
		    required: {nodeSelectorTerms: [{matchExpressions: [{key: kubernetes.io/hostname, operator: In, values: [$NODE]}]}]}
		V
		apply "/api/v1/persistentvolumes/pv-$i" "$f"
	done
}

node_ready() {
	kcurl "$API/api/v1/nodes/$NODE" | grep -A3 '"type": "Ready"' | grep -q '"status": "True"'
}

real_node() {
	node_config
	log "starting containerd and kubelet (logs $STATE/containerd.log, $STATE/kubelet.log)"
	nohup nsenter --net="/run/netns/$NETNS" unshare -m --propagation private "$NODE_STATE/launcher.sh" \
		>"$STATE/kubelet.log" 2>&1 </dev/null 9>&- &
	echo $! >"$STATE/kubelet.pid"
	wait_for containerd 30 test -S "$CTR_SOCK"
	node_images
	wait_for "node $NODE" 60 node_ready
	launch kube-proxy "$BIN/kube-proxy" --config "$NODE_STATE/kube-proxy.yaml"
	launch coredns "$SBIN/coredns" -conf "$NODE_STATE/Corefile"
	volumes
}

# stop_node kills every container of the real node (their shims outlive containerd), then
# containerd, and removes what kubelet and the shims leave on the host.
stop_node() {
	local f pid
	for f in /sys/fs/cgroup/*/kubepods; do
		[ -d "$f" ] || continue
		find "$f" -name cgroup.procs -exec cat {} + 2>/dev/null | xargs -r kill -9 2>/dev/null || true
	done
	pkill -9 -f "containerd-shim-runc-v2 .*-address $CTR_SOCK" 2>/dev/null || true
	if alive containerd; then
		pid=$(cat "$STATE/containerd.pid")
		kill "$pid" 2>/dev/null || true
		for ((i = 0; i < 50; i++)); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
		kill -9 "$pid" 2>/dev/null || true
	fi
	rm -f "$STATE/containerd.pid"
	sleep 0.5
	for f in /sys/fs/cgroup/*/kubepods; do
		[ -d "$f" ] && find "$f" -depth -type d -exec rmdir {} + 2>/dev/null || true
	done
	rm -rf /var/lib/kubelet/pki /var/lib/kubelet/device-plugins /usr/libexec/kubernetes \
		/run/containerd/fifo /run/containerd/runc /var/log/pods /var/log/containers
	rmdir /var/lib/kubelet /run/containerd 2>/dev/null || true
	[ -d "$NODE_STATE" ] && { umount -R "$NODE_STATE" 2>/dev/null || true; rm -rf "$NODE_STATE"; }
	rm -rf "$STATE/volumes" "$STATE/images"
}

start() {
	[ "$(id -u)" = 0 ] || die "the test cluster needs root (ip netns)"
	tools
	mkdir -p "$STATE"
	exec 9>"$STATE.lock"
	flock -w 600 9 || die "timed out waiting for $STATE.lock"
	if answers && alive workflow-controller && alive argo-server && alive kwok && alive e2e-outputs && alive kubelet && alive kube-proxy && alive coredns; then
		env_lines
		return 0
	fi
	stop_all
	"$ROOT/scripts/cluster/build.sh" >/dev/null
	local argo_ui # argo with the real web UI, built once (scripts/cluster/argo-ui.sh)
	argo_ui=$("$ROOT/scripts/cluster/argo-ui.sh") || die "building argo with its web UI (scripts/cluster/argo-ui.sh)"
	local t0=$SECONDS
	(cd "$ROOT" && CGO_ENABLED=0 go build -o "$STATE/e2e-outputs" ./e2e/outputs) || die "building e2e/outputs"
	ip netns add "$NETNS"
	ip -n "$NETNS" link set lo up
	network
	certs
	launch etcd "$BIN/etcd" --data-dir "$STATE/etcd" --listen-client-urls http://127.0.0.1:2379 \
		--advertise-client-urls http://127.0.0.1:2379 --listen-peer-urls http://127.0.0.1:2380 \
		--unsafe-no-fsync --max-request-bytes 10485760 --quota-backend-bytes 8589934592 --log-level warn
	local p=$STATE/pki
	# Pods of a namespace without its own node selector go to the kwok nodes.
	cat >"$STATE/admission.yaml" <<-A
	apiVersion: apiserver.config.k8s.io/v1
	kind: AdmissionConfiguration
	plugins:
	- name: PodNodeSelector
	  configuration:
	    podNodeSelectorPluginConfig: {clusterDefaultNodeSelector: type=kwok}
	A
	launch kube-apiserver "$BIN/kube-apiserver" --etcd-servers http://127.0.0.1:2379 \
		--bind-address 127.0.0.1 --advertise-address 127.0.0.1 --secure-port 6443 \
		--tls-cert-file "$p/apiserver.crt" --tls-private-key-file "$p/apiserver.key" --client-ca-file "$p/ca.crt" \
		--token-auth-file "$p/tokens.csv" --authorization-mode RBAC \
		--service-account-issuer https://kubernetes.default.svc --service-account-key-file "$p/sa.pub" \
		--service-account-signing-key-file "$p/sa.key" --service-cluster-ip-range 10.96.0.0/16 \
		--disable-admission-plugins TaintNodesByCondition --enable-admission-plugins PodNodeSelector \
		--admission-control-config-file "$STATE/admission.yaml" \
		--kubelet-preferred-address-types InternalIP,Hostname \
		--max-requests-inflight 800 --max-mutating-requests-inflight 400
	wait_for kube-apiserver 60 kcurl -m 2 -o /dev/null "$API/readyz"
	log "API server ready after $((SECONDS - t0))s"
	objects
	launch kube-scheduler "$BIN/kube-scheduler" --kubeconfig "$STATE/kubeconfig" --leader-elect=false \
		--secure-port 0 --kube-api-qps 200 --kube-api-burst 400
	launch kube-controller-manager "$BIN/kube-controller-manager" --kubeconfig "$STATE/kubeconfig" --leader-elect=false \
		--secure-port 0 --use-service-account-credentials=false --service-account-private-key-file "$p/sa.key" \
		--root-ca-file "$p/ca.crt" --kube-api-qps 200 --kube-api-burst 400 \
		--controllers endpoints-controller,endpointslice-controller,replicaset-controller,deployment-controller,statefulset-controller,serviceaccount-controller,serviceaccount-token-controller,root-ca-certificate-publisher-controller,persistentvolume-binder-controller,garbage-collector-controller,namespace-controller
	launch kwok "$BIN/kwok" --kubeconfig "$STATE/kubeconfig" --manage-all-nodes=false \
		--manage-nodes-with-annotation-selector kwok.x-k8s.io/node=fake --config "$ROOT/scripts/cluster/stages.yaml"
	real_node
	LEADER_ELECTION_DISABLE=true DEFAULT_REQUEUE_TIME=1s launch workflow-controller "$BIN/workflow-controller" \
		--kubeconfig "$STATE/kubeconfig" -n "$NAMESPACE" --executor-image "$IMAGE_ARGOEXEC" \
		--executor-image-pull-policy IfNotPresent --qps 200 --burst 400 --loglevel error
	launch e2e-outputs "$STATE/e2e-outputs" --kubeconfig "$STATE/kubeconfig" --namespace "$NAMESPACE"
	# argo server with the real web UI, no auth, plain HTTP
	launch argo-server "$argo_ui" server --kubeconfig "$STATE/kubeconfig" --namespaced --namespace "$NAMESPACE" \
		--auth-mode=server --secure=false --port 2746 --loglevel error
	wait_for "argo server" 60 ip netns exec "$NETNS" curl -sf -o /dev/null http://127.0.0.1:2746/api/v1/version
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
	stop_node
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
