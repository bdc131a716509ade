#!/bin/sh
# check.sh BINARY SCRATCH — `gonghui check`: clean databases exit 0; index
# entries and records corrupted on purpose (with mdb_dump/mdb_load from
# lmdb-utils) are each reported, naming the collection and the index, with
# exit 1; corrupt value bytes give `run` a clear error, never a crash.
. "$(dirname "$0")/lib.sh"
setup "$@"

DB=$S/db
lua make.lua <<'EOF'
db.define('members', { key = 'id', fields = { id = 'int', town = 'string', n = 'int?', code = 'string?' },
                       index = { 'town', { 'town', 'n' } }, unique = { 'code' } })
db.define('empty', { fields = { a = 'int' }, index = { 'a' } })
db.define('skeys', { key = 'k', fields = { k = 'string', v = 'int' }, index = { 'v' } })
db.atomic(function()
  for i = 1, 200 do
    db.members:insert{ id = i, town = i % 2 == 0 and 'east' or 'west', n = i % 7, code = 'c' .. i }
  end
  for i = 1, 20 do db.skeys:insert{ k = 'key' .. i, v = i } end
end)
EOF
gh --db "$DB" run "$S/make.lua"
expect_rc 0 "making the database" || { finish; }

gh --db "$DB" check
expect_rc 0 "check on a clean database" && pass "check: a clean database exits 0"

# a fresh, empty database is clean too
gh --db "$S/fresh" run "$S/make.lua"
rm -rf "$S/fresh"
echo "" >"$S/nothing.lua"
gh --db "$S/fresh" --new-db run "$S/nothing.lua"
gh --db "$S/fresh" check
expect_rc 0 "check on an empty database" && pass "check: an empty database exits 0"

# check refuses a path that is not a database, without creating it
gh --db "$S/nodb" check
if [ "$RC" -eq 0 ]; then fail "check on a missing database exits 0"; else pass "check: a missing database is an error"; fi
if [ -e "$S/nodb" ]; then fail "check created $S/nodb"; fi

if ! have_lmdb_utils; then
  echo "SKIP: mdb_dump/mdb_load (lmdb-utils) not found; the corruption checks need them" >&2
  finish
fi

# Work on copies so each corruption is seen alone.
fresh_copy() {
  rm -rf "${S:?}/${1:?}"
  cp -r "$DB" "$S/$1"
}

# 1. an index entry pointing to a record that does not exist (id 999)
fresh_copy c1
printf ' \\02east\\00\n \\15\\80\\00\\00\\00\\00\\00\\03\\e7\n' | lmdb_put "$S/c1" 'i:members:town'
gh --db "$S/c1" check
if expect_rc 1 "an index entry without its record"; then
  expect_out "members" "an index entry without its record" &&
    expect_out "'town'" "an index entry without its record" &&
    expect_out "999" "an index entry without its record: the record's key" &&
    pass "check: an index entry pointing to a missing record is reported, exit 1"
fi

# 2. an index entry that does not match its record (record 2 is east, not west)
fresh_copy c2
printf ' \\02west\\00\n \\15\\80\\00\\00\\00\\00\\00\\00\\02\n' | lmdb_put "$S/c2" 'i:members:town'
gh --db "$S/c2" check
if expect_rc 1 "an index entry that does not match"; then
  expect_out "members" "a wrong index entry" && expect_out "'town'" "a wrong index entry" &&
    pass "check: an index entry that does not match its record is reported, exit 1"
fi

# 3. a record whose index entry is missing: rewrite record 3 (west) as east behind the index's back
fresh_copy c3
# (fields are stored key first, then by name: id, code, n, town)
printf ' \\15\\80\\00\\00\\00\\00\\00\\00\\03\n \\94\\03\\a2c3\\03\\a4east\n' | lmdb_put "$S/c3" 'c:members'
# the record bytes must match the layout the database uses; make sure they decode as intended
query "$S/c3" "print(db.members:get(3, 'town'))"
if ! grep -qx "east" "$S/out"; then
  # field order differs from the guess: write the record with gonghui's own layout instead
  mdb_dump -p -s 'c:members' "$DB" | sed -n '/^HEADER=END$/,$p' | sed -n '4,5p' >"$S/rec4.txt"
  echo "NOTE: record layout guess did not match; check 3 uses a copy of record 4" >&2
  fresh_copy c3
  { printf ' \\15\\80\\00\\00\\00\\00\\00\\00\\03\n'; sed -n '2p' "$S/rec4.txt"; } | lmdb_put "$S/c3" 'c:members'
fi
gh --db "$S/c3" check
if expect_rc 1 "a record changed behind the indexes' back"; then
  expect_out "members" "a record changed behind the indexes' back" &&
    expect_out "'town'" "a record changed behind the indexes' back" &&
    pass "check: a record missing from its index is reported, exit 1"
fi
# ... and the entries that still point to record 3 under its old value are reported too
# (one entry missing and one extra leave the index's entry count unchanged)
if grep -E "'town'" "$S/out" | grep -F '"west"' | grep -qE '(record|key) 3([^0-9]|$)'; then
  pass "check: the stale index entry of the changed record is reported"
else
  fail "check: the stale entry \"west\" -> 3 in index 'town' is not reported"
  show_output
fi

# 4. a unique index entry pointing elsewhere, in another collection too
fresh_copy c4
printf ' \\02c5\\00\n \\15\\80\\00\\00\\00\\00\\00\\00\\06\n' | lmdb_put "$S/c4" 'i:members:code'
printf ' \\15\\80\\00\\00\\00\\00\\00\\00\\07\n \\02nokey\\00\n' | lmdb_put "$S/c4" 'i:skeys:v'
gh --db "$S/c4" check
if expect_rc 1 "corrupt unique and string-key indexes"; then
  expect_out "'code'" "a corrupt unique index" && expect_out "skeys" "a corrupt index of skeys" &&
    expect_out "'v'" "a corrupt index of skeys" &&
    pass "check: every problem is reported (two collections)"
fi
problems=$(grep -c "" "$S/out")
[ "$problems" -ge 3 ] || fail "check reported $problems lines for at least 2 problems and a summary"

# 5. corrupt value bytes: a record that is not valid MessagePack
fresh_copy c5
printf ' \\15\\80\\00\\00\\00\\00\\00\\00\\05\n \\94\\05\\dd\\ff\\ff\\ff\\ff\n' | lmdb_put "$S/c5" 'c:members'
gh --db "$S/c5" check
if expect_rc 1 "corrupt value bytes"; then
  expect_out "members" "corrupt value bytes" && expect_out "5" "corrupt value bytes: the key" &&
    pass "check: a record whose bytes do not decode is reported, exit 1"
fi
# reading it gives an error naming the collection, never a crash
for expr in "db.members:get(5)" "db.members:get(5, 'town')" "db.members:list()" \
            "(function() for r in db.members:scan() do local _ = r.town end end)()" \
            "(function() for r in db.members:scan{ index = 'town', eq = 'west' } do local _ = r.code end end)()" \
            "db.members:count_by('n')" "db.members:find('code', 'c5')" "db.members:update(5, { n = 1 })" \
            "db.members:count{ n = 1 }"; do
  query "$S/c5" "local _ = $expr"
  if [ "$RC" -ne 1 ]; then
    fail "reading corrupt value bytes with $expr: exit code $RC, expected 1 (an error)"
    show_output
  elif ! grep -q "members" "$S/err" || ! grep -qi "corrupt" "$S/err"; then
    fail "reading corrupt value bytes with $expr: the error does not name the collection and say corrupt"
    show_output
  else
    pass "reading corrupt value bytes with $expr: a clear error"
  fi
done
# a record that is not even an array, and a truncated one
fresh_copy c6
printf ' \\15\\80\\00\\00\\00\\00\\00\\00\\05\n \\a3abc\n \\15\\80\\00\\00\\00\\00\\00\\00\\06\n \\94\\06\\06\\a9ab\n' |
  lmdb_put "$S/c6" 'c:members'
gh --db "$S/c6" check
expect_rc 1 "records that are not arrays or are cut short" && pass "check: records not arrays or cut short are reported"
for expr in "db.members:get(5)" "db.members:get(6)" "db.members:list()" "db.members:get(6, 'code')"; do
  query "$S/c6" "local _ = $expr"
  if [ "$RC" -ne 1 ]; then
    fail "reading a malformed record with $expr: exit code $RC, expected 1"
    show_output
  else
    pass "reading a malformed record with $expr: an error"
  fi
done

# the original is still clean (we only touched copies)
gh --db "$DB" check
expect_rc 0 "the original after the copies" && pass "check: the original is still clean"

# plain arguments (cli_plain, shared with events): too many, too few
gh --db "$DB" check extra
expect_rc 2 "check with an argument" && expect_err "gonghui check: one argument too many: extra" "check: too many" &&
  pass "check refuses an argument"
gh --db "$DB" backup "$S/b1" "$S/b2"
expect_rc 2 "backup with two" && expect_err "gonghui backup: one argument too many: $S/b2" "backup: too many" &&
  [ ! -e "$S/b1" ] && pass "backup refuses a second destination and writes nothing"
gh --db "$DB" events trim now
expect_rc 2 "events trim with an argument" && pass "events trim refuses an argument"

finish
