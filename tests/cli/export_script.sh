#!/bin/sh
# export_script.sh BINARY SCRATCH — `gonghui export SCRIPT.lua` (the rows a
# script returns: a scan, a list of tables, a collection; --fields, masking,
# --unmask in the run record, read-only) and export.csv() & co. inside
# `gonghui run` (only into the --out folder).
. "$(dirname "$0")/lib.sh"
setup "$@"

DB=$S/db
lua make.lua <<'EOF'
db.define('members', {
  key    = 'member_id',
  fields = { member_id = 'int', name = 'string', id_number = 'string?', phone = 'string?',
             dues = 'fen?', town = 'string?' },
  index  = { 'town' },
})
db.atomic(function()
  db.members:insert{ member_id = 1, name = '王芳', id_number = '330481199001011236',
                     phone = '13800001111', dues = 1250, town = '城关' }
  db.members:insert{ member_id = 2, name = '李娜', dues = -5, town = '新街' }
  db.members:insert{ member_id = 3, name = '=1+1', town = '城关' }
end)
EOF
gh --db "$DB" run "$S/make.lua"
expect_rc 0 "making the database" || finish

firstline() { head -1 "$1" | tr -d '\r' | sed 's/^\xef\xbb\xbf//'; }

# ---- a scan with a parameter: columns from the collection, masked --------------------------------
lua town.lua <<'EOF'
return db.members:scan{ town = params.town }
EOF
gh --db "$DB" export town.lua --out t.csv town=城关
expect_rc 0 "export SCRIPT.lua"
expect_out "2 rows of town.lua written to t.csv (CSV for Excel)" "the summary counts the rows"
expect_out "masked" "the summary says personal data is masked"
[ "$(firstline t.csv)" = "member_id,dues,id_number,name,phone,town" ] && pass "columns: the collection's fields in its order" || fail "header: $(firstline t.csv)"
has t.csv "330481********1236" "ID numbers masked"
has t.csv "138****1111" "phones masked"
hasnot t.csv "330481199001011236" "no whole ID number"
has t.csv "'=1+1" "formula guard"
hasnot t.csv "李娜" "params reach the script (only 城关)"
if head -c 3 t.csv | od -An -tx1 | grep -q "ef bb bf"; then pass "UTF-8 BOM"; else fail "no BOM"; fi

gh --db "$DB" export town.lua --out y.csv --fields name,dues --yuan town=新街
expect_rc 0 "--fields --yuan"
[ "$(firstline y.csv)" = "name,dues" ] && pass "--fields picks and orders" || fail "header: $(firstline y.csv)"
has y.csv "李娜,-0.05" "--yuan on a fen field of the rows' collection"

# ---- a list of tables: columns from the first row's keys, names as masked names --------------------
lua list.lua <<'EOF'
local out = {}
for m in db.members:scan{} do
  out[#out + 1] = { who = m.name, phone = m.phone, fee = m.dues, tags = { m.town } }
end
return out
EOF
gh --db "$DB" export list.lua --out l.jsonl
expect_rc 0 "a list of tables as JSON Lines"
has l.jsonl '{"fee":1250,"phone":"138****1111","tags":["城关"],"who":"王芳"}' "keys in byte order, phone masked by its name, tables as JSON"
has l.jsonl '{"fee":-5,"phone":null,"tags":["新街"],"who":"李娜"}' "absent values are null"
gh --db "$DB" export list.lua --out l.json --unmask
expect_rc 0 "--unmask"
has l.json '"phone":"13800001111"' "--unmask writes phones whole"
gh --db "$DB" runs
has "$S/out" "export --unmask" "the run record notes --unmask"
ID=$("$BIN" --db "$DB" runs | awk '$0 ~ /export --unmask/ {print $1}' | tail -1)
gh --db "$DB" runs show "$ID"
expect_out "'list.lua' '--out' 'l.json' '--unmask'" "runs show gives the export command"
if grep -qE "^replay: gonghui export --seed [0-9]+ --now [0-9]+ 'list.lua'" "$S/out"; then pass "with the run's seed and clock"; else fail "replay line: $(grep replay "$S/out")"; fi

# ---- the run's options: --seed and --now replay a script's random rows ----------------------------
lua rnd.lua <<'EOF'
local out = {}
for i = 1, 5 do out[i] = { i = i, n = math.random(1000000), day = os.date('%Y-%m-%d') } end
return out
EOF
gh --db "$DB" export rnd.lua --out r1.csv --seed 42 --now 2025-01-20
expect_rc 0 "--seed and --now"
has r1.csv "2025-01-20,1," "the script saw --now"
gh --db "$DB" export rnd.lua --out r2.csv --seed 42 --now 2025-01-20
cmp -s r1.csv r2.csv && pass "the same seed gives the same rows" || fail "--seed did not replay"
gh --db "$DB" export rnd.lua --out r3.csv --timeout 1ms-bad
expect_rc 2 "a bad --timeout is a usage error"
gh --db "$DB" export members --out r3.csv --seed 1
expect_rc 2 "run options only go with a script"
lua slow.lua <<'EOF'
while true do end
EOF
gh --db "$DB" export slow.lua --out s.csv --timeout 200ms
expect_rc 124 "--timeout stops a script that never returns"
[ ! -e s.csv ] && pass "and nothing is written" || fail "s.csv written"

# ---- a collection itself, TSV -------------------------------------------------------------------
lua all.lua <<'EOF'
return db.members
EOF
gh --db "$DB" export all.lua --out a.tsv
expect_rc 0 "a collection as TSV"
[ "$(grep -c . a.tsv)" = 4 ] && pass "a header and 3 rows" || fail "a.tsv has $(grep -c . a.tsv) lines"

# ---- errors: nothing written ----------------------------------------------------------------------
lua writes.lua <<'EOF'
db.members:insert{ member_id = 9, name = 'x' }
return {}
EOF
gh --db "$DB" export writes.lua --out w.csv
expect_rc 1 "a script that writes fails"
expect_err "insert: gonghui export runs the script read-only" "the refused write is named"
[ ! -e w.csv ] && pass "no file" || fail "a file was written"
gh --db "$DB" run -e 'assert(db.members:get(9) == nil)'
expect_rc 0 "nothing was stored"
lua pub.lua <<'EOF'
bus.publish('x.y', {})
EOF
gh --db "$DB" export pub.lua --out w.csv
expect_rc 1 "bus.publish is refused"
expect_err "bus.publish: gonghui export runs the script read-only" "bus.publish named"
lua sel.lua <<'EOF'
db.members:insert_select{ from = db.members, take = { member_id = 'member_id' } }
EOF
gh --db "$DB" export sel.lua --out w.csv
expect_rc 1 "insert_select is refused"
expect_err "insert_select: gonghui export runs the script read-only" "insert_select named"
lua cons.lua <<'EOF'
bus.consumer('c', 'a.*', function() end)
EOF
gh --db "$DB" export cons.lua --out w.csv
expect_rc 1 "bus.consumer is refused"
expect_err "bus.consumer: gonghui export runs the script read-only" "bus.consumer named"
lua none.lua <<'EOF'
local x = 1
EOF
gh --db "$DB" export none.lua --out w.csv
expect_rc 1 "a script that returns nothing"
expect_err "the script returned nothing" "says what is missing"
lua bad.lua <<'EOF'
return { { a = 1 }, 42 }
EOF
printf 'old\n' > keep.csv
gh --db "$DB" export bad.lua --out keep.csv
expect_rc 1 "a bad row"
expect_err "row 2 is number, not a table" "names the row"
[ "$(cat keep.csv)" = old ] && pass "the old file is left as it was" || fail "keep.csv changed"
[ ! -e keep.csv.tmp ] && pass "no .tmp left" || fail "keep.csv.tmp left"
lua iterr.lua <<'EOF'
local i = 0
return function() i = i + 1; if i == 3 then error('boom in the iterator') end; return { n = i } end
EOF
gh --db "$DB" export iterr.lua --out keep.csv
expect_rc 1 "an iterator that fails"
expect_err "iterr.lua:2: boom in the iterator" "the script's error with its line"
[ "$(cat keep.csv)" = old ] && [ ! -e keep.csv.tmp ] && pass "nothing written" || fail "keep.csv touched"
gh --db "$DB" export town.lua --out k.csv bad-param
expect_rc 2 "a parameter that is not name=value"
gh --db "$DB" export list.lua --out m.csv --fields who,nope
expect_rc 0 "an unknown column of plain tables is empty"

# ---- export.csv() and friends inside gonghui run --------------------------------------------------
mkdir -p outdir/sub
lua inrun.lua <<'EOF'
local n, path = export.csv(db.members, 'members.csv', { fields = { 'member_id', 'name', 'phone' } })
assert(n == 3, n)
assert(path:match('/outdir/members%.csv$'), path)
assert(export.jsonl(db.members:scan{ town = '城关' }, 'sub/t.jsonl', { unmask = true }) == 2)
assert(export.json({}, 'empty.json', { fields = 'a,b' }) == 0)
for _, bad in ipairs{ '../x.csv', '/tmp/x.csv', 'sub/../../x.csv', '', 'sub/', 'nodir/x.csv' } do
  local ok, err = pcall(export.csv, {}, bad)
  assert(not ok, bad)
  io.stderr:write('refused ', bad, ': ', err, '\n')
end
local ok, err = pcall(export.csv, {}, 'x.csv', { colour = 'red' })
assert(not ok and err:find("unknown option 'colour'"), err)
print('done')
EOF
gh --db "$DB" run --out outdir inrun.lua
expect_rc 0 "export.* inside a run"
expect_out "done" "the script ran to the end"
has outdir/members.csv "138****1111" "export.csv masks"
has outdir/sub/t.jsonl '"phone":"13800001111"' "unmask = true in a subfolder"
has outdir/empty.json "[" "an empty list is an empty JSON array"
expect_err "refused ../x.csv: export.csv('../x.csv'): give a file name inside the output folder" "'..' refused"
expect_err "refused /tmp/x.csv" "absolute path refused"
expect_err "refused nodir/x.csv: export.csv('nodir/x.csv'): the folder" "a missing folder is named"
[ ! -e x.csv ] && [ ! -e /tmp/x.csv.tmp ] && pass "nothing outside" || fail "a file was written outside"
ln -s /tmp outdir/escape
lua link.lua <<'EOF'
local ok, err = pcall(export.csv, {}, 'escape/gh_io7_x.csv')
assert(not ok and err:find('leads outside'), err)
EOF
gh --db "$DB" run --out outdir link.lua
expect_rc 0 "a link out of the folder is refused"
[ ! -e /tmp/gh_io7_x.csv ] && pass "nothing written through the link" || fail "written through a link"

# ---- xlsx: export SCRIPT.lua and export.xlsx(), read back by import ----------------------------------
gh --db "$DB" export all.lua --out all.xlsx --unmask
if [ $RC -ne 0 ] && grep -qi "plugin" "$S/err"; then
  echo "skip: the xlsx plugin is not built ($(head -1 "$S/err"))" >&2
else
  expect_rc 0 "export SCRIPT.lua --out FILE.xlsx"
  lua xl.lua <<'EOF'
assert(export.xlsx(db.members:scan{ town = '城关' }, 'town.xlsx', { unmask = true }) == 2)
EOF
  gh --db "$DB" run --out "$S/outdir" xl.lua
  expect_rc 0 "export.xlsx() in a run"
  for f in all.xlsx outdir/town.xlsx; do
    rm -rf "$S/back"
    gh --db "$S/back" --new-db run "$S/make.lua" # the same collection, then emptied
    gh --db "$S/back" run -e 'for m in db.members:scan{} do db.members:delete(m.member_id) end'
    # (money is a number cell in yuan in a workbook: --yuan reads it back)
    gh --db "$S/back" import members "$f" --yuan
    expect_rc 0 "import $f"
    gh --db "$S/back" export members --out back.csv --unmask
    gh --db "$DB" export town.lua --out want.csv --unmask $([ "$f" = all.xlsx ] || echo town=城关)
    [ "$f" = all.xlsx ] && gh --db "$DB" export all.lua --out want.csv --unmask
    cmp -s want.csv back.csv && pass "$f -> import -> CSV equals the rows exported" \
      || { fail "$f round trip differs"; diff want.csv back.csv | head >&2; }
  done
fi

# a script's unmasked export is named in its run record (masked ones are not)
rm -rf "$S/um" && mkdir -p "$S/um"
(cd "$S/um" && "$BIN" --db "$S/um/db" run -e "
db.define('m', { fields = { id = 'int', phone = 'string' }, key = 'id' })
db.m:insert{ id = 1, phone = '13800001111' }
export.csv(db.m, 'open.csv', { unmask = true })
export.csv(db.m, 'masked.csv')") >"$S/out" 2>"$S/err"
RC=$?
gh --db "$S/um/db" runs show 1
expect_rc 0 "unmask record" && expect_out "summary    personal data unmasked in: $S/um/open.csv" "unmask record" &&
  if grep "summary" "$S/out" | grep -q "masked.csv"; then fail "a masked export is named as unmasked"; else
    pass "export.*{unmask = true} is recorded in the run record, with the file"; fi

finish
