#!/bin/sh
# repl.sh BINARY SCRATCH — `gonghui repl` fed through a pipe: values and
# tables (Chinese columns aligned), masking, modes, `_`, continuation lines,
# syntax errors, refused writes, .once files.
. "$(dirname "$0")/lib.sh"
setup "$@"

DB=$S/db
lua make.lua <<'EOF2'
db.define('members', { key = 'member_id', fields = { member_id = 'int', name = 'string',
  id_number = 'string', phone = 'string?', town = 'string', category = 'string' },
  index = { 'category', 'town' }, unique = { 'id_number' } })
db.define('awards', { fields = { member_id = 'int', item = 'string', amount_fen = 'fen' } })
db.atomic(function()
  db.members:insert{ member_id = 1, name = '李娜', id_number = '330481199001011234', phone = '13812345678', town = '沈家门街道', category = 'courier' }
  db.members:insert{ member_id = 2, name = 'Wang Fang', id_number = '330481198502025678', town = '硖石街道', category = 'courier' }
  db.members:insert{ member_id = 3, name = '欧阳·明', id_number = '330481197003039999', phone = '13900001111', town = '沈家门街道', category = 'sanitation' }
  db.awards:insert{ member_id = 1, item = 'gift-package', amount_fen = 20000 }
  db.awards:insert{ member_id = 3, item = 'gift-package', amount_fen = 15000 }
end)
EOF2
gh --db "$DB" run "$S/make.lua"
expect_rc 0 "making the database" || finish


repl 'db.members:count()' '1 + 1, "两"'
expect_rc 0 "values" && same "$(printf '3\n2\t两')" "expressions print their values"

# a list of records: aligned columns (display width, not bytes), masked
repl "db.members:list{}"
expect_rc 0 "a list" && same "member_id  category    id_number           name       phone        town
---------  ----------  ------------------  ---------  -----------  ----------
        1  courier     330481********1234  李娜       138****5678  沈家门街道
        2  courier     330481********5678  Wang Fang               硖石街道
        3  sanitation  330481********9999  欧阳·明    139****1111  沈家门街道" "a table with Chinese columns aligned, ID numbers and phones masked"

repl '.mode box' "db.members:where{category='courier'}:pick('name','town')"
same "┌───────────┬────────────┐
│ name      │ town       │
├───────────┼────────────┤
│ 李娜      │ 沈家门街道 │
│ Wang Fang │ 硖石街道   │
└───────────┴────────────┘" ".mode box with Chinese text"

repl '.ambiguous wide' '.mode box' "db.members:where{member_id=3}:pick('name')"
same "+----------+
| name     |
+----------+
| 欧阳·明 |
+----------+" "ambiguous characters wide: ASCII borders, · takes two columns"

repl "db.members:where{category='courier'}:group('town'):count()" "db.awards:sum('amount_fen')"
same "town        count
----------  -----
沈家门街道      1
硖石街道        1
35000" "query helper: group and count, sum"

repl '.mode csv' "db.members:where{town='沈家门街道'}:pick('name','phone')"
same "name,phone
李娜,138****5678
欧阳·明,139****1111" ".mode csv"

repl '.mode json' "db.members:where{member_id=2}:pick('name','phone','member_id')"
same '[{"name":"Wang Fang","phone":null,"member_id":2}]' ".mode json"

repl '.mode jsonl' "db.members:where{member_id={1,2}}:pick('member_id')"
same '{"member_id":1}
{"member_id":2}' ".mode jsonl"

repl '.unmask' "db.members:list{}[1].phone" "db.members:where{member_id=1}:pick('id_number')"
same "13812345678
id_number
------------------
330481199001011234" ".unmask shows personal data"
gh --db "$DB" runs
expect_out "unmask" ".unmask is recorded in the run records"

repl 'x = 6 *' '7' 'x' '_ + 1' 'x;' '{ a = 1, list = { 1, 2, { deep = { deeper = { 1 } } } }, ["名"] = "值" }'
same '42
43
{ a = 1, list = { 1, 2, { deep = {...} } }, ["名"] = "值" }' "continuation lines, _, a trailing ; and nested values as Lua literals"

repl 'return 1 +* 2' 'db.members:count()'
expect_rc 1 "a syntax error fails the piped session"
expect_err "input:1: unexpected symbol near '*'" "a syntax error message"
expect_out "3" "the statements after an error still run"

repl "db.awards:insert{ member_id = 2, item = 'x', amount_fen = 1 }" 'db.awards:count()'
expect_err "the REPL is read-only" "writes are refused without .write on"
expect_out "2" "nothing was written"

repl '.write on' "db.awards:insert{ member_id = 2, item = 'x', amount_fen = 1 }" 'db.awards:count()'
expect_rc 0 ".write on"
expect_out "3" "with .write on the write is stored"

repl "db.awards:insert_select{ from = db.members, set = { item = 'y', amount_fen = 1 }, take = { member_id = 'member_id' } }" 'db.awards:count()'
expect_err "insert_select: the REPL is read-only" "insert_select is refused without .write on"
expect_out "3" "nothing was written by insert_select"

# a topic's field names (bus.fields, as program.define declares program.entry's):
# a read-only REPL cannot write the declaration and says false, with no error
# (program.open works there on a database that has none yet); with .write on, true
repl "print(bus.fields('repl.t', { 'member_id' }), bus.fields('repl.t'))"
expect_rc 0 "bus.fields in a read-only REPL" && expect_out "false	nil" "bus.fields in a read-only REPL" &&
  pass "a read-only REPL does not declare a topic's fields, and says so"
repl '.write on' "print(bus.fields('repl.t', { 'member_id' }), bus.fields('repl.t')[1])"
expect_rc 0 "bus.fields with .write on" && expect_out "true	member_id" "bus.fields with .write on" &&
  pass "with .write on it declares them"

repl '.once awards.csv' "db.awards:list{}" '.once awards.json' "db.awards:where{member_id=1}:pick('item')" '.once x.xlsx'
if [ -f "$S/awards.csv" ] && head -c 3 "$S/awards.csv" | od -An -tx1 | grep -q 'ef bb bf' && grep -q 'gift-package' "$S/awards.csv"; then
  pass ".once FILE.csv writes a CSV for Excel (BOM)"; else fail ".once FILE.csv"; fi
if grep -qF '[{"item":"gift-package"}]' "$S/awards.json" 2>/dev/null; then pass ".once FILE.json"; else fail ".once FILE.json"; fi
if [ ! -e "$S/x.xlsx" ]; then pass ".once FILE.xlsx with no result after it writes nothing"; else fail ".once x.xlsx wrote a file"; fi
if [ -s "$S/out" ]; then fail ".once output should not reach stdout"; show_output; else pass "nothing on stdout with .once"; fi

repl '.schema members' '.collections' '.bogus'
expect_out "id_number" ".schema lists fields"
expect_out "awards" ".collections lists collections"
expect_err "unknown command .bogus" "an unknown dot command"

repl 'nosuch.x'
expect_err "unknown global 'nosuch'" "an unknown global is an error that names it"

# the REPL's state is the runner's (issue 22: built once, from one table): export,
# params, run.fail and run.* are there too
repl "type(export) .. ' ' .. type(export.csv) .. ' ' .. type(params) .. ' ' .. type(run.fail) .. ' ' .. run.mode"
expect_out "table function table function repl" "the REPL has export, params, run.fail and run.mode"
repl "run.fail('no such household')" '1 + 1'
expect_err "no such household" "run.fail in the REPL reports its message"
expect_out "2" "the REPL goes on after run.fail"
(cd "$S" && printf '%s\n' "export.csv(db.members:list{}, 'exported.csv')" | "$BIN" --db "$DB" repl >"$S/out" 2>"$S/err")
if [ -s "$S/exported.csv" ]; then pass "export.csv from the REPL writes its file"; else fail "export.csv from the REPL"; show_output; fi

echo 'return db.members:count()' | "$BIN" --db "$DB" repl >"$S/out" 2>"$S/err"
RC=$?
expect_rc 0 "echo | gonghui repl" && same "3" "echo 'return ...' | gonghui repl works in scripts"

# --- Ctrl-C is the sandbox's (issue 22) ----------------------------------------------
# A statement that never ends is stopped by SIGINT (in a coroutine too) and the
# next line runs; SIGTERM stops it and ends the REPL. The input is a fifo, so the
# signal is sent once the loop has said it runs, never on a timer.
spin_repl() { # spin_repl SIGNAL STATEMENT -> $S/out, $S/err, RC
  rm -f "$S/in" && mkfifo "$S/in"
  "$BIN" --db "$DB" repl <"$S/in" >"$S/out" 2>"$S/err" &
  _p=$!
  track $_p
  exec 3>"$S/in"
  printf '%s\n' "$2" >&3
  _t=$(date +%s)
  while ! grep -q spinning "$S/out" && alive $_p && [ $(($(date +%s) - _t)) -lt 300 ]; do
    sleep 0.02
  done
  kill -"$1" $_p
  (printf 'return 40 + 2\n' >&3) 2>/dev/null
  exec 3>&-
  reap $_p
  RC=$?
}
spin_repl INT "print('spin' .. 'ning') io.stdout:flush() while true do end"
expect_err "interrupted" "Ctrl-C in a runaway statement" && expect_out "42" "the line after Ctrl-C" &&
  pass "Ctrl-C stops a runaway statement and the next line runs"
spin_repl INT "coroutine.wrap(function() print('spin' .. 'ning') io.stdout:flush() while true do end end)()"
expect_err "interrupted" "Ctrl-C in a coroutine" && expect_out "42" "the line after Ctrl-C in a coroutine" &&
  pass "Ctrl-C stops a runaway coroutine and the next line runs"
spin_repl TERM "print('spin' .. 'ning') io.stdout:flush() while true do end"
if [ "$RC" = 143 ] && ! grep -q 42 "$S/out"; then
  pass "SIGTERM stops the statement and ends the REPL"
else
  fail "SIGTERM in a runaway statement: exit $RC"
  show_output
fi

finish
