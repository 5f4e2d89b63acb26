#!/usr/bin/env bash
# Build the platform's PostgreSQL and MLflow images without Docker, once per set of versions:
# a root file system from Debian's packages (mmdebstrap, installed when missing) and, for
# MLflow, the pinned wheels from PyPI (scripts/mlflow.sh pins, plus the PostgreSQL driver),
# packed by `parac images rootfs` into OCI layouts under $PARAK8S_CACHE/platform/KEY.
#
#   scripts/cluster/platform-images.sh PARAC     build what is missing; print "NAME LAYOUT REF" lines
#
# Root only (mmdebstrap --mode=root; the test cluster runs as root anyway). Cold: about 2 min
# for PostgreSQL and 3 min for MLflow on 2 cores; cached: nothing to do.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
# shellcheck source=versions.sh
. "$ROOT/scripts/cluster/versions.sh"
PARAC=${1:?usage: platform-images.sh PARAC}

log() { echo "platform-images.sh: $*" >&2; }
die() { log "error: $*"; exit 1; }

[ "$(id -u)" = 0 ] || die "run as root (mmdebstrap --mode=root)"
mkdir -p "$PLATFORM_CACHE"
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
exec 9>"$PLATFORM_CACHE/.lock"
flock 9
if ! command -v mmdebstrap >/dev/null; then
	log "installing mmdebstrap"
	DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y -q mmdebstrap >&2 ||
		{ apt-get -o DPkg::Lock::Timeout=600 update -q >&2 &&
			DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y -q mmdebstrap >&2; } ||
		die "could not install mmdebstrap"
fi

# rootfs DIR PACKAGES HOOK...: a minimal Debian (Essential packages and PACKAGES with their
# dependencies; no documentation), then each HOOK run with the tree as $1.
rootfs() {
	local dir=$1 packages=$2
	shift 2
	local hooks=()
	for h in "$@"; do hooks+=(--customize-hook="$h"); done
	SOURCE_DATE_EPOCH=0 mmdebstrap --quiet --mode=root --variant=essential --include="$packages" \
		--dpkgopt='path-exclude=/usr/share/man/*' --dpkgopt='path-exclude=/usr/share/doc/*' \
		--dpkgopt='path-exclude=/usr/share/locale/*' --dpkgopt='path-exclude=/usr/share/info/*' \
		--customize-hook='rm -rf "$1"/var/log/* "$1"/var/cache/* "$1"/var/lib/apt/lists/* "$1"/etc/machine-id' \
		--customize-hook="echo 'parak8s:x:65532:65532:parak8s:/tmp:/usr/sbin/nologin' >>\"\$1/etc/passwd\"" \
		--customize-hook="echo 'parak8s:x:65532:' >>\"\$1/etc/group\"" \
		"${hooks[@]}" "$DEBIAN_SUITE" "$dir" >&2
}

# pack NAME ROOTFS TAG ARGS...: the OCI layout of the tree, its digest kept next to it.
pack() {
	local name=$1 tree=$2 tag=$3 out
	shift 3
	rm -rf "${PLATFORM_CACHE:?}/$name.tmp"
	out=$("$PARAC" images rootfs --rootfs "$tree" --name "$name" --layout "$PLATFORM_CACHE/$name.tmp" --tag "$tag" "$@") ||
		die "packing the $name image"
	echo "${out##*$'\n'}" >"$PLATFORM_CACHE/$name.tmp/digest"
	rm -rf "${PLATFORM_CACHE:?}/$name"
	mv "$PLATFORM_CACHE/$name.tmp" "$PLATFORM_CACHE/$name"
}

postgres() {
	[ -s "$PLATFORM_CACHE/postgres/digest" ] && return 0
	local t0=$SECONDS tree=$WORK/postgres
	mkdir -p "$tree"
	log "building the PostgreSQL $POSTGRES_MAJOR image from Debian $DEBIAN_SUITE (first time only)"
	# The package's default cluster and configuration are not used: the pod runs initdb on
	# its own volume (platform/postgres.go).
	rootfs "$tree/root" "postgresql-$POSTGRES_MAJOR" \
		'rm -rf "$1"/var/lib/postgresql/* "$1"/etc/postgresql/*' ||
		die "mmdebstrap failed for postgresql-$POSTGRES_MAJOR"
	local ver
	ver=$(chroot "$tree/root" dpkg-query -W -f '${Version}' "postgresql-$POSTGRES_MAJOR")
	pack postgres "$tree/root" "$POSTGRES_MAJOR" --user 65532 --image-version "$ver" \
		--env "PATH=/usr/lib/postgresql/$POSTGRES_MAJOR/bin:/usr/sbin:/usr/bin:/sbin:/bin" --env LANG=C.UTF-8 -- postgres
	rm -rf "$tree"
	log "PostgreSQL $ver image in $((SECONDS - t0)) s"
}

mlflow() {
	[ -s "$PLATFORM_CACHE/mlflow/digest" ] && return 0
	local t0=$SECONDS tree=$WORK/mlflow
	mkdir -p "$tree"
	log "building the MLflow $MLFLOW_VERSION image from Debian $DEBIAN_SUITE and PyPI (first time only)"
	rootfs "$tree/root" python3 || die "mmdebstrap failed for python3"
	# The wheels for the image's Python (Debian's 3.11), installed from this machine into
	# /opt/mlflow; the console scripts pip writes name this machine's interpreter, so the
	# image gets its own.
	local py
	py=$(chroot "$tree/root" python3 -c 'import sys; print("%d%d" % sys.version_info[:2])')
	"$ROOT/scripts/mlflow.sh" pins >"$tree/requirements.txt"
	echo "$MLFLOW_POSTGRES_DRIVER" >>"$tree/requirements.txt"
	python3 -m pip install -q --disable-pip-version-check --no-compile --only-binary=:all: \
		--python-version "$py" --implementation cp --abi "cp$py" --platform manylinux2014_x86_64 \
		--platform manylinux_2_17_x86_64 --platform manylinux_2_28_x86_64 --platform linux_x86_64 \
		--target "$tree/root/opt/mlflow" -r "$tree/requirements.txt" >&2 ||
		die "pip install of mlflow==$MLFLOW_VERSION failed"
	rm -rf "$tree/root/opt/mlflow/bin"
	for cmd in mlflow gunicorn; do
		printf '#!/bin/sh\nexec python3 -m %s "$@"\n' "$cmd" >"$tree/root/usr/local/bin/$cmd"
		chmod 0755 "$tree/root/usr/local/bin/$cmd"
	done
	pack mlflow "$tree/root" "$MLFLOW_VERSION" --user 65532 --image-version "$MLFLOW_VERSION" \
		--env PYTHONPATH=/opt/mlflow --env PYTHONDONTWRITEBYTECODE=1 --env HOME=/tmp --env LANG=C.UTF-8 -- mlflow server
	rm -rf "$tree"
	log "MLflow $MLFLOW_VERSION image in $((SECONDS - t0)) s"
}

postgres
mlflow
for name in postgres mlflow; do
	tag=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["manifests"][0]["annotations"]["org.opencontainers.image.ref.name"])' \
		"$PLATFORM_CACHE/$name/index.json")
	echo "$name $PLATFORM_CACHE/$name parak8s.local/$name:$tag"
done
