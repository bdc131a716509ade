#!/bin/sh
# compare.sh — two builds of `gonghui serve` side by side, interleaved, on
# copies of one database: S1 (lookups, 16 connections) and S2 (durable
# claims, 64 connections, one wrk thread so the members claimed are
# contiguous) with wrk, ROUNDS times each, A then B. SERVE_ARGS_A and
# SERVE_ARGS_B add options to each server (e.g. "--http-threads 8").
#
#   sh bench/serve/compare.sh BIN_A BIN_B [MEMBERS] [SECONDS] [ROUNDS]
#                                                  (defaults: 60000 5 3)
#
# Per run: requests/s, p50, p99, and what does not depend on the machine's
# load: the server's CPU time per request (utime + stime of the process, from
# /proc) and its context switches per request (summed over its threads).
# The summary gives best-of and median per build and workload.
set -eu
A=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
B=$(cd "$(dirname "$2")" && pwd)/$(basename "$2")
N=${3:-60000}
SECS=${4:-5}
ROUNDS=${5:-3}
SRC=$(cd "$(dirname "$0")/../.." && pwd)
W=${TMPDIR:-/tmp}/gh-serve-compare.$$
command -v wrk >/dev/null || { echo "bench/serve: needs wrk (Debian package wrk)" >&2; exit 2; }
mkdir -p "$W/scripts"
cp -r "$SRC/scripts/gift_drive" "$W/scripts/"
cp "$SRC/bench/serve/drive.lua" "$W/scripts/gift_drive/drive.lua"
export GONGHUI_PWHASH_FAST=1
(cd "$W" && GONGHUI_DB="$W/db" "$B" --new-db run --out "$W" "$SRC/bench/serve/fixture.lua" members="$N" >/dev/null
 GONGHUI_DB="$W/db" "$B" run "$W/scripts/gift_drive/setup.lua" >/dev/null
 echo "bench-password" | GONGHUI_DB="$W/db" "$B" users add bench --union 1 --role admin >/dev/null)
cp -r "$W/db" "$W/dbA"
mv "$W/db" "$W/dbB"
export IDS="$W/ids.txt"

start() { # NAME BIN: starts the server, sets PID_NAME, URL_NAME, TOKEN_NAME
  rm -f "$W/port$1"
  eval "extra=\${SERVE_ARGS_$1:-}"
  # shellcheck disable=SC2086
  GONGHUI_DB="$W/db$1" "$2" serve $extra --port 0 --port-file "$W/port$1" --scripts "$W/scripts" \
    >"$W/serve$1.log" 2>&1 &
  eval "PID_$1=$!"
  while [ ! -s "$W/port$1" ]; do sleep 0.1; done
  url=http://127.0.0.1:$(cat "$W/port$1")
  eval "URL_$1=$url"
  tok=$(python3 -c "
import json, urllib.request
r = urllib.request.urlopen(urllib.request.Request('$url/api/login', method='POST',
    data=json.dumps({'name': 'bench', 'password': 'bench-password'}).encode()))
print(json.load(r)['token'])")
  eval "TOKEN_$1=$tok"
}
start A "$A"
start B "$B"
trap 'kill $PID_A $PID_B 2>/dev/null || true; rm -rf "$W"' EXIT

cpu() { # PID: utime+stime in clock ticks
  awk '{ print $14 + $15 }' "/proc/$1/stat"
}
ctx() { # PID: voluntary + involuntary context switches of all its threads
  cat /proc/"$1"/task/*/status | awk '/ctxt_switches/ { s += $2 } END { print s }'
}
HZ=$(getconf CLK_TCK)
load0=$(cut -d' ' -f1-3 /proc/loadavg)
first=1
echo "run  build  workload  req/s  p50  p99  cpu-us/req  ctxsw/req"
for r in $(seq "$ROUNDS"); do
  for wl in S1 S2; do
    for who in A B; do
      eval "pid=\$PID_$who url=\$URL_$who TOKEN=\$TOKEN_$who"
      export TOKEN
      c0=$(cpu "$pid"); x0=$(ctx "$pid")
      if [ $wl = S1 ]; then
        wrk -t2 -c16 -d"${SECS}s" --latency -s "$SRC/bench/serve/lookup.lua" "$url" >"$W/out"
      else
        NTHREADS=1 FIRST=$first wrk -t1 -c64 -d"${SECS}s" --latency -s "$SRC/bench/serve/claim.lua" \
          "$url" >"$W/out"
      fi
      c1=$(cpu "$pid"); x1=$(ctx "$pid")
      awk -v r="$r" -v who="$who" -v wl="$wl" -v c="$((c1 - c0))" -v x="$((x1 - x0))" -v hz="$HZ" '
        function ms(v) { if (v ~ /us$/) return v / 1000; if (v ~ /ms$/) return v + 0; if (v ~ /s$/) return v * 1000; return v }
        /Requests\/sec/ { rps = $2 } /^ +50%/ { p50 = ms($2) } /^ +99%/ { p99 = ms($2) }
        /requests in/ { total = $1 } /Non-2xx/ { bad = $NF }
        END { printf "%d %s %s %.0f %.2f %.2f %.1f %.2f %d\n", r, who, wl, rps, p50, p99,
                     total ? c / hz * 1e6 / total : 0, total ? x / total : 0, bad }' "$W/out" >>"$W/rows"
      tail -n 1 "$W/rows"
      if [ $wl = S2 ]; then adv=$(awk -v a="${adv:-0}" '/requests in/ { print ($1 > a ? $1 : a) }' "$W/out"); fi
    done
    # claims of the next round start after every member S2 may have reached
    if [ $wl = S2 ]; then first=$((first + adv + 64)); adv=0; fi
  done
done
echo "load average: before $load0, after $(cut -d' ' -f1-3 /proc/loadavg)"
echo
echo "build workload  req/s best/median  p99 ms best/median  cpu-us/req best/median  ctxsw/req median"
for wl in S1 S2; do
  for who in A B; do
    awk -v who="$who" -v wl="$wl" '$2 == who && $3 == wl' "$W/rows" | sort -k4,4nr >"$W/sel"
    n=$(wc -l <"$W/sel")
    m=$(( (n + 1) / 2 ))
    rps_best=$(sed -n 1p "$W/sel" | cut -d' ' -f4); rps_med=$(sed -n "${m}p" "$W/sel" | cut -d' ' -f4)
    sort -k6,6n "$W/sel" >"$W/s6"; p99_best=$(sed -n 1p "$W/s6" | cut -d' ' -f6); p99_med=$(sed -n "${m}p" "$W/s6" | cut -d' ' -f6)
    sort -k7,7n "$W/sel" >"$W/s7"; cpu_best=$(sed -n 1p "$W/s7" | cut -d' ' -f7); cpu_med=$(sed -n "${m}p" "$W/s7" | cut -d' ' -f7)
    sort -k8,8n "$W/sel" >"$W/s8"; ctx_med=$(sed -n "${m}p" "$W/s8" | cut -d' ' -f8)
    echo "$who     $wl        $rps_best / $rps_med        $p99_best / $p99_med        $cpu_best / $cpu_med        $ctx_med"
  done
done
kill -TERM "$PID_A" "$PID_B"; wait "$PID_A" || true; wait "$PID_B" || true
for who in A B; do
  GONGHUI_DB="$W/db$who" "$B" check >/dev/null && echo "check $who: clean"
done
