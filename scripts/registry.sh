#!/usr/bin/env bash
# Run a throw-away OCI registry (CNCF distribution) on 127.0.0.1 for tests and local runs.
#
#   scripts/registry.sh start     install if missing, start in the background, wait until /v2/
#                                 answers, print `export OCI_REGISTRY=127.0.0.1:PORT` (idempotent)
#   scripts/registry.sh stop      stop the registry started by `start` (same port/state dir)
#   scripts/registry.sh env       print the export line (starts nothing)
#   scripts/registry.sh status    exit 0 when the registry of this port answers /v2/
#
#   eval "$(scripts/registry.sh start)"
#
# The binary, first found wins: $REGISTRY_BIN; `docker-registry` (Debian's package, distribution
# 2.8.2: installed with apt-get when root or passwordless sudo is available); `registry` on PATH
# or in $(go env GOPATH)/bin; else `go install
# github.com/distribution/distribution/v3/cmd/registry@v3.0.0` (a cold build takes minutes).
#
# Environment:
#   REGISTRY_PORT           port (default 5075)
#   PARAK8S_REGISTRY_STATE  state dir: config.yml, storage/, registry.pid, registry.log
#                           (default /tmp/parak8s-registry-$REGISTRY_PORT)
#   REGISTRY_BIN            the registry binary to use (skips the installation)
#   REGISTRY_START_TIMEOUT  seconds to wait for /v2/ (default 30)
#
# Storage is the filesystem under the state dir, with deletes enabled. All progress goes to
# stderr; only the export line goes to stdout.
set -euo pipefail

PORT="${REGISTRY_PORT:-5075}"
STATE="${PARAK8S_REGISTRY_STATE:-/tmp/parak8s-registry-$PORT}"
TIMEOUT="${REGISTRY_START_TIMEOUT:-30}"
PIDFILE="$STATE/registry.pid"
LOG="$STATE/registry.log"
CONFIG="$STATE/config.yml"
DISTRIBUTION_VERSION=v3.0.0

log() { echo "registry.sh: $*" >&2; }
die() { log "error: $*"; exit 1; }

url() { echo "export OCI_REGISTRY=127.0.0.1:$PORT"; }

# answers exits 0 when GET /v2/ on the port gives an HTTP status (200 or 401).
answers() {
	if command -v curl >/dev/null; then
		local code
		code=$(curl -s -o /dev/null -m 2 -w '%{http_code}' "http://127.0.0.1:$PORT/v2/" || true)
		[ "$code" = 200 ] || [ "$code" = 401 ]
	else
		# bash's /dev/tcp: enough to see an HTTP status line
		(
			exec 3<>"/dev/tcp/127.0.0.1/$PORT" || exit 1
			printf 'GET /v2/ HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n' >&3
			head -n 1 <&3 | grep -Eq '^HTTP/[0-9.]+ (200|401)'
		) 2>/dev/null
	fi
}

find_bin() {
	if [ -n "${REGISTRY_BIN:-}" ]; then
		[ -x "$REGISTRY_BIN" ] || die "REGISTRY_BIN=$REGISTRY_BIN is not executable"
		echo "$REGISTRY_BIN"
		return 0
	fi
	local b
	for b in docker-registry registry; do
		if command -v "$b" >/dev/null; then
			command -v "$b"
			return 0
		fi
	done
	if command -v go >/dev/null; then
		b="$(go env GOPATH)/bin/registry"
		[ -x "$b" ] && echo "$b" && return 0
	fi
	return 1
}

install() {
	find_bin >/dev/null && return 0
	local sudo=""
	if [ "$(id -u)" != 0 ] && command -v sudo >/dev/null && sudo -n true 2>/dev/null; then sudo="sudo -n"; fi
	if command -v apt-get >/dev/null && { [ "$(id -u)" = 0 ] || [ -n "$sudo" ]; }; then
		log "installing Debian's docker-registry (apt-get)"
		export DEBIAN_FRONTEND=noninteractive
		# policy-rc.d 101: the package must not start a registry service of its own on :5000
		local policy=/usr/sbin/policy-rc.d created_policy=""
		if [ "$(id -u)" = 0 ] && [ ! -e "$policy" ]; then
			printf '#!/bin/sh\nexit 101\n' >"$policy" && chmod 755 "$policy" && created_policy=1
		fi
		{ $sudo apt-get -o DPkg::Lock::Timeout=600 install -y -q --no-install-recommends docker-registry >&2 ||
			{ $sudo apt-get -o DPkg::Lock::Timeout=600 update -q >&2 && $sudo apt-get -o DPkg::Lock::Timeout=600 install -y -q --no-install-recommends docker-registry >&2; }; } ||
			log "apt-get install docker-registry failed; falling back to go install"
		[ -n "$created_policy" ] && rm -f "$policy"
		find_bin >/dev/null && return 0
	fi
	command -v go >/dev/null || die "no registry binary, no apt-get and no go toolchain to build one"
	log "go install github.com/distribution/distribution/v3/cmd/registry@$DISTRIBUTION_VERSION (minutes when cold)"
	go install "github.com/distribution/distribution/v3/cmd/registry@$DISTRIBUTION_VERSION" >&2 ||
		die "go install of the distribution registry failed"
	find_bin >/dev/null || die "registry built but not found in $(go env GOPATH)/bin"
}

pid_alive() { [ -f "$PIDFILE" ] && kill -0 "$(cat "$PIDFILE")" 2>/dev/null; }

start() {
	mkdir -p "$STATE"
	exec 9>"$STATE.lock"
	flock -w 300 9 || die "timed out waiting for $STATE.lock"
	if pid_alive && answers; then
		url
		return 0
	fi
	if answers; then
		die "127.0.0.1:$PORT answers /v2/ but is not the registry of $STATE; set REGISTRY_PORT"
	fi
	install
	local bin
	bin=$(find_bin)
	mkdir -p "$STATE/storage"
	cat >"$CONFIG" <<EOF
version: 0.1
log:
  level: warn
  accesslog:
    disabled: true
storage:
  filesystem:
    rootdirectory: $STATE/storage
  delete:
    enabled: true
  cache:
    blobdescriptor: inmemory
http:
  addr: 127.0.0.1:$PORT
  secret: parak8s-local-test-registry
EOF
	log "starting $bin on 127.0.0.1:$PORT (log $LOG)"
	OTEL_TRACES_EXPORTER=none nohup "$bin" serve "$CONFIG" >"$LOG" 2>&1 9>&- </dev/null &
	echo $! >"$PIDFILE"
	local i
	for ((i = 0; i < TIMEOUT * 10; i++)); do
		if answers; then
			url
			return 0
		fi
		if ! pid_alive; then
			tail -n 20 "$LOG" >&2 || true
			die "the registry exited (is port $PORT taken?)"
		fi
		sleep 0.1
	done
	tail -n 20 "$LOG" >&2 || true
	die "the registry did not answer /v2/ within ${TIMEOUT}s"
}

stop() {
	if ! pid_alive; then
		log "not running ($PIDFILE)"
		rm -f "$PIDFILE"
		return 0
	fi
	local pid i
	pid=$(cat "$PIDFILE")
	log "stopping pid $pid"
	kill "$pid" 2>/dev/null || true
	for ((i = 0; i < 100; i++)); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	kill -0 "$pid" 2>/dev/null && kill -9 "$pid" 2>/dev/null || true
	rm -f "$PIDFILE"
}

case "${1:-}" in
start) start ;;
stop) stop ;;
env) url ;;
status) pid_alive && answers ;;
*)
	echo "usage: $0 start|stop|env|status" >&2
	exit 2
	;;
esac
