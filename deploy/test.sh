#!/usr/bin/env bash
# The project's test command:
#
#   bash deploy/test.sh [<extra cargo test arguments>]
#
# Builds the workspace and runs every test (unit, store tests on SQLite and PostgreSQL,
# end-to-end tests against the Synapses run by deploy/test-env.sh: two federated ones with their
# rate limits lifted, a third with Synapse's default message rate limit), then plays the
# demo once with deploy/demo.sh --check (skipped when arguments narrow the run). Installs Synapse
# from PyPI on first use (deploy/synapse.sh install). Everything it starts is stopped on exit,
# failed or not. Also checks the code's form (cargo fmt --check) and lints (cargo clippy -D
# warnings); a failure there fails the run but does not stop the tests. Exits non-zero when
# anything failed. Logs of the run stay in target/e2e/run/ (Synapse)
# and target/e2e/bots/ (bots of failed tests).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
START=$SECONDS
RUN_DIR="$ROOT/target/e2e/run"
TARGET_DIR="${CARGO_TARGET_DIR:-$ROOT/target}"

log() { printf 'test.sh: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }
elapsed() { local s=$((SECONDS - $1)); printf '%dm%02ds' $((s / 60)) $((s % 60)); }

command -v cargo >/dev/null || die "cargo is not installed (https://rustup.rs)"

for tool in fmt clippy; do
    cargo "$tool" --version >/dev/null 2>&1 || rustup component add "$([ "$tool" = fmt ] && echo rustfmt || echo clippy)" \
        || die "cargo $tool is missing and rustup could not add it"
done

# The code's form first (seconds): rustfmt.toml's layout. A failure here is reported at the end
# with the rest; the tests still run.
LINT_STATUS=0
LINT_FAILED=""
if ! cargo fmt --all --check >/dev/null; then
    LINT_STATUS=1
    LINT_FAILED="cargo fmt --all --check (run cargo fmt --all)"
    log "error: the code is not formatted: run cargo fmt --all"
fi
bash deploy/synapse.sh install

# Servers of an earlier run that was killed before its cleanup ran.
bash deploy/test-env.sh down "$RUN_DIR" >/dev/null 2>&1 || true
bash deploy/test-env.sh down "$ROOT/target/e2e/env" >/dev/null 2>&1 || true
rm -rf "$RUN_DIR" "$ROOT/target/e2e/bots"

cleanup() {
    local rc=$?
    bash deploy/test-env.sh down "$RUN_DIR" || log "warning: could not stop everything in $RUN_DIR"
    exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

ENV_START=$SECONDS
eval "$(bash deploy/test-env.sh up "$RUN_DIR")"
ENV_TIME="$(elapsed "$ENV_START")"
export EXODUS_BOT_BIN="${EXODUS_BOT_BIN:-$TARGET_DIR/debug/exodus-bot}"

# One build for everything: the test targets and the binaries they run (exodus-bot, exodus-demo,
# the benchmarks). `cargo build --bins` alone would resolve the dependencies' features without the
# dev-dependencies and compile matrix-sdk and much else a second time.
BUILD_START=$SECONDS
status=0
cargo test --workspace --no-run || status=$?
BUILD_TIME="$(elapsed "$BUILD_START")"

# Lints on every target, warnings as errors (clippy.toml and [workspace.lints] say which).
CLIPPY_START=$SECONDS
if ! cargo clippy --workspace --all-targets --quiet -- -D warnings; then
    LINT_STATUS=1
    LINT_FAILED="${LINT_FAILED:+$LINT_FAILED; }cargo clippy --workspace --all-targets -- -D warnings"
fi
CLIPPY_TIME="$(elapsed "$CLIPPY_START")"

TEST_START=$SECONDS
TEST_TIME="not run"
if [ "$status" -eq 0 ]; then
    cargo test --workspace --no-fail-fast "$@" || status=$?
    TEST_TIME="$(elapsed "$TEST_START")"
fi

# A smoke run of benchmark B4 (the optimal set-off) on the 10k and 100k presets, every result
# checked by the shared check_setoff.py and against the known optimum; the 1m preset is
# deploy/bench.sh b4's.
B4_TIME="not run"
if [ "$status" -eq 0 ] && [ $# -eq 0 ]; then
    B4_START=$SECONDS
    cargo bench -p exodus-commands --bench b4 -- --presets 10k,100k || status=$?
    B4_TIME="$(elapsed "$B4_START")"
fi

# The README's demo, played once non-interactively on the binaries just built (a smoke test of
# deploy/demo.sh itself; it uses its own Synapse on port 18020).
DEMO_TIME="not run"
if [ "$status" -eq 0 ] && [ $# -eq 0 ]; then
    DEMO_START=$SECONDS
    EXODUS_DEMO_PROFILE=debug EXODUS_DEMO_PREBUILT=1 EXODUS_DEMO_PORT=18020 EXODUS_DEMO_DIR="$ROOT/target/e2e/demo" \
        bash deploy/demo.sh --check || status=$?
    DEMO_TIME="$(elapsed "$DEMO_START")"
fi

if [ "$status" -eq 0 ] && [ "$LINT_STATUS" -ne 0 ]; then
    status=$LINT_STATUS
fi

{
    echo "================ deploy/test.sh summary ================"
    echo "homeservers + PostgreSQL up: $ENV_TIME"
    echo "cargo test --workspace --no-run (build): $BUILD_TIME"
    echo "cargo clippy --workspace --all-targets -- -D warnings: $CLIPPY_TIME"
    echo "cargo test --workspace: $TEST_TIME"
    echo "B4 smoke (cargo bench --bench b4 -- --presets 10k,100k): $B4_TIME"
    echo "deploy/demo.sh --check: $DEMO_TIME"
    echo "total wall time: $(elapsed "$START")"
    [ -z "$LINT_FAILED" ] || echo "failed: $LINT_FAILED"
    if [ "$status" -eq 0 ]; then
        echo "result: PASS"
    else
        echo "result: FAIL (exit status $status); Synapse logs: $RUN_DIR/hs-*/homeserver.log," \
            "bot logs of failed tests: $ROOT/target/e2e/bots/"
    fi
} >&2
exit "$status"
