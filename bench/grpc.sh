#!/usr/bin/env bash
# The same page three ways, with one HTTP/2 load generator (h2load, Debian's nghttp2-client):
#   rest     GET /v0/jobs/data-processing-job/executions?limit=20 straight to the emulator (floor)
#   graphql  POST /graphql, the same 20 executions with every field (bench/page.graphql +
#            bench/fields.graphql), over h2c
#   grpc     blaxel.jobs.v1.JobExecutionService/ListJobExecutions, page_size 20 (every field)
# Before the load, each answer is checked once (20 executions; gRPC with buf curl, since h2load
# counts a gRPC error, an HTTP 200 with grpc-status != 0, as a success).
#
# Reported per run: req/s and mean latency (h2load), failed requests, gateway CPU ms per request
# (utime+stime from /proc/<pid>/stat) and upstream requests per request (the emulator's stats).
# Output: Markdown on stdout, everything in --out DIR (default target/bench/grpc-<timestamp>).
#
# With --rounds N (default 1), GraphQL and gRPC runs alternate N times at each connection count,
# so slow and fast moments of a shared machine fall on both faces; the gRPC/GraphQL req/s ratio
# of each round, their median and (from 6 rounds) the median's 95 % confidence interval are
# printed after the table.
#
# Usage: bench/grpc.sh [--duration S] [--conns 1,32] [--streams 1] [--rounds N] [--no-build]
#                      [--out DIR]
#                      [--gateway-bin PATH]   (another gateway binary, e.g. an earlier build)
#                      [--emulator-bin PATH]  (another emulator binary)
# Needs the release binaries (built unless --no-build), h2load, python3, curl and buf
# (.ci/grpc-setup.sh). Every process started here is stopped on exit.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
DURATION=10
CONNS="1,32"
STREAMS=1
ROUNDS=1
BUILD=1
OUT=""
GATEWAY_BIN=""
EMULATOR_BIN=""
EMU_PORT=18381
GW_PORT=18380
GRPC_PORT=18351
while [[ $# -gt 0 ]]; do
  case "$1" in
    --duration) DURATION="$2"; shift 2 ;;
    --conns) CONNS="$2"; shift 2 ;;
    --streams) STREAMS="$2"; shift 2 ;;
    --rounds) ROUNDS="$2"; shift 2 ;;
    --no-build) BUILD=0; shift ;;
    --out) OUT="$2"; shift 2 ;;
    --gateway-bin) GATEWAY_BIN="$2"; shift 2 ;;
    --emulator-bin) EMULATOR_BIN="$2"; shift 2 ;;
    -h|--help) sed -n '2,23p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "unknown option: $1 (see --help)" >&2; exit 2 ;;
  esac
done
command -v h2load >/dev/null || { echo "h2load missing: apt-get install nghttp2-client" >&2; exit 1; }
BUF="$ROOT/tests/grpc/node_modules/.bin/buf"
[[ -x "$BUF" ]] || { echo "buf missing: run .ci/grpc-setup.sh" >&2; exit 1; }
OUT="${OUT:-$ROOT/target/bench/grpc-$(date +%Y%m%d-%H%M%S)}"
mkdir -p "$OUT"
log() { echo "# $*" >&2; }

if [[ $BUILD == 1 ]]; then
  (cd "$ROOT" && cargo build --release -p blaxel-gateway -p blaxel-emulator)
fi
BIN="$ROOT/target/release"
PIDS=()
# shellcheck source=bench/trim_log.sh
source "$ROOT/bench/trim_log.sh"
cleanup() {
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  trim_log "$OUT/gateway.log"
}
trap cleanup EXIT INT TERM

"${EMULATOR_BIN:-$BIN/blaxel-emulator}" --listen "127.0.0.1:$EMU_PORT" --jobs 5 --executions-per-job 1000 \
  --token dev-token=my-workspace >"$OUT/emulator.log" 2>&1 &
EMU_PID=$!; PIDS+=("$EMU_PID")
"${GATEWAY_BIN:-$BIN/blaxel-gateway}" --listen "127.0.0.1:$GW_PORT" --grpc-listen "127.0.0.1:$GRPC_PORT" \
  --upstream "http://127.0.0.1:$EMU_PORT/v0" --token dev-token >"$OUT/gateway.log" 2>&1 &
GW_PID=$!; PIDS+=("$GW_PID")
EMU="http://127.0.0.1:$EMU_PORT"
GW="http://127.0.0.1:$GW_PORT"
GRPC="http://127.0.0.1:$GRPC_PORT"
for _ in $(seq 300); do curl -fsS -o /dev/null "$GW/readyz" 2>/dev/null && break; sleep 0.1; done
curl -fsS -o /dev/null "$GW/readyz" || { echo "gateway not ready; see $OUT" >&2; exit 1; }

# --- request bodies: GraphQL JSON, and one gRPC frame (flag 0, length, message) ----------------
python3 - "$ROOT/bench" "$OUT" <<'PY'
import json, pathlib, struct, sys
bench, out = pathlib.Path(sys.argv[1]), pathlib.Path(sys.argv[2])
query = (bench / "page.graphql").read_text() + "\n" + (bench / "fields.graphql").read_text()
(out / "graphql.json").write_text(json.dumps({"query": query}))
parent = b"jobs/data-processing-job"
# ListJobExecutionsRequest: parent (field 1, bytes), page_size (field 2, varint 20).
message = bytes([0x0A, len(parent)]) + parent + bytes([0x10, 20])
(out / "grpc.bin").write_bytes(b"\x00" + struct.pack(">I", len(message)) + message)
PY

# --- checks ------------------------------------------------------------------------------------
REST_URL="$EMU/v0/jobs/data-processing-job/executions?limit=20"
REST_H=(-H "authorization: Bearer dev-token" -H "blaxel-version: 2026-09-22")
n=$(curl -fsS "${REST_H[@]}" "$REST_URL" | python3 -c 'import json,sys; print(len(json.load(sys.stdin)["data"]))')
[[ $n == 20 ]] || { echo "rest check: $n executions" >&2; exit 1; }
n=$(curl -fsS -H 'content-type: application/json' --data-binary @"$OUT/graphql.json" "$GW/graphql" \
  | python3 -c 'import json,sys; d=json.load(sys.stdin); assert "errors" not in d, d; print(len(d["data"]["jobExecutions"]["edges"]))')
[[ $n == 20 ]] || { echo "graphql check: $n executions" >&2; exit 1; }
n=$("$BUF" curl --protocol grpc --http2-prior-knowledge -d '{"parent":"jobs/data-processing-job","page_size":20}' \
  "$GRPC/blaxel.jobs.v1.JobExecutionService/ListJobExecutions" | python3 -c 'import json,sys; print(len(json.load(sys.stdin)["jobExecutions"]))')
[[ $n == 20 ]] || { echo "grpc check: $n executions" >&2; exit 1; }
log "checks ok: 20 executions by REST, GraphQL and gRPC"

cpu_ms() { awk '{print ($14+$15)*1000/'"$(getconf CLK_TCK)"'}' "/proc/$1/stat"; }
upstream_total() { curl -fsS "$EMU/_emulator/stats" | python3 -c 'import json,sys; print(json.load(sys.stdin)["total"])'; }

run() { # name conns url args...
  local name=$1 conns=$2 url=$3; shift 3
  local cpu0 up0 cpu1 up1 file="$OUT/$name-c$conns.txt"
  cpu0=$(cpu_ms "$GW_PID"); up0=$(upstream_total)
  h2load -D "$DURATION" -c "$conns" -m "$STREAMS" -t 1 "$@" "$url" >"$file" 2>&1 || true
  cpu1=$(cpu_ms "$GW_PID"); up1=$(upstream_total)
  python3 - "$file" "$name" "$conns" "$cpu0" "$cpu1" "$up0" "$up1" "$OUT/rps.txt" <<'PY'
import re, sys
path, name, conns, cpu0, cpu1, up0, up1, rps_log = sys.argv[1:]
text = open(path).read()
rps = re.search(r"finished in [^,]+, ([\d.]+) req/s", text)
done = re.search(r"requests: \d+ total, \d+ started, (\d+) done, (\d+) succeeded, (\d+) failed", text)
mean = re.search(r"time for request:\s+\S+\s+\S+\s+(\S+)", text)
if not (rps and done and mean):
    print(f"| {name} | {conns} | h2load failed: see {path} | | | | |")
    sys.exit(0)
n = max(int(done.group(2)), 1)
cpu = (float(cpu1) - float(cpu0)) / n
up = (int(up1) - int(up0)) / n
cpu_cell = "-" if name == "rest" else f"{cpu:.3f}"
print(f"| {name} | {conns} | {float(rps.group(1)):.0f} | {mean.group(1)} | {done.group(3)} | {cpu_cell} | {up:.2f} |")
with open(rps_log, "a") as log:
    log.write(f"{name} {conns} {float(rps.group(1))}\n")
PY
}

{
  echo "| path | conns | req/s | mean latency | failed | gateway CPU ms/req | upstream req/req |"
  echo "|---|---|---|---|---|---|---|"
  for c in ${CONNS//,/ }; do
    run rest "$c" "$REST_URL" "${REST_H[@]}"
    for _ in $(seq "$ROUNDS"); do
      run graphql "$c" "$GW/graphql" -d "$OUT/graphql.json" -H 'content-type: application/json'
      run grpc "$c" "$GRPC/blaxel.jobs.v1.JobExecutionService/ListJobExecutions" \
        -d "$OUT/grpc.bin" -H 'content-type: application/grpc' -H 'te: trailers'
    done
  done
  # Each gRPC run over the GraphQL run just before it; per connection count their median and,
  # from 6 rounds on, its confidence interval (bench/median.py).
  python3 - "$OUT/rps.txt" "$ROOT/bench" <<'PY'
import sys
sys.path.insert(0, sys.argv[2])
from median import describe
rows = [line.split() for line in open(sys.argv[1])]
ratios = {}
for (name, conns, rps), (next_name, next_conns, next_rps) in zip(rows, rows[1:]):
    if name == "graphql" and next_name == "grpc" and conns == next_conns:
        ratios.setdefault(conns, []).append(float(next_rps) / float(rps))
print()
for conns, values in ratios.items():
    print(f"grpc/graphql req/s, c={conns}: {describe(values)}")
PY
} | tee "$OUT/results.md"
