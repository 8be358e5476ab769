# Shell helpers shared by bin/up and bin/prod (sourced, not run).

say() { printf '\033[1m== %s\033[0m\n' "$*"; }

# port_free PYTHON HOST PORT: binds as gunicorn does (SO_REUSEADDR, so a port in TIME_WAIT after
# the last run counts as free); says why not on stderr.
port_free() {
  "$1" - "$2" "$3" <<'PYEOF'
import socket, sys
host, port = sys.argv[1], int(sys.argv[2])
family = socket.AF_INET6 if ":" in host else socket.AF_INET
with socket.socket(family) as s:
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        s.bind((host, port))
    except OSError as exc:
        sys.exit(f"{host}:{port}: {exc.strerror}")
PYEOF
}

# require_free_port PYTHON HOST PORT: exit 1 with a clear message when the port is taken.
require_free_port() {
  if ! port_free "$@"; then
    echo "$(basename "$0"): port $3 on $2 is already in use (by another server, or an earlier" \
      "run); stop it or choose another port: PORT=$(($3 + 1)) $0" >&2
    exit 1
  fi
}

# fresh_metrics_dir: prometheus_client's multiprocess folder, emptied before the processes start.
fresh_metrics_dir() {
  export PROMETHEUS_MULTIPROC_DIR=${PROMETHEUS_MULTIPROC_DIR:-${GOVERNANCE_VAR_DIR:-$PWD/var}/metrics}
  rm -rf "$PROMETHEUS_MULTIPROC_DIR" && mkdir -p "$PROMETHEUS_MULTIPROC_DIR"
}
