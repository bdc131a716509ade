#!/bin/sh
# run.sh — the serve benchmarks S1 and S2 (../shared BENCHMARKS.md) with wrk
# on localhost, and the batch path for comparison:
#
#   S1  member lookup by ID number: GET /api/gift_drive/member, 16 connections
#   S2  durable claims through the gift drive's rules: POST /api/gift_drive/claim,
#       64 connections (group commit: one LMDB transaction and one fsync per group)
#   batch  the same claim as a one-shot `gonghui run scripts/gift_drive/claim.lua`
#
#   sh bench/serve/run.sh [BUILD] [MEMBERS] [SECONDS]     (defaults: build 100000 10)
#
# Prints one line per workload (requests/s, p50, p99) and the ratio S2 / batch;
# then checks the ledger (`gonghui check`, and every 2xx claim in it once).
set -eu
BUILD=${1:-build}
N=${2:-100000}
SECS=${3:-10}
SRC=$(cd "$(dirname "$0")/../.." && pwd)
BIN=$(cd "$BUILD" && pwd)/gonghui
W=$(cd "$BUILD" && pwd)/bench-serve
command -v wrk >/dev/null || { echo "bench/serve: needs wrk (Debian package wrk)" >&2; exit 2; }
rm -rf "$W" && mkdir -p "$W/scripts"
cp -r "$SRC/scripts/gift_drive" "$W/scripts/"
cp "$SRC/bench/serve/drive.lua" "$W/scripts/gift_drive/drive.lua"
export GONGHUI_DB="$W/db" GONGHUI_PWHASH_FAST=1
cd "$W"
"$BIN" --new-db run --out "$W" "$SRC/bench/serve/fixture.lua" members="$N" >/dev/null
"$BIN" run "$W/scripts/gift_drive/setup.lua" >/dev/null
echo "bench-password" | "$BIN" users add bench --union 1 --role admin >/dev/null
"$BIN" serve --port 0 --port-file "$W/port" --scripts "$W/scripts" >"$W/serve.log" 2>&1 &
SERVE=$!
trap 'kill $SERVE 2>/dev/null || true' EXIT
while [ ! -s "$W/port" ]; do sleep 0.1; done
PORT=$(cat "$W/port")
URL=http://127.0.0.1:$PORT
TOKEN=$(python3 -c "
import json, urllib.request
r = urllib.request.urlopen(urllib.request.Request('$URL/api/login', method='POST',
    data=json.dumps({'name': 'bench', 'password': 'bench-password'}).encode()))
print(json.load(r)['token'])")
export TOKEN IDS="$W/ids.txt"
load=$(cut -d' ' -f1-3 /proc/loadavg)

summary() { # NAME FILE: requests/s, p50, p99 and non-2xx from wrk --latency output
  awk -v name="$1" '
    /Requests\/sec/ { rps = $2 }
    /^ +50%/ { p50 = $2 } /^ +99%/ { p99 = $2 }
    /Non-2xx/ { bad = $NF }
    /requests in/ { total = $1 }
    END { printf "%-8s %10.0f req/s  p50 %8s  p99 %8s  (%d requests, %d not 2xx)\n", name, rps, p50, p99, total, bad }' "$2"
}

wrk -t2 -c16 -d"${SECS}s" --latency -s "$SRC/bench/serve/lookup.lua" "$URL" >"$W/s1.txt"
summary S1 "$W/s1.txt"
NTHREADS=2 FIRST=1 wrk -t2 -c64 -d"${SECS}s" --latency -s "$SRC/bench/serve/claim.lua" "$URL" >"$W/s2.txt"
summary S2 "$W/s2.txt"
health=$(curl -s "$URL/health" 2>/dev/null || true)
echo "health  $health"
# claim.lua asks /health once every member is claimed: from then on S2's
# requests/s and latencies are /health's, not claims'
grouped=$(printf '%s' "$health" | sed -n 's/.*"grouped_writes":\([0-9]*\).*/\1/p')
S2_OUT=0
if [ -n "$grouped" ] && [ "$grouped" -ge "$N" ]; then
  S2_OUT=1
  echo "WARNING: S2 ran out of members ($grouped grouped writes for $N members): the rest of its" \
       "run asked /health, so its claims/s and p99 are not valid; give more MEMBERS or fewer SECONDS" >&2
fi
echo
kill -TERM $SERVE; wait $SERVE || true
trap - EXIT

# the batch path: one `gonghui run` per claim, for members S2 did not reach
CLAIMS=30
t0=$(date +%s.%N)
i=0
tail -n "$CLAIMS" "$W/ids.txt" | while read -r id; do
  # refused (exit 1) when S2 ran out of members and claimed these too: timed all the same
  "$BIN" run "$W/scripts/gift_drive/claim.lua" station=ST01 id="$id" >/dev/null 2>&1 || true
done
t1=$(date +%s.%N)
s2=$(awk '/Requests\/sec/ { print $2 }' "$W/s2.txt")
awk -v t0="$t0" -v t1="$t1" -v n="$CLAIMS" -v s2="$s2" 'BEGIN {
  b = n / (t1 - t0)
  printf "batch    %10.1f claims/s (one gonghui run per claim, %d claims)\n", b, n
  printf "S2 / batch = %.0f x\n", s2 / b }'
echo "load average before: $load"
if [ "$S2_OUT" = 1 ]; then
  echo "S2 ran out of members: its figure and the ratio are not valid (see the warning above)"
fi
"$BIN" check >/dev/null && echo "check: clean"
