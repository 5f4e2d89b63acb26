#!/usr/bin/env bash
# Make sure a headless Chromium is there for the browser tests (internal/browser:
# the report test, the Argo UI test) and print its path.
#
#   scripts/chromium.sh     print the browser's path; install Debian's chromium first when
#                           none is on $PATH (and $PARAK8S_CHROMIUM is unset)
#
# Installing needs root and apt-get (Debian, as on CI). The downloaded .deb files are kept in
# $PARAK8S_CACHE/apt (default ~/.cache/parak8s/apt), so a machine with that cache reinstalls
# without downloading the packages again. Without root or apt-get it prints why on stderr and
# exits 0 (the browser tests then skip) — except in CI ($CI set), where it fails.
set -euo pipefail

if [ -n "${PARAK8S_CHROMIUM:-}" ]; then
  [ -x "$PARAK8S_CHROMIUM" ] || { echo "chromium.sh: PARAK8S_CHROMIUM=$PARAK8S_CHROMIUM is not an executable" >&2; exit 1; }
  echo "$PARAK8S_CHROMIUM"; exit 0
fi
find_browser() {
  local n
  for n in chromium chromium-browser google-chrome google-chrome-stable; do
    command -v "$n" && return 0
  done
  return 1
}
find_browser && exit 0

if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null; then
  echo "chromium.sh: no chromium on PATH, and installing it needs root and apt-get (apt-get install chromium): the browser tests will skip" >&2
  [ -z "${CI:-}" ] || exit 1
  exit 0
fi
cache="${PARAK8S_CACHE:-$HOME/.cache/parak8s}/apt"
mkdir -p "$cache/partial"
export DEBIAN_FRONTEND=noninteractive
install() { apt-get -o Dir::Cache::archives="$cache" install -y -q chromium >&2; }
start=$(date +%s)
# A fresh machine has no package lists yet: update once when the first try fails.
install || { apt-get update -q >&2 && install; }
echo "chromium.sh: installed $(chromium --version 2>/dev/null) in $(( $(date +%s) - start ))s (packages cached in $cache)" >&2
find_browser
