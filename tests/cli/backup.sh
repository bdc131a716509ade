#!/bin/sh
# backup.sh BINARY SCRATCH — `gonghui backup DEST`: the copy opens and holds
# the same records; a non-empty destination is refused; a backup taken while
# another process writes is consistent (check clean, invariants hold).
. "$(dirname "$0")/lib.sh"
setup "$@"

DB=$S/db
lua make.lua <<'EOF'
db.define('members', { key = 'id', fields = { id = 'int', town = 'string', note = 'string?' },
                       index = { 'town' }, unique = { 'note' } })
db.define('logs', { fields = { msg = 'string' } })
db.atomic(function()
  for i = 1, 3000 do db.members:insert{ id = i, town = 't' .. i % 9, note = 'n' .. i } end
  for i = 1, 500 do db.logs:insert{ msg = string.rep('x', 100) } end
end)
-- deletes leave free pages: the copy is compacted
db.atomic(function() for i = 1, 500 do db.logs:delete(i) end end)
db.logs:insert{ msg = 'kept' }
EOF
gh --db "$DB" run "$S/make.lua"
expect_rc 0 "making the database" || finish

COUNTS="print(db.members:count(), db.members:count{ index = 'town' }, db.members:count{ town = 't3' }, db.logs:count(), db.members:get(77, 'note'), db.members:find('note', 'n99', 'id'))"

query "$DB" "$COUNTS"
cp "$S/out" "$S/counts.orig"

gh --db "$DB" backup "$S/copy1"
if expect_rc 0 "backup to a new directory"; then
  pass "backup to a new directory exits 0"
  query "$S/copy1" "$COUNTS"
  if expect_rc 0 "opening the copy" && cmp -s "$S/out" "$S/counts.orig"; then
    pass "the copy holds the same records and indexes"
  else
    fail "the copy differs: $(cat "$S/out") vs $(cat "$S/counts.orig")"
  fi
  gh --db "$S/copy1" check
  expect_rc 0 "check on the copy" && pass "check on the copy is clean"
  gh --db "$S/copy1" stat
  expect_rc 0 "stat on the copy" && expect_out "members" "stat on the copy" && pass "stat on the copy"
  # compacted: not bigger than the original
  a=$(wc -c <"$DB/data.mdb")
  b=$(wc -c <"$S/copy1/data.mdb")
  if [ "$b" -le "$a" ]; then pass "the copy is not bigger ($b <= $a bytes)"; else fail "the copy is bigger than the original ($b > $a)"; fi
  # the copy is a database of its own: writing to it leaves the original alone
  query "$S/copy1" "db.logs:insert{ msg = 'only in the copy' } print(db.logs:count())"
  query "$DB" "print(db.logs:count())"
  if grep -qx 1 "$S/out"; then pass "the copy is independent of the original"; else fail "writing the copy changed the original"; fi
fi

# an empty existing directory is fine
mkdir "$S/copy2"
gh --db "$DB" backup "$S/copy2"
expect_rc 0 "backup to an empty directory" && pass "backup to an empty directory"

# a non-empty destination is refused and left alone
mkdir "$S/full"
echo "precious" >"$S/full/file.txt"
gh --db "$DB" backup "$S/full"
if [ "$RC" -eq 0 ]; then
  fail "backup into a non-empty directory exits 0"
else
  expect_err "$S/full" "backup into a non-empty directory: names it" && pass "backup refuses a non-empty directory"
fi
[ "$(cat "$S/full/file.txt")" = "precious" ] && [ ! -e "$S/full/data.mdb" ] || fail "backup touched the non-empty destination"
# over an existing database too
gh --db "$DB" backup "$S/copy1"
if [ "$RC" -eq 0 ]; then fail "backup over an existing database exits 0"; else pass "backup refuses an existing database"; fi
# a destination that is a file
echo x >"$S/afile"
gh --db "$DB" backup "$S/afile"
if [ "$RC" -eq 0 ]; then fail "backup onto a file exits 0"; else pass "backup refuses a file as destination"; fi
# a source that is not a database
gh --db "$S/nodb" backup "$S/copy3"
if [ "$RC" -eq 0 ]; then fail "backup of a missing database exits 0"; else pass "backup of a missing database is an error"; fi
[ -e "$S/nodb" ] && fail "backup created the missing source $S/nodb"

# --- a backup while another process writes ---------------------------------------
lua writer.lua <<'EOF'
-- each unit adds the same number of records to a and b and bumps the counter
db.define('a', { fields = { n = 'int', pad = 'string' }, index = { 'n' } })
db.define('b', { fields = { n = 'int' }, unique = { 'n' } })
db.define('counter', { key = 'name', fields = { name = 'string', value = 'int' } })
if not db.counter:get('c') then db.counter:insert{ name = 'c', value = 0 } end
local pad = string.rep('p', 200)
-- it writes until the test makes the file params.stop, so every backup
-- is taken while it writes, however slow the machine
local f = io.open(params.ready, 'w') f:write('go') f:close()
while not io.open(params.stop) do
  db.atomic(function()
    local v = db.counter:get('c', 'value')
    for i = 1, 50 do
      db.a:insert{ n = v + i, pad = pad }
      db.b:insert{ n = v + i }
    end
    db.counter:update('c', { value = v + 50 })
  end)
end
EOF
VERIFY="local c = db.counter:get('c', 'value') local a, b = db.a:count(), db.b:count() \
print(a == c and b == c and db.a:count{ index = 'n' } == c and 'consistent' or ('torn ' .. a .. ' ' .. b .. ' ' .. c), c)"

"$BIN" --db "$DB" run "$S/writer.lua" ready="$S/ready" stop="$S/stop" >"$S/writer.out" 2>"$S/writer.err" &
WPID=$!
track "$WPID"
wait_file "$S/ready" || fail "the writer did not start"
n=0
for k in 1 2 3; do
  gh --db "$DB" backup "$S/live$k"
  if expect_rc 0 "backup $k while writing"; then
    gh --db "$S/live$k" check
    expect_rc 0 "check of live backup $k"
    query "$S/live$k" "$VERIFY"
    if grep -q '^consistent' "$S/out"; then
      n=$((n + 1))
      echo "  live backup $k: counter $(cut -f2 "$S/out")" >&2
    else
      fail "live backup $k is not consistent: $(cat "$S/out" "$S/err")"
    fi
  fi
done
touch "$S/stop"
reap "$WPID"
WRC=$?
[ "$WRC" -eq 0 ] || { fail "the writer failed ($WRC)"; cat "$S/writer.err" >&2; }
[ "$n" -eq 3 ] && pass "backups taken while another process writes are consistent"
# the writer did not wait for the backups, nor fail
query "$DB" "$VERIFY"
grep -q '^consistent' "$S/out" && pass "the original is consistent after the live backups" ||
  fail "the original is not consistent: $(cat "$S/out")"

finish
