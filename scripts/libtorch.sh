#!/usr/bin/env bash
# Install libtorch 2.1.2 (CPU use) for gotch v0.9.1 into a cache dir outside the repo.
#
#   scripts/libtorch.sh            install if missing (idempotent; < 1 s when installed)
#   scripts/libtorch.sh --force    reinstall
#   scripts/libtorch.sh --print    print the install dir and exit
#
# Environment:
#   PARAK8S_CACHE          cache root (default $HOME/.cache/parak8s)
#   LIBTORCH               install dir (default $PARAK8S_CACHE/libtorch-2.1.2)
#   PARAK8S_WHEEL_DIR      directory with already-downloaded wheels (offline install); wheels
#                          found there are used after their sha256 is checked
#   PARAK8S_KEEP_WHEELS=1  keep the downloaded wheels in $PARAK8S_CACHE/wheels (670 MB)
#
# Source of the bits: the PyPI wheel torch==2.1.2 cp311 manylinux1_x86_64 (the CUDA 12.1 build;
# download.pytorch.org, which hosts the +cpu build, is often unreachable). Only what a CPU
# program needs is extracted:
#   lib/libc10.so lib/libtorch_cpu.so lib/libtorch.so lib/libgomp-a34b3233.so.1  (torch wheel)
#   lib/libcudart.so.12   (nvidia-cuda-runtime-cu12==12.1.105; NEEDED by libtorch_cpu.so)
#   lib/libcupti.so.12    (nvidia-cuda-cupti-cu12==12.1.105;   NEEDED by libtorch_cpu.so, kineto)
#   include/              (torch/include)
#   stubs/                empty link-time-only libraries for gotch's hard-coded CUDA -l flags;
#                         never on any rpath, and dropped from the binary by -Wl,--as-needed.
# libtorch_cuda.so (739 MB), libtorch_cuda_linalg.so, libc10_cuda.so, libnvfuser_codegen.so,
# libtorch_python.so, libshm.so, libcaffe2_nvrtc.so, libtorch_global_deps.so are not extracted.
# libcudart/libcupti are the real NVIDIA libraries: without a driver they only report
# "no device"; they are loaded because the CUDA build of libtorch_cpu.so links them.
set -euo pipefail

TORCH_VERSION=2.1.2
LAYOUT=1   # bump when the extracted layout changes; forces a reinstall

# The wheels, pinned with their sha256 in scripts/torch-wheels.sh (shared with torch-venv.sh).
. "$(dirname "$0")/torch-wheels.sh"
mapfile -t WHEELS < <(torch_wheels torch nvidia-cuda-runtime-cu12 nvidia-cuda-cupti-cu12)
[[ ${#WHEELS[@]} == 3 ]] || { echo "libtorch.sh: scripts/torch-wheels.sh lacks a wheel" >&2; exit 1; }
# Libraries named by gotch v0.9.1 libtch/lib.go that the extracted set lacks (link-time stubs).
STUBS=(cuda cudart cublas cudnn caffe2_nvrtc nvrtc-builtins nvrtc nvToolsExt c10_cuda torch_cuda)
TORCH_LIBS=(libc10.so libtorch_cpu.so libtorch.so libgomp-a34b3233.so.1)

CACHE="${PARAK8S_CACHE:-$HOME/.cache/parak8s}"
DEST="${LIBTORCH:-$CACHE/libtorch-$TORCH_VERSION}"
MARKER="$DEST/.parak8s-libtorch"

expected_marker() {
  echo "layout=$LAYOUT"
  local w
  for w in "${WHEELS[@]}"; do
    IFS='|' read -r _ _ file sha _ <<<"$w"
    echo "$file sha256=$sha"
  done
}

force=0
case "${1:-}" in
  --force) force=1 ;;
  --print) echo "$DEST"; exit 0 ;;
  "") ;;
  -h|--help) sed -n '2,30p' "$0"; exit 0 ;;
  *) echo "libtorch.sh: unknown argument ${1}" >&2; exit 2 ;;
esac

# Fast path: marker matches and the files are there. No hashing, no subprocesses beyond test.
if [[ $force == 0 && -f "$MARKER" && "$(<"$MARKER")" == "$(expected_marker)" \
      && -f "$DEST/lib/libtorch_cpu.so" && -f "$DEST/include/torch/csrc/api/include/torch/torch.h" \
      && -f "$DEST/stubs/libtorch_cuda.so" ]]; then
  exit 0
fi

log() { echo "libtorch.sh: $*" >&2; }
die() { log "error: $*"; exit 1; }

[[ "$(uname -s)/$(uname -m)" == "Linux/x86_64" ]] || die "only linux/x86_64 is supported (got $(uname -s)/$(uname -m))"
if ! command -v unzip >/dev/null && [[ $(id -u) == 0 ]] && command -v apt-get >/dev/null; then
  log "installing unzip with apt-get"
  DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y -q unzip >&2 \
    || { apt-get -o DPkg::Lock::Timeout=600 update -q >&2 && DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y -q unzip >&2; } || true
fi
command -v unzip >/dev/null || die "unzip is required (apt-get install unzip)"
command -v sha256sum >/dev/null || die "sha256sum is required"
CC_BIN="${CC:-cc}"
command -v "$CC_BIN" >/dev/null || CC_BIN=gcc
command -v "$CC_BIN" >/dev/null || die "a C compiler (cc/gcc) is required to build the link stubs"

mkdir -p "$CACHE"
# Serialise concurrent installs (parallel make, several checkouts sharing one cache).
if command -v flock >/dev/null; then
  exec 9>"$CACHE/.libtorch-$TORCH_VERSION.lock"
  flock 9
  if [[ $force == 0 && -f "$MARKER" && "$(<"$MARKER")" == "$(expected_marker)" ]]; then
    exit 0  # another process finished the install while we waited
  fi
fi
WORK="$(mktemp -d "$CACHE/.libtorch-tmp.XXXXXX")"
trap 'rm -rf "$WORK"' EXIT
WHEEL_DIR="$CACHE/wheels"
[[ "${PARAK8S_KEEP_WHEELS:-0}" == 1 ]] || WHEEL_DIR="$WORK/wheels"
mkdir -p "$WHEEL_DIR"

# fetch NAME VERSION FILE SHA URL -> prints the verified wheel path
fetch() {
  local name=$1 version=$2 file=$3 sha=$4 url=$5 cand
  for cand in "${PARAK8S_WHEEL_DIR:+$PARAK8S_WHEEL_DIR/$file}" "$CACHE/wheels/$file" "$WHEEL_DIR/$file"; do
    [[ -n "$cand" && -f "$cand" ]] || continue
    if echo "$sha  $cand" | sha256sum -c --status -; then echo "$cand"; return 0; fi
    log "ignoring $cand: sha256 mismatch"
  done
  log "downloading $file"
  local out="$WHEEL_DIR/$file"
  rm -f "$out"
  if command -v pip >/dev/null || command -v pip3 >/dev/null; then
    local pip; pip="$(command -v pip || command -v pip3)"
    # --platform/--python-version make this work whatever the local Python is.
    "$pip" download --quiet --no-deps --only-binary=:all: --platform manylinux1_x86_64 \
      --python-version 3.11 --implementation cp "$name==$version" -d "$WHEEL_DIR" >&2 || true
  fi
  if [[ ! -f "$out" ]]; then
    command -v curl >/dev/null || die "could not download $file (no pip result, no curl)"
    curl -fL --retry 3 -o "$out.part" "$url" >&2 && mv "$out.part" "$out" || die "download of $url failed"
  fi
  echo "$sha  $out" | sha256sum -c --status - || die "sha256 mismatch for $file: got $(sha256sum "$out" | cut -d' ' -f1), want $sha"
  echo "$out"
}

declare -A PATHS
for w in "${WHEELS[@]}"; do
  IFS='|' read -r name version file sha url <<<"$w"
  PATHS[$name]="$(fetch "$name" "$version" "$file" "$sha" "$url")"
done

STAGE="$WORK/stage"
mkdir -p "$STAGE/lib" "$STAGE/stubs" "$STAGE/x"
log "extracting torch/include and the CPU libraries"
unzip -q "${PATHS[torch]}" 'torch/include/*' $(printf 'torch/lib/%s ' "${TORCH_LIBS[@]}") -d "$STAGE/x"
mv "$STAGE/x/torch/include" "$STAGE/include"
for l in "${TORCH_LIBS[@]}"; do mv "$STAGE/x/torch/lib/$l" "$STAGE/lib/"; done
unzip -q -j "${PATHS[nvidia-cuda-runtime-cu12]}" 'nvidia/cuda_runtime/lib/libcudart.so.12' -d "$STAGE/lib"
unzip -q -j "${PATHS[nvidia-cuda-cupti-cu12]}" 'nvidia/cuda_cupti/lib/libcupti.so.12' -d "$STAGE/lib"
rm -rf "$STAGE/x"
chmod 0755 "$STAGE/lib/"*

log "building link stubs"
for s in "${STUBS[@]}"; do
  "$CC_BIN" -shared -nostdlib -o "$STAGE/stubs/lib$s.so" -Wl,-soname,"lib$s.so.parak8s-stub" -x c /dev/null
done
cat > "$STAGE/stubs/README" <<'TXT'
Empty shared libraries that exist only so that gotch v0.9.1's hard-coded
"-lcuda -lcudart ... -ltorch_cuda" link flags resolve on a CPU machine. They
export no symbols, so -Wl,--as-needed never records them as NEEDED; this
directory must never be on an rpath or LD_LIBRARY_PATH.
TXT

# Sanity: every NEEDED entry of the CPU libraries resolves inside lib/ or the system.
for l in libc10.so libtorch_cpu.so; do
  missing="$(cd "$STAGE/lib" && LD_LIBRARY_PATH= ldd "./$l" | grep 'not found' || true)"
  [[ -z "$missing" ]] || die "$l has unresolved dependencies: $missing"
done

expected_marker > "$STAGE/.parak8s-libtorch"
rm -rf "$DEST.old"
[[ -e "$DEST" ]] && mv "$DEST" "$DEST.old"
mv "$STAGE" "$DEST"
rm -rf "$DEST.old"
log "installed libtorch $TORCH_VERSION in $DEST ($(du -sh "$DEST" | cut -f1))"
