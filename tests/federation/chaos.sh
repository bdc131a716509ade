#!/bin/sh
# chaos.sh BINARY SCRATCH SOURCE [NODES] [ROUNDS] [ENTRIES] — federations
# shipping through NATS JetStream while things are killed (issue 20).
#
# Starts nats-server on free localhost ports (NODES=1: one node; 3: a
# three-node JetStream cluster, streams with 3 replicas), three federation
# databases (the sample registry, a backlog of program entries) and a
# province database receiving all three. Then, at once: a shipper per
# federation (federation ship --follow), the province's receiver (federation
# receive --follow --ack-wait 1), and a generator per federation entering
# ENTRIES more entries one transaction each. ROUNDS times, at a random
# moment, one of them is killed with SIGKILL and started again: a shipper,
# the receiver or a NATS node (restarted on its port and folder). When the
# generators are done, the test waits (for the condition, with a backstop)
# until the province holds every program event of every federation, then
# checks:
#   * each federation's row of the province's report equals that
#     federation's own year report (persons, person-times, household-times,
#     money, sessions), and the province's person-times and money are their
#     sums;
#   * each stream holds each event once (JetStream's message-id dedup) and
#     the province stored each once (its count = the federation's events);
#   * every shipper's lag is 0, and gonghui check is clean everywhere.
# Exit 77 (ctest: skipped) without nats-server or the nats plugin.
. "$(dirname "$0")/../cli/lib.sh"
SRC=$3
NODES=${4:-1}
ROUNDS=${5:-6}
ENTRIES=${6:-120}
YEAR=2025
setup "$1" "$2"
PLUGIN=$(dirname "$BIN")/plugins/nats.so
if ! command -v nats-server >/dev/null 2>&1 || [ ! -f "$PLUGIN" ]; then
  echo "skipped: needs nats-server (Debian nats-server) and the nats plugin (libnats-dev)" >&2
  exit 77
fi
unset GONGHUI_FED_KEY_FILE

# free ports: NODES client ports and NODES cluster ports
PORTS=$(python3 -c '
import socket, sys
ss = [socket.socket() for _ in range(2 * int(sys.argv[1]))]
for s in ss: s.bind(("127.0.0.1", 0))
print(" ".join(str(s.getsockname()[1]) for s in ss))
for s in ss: s.close()' "$NODES")
port() { echo "$PORTS" | cut -d' ' -f"$1"; }
URLS=""
ROUTES=""
i=1
while [ $i -le "$NODES" ]; do
  URLS="$URLS${URLS:+,}nats://127.0.0.1:$(port $i)"
  ROUTES="$ROUTES${ROUTES:+,}nats://127.0.0.1:$(port $((NODES + i)))"
  i=$((i + 1))
done

# start_node I: nats-server node I on its port and folder (again after a kill)
start_node() {
  if [ "$NODES" -eq 1 ]; then
    nats-server -js -a 127.0.0.1 -p "$(port 1)" -sd "$S/js1" -n n1 >>"$S/nats1.log" 2>&1 &
  else
    nats-server -js -a 127.0.0.1 -p "$(port "$1")" -sd "$S/js$1" -n "n$1" --cluster_name gh \
      --cluster "nats://127.0.0.1:$(port $((NODES + $1)))" --routes "$ROUTES" >>"$S/nats$1.log" 2>&1 &
  fi
  eval "NODE_$1=$!"
  track $!
}

# the province's key: only its owner may read it
head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$S/key"
chmod 600 "$S/key"

FEDS="f1 f2 f3"
for f in $FEDS; do
  n=${f#f}
  "$BIN" --db "$S/$f" --new-db run "$SRC/scripts/sample_data.lua" members=80 seed=$((2024 + n)) >/dev/null 2>"$S/err" ||
    { fail "sample data for $f"; cat "$S/err" >&2; }
  gh --db "$S/$f" run "$SRC/bench/fed_year.lua" entries=60 chunk=20 seed=$n year=$YEAR
  expect_rc 0 "the backlog of $f"
done
for f in $FEDS; do
  gh --db "$S/prov" federation add "$f"
  expect_rc 0 "federation add $f"
done

i=1
while [ $i -le "$NODES" ]; do
  start_node $i
  i=$((i + 1))
done

# start_shipper F / start_receiver: in the background, logs appended
start_shipper() {
  REPLICAS=1
  [ "$NODES" -ge 3 ] && REPLICAS=3
  "$BIN" --db "$S/$1" federation ship --as "$1" --nats "$URLS" --key-file "$S/key" --follow \
    --batch 25 --replicas $REPLICAS >>"$S/ship_$1.log" 2>&1 &
  eval "SHIP_$1=$!"
  track $!
}
start_receiver() {
  "$BIN" --db "$S/prov" federation receive --nats "$URLS" --follow --ack-wait 1 --batch 40 \
    >>"$S/recv.log" 2>&1 &
  RECV=$!
  track $!
}
for f in $FEDS; do start_shipper $f; done
start_receiver
GENS=""
for f in $FEDS; do
  n=${f#f}
  "$BIN" --db "$S/$f" run "$SRC/bench/fed_year.lua" entries="$ENTRIES" seed=$((10 + n)) year=$YEAR \
    >"$S/gen_$f.log" 2>&1 &
  GENS="$GENS $!"
  track $!
done

# the kills: a random victim at a random moment
r=1
while [ $r -le "$ROUNDS" ]; do
  sleep "0.$(awk -v s="$r$$" 'BEGIN { srand(s); printf "%d", 10 + rand() * 50 }')"
  pick=$(awk -v s="$r$$" 'BEGIN { srand(s * 7); printf "%d", rand() * 5 }')
  case $pick in
    0 | 1 | 2)
      f=f$((pick + 1))
      eval "p=\$SHIP_$f"
      kill -9 "$p" 2>/dev/null
      reap "$p"
      echo "round $r: shipper $f killed" >&2
      start_shipper $f
      ;;
    3)
      kill -9 "$RECV" 2>/dev/null
      reap "$RECV"
      echo "round $r: receiver killed" >&2
      start_receiver
      ;;
    4)
      node=$(awk -v s="$r$$" -v n="$NODES" 'BEGIN { srand(s * 13); printf "%d", 1 + rand() * n }')
      eval "p=\$NODE_$node"
      kill -9 "$p" 2>/dev/null
      reap "$p"
      echo "round $r: NATS node $node killed" >&2
      start_node "$node"
      ;;
  esac
  r=$((r + 1))
done
for g in $GENS; do
  reap "$g" || fail "a generator failed: $(cat "$S"/gen_*.log)"
done

# what each federation has, and waiting for the province to hold all of it
TOTAL=0
for f in $FEDS; do
  query "$S/$f" 'print(#bus.events{ topic = "program.entry" })'
  eval "WANT_$f=$(cat "$S/out")"
  TOTAL=$((TOTAL + $(cat "$S/out")))
done
printf '%s\n' 'local n = 0' 'for s in db.fed_state:scan() do n = n + s.received end' 'print(n)' >"$S/count.lua"
t0=$(date +%s)
while :; do
  got=$("$BIN" --db "$S/prov" run "$S/count.lua" 2>/dev/null)
  [ "$got" = "$TOTAL" ] && break
  if [ $(($(date +%s) - t0)) -gt "${WAIT_DEADLINE:-300}" ]; then
    fail "the province holds $got events of $TOTAL after ${WAIT_DEADLINE:-300} s"
    tail -n 20 "$S/recv.log" "$S"/ship_*.log >&2
    break
  fi
  sleep 0.2
done
[ "$got" = "$TOTAL" ] && pass "the province received all $TOTAL events"
for f in $FEDS; do eval "kill -9 \$SHIP_$f"; done
kill -9 "$RECV"

# each federation's own year report against its row at the province
lua own.lua <<'EOF'
local t = require('year_report').build(params.year).log.total
print(string.format('%d %d %d %d %d', t.sessions, t.persons, t.person_times, t.household_times, t.money_fen))
EOF
lua prov.lua <<'EOF'
local rep = require('federation').report(params.year)
local c = params.name == 'all' and rep.total or rep.federation[params.name].total
print(string.format('%d %d %d %d %d', c.sessions, c.persons, c.person_times, c.household_times, c.money_fen))
EOF
SUM_PT=0
SUM_MONEY=0
for f in $FEDS; do
  gh --db "$S/$f" run "$S/own.lua" year=$YEAR
  own=$(cat "$S/out")
  gh --db "$S/prov" run "$S/prov.lua" year=$YEAR name=$f
  prov=$(cat "$S/out")
  if [ -n "$own" ] && [ "$own" = "$prov" ]; then
    pass "$f: the province counts what $f's own report does ($own)"
  else
    fail "$f: own report '$own', the province's row '$prov'"
  fi
  SUM_PT=$((SUM_PT + $(echo "$own" | cut -d' ' -f3)))
  SUM_MONEY=$((SUM_MONEY + $(echo "$own" | cut -d' ' -f5)))
  query "$S/prov" "print(db.fed_state:get('$f').received)"
  eval "want=\$WANT_$f"
  [ "$(cat "$S/out")" = "$want" ] || fail "$f: the province stored $(cat "$S/out") events, $f has $want"
  gh --db "$S/$f" federation status
  expect_out "(lag 0)" "$f: the shipper has shipped everything"
  gh --db "$S/$f" check
  expect_rc 0 "gonghui check of $f"
done
gh --db "$S/prov" run "$S/prov.lua" year=$YEAR name=all
all=$(cat "$S/out")
[ "$(echo "$all" | cut -d' ' -f3)" = "$SUM_PT" ] && [ "$(echo "$all" | cut -d' ' -f5)" = "$SUM_MONEY" ] ||
  fail "the province's person-times and money '$all' are not the sums $SUM_PT $SUM_MONEY"
gh --db "$S/prov" check
expect_rc 0 "gonghui check of the province"

# each event once in each stream (JetStream's dedup of repeated message ids)
i=1
while [ $i -le "$NODES" ]; do
  alive "$(eval echo \$NODE_$i)" || start_node $i
  i=$((i + 1))
done
lua streams.lua <<'EOF'
local nats = require 'nats'
local h = nats.connect('servers=' .. params.urls)
for _, f in ipairs{ 'f1', 'f2', 'f3' } do
  local info
  for _ = 1, 600 do   -- a restarted cluster elects its leaders first
    local ok, r = pcall(nats.stream_info, h, 'GH_' .. f)
    if ok then info = r break end
    nats.sleep(100)
  end
  print(f, info and info:match('msgs=(%d+)'))
end
EOF
gh --db "$S/prov" run "$S/streams.lua" urls="$URLS"
for f in $FEDS; do
  eval "want=\$WANT_$f"
  grep -q "^$f	$want\$" "$S/out" || fail "stream GH_$f: $(grep "^$f" "$S/out"), $want events"
done
expect_rc 0 "the streams' message counts"

# the province's status names every federation with its last sequence
gh --db "$S/prov" federation status --nats "$URLS"
expect_rc 0 "federation status --nats at the province"
for f in $FEDS; do expect_out "$f" "status lists $f"; done
finish
