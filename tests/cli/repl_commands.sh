#!/bin/sh
# repl_commands.sh BINARY SCRATCH — the REPL through a pipe (issue 21):
# locals that live on to the next line, group() by several fields, explain,
# .headers, .output, .import, .dump (and .read of a dump into a new
# database), and a read-only REPL that lets through a db.define that
# changes nothing.
. "$(dirname "$0")/lib.sh"
setup "$@"

DB=$S/db
lua make.lua <<'EOF2'
db.define('members', { key = 'member_id', fields = { member_id = 'int', name = 'string',
  phone = 'string?', town = 'string', status = 'string' },
  index = { { 'town', 'status' } } })
db.atomic(function()
  local towns, st = { '许村镇', '长安镇' }, { 'active', 'retired' }
  for i = 1, 40 do
    db.members:insert{ member_id = i, name = '会员' .. i, town = towns[i % 2 + 1],
                       status = st[(i // 2) % 2 + 1], phone = i == 1 and '13812345678' or nil }
  end
  db.members:insert{ member_id = 101, name = '离会甲', town = '许村镇', status = 'left' }
  db.members:insert{ member_id = 102, name = '离会乙', town = '许村镇', status = 'left' }
end)
EOF2
gh --db "$DB" run "$S/make.lua"
expect_rc 0 "making the database" || finish


# --- locals live on --------------------------------------------------------------------
repl 'local n = db.members:count()' 'n + 1' 'local a, b <const> = 1, 2' 'a + b' \
     'local function twice(x) return 2 * x end' 'twice(n)' 'local db = 7' 'db' \
     'do local inner = 5 end' 'inner'
same "$(printf '43\n3\n84\n7')" "a local typed at the prompt is there on the next line"
expect_err "input:1: unknown global 'inner'" "a local inside a block stays in its block" &&
  pass "a local inside a block stays there"

# --- group by two fields -----------------------------------------------------------------
repl ".mode csv" "db.members:group('town', 'status'):order('town'):order('status'):count()"
expect_rc 0 "group by two fields" &&
  same "$(printf 'town,status,count\n许村镇,active,10\n许村镇,left,2\n许村镇,retired,10\n长安镇,active,10\n长安镇,retired,10')" \
    "group('town', 'status') counts each combination"

# --- explain -----------------------------------------------------------------------------
repl "db.members:explain{ town = '许村镇', status = 'left' }.index" \
     "db.members:where{ town = '许村镇', status = 'left' }:explain().how" \
     "db.members:explain{ name = '会员3' }.how"
same "$(printf 'town,status\nindex\nkey order')" "explain names the index a query uses, or key order"

# --- .headers and .output -------------------------------------------------------------------
repl ".mode csv" ".headers off" "db.members:where{ member_id = { 1, 2 } }:pick('member_id', 'town'):list()" \
     ".headers on" "db.members:where{ member_id = 3 }:pick('member_id'):list()"
same "$(printf '1,长安镇\n2,许村镇\nmember_id\n3')" ".headers off leaves the header row out, on brings it back"
repl ".output $S/o.txt" "print('to the file')" "db.members:count()" ".output" "'to the terminal'"
same "to the terminal" ".output sends results elsewhere until .output alone"
printf 'to the file\n42\n' >"$S/want"
cmp -s "$S/want" "$S/o.txt" && pass ".output FILE gets results and print" || {
  fail ".output FILE"
  diff "$S/want" "$S/o.txt" >&2
}

# --- .import ----------------------------------------------------------------------------------
printf 'member_id,name,town,status\n41,新人,许村镇,active\n42,另一,长安镇,active\n' >"$S/new.csv"
repl ".import $S/new.csv members"
expect_err "read-only" ".import in a read-only REPL is refused" && pass ".import needs writes on"
repl ".write on" ".import $S/new.csv members" "db.members:count()"
expect_out "44" ".import stores the rows" && expect_out "2 inserted" "and prints import's summary" &&
  pass ".import FILE COLLECTION imports as gonghui import does"

# --- .dump, and .read of it into another database --------------------------------------------------
repl ".unmask" ".output $S/dump.lua" ".dump members" ".output"
head -2 "$S/dump.lua" | grep -q "db.define(\"members\"" && pass ".dump starts with the definition" ||
  fail ".dump: $(head -3 "$S/dump.lua")"
grep -q '13812345678' "$S/dump.lua" && pass ".dump after .unmask keeps personal data" || fail ".dump masked after .unmask"
gh --db "$S/db2" run -e ""
printf '.write on\n.read %s\ndb.members:count()\ndb.members:get(1).phone == "13812345678"\n' "$S/dump.lua" |
  "$BIN" --db "$S/db2" repl >"$S/out" 2>"$S/err"
same "$(printf '44\ntrue')" ".read of a dump makes the same records in a new database"

# --- a read-only REPL lets through a define that changes nothing -----------------------------------
cat >"$S/mod.lua" <<'LUA'
db.define('members', { key = 'member_id', fields = { member_id = 'int', name = 'string',
  phone = 'string?', town = 'string', status = 'string' },
  index = { { 'town', 'status' } } })
return 'loaded'
LUA
repl "dofile('$S/mod.lua')"
expect_rc 0 "a module defining its collection, in a read-only REPL" && same "loaded" "the define that changes nothing passes"
repl "db.define('other', { key = 'id', fields = { id = 'int' } })"
expect_err "the REPL is read-only and this definition would change" "a define that would change something is refused" &&
  pass "a define that would change something is still refused"
finish
