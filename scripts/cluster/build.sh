#!/usr/bin/env bash
# Build the test cluster's binaries from the Go module proxy and cache them:
#
#   scripts/cluster/build.sh          build what is missing, print $CLUSTER_CACHE/bin
#   scripts/cluster/build.sh --force  rebuild all
#
# Into $CLUSTER_CACHE/bin: etcd, kube-apiserver, kube-scheduler, kube-controller-manager,
# kubelet, kube-proxy, kwok, Argo's workflow-controller, the argo CLI and argoexec (Argo's
# executor). Into $SERVERS_CACHE/bin: versitygw (the S3 store), distribution's registry and
# CoreDNS (only the plugins the cluster uses: scripts/cluster/coredns.go). All at the
# versions in versions.sh, each from a small wrapper module of its own under .../src
# (Kubernetes needs its ~33 staging modules replaced by their v0.x tags; the Argo module is
# built from a copy of its source so that its own replace directives apply, the UI it embeds
# can be an empty page, and argoexec's signal_linux.go exists: upstream it is a symlink, which
# module zips drop). Cold: about 25 min of builds on 2 cores plus the module downloads.
# Progress goes to stderr; only the bin dir goes to stdout.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
. "$here/versions.sh"
BIN="$CLUSTER_CACHE/bin"
SRC="$CLUSTER_CACHE/src"
SBIN="$SERVERS_CACHE/bin"
export GOFLAGS=-mod=mod GOTOOLCHAIN="${GOTOOLCHAIN:-local}" CGO_ENABLED=0

log() { echo "cluster/build.sh: $*" >&2; }
die() { log "error: $*"; exit 1; }

have() { [ -x "$BIN/$1" ] && [ -z "${force:-}" ]; }
shave() { [ -x "$SBIN/$1" ] && [ -z "${force:-}" ]; }

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
	local c missing=
	for c in kube-apiserver kube-scheduler kube-controller-manager kubelet kube-proxy; do have $c || missing="$missing $c"; done
	[ -n "$missing" ] || return 0
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
	(cd "$SRC/kube" && go get $(for c in $missing; do echo "k8s.io/kubernetes/cmd/$c@$KUBE_VERSION"; done) &&
		for c in $missing; do
			t0=$SECONDS
			go build -trimpath -ldflags "$ld" -o "$BIN/$c" "k8s.io/kubernetes/cmd/$c" || exit 1
			log "$c built in $((SECONDS - t0))s"
		done)
}

build_kwok() {
	have kwok && return 0
	wrapper "$SRC/kwok" "sigs.k8s.io/kwok@$KWOK_VERSION"
	(cd "$SRC/kwok" && go get "sigs.k8s.io/kwok/cmd/kwok@$KWOK_VERSION" &&
		go build -trimpath -ldflags "-s -w" -o "$BIN/kwok" sigs.k8s.io/kwok/cmd/kwok)
}

build_argo() {
	have workflow-controller && have argo && have argoexec && [ -d "$CLUSTER_CACHE/crds" ] && return 0
	local dir
	dir=$(cd /tmp && go mod download -json "github.com/argoproj/argo-workflows/v3@$ARGO_VERSION" | sed -n 's/^\t"Dir": "\(.*\)",$/\1/p')
	[ -d "$dir" ] || die "downloading github.com/argoproj/argo-workflows/v3@$ARGO_VERSION"
	rm -rf "$SRC/argo" && mkdir -p "$SRC" && cp -r "$dir" "$SRC/argo" && chmod -R u+w "$SRC/argo"
	mkdir -p "$SRC/argo/ui/dist/app" && touch "$SRC/argo/ui/dist/app/index.html"
	local osdir="$SRC/argo/workflow/executor/osspecific"
	[ -f "$osdir/signal_linux.go" ] || cp "$osdir/signal_darwin.go" "$osdir/signal_linux.go"
	local ld="-s -w -X github.com/argoproj/argo-workflows/v3.version=$ARGO_VERSION"
	local c
	for c in workflow-controller argo argoexec; do
		have $c || (cd "$SRC/argo" && go build -trimpath -ldflags "$ld" -o "$BIN/$c" ./cmd/$c) || return 1
	done
	# the full CRDs (with their OpenAPI schemas) as JSON, which scripts/cluster.sh applies
	rm -rf "$CLUSTER_CACHE/crds" && mkdir -p "$CLUSTER_CACHE/crds" &&
		cp "$SRC/argo/manifests/base/crds/full"/argoproj.io_*.yaml "$CLUSTER_CACHE/crds" &&
		(cd "$here/../.." && go run scripts/cluster/yaml2json.go "$CLUSTER_CACHE"/crds/*.yaml) &&
		rm -r "$CLUSTER_CACHE"/crds/*.yaml "$SRC/argo"
}

build_versitygw() {
	shave versitygw && return 0
	wrapper "$SERVERS_CACHE/src/versitygw" "github.com/versity/versitygw@$VERSITYGW_VERSION"
	(cd "$SERVERS_CACHE/src/versitygw" && go get "github.com/versity/versitygw/cmd/versitygw@$VERSITYGW_VERSION" &&
		go build -trimpath -ldflags "-s -w" -o "$SBIN/versitygw" github.com/versity/versitygw/cmd/versitygw)
}

build_registry() {
	shave registry && return 0
	wrapper "$SERVERS_CACHE/src/registry" "github.com/distribution/distribution/v3@$DISTRIBUTION_VERSION"
	(cd "$SERVERS_CACHE/src/registry" && go get "github.com/distribution/distribution/v3/cmd/registry@$DISTRIBUTION_VERSION" &&
		go build -trimpath -ldflags "-s -w" -o "$SBIN/registry" github.com/distribution/distribution/v3/cmd/registry)
}

build_coredns() {
	shave coredns && return 0
	local dir="$SERVERS_CACHE/src/coredns"
	wrapper "$dir" "github.com/coredns/coredns@$COREDNS_VERSION"
	cp "$here/coredns.go" "$dir/main.go" && sed -i '/^\/\/go:build ignore/d' "$dir/main.go"
	(cd "$dir" && go get "github.com/coredns/coredns@$COREDNS_VERSION" && go mod tidy &&
		go build -trimpath -ldflags "-s -w" -o "$SBIN/coredns" .)
}

[ "${1:-}" = --force ] && force=1
command -v go >/dev/null || die "go is needed to build the cluster binaries"
mkdir -p "$BIN" "$SBIN"
t0=$SECONDS
timed etcd build_etcd
timed kwok build_kwok
timed kubernetes build_kube
timed argo build_argo
timed versitygw build_versitygw
timed registry build_registry
timed coredns build_coredns
for b in $CLUSTER_BINARIES; do [ -x "$BIN/$b" ] || die "$BIN/$b missing after the build"; done
for b in $SERVERS_BINARIES; do [ -x "$SBIN/$b" ] || die "$SBIN/$b missing after the build"; done
log "binaries ready in $((SECONDS - t0))s: $BIN $SBIN"
echo "$BIN"
