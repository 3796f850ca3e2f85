#!/usr/bin/env bash
# Bounded load test with upstream faults: the release gateway over the release emulator on
# loopback, CONNS connections for DURATION seconds (wrk), with a share FAULT_P of upstream
# requests failing (half 503, half connection resets, injected through POST /_emulator/faults).
#
# Reports requests/s, p50/p99 latency, non-2xx responses, GraphQL error codes, upstream
# requests, and the gateway's RSS at start (after a warm-up) and at end. Fails (exit 1) if the
# gateway died, answered any HTTP 5xx, or answered an error code that an upstream fault does not
# explain (anything but UPSTREAM_*).
#
# Usage: bench/load.sh [--conns 64] [--duration 30] [--fault-p 0.01] [--threads 2] [--no-build]
# It stops by itself (wrk -d, under `timeout`) and kills everything it started on exit.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CONNS=64
DURATION=30
FAULT_P=0.01
THREADS=2
BUILD=1
EMU_PORT=18391
GW_PORT=18390

while [[ $# -gt 0 ]]; do
  case "$1" in
    --conns) CONNS="$2"; shift 2 ;;
    --duration) DURATION="$2"; shift 2 ;;
    --fault-p) FAULT_P="$2"; shift 2 ;;
    --threads) THREADS="$2"; shift 2 ;;
    --no-build) BUILD=0; shift ;;
    -h|--help) sed -n '2,13p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "unknown option: $1" >&2; exit 2 ;;
  esac
done

command -v wrk >/dev/null || { echo "wrk is needed (apt-get install -y wrk)" >&2; exit 2; }

# shellcheck source=bench/lib.sh
source "$ROOT/bench/lib.sh"
OUT="$(mktemp -d)"

"$BIN/blaxel-emulator" --listen "127.0.0.1:$EMU_PORT" --jobs 3 --executions-per-job 1000 \
  --token dev-token=my-workspace >"$OUT/emulator.log" 2>&1 &
PIDS+=($!)
wait_for "http://127.0.0.1:$EMU_PORT/_emulator/stats"

RUST_LOG=warn "$BIN/blaxel-gateway" --listen "127.0.0.1:$GW_PORT" \
  --upstream "http://127.0.0.1:$EMU_PORT/v0" --workspace my-workspace --grpc-listen off \
  --upstream-timeout-ms 2000 --request-timeout-ms 10000 >"$OUT/gateway.log" 2>&1 &
GW_PID=$!
PIDS+=("$GW_PID")
wait_for "http://127.0.0.1:$GW_PORT/healthz"

URL="http://127.0.0.1:$GW_PORT/graphql"
timeout 20 wrk -t "$THREADS" -c "$CONNS" -d 3s -s "$ROOT/bench/load.lua" "$URL" >/dev/null
RSS_START=$(rss_kb "$GW_PID")

curl -sf -X POST "http://127.0.0.1:$EMU_PORT/_emulator/reset-stats" >/dev/null
half=$(awk -v p="$FAULT_P" 'BEGIN { printf "%.6f", p / 2 }')
# The second fault draws after the first missed: p/2 + (1 - p/2) * p/2 ~ p in all.
curl -sf -X POST "http://127.0.0.1:$EMU_PORT/_emulator/faults" -H 'content-type: application/json' \
  -d "[{\"route\":\"*\",\"status\":503,\"probability\":$half},{\"route\":\"*\",\"reset\":true,\"probability\":$half}]" >/dev/null

timeout $((DURATION + 30)) wrk -t "$THREADS" -c "$CONNS" -d "${DURATION}s" --latency \
  -s "$ROOT/bench/load.lua" "$URL" >"$OUT/wrk.txt"

curl -sf -X DELETE "http://127.0.0.1:$EMU_PORT/_emulator/faults" >/dev/null
RSS_END=$(rss_kb "$GW_PID")
HWM=$(hwm_kb "$GW_PID")
UPSTREAM=$(curl -sf "http://127.0.0.1:$EMU_PORT/_emulator/stats" | sed -n 's/.*"total":\([0-9]*\).*/\1/p')
ALIVE=no
if kill -0 "$GW_PID" 2>/dev/null && curl -sf -o /dev/null "http://127.0.0.1:$GW_PORT/healthz"; then
  ALIVE=yes
fi
AFTER=$(curl -s "$URL" -H 'content-type: application/json' -H 'authorization: Bearer dev-token' \
  -d '{"query":"{ jobExecutions(jobName: \"data-processing-job\", first: 1) { totalCount } }"}')

get() { awk -v k="$1" '$1 == "RESULT" && $2 == k {print $3}' "$OUT/wrk.txt"; }
echo "## bench/load.sh: $CONNS connections, ${DURATION}s, upstream fault probability $FAULT_P"
echo
echo "| metric | value |"
echo "|---|---|"
echo "| requests | $(get requests) |"
echo "| requests/s | $(get rps) |"
echo "| latency p50 / p99 / max (ms) | $(get p50_ms) / $(get p99_ms) / $(get max_ms) |"
echo "| non-2xx responses | $(get non2xx) |"
echo "| socket errors | $(get socket_errors) |"
echo "| responses with GraphQL errors | $(get responses_with_graphql_errors) |"
for line in $(awk '$1 == "RESULT" && $2 ~ /^(status|code)_/ {print $2 "=" $3}' "$OUT/wrk.txt" | sort); do
  echo "| ${line%%=*} | ${line#*=} |"
done
echo "| upstream requests (under faults) | ${UPSTREAM:-?} |"
echo "| gateway RSS start / end / peak (MiB) | $((RSS_START / 1024)) / $((RSS_END / 1024)) / $((HWM / 1024)) |"
echo "| gateway alive after the run | $ALIVE |"
echo "| query after the run | $AFTER |"
echo
echo "(wrk output and logs: $OUT)"

status=0
[[ $ALIVE == yes ]] || { echo "FAIL: the gateway died" >&2; status=1; }
fivexx=$(awk '$1 == "RESULT" && $2 ~ /^status_5/ {s += $3} END {print s + 0}' "$OUT/wrk.txt")
[[ $fivexx == 0 ]] || { echo "FAIL: $fivexx HTTP 5xx answers" >&2; status=1; }
other=$(awk '$1 == "RESULT" && $2 ~ /^code_/ && $2 !~ /^code_UPSTREAM_/ {s += $3} END {print s + 0}' "$OUT/wrk.txt")
[[ $other == 0 ]] || { echo "FAIL: $other errors not explained by upstream faults" >&2; status=1; }
exit $status
