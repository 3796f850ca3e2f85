#!/usr/bin/env bash
# A/B rows over the emulator, back to back and interleaved (bench/run.sh, scenarios a and b):
# BEFORE is a gateway binary of an earlier commit (copy target/release/blaxel-gateway aside
# before rebuilding), AFTER the current one. Runs: before, after (dedupe on), after with the
# caps loosened, after with --upstream-dedupe false, after (caps on), after (caps loosened),
# before; prints the rows of scenarios a and b of each run. Each run stops by itself.
#
# Usage: bench/ab.sh BEFORE_BIN [AFTER_BIN] [--duration S]
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BEFORE="${1:?usage: bench/ab.sh BEFORE_BIN [AFTER_BIN] [--duration S]}"
AFTER="${2:-$ROOT/target/release/blaxel-gateway}"
DURATION=8
[[ "${3:-}" == --duration ]] && DURATION="$4"
OUT="$ROOT/target/bench/ab-$(date -u +%Y%m%dT%H%M%SZ)"
mkdir -p "$OUT"
ON=""
LOOSE="--max-response-bytes 1073741824 --max-complexity 100000000 --max-upstream-calls 100000 --max-fields 1000000 --max-aliases 100000 --max-depth 64 --max-document-bytes 16777216 --max-batch 1000 --max-concurrent-per-credential 10000 --max-body-bytes 67108864"
run() { # name bin args
  "$ROOT/bench/run.sh" --no-build --duration "$DURATION" --scenarios a,b --gateway-bin "$2" \
    --gateway-args "$3" --out "$OUT/$1" >"$OUT/$1.log" 2>&1
  echo "== $1 ($2 $3)"
  grep -E '^\| \((a|b)\)' "$OUT/$1/report.md"
}
run 1-before "$BEFORE" "$ON"
run 2-after-dedupe-on "$AFTER" "$ON"
run 3-after-caps-loose "$AFTER" "$LOOSE"
run 4-after-dedupe-off "$AFTER" "$ON --upstream-dedupe false"
run 5-after-caps-on "$AFTER" "$ON"
run 6-after-caps-loose "$AFTER" "$LOOSE"
run 7-before "$BEFORE" "$ON"
echo "(everything in $OUT)"
