#!/usr/bin/env bash
# The environment the end-to-end tests run in: PostgreSQL, two federated Synapses and a third one
# with a real message rate limit.
#
#   deploy/test-env.sh up [<dir>]     (default <dir>: target/e2e/env)
#       Makes sure PostgreSQL answers at 127.0.0.1:5432 (otherwise starts a throwaway cluster in
#       <dir>/pg with initdb/pg_ctl: trust auth, database `test`), starts Synapse A (http 18008,
#       tls 18448) and Synapse B (http 18009, tls 18449) in federation mode under <dir>, and
#       Synapse C (http 18010, not federated) with Synapse's default message rate limit
#       (EXODUS_SYNAPSE_REAL_LIMITS=1 of deploy/synapse.sh: 0.2/s after a burst of 10; the tests
#       exempt their members, not the bot), and prints the `export EXODUS_TEST_*=…` lines the
#       tests read (also saved in <dir>/env): EXODUS_TEST_HS_* for A, _HS2_* for B, _HS3_* for C.
#       Typical use:  eval "$(deploy/test-env.sh up)"; cargo test -p exodus-e2e; deploy/test-env.sh down
#
#   deploy/test-env.sh down [<dir>]
#       Stops the three Synapses and the throwaway PostgreSQL cluster, if this script started one.
#
# Ports can be moved with EXODUS_TEST_PORTS="18008 18448 18009 18449 18010" (A's http and tls,
# B's, C's http; C's defaults to 18010 when only four are given).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
SYNAPSE="$ROOT/deploy/synapse.sh"
PG_HOST=127.0.0.1
PG_PORT=5432

log() { printf 'test-env.sh: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

read -r A_HTTP A_TLS B_HTTP B_TLS C_HTTP <<<"${EXODUS_TEST_PORTS:-18008 18448 18009 18449 18010}"
C_HTTP="${C_HTTP:-18010}"

pg_answers() { pg_isready -q -h "$PG_HOST" -p "$PG_PORT" -t 2 >/dev/null 2>&1; }

# Runs a PostgreSQL tool as the `postgres` user when we are root (initdb refuses root).
as_pg() {
    if [ "$(id -u)" = 0 ]; then
        id postgres >/dev/null 2>&1 || die "running as root and there is no 'postgres' user for initdb"
        runuser -u postgres -- "$@"
    else
        "$@"
    fi
}

ensure_postgres() {
    local dir="$1"
    if pg_answers; then
        log "PostgreSQL answers at $PG_HOST:$PG_PORT"
        if command -v psql >/dev/null; then
            psql -h "$PG_HOST" -p "$PG_PORT" -U postgres -d postgres -tAc \
                "SELECT 1 FROM pg_database WHERE datname = 'test'" 2>/dev/null | grep -q 1 ||
                psql -h "$PG_HOST" -p "$PG_PORT" -U postgres -d postgres -qc 'CREATE DATABASE test' >&2 ||
                log "warning: could not make sure database 'test' exists"
        fi
        return 0
    fi
    command -v initdb >/dev/null && command -v pg_ctl >/dev/null ||
        die "PostgreSQL does not answer at $PG_HOST:$PG_PORT and initdb/pg_ctl are not installed"
    log "PostgreSQL does not answer at $PG_HOST:$PG_PORT; starting a throwaway cluster in $dir/pg"
    rm -rf "$dir/pg"
    mkdir -p "$dir/pg"
    [ "$(id -u)" = 0 ] && chown postgres "$dir/pg"
    as_pg initdb -D "$dir/pg/data" -U postgres --auth=trust -E UTF8 >"$dir/pg/initdb.log" 2>&1 ||
        { tail -n 20 "$dir/pg/initdb.log" >&2; die "initdb failed"; }
    as_pg pg_ctl -D "$dir/pg/data" -l "$dir/pg/postgres.log" -w -t 60 \
        -o "-h $PG_HOST -p $PG_PORT -k $dir/pg -c fsync=off -c synchronous_commit=off -c full_page_writes=off" \
        start >&2 || { tail -n 20 "$dir/pg/postgres.log" >&2; die "pg_ctl start failed"; }
    touch "$dir/pg/started-by-test-env"
    pg_answers || die "the throwaway PostgreSQL cluster does not answer"
    as_pg psql -h "$PG_HOST" -p "$PG_PORT" -U postgres -d postgres -qc 'CREATE DATABASE test' >&2 ||
        die "could not create database 'test'"
}

# Databases left behind by earlier runs of the e2e tests (BotProcess with Database::Postgres).
drop_old_test_databases() {
    command -v psql >/dev/null || return 0
    local db
    for db in $(psql -h "$PG_HOST" -p "$PG_PORT" -U postgres -d postgres -tAc \
        "SELECT datname FROM pg_database WHERE datname LIKE 'exodus\\_e2e\\_%'" 2>/dev/null); do
        psql -h "$PG_HOST" -p "$PG_PORT" -U postgres -d postgres -qc "DROP DATABASE IF EXISTS $db" >&2 || true
    done
}

cmd_up() {
    local dir="${1:-$ROOT/target/e2e/env}"
    mkdir -p "$dir"
    dir="$(cd "$dir" && pwd)"
    if [ -s "$dir/env" ] && kill -0 "$(cat "$dir/hs-a/pid" 2>/dev/null)" 2>/dev/null &&
        kill -0 "$(cat "$dir/hs-b/pid" 2>/dev/null)" 2>/dev/null &&
        kill -0 "$(cat "$dir/hs-c/pid" 2>/dev/null)" 2>/dev/null && pg_answers; then
        log "already up in $dir"
        cat "$dir/env"
        return 0
    fi
    command -v pg_isready >/dev/null || die "pg_isready is not installed (apt-get install postgresql-client)"
    # A partial environment (one server died, or <dir> is from before Synapse C): start afresh.
    local hs
    for hs in hs-a hs-b hs-c; do
        if [ -d "$dir/$hs" ]; then bash "$SYNAPSE" stop "$dir/$hs" >/dev/null 2>&1 || true; fi
    done
    ensure_postgres "$dir"
    drop_old_test_databases

    local a b c
    a="$(bash "$SYNAPSE" start "$dir/hs-a" "$A_HTTP" "$A_TLS")"
    b="$(bash "$SYNAPSE" start "$dir/hs-b" "$B_HTTP" "$B_TLS")" || { bash "$SYNAPSE" stop "$dir/hs-a"; exit 1; }
    c="$(EXODUS_SYNAPSE_REAL_LIMITS=1 bash "$SYNAPSE" start "$dir/hs-c" "$C_HTTP")" ||
        { bash "$SYNAPSE" stop "$dir/hs-a"; bash "$SYNAPSE" stop "$dir/hs-b"; exit 1; }
    {
        (eval "$a"; printf 'export EXODUS_TEST_HS_URL=%s\nexport EXODUS_TEST_HS_NAME=%s\nexport EXODUS_TEST_HS_SECRET=%s\n' \
            "$SYNAPSE_URL" "$SYNAPSE_SERVER_NAME" "$SYNAPSE_SHARED_SECRET")
        (eval "$b"; printf 'export EXODUS_TEST_HS2_URL=%s\nexport EXODUS_TEST_HS2_NAME=%s\nexport EXODUS_TEST_HS2_SECRET=%s\n' \
            "$SYNAPSE_URL" "$SYNAPSE_SERVER_NAME" "$SYNAPSE_SHARED_SECRET")
        (eval "$c"; printf 'export EXODUS_TEST_HS3_URL=%s\nexport EXODUS_TEST_HS3_NAME=%s\nexport EXODUS_TEST_HS3_SECRET=%s\n' \
            "$SYNAPSE_URL" "$SYNAPSE_SERVER_NAME" "$SYNAPSE_SHARED_SECRET")
        printf 'export EXODUS_TEST_PG_URL=postgres://postgres@%s:%s/test\n' "$PG_HOST" "$PG_PORT"
    } >"$dir/env"
    cat "$dir/env"
}

cmd_down() {
    local dir="${1:-$ROOT/target/e2e/env}"
    [ -d "$dir" ] || return 0
    local rc=0
    bash "$SYNAPSE" stop "$dir/hs-a" || rc=1
    bash "$SYNAPSE" stop "$dir/hs-b" || rc=1
    bash "$SYNAPSE" stop "$dir/hs-c" || rc=1
    if [ -f "$dir/pg/started-by-test-env" ]; then
        as_pg pg_ctl -D "$dir/pg/data" -m fast -w stop >&2 || rc=1
        rm -f "$dir/pg/started-by-test-env"
    fi
    return $rc
}

case "${1:-}" in
up) shift; cmd_up "$@" ;;
down) shift; cmd_down "$@" ;;
*) sed -n '2,/^set -euo/p' "$0" | sed '$d' | sed 's/^# \{0,1\}//' >&2; exit 2 ;;
esac
