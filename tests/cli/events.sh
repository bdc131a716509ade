#!/bin/sh
# events.sh BINARY SCRATCH — `gonghui events`: tail (the last 20, --since SEQ
# and TIME, --topic, --limit, --json as one valid JSON object a line,
# --follow seeing another process's event and stopping on SIGINT),
# consumers, run NAME (runs the script that defined it; a script that is
# gone), replay --from, dead / dead retry / dead drop, trim, and the errors
# of unknown consumers and bad arguments.
. "$(dirname "$0")/lib.sh"
setup "$@"

DB=$S/db

# seqs: the first column of the human tail output, one line
seqs() {
  awk '{ printf "%s%s", sep, $1; sep = " " } END { print "" }' "$S/out"
}
lines() {
  wc -l <"$S/out" | tr -d ' '
}
# valid_json WHAT: every line of $S/out is one JSON object
valid_json() {
  if python3 -c 'import json,sys; [json.loads(l) for l in sys.stdin]' <"$S/out" 2>"$S/json.err"; then
    return 0
  fi
  fail "$1: not one JSON object a line: $(tail -n 1 "$S/json.err")"
  show_output
  return 1
}
# jq_py EXPR: evaluates EXPR over ev (the list of parsed lines of $S/out)
jq_py() {
  python3 -c "import json,sys; ev=[json.loads(l) for l in sys.stdin]; print($1)" <"$S/out"
}

lua pub.lua <<'EOF'
-- publishes params.n events of params.topic, payloads start, start + 1, ...
-- (kind=member: a member record as the payload)
local n, start = params.n or 1, params.start or 1
db.atomic(function()
  for i = start, start + n - 1 do
    if params.kind == 'member' then
      bus.publish(params.topic, { id = i, name = '李娜' .. i, town = '硖石街道', dues = i * 1.5 })
    else
      bus.publish(params.topic, i)
    end
  end
end)
print('last ' .. bus.last())
EOF

# the consumer: adds the payloads of pay.* into one record
lua adder.lua <<'EOF'
db.define('totals', { key = 'name', fields = { name = 'string', sum = 'int', n = 'int' } })
bus.consumer('adder', 'pay.*', function(ev)
  local r = db.totals:get('adder')
  db.totals:put{ name = 'adder', sum = (r and r.sum or 0) + ev.payload, n = (r and r.n or 0) + 1 }
end)
EOF

# a consumer that refuses the payloads 10 and 20 until the file `fixed` exists
cat >"$S/picky.lua" <<EOF
local fixed = io.open('$S/fixed') ~= nil
bus.consumer('picky', 'pay.in', function(ev)
  if (ev.payload == 10 or ev.payload == 20) and not fixed then error('payload ' .. ev.payload .. ' refused') end
end)
EOF

totals() { # prints "sum n" of the adder's record
  query "$DB" "local r = db.totals:get('adder') print(r and (r.sum .. ' ' .. r.n) or '0 0')"
  cat "$S/out"
}

# --- an empty log ---------------------------------------------------------------------------
: >"$S/empty.lua"
gh --db "$DB" run "$S/empty.lua"
expect_rc 0 "making the database" || finish
gh --db "$DB" events tail
expect_rc 0 "tail of an empty log" && [ "$(lines)" = 0 ] && pass "tail of a new database prints nothing"
gh --db "$DB" events consumers
expect_rc 0 "consumers of an empty log" && pass "consumers of a new database: exit 0"

# --- tail --------------------------------------------------------------------------------------
gh --db "$DB" run "$S/pub.lua" topic=pay.in n=25
expect_rc 0 "publishing 25 events" || finish
gh --db "$DB" run "$S/pub.lua" topic=member.joined n=5 start=26 kind=member
expect_rc 0 "publishing 5 member events" && expect_out "last 30" "publishing" || finish

gh --db "$DB" events tail
expect_rc 0 "tail" && {
  got=$(seqs)
  want=$(seq -s ' ' 11 30)
  [ "$got" = "$want" ] && pass "tail shows the last 20 events" || fail "tail: events $got, expected $want"
  expect_out "pay.in" "tail: topics" && expect_out "李娜30" "tail: payloads" &&
    expect_out "硖石街道" "tail: payloads in Chinese"
}
gh --db "$DB" events tail --since 28
expect_rc 0 "tail --since 28" && [ "$(seqs)" = "28 29 30" ] && pass "tail --since SEQ" ||
  fail "tail --since 28: $(seqs)"
gh --db "$DB" events tail --since 1
[ "$(lines)" = 30 ] && pass "tail --since 1 shows the whole log" || fail "tail --since 1: $(lines) lines"
gh --db "$DB" events tail --since 3 --limit 2
[ "$(seqs)" = "3 4" ] && pass "tail --since 3 --limit 2" || fail "tail --since 3 --limit 2: $(seqs)"
gh --db "$DB" events tail --topic 'member.*'
{ [ "$(seqs)" = "26 27 28 29 30" ] && ! grep -q pay.in "$S/out"; } && pass "tail --topic PATTERN" ||
  { fail "tail --topic member.*: $(seqs)"; show_output; }
gh --db "$DB" events tail --topic 'pay.**' --since 1
[ "$(lines)" = 25 ] && pass "tail --topic with --since" || fail "tail --topic pay.** --since 1: $(lines) lines"
gh --db "$DB" events tail --topic 'nothing.*'
expect_rc 0 "tail --topic matching nothing" && [ "$(lines)" = 0 ] && pass "tail --topic matching nothing prints nothing"
# like tail(1): without --since, the last events
gh --db "$DB" events tail --limit 5
[ "$(seqs)" = "26 27 28 29 30" ] && pass "tail --limit 5 shows the last 5" ||
  fail "tail --limit 5 (no --since) shows events $(seqs), expected the last five: 26 27 28 29 30"
gh --db "$DB" events tail --topic 'pay.*'
[ "$(seqs)" = "$(seq -s ' ' 6 25)" ] && pass "tail --topic shows the last 20 matching events" ||
  fail "tail --topic pay.* (no --since, 25 match) shows $(lines) events ($(seqs)), expected the last 20 (6..25)"

# --- --since TIME --------------------------------------------------------------------------------
gh --db "$DB" events tail --since '2000-01-01'
[ "$(lines)" = 30 ] && pass "tail --since a date long past: everything" || fail "tail --since 2000-01-01: $(lines) lines"
gh --db "$DB" events tail --since '2999-01-01 00:00'
expect_rc 0 "tail --since the future" && [ "$(lines)" = 0 ] && pass "tail --since a future time: nothing"
sleep 1.1 # the next events are in a later second than all before
gh --db "$DB" run "$S/pub.lua" topic=pay.in n=3 start=100
gh --db "$DB" events tail --json --since 31
ms=$(jq_py 'ev[0]["time"]')
when=$(python3 -c "import time; print(time.strftime('%Y-%m-%d %H:%M:%S', time.localtime($ms // 1000)))")
gh --db "$DB" events tail --since "$when"
expect_rc 0 "tail --since '$when'" && {
  [ "$(seqs)" = "31 32 33" ] && pass "tail --since 'YYYY-MM-DD HH:MM:SS' starts at that second" ||
    { fail "tail --since '$when': events $(seqs), expected 31 32 33"; show_output; }
}

# refusals by the one strict parser (core/parse.c), naming the value
gh --db "$DB" events tail --since '2025-02-31'
expect_rc 2 "tail --since 2025-02-31" &&
  expect_err '--since "2025-02-31" is not a real date (month 1-12, a day the month has)' "--since names the value" &&
  pass "tail --since 2025-02-31 is refused, naming the value"
gh --db "$DB" events tail --since '2025-13-45 99:99'
expect_rc 2 "tail --since 2025-13-45 99:99" && expect_err 'is not a real date' "--since 2025-13-45" &&
  pass "tail --since '2025-13-45 99:99' is refused"
gh --db "$DB" events tail --since '2025-01-29 08:61'
expect_rc 2 "tail --since 08:61" && expect_err 'is not a real time of day' "--since 08:61" &&
  pass "tail --since with minute 61 is refused"
gh --db "$DB" events replay nobody --from '2025-02-30'
expect_rc 2 "replay --from 2025-02-30" && expect_err '--from "2025-02-30" is not a real date' "--from" &&
  pass "replay --from 2025-02-30 is refused"

# --- --json ---------------------------------------------------------------------------------------
gh --db "$DB" events tail --json --since 1
expect_rc 0 "tail --json" && valid_json "tail --json" && {
  r=$(jq_py 'len(ev), ev[0]["seq"], ev[0]["topic"], ev[0]["payload"], ev[28]["payload"]["name"], ev[28]["payload"]["dues"], len(ev[0]["origin"]), type(ev[0]["time"]).__name__')
  [ "$r" = "33 1 pay.in 1 李娜29 43.5 32 int" ] && pass "tail --json: seq, topic, payload, time, origin" ||
    fail "tail --json fields: $r"
}
# topics and payloads with characters JSON must escape
lua odd.lua <<'EOF'
bus.publish('say."hi"', 'a "quoted"\nline\twith \\ and 汉字')
bus.publish('back\\slash.x', { ['key "q"'] = { 1, 2.5, true, false }, ctrl = '\1\31' })
EOF
gh --db "$DB" run "$S/odd.lua"
expect_rc 0 "publishing odd topics"
gh --db "$DB" events tail --json --since 34
expect_rc 0 "tail --json of odd topics" && valid_json "tail --json with quotes and backslashes in topics" && {
  r=$(jq_py 'ev[0]["topic"] == "say.\"hi\"" and ev[0]["payload"] == "a \"quoted\"\nline\twith \\ and 汉字" and ev[1]["topic"] == "back\\slash.x" and ev[1]["payload"]["ctrl"] == "\x01\x1f"')
  [ "$r" = True ] && pass "tail --json escapes topics and payloads" || fail "tail --json: odd values come back wrong"
}

# --- --follow ---------------------------------------------------------------------------------------
# event 36 is there before the follower starts: once it has printed it, its
# first read is done, and 777 (published after) can only come by following.
# (Waits are for a condition; 300 s is a backstop for a hung process.)
gh --db "$DB" run "$S/pub.lua" topic=live.one n=1 start=776
"$BIN" --db "$DB" events tail --follow --json --topic 'live.one' --since 36 >"$S/follow.out" 2>"$S/follow.err" &
FP=$!
track "$FP"
wait_out() { # wait_out TEXT: until $S/follow.out has TEXT, at most 300 s
  _t=$(date +%s)
  while ! grep -q "$1" "$S/follow.out" && [ $(($(date +%s) - _t)) -lt 300 ]; do sleep 0.05; done
  grep -q "$1" "$S/follow.out"
}
wait_out 776 || fail "tail --follow: the event before it started did not appear: $(cat "$S/follow.err")"
gh --db "$DB" run "$S/pub.lua" topic=live.other n=1 start=1
gh --db "$DB" run "$S/pub.lua" topic=live.one n=1 start=777
if wait_out 777; then
  pass "tail --follow shows an event another process published"
else
  fail "tail --follow: the event published by another process did not appear in 300 s"
fi
kill -INT "$FP" 2>/dev/null
t=$(date +%s)
while [ $(($(date +%s) - t)) -lt 300 ] && alive "$FP"; do sleep 0.05; done
if alive "$FP"; then
  fail "tail --follow did not stop within 300 s of SIGINT"
  reap "$FP"
else
  reap "$FP"
  frc=$?
  [ "$frc" -eq 0 ] || [ "$frc" -eq 130 ] && pass "tail --follow stops on SIGINT (exit $frc)" ||
    fail "tail --follow ended with exit $frc on SIGINT: $(cat "$S/follow.err")"
fi
cp "$S/follow.out" "$S/out"
valid_json "tail --follow --json" &&
  { [ "$(jq_py '[e["topic"] for e in ev]')" = "['live.one', 'live.one']" ] && pass "tail --follow --topic shows only matching events" ||
    { fail "tail --follow --topic live.one printed: $(cat "$S/follow.out")"; }; }
query "$DB" 'print(bus.last())'
LAST=$(cat "$S/out")

# --- consumers and run -----------------------------------------------------------------------------
gh --db "$DB" run "$S/adder.lua"
expect_rc 0 "defining the adder consumer"
gh --db "$DB" events consumers
expect_rc 0 "consumers" && {
  line=$(grep '^adder ' "$S/out")
  set -- $line
  if [ "${2:-}" = "pay.*" ] && [ "${3:-}" = 0 ] && [ "${4:-}" = "$LAST" ] && expect_out "$S/adder.lua" "consumers: the script"; then
    pass "consumers: name, pattern, cursor 0, lag, script"
  else
    fail "consumers: the adder line is '$line' (last event $LAST)"
    show_output
  fi
}
gh --db "$DB" events run adder
expect_rc 0 "events run adder" && expect_out "consumer adder: 28 events handled, 0 parked" "events run adder" &&
  pass "events run NAME runs the consumer's script and prints the counts"
[ "$(totals)" = "$((325 + 100 + 101 + 102)) 28" ] && pass "the consumer's effects are in the database" ||
  fail "after events run adder: totals $(totals)"
gh --db "$DB" events consumers
line=$(grep '^adder ' "$S/out")
set -- $line
[ "${3:-}" = "$LAST" ] && [ "${4:-}" = 0 ] && pass "consumers: cursor at the end, lag 0 after a run" ||
  fail "consumers after the run: '$line'"
gh --db "$DB" events run adder
expect_rc 0 "events run adder again" && expect_out "consumer adder: 0 events handled, 0 parked" "a second run" &&
  pass "a second run handles nothing"
[ "$(totals)" = "628 28" ] || fail "a second run changed the totals: $(totals)"

# run from another directory, the consumer defined by a script run by a relative path
mkdir -p "$S/work"
lua work/rel.lua <<'EOF'
db.define('totals', { key = 'name', fields = { name = 'string', sum = 'int', n = 'int' } })
bus.consumer('rel', 'member.*', function(ev)
  local r = db.totals:get('rel')
  db.totals:put{ name = 'rel', sum = (r and r.sum or 0) + ev.payload.id, n = (r and r.n or 0) + 1 }
end)
EOF
(cd "$S/work" && "$BIN" --db "$DB" run rel.lua >"$S/out" 2>"$S/err")
(cd / && "$BIN" --db "$DB" events run rel >"$S/out" 2>"$S/err")
RC=$?
expect_rc 0 "events run of a consumer whose script was run by a relative path, from another directory" &&
  expect_out "consumer rel: 5 events handled" "events run rel" &&
  pass "events run finds the script wherever it is run from"

# --- dead letters -------------------------------------------------------------------------------------
gh --db "$DB" run "$S/picky.lua"
gh --db "$DB" events run picky
expect_rc 0 "events run picky" && expect_out "consumer picky: 26 events handled, 2 parked" "events run picky" &&
  expect_out "gonghui events dead" "events run picky: where to look" && pass "events run reports parked events"
gh --db "$DB" events dead
expect_rc 0 "events dead" && expect_out "payload 10 refused" "events dead" && expect_out "payload 20 refused" "events dead" &&
  expect_out "picky.lua:" "events dead: where" && pass "events dead lists the parked events with their errors"
ID10=$(awk '/payload 10 refused/ { print $1 }' "$S/out")
ID20=$(awk '/payload 20 refused/ { print $1 }' "$S/out")
gh --db "$DB" events dead picky
expect_rc 0 "events dead picky" && [ "$(grep -c refused "$S/out")" = 2 ] && pass "events dead NAME"
gh --db "$DB" events dead adder
expect_rc 0 "events dead adder" && ! grep -q refused "$S/out" && pass "events dead of a consumer with none"
gh --db "$DB" events dead retry "$ID10"
expect_rc 0 "dead retry" && expect_out "$ID10" "dead retry" && pass "dead retry ID"
gh --db "$DB" events dead
grep "payload 10 refused" "$S/out" | grep -q "(retry)" && pass "events dead shows the mark" ||
  { fail "events dead does not show the retry mark"; show_output; }
: >"$S/fixed"
gh --db "$DB" events run picky
expect_rc 0 "events run picky (fixed)" && expect_out "consumer picky: 1 events handled, 0 parked" "the retried event" &&
  pass "a retried event is handled on the next run once the handler works"
gh --db "$DB" events dead
! grep -q "payload 10 refused" "$S/out" && grep -q "payload 20 refused" "$S/out" &&
  pass "the handled dead letter is gone, the other stays" || { fail "events dead after the retry"; show_output; }
gh --db "$DB" events dead drop "$ID20"
expect_rc 0 "dead drop" && pass "dead drop ID"
gh --db "$DB" events dead
! grep -q refused "$S/out" && pass "no dead letters left" || fail "dead letters left after drop"
gh --db "$DB" events dead drop "$ID20"
expect_rc 1 "dead drop of a dropped one" && expect_err "no dead letter $ID20" "dead drop again" &&
  pass "dead drop of an unknown id: exit 1, says so"
gh --db "$DB" events dead retry 999999
expect_rc 1 "dead retry 999999" && expect_err "no dead letter 999999" "dead retry 999999"
for args in "retry" "retry x" "drop 0" "drop 1 2" "a b"; do
  # shellcheck disable=SC2086 # split on purpose
  gh --db "$DB" events dead $args
  expect_rc 2 "events dead $args" && expect_err "gonghui events dead" "events dead $args"
done
gh --db "$DB" events dead nope
expect_rc 1 "events dead nope" && expect_err "no consumer named 'nope'" "events dead nope" &&
  expect_err "adder" "events dead nope lists the consumers" && pass "events dead of an unknown consumer"

# --- replay -----------------------------------------------------------------------------------------------
gh --db "$DB" events replay adder --from 20
expect_rc 0 "replay --from 20" && expect_out "consumer adder: 9 events handled" "replay --from 20" &&
  pass "replay --from SEQ runs the consumer from there"
[ "$(totals)" = "$((628 + 20 + 21 + 22 + 23 + 24 + 25 + 100 + 101 + 102)) 37" ] ||
  fail "after replay --from 20: totals $(totals)"
gh --db "$DB" events replay adder --from "$when"
expect_rc 0 "replay --from TIME" && expect_out "consumer adder: 3 events handled" "replay --from '$when'" &&
  pass "replay --from TIME"
# past the end of the log: refused, or the consumer waits at the end (a
# negative lag would skip every event up to that number)
gh --db "$DB" events replay adder --from 99999
if [ "$RC" -eq 0 ]; then
  gh --db "$DB" events consumers
  line=$(grep '^adder ' "$S/out")
  set -- $line
  [ "${4:-0}" -ge 0 ] && pass "replay --from past the end: the consumer waits at the end" ||
    fail "replay --from 99999 (the log ends at $LAST) leaves: '$line'; events up to 99999 would be skipped"
else
  { [ "$RC" -eq 1 ] || [ "$RC" -eq 2 ]; } && expect_err "99999" "replay --from past the end" &&
    pass "replay --from past the end of the log is refused"
fi
gh --db "$DB" events replay adder --from $((LAST + 1)) # back to the end of the log
gh --db "$DB" events replay adder --from 0
expect_rc 2 "replay --from 0" && expect_err "start at 1" "replay --from 0"
gh --db "$DB" events replay adder --from yesterday
expect_rc 2 "replay --from yesterday" && expect_err "yesterday" "replay --from yesterday"
gh --db "$DB" events replay adder
expect_rc 2 "replay without --from" && expect_err "usage" "replay without --from"
gh --db "$DB" events replay --from 3
expect_rc 2 "replay without a name" && expect_err "usage" "replay without a name"
gh --db "$DB" events replay nope --from 1
expect_rc 1 "replay of an unknown consumer" && expect_err "no consumer named 'nope'" "replay nope" &&
  expect_err "adder" "replay nope lists the consumers" && expect_err "picky" "replay nope lists the consumers" &&
  pass "replay of an unknown consumer: exit 1, lists the known ones"

# --- trim ----------------------------------------------------------------------------------------------
gh --db "$DB" events run picky
gh --db "$DB" events run adder
(cd "$S/work" && "$BIN" --db "$DB" events run rel >/dev/null 2>&1)
gh --db "$DB" events trim
expect_rc 0 "trim" && expect_out "$((LAST - 1)) events" "trim: every consumer is at the end" &&
  pass "trim deletes all that every consumer handled"
gh --db "$DB" events tail --since 1
[ "$(seqs)" = "$LAST" ] && pass "trim keeps the last event" || fail "after trim: events $(seqs), expected $LAST"
gh --db "$DB" events trim
expect_rc 0 "trim again" && expect_out "0 events" "trim again" && pass "a second trim deletes nothing"
gh --db "$DB" run "$S/pub.lua" topic=pay.in n=1 start=5
expect_out "last $((LAST + 1))" "sequence numbers after trim" && pass "sequence numbers go on after trim"
gh --db "$DB" events replay adder --from 1
expect_rc 1 "replay from trimmed events" && expect_err "trimmed" "replay --from 1 after trim" &&
  pass "replay from trimmed events is refused"
gh --db "$DB" events consumers
line=$(grep '^adder ' "$S/out")
set -- $line
[ "${4:-}" = 1 ] && pass "consumers: lag after a new event" || fail "consumers after trim and publish: '$line'"

# --- run: the script is gone, or does not define the consumer -------------------------------------------
DB2=$S/db2
gh --db "$DB2" run "$S/empty.lua"
gh --db "$DB2" events trim
expect_rc 0 "trim without consumers" && expect_out "nothing trimmed" "trim without consumers" &&
  pass "trim without consumers trims nothing"
lua gone.lua <<'EOF'
bus.publish('a.x', 1)
bus.publish('a.x', 2)
bus.consumer('gone', 'a.*', function() end)
bus.run('gone')
EOF
gh --db "$DB2" run "$S/gone.lua"
rm "$S/gone.lua"
gh --db "$DB2" events run gone
expect_rc 1 "run of a consumer whose script is gone" && expect_err "'gone'" "script gone" &&
  expect_err "$S/gone.lua" "script gone: names the script" && expect_err "cannot be read" "script gone" &&
  pass "events run of a consumer whose script is gone: exit 1, names the script"
# a replay that cannot run (the script is gone) fails; it leaves the cursor
# where it was, or says that it moved it
gh --db "$DB2" events replay gone --from 1
expect_rc 1 "replay of a consumer whose script is gone" && expect_err "cannot be read" "replay, script gone"
cp "$S/err" "$S/replay.err"
gh --db "$DB2" events consumers
line=$(grep '^gone ' "$S/out")
set -- $line
if [ "${3:-}" = 2 ]; then
  pass "a failed replay leaves the cursor where it was"
elif grep -qiE "cursor|next run" "$S/replay.err"; then
  pass "a failed replay says it moved the cursor"
else
  fail "events replay failed (exit 1, the script is gone) but silently moved the cursor from 2: '$line'"
fi
cat >"$S/cond.lua" <<'EOF'
if params.define then bus.consumer('cond', 'a.*', function() end) end
EOF
gh --db "$DB2" run "$S/cond.lua" define=1
gh --db "$DB2" events run cond
expect_rc 1 "a script that does not define its consumer" && expect_err "did not call bus.consumer('cond'" "cond" &&
  pass "events run of a script that does not define the consumer: exit 1, says so"
gh --db "$DB2" events run nope
expect_rc 1 "run of an unknown consumer" && expect_err "no consumer named 'nope'" "run nope" &&
  expect_err "gone" "run nope lists the consumers" && pass "events run of an unknown consumer: exit 1, lists the known ones"

# --- bad arguments ----------------------------------------------------------------------------------------
for args in "" "bogus" "run" "run a b" "consumers extra" "trim x" "tail --limit" "tail --since" "tail --topic" \
  "tail --wat" "tail --since bogus" "tail --limit abc" "tail --limit 5x" "tail --since 2025-13-01"; do
  # shellcheck disable=SC2086 # split on purpose
  gh --db "$DB" events $args
  if [ "$RC" -eq 2 ] && grep -q "gonghui events" "$S/err"; then
    :
  else
    fail "events $args: exit $RC (expected 2 and a message)"
    show_output
  fi
done
pass "usage errors exit 2 with a message"
gh --db "$DB" events tail --topic 'a..b'
{ [ "$RC" -eq 1 ] || [ "$RC" -eq 2 ]; } && expect_err "empty segment" "tail --topic a..b" &&
  pass "tail with a bad pattern: says what is wrong"

gh --db "$DB" check
expect_rc 0 "check after it all" && pass "check is clean"

# --- change events: one builder for the Lua face and import (issue 22) ---------------------
# The payload is made from the stored record bytes (core/bus_change.c): "old"
# then "new", fields in definition order, absent fields left out. The same
# record gives the same bytes whether a script or import wrote it; a log
# written before (the Lua face encoded a table, keys in hash order: the same
# table bus.publish encodes here) replays to the same values.
lua change_def.lua <<'EOF'
db.define('people', { key = 'id', events = true,
  fields = { id = 'int', name = 'string', age = 'int?', born = 'date?', pay = 'fen?', tags = 'any?' } })
EOF
lua change_lua.lua <<'EOF'
db.people:insert{ id = 2, name = '李四', age = 30 }
db.people:put{ id = 2, name = '李四', age = 31 }
db.people:insert{ id = 1, name = '张三', age = 40, born = '1985-03-01', pay = 1250, tags = { 'a', 'b' } }
db.people:update(1, { age = 41, tags = db.null })
db.people:delete(1)
EOF
printf 'id,name,age\n2,李四,30\n' >"$S/p1.csv"
printf 'id,name,age\n2,李四,31\n' >"$S/p2.csv"
CE=$S/change
mkdir -p "$CE"
gh --db "$CE/lua" run "$S/change_def.lua" && gh --db "$CE/lua" run "$S/change_lua.lua"
expect_rc 0 "change events from a script" || true
gh --db "$CE/lua" events tail --json
sed 's/.*"payload":\({.*}\),"run".*/\1/' "$S/out" >"$S/lua.payloads"
gh --db "$CE/imp" run "$S/change_def.lua"
gh --db "$CE/imp" import people "$S/p1.csv"
gh --db "$CE/imp" import people "$S/p2.csv" --mode upsert
gh --db "$CE/imp" events tail --json
sed 's/.*"payload":\({.*}\),"run".*/\1/' "$S/out" >"$S/imp.payloads"
cat >"$S/want.payloads" <<'EOF'
{"new":{"id":2,"age":30,"name":"李四"}}
{"old":{"id":2,"age":30,"name":"李四"},"new":{"id":2,"age":31,"name":"李四"}}
{"new":{"id":1,"age":40,"born":"1985-03-01","name":"张三","pay":1250,"tags":["a","b"]}}
{"old":{"id":1,"age":40,"born":"1985-03-01","name":"张三","pay":1250,"tags":["a","b"]},"new":{"id":1,"age":41,"born":"1985-03-01","name":"张三","pay":1250}}
{"old":{"id":1,"age":41,"born":"1985-03-01","name":"张三","pay":1250}}
EOF
if cmp -s "$S/lua.payloads" "$S/want.payloads"; then
  pass "a script's change events: old then new, fields in definition order"
else
  fail "a script's change events differ:"
  diff "$S/want.payloads" "$S/lua.payloads" >&2
fi
if head -2 "$S/want.payloads" | cmp -s - "$S/imp.payloads"; then
  pass "import's change events are byte for byte a script's for the same records"
else
  fail "import's change events differ from a script's:"
  diff "$S/imp.payloads" "$S/want.payloads" >&2
fi
lua change_old.lua <<'EOF'
-- the old form, as the Lua face used to encode it: a table, its keys in hash order
local old = { id = 2, age = 30, name = '李四' }
local new = { id = 2, age = 31, name = '李四' }
db.atomic(function() bus.publish('people.updated', { new = new, old = old }) end)
db.people:update(2, { age = 32 })
local seen = {}
bus.consumer('replay_old', 'people.*', function(ev) seen[#seen + 1] = ev end)
bus.run('replay_old')
local function same(a, b)
  if type(a) ~= 'table' or type(b) ~= 'table' then return a == b end
  for k, v in pairs(a) do if not same(v, b[k]) then return false end end
  for k in pairs(b) do if a[k] == nil then return false end end
  return true
end
local n = #seen
local oldform, newform = seen[n - 1].payload, seen[n].payload
print('replayed', n, same(oldform, { old = old, new = new }),
  same(newform, { old = { id = 2, age = 31, name = '李四' }, new = { id = 2, age = 32, name = '李四' } }),
  same(seen[2].payload, oldform))
EOF
gh --db "$CE/imp" run "$S/change_old.lua"
expect_rc 0 "replaying old and new change events" &&
  expect_out "replayed	4	true	true	true" "old and new change events replay alike" &&
  pass "a change event in the old form replays to the same values as the new form"

finish
