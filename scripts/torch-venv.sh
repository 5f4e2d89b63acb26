#!/usr/bin/env bash
# A Python venv with PyTorch 2.1.2 for CPU use: the peer side of `make bench-train`
# (bench/train/pytorch.py), on the same torch wheel that scripts/libtorch.sh unpacks for gotch,
# so both sides run the same libtorch build.
#
#   scripts/torch-venv.sh            create if missing (idempotent; < 1 s when there); prints
#                                    the venv's python
#   scripts/torch-venv.sh --force    recreate
#   scripts/torch-venv.sh --print    print the python path and exit
#   scripts/torch-venv.sh --keras    the same for a second venv with Keras 3 on TensorFlow (CPU),
#                                    pinned below (PARAK8S_KERAS_VENV, default
#                                    $PARAK8S_CACHE/keras-venv; 1.6 GB, ~320 MB of wheels);
#                                    --keras --force / --keras --print work alike
#
# Environment (same meaning as in scripts/libtorch.sh):
#   PARAK8S_CACHE          cache root (default $HOME/.cache/parak8s)
#   PARAK8S_TORCH_VENV     venv dir (default $PARAK8S_CACHE/torch-venv)
#   PARAK8S_WHEEL_DIR      directory with already-downloaded wheels (used after a sha256 check)
#   PARAK8S_KEEP_WHEELS=1  keep downloaded wheels in $PARAK8S_CACHE/wheels (where libtorch.sh
#                          looks too); $PARAK8S_CACHE/wheels is always searched first
#   PYTHON                 a Python 3.11 interpreter (the wheel is cp311); default python3.11
#                          or python3
#
# What gets installed, all with pip --no-deps:
#   torch 2.1.2 cp311 manylinux1 (the PyPI CUDA 12.1 build, the same file as libtorch.sh's)
#   nvidia-cuda-runtime-cu12, nvidia-cuda-cupti-cu12, nvidia-nvtx-cu12 (small, real libraries)
#   torch's pure-Python dependencies, pinned (sympy, mpmath, networkx, jinja2, markupsafe,
#   filelock, fsspec, typing-extensions) and numpy 1.26 (torch 2.1 is built against numpy 1.x)
# The wheel's libtorch_cuda.so also NEEDs cuBLAS, cuDNN, cuFFT, cuRAND, cuSPARSE, cuSOLVER, NCCL
# and NVRTC: about 2 GB of wheels that a CPU run never calls. In their place go link stubs,
# generated here from the symbols torch's libraries import from each (with the version nodes
# the references carry), into site-packages/nvidia/<pkg>/lib where torch's RPATH looks. Every
# stub function is empty: this venv is for CPU work only (torch.cuda must not be used with it).
set -euo pipefail

TORCH_VERSION=2.1.2
LAYOUT=1   # bump when what is installed changes; forces a rebuild

# The wheels, pinned with their sha256 in scripts/torch-wheels.sh (the same files as libtorch.sh's).
. "$(dirname "$0")/torch-wheels.sh"
WHEELS=("${TORCH_WHEELS[@]}")
# Pure-Python dependencies of torch 2.1.2 (versions of its release time) and numpy.
PY_DEPS=(sympy==1.12 mpmath==1.3.0 networkx==3.2.1 jinja2==3.1.2 markupsafe==2.1.3
  filelock==3.13.1 fsspec==2023.12.2 typing-extensions==4.9.0 numpy==1.26.4)
# Stubbed libraries: soname|site-packages/nvidia folder|prefix of their unversioned symbols
STUBS=(
  "libcublas.so.12|cublas|"
  "libcublasLt.so.12|cublas|"
  "libcudnn.so.8|cudnn|"
  "libcufft.so.11|cufft|"
  "libcurand.so.10|curand|curand"
  "libcusparse.so.12|cusparse|"
  "libcusolver.so.11|cusolver|"
  "libnccl.so.2|nccl|nccl"
  "libnvrtc.so.12|cuda_nvrtc|"
)

# Keras/TensorFlow venv (--keras): every package pinned, installed with --no-deps (the set pip
# resolved for tensorflow-cpu 2.21.0 on CPython 3.11).
KERAS_PKGS=(tensorflow-cpu==2.21.0 keras==3.15.1 absl-py==2.5.1 astunparse==1.6.3
  certifi==2026.10.19.post1 charset-normalizer==3.5.3 flatbuffers==25.12.19 gast==0.7.0
  google-pasta==0.2.0 grpcio==1.85.3 h5py==3.14.0 idna==3.20 libclang==18.1.1
  markdown-it-py==4.3.0 mdurl==0.1.2 ml-dtypes==0.6.0 namex==0.1.0 numpy==2.4.6
  opt-einsum==3.4.0 optree==0.20.0 packaging==26.4 protobuf==7.36.2 pygments==2.21.0
  requests==2.34.2 rich==15.0.0 six==1.17.0 termcolor==3.3.0 typing-extensions==4.16.0
  urllib3==2.8.0 wrapt==2.5.2)

CACHE="${PARAK8S_CACHE:-$HOME/.cache/parak8s}"
VENV="${PARAK8S_TORCH_VENV:-$CACHE/torch-venv}"
PY="$VENV/bin/python"
MARKER="$VENV/.parak8s-torch-venv"

keras=0
if [[ "${1:-}" == --keras ]]; then
  keras=1
  shift
  VENV="${PARAK8S_KERAS_VENV:-$CACHE/keras-venv}"
  PY="$VENV/bin/python"
  MARKER="$VENV/.parak8s-keras-venv"
fi

expected_marker() {
  if [[ $keras == 1 ]]; then echo "layout=$LAYOUT ${KERAS_PKGS[*]}"; return; fi
  echo "layout=$LAYOUT"
  local w
  for w in "${WHEELS[@]}"; do
    IFS='|' read -r _ _ file sha _ <<<"$w"
    echo "$file sha256=$sha"
  done
  echo "${PY_DEPS[*]}"
}

force=0
case "${1:-}" in
  --force) force=1 ;;
  --print) echo "$PY"; exit 0 ;;
  "") ;;
  -h|--help) sed -n '2,34p' "$0"; exit 0 ;;
  *) echo "torch-venv.sh: unknown argument ${1}" >&2; exit 2 ;;
esac

ready() { [[ -f "$MARKER" && "$(<"$MARKER")" == "$(expected_marker)" && -x "$PY" ]]; }
if [[ $force == 0 ]] && ready; then
  echo "$PY"
  exit 0
fi

log() { echo "torch-venv.sh: $*" >&2; }
die() { log "error: $*"; exit 1; }

[[ "$(uname -s)/$(uname -m)" == "Linux/x86_64" ]] || die "only linux/x86_64 is supported"
command -v sha256sum >/dev/null || die "sha256sum is required"
command -v readelf >/dev/null || die "readelf is required (apt-get install binutils)"
CC_BIN="${CC:-cc}"
command -v "$CC_BIN" >/dev/null || CC_BIN=gcc
command -v "$CC_BIN" >/dev/null || die "a C compiler (cc/gcc) is required to build the link stubs"
PYTHON_BIN="${PYTHON:-}"
if [[ -z "$PYTHON_BIN" ]]; then
  PYTHON_BIN="$(command -v python3.11 || command -v python3 || true)"
fi
[[ -n "$PYTHON_BIN" ]] || die "no python3 found (set PYTHON to a Python 3.11)"
pyver="$("$PYTHON_BIN" -c 'import sys; print("%d.%d" % sys.version_info[:2])')"
[[ "$pyver" == 3.11 ]] || die "$PYTHON_BIN is Python $pyver; the torch $TORCH_VERSION wheel used here is cp311 (set PYTHON)"

mkdir -p "$CACHE"
if command -v flock >/dev/null; then
  exec 9>"$CACHE/.torch-venv.lock"
  flock 9
  if [[ $force == 0 ]] && ready; then echo "$PY"; exit 0; fi
fi
WORK="$(mktemp -d "$CACHE/.torch-venv-tmp.XXXXXX")"
trap 'rm -rf "$WORK"' EXIT

if [[ $keras == 1 ]]; then
  log "creating $VENV (Keras/TensorFlow)"
  rm -rf "$VENV"
  "$PYTHON_BIN" -m venv "$VENV"
  findlinks=()
  [[ -n "${PARAK8S_WHEEL_DIR:-}" ]] && findlinks=(--find-links "$PARAK8S_WHEEL_DIR")
  "$PY" -m pip install --quiet --disable-pip-version-check --no-deps --only-binary=:all: \
    "${findlinks[@]}" "${KERAS_PKGS[@]}" >&2 || die "pip install of the Keras/TensorFlow set failed"
  "$PY" - >&2 <<'PY' || die "TensorFlow does not run here"
import os
os.environ["TF_CPP_MIN_LOG_LEVEL"] = "2"
import numpy as np, tensorflow as tf, keras
m = keras.Sequential([keras.Input((32, 1)), keras.layers.Conv1D(4, 5), keras.layers.GlobalAveragePooling1D(), keras.layers.Dense(2)])
m.compile(optimizer="adam", loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
m.train_on_batch(np.zeros((8, 32, 1), np.float32), np.zeros(8, np.int64))
print("tensorflow", tf.__version__, "keras", keras.__version__, "ok")
PY
  expected_marker > "$MARKER"
  log "ready: $PY ($(du -sh "$VENV" | cut -f1))"
  echo "$PY"
  exit 0
fi
WHEEL_DIR="$CACHE/wheels"
[[ "${PARAK8S_KEEP_WHEELS:-0}" == 1 ]] || WHEEL_DIR="$WORK/wheels"
mkdir -p "$WHEEL_DIR"

# fetch NAME VERSION FILE SHA -> prints the verified wheel path
fetch() {
  local name=$1 version=$2 file=$3 sha=$4 cand
  for cand in "${PARAK8S_WHEEL_DIR:+$PARAK8S_WHEEL_DIR/$file}" "$CACHE/wheels/$file" "$WHEEL_DIR/$file"; do
    [[ -n "$cand" && -f "$cand" ]] || continue
    if echo "$sha  $cand" | sha256sum -c --status -; then echo "$cand"; return 0; fi
    log "ignoring $cand: sha256 mismatch"
  done
  log "downloading $file"
  "$PYTHON_BIN" -m pip download --quiet --no-deps --only-binary=:all: --platform manylinux1_x86_64 \
    --python-version 3.11 --implementation cp "$name==$version" -d "$WHEEL_DIR" >&2 \
    || die "pip download $name==$version failed"
  [[ -f "$WHEEL_DIR/$file" ]] || die "pip download did not produce $file"
  echo "$sha  $WHEEL_DIR/$file" | sha256sum -c --status - \
    || die "sha256 mismatch for $file: got $(sha256sum "$WHEEL_DIR/$file" | cut -d' ' -f1), want $sha"
  echo "$WHEEL_DIR/$file"
}

files=()
for w in "${WHEELS[@]}"; do
  IFS='|' read -r name version file sha _ <<<"$w"
  files+=("$(fetch "$name" "$version" "$file" "$sha")")
done

log "creating $VENV"
rm -rf "$VENV"
"$PYTHON_BIN" -m venv "$VENV"
pipi() { "$PY" -m pip install --quiet --disable-pip-version-check --no-deps "$@" >&2; }
pipi "${files[@]}"
findlinks=()
[[ -n "${PARAK8S_WHEEL_DIR:-}" ]] && findlinks=(--find-links "$PARAK8S_WHEEL_DIR")
pipi --only-binary=:all: "${findlinks[@]}" "${PY_DEPS[@]}"

SITE="$("$PY" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')"
TLIB="$SITE/torch/lib"
log "building CUDA link stubs"
readelf -W --dyn-syms "$TLIB"/libtorch_cuda.so "$TLIB"/libtorch_python.so "$TLIB"/libc10_cuda.so \
  "$TLIB"/libtorch_global_deps.so "$TLIB"/libtorch_cuda_linalg.so "$TLIB"/libcaffe2_nvrtc.so \
  "$TLIB"/libnvfuser_codegen.so | awk '$7 == "UND" && $8 != "" {print $8}' | sort -u > "$WORK/undef"
for s in "${STUBS[@]}"; do
  IFS='|' read -r soname dir prefix <<<"$s"
  src="$WORK/${soname}.c" map="$WORK/${soname}.map"
  { grep -F "@$soname" "$WORK/undef" | sed 's/@.*//' || true
    [[ -z "$prefix" ]] || grep -E "^${prefix}[A-Za-z0-9_]*$" "$WORK/undef" || true
  } | sort -u > "$WORK/$soname.syms"
  { echo "/* link stub for $soname: torch's CUDA code paths only; never called on CPU */"
    sed 's/.*/void &(void) {}/' "$WORK/$soname.syms"; } > "$src"
  { echo "$soname {"; echo "  global:"; sed 's/.*/    &;/' "$WORK/$soname.syms"; echo "  local: *;"; echo "};"; } > "$map"
  vs=()
  [[ -s "$WORK/$soname.syms" ]] && vs=(-Wl,--version-script="$map")
  mkdir -p "$SITE/nvidia/$dir/lib"
  "$CC_BIN" -shared -fPIC -nostdlib -o "$SITE/nvidia/$dir/lib/$soname" -Wl,-soname,"$soname" "${vs[@]}" "$src"
done
touch "$SITE/nvidia/__init__.py"

log "checking torch on the CPU"
"$PY" - >&2 <<'PY'
import torch
assert torch.__version__.startswith("2.1.2"), torch.__version__
torch.set_num_threads(1)
m = torch.nn.Sequential(torch.nn.Conv1d(1, 4, 5), torch.nn.BatchNorm1d(4), torch.nn.ReLU())
x = torch.randn(8, 1, 32)
m(x).sum().backward()
print("torch", torch.__version__, "ok; cuda available:", torch.cuda.is_available())
PY
expected_marker > "$MARKER"
log "ready: $PY ($(du -sh "$VENV" | cut -f1))"
echo "$PY"
