#!/usr/bin/env bash
# Run a throw-away PostgreSQL for tests and local runs on 127.0.0.1 (Debian's postgresql
# package, no systemd, no service of the machine touched).
#
#   scripts/postgres.sh start     install if missing, initdb (first time), start, create db
#                                 `parak8s`, print `export DATABASE_URL=…` on stdout (idempotent)
#   scripts/postgres.sh stop      stop the server started by `start` (same PGPORT/state dir)
#   scripts/postgres.sh restart   fast restart (drops every connection), print the export line
#   scripts/postgres.sh env       print the export line (starts nothing)
#   scripts/postgres.sh status    exit 0 when the server of this PGPORT/state dir is running
#
#   eval "$(scripts/postgres.sh start)"
#
# Environment:
#   PGPORT              port (default 55432, so a machine's own server on 5432 is left alone)
#   PARAK8S_PG_STATE    state dir: data/, sock/, server.log (default /tmp/parak8s-pg-$PGPORT);
#                       it must be reachable by the `postgres` user when run as root
#   PARAK8S_PG_DB       database name (default parak8s)
#   PG_START_TIMEOUT    seconds pg_ctl waits for start/stop (default 60)
#
# As root (CI) the server runs as the `postgres` user; as another user it runs as that user
# (then the package must already be installed, or sudo must work without a password).
# fsync is off: the data is for tests. All progress goes to stderr; only the export line
# goes to stdout.
set -euo pipefail

PORT="${PGPORT:-55432}"
STATE="${PARAK8S_PG_STATE:-/tmp/parak8s-pg-$PORT}"
DB="${PARAK8S_PG_DB:-parak8s}"
TIMEOUT="${PG_START_TIMEOUT:-60}"
DATA="$STATE/data"
SOCK="$STATE/sock"
LOG="$STATE/server.log"

log() { echo "postgres.sh: $*" >&2; }
die() { log "error: $*"; exit 1; }

url() { echo "export DATABASE_URL=postgres://postgres@127.0.0.1:$PORT/$DB?sslmode=disable"; }

pgbin() {
	local d
	d=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1 || true)
	[ -n "$d" ] && [ -x "$d/initdb" ] && echo "$d"
}

install() {
	if [ -n "$(pgbin)" ]; then return 0; fi
	log "installing Debian's postgresql (apt-get)"
	local sudo=""
	if [ "$(id -u)" != 0 ]; then
		command -v sudo >/dev/null || die "postgresql is not installed and this is not root (no sudo)"
		sudo="sudo -n"
	fi
	export DEBIAN_FRONTEND=noninteractive
	# the package's postinst would create and start a cluster on 5432 through the service
	# machinery; policy-rc.d 101 keeps it from starting anything.
	local policy=/usr/sbin/policy-rc.d created_policy=""
	if [ "$(id -u)" = 0 ] && [ ! -e "$policy" ]; then
		printf '#!/bin/sh\nexit 101\n' >"$policy" && chmod 755 "$policy" && created_policy=1
	fi
	local rc=0
	{ $sudo apt-get -o DPkg::Lock::Timeout=600 install -y -q --no-install-recommends postgresql >&2 ||
		{ $sudo apt-get -o DPkg::Lock::Timeout=600 update -q >&2 && $sudo apt-get -o DPkg::Lock::Timeout=600 install -y -q --no-install-recommends postgresql >&2; }; } || rc=$?
	[ -n "$created_policy" ] && rm -f "$policy"
	[ "$rc" = 0 ] || die "apt-get install postgresql failed (exit $rc)"
	[ -n "$(pgbin)" ] || die "postgresql installed but no /usr/lib/postgresql/*/bin/initdb found"
}

# as_pg runs a command line as the server's user; the lock's fd 9 is closed so the server
# does not inherit (and hold) the lock.
as_pg() {
	if [ "$(id -u)" = 0 ]; then
		su postgres -s /bin/sh -c "$1" 9>&-
	else
		sh -c "$1" 9>&-
	fi
}

running() {
	local bin
	bin=$(pgbin) || return 1
	[ -f "$DATA/PG_VERSION" ] || return 1
	as_pg "'$bin/pg_ctl' -D '$DATA' status" >/dev/null 2>&1
}

pg_opts() { echo "-c listen_addresses=127.0.0.1 -p $PORT -k $SOCK -c fsync=off -c synchronous_commit=off -c full_page_writes=off"; }

start() {
	install
	local bin
	bin=$(pgbin)
	mkdir -p "$STATE"
	# one start at a time for this state dir (parallel test packages may all call start)
	exec 9>"$STATE.lock"
	flock -w 120 9 || die "timed out waiting for $STATE.lock"
	mkdir -p "$SOCK"
	if [ "$(id -u)" = 0 ]; then chown -R postgres:postgres "$STATE"; fi
	if [ ! -f "$DATA/PG_VERSION" ]; then
		log "initdb $DATA"
		rm -rf "$DATA"
		as_pg "'$bin/initdb' -D '$DATA' -U postgres --auth=trust -E UTF8 --no-sync" >"$STATE/initdb.log" 2>&1 ||
			{ cat "$STATE/initdb.log" >&2; die "initdb failed"; }
	fi
	if ! running; then
		log "starting on 127.0.0.1:$PORT (log $LOG)"
		if ! as_pg "'$bin/pg_ctl' -D '$DATA' -l '$LOG' -w -t $TIMEOUT -o '$(pg_opts)' start" >&2; then
			tail -n 20 "$LOG" >&2 || true
			die "pg_ctl start failed (is port $PORT taken?)"
		fi
	fi
	if ! as_pg "'$bin/psql' -h 127.0.0.1 -p $PORT -U postgres -d postgres -Atqc \"SELECT 1 FROM pg_database WHERE datname = '$DB'\"" | grep -q 1; then
		as_pg "'$bin/createdb' -h 127.0.0.1 -p $PORT -U postgres '$DB'" >&2 || die "createdb $DB failed"
	fi
	url
}

stop() {
	local bin
	bin=$(pgbin) || { log "postgresql is not installed; nothing to stop"; return 0; }
	if running; then
		log "stopping 127.0.0.1:$PORT"
		as_pg "'$bin/pg_ctl' -D '$DATA' -m fast -w -t $TIMEOUT stop" >&2
	else
		log "not running ($DATA)"
	fi
}

restart() {
	local bin
	bin=$(pgbin) || die "postgresql is not installed"
	running || die "not running ($DATA); use start"
	log "restarting 127.0.0.1:$PORT"
	as_pg "'$bin/pg_ctl' -D '$DATA' -l '$LOG' -m fast -w -t $TIMEOUT -o '$(pg_opts)' restart" >&2 ||
		{ tail -n 20 "$LOG" >&2 || true; die "pg_ctl restart failed"; }
	url
}

case "${1:-}" in
start) start ;;
stop) stop ;;
restart) restart ;;
env) url ;;
status) running ;;
*)
	echo "usage: $0 start|stop|restart|env|status" >&2
	exit 2
	;;
esac
