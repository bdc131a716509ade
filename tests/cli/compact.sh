#!/bin/sh
# compact.sh BINARY SCRATCH — `gonghui compact`: the database rewritten in
# place holds the same records, indexes and events, gives back its free pages
# (the file shrinks; `stat` showed them before, not after) and goes on being
# written; while another process has the database open it is refused,
# naming that process, and the file is left as it was.
. "$(dirname "$0")/lib.sh"
setup "$@"

DB=$S/db
lua make.lua <<'EOF'
-- a unique index filled in random order, in many transactions, and deletes:
-- its pages end strewn over the file, and free pages are left
db.define('members', { key = 'id', fields = { id = 'int', code = 'string', town = 'string' },
                       unique = { 'code' }, index = { 'town' } })
db.define('logs', { fields = { msg = 'string' } })
math.randomseed(7)
local order = {}
for i = 1, 6000 do order[i] = i end
for i = #order, 2, -1 do local j = math.random(i) order[i], order[j] = order[j], order[i] end
for c = 0, 5 do
  db.atomic(function()
    for k = c * 1000 + 1, c * 1000 + 1000 do
      local i = order[k]
      db.members:insert{ id = i, code = string.format('C%017d', (i * 7919) % 1000003), town = 't' .. i % 7 }
      db.logs:insert{ msg = string.rep('x', 200) }
    end
  end)
end
db.atomic(function() for i = 1, 4000 do db.logs:delete(i) end end)
bus.publish('test.made', { n = 6000 })
EOF
gh --db "$DB" run "$S/make.lua"
expect_rc 0 "making the database" || finish

SHOW="local n = 0
for m in db.members:scan{ index = 'code' } do n = n + 1 end
local hits = 0
for i = 1, 6000, 7 do
  local m = db.members:find('code', string.format('C%017d', (i * 7919) % 1000003))
  if m and m.id == i then hits = hits + 1 end
end
print(db.members:count(), n, db.members:count{ town = 't3' }, hits, db.logs:count(), db.logs:get(4001, 'msg') ~= nil)"
query "$DB" "$SHOW"
expect_rc 0 "reading the database" || finish
cp "$S/out" "$S/show.before"
gh --db "$DB" export members --out "$S/members.before.jsonl" --unmask
expect_rc 0 "exporting before"
gh --db "$DB" events tail
cp "$S/out" "$S/events.before"
a=$(wc -c <"$DB/data.mdb")
gh --db "$DB" stat
expect_out "free pages (gonghui compact gives them back)" "stat before compact" &&
  pass "stat says how much of the file is free pages, and what gives them back"

# --- alone: rewritten ---------------------------------------------------------------
gh --db "$DB" compact
if expect_rc 0 "compact"; then
  expect_out "rewritten in key order" "compact says what it did" && pass "compact exits 0 and says so"
  b=$(wc -c <"$DB/data.mdb")
  if [ "$b" -lt "$a" ]; then pass "the file gave back its free pages ($a -> $b bytes)"; else fail "the file did not shrink ($a -> $b bytes)"; fi
  [ ! -e "$DB/data.mdb.compact" ] && pass "no copy is left beside data.mdb" || fail "data.mdb.compact was left"
  if command -v mdb_stat >/dev/null 2>&1; then
    free=$(mdb_stat -f "$DB" | sed -n 's/^ *Free pages: //p')
    [ "$free" = 0 ] && pass "no free pages after compact" || fail "free pages after compact: $free"
  else
    echo "  (mdb_stat missing: the free-page count is not checked)" >&2
  fi
  gh --db "$DB" stat
  if expect_rc 0 "stat after compact"; then
    if grep -q "free pages" "$S/out"; then fail "stat after compact still shows free pages: $(head -2 "$S/out")"; else
      pass "stat after compact shows no free pages"; fi
  fi
  gh --db "$DB" check
  expect_rc 0 "check after compact" && pass "check is clean after compact"
  query "$DB" "$SHOW"
  if cmp -s "$S/out" "$S/show.before"; then pass "the same records, index entries and lookups"; else
    fail "compact changed what the database holds: $(cat "$S/out") vs $(cat "$S/show.before")"
  fi
  gh --db "$DB" export members --out "$S/members.after.jsonl" --unmask
  cmp -s "$S/members.before.jsonl" "$S/members.after.jsonl" && pass "the members export the same" ||
    fail "the members' export differs after compact"
  gh --db "$DB" events tail
  cmp -s "$S/out" "$S/events.before" && pass "the event log is the same" || fail "the event log differs after compact"
  # written after it, and compacted again
  query "$DB" "db.members:insert{ id = 7001, code = 'new', town = 't1' } print(db.members:find('code', 'new').id, db.members:count())"
  [ "$(cat "$S/out")" = "$(printf '7001\t6001')" ] && pass "the compacted database takes writes" ||
    fail "writing after compact: $(cat "$S/out" "$S/err")"
  gh --db "$DB" compact
  expect_rc 0 "a second compact" && pass "compact again"
  expect_value "$DB" "db.members:find('code', 'new').id" 7001 "the write after the first compact is kept"
fi

# --- another process has it open: refused, nothing changed ----------------------------
lua hold.lua <<'EOF'
-- holds the database open (a read now and then) until params.stop exists;
-- ready once it has read
db.members:count()
local f = io.open(params.ready, 'w') f:write('go') f:close()
while not io.open(params.stop) do db.members:count() end
EOF
cp "$DB/data.mdb" "$S/data.before"
"$BIN" --db "$DB" run "$S/hold.lua" ready="$S/ready" stop="$S/stop" >"$S/hold.out" 2>"$S/hold.err" &
HPID=$!
track "$HPID"
wait_file "$S/ready" || fail "the holding process did not start"
gh --db "$DB" compact
if [ "$RC" -eq 0 ]; then
  fail "compact while another process has the database open exits 0"
else
  expect_err "pid $HPID" "the refusal names the process that has the database open" &&
    pass "compact is refused while another process has the database open, naming it"
fi
cmp -s "$DB/data.mdb" "$S/data.before" && pass "the refused compact left data.mdb as it was" ||
  fail "the refused compact changed data.mdb"
[ ! -e "$DB/data.mdb.compact" ] || fail "the refused compact left data.mdb.compact"
touch "$S/stop"
reap "$HPID"
[ $? -eq 0 ] || fail "the holding process failed: $(cat "$S/hold.err")"
gh --db "$DB" compact
expect_rc 0 "compact once the other process ended" && pass "compact once the other process has ended"

# --- usage and missing databases --------------------------------------------------------
gh --db "$DB" compact extra
expect_rc 2 "compact with an argument" && pass "compact takes no argument (exit 2)"
gh --db "$S/nodb" compact
if [ "$RC" -eq 0 ]; then fail "compact of a missing database exits 0"; else pass "compact of a missing database is an error"; fi
[ -e "$S/nodb" ] && fail "compact created the missing database $S/nodb"

finish
