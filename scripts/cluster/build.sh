#!/usr/bin/env bash
# Build the test cluster's binaries from the Go module proxy and cache them:
#
#   scripts/cluster/build.sh          build what is missing in $CLUSTER_CACHE/bin, print that dir
#   scripts/cluster/build.sh --force  rebuild all
#
# etcd, kube-apiserver, kube-scheduler, kwok, Argo's workflow-controller and the argo CLI, at
# the versions in versions.sh, each from a small wrapper module of its own under
# $CLUSTER_CACHE/src (Kubernetes needs its ~33 staging modules replaced by their v0.x tags;
# the Argo module is built from a copy of its source so that its own replace directives apply
# and the UI it embeds can be an empty page). Cold: about 12 min of builds on 2 cores plus the
# module downloads. Progress goes to stderr; only the bin dir goes to stdout.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
. "$here/versions.sh"
BIN="$CLUSTER_CACHE/bin"
SRC="$CLUSTER_CACHE/src"
export GOFLAGS=-mod=mod GOTOOLCHAIN="${GOTOOLCHAIN:-local}" CGO_ENABLED=0

log() { echo "cluster/build.sh: $*" >&2; }
die() { log "error: $*"; exit 1; }

have() { [ -x "$BIN/$1" ] && [ -z "${force:-}" ]; }

# wrapper DIR MODULE@VERSION [REPLACES]: a module in DIR that requires MODULE@VERSION.
wrapper() {
	local dir=$1 modver=$2 replaces=${3:-}
	rm -rf "$dir" && mkdir -p "$dir"
	printf 'module parak8s.dev/cluster-build\n\ngo 1.26\n\nrequire %s %s\n%s\n' \
		"${modver%@*}" "${modver#*@}" "$replaces" >"$dir/go.mod"
}

timed() { # timed NAME CMD...: run CMD, log its wall time
	local name=$1 t0=$SECONDS
	shift
	"$@" >&2 || die "building $name failed"
	log "$name ready after $((SECONDS - t0))s"
}

build_etcd() {
	have etcd && return 0
	wrapper "$SRC/etcd" "go.etcd.io/etcd/server/v3@$ETCD_VERSION"
	(cd "$SRC/etcd" && go get "go.etcd.io/etcd/server/v3@$ETCD_VERSION" &&
		go build -trimpath -ldflags "-s -w" -o "$BIN/etcd" go.etcd.io/etcd/server/v3)
}

build_kube() {
	have kube-apiserver && have kube-scheduler && return 0
	local gomod staging replaces minor=${KUBE_VERSION#v1.}
	# the staging modules, from k8s.io/kubernetes' own replace block
	gomod=$(cd /tmp && go mod download -json "k8s.io/kubernetes@$KUBE_VERSION" | sed -n 's/^\t"GoMod": "\(.*\)",$/\1/p')
	[ -f "$gomod" ] || die "downloading k8s.io/kubernetes@$KUBE_VERSION"
	staging=$(sed -n 's#^\s*\(k8s.io/[a-z0-9-]*\) => ./staging/.*#\1#p' "$gomod")
	[ "$(wc -w <<<"$staging")" -gt 20 ] || die "no staging replaces found in $gomod"
	replaces=$(for m in $staging; do echo "replace $m => $m v0.$minor"; done)
	wrapper "$SRC/kube" "k8s.io/kubernetes@$KUBE_VERSION" "$replaces"
	local v=k8s.io/component-base/version
	local ld="-s -w -X $v.gitVersion=$KUBE_VERSION -X $v.gitMajor=1 -X $v.gitMinor=${minor%%.*} -X k8s.io/client-go/pkg/version.gitVersion=$KUBE_VERSION"
	(cd "$SRC/kube" && go get "k8s.io/kubernetes/cmd/kube-apiserver@$KUBE_VERSION" "k8s.io/kubernetes/cmd/kube-scheduler@$KUBE_VERSION" &&
		go build -trimpath -ldflags "$ld" -o "$BIN/kube-apiserver" k8s.io/kubernetes/cmd/kube-apiserver &&
		go build -trimpath -ldflags "$ld" -o "$BIN/kube-scheduler" k8s.io/kubernetes/cmd/kube-scheduler)
}

build_kwok() {
	have kwok && return 0
	wrapper "$SRC/kwok" "sigs.k8s.io/kwok@$KWOK_VERSION"
	(cd "$SRC/kwok" && go get "sigs.k8s.io/kwok/cmd/kwok@$KWOK_VERSION" &&
		go build -trimpath -ldflags "-s -w" -o "$BIN/kwok" sigs.k8s.io/kwok/cmd/kwok)
}

build_argo() {
	have workflow-controller && have argo && [ -d "$CLUSTER_CACHE/crds" ] && return 0
	local dir
	dir=$(cd /tmp && go mod download -json "github.com/argoproj/argo-workflows/v3@$ARGO_VERSION" | sed -n 's/^\t"Dir": "\(.*\)",$/\1/p')
	[ -d "$dir" ] || die "downloading github.com/argoproj/argo-workflows/v3@$ARGO_VERSION"
	rm -rf "$SRC/argo" && mkdir -p "$SRC" && cp -r "$dir" "$SRC/argo" && chmod -R u+w "$SRC/argo"
	mkdir -p "$SRC/argo/ui/dist/app" && touch "$SRC/argo/ui/dist/app/index.html"
	local ld="-s -w -X github.com/argoproj/argo-workflows/v3.version=$ARGO_VERSION"
	(cd "$SRC/argo" && go build -trimpath -ldflags "$ld" -o "$BIN/workflow-controller" ./cmd/workflow-controller &&
		go build -trimpath -ldflags "$ld" -o "$BIN/argo" ./cmd/argo)
	# the full CRDs (with their OpenAPI schemas) as JSON, which scripts/cluster.sh applies
	rm -rf "$CLUSTER_CACHE/crds" && mkdir -p "$CLUSTER_CACHE/crds" &&
		cp "$SRC/argo/manifests/base/crds/full"/argoproj.io_*.yaml "$CLUSTER_CACHE/crds" &&
		(cd "$here/../.." && go run scripts/cluster/yaml2json.go "$CLUSTER_CACHE"/crds/*.yaml) &&
		rm -r "$CLUSTER_CACHE"/crds/*.yaml "$SRC/argo"
}

[ "${1:-}" = --force ] && force=1
command -v go >/dev/null || die "go is needed to build the cluster binaries"
mkdir -p "$BIN"
t0=$SECONDS
timed etcd build_etcd
timed kwok build_kwok
timed kube-apiserver+kube-scheduler build_kube
timed workflow-controller+argo build_argo
for b in $CLUSTER_BINARIES; do [ -x "$BIN/$b" ] || die "$BIN/$b missing after the build"; done
log "binaries ready in $((SECONDS - t0))s: $BIN"
echo "$BIN"
