#!/usr/bin/env bash
# The argo CLI with Argo Workflows' real web UI embedded, so that `argo server` serves it (the
# cluster's own argo, scripts/cluster/build.sh, embeds an empty page). Built once per version
# into $PARAK8S_CACHE/argo-ui/$ARGO_VERSION/argo; prints that path.
#
#   scripts/cluster/argo-ui.sh            build when missing (cached: < 1 s), print the path
#   scripts/cluster/argo-ui.sh --force    build again
#
# The build: the github.com/argoproj/argo-workflows/v3@$ARGO_VERSION module from the Go module
# proxy; its ui/ built with yarn 1.22.22 (from the npm registry) and the npm registry's
# packages (yarn.lock, frozen), then `go build ./cmd/argo`, which embeds ui/dist/app. The UI's
# one git dependency (argoproj/argo-ui at ARGO_UI_COMMIT) is taken from shared/vendor (the
# nearest parent folder that has it, or $ARGO_UI_TAR) when there, its sha256 checked; else
# from GitHub as upstream does. Needs node >= 20 and about 3 GB of memory and 2 GB of disk.
# yarn's download cache stays in $PARAK8S_CACHE/yarn (about 0.9 GB). Measured on 2 cores shared
# with other builds (load 20): cold 67 min (yarn install 4.4, yarn build 15.4, go build 45);
# about 8 min on idle cores; cached < 1 s. The binary is 144 MB (UI 32 MB).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/versions.sh"
ARGO_UI_COMMIT=54f36c723d9a0e5d3386689298cbb9c27767fa00
ARGO_UI_SHA256=ac816d09262e0476f0c7d4f39dd4589aabd5566ca34cc7dfc7a1f8d588b53904
YARN_VERSION=1.22.22
ROOT="${PARAK8S_CACHE:-$HOME/.cache/parak8s}"
OUT="$ROOT/argo-ui/$ARGO_VERSION"
BIN="$OUT/argo"
die() { echo "argo-ui.sh: $*" >&2; exit 1; }

if [ -x "$BIN" ] && [ "${1:-}" != --force ]; then echo "$BIN"; exit 0; fi

command -v node >/dev/null || die "node (>= 20) is needed to build the UI: apt-get install nodejs npm"
major=$(node -p 'process.versions.node.split(".")[0]')
[ "$major" -ge 20 ] || die "node $(node --version) is too old: the UI needs >= 20"

tar="${ARGO_UI_TAR:-}"
if [ -z "$tar" ]; then
	d=$(cd "$here/../.." && pwd)
	while [ "$d" != / ]; do
		d=$(dirname "$d")
		[ -f "$d/shared/vendor/argo-ui-${ARGO_UI_COMMIT:0:7}.tar" ] && { tar="$d/shared/vendor/argo-ui-${ARGO_UI_COMMIT:0:7}.tar"; break; }
	done
fi
if [ -n "$tar" ]; then
	echo "$ARGO_UI_SHA256  $tar" | sha256sum -c --quiet - || die "$tar: sha256 is not $ARGO_UI_SHA256"
fi

mkdir -p "$OUT"
work=$(mktemp -d "$OUT/build.XXXXXX")
trap 'rm -rf "$work"' EXIT
t0=$(date +%s)
phase() { echo "argo-ui.sh: $1 after $(( $(date +%s) - t0 ))s" >&2; }

src=$(cd /tmp && go mod download -json "github.com/argoproj/argo-workflows/v3@$ARGO_VERSION" | sed -n 's/^\t"Dir": "\(.*\)",$/\1/p')
[ -d "$src" ] || die "downloading github.com/argoproj/argo-workflows/v3@$ARGO_VERSION"
cp -r "$src" "$work/argo" && chmod -R u+w "$work/argo"
# upstream's signal_linux.go is a symlink, which module zips leave out (as build.sh does)
osdir="$work/argo/workflow/executor/osspecific"
[ -f "$osdir/signal_linux.go" ] || cp "$osdir/signal_darwin.go" "$osdir/signal_linux.go"

cd "$work/argo/ui"
if [ -n "$tar" ]; then
	mkdir -p vendor/argo-ui && tar -xf "$tar" -C vendor/argo-ui
	git_dep="git+https://github.com/argoproj/argo-ui.git#$ARGO_UI_COMMIT"
	grep -q "\"$git_dep\"" package.json || die "ui/package.json does not depend on argo-ui at $ARGO_UI_COMMIT"
	sed -i "s|\"$git_dep\"|\"file:./vendor/argo-ui\"|" package.json
	sed -i "s|^\"argo-ui@$git_dep\":|\"argo-ui@file:./vendor/argo-ui\":|; \|^  resolved \"$git_dep\"|d" yarn.lock
fi
yarn="$ROOT/tools/yarn-$YARN_VERSION/node_modules/.bin/yarn"
[ -x "$yarn" ] || npm install --silent --no-audit --no-fund --prefix "$ROOT/tools/yarn-$YARN_VERSION" "yarn@$YARN_VERSION" >&2
export YARN_CACHE_FOLDER="$ROOT/yarn"
"$yarn" install --frozen-lockfile --non-interactive --network-timeout 600000 >&2
phase "yarn install"
NODE_OPTIONS=--max-old-space-size=4096 "$yarn" build >&2
[ -f dist/app/index.html ] || die "yarn build wrote no ui/dist/app/index.html"
phase "yarn build (ui/dist/app $(du -sh dist/app | cut -f1))"

cd "$work/argo"
go build -trimpath -ldflags "-s -w -X github.com/argoproj/argo-workflows/v3.version=$ARGO_VERSION" -o "$work/argo.bin" ./cmd/argo
phase "go build ./cmd/argo"
mv "$work/argo.bin" "$BIN"
echo "$BIN"
