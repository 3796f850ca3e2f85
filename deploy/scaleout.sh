#!/usr/bin/env bash
# Scale-out on one machine, by hand: one blaxel-emulator, three blaxel-gateway replicas and
# HAProxy (deploy/haproxy/haproxy.cfg) on loopback. While GraphQL clients walk a job's
# executions by endCursor through HAProxy, replica gw2 is stopped with SIGTERM and restarted,
# then all three are restarted one after the other. Each walk is compared with the emulator's
# REST listing; the script prints what each client saw and HAProxy's retries, and exits 1 if a
# request failed or a walk lost, repeated or reordered an item.
#
#   deploy/scaleout.sh                # release binaries (built first: a few minutes cold)
#   PROFILE=dev deploy/scaleout.sh    # debug binaries
#   KEEP=1 deploy/scaleout.sh         # leave everything running at the end (Ctrl-C stops it)
#
# Needs haproxy (.ci/scaleout-setup.sh installs Debian's), curl and jq. The same scenario, with
# gRPC walks too, is the test crates/gateway/tests/scaleout.rs. Bounded: 120 executions a walk,
# at most 200 walks a client; everything listens on 127.0.0.1 only.
set -euo pipefail
cd "$(dirname "$0")/.."
for tool in haproxy curl jq; do
    command -v "$tool" >/dev/null || { echo "scaleout: $tool is needed" >&2; exit 1; }
done
profile="${PROFILE:-release}"
cargo build --quiet --profile "$profile" --workspace --bins
bin="target/$([ "$profile" = dev ] && echo debug || echo "$profile")"
work="$(mktemp -d)"
pids=()
cleanup() {
    for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
    wait 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT
job=data-processing-job
page=7

# Waits for a line matching $2 in file $1 (at most 60 s) and prints it.
wait_line() {
    for _ in $(seq 600); do
        if grep -q "$2" "$1" 2>/dev/null; then grep -m1 "$2" "$1" | sed 's/\x1b\[[0-9;]*m//g'; return; fi
        sleep 0.1
    done
    echo "scaleout: no '$2' in $1" >&2; cat "$1" >&2; exit 1
}
# The value of `name=` in a log line.
field() { tr ' ' '\n' <<<"$1" | sed -n "s/^$2=//p" | sed -n 1p; }
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

NO_COLOR=1 "$bin/blaxel-emulator" --listen 127.0.0.1:0 --executions-per-job 120 2>"$work/emulator.log" &
pids+=($!)
emulator="$(field "$(wait_line "$work/emulator.log" 'emulator listening')" url)"
echo "emulator: $emulator"

declare -A http grpc pid
start() {  # start NAME HTTP GRPC
    local log="$work/$1.log"
    : >"$log"
    NO_COLOR=1 "$bin/blaxel-gateway" --listen "$2" --grpc-listen "$3" --upstream "$emulator" \
        --token dev-token >"$log" 2>&1 &
    pid[$1]=$!
    pids+=($!)
    local line
    line="$(wait_line "$log" 'blaxel-gateway listening')"
    http[$1]="$(field "$line" url | sed -e 's#^http://##' -e 's#/graphql$##')"
    grpc[$1]="$(field "$line" grpc)"
}
stop() {  # stop NAME: SIGTERM, then the exit status (0 after a clean drain)
    kill -TERM "${pid[$1]}"
    if wait "${pid[$1]}"; then echo "$1 drained and exited 0"; else echo "$1 exited $?" >&2; exit 1; fi
}
for gw in gw1 gw2 gw3; do start "$gw" 127.0.0.1:0 127.0.0.1:0; echo "$gw: http ${http[$gw]} grpc ${grpc[$gw]}"; done

export HAPROXY_HTTP_BIND="127.0.0.1:$(free_port)" HAPROXY_GRPC_BIND="127.0.0.1:$(free_port)"
export HAPROXY_STATS_SOCKET="$work/haproxy.sock"
export GW1_HTTP="${http[gw1]}" GW2_HTTP="${http[gw2]}" GW3_HTTP="${http[gw3]}"
export GW1_GRPC="${grpc[gw1]}" GW2_GRPC="${grpc[gw2]}" GW3_GRPC="${grpc[gw3]}"
haproxy -db -f deploy/haproxy/haproxy.cfg 2>"$work/haproxy.log" &
pids+=($!)
# `show stat` status of a server of the HTTP backend.
status() {
    python3 - "$HAPROXY_STATS_SOCKET" "$1" <<'EOF' 2>/dev/null || true
import csv, socket, sys
s = socket.socket(socket.AF_UNIX); s.connect(sys.argv[1]); s.sendall(b"show stat\n")
data = b"".join(iter(lambda: s.recv(65536), b"")).decode()
rows = csv.DictReader(data.lstrip("# ").splitlines())
print(next((r["status"] for r in rows if r["pxname"] == "gateways_http" and r["svname"] == sys.argv[2]), ""))
EOF
}
wait_status() {
    for _ in $(seq 600); do [ "$(status "$1")" = "$2" ] && return; sleep 0.1; done
    echo "scaleout: haproxy never saw $1 $2" >&2; exit 1
}
for gw in gw1 gw2 gw3; do wait_status "$gw" UP; done
echo "haproxy: GraphQL http://$HAPROXY_HTTP_BIND/graphql, gRPC $HAPROXY_GRPC_BIND (h2c)"

# The REST listing, following nextCursor.
rest() {
    local cursor="" out
    while :; do
        out="$(curl -sf -H 'Authorization: Bearer dev-token' -H 'Blaxel-Version: 2026-04-28' \
            "$emulator/jobs/$job/executions?limit=100${cursor:+&cursor=$cursor}")"
        jq -r '.data[].metadata.id' <<<"$out"
        [ "$(jq -r .meta.hasMore <<<"$out")" = true ] || break
        cursor="$(jq -r .meta.nextCursor <<<"$out")"
    done
}
rest >"$work/expected"
query='query($job: String!, $first: Int, $after: String) { jobExecutions(jobName: $job, first: $first, after: $after) { pageInfo { hasNextPage endCursor } edges { node { metadata { id } } } } }'

# A client: walks until $work/stop exists (at most 200 walks); one line per walk in $1.walks
# (`ok PAGES HANDOVERS` or `bad ...`), one line per failed request in $1.failures.
client() {
    local name="$1" walks=0
    : >"$work/$name.failures"
    while [ ! -e "$work/stop" ] && [ "$walks" -lt 200 ]; do
        local after=null pages=0 handovers=0 last="" ids="$work/$name.ids"
        : >"$ids"
        while :; do
            local body status by
            body="$(curl -s -D "$work/$name.headers" -o - -H 'Content-Type: application/json' \
                --data "$(jq -cn --arg q "$query" --arg job "$job" --argjson first "$page" \
                    --argjson after "$after" '{query: $q, variables: {job: $job, first: $first, after: $after}}')" \
                "http://$HAPROXY_HTTP_BIND/graphql" || true)"
            status="$(head -1 "$work/$name.headers" | cut -d' ' -f2)"
            by="$(sed -n 's/^x-served-by: *//Ip' "$work/$name.headers" | tr -d '\r')"
            if [ "$status" != 200 ] || [ "$(jq '.errors // [] | length' <<<"$body" 2>/dev/null)" != 0 ]; then
                echo "HTTP ${status:-none} from ${by:-?}: $body" >>"$work/$name.failures"
                break
            fi
            pages=$((pages + 1))
            [ -n "$last" ] && [ "$last" != "$by" ] && handovers=$((handovers + 1))
            last="$by"
            jq -r '.data.jobExecutions.edges[].node.metadata.id' <<<"$body" >>"$ids"
            [ "$(jq -r .data.jobExecutions.pageInfo.hasNextPage <<<"$body")" = true ] || break
            after="$(jq .data.jobExecutions.pageInfo.endCursor <<<"$body")"
        done
        if cmp -s "$ids" "$work/expected"; then
            echo "ok $pages $handovers" >>"$work/$name.walks"
        else
            echo "bad: $(wc -l <"$ids") items" >>"$work/$name.walks"
        fi
        walks=$((walks + 1))
    done
}
walks() { cat "$work"/c*.walks 2>/dev/null | wc -l; }
wait_walks() {  # wait until $1 more walks finished (at most 120 s)
    local target=$(( $(walks) + $1 ))
    for _ in $(seq 1200); do [ "$(walks)" -ge "$target" ] && return; sleep 0.1; done
    echo "scaleout: the clients stalled" >&2; exit 1
}
client c1 & clients=($!)
client c2 & clients+=($!)
pids+=("${clients[@]}")
wait_walks 2

echo "--- gw2: SIGTERM, out of rotation, restart"
stop gw2
wait_status gw2 DOWN
wait_walks 2
start gw2 "${http[gw2]}" "${grpc[gw2]}"
wait_status gw2 UP
echo "gw2 back in rotation"
wait_walks 2

echo "--- rolling restart"
for gw in gw1 gw2 gw3; do
    stop "$gw"
    start "$gw" "${http[$gw]}" "${grpc[$gw]}"
    wait_status "$gw" UP
    echo "$gw back in rotation"
done
wait_walks 2
touch "$work/stop"
wait "${clients[@]}" 2>/dev/null || true

echo "--- results"
failed=0
for c in c1 c2; do
    total="$(wc -l <"$work/$c.walks")"
    good="$(grep -c '^ok' "$work/$c.walks" || true)"
    handovers="$(awk '/^ok/ {h += $3} END {print h + 0}' "$work/$c.walks")"
    failures="$(wc -l <"$work/$c.failures")"
    echo "$c: $good/$total walks equal to the REST listing ($(wc -l <"$work/expected") items), $handovers pages served by another replica than the page before, $failures failed requests"
    [ "$good" = "$total" ] && [ "$failures" = 0 ] || { failed=1; head -3 "$work/$c.failures"; }
done
python3 - "$HAPROXY_STATS_SOCKET" <<'EOF'
import csv, socket, sys
s = socket.socket(socket.AF_UNIX); s.connect(sys.argv[1]); s.sendall(b"show stat\n")
data = b"".join(iter(lambda: s.recv(65536), b"")).decode()
for r in csv.DictReader(data.lstrip("# ").splitlines()):
    if r["svname"].startswith("gw") and r["pxname"] == "gateways_http":
        print(f"haproxy {r['svname']}: {r['stot']} requests, {r['wretr']} retries, {r['wredis']} redispatches, {r['hrsp_5xx']} 5xx")
EOF
if [ -n "${KEEP:-}" ]; then
    echo "running (KEEP=1): GraphQL http://$HAPROXY_HTTP_BIND/graphql, gRPC $HAPROXY_GRPC_BIND; Ctrl-C stops"
    wait
fi
exit "$failed"
