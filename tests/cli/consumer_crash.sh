#!/bin/sh
# consumer_crash.sh BINARY SCRATCH [EVENTS] [ROUNDS] — exactly once across SIGKILL.
#
# EVENTS (default 2000) events with integer payloads are published (with
# unrelated events between them). A durable consumer adds each payload to a
# total record and records the event's seq in a collection whose key is the
# seq, so handling one event twice would fail (and park the event): its
# effects are database-only. It is run in small batches (a script calling
# bus.run(name, { batch = 20, limit = 20 }) in a loop; every third round
# `gonghui events run NAME` instead, whose batches are 500) and killed with
# SIGKILL at a random moment, ROUNDS times (default 15): 0.05-0.40 s after
# it starts, or (every third round, from the first) 0-0.35 s after the
# script says its first batch of that run is committed, so that some kills
# land after progress however slow the machine is. After every kill:
# `gonghui check` is clean and the totals agree exactly with the events at
# or below the consumer's cursor (no event's effect lost or doubled, the
# cursor never ahead of or behind the effects), and the cursor never goes
# back. Then the consumer is run until its lag is 0, and the total must
# equal the sum recounted from the log, with no dead letters.
. "$(dirname "$0")/lib.sh"
EVENTS=${3:-2000}
ROUNDS=${4:-15}
setup "$@"

DB=$S/db

lua setup.lua <<'EOF'
db.define('totals', { key = 'name', fields = { name = 'string', sum = 'int', n = 'int' } })
db.define('seen', { key = 'seq', fields = { seq = 'int' } })
db.totals:put{ name = 'adder', sum = 0, n = 0 }
local left = params.events
while left > 0 do
  db.atomic(function()
    for _ = 1, math.min(left, 500) do
      bus.publish('pay.in', math.random(-1000, 100000))
      left = left - 1
      if left % 7 == 0 then bus.publish('noise.x', 'not for the adder') end
    end
  end)
end
print('published ' .. params.events)
EOF

# The handler: database-only effects. The busy loop makes each event take
# about params.spin ms, so the kills land in the middle of the work.
lua consumer.lua <<'EOF'
local spin = (params.spin or 2) / 1000
bus.consumer('adder', 'pay.*', function(ev)
  local c0 = os.clock()
  while os.clock() - c0 < spin do end
  local r = db.totals:get('adder')
  db.totals:update('adder', { sum = r.sum + ev.payload, n = r.n + 1 })
  db.seen:insert{ seq = ev.seq } -- a second time for one event would fail here
end)
if params.loop then
  local said, batches = false, 0
  repeat
    local handled, parked = bus.run('adder', { batch = 20, limit = 20 })
    if parked > 0 then error(parked .. ' events parked') end
    if params.progress and not said and handled > 0 then
      -- a batch of this run is committed: tell the test
      assert(io.open(params.progress, 'w')):close()
      said = true
    end
    if handled > 0 then batches = batches + 1 end
    if params.stall and batches == params.stall then
      -- a run of the crash rounds stops here (opening a FIFO nobody writes
      -- to) until it is killed: however late the kill comes, the rounds
      -- never finish the work, so each kill lands in a running consumer
      assert(io.open(params.fifo)):read('a')
    end
  until handled == 0 and bus.consumers()[1].lag == 0
  print('done')
end
EOF

# Prints "ok CURSOR N SUM" when the totals are exactly the effects of the
# pay.* events at or below the cursor, else "BROKEN ...".
lua verify.lua <<'EOF'
local c = bus.consumers()[1]
local cursor = c and c.cursor or 0
local want_n, want_sum = 0, 0
for _, e in ipairs(bus.events{ topic = 'pay.*' }) do
  if e.seq <= cursor then
    want_n, want_sum = want_n + 1, want_sum + e.payload
  end
end
local r = db.totals:get('adder')
local problems = {}
if r.n ~= want_n then problems[#problems + 1] = 'n = ' .. r.n .. ', events up to the cursor: ' .. want_n end
if r.sum ~= want_sum then problems[#problems + 1] = 'sum = ' .. r.sum .. ', recounted: ' .. want_sum end
if db.seen:count() ~= want_n then problems[#problems + 1] = 'seen has ' .. db.seen:count() .. ' events' end
local above = 0
for r in db.seen:scan() do if r.seq > cursor then above = above + 1 end end
if above ~= 0 then problems[#problems + 1] = above .. ' events above the cursor have effects' end
local dead = #bus.dead()
if dead ~= 0 then problems[#problems + 1] = dead .. ' dead letters: ' .. bus.dead()[1].error end
if #problems > 0 then
  print('BROKEN cursor ' .. cursor .. ': ' .. table.concat(problems, '; '))
else
  print('ok ' .. cursor .. ' ' .. r.n .. ' ' .. r.sum .. ' ' .. c.lag)
end
EOF

gh --db "$DB" run "$S/setup.lua" events="$EVENTS"
expect_rc 0 "publishing $EVENTS events" || finish
gh --db "$DB" run "$S/consumer.lua"
expect_rc 0 "defining the consumer" || finish


# the deadline for what should happen soon (a loaded machine, a sanitizer
# build); reaching it is a failure
DEADLINE=300
# a bus.run loop stops after STALL batches of 20: the loop rounds do at most
# half the events together (the events run rounds, batches of 500 events of
# 2 ms each, commit at most one batch before a kill at 0.4 s)
STALL=$((EVENTS / 2 / 20 / ROUNDS))
[ "$STALL" -ge 1 ] || STALL=1
mkfifo "$S/never" || fail "mkfifo"

prev=0
midway=0
round=1
good_rounds=0
while [ "$round" -le "$ROUNDS" ]; do
  rm -f "$S/progress"
  if [ $((round % 3)) -eq 0 ]; then
    how="events run"
    "$BIN" --db "$DB" events run adder >"$S/c.out" 2>"$S/c.err" &
  else
    how="bus.run loop"
    "$BIN" --db "$DB" run "$S/consumer.lua" loop=1 progress="$S/progress" stall=$STALL fifo="$S/never" \
      >"$S/c.out" 2>"$S/c.err" &
  fi
  CPID=$!
  track "$CPID"
  d=$(rand_delay 50 400)
  if [ $((round % 3)) -eq 1 ]; then
    t=$(date +%s)
    while [ ! -e "$S/progress" ] && kill -0 "$CPID" 2>/dev/null && [ $(($(date +%s) - t)) -lt $DEADLINE ]; do
      sleep 0.01
    done
    # (a consumer that has nothing left to do ends without a batch)
    [ -e "$S/progress" ] || ! kill -0 "$CPID" 2>/dev/null ||
      fail "round $round: the consumer committed no batch within $DEADLINE s"
    d=$(awk -v d="$d" 'BEGIN { printf "%.2f", d - 0.05 }')
    d="$d s after its first batch"
  else
    d="$d s"
  fi
  sleep "${d%% *}"
  if ! kill -0 "$CPID" 2>/dev/null; then
    reap "$CPID"
    crc=$?
    [ "$crc" -eq 0 ] || { fail "round $round ($how): the consumer failed by itself (exit $crc)"; cat "$S/c.err" >&2; }
  else
    kill -9 "$CPID" 2>/dev/null
    reap "$CPID"
  fi

  gh --db "$DB" check
  if [ "$RC" -ne 0 ]; then
    fail "round $round ($how, killed $d): check is not clean (exit $RC)"
    show_output
  fi
  "$BIN" --db "$DB" run "$S/verify.lua" >"$S/out" 2>"$S/err"
  line=$(cat "$S/out")
  case $line in
    "ok "*)
      set -- $line
      cursor=$2 n=$3 lag=$5
      if [ "$cursor" -lt "$prev" ]; then
        fail "round $round: the cursor went back from $prev to $cursor"
      else
        echo "  round $round ($how): killed $d at cursor $cursor, $n events handled, lag $lag, totals exact" >&2
        good_rounds=$((good_rounds + 1))
        [ "$cursor" -gt "$prev" ] && [ "$lag" -gt 0 ] && midway=$((midway + 1))
      fi
      prev=$cursor
      ;;
    *)
      fail "round $round ($how, killed $d): $line $(cat "$S/err")"
      ;;
  esac
  round=$((round + 1))
done
[ "$good_rounds" -eq "$ROUNDS" ] &&
  pass "$ROUNDS kills at random moments: check clean, totals exact at the cursor every time, cursor never back"
# the kills must have hit the consumer while it was making progress, or this tested nothing
if [ "$midway" -ge 3 ]; then
  pass "$midway of the kills came after some progress and before the end"
else
  fail "only $midway kills came between some progress and the end"
fi

# --- run until the lag is 0 -------------------------------------------------------------------
tries=0
while :; do
  gh --db "$DB" run "$S/consumer.lua" loop=1
  [ "$RC" -eq 0 ] && grep -q '^done$' "$S/out" && break
  tries=$((tries + 1))
  if [ $tries -ge 3 ]; then
    fail "the consumer does not finish its backlog"
    show_output
    finish
  fi
done
gh --db "$DB" events consumers
line=$(grep '^adder ' "$S/out")
set -- $line
[ "${4:-}" = 0 ] && pass "after the last run the lag is 0" || fail "consumers: '$line'"

query "$DB" "local n, sum = 0, 0
for _, e in ipairs(bus.events{ topic = 'pay.*' }) do n, sum = n + 1, sum + e.payload end
local r = db.totals:get('adder')
print(n == $EVENTS and r.n == n and r.sum == sum and db.seen:count() == n and #bus.dead() == 0,
      r.n, r.sum, n, sum, db.seen:count(), #bus.dead())"
set -- $(cat "$S/out")
if [ "${1:-}" = true ]; then
  pass "the total equals the sum recounted from the log: $3 over $2 events, each once, no dead letters"
else
  fail "totals after the crashes (ok, n, sum, events, recount, seen, dead): $(cat "$S/out") $(cat "$S/err")"
fi
gh --db "$DB" check
expect_rc 0 "check at the end" && pass "check is clean at the end"
# a second run changes nothing
gh --db "$DB" events run adder
expect_rc 0 "events run at the end" && expect_out "consumer adder: 0 events handled, 0 parked" "events run at the end" &&
  pass "nothing is left to handle"

# --- two runners of one consumer at once, while another process publishes ---------------------
# Each batch reads the cursor inside its own write transaction, so two
# processes running the same consumer never handle one event twice; one of
# them is killed on the way.
lua pub2.lua <<'EOF'
for _ = 1, params.n // 10 do
  db.atomic(function()
    for _ = 1, 10 do bus.publish('pay.in', math.random(1, 1000)) end
    bus.publish('noise.x', 0)
  end)
end
print('published')
EOF
MORE=600
"$BIN" --db "$DB" run "$S/pub2.lua" n=$MORE >"$S/p.out" 2>"$S/p.err" &
PP=$!
track "$PP"
"$BIN" --db "$DB" run "$S/consumer.lua" loop=1 spin=0.5 >"$S/c1.out" 2>"$S/c1.err" &
C1=$!
track "$C1"
"$BIN" --db "$DB" run "$S/consumer.lua" loop=1 spin=0.5 >"$S/c2.out" 2>"$S/c2.err" &
C2=$!
track "$C2"
sleep "$(rand_delay 50 400)"
kill -9 "$C1" 2>/dev/null
reap "$C1"
reap "$PP" || { fail "the publisher failed"; cat "$S/p.err" >&2; }
reap "$C2"
c2rc=$?
[ "$c2rc" -eq 0 ] || { fail "the second runner failed (exit $c2rc)"; cat "$S/c2.err" >&2; }
gh --db "$DB" run "$S/consumer.lua" loop=1 spin=0
expect_rc 0 "catching up after the concurrent runs"
"$BIN" --db "$DB" run "$S/verify.lua" >"$S/out" 2>"$S/err"
set -- $(cat "$S/out")
if [ "${1:-}" = ok ] && [ "${3:-}" = $((EVENTS + MORE)) ] && [ "${5:-}" = 0 ]; then
  pass "two runners at once (one killed) while another process published: $3 events, each handled once"
else
  fail "after the concurrent runs: $(cat "$S/out" "$S/err") (expected $((EVENTS + MORE)) events, lag 0)"
fi
gh --db "$DB" check
expect_rc 0 "check after the concurrent runs" && pass "check is clean after the concurrent runs"

finish
