#!/bin/sh
# fed_scale.sh [FEDS] [ENTRIES] [MEMBERS] [BUILD] [PARALLEL] — federations
# at scale (issue 20): FEDS federations (default 90) each with a year of
# ENTRIES program entries (default 20000) over a sample registry of MEMBERS
# members (default 2000), shipped through one NATS JetStream node and
# received by one province database. Prints events/s for shipping (PARALLEL
# shippers at a time, default 2 = the cores) and receiving, CPU seconds per
# process kind, the receiver's lag sampled while both run, and checks the
# province's person-times and money against the sum of the federations'.
#
# The federations are copies of one generated database (generation is not
# what is measured; each copy ships under its own name, so its stream,
# subjects and message ids are its own).
set -eu
FEDS=${1:-90}
ENTRIES=${2:-20000}
MEMBERS=${3:-2000}
BUILD=${4:-build}
PARALLEL=${5:-2}
HERE=$(cd "$(dirname "$0")/.." && pwd)
G=$HERE/$BUILD/gonghui
W=${FED_SCALE_DIR:-/tmp/gh_fed_scale}
rm -rf "$W"
mkdir -p "$W"
cd "$W"
NATS_PID=""
cleanup() { [ -n "$NATS_PID" ] && kill "$NATS_PID" 2>/dev/null || true; }
trap cleanup EXIT INT TERM
PORT=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
URL=nats://127.0.0.1:$PORT
nats-server -js -a 127.0.0.1 -p "$PORT" -sd "$W/js" >"$W/nats.log" 2>&1 &
NATS_PID=$!
until grep -q 'Server is ready' "$W/nats.log"; do sleep 0.1; done
head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' >key
chmod 600 key
now() { date +%s.%N; }
secs() { echo "$2 - $1" | bc; }

echo "== $FEDS federations x $ENTRIES entries, $MEMBERS members each; $(nproc) cores; $(uptime | sed 's/.*load/load/')"
t0=$(now)
"$G" --db tmpl --new-db run "$HERE/scripts/sample_data.lua" members="$MEMBERS" seed=2025 >/dev/null
"$G" --db tmpl run "$HERE/bench/fed_year.lua" entries="$ENTRIES" chunk=1000 seed=1 year=2025 >/dev/null
echo "template federation made in $(secs "$t0" "$(now)") s ($(du -sh tmpl | cut -f1))"
OWN=$("$G" --db tmpl run "$HERE/bench/fed_own.lua" year=2025)
i=1
while [ $i -le "$FEDS" ]; do
  cp -r tmpl "f$i"
  i=$((i + 1))
done

# the province receives while the federations ship; the lag is sampled
i=1
while [ $i -le "$FEDS" ]; do
  "$G" --db prov federation add "f$i" >/dev/null
  i=$((i + 1))
done
/usr/bin/time -f '%U %S %M' -o recv.time "$G" --db prov federation receive --nats "$URL" --follow \
  --batch 1000 >recv.log 2>&1 &
RECV=$!
(
  while :; do
    "$G" --db prov federation status --nats "$URL" 2>/dev/null |
      awk -v t="$(date +%s)" 'NR > 2 && $5 ~ /^[0-9]+$/ { lag += $5; got += $2 } END { print t, got + 0, lag + 0 }' >>lag.log
    sleep 2
  done
) &
MON=$!

t0=$(now)
i=1
while [ $i -le "$FEDS" ]; do
  j=0
  PIDS=""
  while [ $j -lt "$PARALLEL" ] && [ $i -le "$FEDS" ]; do
    /usr/bin/time -f '%U %S %M' -o "ship$i.time" "$G" --db "f$i" federation ship --as "f$i" --nats "$URL" \
      --key-file key --batch 2000 >"ship$i.log" 2>&1 &
    PIDS="$PIDS $!"
    i=$((i + 1))
    j=$((j + 1))
  done
  for p in $PIDS; do wait "$p"; done
done
t1=$(now)
TOTAL=$((FEDS * ENTRIES))
SHIP_S=$(secs "$t0" "$t1")
echo "shipped $TOTAL events in $SHIP_S s: $(echo "$TOTAL / $SHIP_S" | bc) events/s (wall, $PARALLEL shippers at a time, receiver running)"
cat ship*.time | awk '{ u += $1; s += $2; if ($3 > m) m = $3 } END { printf "shippers: %.1f s user, %.1f s sys in all (%.1f us CPU per event), max RSS %d KB\n", u, s, (u + s) * 1e6 / '"$TOTAL"', m }'

# until the province holds everything
printf '%s\n' 'local n = 0' 'for s in db.fed_state:scan() do n = n + s.received end' 'print(n)' >count.lua
while [ "$("$G" --db prov run count.lua 2>/dev/null)" != "$TOTAL" ]; do sleep 1; done
t2=$(now)
kill "$MON" 2>/dev/null || true
# SIGINT to gonghui itself (time(1) ignores it): the run stops as at Ctrl-C
kill -INT "$(cat "/proc/$RECV/task/$RECV/children")" 2>/dev/null || true
wait "$RECV" 2>/dev/null || true
echo "received all $TOTAL in $(secs "$t0" "$t2") s from the first ship: $(echo "$TOTAL / $(secs "$t0" "$t2")" | bc) events/s; drained $(secs "$t1" "$t2") s after the last ship"
[ -s recv.time ] && tail -n 1 recv.time | awk '{ printf "receiver: %.1f s user, %.1f s sys (%.1f us CPU per event), max RSS %d KB\n", $1, $2, ($1 + $2) * 1e6 / '"$TOTAL"', $3 }'
awk '{ if ($3 > m) m = $3 } END { print "lag (events in NATS not yet received, sampled every 2 s): max " m + 0 }' lag.log
echo "sizes: a federation $(du -sh f1 | cut -f1), the province $(du -sh prov | cut -f1), NATS $(du -sh js | cut -f1)"

# the province's counts against the sum of the federations' own
PROV=$("$G" --db prov run "$HERE/bench/fed_own.lua" year=2025 province=yes)
EXP=$(echo "$OWN" | awk -v n="$FEDS" '{ printf "%.0f %.0f %.0f %.0f\n", $1 * n, $3 * n, $4 * n, $5 * n }')
GOT=$(echo "$PROV" | awk '{ print $1, $3, $4, $5 }')
if [ "$EXP" = "$GOT" ]; then
  echo "check: the province's sessions, person-times, household-times and money = $FEDS x one federation's ($OWN)"
else
  echo "check FAILED: province $GOT, expected $EXP" >&2
  exit 1
fi
