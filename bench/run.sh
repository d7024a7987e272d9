#!/usr/bin/env bash
# Load benchmark of a release Sigil on 127.0.0.1: the full pre-authorized flow
# and the credential endpoint alone, with `sigil-load` (bench/load).
#
#   bench/run.sh                    # build, then flow + credential at c=32 and c=64, twice each
#   SKIP_BUILD=1 bench/run.sh       # reuse target/release and plugins/dist
#   MODES=credential CONCURRENCY="64" REPEATS=3 DURATION=20 bench/run.sh
#   MODES="metadata nonce resolve" SKIP_BUILD=1 bench/run.sh   # diagnostic single-request modes
#   BATCH=10 MODES=credential SKIP_BUILD=1 bench/run.sh   # 10 proofs (credentials) per request
#   SIGIL_BIN=/tmp/sigil-old SKIP_BUILD=1 bench/run.sh    # A/B: another build of the server
#
# Every run gets a fresh server (fresh SQLite database in a temp dir, so the
# peak RSS is that run's). The server is stopped on exit, also on Ctrl-C.
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
DURATION="${DURATION:-10}"
WARMUP="${WARMUP:-2}"
RESULTS="${RESULTS:-}"   # optional: also append the JSON lines to this file
# Optional: a database URL instead of a fresh SQLite file per run (e.g. an
# empty PostgreSQL database; it is not reset between runs).
BENCH_DATABASE_URL="${BENCH_DATABASE_URL:-}"

if [[ "${SKIP_BUILD:-0}" != 1 ]]; then
    cargo build --release -p sigil -p sigil-load
    cargo xtask build-plugins
fi
SIGIL="${SIGIL_BIN:-$ROOT/target/release/sigil}"
LOAD="$ROOT/target/release/sigil-load"
for bin in "$SIGIL" "$LOAD"; do
    [[ -x "$bin" ]] || { echo "missing $bin: run without SKIP_BUILD=1" >&2; exit 1; }
done
[[ -f "$ROOT/plugins/dist/claims-inline/plugin.toml" ]] || {
    echo "plugins/dist is empty: run cargo xtask build-plugins" >&2
    exit 1
}

WORK="$(mktemp -d "${TMPDIR:-/tmp}/sigil-bench.XXXXXX")"
SERVER_PID=""
ADMIN_TOKEN="bench-$(head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n')"

stop_server() {
    if [[ -n "$SERVER_PID" ]] && kill -0 "$SERVER_PID" 2>/dev/null; then
        kill "$SERVER_PID" 2>/dev/null || true
        for _ in $(seq 50); do
            kill -0 "$SERVER_PID" 2>/dev/null || break
            sleep 0.1
        done
        kill -9 "$SERVER_PID" 2>/dev/null || true
        wait "$SERVER_PID" 2>/dev/null || true
    fi
    SERVER_PID=""
}
cleanup() {
    stop_server
    rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# Start a server with a temp copy of config/ and a fresh SQLite file.
start_server() {
    local run="$WORK/run-$1"
    mkdir -p "$run"
    cp -R "$ROOT/config" "$run/config"
    rm -rf "$run/config/keys"   # a fresh development key, generated on start
    PORT="$(free_port)"
    URL="http://127.0.0.1:$PORT"
    NO_COLOR=1 RUST_LOG=warn \
    SIGIL_ADMIN_TOKEN="$ADMIN_TOKEN" \
    SIGIL__SERVER__HOST=127.0.0.1 \
    SIGIL__SERVER__PORT="$PORT" \
    SIGIL__SERVER__PUBLIC_URL="$URL" \
    SIGIL__DATABASE__URL="${BENCH_DATABASE_URL:-sqlite://$run/sigil.db?mode=rwc}" \
    SIGIL__PLUGINS__DIR="$ROOT/plugins/dist" \
        "$SIGIL" serve --config "$run/config/sigil.toml" >"$run/server.log" 2>&1 &
    SERVER_PID=$!
    for _ in $(seq 600); do
        if curl -fsS "$URL/ready" >/dev/null 2>&1; then
            return 0
        fi
        kill -0 "$SERVER_PID" 2>/dev/null || break
        sleep 0.1
    done
    echo "the server did not become ready; its log:" >&2
    cat "$run/server.log" >&2
    exit 1
}

JSONL="$WORK/results.jsonl"
: >"$JSONL"
n=0
for cfg in $CONFIGURATIONS; do
for mode in $MODES; do
    for c in $CONCURRENCY; do
        for rep in $(seq "$REPEATS"); do
            n=$((n + 1))
            start_server "$n"
            echo "== $cfg $mode c=$c run $rep (server pid $SERVER_PID, $URL)" >&2
            if out="$(SIGIL_ADMIN_TOKEN="$ADMIN_TOKEN" "$LOAD" --url "$URL" --mode "$mode" \
                --concurrency "$c" --duration "$DURATION" --warmup "$WARMUP" \
                --configuration "$cfg" --claims-source "$CLAIMS_SOURCE" --batch "$BATCH" \
                --server-pid "$SERVER_PID" --json)"; then
                jq -c --arg cfg "$cfg" --arg src "$CLAIMS_SOURCE" '. + {configuration: $cfg, claims_source: $src}' <<<"$out" >>"$JSONL"
            else
                echo "sigil-load failed" >&2
            fi
            stop_server
            # Anything the server logged at warn or above, but the expected
            # "generated a development issuer key" lines.
            if grep -v 'generated a development issuer key' "$WORK/run-$n/server.log" | grep -q .; then
                echo "   server log:" >&2
                grep -v 'generated a development issuer key' "$WORK/run-$n/server.log" |
                    head -n 5 | sed 's/^/   /' >&2
            fi
        done
    done
done
done

[[ -n "$RESULTS" ]] && cat "$JSONL" >>"$RESULTS"

echo
echo "results ($(nproc) cores, load generator on the same machine; ops/s = flows/s or credential requests/s, each with its /nonce call; creds/s = ops/s x batch)"
jq -r '
    [ .configuration, .mode, (.concurrency|tostring), (.ops_per_s|floor|tostring),
      ((.batch // 1)|tostring), ((.credentials_per_s // .ops_per_s)|floor|tostring), (.errors|tostring),
      (.latency.op.p50_ms*100|round/100|tostring), (.latency.op.p99_ms*100|round/100|tostring),
      (if .server.cpu_ms_per_op then (.server.cpu_ms_per_op*1000|round/1000|tostring) else "n/a" end),
      (if .server.cores then (.server.cores*100|round/100|tostring) else "n/a" end),
      (if .client.cpu_ms_per_op then (.client.cpu_ms_per_op*1000|round/1000|tostring) else "n/a" end),
      (if .server.vm_hwm_kb then (.server.vm_hwm_kb/1024|round|tostring) else "n/a" end) ]
    | @tsv' "$JSONL" |
    (printf 'configuration\tmode\tconc\tops/s\tbatch\tcreds/s\terrors\tp50_ms\tp99_ms\tsrv_cpu_ms/op\tsrv_cores\tgen_cpu_ms/op\tpeak_rss_MB\n'; cat) |
    column -t -s $'\t'
