#!/usr/bin/env bash
# The project's benchmarks (SPEC §9) on a release build, printing their figures:
#
#   bash deploy/bench.sh [b1 ...]      (default: every benchmark)
#
# B1 (in-process command throughput) needs PostgreSQL at EXODUS_TEST_PG_URL (default
# postgres://postgres@127.0.0.1:5432/test; `deploy/test-env.sh up` starts one if none runs).
# Exits non-zero when a benchmark's checks fail or a target is missed.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
TARGET_DIR="${CARGO_TARGET_DIR:-$ROOT/target}"

log() { printf 'bench.sh: %s\n' "$*" >&2; }

benches=("$@")
[ ${#benches[@]} -gt 0 ] || benches=(b1)

log "building in release mode (about 12 minutes on 2 cores the first time)"
cargo build --release -p exodus-bot --bin exodus-bench
status=0
for bench in "${benches[@]}"; do
    case "$bench" in
    b1) "$TARGET_DIR/release/exodus-bench" b1 --require-targets || status=$? ;;
    *) log "unknown benchmark $bench"; exit 2 ;;
    esac
done
exit "$status"
