#!/usr/bin/env bash
# THE "start rawx for real" command: bash scripts/start.sh [--foreground]
#
# Builds the release binary, starts `rawx server` (which runs its own embedded
# PostgreSQL and Redis under the data dir), waits for /api/v2/ping/, creates
# or updates the admin user and prints how to log in and how to stop it.
# Without --foreground the server is left running in the background and the
# script exits 0; with --foreground it waits on the server (Ctrl-C stops it).
# Re-running it restarts a server it started before (same data dir).
#
# Environment:
#   RAWX_DATA_DIR        data dir (default /var/lib/rawx as root, else
#                        $HOME/.local/share/rawx); holds rawx.log, rawx.pid,
#                        admin_password and the embedded databases
#   RAWX_LISTEN          listen address (default 127.0.0.1:8013)
#   RAWX_ADMIN_USERNAME  admin user name (default admin)
#   RAWX_ADMIN_PASSWORD  admin password (default: the one saved in
#                        $RAWX_DATA_DIR/admin_password, else a generated one)
#   RAWX_VENV, CARGO_TARGET_DIR, RAWX_SKIP_APT: see scripts/lib.sh
# Any other RAWX_* variables are passed through to rawx unchanged.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
# shellcheck source=scripts/lib.sh
source scripts/lib.sh

FOREGROUND=0
for arg in "$@"; do
  case "$arg" in
    --foreground | -f) FOREGROUND=1 ;;
    -h | --help)
      sed -n '2,20p' "$0" | sed 's/^# \{0,1\}//'
      exit 0
      ;;
    *)
      rawx_die "unknown argument: $arg (usage: bash scripts/start.sh [--foreground])" || exit 2
      ;;
  esac
done

# ---- setup -----------------------------------------------------------------
# The postgresql and redis-server packages provide the server binaries for
# rawx's embedded PostgreSQL/Redis; the system services are not needed.
# shellcheck disable=SC2119 # no args: the default package list
ensure_packages
VENV_BIN="$(ensure_venv)"
export RAWX_VENV="${VENV_BIN%/bin}"
cargo_env

locked=()
if [ -n "$(cargo_locked)" ]; then
  locked=(--locked)
fi
rawx_log "building rawx (release) into $CARGO_TARGET_DIR"
cargo build --release "${locked[@]}" -p rawx
BIN="$CARGO_TARGET_DIR/release/rawx"
[ -x "$BIN" ] || rawx_die "no binary at $BIN" || exit 1

if [ "$(id -u)" -eq 0 ]; then
  DATA_DIR="${RAWX_DATA_DIR:-/var/lib/rawx}"
else
  DATA_DIR="${RAWX_DATA_DIR:-$HOME/.local/share/rawx}"
fi
mkdir -p "$DATA_DIR"
DATA_DIR="$(cd "$DATA_DIR" && pwd)"
if [ "$(id -u)" -eq 0 ]; then
  # The embedded PostgreSQL runs unprivileged: it must be able to traverse.
  chmod 0711 "$DATA_DIR"
fi
export RAWX_DATA_DIR="$DATA_DIR"
export RAWX_LISTEN="${RAWX_LISTEN:-127.0.0.1:8013}"
ADMIN_USER="${RAWX_ADMIN_USERNAME:-admin}"
LOG="$DATA_DIR/rawx.log"
PIDFILE="$DATA_DIR/rawx.pid"

# Address a client uses to reach RAWX_LISTEN (a wildcard bind -> loopback).
client_addr() {
  local hostport="$1" host port
  port="${hostport##*:}"
  host="${hostport%:*}"
  case "$host" in
    "" | 0.0.0.0 | "*") host=127.0.0.1 ;;
    "[::]" | "::") host="[::1]" ;;
  esac
  printf '%s:%s\n' "$host" "$port"
}
ADDR="$(client_addr "$RAWX_LISTEN")"
BASE_URL="http://$ADDR"

ping_ok() { curl -fsS --max-time 3 "$BASE_URL/api/v2/ping/" >/dev/null 2>&1; }

is_our_server() {
  local pid="$1"
  [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null \
    && tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q 'rawx.* server'
}

# ---- stop a server this script started before --------------------------------
if [ -f "$PIDFILE" ]; then
  old_pid="$(cat "$PIDFILE" 2>/dev/null || true)"
  if is_our_server "$old_pid"; then
    rawx_log "stopping the running rawx server (pid $old_pid) to restart it"
    kill "$old_pid" 2>/dev/null || true
    for _ in $(seq 1 60); do
      kill -0 "$old_pid" 2>/dev/null || break
      sleep 0.5
    done
    if kill -0 "$old_pid" 2>/dev/null; then
      rawx_log "pid $old_pid did not stop in 30s: sending SIGKILL"
      kill -9 "$old_pid" 2>/dev/null || true
      sleep 1
    fi
  fi
  rm -f "$PIDFILE"
fi
if ping_ok; then
  rawx_die "something already answers on $BASE_URL/api/v2/ping/ (not started by this script); set RAWX_LISTEN to another address" || exit 1
fi

# ---- start ---------------------------------------------------------------------
rawx_log "starting: $BIN server (log: $LOG)"
printf '\n===== %s rawx server starting (listen %s) =====\n' "$(date -u +%FT%TZ)" "$RAWX_LISTEN" >>"$LOG"
nohup "$BIN" server >>"$LOG" 2>&1 </dev/null &
SERVER_PID=$!
printf '%s\n' "$SERVER_PID" >"$PIDFILE"

stop_server() {
  kill "$SERVER_PID" 2>/dev/null || true
}

deadline=$((SECONDS + 120))
until ping_ok; do
  if ! kill -0 "$SERVER_PID" 2>/dev/null; then
    wait "$SERVER_PID" 2>/dev/null && rc=0 || rc=$?
    rm -f "$PIDFILE"
    printf '\nrawx server exited (status %s) before answering; last lines of %s:\n' "$rc" "$LOG" >&2
    tail -n 40 "$LOG" >&2 || true
    exit 1
  fi
  if [ "$SECONDS" -ge "$deadline" ]; then
    printf '\nrawx server (pid %s) did not answer %s/api/v2/ping/ within 120s; last lines of %s:\n' \
      "$SERVER_PID" "$BASE_URL" "$LOG" >&2
    tail -n 40 "$LOG" >&2 || true
    stop_server
    rm -f "$PIDFILE"
    exit 1
  fi
  sleep 1
done
rawx_log "server is up (pid $SERVER_PID)"

# ---- admin user -------------------------------------------------------------------
PW_FILE="$DATA_DIR/admin_password"
if [ -n "${RAWX_ADMIN_PASSWORD:-}" ]; then
  ADMIN_PASSWORD="$RAWX_ADMIN_PASSWORD"
elif [ -s "$PW_FILE" ]; then
  ADMIN_PASSWORD="$(cat "$PW_FILE")"
else
  ADMIN_PASSWORD="$("$VENV_BIN/python" -c 'import secrets; print(secrets.token_urlsafe(18))')"
fi
# admin_password always holds the current admin password (mode 0600).
(umask 077 && printf '%s\n' "$ADMIN_PASSWORD" >"$PW_FILE")
chmod 0600 "$PW_FILE"

# Through the environment, so the password does not show in `ps`.
if ! RAWX_ADMIN_PASSWORD="$ADMIN_PASSWORD" "$BIN" admin create --username "$ADMIN_USER"; then
  rawx_die "rawx admin create --username $ADMIN_USER failed (server left running, pid $SERVER_PID)" || exit 1
fi

# ---- demo ------------------------------------------------------------------------
# run_demo: a demo project (a local git repository with a playbook, cloned
# by a real project update), the preloaded Demo Inventory's localhost, a
# template, and one real job launched through the API; prints its output.
api() {
  local method="$1" path="$2" body="${3:-}"
  if [ -n "$body" ]; then
    curl -fsS --max-time 30 -u "$ADMIN_USER:$ADMIN_PASSWORD" -X "$method" \
      -H 'Content-Type: application/json' -d "$body" "$BASE_URL$path"
  else
    curl -fsS --max-time 30 -u "$ADMIN_USER:$ADMIN_PASSWORD" -X "$method" "$BASE_URL$path"
  fi
}
json_get() { "$VENV_BIN/python" -c 'import json,sys; d=json.load(sys.stdin); print(eval(sys.argv[1], {"d": d}))' "$1"; }

run_demo() {
  local demo="$DATA_DIR/demo-repo"
  mkdir -p "$demo"
  [ -d "$demo/.git" ] || git -C "$demo" init -q -b main
  cat >"$demo/hello.yml" <<'YAML'
- name: rawx demo
  hosts: all
  gather_facts: false
  tasks:
    - name: Say hello
      ansible.builtin.debug:
        msg: "Hello from rawx on {{ inventory_hostname }}"
    - name: Show the Python that runs the tasks
      ansible.builtin.command: "{{ ansible_playbook_python }} --version"
      changed_when: false
YAML
  git -C "$demo" add -A
  if ! git -C "$demo" diff --cached --quiet || ! git -C "$demo" rev-parse -q --verify HEAD >/dev/null; then
    git -C "$demo" -c user.name=rawx -c user.email=rawx@localhost commit -q -m "rawx demo playbook"
  fi
  local org inventory project template job url status
  org=$(api GET "/api/v2/organizations/?name=Default" | json_get 'd["results"][0]["id"] if d["results"] else ""')
  if [ -z "$org" ]; then
    org=$(api POST /api/v2/organizations/ '{"name": "Default"}' | json_get 'd["id"]')
  fi
  inventory=$(api GET "/api/v2/inventories/?name=Demo%20Inventory" | json_get 'd["results"][0]["id"] if d["results"] else ""')
  if [ -z "$inventory" ]; then
    inventory=$(api POST /api/v2/inventories/ "{\"name\": \"Demo Inventory\", \"organization\": $org}" | json_get 'd["id"]')
    api POST /api/v2/hosts/ "{\"name\": \"localhost\", \"inventory\": $inventory, \"variables\": \"ansible_connection: local\\nansible_python_interpreter: '{{ ansible_playbook_python }}'\"}" >/dev/null
  fi
  project=$(api GET "/api/v2/projects/?name=rawx%20demo" | json_get 'd["results"][0]["id"] if d["results"] else ""')
  if [ -z "$project" ]; then
    # An SCM project is updated (cloned) as soon as it is created.
    project=$(api POST /api/v2/projects/ "{\"name\": \"rawx demo\", \"organization\": $org, \"scm_type\": \"git\", \"scm_url\": \"file://$demo\", \"scm_branch\": \"main\", \"scm_update_on_launch\": true}" | json_get 'd["id"]')
  else
    api POST "/api/v2/projects/$project/update/" '{}' >/dev/null
  fi
  for _ in $(seq 1 120); do
    case "$(api GET "/api/v2/projects/$project/" | json_get 'd["status"]')" in
      successful) break ;;
      failed | error | canceled)
        rawx_log "the demo project's update failed: see /api/v2/projects/$project/project_updates/"
        return 1
        ;;
    esac
    sleep 1
  done
  printf 'project %s (rawx demo) updated from %s at %s\n' "$project" "file://$demo" \
    "$(api GET "/api/v2/projects/$project/" | json_get 'd["scm_revision"]')"
  template=$(api GET "/api/v2/job_templates/?name=rawx%20demo" | json_get 'd["results"][0]["id"] if d["results"] else ""')
  if [ -z "$template" ]; then
    template=$(api POST /api/v2/job_templates/ "{\"name\": \"rawx demo\", \"project\": $project, \"inventory\": $inventory, \"playbook\": \"hello.yml\"}" | json_get 'd["id"]')
  fi
  printf '\nlaunching job template %s (rawx demo)\n' "$template"
  job=$(api POST "/api/v2/job_templates/$template/launch/" '{}' | json_get 'd["job"]')
  url="/api/v2/jobs/$job/"
  for _ in $(seq 1 120); do
    if [ "$(api GET "$url" | json_get 'd["event_processing_finished"]')" = "True" ]; then
      break
    fi
    sleep 1
  done
  status=$(api GET "$url" | json_get 'd["status"]')
  printf '\njob %s: %s\n\n' "$job" "$status"
  api GET "/api/v2/jobs/$job/stdout/?format=txt"
  printf '\n'
}

if ! run_demo; then
  rawx_log "WARNING: the demo job could not run (see $LOG)"
fi

# ---- report -------------------------------------------------------------------------
printf '\nGET %s/api/v2/me/ as %s\n' "$BASE_URL" "$ADMIN_USER"
if ! curl -fsS --max-time 10 -u "$ADMIN_USER:$ADMIN_PASSWORD" "$BASE_URL/api/v2/me/"; then
  rawx_log "WARNING: GET /api/v2/me/ as $ADMIN_USER failed"
fi
printf '\n'

cat <<EOF

rawx is running.
  URL:       $BASE_URL/
  user:      $ADMIN_USER
  password:  $ADMIN_PASSWORD   (saved in $PW_FILE)
  try:       curl -u '$ADMIN_USER:$ADMIN_PASSWORD' $BASE_URL/api/v2/me/
  data dir:  $DATA_DIR
  log:       $LOG
  pid:       $SERVER_PID   (saved in $PIDFILE)
  stop:      kill $SERVER_PID     # or: kill "\$(cat $PIDFILE)"
EOF

if [ "$FOREGROUND" -eq 1 ]; then
  printf '\nrunning in the foreground (Ctrl-C stops rawx); log follows:\n\n'
  trap 'stop_server' INT TERM HUP
  tail -n 0 -F --pid="$SERVER_PID" "$LOG" &
  rc=0
  # wait returns early when a trapped signal arrives: keep waiting for rawx.
  while :; do
    wait "$SERVER_PID" && rc=0 || rc=$?
    kill -0 "$SERVER_PID" 2>/dev/null || break
  done
  rm -f "$PIDFILE"
  printf 'rawx server exited (status %s)\n' "$rc"
  exit "$rc"
fi
exit 0
