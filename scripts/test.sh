#!/usr/bin/env bash
# THE test command: bash scripts/test.sh [cargo test args...]
#
# Installs/starts what the tests need (Debian packages, PostgreSQL on
# 127.0.0.1:5432 with role rawx/rawx, Redis on 127.0.0.1:6379, the Python venv
# with ansible-runner, the awx.awx collection), then runs cargo fmt --check,
# clippy -D warnings and cargo test. Extra arguments go to `cargo test`, e.g.
#   bash scripts/test.sh heartbeat
#   bash scripts/test.sh -p rawx -- --nocapture
#
# Environment:
#   RAWX_TEST_DATABASE_URL  (default postgres://rawx:rawx@127.0.0.1:5432/postgres;
#                            the local server is only set up when it is the default)
#   RAWX_TEST_REDIS_URL     (default redis://127.0.0.1:6379; likewise)
#   RAWX_VENV, RAWX_COLLECTIONS, CARGO_TARGET_DIR, RAWX_SKIP_APT: see scripts/lib.sh
#   RAWX_SKIP_LINT=1        skip cargo fmt and clippy
#   RAWX_FAIL_FAST=1        stop at the first failing step
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
# shellcheck source=scripts/lib.sh
source scripts/lib.sh

t_start=$SECONDS

# shellcheck disable=SC2119 # no args: the default package list
ensure_packages
export RAWX_TEST_DATABASE_URL="${RAWX_TEST_DATABASE_URL:-$RAWX_PG_URL_DEFAULT}"
export RAWX_TEST_REDIS_URL="${RAWX_TEST_REDIS_URL:-$RAWX_REDIS_URL_DEFAULT}"
if [ "$RAWX_TEST_DATABASE_URL" = "$RAWX_PG_URL_DEFAULT" ]; then
  ensure_postgres
else
  rawx_log "RAWX_TEST_DATABASE_URL is set: not setting up the local PostgreSQL"
fi
if [ "$RAWX_TEST_REDIS_URL" = "$RAWX_REDIS_URL_DEFAULT" ]; then
  ensure_redis
else
  rawx_log "RAWX_TEST_REDIS_URL is set: not setting up the local Redis"
fi
VENV_BIN="$(ensure_venv)"
export RAWX_VENV="${VENV_BIN%/bin}"
RAWX_COLLECTIONS="$(ensure_awx_collection)"
export RAWX_COLLECTIONS
cargo_env

locked=()
if [ -n "$(cargo_locked)" ]; then
  locked=(--locked)
fi

rawx_log "setup done in $((SECONDS - t_start))s (CARGO_TARGET_DIR=$CARGO_TARGET_DIR, RAWX_VENV=$RAWX_VENV, RAWX_COLLECTIONS=$RAWX_COLLECTIONS)"

step_names=()
step_results=()
failed=0

# step NAME CMD...: runs CMD, records PASS/FAIL and its duration.
step() {
  local name="$1"
  shift
  if [ "$failed" -ne 0 ] && [ "${RAWX_FAIL_FAST:-0}" = 1 ]; then
    step_names+=("$name")
    step_results+=("SKIP (fail fast)")
    return 0
  fi
  printf '\n==> %s: %s\n' "$name" "$*"
  local t0=$SECONDS rc=0
  "$@" || rc=$?
  step_names+=("$name")
  if [ "$rc" -eq 0 ]; then
    step_results+=("PASS ($((SECONDS - t0))s)")
  else
    step_results+=("FAIL (exit $rc, $((SECONDS - t0))s)")
    failed=1
  fi
}

if [ "${RAWX_SKIP_LINT:-0}" = 1 ]; then
  step_names+=("fmt" "clippy")
  step_results+=("SKIP (RAWX_SKIP_LINT=1)" "SKIP (RAWX_SKIP_LINT=1)")
else
  step fmt cargo fmt --all -- --check
  step clippy cargo clippy --workspace --all-targets "${locked[@]}" -- -D warnings
fi
step test cargo test --workspace "${locked[@]}" "$@"

printf '\n==> rawx test summary (%ss total)\n' "$((SECONDS - t_start))"
for i in "${!step_names[@]}"; do
  printf '    %-7s %s\n' "${step_names[$i]}" "${step_results[$i]}"
done
if [ "$failed" -ne 0 ]; then
  printf 'RESULT: FAILED\n'
  exit 1
fi
printf 'RESULT: OK\n'
