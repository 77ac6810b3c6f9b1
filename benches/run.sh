#!/usr/bin/env bash
# Runs the API load benchmark: bash benches/run.sh [cargo bench args...]
#
# Installs what is missing (rawx's Debian packages, plus wrk and pgbench from
# postgresql-contrib), starts PostgreSQL on 127.0.0.1:5432 (role rawx/rawx)
# and Redis on 127.0.0.1:6379 as scripts/test.sh does, then runs
#   cargo bench --bench api_load [args...]
# which builds the release binary, seeds a fresh database, loads the API with
# wrk and prints req/s, p50/p99 and RSS next to a pgbench baseline and AWX's
# figures (also written to $CARGO_TARGET_DIR/bench-api_load.json).
#
# Examples:
#   bash benches/run.sh
#   bash benches/run.sh -- --duration 5     # 5 s per load run instead of 10
#
# Environment: RAWX_TEST_DATABASE_URL, RAWX_TEST_REDIS_URL (as scripts/test.sh;
# the local servers are only set up for the defaults), RAWX_BENCH_SECONDS,
# CARGO_TARGET_DIR, RAWX_SKIP_APT: see scripts/lib.sh.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
# shellcheck source=scripts/lib.sh
source scripts/lib.sh

# shellcheck disable=SC2119 # no args: the default package list
ensure_packages
ensure_packages wrk postgresql-contrib
for tool in wrk pgbench; do
  command -v "$tool" >/dev/null 2>&1 || rawx_die "$tool is not installed (apt-get install wrk postgresql-contrib)"
done

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
cargo_env

locked=()
if [ -n "$(cargo_locked)" ]; then
  locked=(--locked)
fi

rawx_log "running cargo bench --bench api_load (CARGO_TARGET_DIR=$CARGO_TARGET_DIR)"
exec cargo bench --bench api_load "${locked[@]}" "$@"
