#!/usr/bin/env bash
# Install a pinned MLflow into a virtualenv outside the repo and run a local tracking server
# (with the model registry and artifact proxy) on 127.0.0.1 for tests and local runs.
#
#   scripts/mlflow.sh install   install the pinned mlflow if missing (idempotent; fast when present)
#   scripts/mlflow.sh start     install, start the server in the background, wait for /health,
#                               print `export MLFLOW_TRACKING_URI=http://127.0.0.1:PORT` on stdout
#   scripts/mlflow.sh stop      stop the server started by `start` (same PORT/STATE)
#   scripts/mlflow.sh env       print the export line (does not start anything)
#   scripts/mlflow.sh status    exit 0 when the server answers /health
#   scripts/mlflow.sh pins      print the pip requirements (mlflow==VERSION, then the constraints)
#
#   eval "$(scripts/mlflow.sh start)"
#
# Environment:
#   PARAK8S_CACHE        cache root (default $HOME/.cache/parak8s); the venv is $PARAK8S_CACHE/mlflow-venv
#   MLFLOW_VENV          the virtualenv (default $PARAK8S_CACHE/mlflow-venv)
#   MLFLOW_PORT          port (default 5055)
#   MLFLOW_STATE         state dir: sqlite db, artifacts, pid file, log
#                        (default /tmp/parak8s-mlflow-$MLFLOW_PORT)
#   MLFLOW_WORKERS       gunicorn workers (default 2)
#   MLFLOW_START_TIMEOUT seconds to wait for /health (default 180)
#   PYTHON               the interpreter used to create the venv (default python3)
#
# All progress goes to stderr; only the export line goes to stdout.
set -euo pipefail

MLFLOW_VERSION=2.22.1
# Every package of the server's environment, pinned: an unpinned resolve picks up releases newer
# than mlflow 2.22.1 that break it (SQLAlchemy 2.1 removed FallbackAsyncAdaptedQueuePool, which
# mlflow/store/db/utils.py imports). Resolved on Python 3.11 / linux x86_64, then frozen.
CONSTRAINTS="
alembic==1.20.1
annotated-doc==0.0.7
annotated-types==0.8.0
anyio==4.16.0
blinker==1.9.0
cachetools==5.5.2
certifi==2026.10.19.post1
cffi==2.1.1
charset-normalizer==3.5.3
click==8.5.1
cloudpickle==3.1.3
contourpy==1.3.3
cryptography==50.0.2
cycler==0.12.1
databricks-sdk==0.162.0
docker==7.2.0
fastapi==0.165.0
Flask==3.1.3
fonttools==4.68.0
gitdb==4.0.12
GitPython==3.2.1
google-auth==2.63.0
graphene==3.4.3
graphql-core==3.2.14
graphql-relay==3.2.0
greenlet==3.5.6
gunicorn==23.0.0
h11==0.16.0
idna==3.20
importlib_metadata==8.9.0
itsdangerous==2.2.0
Jinja2==3.1.6
joblib==1.6.0
kiwisolver==1.5.1
Mako==1.4.3
Markdown==3.11.3
MarkupSafe==3.0.4
matplotlib==3.11.2
narwhals==2.29.0
numpy==2.4.6
opentelemetry-api==1.45.2
opentelemetry-sdk==1.45.2
opentelemetry-semantic-conventions==0.66b2
packaging==24.2
pandas==2.3.3
pillow==13.0.0
protobuf==6.33.6
pyarrow==19.0.1
pyasn1==0.6.5
pyasn1_modules==0.4.2
pycparser==3.12
pydantic==2.14.4
pydantic_core==2.50.5
pyparsing==3.3.3
python-dateutil==2.9.0.post0
pytz==2026.6
PyYAML==6.0.4
requests==2.34.2
scikit-learn==1.9.1
scipy==1.17.1
six==1.17.0
smmap==5.0.3
SQLAlchemy==2.0.41
sqlparse==0.6.1
starlette==1.10.0
threadpoolctl==3.8.0
typing-inspection==0.4.5
typing_extensions==4.16.0
tzdata==2026.6
urllib3==2.8.0
uvicorn==0.54.0
Werkzeug==3.1.9
zipp==4.1.2
"

CACHE="${PARAK8S_CACHE:-$HOME/.cache/parak8s}"
VENV="${MLFLOW_VENV:-$CACHE/mlflow-venv}"
PORT="${MLFLOW_PORT:-5055}"
STATE="${MLFLOW_STATE:-/tmp/parak8s-mlflow-$PORT}"
WORKERS="${MLFLOW_WORKERS:-2}"
START_TIMEOUT="${MLFLOW_START_TIMEOUT:-180}"
MARKER="$VENV/.parak8s-mlflow"
PIDFILE="$STATE/mlflow.pid"
LOGFILE="$STATE/server.log"
URI="http://127.0.0.1:$PORT"

log() { echo "mlflow.sh: $*" >&2; }
die() { log "error: $*"; exit 1; }

marker_text() {
  echo "mlflow==$MLFLOW_VERSION constraints=$(printf '%s' "$CONSTRAINTS" | cksum | cut -d' ' -f1)"
}

installed() {
  [[ -f "$MARKER" && "$(<"$MARKER")" == "$(marker_text)" && -x "$VENV/bin/mlflow" ]]
}

make_venv() {
  local py="${PYTHON:-python3}"
  command -v "$py" >/dev/null || die "python3 is required (apt-get install python3 python3-venv)"
  rm -rf "$VENV"
  mkdir -p "$(dirname "$VENV")"
  if "$py" -m venv "$VENV" >&2 2>/dev/null; then return 0; fi
  rm -rf "$VENV"
  # Debian splits venv/ensurepip into python3-venv; install it when we can.
  if [[ $(id -u) == 0 ]] && command -v apt-get >/dev/null; then
    log "python3 -m venv failed; installing python3-venv with apt-get"
    local pyver
    pyver=$("$py" -c 'import sys; print("%d.%d" % sys.version_info[:2])')
    DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y -q python3-venv "python$pyver-venv" >&2 \
      || { apt-get -o DPkg::Lock::Timeout=600 update -q >&2 && DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y -q python3-venv "python$pyver-venv" >&2; } \
      || die "could not install python3-venv"
    "$py" -m venv "$VENV" >&2 && return 0
  fi
  if "$py" -m virtualenv --version >/dev/null 2>&1; then
    "$py" -m virtualenv -q "$VENV" >&2 && return 0
  fi
  die "could not create a virtualenv at $VENV (need python3-venv or virtualenv)"
}

install() {
  if installed; then return 0; fi
  # Several test packages may start servers at once: one installs, the others wait.
  mkdir -p "$(dirname "$VENV")"
  if command -v flock >/dev/null; then
    exec 9>"$VENV.lock"
    flock 9
    if installed; then exec 9>&-; return 0; fi
  fi
  local t0=$SECONDS
  log "installing mlflow==$MLFLOW_VERSION into $VENV (first time only; takes a minute or two)"
  make_venv
  # Only wheels: a source build would need compilers and take far longer.
  local cfile="$VENV/parak8s-constraints.txt"
  printf '%s' "$CONSTRAINTS" >"$cfile"
  if ! "$VENV/bin/python" -m pip install -q --disable-pip-version-check --only-binary=:all: \
      -c "$cfile" "mlflow==$MLFLOW_VERSION" >&2; then
    die "pip install mlflow==$MLFLOW_VERSION failed (is PyPI reachable? see the pip output above)"
  fi
  "$VENV/bin/mlflow" --version >/dev/null || die "mlflow installed but does not run"
  marker_text >"$MARKER"
  log "installed mlflow==$MLFLOW_VERSION in $((SECONDS - t0)) s"
  exec 9>&- 2>/dev/null || true
}

healthy() {
  # The venv's python is always there once installed; curl may not be on a fresh machine.
  "$VENV/bin/python" - "$URI/health" <<'EOF' >/dev/null 2>&1
import sys, urllib.request
with urllib.request.urlopen(sys.argv[1], timeout=2) as r:
    sys.exit(0 if r.status == 200 else 1)
EOF
}

running_pid() {
  [[ -f "$PIDFILE" ]] || return 1
  local pid
  pid=$(<"$PIDFILE")
  [[ -n "$pid" ]] && kill -0 "$pid" 2>/dev/null && { echo "$pid"; return 0; }
  return 1
}

port_busy() {
  "$VENV/bin/python" - "$PORT" <<'EOF' 2>/dev/null
import socket, sys
s = socket.socket()
# Like the server (gunicorn): connections of a stopped server in TIME_WAIT do not make the port busy.
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
try:
    s.bind(("127.0.0.1", int(sys.argv[1])))
except OSError:
    sys.exit(0)
sys.exit(1)
EOF
}

start() {
  install
  mkdir -p "$STATE/mlartifacts"
  if pid=$(running_pid); then
    if healthy; then
      log "already running (pid $pid) at $URI"
      echo "export MLFLOW_TRACKING_URI=$URI"
      return 0
    fi
  fi
  if port_busy; then
    die "port $PORT on 127.0.0.1 is in use by another process (set MLFLOW_PORT)"
  fi
  local t0=$SECONDS
  # setsid: the server (and its gunicorn workers) get their own process group so that
  # `stop` can end all of them, and it outlives this script and its caller's pipes.
  setsid "$VENV/bin/mlflow" server \
    --host 127.0.0.1 --port "$PORT" --workers "$WORKERS" \
    --backend-store-uri "sqlite:///$STATE/mlflow.db" \
    --serve-artifacts --artifacts-destination "$STATE/mlartifacts" \
    </dev/null >"$LOGFILE" 2>&1 &
  local pid=$!
  echo "$pid" >"$PIDFILE"
  local deadline=$((SECONDS + START_TIMEOUT))
  until healthy; do
    if ! kill -0 "$pid" 2>/dev/null; then
      tail -n 30 "$LOGFILE" >&2 || true
      die "mlflow server exited during start-up (log: $LOGFILE)"
    fi
    if ((SECONDS >= deadline)); then
      tail -n 30 "$LOGFILE" >&2 || true
      kill -TERM -- "-$pid" 2>/dev/null || true
      die "mlflow server did not answer $URI/health within ${START_TIMEOUT}s (log: $LOGFILE)"
    fi
    sleep 0.3
  done
  log "started mlflow $MLFLOW_VERSION (pid $pid) at $URI in $((SECONDS - t0)) s; state in $STATE"
  echo "export MLFLOW_TRACKING_URI=$URI"
}

stop() {
  local pid
  if ! pid=$(running_pid); then
    rm -f "$PIDFILE"
    log "not running"
    return 0
  fi
  kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true
  local i
  for i in $(seq 1 50); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.2
  done
  if kill -0 "$pid" 2>/dev/null; then
    kill -KILL -- "-$pid" 2>/dev/null || kill -KILL "$pid" 2>/dev/null || true
  fi
  rm -f "$PIDFILE"
  log "stopped (pid $pid)"
}

case "${1:-}" in
  install) install ;;
  start) start ;;
  stop) stop ;;
  env) echo "export MLFLOW_TRACKING_URI=$URI" ;;
  status) installed && healthy ;;
  pins) echo "mlflow==$MLFLOW_VERSION"; printf '%s' "$CONSTRAINTS" | sed '/^$/d' ;;
  -h | --help | "") sed -n '2,25p' "$0"; [[ -n "${1:-}" ]] ;;
  *) die "unknown command ${1} (install|start|stop|env|status|pins)" ;;
esac
