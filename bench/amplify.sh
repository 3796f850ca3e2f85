#!/usr/bin/env bash
# Memory under amplification: the release gateway over the release emulator on loopback, fed the
# request shapes that used to amplify memory (issue "Bound the work a request can cause"), each
# CONCURRENCY at once, ROUNDS times. Prints, per case, how the gateway answered (HTTP status and
# the first error code / limit), the size of one answer, the upstream requests it cost, and the
# gateway's peak RSS (VmHWM, reset before each case through /proc/PID/clear_refs where the kernel
# allows it, else the peak so far) and its RSS once the case is over, so a case that holds
# memory shows at once.
#
# Each request of a round is made distinct where a case writes __C__ (replaced by the request's
# number), so that identical queries in flight are not shared (--upstream-dedupe) and each
# request does its own work; pass --gateway-args "--upstream-dedupe false" to share nothing.
#
# Usage: bench/amplify.sh [--concurrency 16] [--rounds 3] [--no-build] [--gateway-args ARGS]
#                         [--gateway-bin PATH]  (another build of the gateway, e.g. an older one)
# Loopback only, bounded (ROUNDS x CONCURRENCY requests a case, curl --max-time 60); it kills
# everything it started on exit.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CONCURRENCY=16
ROUNDS=3
BUILD=1
EMU_PORT=18491
GW_PORT=18490
GATEWAY_ARGS=""
GATEWAY_BIN=""

while [[ $# -gt 0 ]]; do
  case "$1" in
    --concurrency) CONCURRENCY="$2"; shift 2 ;;
    --rounds) ROUNDS="$2"; shift 2 ;;
    --no-build) BUILD=0; shift ;;
    --gateway-args) GATEWAY_ARGS="$2"; shift 2 ;;
    --gateway-bin) GATEWAY_BIN="$2"; shift 2 ;;
    -h|--help) sed -n '2,10p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "unknown option: $1" >&2; exit 2 ;;
  esac
done

# shellcheck source=bench/lib.sh
source "$ROOT/bench/lib.sh"
OUT="$(mktemp -d)"

"$BIN/blaxel-emulator" --listen "127.0.0.1:$EMU_PORT" --jobs 200 --executions-per-job 600 \
  --token dev-token=my-workspace >"$OUT/emulator.log" 2>&1 &
PIDS+=($!)
wait_for "http://127.0.0.1:$EMU_PORT/_emulator/stats"
"${GATEWAY_BIN:-$BIN/blaxel-gateway}" --listen "127.0.0.1:$GW_PORT" --upstream "http://127.0.0.1:$EMU_PORT/v0" \
  --token dev-token --grpc-listen off $GATEWAY_ARGS >"$OUT/gateway.log" 2>&1 &
GW=$!
PIDS+=($GW)
wait_for "http://127.0.0.1:$GW_PORT/healthz"

JOB=data-processing-job
FIELDS='id metadata { id job workspace cluster createdAt startedAt completedAt updatedAt } spec { parallelism timeout memoryOverride envOverride taskCount tasks { status metadata { name createdAt } } } stats { total success failure running } status tasks { status conditions { type message } metadata { name startedAt } }'
aliases() { # n first selection
  local q="" i
  for ((i = 0; i < $1; i++)); do q+="a$i: jobExecutions(jobName: \\\"$JOB\\\", first: $2) { $3 } "; done
  echo "$q"
}
fanout=""
for ((i = 0; i < 62; i++)); do fanout+="e$i: executions(first: 1) { totalCount } "; done
bomb="{ ...F0 }"
for ((i = 0; i < 30; i++)); do bomb+=" fragment F$i on Query { ...F$((i + 1)) ...F$((i + 1)) ...F$((i + 1)) ...F$((i + 1)) }"; done
bomb+=" fragment F30 on Query { __typename }"

declare -A CASES
CASES[1-totalCount-64x500]="{\"query\":\"{ $(aliases 64 500 totalCount) }\"}"
CASES[2-fanout-200x62]="{\"query\":\"{ jobs(first: 200) { nodes { ...F } } } fragment F on Job { $fanout }\"}"
CASES[3-every-field-500]="{\"query\":\"{ jobExecutions(jobName: \\\"$JOB\\\", first: 500) { totalCount nodes { $FIELDS } } }\"}"
CASES[4-every-field-5x100]="{\"query\":\"{ $(aliases 5 100 "nodes { $FIELDS }") }\"}"
CASES[5-batch-10x100]="[$(for i in $(seq 1 10); do printf '{"query":"{ jobExecutions(jobName: \\"%s\\", first: 100, sort: %s) { nodes { %s } } }"},' "$JOB" "$([[ $((i % 2)) == 0 ]] && echo NAME_ASC || echo CREATED_AT_ASC)" "$FIELDS"; done | sed 's/,$//')]"
CASES[6-fragment-bomb]="{\"query\":\"$bomb\"}"
# Ids (then a few timestamps) of every execution of 99 jobs: 100 upstream calls (the cap),
# 9,900 executions of which a few fields are read.
CASES[8-ids-99-jobs-x100]="{\"query\":\"{ r__C__: jobs(first: 99) { nodes { executions(first: 100) { nodes { id } } } } }\"}"
CASES[9-timestamps-99-jobs-x100]="{\"query\":\"{ r__C__: jobs(first: 99) { nodes { executions(first: 100) { nodes { id status metadata { createdAt completedAt } } } } } }\"}"
CASES[7-introspection-batch]="[$(for i in $(seq 1 10); do printf '{"query":"{ __schema { types { name fields { name type { name ofType { name ofType { name } } } } } } }"},'; done | sed 's/,$//')]"

echo "gateway idle RSS: $(python3 -c "print(round($(rss_kb "$GW") / 1024, 1))") MiB; $CONCURRENCY requests at once, $ROUNDS rounds a case"
printf '%-24s %-8s %-40s %10s %12s %10s %10s\n' case status "first error (limit)" "bytes" "upstream/req" "peak MiB" "after MiB"
for name in $(printf '%s\n' "${!CASES[@]}" | sort); do
  body="${CASES[$name]}"
  for ((c = 0; c < CONCURRENCY; c++)); do printf '%s' "${body//__C__/$c}" >"$OUT/body.$c.json"; done
  curl -s -X POST "http://127.0.0.1:$EMU_PORT/_emulator/reset-stats" >/dev/null
  echo 5 2>/dev/null >"/proc/$GW/clear_refs" || true
  for ((r = 0; r < ROUNDS; r++)); do
    CURLS=()
    for ((c = 0; c < CONCURRENCY; c++)); do
      curl -s --max-time 60 -o "$OUT/answer.$c" -w '%{http_code}\n' -H 'content-type: application/json' \
        --data-binary @"$OUT/body.$c.json" "http://127.0.0.1:$GW_PORT/graphql" >"$OUT/status.$c" &
      CURLS+=($!)
    done
    wait "${CURLS[@]}" || true
  done
  status=$(cat "$OUT/status.0")
  first=$(python3 -c "
import json,sys
a=json.load(open('$OUT/answer.0'))
a=a if isinstance(a,list) else [a]
e=[x for r in a for x in (r.get('errors') or [])]
print((e[0]['extensions'].get('code','?')+' ('+str(e[0]['extensions'].get('limit',''))+')') if e else 'data')" 2>/dev/null || echo '?')
  bytes=$(stat -c %s "$OUT/answer.0")
  upstream=$(curl -s "http://127.0.0.1:$EMU_PORT/_emulator/stats" | python3 -c "import json,sys; print(json.load(sys.stdin)['total'])")
  per_req=$(python3 -c "print(round($upstream / ($ROUNDS * $CONCURRENCY), 1))")
  peak=$(python3 -c "print(round($(hwm_kb "$GW") / 1024, 1))")
  after=$(python3 -c "print(round($(rss_kb "$GW") / 1024, 1))")
  printf '%-24s %-8s %-40s %10s %12s %10s %10s\n' "$name" "$status" "$first" "$bytes" "$per_req" "$peak" "$after"
done
