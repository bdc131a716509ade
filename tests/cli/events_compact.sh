#!/bin/sh
# events_compact.sh BINARY SCRATCH — compact events (bus.c, issue 18): a log
# written before them (events_v1/, made by gonghui 6893998 from mk.lua) reads
# exactly as it did: `events tail --json`, `export _events` and check; new
# events appended to it (full and compact side by side) read back whole
# through tail, export, bus.events, bus.run and a run's event counts; and a
# transaction's repeated events are stored compact (a context in _evctx).
. "$(dirname "$0")/lib.sh"
FX=$(cd "$(dirname "$0")/events_v1" && pwd)
setup "$@"

# same_file A B WHAT: files A and B are equal
same_file() {
  if cmp -s "$1" "$2"; then pass "$3"; else fail "$3"; diff "$1" "$2" >&2; fi
}
# out_is VALUE WHAT: stdout of the last command is VALUE
out_is() {
  if [ "$(cat "$S/out")" = "$1" ]; then pass "$2"; else fail "$2: got '$(cat "$S/out")', expected '$1'"; show_output; fi
}

DB=$S/old
mkdir -p "$DB"
gzip -dc "$FX/data.mdb.gz" >"$DB/data.mdb" || { fail "unpacking the old database"; finish; }

# --- the old log, untouched ------------------------------------------------------------------
gh --db "$DB" events tail --json
expect_rc 0 "tail of the old log" && same_file "$FX/tail.jsonl" "$S/out" "events tail --json of a log written before compact events"
gh --db "$DB" export _events --out - --format jsonl
expect_rc 0 "export of the old log" && same_file "$FX/export.jsonl" "$S/out" "export _events of the old log"
gh --db "$DB" check
expect_rc 0 "check of the old log" && pass "check: the old log is consistent"

# --- new events appended: a transaction of repeats, a lone event, a second transaction ---------
lua pub.lua <<'EOF2'
db.atomic(function()
  for i = 1, 4 do bus.publish('pay.in', { n = 100 + i, who = '王芳' }) end
  bus.publish('pay.out', 'x')
  bus.publish('pay.in')
  bus.publish('pay.out', 'y')
end)
bus.publish('award.issued', { member_id = 43 })
db.atomic(function()
  bus.publish('pay.in', 200)
  bus.publish('pay.in', 201)
end)
print(run.uid)
EOF2
gh --db "$DB" run pub.lua
expect_rc 0 "publishing into the old log" || finish
UID=$(cat "$S/out")

# the stored forms: 12-18 in full or compact, the old 1-11 still in full
query "$DB" "
local forms = {}
for seq = 1, bus.last() do
  local r = db._events:get(seq)
  forms[#forms + 1] = math.type(r.topic) == 'integer' and 'c' or 'f'
end
print(table.concat(forms))"
out_is "ffffffffffffcccfccffc" "stored forms (f in full, c compact), seq 1-21"

gh --db "$DB" events tail --json --limit 100
expect_rc 0 "tail of the mixed log" || finish
head -n 11 "$S/out" >"$S/head.jsonl"
same_file "$FX/tail.jsonl" "$S/head.jsonl" "the old events read the same after new ones were appended"
python3 - "$S/out" "$UID" >"$S/py.out" 2>&1 <<'EOF2'
import json, sys
ev = [json.loads(l) for l in open(sys.argv[1])]
new = ev[11:]
want = [('pay.in', {'n': 101, 'who': '王芳'}), ('pay.in', {'n': 102, 'who': '王芳'}),
        ('pay.in', {'n': 103, 'who': '王芳'}), ('pay.in', {'n': 104, 'who': '王芳'}),
        ('pay.out', 'x'), ('pay.in', None), ('pay.out', 'y'),
        ('award.issued', {'member_id': 43}), ('pay.in', 200), ('pay.in', 201)]
got = [(e['topic'], e['payload']) for e in new]
assert got == want, got
assert [e['seq'] for e in ev] == list(range(1, 22)), [e['seq'] for e in ev]
assert all(e['run'] == sys.argv[2] for e in new), [e['run'] for e in new]
assert len({e['origin'] for e in ev}) == 1
t = [e['time'] for e in ev]
assert t == sorted(t) and t[-1] - t[11] < 600000 and t[11] > t[10], t
print('ok')
EOF2
if grep -qx ok "$S/py.out"; then pass "tail --json of the mixed log: topics, payloads, run, origin, times"; else fail "mixed log: $(cat "$S/py.out")"; fi

gh --db "$DB" events tail --json --limit 100
cp "$S/out" "$S/tail2.jsonl"
gh --db "$DB" export _events --out - --format jsonl
expect_rc 0 "export of the mixed log" &&
  python3 - "$S/tail2.jsonl" "$S/out" >"$S/py.out" 2>&1 <<'EOF2'
import json, sys
tail = [json.loads(l) for l in open(sys.argv[1])]
exp = [json.loads(l) for l in open(sys.argv[2])]
assert len(exp) == 21, len(exp)
for a, b in zip(tail, exp):
    assert (a['seq'], a['topic'], a['time'], a['payload'], a['run']) == (b['seq'], b['topic'], b['time'], b['payload'], b['run']), (a, b)
    assert b['origin'] is None
print('ok')
EOF2
if grep -qx ok "$S/py.out"; then pass "export _events writes compact events in full"; else fail "export: $(cat "$S/py.out")"; fi

gh --db "$DB" check
expect_rc 0 "check of the mixed log" && pass "check: the mixed log is consistent"

# bus.events, a consumer over both forms, and the run's counts
query "$DB" "
local ev = bus.events{ topic = 'pay.*' }
local t = {}
for _, e in ipairs(ev) do t[#t + 1] = e.seq .. '=' .. (type(e.payload) == 'table' and e.payload.n or tostring(e.payload)) end
print(table.concat(t, ' '))"
out_is "1=1 2=2 3=3 4=4 5=5 6=7 7=nil 9=6 10=7 11=8 12=101 13=102 14=103 15=104 16=x 17=nil 18=y 20=200 21=201" "bus.events over the mixed log"
lua cons.lua <<'EOF2'
local seen = {}
bus.consumer('seer', 'pay.in', function(ev) seen[#seen + 1] = ev.seq .. ':' .. ev.topic end)
local h = bus.run('seer', { batch = 4 })
print(h .. ' ' .. table.concat(seen, ' '))
EOF2
gh --db "$DB" run cons.lua
expect_rc 0 "a consumer over the mixed log" &&
  out_is "16 1:pay.in 2:pay.in 3:pay.in 4:pay.in 5:pay.in 7:pay.in 9:pay.in 10:pay.in 11:pay.in 12:pay.in 13:pay.in 14:pay.in 15:pay.in 17:pay.in 20:pay.in 21:pay.in" "bus.run over the mixed log"
gh --db "$DB" runs show "$UID"
if expect_rc 0 "runs show"; then
  if grep -q "events *{award.issued = 1, pay.in = 7, pay.out = 2}" "$S/out"; then
    pass "the run's record counts its events, full and compact"
  else
    fail "the run's events per topic"
    show_output
  fi
fi

# a savepoint's events stay with it: the one that fails takes its context along
lua sp.lua <<'EOF2'
db.atomic(function()
  pcall(db.atomic, function()
    bus.publish('sp.gone', 1) bus.publish('sp.gone', 2) bus.publish('sp.gone', 3)
    error('undone')
  end)
  bus.publish('sp.kept', 1) bus.publish('sp.kept', 2)
end)
local t = {}
for _, e in ipairs(bus.events{ topic = 'sp.*' }) do t[#t + 1] = e.topic .. '=' .. e.payload end
print(table.concat(t, ' '))
EOF2
gh --db "$DB" run sp.lua
expect_rc 0 "savepoints" && out_is "sp.kept=1 sp.kept=2" "a failed savepoint's events and context are gone"
gh --db "$DB" check
expect_rc 0 "check after savepoints" && pass "check: clean after a failed savepoint"

# check reads every event as an event: a compact one whose context is damaged is reported
if have_lmdb_utils; then
  cp -r "$DB" "$S/damaged"
  printf ' \\15\\80\\00\\00\\00\\00\\00\\00\\01\n \\91\\01\n' | lmdb_put "$S/damaged" 'c:_evctx'
  gh --db "$S/damaged" check
  if expect_rc 1 "check of a log whose context 1 is damaged"; then
    if grep -q "_events: event 13 does not read as an event" "$S/out"; then
      pass "check names the compact events whose context is damaged"
    else
      fail "check's report of a damaged context"
      show_output
    fi
  fi
else
  echo "note: mdb_dump/mdb_load missing (lmdb-utils): the damaged-context check is skipped" >&2
fi

finish
