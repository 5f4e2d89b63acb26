#!/usr/bin/env bash
# cgo environment for building/testing the libtorch (gotch) packages against the libtorch
# installed by scripts/libtorch.sh. Leaves go.mod and the module cache alone.
#
#   eval "$(scripts/cgo-env.sh)"        shell: export the variables
#   . scripts/cgo-env.sh                (bash/zsh) same, when sourced
#   scripts/cgo-env.sh --make           one line of VAR='value' words for a Makefile:
#                                         CGO_ENV := $(shell scripts/cgo-env.sh --make)
#                                         test: ; $(CGO_ENV) go test ./runtime/...
#   scripts/cgo-env.sh --check          exit 1 (with a hint) if libtorch is not installed
#
# Variables: LIBTORCH, CGO_ENABLED, CGO_CFLAGS, CGO_CXXFLAGS, CGO_LDFLAGS.
# LD_LIBRARY_PATH is not needed: binaries get -rpath $LIBTORCH/lib, and the wheel's libraries
# find each other (libgomp, libcudart, libcupti) through their own $ORIGIN RPATH.
# Honours PARAK8S_CACHE / LIBTORCH exactly like scripts/libtorch.sh.

_pk_main() {
  local mode=${1:-shell}
  local lt="${LIBTORCH:-${PARAK8S_CACHE:-$HOME/.cache/parak8s}/libtorch-2.1.2}"
  if [[ ! -f "$lt/.parak8s-libtorch" || ! -f "$lt/lib/libtorch_cpu.so" ]]; then
    echo "cgo-env.sh: libtorch not installed in $lt; run scripts/libtorch.sh" >&2
    return 1
  fi
  local inc="-I$lt/include -I$lt/include/torch/csrc/api/include"
  # gotch's #cgo CFLAGS carry -D_GLIBCXX_USE_CXX11_ABI=0 but its CXXFLAGS do not, and the
  # C++ wrapper (torch_api.cpp) is what needs it: the 2.1.2 wheel is pre-C++11 ABI.
  local cflags="-O2 $inc -D_GLIBCXX_USE_CXX11_ABI=0"
  local cxxflags="-O2 $inc -D_GLIBCXX_USE_CXX11_ABI=0 -Wno-deprecated-declarations -Wno-unused-variable -Wno-sign-compare"
  # Environment LDFLAGS come before the package's own (-ltorch ... -ltorch_cuda), so
  # --as-needed drops everything the binary does not reference; stubs/ only satisfies -l.
  local ldflags="-Wl,--as-needed -L$lt/lib -L$lt/stubs -Wl,-rpath,$lt/lib -Wl,-rpath-link,$lt/lib"
  case "$mode" in
    shell)
      printf "export LIBTORCH='%s'\nexport CGO_ENABLED=1\nexport CGO_CFLAGS='%s'\nexport CGO_CXXFLAGS='%s'\nexport CGO_LDFLAGS='%s'\n" \
        "$lt" "$cflags" "$cxxflags" "$ldflags" ;;
    make)
      # One line; '$' doubled so make passes it through literally.
      local line
      line=$(printf "LIBTORCH='%s' CGO_ENABLED=1 CGO_CFLAGS='%s' CGO_CXXFLAGS='%s' CGO_LDFLAGS='%s'" \
        "$lt" "$cflags" "$cxxflags" "$ldflags")
      printf '%s\n' "${line//\$/\$\$}" ;;
    export)
      export LIBTORCH="$lt" CGO_ENABLED=1 CGO_CFLAGS="$cflags" CGO_CXXFLAGS="$cxxflags" CGO_LDFLAGS="$ldflags" ;;
    check) return 0 ;;
  esac
}

_pk_sourced=0
if [[ -n "${BASH_VERSION:-}" ]]; then
  [[ "${BASH_SOURCE[0]}" != "$0" ]] && _pk_sourced=1
elif [[ -n "${ZSH_VERSION:-}" ]]; then
  [[ "${ZSH_EVAL_CONTEXT:-}" == *:file* ]] && _pk_sourced=1
fi

if [[ $_pk_sourced == 1 ]]; then
  unset _pk_sourced
  _pk_main export
  # When sourced, never 'exit' the caller's shell.
  return $? 2>/dev/null || true
fi
unset _pk_sourced
case "${1:-}" in
  ""|--shell) _pk_main shell ;;
  --make) _pk_main make ;;
  --check) _pk_main check ;;
  -h|--help) sed -n '2,16p' "$0" ;;
  *) echo "cgo-env.sh: unknown argument $1" >&2; exit 2 ;;
esac
