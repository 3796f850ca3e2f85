# Shared by the bench scripts (sourced; needs ROOT and BUILD set): the processes a script starts
# are stopped on exit, the release binaries built unless --no-build, and small probes.

PIDS=()
cleanup() {
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
}
trap cleanup EXIT INT TERM

if [[ $BUILD == 1 ]]; then
  cargo build --release --manifest-path "$ROOT/Cargo.toml" -p blaxel-gateway -p blaxel-emulator >&2
fi
BIN="$ROOT/target/release"

wait_for() { # url: waits up to 10 s for a 2xx answer
  for _ in $(seq 1 100); do curl -sf -o /dev/null "$1" && return 0; sleep 0.1; done
  echo "no answer from $1" >&2; exit 1
}
rss_kb() { awk '/^VmRSS/ {print $2}' "/proc/$1/status"; }
hwm_kb() { awk '/^VmHWM/ {print $2}' "/proc/$1/status"; }
