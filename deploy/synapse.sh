#!/usr/bin/env bash
# Throwaway Synapse homeservers for the end-to-end tests, the demo and manual checks.
#
#   deploy/synapse.sh install
#       Installs matrix-synapse from PyPI into ${EXODUS_CACHE:-~/.cache/exodus}/synapse-venv
#       (idempotent: nothing happens if `import synapse` already works there).
#
#   deploy/synapse.sh start <dir> <http_port> [<tls_port>]
#       Writes <dir>/homeserver.yaml (SQLite in <dir>, 127.0.0.1 only, registration closed
#       except through the shared-secret admin API, every rate limit raised out of the way, or
#       all but the message limit with EXODUS_SYNAPSE_REAL_LIMITS=1, see below),
#       starts Synapse in the background (pid in <dir>/pid, log in <dir>/homeserver.log) and
#       waits until it answers. Without <tls_port> the server name is `localhost:<http_port>`.
#       With <tls_port> (federation mode) the server name is `localhost:<tls_port>` and a TLS
#       listener with a self-signed certificate serves client + federation there, so that
#       two such servers federate over loopback.
#       Prints `export SYNAPSE_URL=… SYNAPSE_SERVER_NAME=… SYNAPSE_SHARED_SECRET=…` on stdout
#       (everything else goes to stderr), e.g. `eval "$(deploy/synapse.sh start …)"`.
#
#   deploy/synapse.sh stop <dir>
#       SIGTERM, then SIGKILL after 30 s.
#
#   deploy/synapse.sh register <dir> <localpart> <password> [admin]
#       Registers a user through the shared-secret admin API; prints the user ID.
#
# Environment: EXODUS_CACHE (venv location), EXODUS_SYNAPSE_START_TIMEOUT (seconds, default 90),
# EXODUS_SYNAPSE_LOG_LEVEL (default INFO), and
#   EXODUS_SYNAPSE_REAL_LIMITS=1 (read by `start`): `rc_message` is left out of the config, so
#       that Synapse's default applies as on a real homeserver: 0.2 events/s per account after a
#       burst of 10 (it counts every event an account sends: messages, reactions, joins, room
#       creations). The other limiters stay raised (tests register, log in, create rooms and
#       invite in bursts). Exempt an account with the admin API, e.g. the tests' members:
#       POST /_synapse/admin/v1/users/<user_id>/override_ratelimit
#       {"messages_per_second": 0, "burst_count": 0}
#       The setting is written into homeserver.yaml at every `start`: give it at every start.
set -euo pipefail

CACHE="${EXODUS_CACHE:-$HOME/.cache/exodus}"
VENV="$CACHE/synapse-venv"
PY="$VENV/bin/python"

log() { printf 'synapse.sh: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

usage() {
    sed -n '2,/^set -euo/p' "$0" | sed '$d' | sed 's/^# \{0,1\}//' >&2
    exit 2
}

synapse_installed() { [ -x "$PY" ] && "$PY" -c 'import synapse' 2>/dev/null; }

cmd_install() {
    if synapse_installed; then
        log "synapse $("$PY" -c 'import synapse; print(synapse.__version__)') already installed in $VENV"
        return 0
    fi
    mkdir -p "$CACHE"
    # Serialise concurrent installs (two test runs starting at once).
    exec 9>"$CACHE/synapse-install.lock"
    flock 9
    if synapse_installed; then return 0; fi
    command -v python3 >/dev/null || die "python3 is required to install Synapse"
    log "installing matrix-synapse into $VENV (takes a few minutes)"
    python3 -m venv "$VENV"
    "$VENV/bin/pip" install --quiet --upgrade pip >&2
    "$VENV/bin/pip" install --quiet matrix-synapse >&2
    synapse_installed || die "matrix-synapse installed but 'import synapse' still fails"
    log "installed synapse $("$PY" -c 'import synapse; print(synapse.__version__)')"
}

# is_running <dir>: the pid file names a live process.
is_running() {
    local pidfile="$1/pid"
    [ -f "$pidfile" ] && kill -0 "$(cat "$pidfile")" 2>/dev/null
}

ensure_openssl() {
    command -v openssl >/dev/null && return 0
    log "openssl missing; installing it with apt-get"
    if [ "$(id -u)" = 0 ]; then
        apt-get update -qq >&2 && apt-get install -y -qq openssl >&2
    else
        sudo apt-get update -qq >&2 && sudo apt-get install -y -qq openssl >&2
    fi
    command -v openssl >/dev/null || die "openssl is required for federation mode"
}

random_secret() { "$PY" -c 'import secrets; print(secrets.token_hex(32))'; }

write_config() {
    local dir="$1" http_port="$2" tls_port="$3" server_name="$4" secret="$5"
    local level="${EXODUS_SYNAPSE_LOG_LEVEL:-INFO}"
    local real_limits="${EXODUS_SYNAPSE_REAL_LIMITS:-0}"
    case "$real_limits" in
    0 | 1) ;;
    *) die "EXODUS_SYNAPSE_REAL_LIMITS must be 0 or 1, not '$real_limits'" ;;
    esac
    cat >"$dir/log.config" <<EOF
version: 1
formatters:
  precise:
    format: '%(asctime)s - %(name)s - %(lineno)d - %(levelname)s - %(request)s - %(message)s'
handlers:
  console:
    class: logging.StreamHandler
    formatter: precise
    stream: ext://sys.stderr
loggers:
  synapse.storage.SQL:
    level: WARNING
  twisted:
    level: WARNING
root:
  level: $level
  handlers: [console]
disable_existing_loggers: false
EOF

    # Every rate limiter Synapse knows (synapse/config/ratelimiting.py), raised far beyond
    # what a test suite does: tests register, log in, create rooms and invite in bursts. With
    # EXODUS_SYNAPSE_REAL_LIMITS=1 all but `rc_message`, which is left to Synapse's default.
    local fast='{per_second: 100000, burst_count: 1000000}'
    local rc_message="rc_message: $fast"
    if [ "$real_limits" = 1 ]; then
        rc_message="# rc_message: Synapse's default (0.2/s, burst 10; EXODUS_SYNAPSE_REAL_LIMITS=1)"
    fi
    cat >"$dir/homeserver.yaml" <<EOF
# Generated by deploy/synapse.sh: a throwaway homeserver for tests. Do not use in production.
server_name: "$server_name"
public_baseurl: "http://127.0.0.1:$http_port/"
pid_file: "$dir/synapse.pid"
signing_key_path: "$dir/signing.key"
log_config: "$dir/log.config"
media_store_path: "$dir/media_store"
database:
  name: sqlite3
  args:
    database: "$dir/homeserver.db"
listeners:
  - port: $http_port
    bind_addresses: ['127.0.0.1']
    type: http
    tls: false
    x_forwarded: false
    resources:
      - names: [client, federation]
        compress: false
EOF
    if [ -n "$tls_port" ]; then
        cat >>"$dir/homeserver.yaml" <<EOF
  - port: $tls_port
    bind_addresses: ['127.0.0.1']
    type: http
    tls: true
    x_forwarded: false
    resources:
      - names: [client, federation]
        compress: false
tls_certificate_path: "$dir/tls.crt"
tls_private_key_path: "$dir/tls.key"
# Two servers on loopback with self-signed certificates, no notary.
federation_verify_certificates: false
# Loopback is in Synapse's default outbound IP blocklist; federation needs it.
ip_range_whitelist: ['127.0.0.0/8', '::1/128']
federation:
  # A peer that was briefly unreachable must not be backed off for 10 minutes.
  destination_min_retry_interval: 1s
  destination_max_retry_interval: 5s
  max_short_retry_delay: 1s
  max_long_retry_delay: 5s
EOF
    fi
    cat >>"$dir/homeserver.yaml" <<EOF
trusted_key_servers: []
suppress_key_server_warning: true
report_stats: false
enable_metrics: false
use_presence: false
enable_registration: false
registration_shared_secret: "$secret"
macaroon_secret_key: "$(random_secret)"
form_secret: "$(random_secret)"
url_preview_enabled: false
# Registration and password login hash with bcrypt; 12 rounds cost ~0.3 s of CPU each.
bcrypt_rounds: 4
$rc_message
rc_registration: $fast
rc_registration_token_validity: $fast
rc_login:
  address: $fast
  account: $fast
  failed_attempts: $fast
rc_admin_redaction: $fast
rc_joins:
  local: $fast
  remote: $fast
rc_joins_per_room: $fast
rc_key_requests: $fast
rc_3pid_validation: $fast
rc_invites:
  per_room: $fast
  per_user: $fast
  per_issuer: $fast
rc_third_party_invite: $fast
rc_media_create: $fast
rc_presence:
  per_user: $fast
rc_delayed_event_mgmt: $fast
rc_room_creation: $fast
rc_reports: $fast
rc_user_directory: $fast
rc_profile: $fast
rc_federation:
  window_size: 1000
  sleep_limit: 100000
  sleep_delay: 1
  reject_limit: 1000000
  concurrent: 1000
federation_rr_transactions_per_room_per_second: 100000
EOF
}

cmd_start() {
    [ $# -ge 2 ] && [ $# -le 3 ] || usage
    local dir="$1" http_port="$2" tls_port="${3:-}"
    synapse_installed || die "Synapse is not installed; run: $0 install"
    mkdir -p "$dir"
    dir="$(cd "$dir" && pwd)"
    if is_running "$dir"; then
        die "a Synapse is already running from $dir (pid $(cat "$dir/pid")); run: $0 stop $dir"
    fi

    local server_name="localhost:$http_port"
    if [ -n "$tls_port" ]; then
        server_name="localhost:$tls_port"
        if [ ! -s "$dir/tls.crt" ] || [ ! -s "$dir/tls.key" ]; then
            ensure_openssl
            openssl req -x509 -newkey rsa:2048 -nodes -days 3650 \
                -keyout "$dir/tls.key" -out "$dir/tls.crt" \
                -subj "/CN=localhost" -addext "subjectAltName=DNS:localhost,IP:127.0.0.1" \
                >/dev/null 2>&1 || die "openssl could not create a self-signed certificate"
        fi
    fi
    # A directory keeps its database between starts; a database belongs to one server name.
    if [ -f "$dir/server_name" ] && [ "$(cat "$dir/server_name")" != "$server_name" ]; then
        die "$dir holds a database for $(cat "$dir/server_name"), not $server_name; use another directory"
    fi
    echo "$server_name" >"$dir/server_name"
    if [ ! -s "$dir/shared_secret" ]; then
        (umask 077 && random_secret >"$dir/shared_secret")
    fi
    local secret
    secret="$(cat "$dir/shared_secret")"

    write_config "$dir" "$http_port" "$tls_port" "$server_name" "$secret"
    if [ ! -s "$dir/signing.key" ]; then
        "$PY" -m synapse.app.homeserver -c "$dir/homeserver.yaml" --generate-keys >&2 \
            || die "could not generate the signing key"
    fi

    local started=$SECONDS
    local limits=""
    [ "${EXODUS_SYNAPSE_REAL_LIMITS:-0}" = 1 ] && limits=", Synapse's default message rate limit"
    log "starting $server_name on http://127.0.0.1:$http_port${tls_port:+ and https://127.0.0.1:$tls_port}$limits (log: $dir/homeserver.log)"
    # setsid: the server outlives the caller's process group (Ctrl-C in a test run, a test
    # binary that exits) until `stop` is called.
    setsid "$PY" -m synapse.app.homeserver -c "$dir/homeserver.yaml" \
        >>"$dir/homeserver.log" 2>&1 </dev/null &
    echo $! >"$dir/pid"

    local timeout="${EXODUS_SYNAPSE_START_TIMEOUT:-90}"
    local url="http://127.0.0.1:$http_port"
    while :; do
        if ! is_running "$dir"; then
            log "Synapse exited during start-up; last lines of $dir/homeserver.log:"
            tail -n 40 "$dir/homeserver.log" >&2
            rm -f "$dir/pid"
            exit 1
        fi
        if curl -fsS -o /dev/null --max-time 2 "$url/_matrix/client/versions" 2>/dev/null &&
            { [ -z "$tls_port" ] ||
                curl -fsSk -o /dev/null --max-time 2 "https://127.0.0.1:$tls_port/_matrix/key/v2/server" 2>/dev/null; }; then
            break
        fi
        if [ $((SECONDS - started)) -ge "$timeout" ]; then
            log "Synapse did not answer on $url within ${timeout}s; last lines of $dir/homeserver.log:"
            tail -n 40 "$dir/homeserver.log" >&2
            cmd_stop "$dir" || true
            exit 1
        fi
        sleep 0.2
    done
    log "$server_name ready after $((SECONDS - started))s (pid $(cat "$dir/pid"))"
    echo "export SYNAPSE_URL=$url"
    echo "export SYNAPSE_SERVER_NAME=$server_name"
    echo "export SYNAPSE_SHARED_SECRET=$secret"
    if [ -n "$tls_port" ]; then
        echo "export SYNAPSE_FEDERATION_URL=https://127.0.0.1:$tls_port"
    fi
}

cmd_stop() {
    [ $# -eq 1 ] || usage
    local dir="$1" pid
    if ! is_running "$dir"; then
        rm -f "$dir/pid"
        log "no Synapse running from $dir"
        return 0
    fi
    pid="$(cat "$dir/pid")"
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 1 150); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.2
    done
    if kill -0 "$pid" 2>/dev/null; then
        log "Synapse (pid $pid) ignored SIGTERM for 30 s; killing it"
        kill -KILL "$pid" 2>/dev/null || true
    fi
    rm -f "$dir/pid"
    log "stopped Synapse from $dir"
}

cmd_register() {
    [ $# -ge 3 ] && [ $# -le 4 ] || usage
    local dir="$1" user="$2" password="$3" admin="${4:-}"
    local url
    url="http://127.0.0.1:$(sed -n 's/^  - port: \([0-9]*\)$/\1/p' "$dir/homeserver.yaml" | head -n1)"
    "$PY" - "$url" "$(cat "$dir/shared_secret")" "$user" "$password" "$admin" <<'PYEOF'
import hashlib, hmac, json, sys, urllib.request
url, secret, user, password, admin = sys.argv[1:]
admin = admin == "admin"
endpoint = url + "/_synapse/admin/v1/register"
nonce = json.load(urllib.request.urlopen(endpoint))["nonce"]
mac = hmac.new(secret.encode(), digestmod=hashlib.sha1)
mac.update(b"\x00".join([nonce.encode(), user.encode(), password.encode(),
                         b"admin" if admin else b"notadmin"]))
body = json.dumps({"nonce": nonce, "username": user, "password": password,
                   "admin": admin, "mac": mac.hexdigest()}).encode()
req = urllib.request.Request(endpoint, body, {"Content-Type": "application/json"})
print(json.load(urllib.request.urlopen(req))["user_id"])
PYEOF
}

case "${1:-}" in
install) shift; cmd_install "$@" ;;
start) shift; cmd_start "$@" ;;
stop) shift; cmd_stop "$@" ;;
register) shift; cmd_register "$@" ;;
*) usage ;;
esac
