#!/usr/bin/env bash
# Instructions per request, counted by valgrind's callgrind: deterministic (the same binary gives
# the same count within a fraction of a percent, whatever else the machine runs), so two builds
# can be compared on a shared, noisy machine where req/s and CPU time cannot tell 5 % apart.
#
#   bench/callgrind.sh [--no-build] [--requests N] [--connections C] [--query FILE]...
#                      [--upstream URL] [--grpc] [--bin NAME=PATH[::ARGS]]...
#
# Each --bin (default: this tree's release gateway, named "main") runs under callgrind over the
# release emulator (or --upstream URL, e.g. the peers' stub: --upstream http://127.0.0.1:18080/v0
# with --query ../shared/bench/peers/ours-query.graphql), gets 100 warm-up requests, then N
# (default 300) requests of the query (the --query files joined; default bench/page.graphql and
# bench/fields.graphql: a page of 20, every field, as bench/run.sh's scenario b) from h2load over HTTP/1.1 with
# C connections (default 1); the counters are zeroed after the warm-up and dumped after the N.
# Prints, per binary: instructions per request and the answer's first bytes (checked: 200, no
# "errors"). ARGS after `::` are extra gateway flags for that binary (an older build may lack
# some of ours: --grpc-listen off is passed only when the binary knows it). RUST_LOG defaults to
# warn (no access lines). The dumps stay in target/bench/callgrind/<name>.cg.1 for
# `callgrind_annotate --inclusive=yes` (where the instructions go).
# --grpc counts gRPC calls instead: ListJobExecutions of the same page (parent
# jobs/data-processing-job, page_size 20, every field) over h2c, checked for grpc-status 0.
# Needs valgrind, h2load (nghttp2-client) and curl.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BENCH_DIR="$ROOT/bench"
BUILD=1 N=300 CONNS=1 QUERIES=() UPSTREAM="" BINS=() GRPC=0
while [[ $# -gt 0 ]]; do
  case "$1" in
    --no-build) BUILD=0; shift ;;
    --requests) N="$2"; shift 2 ;;
    --connections) CONNS="$2"; shift 2 ;;
    --query) QUERIES+=("$2"); shift 2 ;;
    --upstream) UPSTREAM="$2"; shift 2 ;;
    --bin) BINS+=("$2"); shift 2 ;;
    --grpc) GRPC=1; shift ;;
    -h|--help) sed -n '2,23p' "$0"; exit 0 ;;
    *) echo "unknown argument: $1" >&2; exit 2 ;;
  esac
done
for tool in valgrind callgrind_control h2load curl; do
  command -v "$tool" >/dev/null || { echo "$tool is needed" >&2; exit 1; }
done
# shellcheck source=bench/lib.sh
source "$BENCH_DIR/lib.sh"
[[ ${#BINS[@]} -gt 0 ]] || BINS=("main=$BIN/blaxel-gateway")
OUT="$ROOT/target/bench/callgrind"
mkdir -p "$OUT"
GW_PORT=18491 EMU_PORT=18490 GRPC_PORT=18492
BODY="$OUT/body.json"
GRPC_BODY="$OUT/body.grpc"
# One gRPC frame (flag 0, big-endian length, message): ListJobExecutionsRequest with parent
# (field 1) and page_size (field 2, varint 20).
python3 -c 'import struct,sys; p=b"jobs/data-processing-job"; m=bytes([10,len(p)])+p+bytes([16,20]); sys.stdout.buffer.write(b"\0"+struct.pack(">I",len(m))+m)' >"$GRPC_BODY"
[[ ${#QUERIES[@]} -gt 0 ]] || QUERIES=("$BENCH_DIR/page.graphql" "$BENCH_DIR/fields.graphql")
python3 -c 'import json,sys; print(json.dumps({"query": "".join(open(f).read() for f in sys.argv[1:])}))' \
  "${QUERIES[@]}" >"$BODY"

if [[ -z $UPSTREAM ]]; then
  RUST_LOG=warn "$BIN/blaxel-emulator" --listen "127.0.0.1:$EMU_PORT" --jobs 10 \
    --executions-per-job 200 --token dev-token=my-workspace >"$OUT/emulator.log" 2>&1 &
  PIDS+=("$!")
  UPSTREAM="http://127.0.0.1:$EMU_PORT/v0"
  wait_for "http://127.0.0.1:$EMU_PORT/healthz"
fi

printf '%-16s %14s  %s\n' binary instr/request answer
for spec in "${BINS[@]}"; do
  name="${spec%%=*}" rest="${spec#*=}"
  path="${rest%%::*}" extra=""
  [[ $rest == *::* ]] && extra="${rest#*::}"
  args=(--listen "127.0.0.1:$GW_PORT" --upstream "$UPSTREAM" --token dev-token)
  if [[ $GRPC == 1 ]]; then
    args+=(--grpc-listen "127.0.0.1:$GRPC_PORT")
  else
    "$path" --help 2>/dev/null | grep -- '--grpc-listen' >/dev/null && args+=(--grpc-listen off)
  fi
  rm -f "$OUT/$name".cg*
  # shellcheck disable=SC2086 # extra is a list of flags
  RUST_LOG="${RUST_LOG:-warn}" valgrind --tool=callgrind --callgrind-out-file="$OUT/$name.cg" \
    "$path" "${args[@]}" $extra >"$OUT/$name.log" 2>&1 &
  pid=$!
  PIDS+=("$pid")
  for _ in $(seq 1 600); do
    curl -sf -o /dev/null "http://127.0.0.1:$GW_PORT/healthz" && break
    kill -0 "$pid" 2>/dev/null || { echo "$name exited: see $OUT/$name.log" >&2; exit 1; }
    sleep 0.2
  done
  if [[ $GRPC == 1 ]]; then
    url="http://127.0.0.1:$GRPC_PORT/blaxel.jobs.v1.JobExecutionService/ListJobExecutions"
    load=(h2load -d "$GRPC_BODY" -H 'content-type: application/grpc' -H 'te: trailers')
    # h2load counts a gRPC error (HTTP 200, grpc-status != 0) as a success: check one call here.
    answer=$(curl -sS --http2-prior-knowledge -o /dev/null -D - --data-binary @"$GRPC_BODY" \
      -H 'content-type: application/grpc' -H 'te: trailers' "$url" | tr -d '\r' | grep -i '^grpc-' | tr '\n' ' ')
    [[ $answer == *"grpc-status: 0"* ]] || { echo "$name answered: $answer" >&2; exit 1; }
  else
    url="http://127.0.0.1:$GW_PORT/graphql"
    load=(h2load --h1 -d "$BODY" -H 'content-type: application/json')
    answer=$(curl -sS -d @"$BODY" -H 'content-type: application/json' "$url")
    if [[ $answer != '{"data"'* || $answer == *'"errors"'* ]]; then
      echo "$name answered: ${answer:0:300}" >&2; exit 1
    fi
  fi
  "${load[@]}" -n 100 -c 1 "$url" >/dev/null
  callgrind_control -z "$pid" >/dev/null 2>&1
  done_line=$("${load[@]}" -n "$N" -c "$CONNS" "$url" |
    sed -n 's/^requests: .* \([0-9]*\) succeeded.*/\1/p')
  [[ $done_line == "$N" ]] || { echo "$name: $done_line of $N requests succeeded" >&2; exit 1; }
  callgrind_control -d "$pid" >/dev/null 2>&1
  kill "$pid"; wait "$pid" 2>/dev/null || true
  total=$(sed -n 's/^\(summary\|totals\): *\([0-9]*\).*/\2/p' "$OUT/$name.cg.1" | sed -n 1p)
  printf '%-16s %14s  %s\n' "$name" "$((total / N))" "${answer:0:60}"
done
