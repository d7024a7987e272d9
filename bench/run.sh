#!/usr/bin/env bash
# Load benchmark of a release Sigil on 127.0.0.1: the full pre-authorized flow,
# the credential endpoint alone and the authorization code flow, with
# `sigil-load` (bench/load).
#
#   bench/run.sh                    # build, then flow + credential at c=32 and c=64, twice each
#   SKIP_BUILD=1 bench/run.sh       # reuse target/release and plugins/dist
#   MODES=credential CONCURRENCY="64" REPEATS=3 DURATION=20 bench/run.sh
#   MODES="metadata nonce resolve" SKIP_BUILD=1 bench/run.sh   # diagnostic single-request modes
#   BATCH=10 MODES=credential SKIP_BUILD=1 bench/run.sh   # 10 proofs (credentials) per request
#   SIGIL_BIN=/tmp/sigil-old SKIP_BUILD=1 bench/run.sh    # A/B: another build of the server
#   MODES="auth-code auth-code-nologin" CONCURRENCY=16 SKIP_BUILD=1 bench/run.sh
#       # authorization code flow: with a login at tests/wallet/op.mjs (needs node
#       # and `npm ci --prefix tests/wallet`), and without a login
#   CARGO_TARGET_DIR=/work/target-rel bench/run.sh   # binaries from (built into) another target dir
#   SIGIL_BIN=… LOAD_BIN=… SKIP_BUILD=1 bench/run.sh # or name each binary
#   METRICS="on off" MODES=flow SKIP_BUILD=1 bench/run.sh  # each run with [metrics] on, then off
#       # (alternating within each repeat; the table's `metrics` column tells them apart)
#   INSTANCES=2 BENCH_DATABASE_URL=postgres://… SKIP_BUILD=1 bench/run.sh
#       # two `sigil serve` on one PostgreSQL database; worker i at instance i % 2
#   PEER=sphereon MODES=flow CONCURRENCY=32 REPEATS=3 SKIP_BUILD=1 bench/run.sh
#       # after each Sigil run, the same load against a public npm issuer
#       # (bench/peer/, node; `npm ci --prefix bench/peer` is run when needed),
#       # then a table of both and the ratios
#
# Every run gets a fresh server (fresh SQLite database in a temp dir, so the
# peak RSS is that run's), and in `auth-code` mode a fresh upstream OpenID
# provider (tests/wallet/op.mjs) that the server's default tenant logs people
# in at. Both are stopped on exit, also on Ctrl-C.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

MODES="${MODES:-flow credential}"
# Credential configurations to issue (one run set each), e.g.
# CONFIGURATIONS="employee_badge_sd_jwt employee_badge_jwt_vc mdl_mdoc".
CONFIGURATIONS="${CONFIGURATIONS:-employee_badge_sd_jwt}"
# Claim source of employee_badge_* offers: inline (default), attribute-provider
# or webhook (these need `node docs/examples/claims-receiver.mjs` running).
CLAIMS_SOURCE="${CLAIMS_SOURCE:-inline}"
CONCURRENCY="${CONCURRENCY:-32 64}"
# Proofs (holder keys) per credential request: a batch of BATCH credentials
# per POST /credential (at most the configuration's batch_size, 10).
BATCH="${BATCH:-1}"
REPEATS="${REPEATS:-2}"
# Prometheus metrics of the server: on (the default), off
# (SIGIL__METRICS__ENABLED=false), or "on off" for both, alternating.
METRICS="${METRICS:-on}"
DURATION="${DURATION:-10}"
WARMUP="${WARMUP:-2}"
RESULTS="${RESULTS:-}"   # optional: also append the JSON lines to this file
# Optional: a database URL instead of a fresh SQLite file per run (e.g. an
# empty PostgreSQL database; it is not reset between runs).
BENCH_DATABASE_URL="${BENCH_DATABASE_URL:-}"
# Sigil instances per run, on one database (BENCH_DATABASE_URL, PostgreSQL)
# and one public URL (the first's): sigil-load sends worker i's requests to
# instance i % INSTANCES and reports their CPU summed and per instance.
INSTANCES="${INSTANCES:-1}"
[[ "$INSTANCES" =~ ^[1-9][0-9]*$ ]] || { echo "INSTANCES=$INSTANCES: give a number >= 1" >&2; exit 1; }
if (( INSTANCES > 1 )) && [[ "$BENCH_DATABASE_URL" != postgres://* && "$BENCH_DATABASE_URL" != postgresql://* ]]; then
    echo "INSTANCES=$INSTANCES needs BENCH_DATABASE_URL, a PostgreSQL URL (postgres://…): the instances share one database" >&2
    exit 1
fi
# EVENT_WEBHOOK=1: one event endpoint subscribed to every event of the
# benchmarked configuration (its `webhook_endpoint_id`), received by
# bench/events-receiver.mjs (node) on this machine; the run then reports how
# many events arrived and how long delivery took to catch up after the load.
EVENT_WEBHOOK="${EVENT_WEBHOOK:-0}"
# PRELOAD=N: before each run, fill the run's database with N offers as
# finished traffic leaves them (bench/preload.sh; SHAPE=steady or unpurged).
# On PostgreSQL BENCH_DATABASE_URL must then name an empty database, and
# each run needs its own (REPEATS=1, one mode).
PRELOAD="${PRELOAD:-0}"
# PEER=sphereon: in every repeat, after Sigil's run(s), one run of the same
# load against a public npm OpenID4VCI issuer on this machine
# (bench/peer/sphereon-issuer.mjs: @sphereon/oid4vci-issuer-server), started
# fresh and stopped like the server; the end adds a table of both and the
# ratios. Modes flow, credential, nonce, metadata; one instance, batch 1,
# employee_badge_sd_jwt with inline claims.
PEER="${PEER:-}"
PEER_PID=""
RECEIVER_PID=""
EVENTS_SECRET="bench-events-$(head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n')"

if [[ "${SKIP_BUILD:-0}" != 1 ]]; then
    cargo build --release -p sigil -p sigil-load
    cargo xtask build-plugins
fi
TARGET="${CARGO_TARGET_DIR:-$ROOT/target}"
SIGIL="${SIGIL_BIN:-$TARGET/release/sigil}"
LOAD="${LOAD_BIN:-$TARGET/release/sigil-load}"
for bin in "$SIGIL" "$LOAD"; do
    [[ -x "$bin" ]] || { echo "missing $bin: run without SKIP_BUILD=1" >&2; exit 1; }
done
[[ -f "$ROOT/plugins/dist/claims-inline/plugin.toml" ]] || {
    echo "plugins/dist is empty: run cargo xtask build-plugins" >&2
    exit 1
}
if [[ -n "$PEER" ]]; then
    [[ "$PEER" == sphereon ]] || { echo "PEER=$PEER: the one peer is sphereon" >&2; exit 1; }
    for m in $MODES; do
        [[ " flow credential nonce metadata " == *" $m "* ]] ||
            { echo "PEER=$PEER runs the modes flow, credential, nonce and metadata, not $m" >&2; exit 1; }
    done
    [[ "$CONFIGURATIONS" == employee_badge_sd_jwt && "$CLAIMS_SOURCE" == inline ]] ||
        { echo "PEER=$PEER issues employee_badge_sd_jwt with inline claims only" >&2; exit 1; }
    (( INSTANCES == 1 && BATCH == 1 )) ||
        { echo "PEER=$PEER needs INSTANCES=1 and BATCH=1 (one credential per request)" >&2; exit 1; }
    command -v node >/dev/null || { echo "PEER=$PEER needs node (>= 20)" >&2; exit 1; }
    if [[ ! -f "$ROOT/bench/peer/node_modules/@sphereon/oid4vci-issuer-server/package.json" ]]; then
        echo "installing the peer's npm packages: npm ci --prefix bench/peer" >&2
        npm ci --prefix "$ROOT/bench/peer" --no-audit --no-fund >&2
    fi
fi
# `auth-code` mode logs in at a real provider: oidc-provider under node.
if [[ " $MODES " == *" auth-code "* ]]; then
    command -v node >/dev/null || {
        echo "auth-code mode needs node (>= 20.18) for tests/wallet/op.mjs" >&2
        exit 1
    }
    [[ -f "$ROOT/tests/wallet/node_modules/oidc-provider/package.json" ]] || {
        echo "auth-code mode needs tests/wallet's npm packages: run npm ci --prefix tests/wallet" >&2
        exit 1
    }
fi

WORK="$(mktemp -d "${TMPDIR:-/tmp}/sigil-bench.XXXXXX")"
# The running instances of this run: their pids and URLs, in the same order
# (URLS[0], the first instance's, is every instance's public URL).
SERVER_PIDS=()
URLS=()
PROVIDER_PID=""
# Sigil's client at the provider, and the account the load generator logs in with.
LOGIN_CLIENT_ID="sigil"
LOGIN_CLIENT_SECRET="bench-$(head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n')"
LOGIN_USER="bench-user"
LOGIN_PASSWORD="bench-password"
ADMIN_TOKEN="bench-$(head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n')"

stop_server() {
    local pid
    # Ask every instance to stop first, then wait for each.
    for pid in "${SERVER_PIDS[@]}"; do
        kill "$pid" 2>/dev/null || true
    done
    for pid in "${SERVER_PIDS[@]}"; do
        for _ in $(seq 50); do
            kill -0 "$pid" 2>/dev/null || break
            sleep 0.1
        done
        kill -9 "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
    done
    SERVER_PIDS=()
    URLS=()
}
# Stop the process `$1` (TERM, up to 5 s, then KILL) if it runs.
stop_pid() {
    local pid="$1"
    if [[ -n "$pid" ]] && kill -0 "$pid" 2>/dev/null; then
        kill "$pid" 2>/dev/null || true
        for _ in $(seq 50); do
            kill -0 "$pid" 2>/dev/null || break
            sleep 0.1
        done
        kill -9 "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
    fi
}
stop_provider() {
    stop_pid "$PROVIDER_PID"
    PROVIDER_PID=""
}
stop_receiver() {
    if [[ -n "$RECEIVER_PID" ]] && kill -0 "$RECEIVER_PID" 2>/dev/null; then
        kill "$RECEIVER_PID" 2>/dev/null || true
        wait "$RECEIVER_PID" 2>/dev/null || true
    fi
    RECEIVER_PID=""
}
stop_peer() {
    stop_pid "$PEER_PID"
    PEER_PID=""
}
cleanup() {
    stop_server
    stop_peer
    stop_provider
    stop_receiver
    rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# Start tests/wallet/op.mjs on a free port with Sigil's client, whose
# redirect URI is <$1>/login/callback, and the load generator's account.
# Sets PROVIDER_PID and PROVIDER_ISSUER.
start_provider() {
    local run="$2"
    jq -n --arg cb "$1/login/callback" --arg id "$LOGIN_CLIENT_ID" --arg secret "$LOGIN_CLIENT_SECRET" \
        --arg user "$LOGIN_USER" --arg password "$LOGIN_PASSWORD" '{
            port: 0,
            clients: [{client_id: $id, client_secret: $secret, redirect_uris: [$cb]}],
            accounts: [{sub: $user, password: $password,
                        claims: {given_name: "Ada", family_name: "Lovelace", email: "ada@example.org"}}]
        }' >"$run/op.json"
    # stdin is a file, so only a signal stops it (see its header).
    node "$ROOT/tests/wallet/op.mjs" <"$run/op.json" >"$run/op.out" 2>"$run/op.log" &
    PROVIDER_PID=$!
    PROVIDER_ISSUER="$(started_field "$PROVIDER_PID" "$run/op.out" issuer "$run/op.log" \
        "the provider (tests/wallet/op.mjs)")"
}

# Start the peer issuer (bench/peer/, node) on a free port for run $1, with
# in-memory state and a fresh issuer key. Sets PEER_PID and PEER_URL.
start_peer() {
    local run="$WORK/run-$1"
    mkdir -p "$run"
    NODE_ENV=production PORT="$(free_port)" node "$ROOT/bench/peer/sphereon-issuer.mjs" \
        >"$run/peer.out" 2>"$run/peer.log" &
    PEER_PID=$!
    PEER_URL="$(started_field "$PEER_PID" "$run/peer.out" url "$run/peer.log" "the peer ($PEER)")"
}

# A helper process (pid $1) announces itself with one JSON line on stdout
# (file $2): print its field $3 once it is there. If the process exits
# first, or after 30 s, show its log ($4) naming it ($5), and fail.
started_field() {
    local value
    for _ in $(seq 300); do
        value="$(head -n 1 "$2" 2>/dev/null | jq -r ".$3 // empty" 2>/dev/null || true)"
        [[ -n "$value" ]] && { echo "$value"; return 0; }
        kill -0 "$1" 2>/dev/null || break
        sleep 0.1
    done
    echo "$5 did not start; its log:" >&2
    cat "$4" >&2
    return 1
}

# Wait for /ready of instance $1 (URL $2, pid $3, log $4), or exit.
wait_ready() {
    for _ in $(seq 600); do
        if curl -fsS "$2/ready" >/dev/null 2>&1; then
            return 0
        fi
        kill -0 "$3" 2>/dev/null || break
        sleep 0.1
    done
    echo "server instance $1 ($2) did not become ready; its log:" >&2
    cat "$4" >&2
    exit 1
}

# Start INSTANCES servers with one temp copy of config/ (one key folder: the
# first instance generates the development keys, the others start once it
# is ready) and a fresh SQLite file (one instance) or BENCH_DATABASE_URL;
# in auth-code mode ($2) with a provider to log in at first; metrics on or
# off ($3). Every instance has its own port and the first one's public URL.
# Sets SERVER_PIDS, URLS and URL (the public URL).
start_server() {
    local run="$WORK/run-$1"
    mkdir -p "$run"
    cp -R "$ROOT/config" "$run/config"
    rm -rf "$run/config/keys"   # a fresh development key, generated on start
    # No event endpoint but the bench's own (EVENT_WEBHOOK=1): the example
    # endpoint of config/ would poll for nothing.
    rm -f "$run/config/event-endpoints/"*.toml
    if [[ "$EVENT_WEBHOOK" == 1 ]]; then
        SECRET="$EVENTS_SECRET" node "$ROOT/bench/events-receiver.mjs" >"$run/receiver.out" 2>&1 &
        RECEIVER_PID=$!
        RECEIVER_PORT=""
        for _ in $(seq 100); do
            RECEIVER_PORT="$(jq -r '.port // empty' "$run/receiver.out" 2>/dev/null || true)"
            [[ -n "$RECEIVER_PORT" ]] && break
            sleep 0.1
        done
        printf 'id = "bench-events"\nurl = "http://127.0.0.1:%s/events"\nsecret = "%s"\n' \
            "$RECEIVER_PORT" "$EVENTS_SECRET" >"$run/config/event-endpoints/bench-events.toml"
        for f in "$run"/config/credential-configurations/*.toml; do
            sed -i '0,/^id = /s//webhook_endpoint_id = "bench-events"\nid = /' "$f"
        done
    fi
    PORT="$(free_port)"
    URL="http://127.0.0.1:$PORT"
    local ports=("$PORT") k
    for ((k = 1; k < INSTANCES; k++)); do
        local p
        p="$(free_port)"
        while [[ " ${ports[*]} " == *" $p "* ]]; do p="$(free_port)"; done
        ports+=("$p")
    done
    local login=()
    if [[ "$2" == auth-code ]]; then
        start_provider "$URL" "$run"
        login=(
            SIGIL__TENANTS__DEFAULT__LOGIN__ISSUER="$PROVIDER_ISSUER"
            SIGIL__TENANTS__DEFAULT__LOGIN__CLIENT_ID="$LOGIN_CLIENT_ID"
            SIGIL__TENANTS__DEFAULT__LOGIN__CLIENT_SECRET="$LOGIN_CLIENT_SECRET"
        )
    fi
    local metrics=true
    [[ "$3" == off ]] && metrics=false
    local database="${BENCH_DATABASE_URL:-sqlite://$run/sigil.db?mode=rwc}"
    launch() {
        env "${login[@]}" NO_COLOR=1 RUST_LOG=warn \
        SIGIL_ADMIN_TOKEN="$ADMIN_TOKEN" \
        SIGIL__METRICS__ENABLED="$metrics" \
        SIGIL__SERVER__HOST=127.0.0.1 \
        SIGIL__SERVER__PORT="${ports[$1]}" \
        SIGIL__SERVER__PUBLIC_URL="$URL" \
        SIGIL__DATABASE__URL="$database" \
        SIGIL__PLUGINS__DIR="$ROOT/plugins/dist" \
            "$SIGIL" serve --config "$run/config/sigil.toml" >"$run/server-$(($1 + 1)).log" 2>&1 &
        SERVER_PIDS+=("$!")
        URLS+=("http://127.0.0.1:${ports[$1]}")
    }
    for ((k = 0; k < INSTANCES; k++)); do
        launch "$k"
        # The first instance writes the keys (and migrates the database)
        # before any other starts.
        if (( k == 0 )); then
            wait_ready 1 "${URLS[0]}" "${SERVER_PIDS[0]}" "$run/server-1.log"
        fi
        if (( k == 0 && PRELOAD > 0 )); then
            # Migrated: stop it, fill the database, start it again.
            stop_server
            SERVER_PIDS=()
            URLS=()
            echo "preloading $PRELOAD offers (SHAPE=${SHAPE:-steady})" >&2
            local started=$SECONDS
            "$ROOT/bench/preload.sh" "$database" "$PRELOAD" >"$run/preload.log" 2>&1 ||
                { cat "$run/preload.log" >&2; exit 1; }
            echo "   preloaded in $((SECONDS - started)) s" >&2
            launch 0
            wait_ready 1 "${URLS[0]}" "${SERVER_PIDS[0]}" "$run/server-1.log"
        fi
    done
    for ((k = 1; k < INSTANCES; k++)); do
        wait_ready "$((k + 1))" "${URLS[k]}" "${SERVER_PIDS[k]}" "$run/server-$((k + 1)).log"
    done
}

JSONL="$WORK/results.jsonl"
: >"$JSONL"
n=0
for cfg in $CONFIGURATIONS; do
for mode in $MODES; do
    for c in $CONCURRENCY; do
        for rep in $(seq "$REPEATS"); do
          for metrics in $METRICS; do
            n=$((n + 1))
            start_server "$n" "$mode" "$metrics"
            # The server records metrics (200) or does not (404), as asked.
            want=200
            [[ "$metrics" == off ]] && want=404
            for u in "${URLS[@]}"; do
                got="$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $ADMIN_TOKEN" "$u/metrics")"
                [[ "$got" == "$want" ]] || { echo "GET $u/metrics answered $got, expected $want (metrics $metrics)" >&2; exit 1; }
            done
            # Every instance, in order: --url and --server-pid pairs.
            instances=()
            for k in "${!URLS[@]}"; do
                instances+=(--url "${URLS[k]}" --server-pid "${SERVER_PIDS[k]}")
            done
            if (( INSTANCES > 1 )); then
                servers="$INSTANCES instances: pids ${SERVER_PIDS[*]}, ${URLS[*]}; public URL $URL"
            else
                servers="server pid ${SERVER_PIDS[0]}, $URL"
            fi
            provider=()
            if [[ -n "$PROVIDER_PID" ]]; then
                provider=(--provider-pid "$PROVIDER_PID" --login-user "$LOGIN_USER" --login-password "$LOGIN_PASSWORD")
                echo "== $cfg $mode c=$c metrics $metrics run $rep ($servers; provider pid $PROVIDER_PID, $PROVIDER_ISSUER)" >&2
            else
                echo "== $cfg $mode c=$c metrics $metrics run $rep ($servers)" >&2
            fi
            if out="$(SIGIL_ADMIN_TOKEN="$ADMIN_TOKEN" "$LOAD" "${instances[@]}" --mode "$mode" \
                --concurrency "$c" --duration "$DURATION" --warmup "$WARMUP" \
                --configuration "$cfg" --claims-source "$CLAIMS_SOURCE" --batch "$BATCH" \
                "${provider[@]}" --json)"; then
                jq -c --arg cfg "$cfg" --arg src "$CLAIMS_SOURCE" --arg metrics "$metrics" \
                    --argjson preload "$PRELOAD" \
                    '. + {configuration: $cfg, claims_source: $src, metrics: $metrics, preload: $preload}' <<<"$out" >>"$JSONL"
            else
                echo "sigil-load failed" >&2
            fi
            if [[ "$EVENT_WEBHOOK" == 1 ]]; then
                # Wait for delivery to catch up (the count stable for 1 s).
                started=$(date +%s.%N)
                last=-1
                for _ in $(seq 300); do
                    count="$(curl -fsS "http://127.0.0.1:$RECEIVER_PORT/count" | jq -r .distinct)"
                    [[ "$count" == "$last" ]] && break
                    last="$count"
                    sleep 1
                done
                drain=$(echo "$(date +%s.%N) - $started - 1" | bc)
                counts="$(curl -fsS "http://127.0.0.1:$RECEIVER_PORT/count")"
                echo "   webhook: $counts; caught up ${drain}s after the load" >&2
                tmp="$(mktemp)"
                jq -c --argjson w "$counts" --arg d "$drain" \
                    '. + {webhook: ($w + {drain_s: ($d|tonumber)})}' \
                    <(tail -n 1 "$JSONL") >"$tmp" && { head -n -1 "$JSONL"; cat "$tmp"; } >"$JSONL.new" && mv "$JSONL.new" "$JSONL"
                rm -f "$tmp"
            fi
            stop_server
            stop_provider
            stop_receiver
            if [[ -s "$WORK/run-$n/op.log" ]] && grep -q 'server_error' "$WORK/run-$n/op.log"; then
                echo "   provider log:" >&2
                grep -m 5 'server_error' "$WORK/run-$n/op.log" | sed 's/^/   /' >&2
            fi
            # Anything the server logged at warn or above, but the expected
            # lines about the development keys it generates on start.
            expected='sigil_keys::folder: generated (an issuer key|a development issuer key|a demo )'
            for log in "$WORK/run-$n"/server-*.log; do
                if grep -Ev "$expected" "$log" | grep -q .; then
                    if (( INSTANCES > 1 )); then
                        echo "   server log of instance $(basename "$log" .log | cut -d- -f2):" >&2
                    else
                        echo "   server log:" >&2
                    fi
                    grep -Ev "$expected" "$log" |
                        head -n 5 | sed 's/^/   /' >&2
                fi
            done
          done
          if [[ -n "$PEER" ]]; then
            n=$((n + 1))
            start_peer "$n"
            echo "== $cfg $mode c=$c peer $PEER run $rep (pid $PEER_PID, $PEER_URL)" >&2
            if out="$("$LOAD" --peer "$PEER" --url "$PEER_URL" --server-pid "$PEER_PID" --mode "$mode" \
                --concurrency "$c" --duration "$DURATION" --warmup "$WARMUP" \
                --configuration "$cfg" --json)"; then
                jq -c --arg cfg "$cfg" '. + {configuration: $cfg, claims_source: "inline", metrics: "-", preload: 0}' \
                    <<<"$out" >>"$JSONL"
            else
                echo "sigil-load failed against the peer" >&2
            fi
            stop_peer
            if [[ -s "$WORK/run-$n/peer.log" ]]; then
                echo "   peer log:" >&2
                head -n 5 "$WORK/run-$n/peer.log" | sed 's/^/   /' >&2
            fi
          fi
        done
    done
done
done

[[ -n "$RESULTS" ]] && cat "$JSONL" >>"$RESULTS"

echo
echo "results ($(nproc) cores, load generator on the same machine; ops/s = flows/s or credential requests/s, each with its /nonce call; creds/s = ops/s x batch)"
jq -r --arg peer "$PEER" '
    (if $peer != "" then [.target // "sigil"] else [] end) +
    [ .configuration, .mode, (.metrics // "on"), ((.instances // 1)|tostring), (.concurrency|tostring), (.ops_per_s|floor|tostring),
      ((.batch // 1)|tostring), ((.credentials_per_s // .ops_per_s)|floor|tostring), (.errors|tostring),
      (.latency.op.p50_ms*100|round/100|tostring), (.latency.op.p99_ms*100|round/100|tostring),
      (if .server.cpu_ms_per_op then (.server.cpu_ms_per_op*1000|round/1000|tostring) else "n/a" end),
      (if .server.cores then (.server.cores*100|round/100|tostring) else "n/a" end),
      (if .client.cpu_ms_per_op then (.client.cpu_ms_per_op*1000|round/1000|tostring) else "n/a" end),
      (if .server.vm_hwm_kb then (.server.vm_hwm_kb/1024|round|tostring) else "n/a" end),
      (if .provider.cpu_ms_per_op then (.provider.cpu_ms_per_op*1000|round/1000|tostring) else "-" end),
      (if .provider.cores then (.provider.cores*100|round/100|tostring) else "-" end) ]
    | @tsv' "$JSONL" |
    ([[ -n "$PEER" ]] && printf 'target\t'; printf 'configuration\tmode\tmetrics\tinstances\tconc\tops/s\tbatch\tcreds/s\terrors\tp50_ms\tp99_ms\tsrv_cpu_ms/op\tsrv_cores\tgen_cpu_ms/op\tpeak_rss_MB\tprov_cpu_ms/op\tprov_cores\n'; cat) |
    column -t -s $'\t'

# Per step, for the modes with more than one request per operation.
if jq -e 'select((.latency | length) > 2)' "$JSONL" >/dev/null 2>&1; then
    echo
    echo "per request: p50 / p99 ms (provider = each request of the browser at the provider; forms = login/consent forms filled in in the window)"
    jq -r --arg peer "$PEER" 'select((.latency | length) > 2)
        | (if $peer != "" then [.target // "sigil"] else [] end) + [ .configuration, .mode, (.concurrency|tostring),
            (. as $r | (.steps // (.latency | keys | map(select(. != "op"))))
                | map("\(.) \($r.latency[.].p50_ms*100|round/100)/\($r.latency[.].p99_ms*100|round/100)") | join("  ")),
            (if .provider then "forms \(.interactions)" else "" end) ]
        | @tsv' "$JSONL" | column -t -s $'\t'
fi

# Sigil against the peer: means over the repeats, and the ratios.
if [[ -n "$PEER" ]]; then
    echo
    echo "Sigil against $PEER (same machine, load and window; means over the runs, each run in brackets):"
    echo "  flows/s ratio = Sigil ops/s / $PEER ops/s; CPU ratio = $PEER server CPU ms per op / Sigil's"
    jq -rs --arg peer "$PEER" '
        def mean: map(select(. != null)) | if length == 0 then null else add / length end;
        def r2: if . == null then "n/a" else (. * 100 | round / 100 | tostring) end;
        def r3: if . == null then "n/a" else (. * 1000 | round / 1000 | tostring) end;
        def runs(f): "(" + (map(f | r2) | join(", ")) + ")";
        def ratio(a; b): if a == null or b == null or b == 0 then "n/a" else (a / b | r2) + "x" end;
        group_by([.configuration, .mode, .concurrency])[]
        | . as $g
        | [ $g[] | select((.target // "sigil") == "sigil") ] as $s
        | [ $g[] | select(.target == $peer) ] as $p
        | def row($t; $rs): [ $t, $g[0].mode, ($g[0].concurrency|tostring), ($rs|length|tostring),
              (($rs | map(.ops_per_s) | mean | r2) + " " + ($rs | runs(.ops_per_s))),
              (($rs | map(.server.cpu_ms_per_op) | mean | r3) + " " + ($rs | runs(.server.cpu_ms_per_op))),
              ($rs | map(.latency.op.p50_ms) | mean | r2), ($rs | map(.latency.op.p99_ms) | mean | r2),
              ($rs | map(.server.vm_hwm_kb | if . == null then null else . / 1024 end) | mean
                   | if . == null then "n/a" else round | tostring end),
              ($rs | map(.errors) | add // 0 | tostring) ];
          row("sigil"; $s), row($peer; $p),
          [ "ratio", $g[0].mode, ($g[0].concurrency|tostring), "",
            "Sigil/\($peer) " + ratio($s | map(.ops_per_s) | mean; $p | map(.ops_per_s) | mean),
            "\($peer)/Sigil " + ratio($p | map(.server.cpu_ms_per_op) | mean; $s | map(.server.cpu_ms_per_op) | mean),
            "", "", "", "" ]
        | @tsv' "$JSONL" |
        (printf 'target\tmode\tconc\truns\tops/s (runs)\tsrv_cpu_ms/op (runs)\tp50_ms\tp99_ms\tpeak_rss_MB\terrors\n'; cat) |
        column -t -s $'\t'
fi
