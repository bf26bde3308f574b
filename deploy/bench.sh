#!/usr/bin/env bash
# The project's benchmarks (SPEC §9) on a release build, printing their figures:
#
#   bash deploy/bench.sh [b1|b2|b3|b4 ...]   (default: every benchmark)
#
# B1 (in-process command throughput) and B3 (the monthly rollover of 100,000 members and
# 1,000,000 records) need PostgreSQL at EXODUS_TEST_PG_URL (default
# postgres://postgres@127.0.0.1:5432/test). B2 (reply latency through Synapse, against a minimal
# echo bot) needs a homeserver: the one of EXODUS_TEST_HS_URL if set, otherwise this script starts
# the test environment (deploy/test-env.sh up target/e2e/bench, which also makes sure PostgreSQL
# answers) and stops it at the end. B4 (the optimal set-off of 10k, 100k and 1M obligations, each
# result verified by ../shared/bench/check_setoff.py) is `cargo bench -p exodus-commands --bench b4`.
# Exits non-zero when a benchmark's checks fail or a target is missed.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
TARGET_DIR="${CARGO_TARGET_DIR:-$ROOT/target}"
ENV_DIR="$ROOT/target/e2e/bench"

log() { printf 'bench.sh: %s\n' "$*" >&2; }

benches=("$@")
[ ${#benches[@]} -gt 0 ] || benches=(b1 b3 b2 b4)

STARTED_ENV=0
cleanup() {
    local rc=$?
    [ "$STARTED_ENV" = 1 ] && bash deploy/test-env.sh down "$ENV_DIR" >/dev/null 2>&1
    exit $rc
}
trap cleanup EXIT

needs_hs=0
for bench in "${benches[@]}"; do if [ "$bench" = b2 ]; then needs_hs=1; fi; done
if [ "$needs_hs" = 1 ] && [ -z "${EXODUS_TEST_HS_URL:-}" ]; then
    bash deploy/synapse.sh install
    bash deploy/test-env.sh down "$ENV_DIR" >/dev/null 2>&1 || true
    STARTED_ENV=1
    eval "$(bash deploy/test-env.sh up "$ENV_DIR")"
fi

log "building in release mode (about 12 minutes on 2 cores the first time)"
cargo build --release --workspace --bins
export EXODUS_BOT_BIN="$TARGET_DIR/release/exodus-bot"
status=0
for bench in "${benches[@]}"; do
    case "$bench" in
    b1) "$TARGET_DIR/release/exodus-bench" b1 --require-targets || status=$? ;;
    b2) "$TARGET_DIR/release/exodus-b2" --require-target || status=$? ;;
    b3) "$TARGET_DIR/release/exodus-bench" b3 --require-targets || status=$? ;;
    b4) cargo bench -p exodus-commands --bench b4 || status=$? ;;
    *) log "unknown benchmark $bench"; exit 2 ;;
    esac
done
exit "$status"
