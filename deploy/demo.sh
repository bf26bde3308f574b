#!/usr/bin/env bash
# The Exodus demo in one command: a local homeserver, the bot, and a scripted conversation.
#
#   deploy/demo.sh [--check] [--keep]
#
# On a fresh machine with Rust (https://rustup.rs), python3 and curl, it
#   1. installs Synapse from PyPI if needed (deploy/synapse.sh install; a few minutes at first),
#   2. builds the bot and the demo player (cargo build --release -p exodus-bot -p exodus-e2e --bins),
#   3. starts a throwaway Synapse without federation on http://127.0.0.1:8008 (data in target/demo),
#   4. registers the bot account `exodus` and an account for you, `newcomer`,
#   5. starts the bot (SQLite database in target/demo/bot, log in target/demo/bot.log) and waits
#      until its /health answers,
#   6. plays the demo: alice and bob create the room #demo:localhost:8008, invite the bot and talk
#      to it; every command and the bot's reply are printed as they happen. Then you are invited,
#   7. prints how to log in and join, and keeps the bot and Synapse running until Ctrl-C, which
#      stops both cleanly.
# Every run starts from scratch: the demo directory is reset (unless --keep).
#
# Options:
#   --check    non-interactive smoke test (same as EXODUS_DEMO_EXIT=1): plays the demo without
#              pauses, stops everything and exits 0 only if every step got the expected reply,
#              your account can log in and the bot is still up and did not panic.
#   --keep     do not reset: restart Synapse and the bot on the demo directory of the last run,
#              with its accounts, room and history, without playing the script again.
#   -h, --help this text.
#
# Environment:
#   EXODUS_DEMO_DIR        demo directory (default target/demo)
#   EXODUS_DEMO_PORT       Synapse's port (default 8008); the server name is localhost:<port>
#   EXODUS_DEMO_HTTP_PORT  port of the bot's /health and /metrics (default <port> + 779: 8787)
#   EXODUS_DEMO_PROFILE    cargo profile to build and run: release (default) or debug (faster
#                          to build, slower to run)
#   EXODUS_DEMO_PREBUILT   1: do not build; run the binaries already in target/<profile> (the test
#                          command builds them once for the tests and the demo)
#   EXODUS_DEMO_PACE       seconds between two demo steps (default 1.5, with --check 0)
#   EXODUS_DEMO_USER       your account's user name (default newcomer)
#   EXODUS_DEMO_EXIT       1: the same as --check
#   EXODUS_CACHE           where Synapse is installed (see deploy/synapse.sh)
# The bot is started without the caller's EXODUS_* variables, so they cannot change its config.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
SYNAPSE="$ROOT/deploy/synapse.sh"

log() { printf 'demo.sh: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }
usage() {
    sed -n '2,/^set -euo/p' "$0" | sed '$d' | sed 's/^# \{0,1\}//' >&2
    exit "${1:-2}"
}

CHECK=0
case "${EXODUS_DEMO_EXIT:-0}" in 1 | true | yes) CHECK=1 ;; esac
KEEP=0
for arg in "$@"; do
    case "$arg" in
    --check) CHECK=1 ;;
    --keep) KEEP=1 ;;
    -h | --help) usage 0 ;;
    *) log "unknown argument: $arg"; usage 2 ;;
    esac
done

DIR="${EXODUS_DEMO_DIR:-$ROOT/target/demo}"
PORT="${EXODUS_DEMO_PORT:-8008}"
[[ "$PORT" =~ ^[0-9]+$ ]] && [ "$PORT" -ge 1 ] && [ "$PORT" -le 64756 ] || die "EXODUS_DEMO_PORT must be a port number, not '$PORT'"
HTTP_PORT="${EXODUS_DEMO_HTTP_PORT:-$((PORT + 779))}"
[[ "$HTTP_PORT" =~ ^[0-9]+$ ]] && [ "$HTTP_PORT" -ge 1 ] && [ "$HTTP_PORT" -le 65535 ] || die "EXODUS_DEMO_HTTP_PORT must be a port number, not '$HTTP_PORT'"
PROFILE="${EXODUS_DEMO_PROFILE:-release}"
case "$PROFILE" in
release) CARGO_PROFILE_FLAG=(--release) ;;
debug) CARGO_PROFILE_FLAG=() ;;
*) die "EXODUS_DEMO_PROFILE must be release or debug, not '$PROFILE'" ;;
esac
if [ "$CHECK" = 1 ]; then PACE="${EXODUS_DEMO_PACE:-0}"; else PACE="${EXODUS_DEMO_PACE:-1.5}"; fi
NEWCOMER="${EXODUS_DEMO_USER:-newcomer}"
[[ "$NEWCOMER" =~ ^[a-z0-9._=/-]+$ ]] || die "EXODUS_DEMO_USER must be a lower-case Matrix user name, not '$NEWCOMER'"
BOT_NAME=exodus
ALIAS=demo
TARGET_DIR="${CARGO_TARGET_DIR:-$ROOT/target}"
BIN="$TARGET_DIR/$PROFILE"
HEALTH_TIMEOUT="${EXODUS_DEMO_HEALTH_TIMEOUT:-120}"

mkdir -p "$(dirname "$DIR")"
DIR="$(cd "$(dirname "$DIR")" && pwd)/$(basename "$DIR")"
case "$DIR" in *'"'* | *\\*) die "the demo directory path must not contain quotes or backslashes: $DIR" ;; esac
MARKER="$DIR/.exodus-demo"
HS_DIR="$DIR/hs"
BOT_LOG="$DIR/bot.log"
BOT_PID=""
SYNAPSE_STARTED=0
PHASE=setup

# --- processes -------------------------------------------------------------------------------

# alive <pid>: the process exists and is not a zombie (our exited, unreaped child).
alive() {
    local state
    state="$(sed -n 's/^.*) \(.\).*$/\1/p' "/proc/$1/stat" 2>/dev/null)" || return 1
    [ -n "$state" ] && [ "$state" != Z ]
}

port_in_use() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# stop_bot <pid>: SIGTERM, up to 30 s for a clean exit, then SIGKILL.
stop_bot() {
    local pid="$1" rc=0
    alive "$pid" || { wait "$pid" 2>/dev/null || true; return 0; }
    log "stopping the bot (pid $pid)"
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 1 150); do
        alive "$pid" || break
        sleep 0.2
    done
    if alive "$pid"; then
        log "the bot ignored SIGTERM for 30 s; killing it"
        kill -KILL "$pid" 2>/dev/null || true
    fi
    wait "$pid" 2>/dev/null || rc=$?
    if [ "$rc" -eq 0 ]; then log "the bot stopped cleanly"; else log "the bot exited with status $rc (log: $BOT_LOG)"; fi
}

# Leftovers of an earlier run in the same directory that was killed before its cleanup ran.
stop_leftovers() {
    local pid
    if [ -f "$DIR/bot.pid" ]; then
        pid="$(cat "$DIR/bot.pid")"
        if alive "$pid" && [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = exodus-bot ]; then
            log "stopping a bot left running by an earlier demo (pid $pid)"
            kill -TERM "$pid" 2>/dev/null || true
            for _ in $(seq 1 150); do alive "$pid" || break; sleep 0.2; done
            alive "$pid" && kill -KILL "$pid" 2>/dev/null || true
        fi
        rm -f "$DIR/bot.pid"
    fi
    if [ -f "$HS_DIR/pid" ]; then
        bash "$SYNAPSE" stop "$HS_DIR" || true
    fi
}

cleanup() {
    local rc=$?
    # A second Ctrl-C must not cut the clean-up short.
    trap '' INT TERM
    trap - EXIT
    if [ -n "$BOT_PID" ]; then
        stop_bot "$BOT_PID"
        rm -f "$DIR/bot.pid"
    fi
    if [ "$SYNAPSE_STARTED" = 1 ]; then
        bash "$SYNAPSE" stop "$HS_DIR" || { log "warning: could not stop Synapse in $HS_DIR"; rc=1; }
    fi
    exit "$rc"
}
on_signal() {
    trap '' INT TERM
    if [ "$PHASE" = serving ]; then
        printf '\n' >&2
        log "stopping the demo"
        exit 0
    fi
    log "interrupted"
    exit "$1"
}
trap cleanup EXIT
trap 'on_signal 130' INT
trap 'on_signal 143' TERM

# --- steps -----------------------------------------------------------------------------------

check_prerequisites() {
    command -v cargo >/dev/null || die "cargo is not installed: install Rust from https://rustup.rs"
    command -v python3 >/dev/null || die "python3 is required (Synapse is installed from PyPI)"
    command -v curl >/dev/null || die "curl is required"
    command -v setsid >/dev/null && command -v flock >/dev/null || die "setsid and flock are required (util-linux)"
}

build() {
    if [ "${EXODUS_DEMO_PREBUILT:-0}" = 1 ]; then
        log "using the binaries already built in $BIN"
    else
        log "building exodus-bot and exodus-demo ($PROFILE; the first build takes several minutes)"
        cargo build "${CARGO_PROFILE_FLAG[@]}" -p exodus-bot -p exodus-e2e --bins
    fi
    [ -x "$BIN/exodus-bot" ] && [ -x "$BIN/exodus-demo" ] ||
        die "the build did not produce $BIN/exodus-bot and $BIN/exodus-demo"
}

reset_dir() {
    if [ -e "$DIR" ] && [ ! -f "$MARKER" ] && [ -n "$(ls -A "$DIR" 2>/dev/null)" ]; then
        die "$DIR exists and is not a demo directory; refusing to reset it (set EXODUS_DEMO_DIR)"
    fi
    rm -rf "$DIR"
    mkdir -p "$DIR"
    touch "$MARKER"
}

random_password() { python3 -c 'import secrets; print(secrets.token_hex(6))'; }

start_synapse() {
    port_in_use "$PORT" && die "port $PORT is already in use (another homeserver?); choose another with EXODUS_DEMO_PORT"
    local exports
    SYNAPSE_STARTED=1
    exports="$(bash "$SYNAPSE" start "$HS_DIR" "$PORT" 8>&-)"
    eval "$exports"
}

register_accounts() {
    local bot_password newcomer_password bot_id newcomer_id
    bot_password="$(random_password)"
    newcomer_password="$(random_password)"
    bot_id="$(bash "$SYNAPSE" register "$HS_DIR" "$BOT_NAME" "$bot_password")" || die "could not register the bot account"
    newcomer_id="$(bash "$SYNAPSE" register "$HS_DIR" "$NEWCOMER" "$newcomer_password")" || die "could not register your account"
    log "registered $bot_id (the bot) and $newcomer_id (you)"
    (
        umask 077
        {
            printf 'BOT_ID=%q\nBOT_PASSWORD=%q\n' "$bot_id" "$bot_password"
            printf 'NEWCOMER_ID=%q\nNEWCOMER_PASSWORD=%q\n' "$newcomer_id" "$newcomer_password"
        } >"$DIR/accounts.env"
    )
}

write_bot_config() {
    (
        umask 077
        cat >"$DIR/exodus-bot.toml" <<EOF
# Written by deploy/demo.sh for the demo; every key is documented in deploy/exodus-bot.example.toml.
homeserver_url = "$SYNAPSE_URL"
user_id = "$BOT_ID"
password = "$BOT_PASSWORD"
data_dir = "$DIR/bot"
database_url = "sqlite://$DIR/bot/exodus.db"
admins = ["$NEWCOMER_ID"]
http_addr = "127.0.0.1:$HTTP_PORT"
EOF
    )
}

start_bot() {
    port_in_use "$HTTP_PORT" && die "port $HTTP_PORT (the bot's /health) is already in use; choose another with EXODUS_DEMO_HTTP_PORT"
    local unset=() var
    for var in $(compgen -e); do
        case "$var" in EXODUS_*) unset+=(-u "$var") ;; esac
    done
    "$BIN/exodus-bot" --check-config --config "$DIR/exodus-bot.toml" >/dev/null 2>>"$BOT_LOG" ||
        { tail -n 5 "$BOT_LOG" >&2; die "the bot rejected its configuration $DIR/exodus-bot.toml"; }
    log "starting the bot $BOT_ID (log: $BOT_LOG)"
    # setsid: Ctrl-C reaches this script only, which then stops the bot and Synapse in order.
    env "${unset[@]}" setsid "$BIN/exodus-bot" --config "$DIR/exodus-bot.toml" >>"$BOT_LOG" 2>&1 </dev/null 8>&- &
    BOT_PID=$!
    echo "$BOT_PID" >"$DIR/bot.pid"

    local started=$SECONDS url="http://127.0.0.1:$HTTP_PORT/health"
    while ! curl -fsS -o /dev/null --max-time 2 "$url" 2>/dev/null; do
        if ! alive "$BOT_PID"; then
            log "the bot exited during start-up; last lines of $BOT_LOG:"
            tail -n 30 "$BOT_LOG" >&2
            exit 1
        fi
        if [ $((SECONDS - started)) -ge "$HEALTH_TIMEOUT" ]; then
            log "the bot was not healthy within ${HEALTH_TIMEOUT}s; last lines of $BOT_LOG:"
            tail -n 30 "$BOT_LOG" >&2
            exit 1
        fi
        sleep 0.2
    done
    log "the bot is up after $((SECONDS - started))s ($url)"
}

play_demo() {
    local rc=0
    EXODUS_DEMO_HS_URL="$SYNAPSE_URL" \
        EXODUS_DEMO_HS_NAME="$SYNAPSE_SERVER_NAME" \
        EXODUS_DEMO_HS_SECRET="$SYNAPSE_SHARED_SECRET" \
        EXODUS_DEMO_BOT="$BOT_ID" \
        EXODUS_DEMO_INVITE="$NEWCOMER_ID" \
        EXODUS_DEMO_ALIAS="$ALIAS" \
        EXODUS_DEMO_PACE="$PACE" \
        EXODUS_DEMO_ROOM_FILE="$DIR/room" \
        "$BIN/exodus-demo" 8>&- || rc=$?
    return "$rc"
}

# The newcomer's credentials really work (what we print is what a client will send).
newcomer_can_log_in() {
    local body
    body="$(python3 -c 'import json, sys; print(json.dumps({"type": "m.login.password",
        "identifier": {"type": "m.id.user", "user": sys.argv[1]}, "password": sys.argv[2],
        "initial_device_display_name": "demo.sh check"}))' "$NEWCOMER" "$NEWCOMER_PASSWORD")"
    curl -fsS -o /dev/null --max-time 10 -H 'Content-Type: application/json' \
        -d "$body" "$SYNAPSE_URL/_matrix/client/v3/login"
}

print_join_info() {
    local alias="#$ALIAS:$SYNAPSE_SERVER_NAME"
    [ -s "$DIR/room" ] && alias="$(sed -n 2p "$DIR/room")"
    cat <<EOF

────────────────────────────────────────────────────────────────────────────────
Your turn. Log in with any Matrix client: Element Desktop, or https://app.element.io
(Sign in → homeserver "Edit" → enter the URL below).

    homeserver   $SYNAPSE_URL
    user name    $NEWCOMER        (full user ID: $NEWCOMER_ID)
    password     $NEWCOMER_PASSWORD

Alice and bob talked to the bot in $alias and invited you there:
accept the invite and type !help, or start a direct chat with $BOT_ID.
You are an admin of this bot (admins = ["$NEWCOMER_ID"]).

Bot log: $BOT_LOG
Synapse log: $HS_DIR/homeserver.log
The bot and Synapse stay up until you press Ctrl-C, which stops both.
(deploy/demo.sh --keep starts them again with everything kept.)
────────────────────────────────────────────────────────────────────────────────
EOF
}

# --- main ------------------------------------------------------------------------------------

check_prerequisites
# One demo per directory at a time (the lock is released when this script exits).
exec 8>"$DIR.lock"
flock -n 8 || die "another deploy/demo.sh is running on $DIR; stop it first (Ctrl-C), or set EXODUS_DEMO_DIR"
bash "$SYNAPSE" install
build
stop_leftovers

PLAY=1
if [ "$KEEP" = 1 ] && [ -f "$MARKER" ] && [ -s "$DIR/accounts.env" ] && [ -s "$HS_DIR/server_name" ]; then
    [ "$(cat "$HS_DIR/server_name")" = "localhost:$PORT" ] ||
        die "$DIR holds the demo of $(cat "$HS_DIR/server_name"): run it with EXODUS_DEMO_PORT=$(sed 's/.*://' "$HS_DIR/server_name"), or without --keep"
    log "keeping $DIR: restarting Synapse and the bot with its accounts and rooms"
    [ "$CHECK" = 1 ] || PLAY=0
    start_synapse
    # shellcheck disable=SC1091
    . "$DIR/accounts.env"
else
    [ "$KEEP" = 1 ] && log "no earlier demo in $DIR to keep; starting afresh"
    log "resetting $DIR"
    reset_dir
    start_synapse
    register_accounts
    # shellcheck disable=SC1091
    . "$DIR/accounts.env"
fi
write_bot_config
start_bot

status=0
if [ "$PLAY" = 1 ]; then
    printf '\n'
    play_demo || status=$?
    printf '\n'
    [ "$status" -eq 0 ] || log "the demo did not go as scripted (exit status $status); bot log: $BOT_LOG"
fi
if ! alive "$BOT_PID"; then
    log "the bot is no longer running; last lines of $BOT_LOG:"
    tail -n 30 "$BOT_LOG" >&2
    status=1
fi
if ! newcomer_can_log_in; then
    log "$NEWCOMER_ID cannot log in with the password printed below"
    status=1
fi

if [ "$CHECK" = 1 ]; then
    if grep -q 'panicked' "$BOT_LOG"; then
        log "the bot panicked (see $BOT_LOG)"
        status=1
    fi
    if [ "$status" -eq 0 ]; then log "check passed"; else log "check FAILED"; fi
    exit "$status"
fi

print_join_info
PHASE=serving
rc=0
wait "$BOT_PID" || rc=$?
BOT_PID=""
rm -f "$DIR/bot.pid"
die "the bot exited on its own with status $rc; see $BOT_LOG"
