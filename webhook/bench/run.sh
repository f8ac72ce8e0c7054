#!/usr/bin/env bash
# Load test of the admission webhook over HTTPS. Builds release, starts the server, and
# prints one JSON line per measurement (copy the figures into BENCHMARKS.md):
#   - time from process start to /readyz 200 (median of 5 starts, cert files)
#   - RSS idle, and RSS / peak RSS (VmHWM) after load, from /proc/PID/status
#   - p50/p99/p99.9 at a fixed rate (1,000 req/s) and at saturation, HTTP/1.1 and HTTP/2
#   - the same saturation run against `loadgen ceiling` (same TLS/HTTP stack, constant
#     answer) to give the webhook's throughput as a share of that ceiling
#
# The machine has 2 cores: the server (and the ceiling server) run on CPU $SERVER_CPU with
# one runtime worker thread, the load generator on CPU $LOADGEN_CPU with one thread.
#
# Environment: DURATION (10s), CONNECTIONS (8), RATE (1000), BODY (a Deployment CREATE).
set -euo pipefail
cd "$(dirname "$0")/../.."

DURATION=${DURATION:-10s}
CONNECTIONS=${CONNECTIONS:-8}
RATE=${RATE:-1000}
SERVER_CPU=${SERVER_CPU:-0}
LOADGEN_CPU=${LOADGEN_CPU:-1}
BODY=${BODY:-webhook/tests/fixtures/deployment-create-denied.json}
HTTPS_PORT=${HTTPS_PORT:-18443}
METRICS_PORT=${METRICS_PORT:-19090}
CEILING_PORT=${CEILING_PORT:-18444}

cargo build --release -p velero-hooks-webhook --bin velero-hooks-webhook --example loadgen >&2
BIN=target/release/velero-hooks-webhook
LOADGEN=target/release/examples/loadgen
WORK=$(mktemp -d)
PIDS=()
cleanup() {
    for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
    rm -rf "$WORK"
}
trap cleanup EXIT

"$LOADGEN" certs --dir "$WORK"
SERVER_ARGS=(--listen "127.0.0.1:$HTTPS_PORT" --metrics-listen "127.0.0.1:$METRICS_PORT"
    --tls-cert-file "$WORK/tls.crt" --tls-key-file "$WORK/tls.key" --worker-threads 1)

echo "# machine: $(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)" >&2
echo "# body: $BODY ($(wc -c <"$BODY") bytes), $CONNECTIONS connections, $DURATION per run" >&2

# Start-up time, measured by the load generator (it starts the process and polls /readyz).
taskset -c "$LOADGEN_CPU" "$LOADGEN" startup --ready "127.0.0.1:$METRICS_PORT" -- \
    taskset -c "$SERVER_CPU" "$BIN" "${SERVER_ARGS[@]}"

rss() { # pid -> {"rss_kib":..,"hwm_kib":..}
    awk '/VmRSS/{r=$2} /VmHWM/{h=$2} END{printf "{\"rss_kib\":%d,\"hwm_kib\":%d}", r, h}' "/proc/$1/status"
}
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }

taskset -c "$SERVER_CPU" "$BIN" "${SERVER_ARGS[@]}" 2>"$WORK/server.log" >/dev/null &
SERVER=$!
PIDS+=("$SERVER")
until curl -fsS "http://127.0.0.1:$METRICS_PORT/readyz" >/dev/null 2>&1; do sleep 0.05; done
sleep 2
echo "{\"measure\":\"rss idle\",\"server\":$(rss "$SERVER")}"

load() { # label proto rate port ca [path]
    local label=$1 proto=$2 rate=$3 port=$4 ca=$5 path=${6:-/validate}
    local before after
    before=$(cpu_ticks "$SERVER_UNDER_TEST")
    taskset -c "$LOADGEN_CPU" "$LOADGEN" load --target "127.0.0.1:$port" --ca "$ca" --body "$BODY" \
        --path "$path" --proto "$proto" --connections "$CONNECTIONS" --duration "$DURATION" \
        --rate "$rate" --label "$label"
    after=$(cpu_ticks "$SERVER_UNDER_TEST")
    # CPU time of the server during warm-up (2 s) + run, in 10 ms ticks.
    echo "# $label: server CPU $((after - before)) ticks of 10 ms"
}

SERVER_UNDER_TEST=$SERVER
load "webhook fixed h1" h1 "$RATE" "$HTTPS_PORT" "$WORK/ca.pem"
load "webhook fixed h2" h2 "$RATE" "$HTTPS_PORT" "$WORK/ca.pem"
load "webhook saturation h1" h1 0 "$HTTPS_PORT" "$WORK/ca.pem"
load "webhook saturation h2" h2 0 "$HTTPS_PORT" "$WORK/ca.pem"
echo "{\"measure\":\"rss after load\",\"server\":$(rss "$SERVER")}"
echo "# server log lines (one per decision): $(wc -l <"$WORK/server.log")" >&2
kill -TERM "$SERVER"
wait "$SERVER" || true

taskset -c "$SERVER_CPU" "$LOADGEN" ceiling --listen "127.0.0.1:$CEILING_PORT" --ca-out "$WORK/ceiling-ca.pem" \
    --worker-threads 1 >/dev/null &
CEILING=$!
PIDS+=("$CEILING")
until [ -s "$WORK/ceiling-ca.pem" ]; do sleep 0.05; done
sleep 0.5
SERVER_UNDER_TEST=$CEILING
load "ceiling saturation h1" h1 0 "$CEILING_PORT" "$WORK/ceiling-ca.pem"
load "ceiling saturation h2" h2 0 "$CEILING_PORT" "$WORK/ceiling-ca.pem"
