#!/usr/bin/env bash
# End-to-end load test: the same axum hello-world app (examples/bench_server.rs) bare, behind
# tower-cors and behind tower-http 0.7.1, each loaded in turn with wrk on 127.0.0.1 — simple
# cross-origin GETs (benches/wrk_get.lua) and preflights (benches/wrk_preflight.lua).
#
# Prints requests per second and the 99th-percentile latency. Knobs (environment):
#   DURATION=5s CONNECTIONS=32 THREADS=1   wrk's -d, -c and -t
#   WORKERS=1                              the server's runtime threads
#   ROUNDS=1                               repeat the whole sequence, interleaving the modes
#   PORT=3917
set -euo pipefail
cd "$(dirname "$0")/.."

DURATION=${DURATION:-5s}
CONNECTIONS=${CONNECTIONS:-32}
THREADS=${THREADS:-1}
ROUNDS=${ROUNDS:-1}
PORT=${PORT:-3917}
export WORKERS=${WORKERS:-1}
ADDR="127.0.0.1:${PORT}"
URL="http://${ADDR}/"

command -v wrk >/dev/null || { echo "wrk is not installed" >&2; exit 1; }
cargo build --release --example bench_server
SERVER=target/release/examples/bench_server

server_pid=""
cleanup() { [ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null || true; }
trap cleanup EXIT

start_server() {
  "$SERVER" "$1" "$ADDR" &
  server_pid=$!
  for _ in $(seq 100); do
    if (exec 3<>"/dev/tcp/127.0.0.1/${PORT}") 2>/dev/null; then return 0; fi
    sleep 0.05
  done
  echo "server ($1) did not start" >&2
  exit 1
}

stop_server() {
  kill "$server_pid"
  wait "$server_pid" 2>/dev/null || true
  server_pid=""
}

# Shows what one preflight gets back, so a misconfigured run is visible.
check() {
  if command -v curl >/dev/null; then
    local status
    status=$(curl -s -o /dev/null -w '%{http_code}' -X OPTIONS "$URL" \
      -H 'Origin: https://app2.example.com' \
      -H 'Access-Control-Request-Method: PUT' \
      -H 'Access-Control-Request-Headers: content-type, authorization')
    echo "  $1: preflight answered $status"
  fi
}

# Prints "requests/s p99" from one wrk run.
load() {
  wrk -t"$THREADS" -c"$CONNECTIONS" -d"$DURATION" --latency -s "benches/wrk_$1.lua" "$URL" |
    awk '/Requests\/sec:/ { rps = $2 } $1 == "99%" { p99 = $2 } END { print rps, p99 }'
}

results=$(mktemp)
for round in $(seq "$ROUNDS"); do
  for mode in bare tower-cors tower-http; do
    start_server "$mode"
    check "$mode"
    for kind in get preflight; do
      read -r rps p99 < <(load "$kind")
      echo "$round $mode $kind $rps $p99" >>"$results"
    done
    stop_server
  done
done

# The median over rounds of a column (4: requests/s, 5: p99) for one mode and kind.
median() {
  awk -v m="$1" -v k="$2" -v c="$3" '$2 == m && $3 == k { print $c }' "$results" |
    sort -g | awk '{ v[NR] = $0 } END { print v[int((NR + 1) / 2)] }'
}

echo
echo "wrk -t$THREADS -c$CONNECTIONS -d$DURATION --latency; server: $WORKERS worker thread(s);" \
  "median of $ROUNDS round(s)"
echo
echo "| requests | server | requests/s | p99 latency | every round (requests/s) |"
echo "| --- | --- | ---: | ---: | --- |"
for kind in get preflight; do
  for mode in bare tower-cors tower-http; do
    rounds=$(awk -v m="$mode" -v k="$kind" '$2 == m && $3 == k { printf "%s%s", sep, $4; sep = ", " }' "$results")
    # p99 is printed by wrk with its unit (us, ms); the median compares values in microseconds.
    p99=$(awk -v m="$mode" -v k="$kind" '$2 == m && $3 == k {
        v = $5; u = 1
        if (v ~ /us$/) { sub(/us$/, "", v) } else if (v ~ /ms$/) { sub(/ms$/, "", v); u = 1000 } else if (v ~ /s$/) { sub(/s$/, "", v); u = 1000000 }
        print v * u
      }' "$results" | sort -g | awk '{ v[NR] = $0 } END { printf "%.0f µs", v[int((NR + 1) / 2)] }')
    echo "| $kind | $mode | $(median "$mode" "$kind" 4) | $p99 | $rounds |"
  done
done
rm -f "$results"
