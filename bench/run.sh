#!/usr/bin/env bash
# Load test of the release gateway over the release emulator, on loopback, with wrk.
#
# Scenarios (each at every connection count, default 1 and 32):
#   a  direct     one 20-execution page by REST GET from the emulator (the floor)
#   b  page       the same page through the gateway, every field selected
#   c  multi      one query over 5 jobs (aliases), first: 20 each, every field
#   d  paging     1,000 executions, first: 100, following pageInfo.endCursor, then restarting
#   e  rest-pages the same walk by REST GET (limit=100, following meta.nextCursor)
#   f  peers      the peers' query (bench/peers.graphql: 20 executions, the fields the peers'
#                 stub serves, about 8 kB) through the gateway; compared with (a)
#
# Reported per run: req/s, p50/p99 latency (wrk), gateway CPU ms per request (utime+stime from
# /proc/<pid>/stat), emulator CPU ms per request, gateway peak RSS (VmHWM after resetting it
# through /proc/<pid>/clear_refs, else VmRSS sampled every 100 ms), upstream requests per
# request (the emulator's /_emulator/stats delta over wrk's completed requests), and errors.
# Then the gateway/direct ratios of this run. Output: Markdown on stdout, and everything in
# --out DIR (default target/bench/<timestamp>).
#
# Usage: bench/run.sh [--duration S] [--warmup S] [--conns 1,32] [--scenarios a,b,c,d,e,f]
#                     [--unique-auth] [--tokens N] [--no-build] [--out DIR]
#                     [--gateway-args "ARGS"] [--emulator-port P] [--gateway-port P]
#                     [--timeout S] [--gateway-bin PATH] [--emulator-bin PATH]
# --gateway-bin runs another gateway binary (e.g. a copy of the one before a change, for an A/B
# pair of runs); --emulator-bin another emulator binary (default: target/release's).
# Every run stops by itself (wrk -d, plus a watchdog of --timeout seconds, default 900), and
# every process started here is stopped on exit, error or Ctrl-C.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BENCH_DIR="$ROOT/bench"
DURATION=10
WARMUP=2
CONNS="1,32"
SCENARIOS="a,b,c,d,e,f"
UNIQUE_AUTH=0
TOKENS=40000
BUILD=1
OUT=""
# The gateway runs with its default limits (scenario c, 5 jobs x 20 with every field, about
# 0.2 MB, is estimated at 1.7 MB: under the default --max-response-bytes of 4 MiB).
GATEWAY_ARGS=""
EMU_PORT=18281
GW_PORT=18280
TIMEOUT=900
JOBS=5
GW_BIN_ARG=""
EMU_BIN_ARG=""
EXECUTIONS=1000

usage() { sed -n '2,28p' "$0" | sed 's/^# \{0,1\}//'; }

while [[ $# -gt 0 ]]; do
  case "$1" in
    --duration) DURATION="$2"; shift 2 ;;
    --warmup) WARMUP="$2"; shift 2 ;;
    --conns) CONNS="$2"; shift 2 ;;
    --scenarios) SCENARIOS="$2"; shift 2 ;;
    --unique-auth) UNIQUE_AUTH=1; shift ;;
    --tokens) TOKENS="$2"; shift 2 ;;
    --no-build) BUILD=0; shift ;;
    --out) OUT="$2"; shift 2 ;;
    --gateway-args) GATEWAY_ARGS="$2"; shift 2 ;;
    --emulator-port) EMU_PORT="$2"; shift 2 ;;
    --gateway-port) GW_PORT="$2"; shift 2 ;;
    --timeout) TIMEOUT="$2"; shift 2 ;;
    --gateway-bin) GW_BIN_ARG="$2"; shift 2 ;;
    --emulator-bin) EMU_BIN_ARG="$2"; shift 2 ;;
    -h|--help) usage; exit 0 ;;
    *) echo "unknown option: $1 (see --help)" >&2; exit 2 ;;
  esac
done

log() { echo "[bench] $*" >&2; }

# --- processes: every one we start is recorded and stopped on exit -------------------------
# shellcheck source=bench/trim_log.sh
source "$ROOT/bench/trim_log.sh"
PIDS=()
cleanup() {
  local status=$?
  trap - EXIT INT TERM
  for pid in "${PIDS[@]}"; do
    pkill -TERM -P "$pid" 2>/dev/null || true # its children (the watchdog's sleep)
    kill -TERM "$pid" 2>/dev/null || true
  done
  for _ in 1 2 3 4 5 6 7 8 9 10; do
    local alive=0
    for pid in "${PIDS[@]}"; do kill -0 "$pid" 2>/dev/null && alive=1; done
    [[ $alive == 0 ]] && break
    sleep 0.5
  done
  for pid in "${PIDS[@]}"; do kill -KILL "$pid" 2>/dev/null || true; done
  trim_log "$OUT/logs/gateway.log"
  exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# Watchdog: the whole run is bounded.
# (sleep gets no copy of stdout/stderr: a pipe reading this script's output must not wait for it.)
( sleep "$TIMEOUT" </dev/null >/dev/null 2>&1; echo "[bench] timeout after ${TIMEOUT}s" >&2; kill -TERM $$ ) &
PIDS+=("$!")

# --- tools ------------------------------------------------------------------------------------
if ! command -v wrk >/dev/null; then
  if [[ $(id -u) == 0 ]] && command -v apt-get >/dev/null; then
    log "installing wrk"
    apt-get install -y wrk >/dev/null || { apt-get update >/dev/null && apt-get install -y wrk >/dev/null; }
  else
    echo "wrk is needed: apt-get install wrk" >&2; exit 1
  fi
fi
for tool in curl python3; do
  command -v "$tool" >/dev/null || { echo "$tool is needed" >&2; exit 1; }
done

port_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
for port in "$EMU_PORT" "$GW_PORT"; do
  port_free "$port" || { echo "port $port is taken (use --emulator-port/--gateway-port)" >&2; exit 1; }
done

cd "$ROOT"
if [[ $BUILD == 1 ]]; then
  log "building release binaries"
  cargo build --release -p blaxel-emulator -p blaxel-gateway >&2
fi
EMU_BIN="${EMU_BIN_ARG:-$ROOT/target/release/blaxel-emulator}"
GW_BIN="${GW_BIN_ARG:-$ROOT/target/release/blaxel-gateway}"
[[ -x $EMU_BIN && -x $GW_BIN ]] || { echo "release binaries missing: run without --no-build" >&2; exit 1; }

OUT="${OUT:-$ROOT/target/bench/$(date -u +%Y%m%dT%H%M%SZ)}"
mkdir -p "$OUT/raw" "$OUT/logs"

# --- start the emulator and the gateway -------------------------------------------------------
EMU="http://127.0.0.1:$EMU_PORT"
GW="http://127.0.0.1:$GW_PORT"
emu_args=(--listen "127.0.0.1:$EMU_PORT" --jobs "$JOBS" --executions-per-job "$EXECUTIONS"
          --token dev-token=my-workspace)
if [[ $UNIQUE_AUTH == 1 ]]; then
  # bench-0 .. bench-(N-1), all in my-workspace; comma-separated in chunks (one argument is
  # limited to 128 KiB).
  while IFS= read -r chunk; do emu_args+=(--token "$chunk"); done < <(
    python3 -c "
import sys
n = int(sys.argv[1])
for s in range(0, n, 4000):
    print(','.join(f'bench-{i}=my-workspace' for i in range(s, min(n, s + 4000))))
" "$TOKENS")
fi
RUST_LOG="${RUST_LOG:-warn}" "$EMU_BIN" "${emu_args[@]}" >"$OUT/logs/emulator.log" 2>&1 &
EMU_PID=$!
PIDS+=("$EMU_PID")
# shellcheck disable=SC2086 # GATEWAY_ARGS is a list of flags
"$GW_BIN" --listen "127.0.0.1:$GW_PORT" --upstream "$EMU/v0" --token dev-token --grpc-listen off $GATEWAY_ARGS \
  >"$OUT/logs/gateway.log" 2>&1 &
GW_PID=$!
PIDS+=("$GW_PID")

wait_ready() {
  local url=$1 pid=$2 name=$3
  for _ in $(seq 1 300); do
    kill -0 "$pid" 2>/dev/null || { echo "$name exited; see $OUT/logs" >&2; exit 1; }
    curl -fsS -o /dev/null "$url" 2>/dev/null && return 0
    sleep 0.1
  done
  echo "$name not ready after 30 s" >&2; exit 1
}
wait_ready "$EMU/healthz" "$EMU_PID" emulator
wait_ready "$GW/readyz" "$GW_PID" gateway
log "emulator pid $EMU_PID on $EMU, gateway pid $GW_PID on $GW, out $OUT"

# --- request bodies ---------------------------------------------------------------------------
python3 - "$BENCH_DIR" "$OUT" <<'PY'
import json, sys, pathlib
bench, out = pathlib.Path(sys.argv[1]), pathlib.Path(sys.argv[2])
fields = (bench / "fields.graphql").read_text()
for name in ("page", "multi"):
    query = (bench / f"{name}.graphql").read_text() + "\n" + fields
    (out / f"{name}.json").write_text(json.dumps({"query": query}))
query = (bench / "paging.graphql").read_text() + "\n" + fields
(out / "paging.json").write_text(json.dumps({"query": query})[:-1] + ', "variables": {"after": __AFTER__}}')
(out / "peers.json").write_text(json.dumps({"query": (bench / "peers.graphql").read_text()}))
PY

# --- checks: right answers, and one upstream request per page when paging ---------------------
upstream_total() { curl -fsS "$EMU/_emulator/stats" | python3 -c 'import json,sys; print(json.load(sys.stdin)["total"])'; }
reset_stats() { curl -fsS -o /dev/null -X POST "$EMU/_emulator/reset-stats"; }

check() {
  python3 "$BENCH_DIR/check.py" --gateway "$GW/graphql" --emulator "$EMU" --out "$OUT"
}
log "checking answers"
check >&2

# --- measurement ------------------------------------------------------------------------------
CLK_TCK=$(getconf CLK_TCK)
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
RSS_MODE=hwm
echo 5 2>/dev/null >"/proc/$GW_PID/clear_refs" || RSS_MODE=sample

printf 'scenario\tconns\twrk\tgw_ticks\temu_ticks\tgw_rss_kib\tupstream\n' >"$OUT/runs.tsv"

run_wrk() { # scenario conns duration script url [env...]
  local scenario=$1 conns=$2 duration=$3 script=$4 url=$5; shift 5
  env BENCH_DIR="$BENCH_DIR" UNIQUE_AUTH="$UNIQUE_AUTH" AUTH_TOKENS="$TOKENS" "$@" \
    timeout $((duration + 30)) wrk -t1 -c"$conns" -d"${duration}s" --latency --timeout 10s \
    -s "$BENCH_DIR/$script" "$url"
}

measure() { # scenario conns script url [env...]
  local scenario=$1 conns=$2 script=$3 url=$4; shift 4
  local raw="$OUT/raw/$scenario.c$conns.txt"
  if [[ $WARMUP -gt 0 ]]; then
    run_wrk "$scenario" 32 "$WARMUP" "$script" "$url" "$@" >/dev/null
  fi
  reset_stats
  local sampler="" rss_file="$OUT/raw/$scenario.c$conns.rss"
  echo 0 >"$rss_file"
  if [[ $RSS_MODE == hwm ]]; then
    echo 5 >"/proc/$GW_PID/clear_refs"
  else
    ( max=0; while kill -0 "$GW_PID" 2>/dev/null; do
        r=$(awk '/^VmRSS:/ {print $2}' "/proc/$GW_PID/status"); (( r > max )) && max=$r && echo "$max" >"$rss_file"
        sleep 0.1; done ) &
    sampler=$!
    PIDS+=("$sampler")
  fi
  local gw0 emu0 gw1 emu1
  gw0=$(cpu_ticks "$GW_PID"); emu0=$(cpu_ticks "$EMU_PID")
  echo "# wrk -t1 -c$conns -d${DURATION}s --latency --timeout 10s -s bench/$script $url ($*)" >"$raw"
  run_wrk "$scenario" "$conns" "$DURATION" "$script" "$url" "$@" >>"$raw"
  gw1=$(cpu_ticks "$GW_PID"); emu1=$(cpu_ticks "$EMU_PID")
  local upstream; upstream=$(upstream_total)
  if [[ -n $sampler ]]; then kill "$sampler" 2>/dev/null || true; wait "$sampler" 2>/dev/null || true; fi
  if [[ $RSS_MODE == hwm ]]; then awk '/^VmHWM:/ {print $2}' "/proc/$GW_PID/status" >"$rss_file"; fi
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$scenario" "$conns" "$raw" $((gw1 - gw0)) $((emu1 - emu0)) \
    "$(cat "$rss_file")" "$upstream" >>"$OUT/runs.tsv"
  log "$scenario c=$conns: $(grep -E 'Requests/sec' "$raw" | tr -s ' ')"
}

DIRECT_PAGE="/v0/jobs/data-processing-job/executions?limit=20"
DIRECT_PAGES="/v0/jobs/data-processing-job/executions?limit=100"
LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg)
IFS=',' read -r -a conns_list <<<"$CONNS"
IFS=',' read -r -a scenario_list <<<"$SCENARIOS"
for scenario in "${scenario_list[@]}"; do
  for c in "${conns_list[@]}"; do
    case "$scenario" in
      a) measure a-direct "$c" direct.lua "$EMU" DIRECT_PATH="$DIRECT_PAGE" ;;
      b) measure b-page "$c" graphql.lua "$GW/graphql" BODY_FILE="$OUT/page.json" ;;
      c) measure c-multi "$c" graphql.lua "$GW/graphql" BODY_FILE="$OUT/multi.json" ;;
      d) measure d-paging "$c" paging.lua "$GW/graphql" MODE=graphql BODY_FILE="$OUT/paging.json" ;;
      e) measure e-rest-pages "$c" paging.lua "$EMU" MODE=rest DIRECT_PATH="$DIRECT_PAGES" ;;
      f) measure f-peers "$c" graphql.lua "$GW/graphql" BODY_FILE="$OUT/peers.json" ;;
      *) echo "unknown scenario $scenario" >&2; exit 2 ;;
    esac
  done
done
LOAD_END=$(cut -d' ' -f1-3 /proc/loadavg)

log "checking answers after the load"
check >&2

python3 "$BENCH_DIR/report.py" "$OUT" --clk-tck "$CLK_TCK" --rss-mode "$RSS_MODE" \
  --meta "duration=${DURATION}s" "warmup=${WARMUP}s" "unique_auth=$UNIQUE_AUTH" \
  "loadavg_start=$LOAD_START" "loadavg_end=$LOAD_END" "cores=$(nproc)" \
  "gateway_args=$GATEWAY_ARGS" "gateway_bin=$GW_BIN" "date=$(date -u +%Y-%m-%dT%H:%M:%SZ)" \
  "commit=$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)" | tee "$OUT/report.md"
