# The pinned PyPI wheels of torch 2.1.2, sourced by scripts/libtorch.sh (libtorch for gotch)
# and scripts/torch-venv.sh (the PyTorch side of make bench-train), so that both install the
# very same files. One entry per wheel:
#   name|version|wheel file|sha256 (as published in PyPI's simple index)|download URL
# (the URL is libtorch.sh's fallback when pip cannot fetch the wheel; empty where unused).
TORCH_WHEELS=(
  "torch|2.1.2|torch-2.1.2-cp311-cp311-manylinux1_x86_64.whl|a6ebbe517097ef289cc7952783588c72de071d4b15ce0f8b285093f0916b1162|https://files.pythonhosted.org/packages/da/6a/7fb9d82db4568834ff6d4df2fe3b143de4ed65a3f8f93e7daed703626cb6/torch-2.1.2-cp311-cp311-manylinux1_x86_64.whl"
  "nvidia-cuda-runtime-cu12|12.1.105|nvidia_cuda_runtime_cu12-12.1.105-py3-none-manylinux1_x86_64.whl|6e258468ddf5796e25f1dc591a31029fa317d97a0a94ed93468fc86301d61e40|https://files.pythonhosted.org/packages/eb/d5/c68b1d2cdfcc59e72e8a5949a37ddb22ae6cade80cd4a57a84d4c8b55472/nvidia_cuda_runtime_cu12-12.1.105-py3-none-manylinux1_x86_64.whl"
  "nvidia-cuda-cupti-cu12|12.1.105|nvidia_cuda_cupti_cu12-12.1.105-py3-none-manylinux1_x86_64.whl|e54fde3983165c624cb79254ae9818a456eb6e87a7fd4d56a2352c24ee542d7e|https://files.pythonhosted.org/packages/7e/00/6b218edd739ecfc60524e585ba8e6b00554dd908de2c9c66c1af3e44e18d/nvidia_cuda_cupti_cu12-12.1.105-py3-none-manylinux1_x86_64.whl"
  "nvidia-nvtx-cu12|12.1.105|nvidia_nvtx_cu12-12.1.105-py3-none-manylinux1_x86_64.whl|dc21cf308ca5691e7c04d962e213f8a4aa9bbfa23d95412f452254c2caeb09e5|"
)

# torch_wheels NAME… prints the entries of those wheels, one a line, in the order given.
torch_wheels() {
  local n w found
  for n in "$@"; do
    found=0
    for w in "${TORCH_WHEELS[@]}"; do
      [[ "${w%%|*}" == "$n" ]] && { echo "$w"; found=1; }
    done
    [[ $found == 1 ]] || { echo "torch-wheels.sh: no wheel $n" >&2; return 1; }
  done
}
