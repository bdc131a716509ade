#!/bin/sh
# stat.sh BINARY SCRATCH — `gonghui stat`: lists collections with their
# record counts and their indexes (with entry counts), and sizes; refuses
# what is not a database.
. "$(dirname "$0")/lib.sh"
setup "$@"

DB=$S/db
lua make.lua <<'EOF'
db.define('members', { key = 'member_id', fields = { member_id = 'int', town = 'string', retire = 'date?',
                                                     id_number = 'string' },
                       index = { 'town', { 'town', 'retire' } }, unique = { 'id_number' } })
db.define('awards', { fields = { member_id = 'int', item = 'string' }, index = { 'member_id' } })
db.define('nothing_yet', { key = 'code', fields = { code = 'string' } })
db.atomic(function()
  for i = 1, 321 do
    db.members:insert{ member_id = i, town = 't' .. (i % 5), id_number = 'id' .. i,
                       retire = i % 3 == 0 and '2024-01-01' or nil }
  end
  for i = 1, 45 do db.awards:insert{ member_id = i, item = 'gift' } end
end)
EOF
gh --db "$DB" run "$S/make.lua"
expect_rc 0 "making the database" || finish

gh --db "$DB" stat
if expect_rc 0 "stat"; then
  # a line per collection with its count, and a line per index with its entries
  line_has() { # PATTERN WHAT
    if grep -qE -- "$1" "$S/out"; then pass "stat: $2"; else fail "stat: $2 (no line matching /$1/)"; show_output; fi
  }
  line_has '^members[[:space:]]+321([^0-9]|$)' "members with 321 records"
  line_has '^awards[[:space:]]+45([^0-9]|$)' "awards with 45 records"
  line_has '^nothing_yet[[:space:]]+0([^0-9]|$)' "an empty collection with 0 records"
  line_has '^[[:space:]]+town[[:space:]]+321([^0-9]|$)' "index town with 321 entries"
  line_has '^[[:space:]]+town,retire[[:space:]]+107([^0-9]|$)' "compound index town,retire: only records with a value (107)"
  line_has '^[[:space:]]+id_number[[:space:]]+321([^0-9]|$).*unique' "unique index id_number"
  line_has '^[[:space:]]+member_id[[:space:]]+45([^0-9]|$)' "index member_id of awards"
  line_has 'key member_id' "the key of members"
  line_has 'key id.*auto' "the automatic key of awards"
  line_has '[0-9.]+ (B|KB|MB|GB)' "sizes"
  line_has 'format 1' "the format"
fi

# stat after changes: counts follow
lua change.lua <<'EOF'
db.atomic(function()
  for i = 1, 21 do db.members:delete(i) end
  db.define('members', { key = 'member_id', fields = { member_id = 'int', town = 'string', retire = 'date?',
                                                       id_number = 'string' },
                         index = { 'retire' }, unique = { 'id_number' } })
end)
db.drop('nothing_yet')
EOF
gh --db "$DB" run "$S/change.lua"
expect_rc 0 "changing the database"
gh --db "$DB" stat
if expect_rc 0 "stat after changes"; then
  if grep -qE '^members[[:space:]]+300([^0-9]|$)' "$S/out"; then pass "stat: counts follow deletes"; else fail "stat: members should have 300 records"; show_output; fi
  if grep -qE '^[[:space:]]+retire[[:space:]]+100([^0-9]|$)' "$S/out"; then pass "stat: a new index is listed"; else fail "stat: index retire with 100 entries"; show_output; fi
  if grep -qE '^[[:space:]]+town' "$S/out"; then fail "stat: dropped index town is still listed"; show_output; else pass "stat: dropped indexes are gone"; fi
  if grep -q 'nothing_yet' "$S/out"; then fail "stat: a dropped collection is still listed"; show_output; else pass "stat: dropped collections are gone"; fi
fi

# stat never creates or accepts what is not a database
gh --db "$S/none" stat
if [ "$RC" -eq 0 ]; then fail "stat on a missing path exits 0"; else pass "stat: a missing path is an error"; fi
[ -e "$S/none" ] && fail "stat created $S/none"
mkdir "$S/emptydir"
gh --db "$S/emptydir" stat
if [ "$RC" -eq 0 ]; then fail "stat on an empty directory exits 0"; else pass "stat: an empty directory is an error"; fi
[ -e "$S/emptydir/data.mdb" ] && fail "stat made a database in an empty directory"

finish
