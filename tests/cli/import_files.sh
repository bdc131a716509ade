#!/bin/sh
# import_files.sh BINARY SCRATCH — files as Excel users make them, and what
# comes back: UTF-16 "Unicode text" (TSV), old Mac CR-only line ends, Excel's
# trailing empty cells, column labels in the collection definition (Chinese
# headers in, --headers labels out), and round trips CSV -> store -> CSV that
# give the same bytes (UTF-8 as Excel saves it, and GB18030 read back as
# UTF-8 with the same Chinese header).
. "$(dirname "$0")/lib.sh"
setup "$@"

crlf() { sed 's/$/\r/'; }   # LF lines -> CRLF lines

lua define.lua <<'EOF'
db.define('members', {
  key    = 'member_id',
  fields = { member_id = { type = 'int', label = '会员编号' },
             name      = { type = 'string', label = '姓名' },
             idno      = { type = 'string?', label = '身份证号码' },
             mobile_no = { type = 'string?', label = '手机' },
             town      = { type = 'string?', label = '所在镇街' },
             dues      = { type = 'fen?', label = '会费' },
             note      = 'string?' },
  unique = { 'idno' },
})
EOF
ID1=330481199001011236
ID2=33021219700615441X

# ---- labels in the definition ----------------------------------------------------------------
newdb "$S/d1"
gh --db "$S/d1" run -e "local s = db.members:schema(); print(s.labels.name, s.labels.town, s.labels.note, s.fields.idno)"
expect_out "姓名	所在镇街	nil	string?" "schema() shows the labels; 'string?' works in the table form"
gh --db "$S/d1" run "$S/define.lua"
expect_rc 0 "defining again with the same labels"
lua relabel.lua <<'EOF'
db.define('members', {
  key    = 'member_id',
  fields = { member_id = 'int', name = { type = 'string', label = '名字' }, idno = 'string?',
             mobile_no = 'string?', town = 'string?', dues = 'fen?', note = 'string?' },
  unique = { 'idno' },
})
print(db.members:schema().labels.name, db.members:schema().labels.town)
EOF
gh --db "$S/d1" run "$S/relabel.lua"
expect_rc 0 "labels can change"
expect_out "名字	nil" "the new labels replace the old"
gh --db "$S/d1" run "$S/define.lua"
lua badlabel.lua <<'EOF'
db.define('x', { key = 'a', fields = { a = { type = 'int', label = 'b' }, b = 'int?' } })
EOF
gh --db "$S/d1" run "$S/badlabel.lua"
expect_rc 1 "a label that is another field's name"
expect_err "the label \"b\" of field 'a' is also the name or label of field 'b'" "is refused, naming both"
lua badlabel2.lua <<'EOF'
db.define('x', { key = 'a', fields = { a = { type = 'int', label = '名' }, b = { type = 'int?', label = '名' } } })
EOF
gh --db "$S/d1" run "$S/badlabel2.lua"
expect_rc 1 "two fields with one label"
expect_err "a column header must name one field" "is refused"

# ---- a file with the labels as headers; ID checks and masking follow the label -----------------------
printf '会员编号,姓名,身份证号码,手机,所在镇街,会费,note\n1,王芳,%s,13800001111,城关,1250,\n2,李娜,3.30212E+17,,新街,,\n' "$ID1" > lab.csv
gh --db "$S/d1" import members lab.csv
expect_rc 3 "headers by label"
expect_err "身份证号码: Excel turned the ID number into a number" "a field labelled 身份证号码 is checked as an ID number"
gh --db "$S/d1" export members --out lab-out.csv --headers labels
expect_rc 0 "export --headers labels"
has lab-out.csv "会员编号,会费,身份证号码,手机,姓名,note,所在镇街" "the header row uses the labels (fields without one keep their name)"
has lab-out.csv "330481********1236" "an ID field known by its label is masked"
has lab-out.csv "138****1111" "a phone field known by its label is masked"
gh --db "$S/d1" export members --out bad.csv --headers chinese
expect_rc 2 "--headers with an unknown value"

# ---- round trip, UTF-8 as Excel saves it: the same bytes back --------------------------------------
newdb "$S/d2"
{ printf '\357\273\277'; crlf <<EOF
会员编号,会费,身份证号码,手机,姓名,note,所在镇街
1,1250,$ID1,13800001111,王芳,"say ""hi""",城关
2,-5,$ID2,,"李,娜","two
lines",新街
3,,,,'=1+1,"a, b",
EOF
} > excel.csv
gh --db "$S/d2" import members excel.csv
expect_rc 0 "an Excel CSV (BOM, CRLF, quotes, a quoted line break, a guarded formula)"
gh --db "$S/d2" export members --out excel-back.csv --headers labels --unmask
expect_rc 0 "exported back"
# the same bytes, but the all-digit ID number: export guards it as ="..."
# so that a spreadsheet opening the file keeps its 18 digits
sed "s/,$ID1,/,=\"$ID1\",/" excel.csv > excel-guarded.csv
cmp -s excel-guarded.csv excel-back.csv && pass "CSV -> store -> CSV gives the same bytes (the ID number guarded)" \
  || { fail "the round trip differs"; diff excel-guarded.csv excel-back.csv | head >&2; }
newdb "$S/d2b"
gh --db "$S/d2b" import members excel-back.csv
expect_rc 0 "the export imported again"
gh --db "$S/d2b" export members --out excel-back2.csv --headers labels --unmask
cmp -s excel-back.csv excel-back2.csv && pass "export -> import -> export gives the same bytes" \
  || { fail "export -> import -> export differs"; diff excel-back.csv excel-back2.csv | head >&2; }

# ---- GB18030 with Chinese headers: back as UTF-8 with the same text ---------------------------------
newdb "$S/d3"
printf '会员编号,姓名,所在镇街,note\n1,王芳,硖石街道,甲\n2,李娜,海洲街道,\n' > gb-utf8.csv
iconv -f UTF-8 -t GB18030 gb-utf8.csv > gb.csv
gh --db "$S/d3" import members gb.csv
expect_rc 0 "a GB18030 file with Chinese headers"
expect_err "read as GB18030" "the notice"
gh --db "$S/d3" export members --out gb-back.csv --headers labels --fields member_id,name,town,note
expect_rc 0 "exported with the same columns"
{ printf '\357\273\277'; crlf < gb-utf8.csv; } > gb-expected.csv
cmp -s gb-expected.csv gb-back.csv && pass "GB18030 CSV -> store -> CSV: the same text, now UTF-8 for Excel" \
  || { fail "GB18030 round trip differs"; od -c gb-back.csv | head >&2; }

# ---- UTF-16 "Unicode text" (Excel's tab-separated Unicode export) ------------------------------------
newdb "$S/d4"
printf '会员编号\t姓名\t所在镇街\r\n7\t赵六\t城关\r\n8\t"钱\t七"\t\r\n' | iconv -f UTF-8 -t UTF-16LE > u16.body
{ printf '\377\376'; cat u16.body; } > u16.txt
gh --db "$S/d4" import members u16.txt
expect_rc 0 "a UTF-16LE file with a byte order mark, tab-separated (.txt)"
expect_out "UTF-16LE" "the summary names the encoding"
gh --db "$S/d4" run -e "print(db.members:get(7).name, db.members:get(8).name, db.members:get(8).town)"
expect_out "赵六	钱	七	nil" "cells come through, a quoted tab too"

# ---- CR-only line ends (old Mac Excel), trailing empty cells, blank lines ------------------------------
newdb "$S/d5"
printf 'member_id,name,town\r1,甲,A\r\r2,乙,B,,,\r,,\r3,丙\r' > cr.csv
gh --db "$S/d5" import members cr.csv
expect_rc 0 "CR-only lines, Excel's trailing empty cells, blank and empty rows, a short row"
gh --db "$S/d5" run -e "print(db.members:count(), db.members:get(2).town, db.members:get(3).town)"
expect_out "3	B	nil" "three records, the right cells"

# ---- duplicate IDs within the file and against the store, by label ------------------------------------
newdb "$S/d6"
printf '会员编号,姓名,身份证号码\n1,甲,%s\n' "$ID1" > one.csv
gh --db "$S/d6" import members one.csv
printf '会员编号,姓名,身份证号码\n2,乙,%s\n3,丙,%s\n4,丁,%s\n' "$ID1" "$ID2" "$ID2" > dups.csv
gh --db "$S/d6" import members dups.csv
expect_rc 3 "duplicate ID numbers"
has dups.csv.rejects.csv "that record is already in the database" "against the store"
has dups.csv.rejects.csv "that record comes from line 3 of this file" "within the file: the earlier row named"
gh --db "$S/d6" run -e "print(db.members:count())"
expect_out "2" "the first of each stored, the rest rejected"

# ---- export SCRIPT.lua with labels -------------------------------------------------------------------
lua q.lua <<'EOF'
return db.members:scan{}
EOF
gh --db "$S/d6" export q.lua --out q.csv --headers labels --fields member_id,name,idno
expect_rc 0 "export SCRIPT.lua --headers labels"
has q.csv "会员编号,姓名,身份证号码" "labels of the rows' collection"
has q.csv "330481********1236" "masked by the label"
# ---- change events: a collection defined with events = true ------------------------------------------
lua evdef.lua <<'EOF'
db.define('ev', { key = 'id', fields = { id = 'int', name = 'string', town = 'string?' },
                  extra = true, events = true })
bus.consumer('counter', 'ev.*', function(e)
  db.atomic(function() end)
end)
EOF
gh --db "$S/d7" run "$S/evdef.lua"
expect_rc 0 "a collection with events"
printf 'id,name,town,hobby\n1,甲,城关,chess\n2,乙,,\n' > ev1.csv
gh --db "$S/d7" import ev ev1.csv
expect_rc 0 "import into it"
no_err "does not publish" "no notice that events are missing"
printf 'id,name\n2,乙二\n3,丙\n' > ev2.csv
gh --db "$S/d7" import ev ev2.csv --mode upsert
expect_rc 0 "an upsert"
gh --db "$S/d7" events tail --json
expect_out '"topic":"ev.inserted","payload":{"new":{"id":1,"name":"甲","town":"城关","hobby":"chess"}}' "ev.inserted with the record as db.insert publishes it (extra fields too)"
expect_out '"topic":"ev.updated","payload":{"old":{"id":2,"name":"乙"},"new":{"id":2,"name":"乙二"}}' "ev.updated with old and new for a replaced record"
[ "$(grep -c '"topic":"ev\.' "$S/out")" = 4 ] && pass "one event per stored row" || fail "events: $(cat "$S/out")"
gh --db "$S/d7" events consumers
expect_out "4" "the durable consumer has them to handle"
ID=$("$BIN" --db "$S/d7" runs | awk '$NF == "ev2.csv" {print $1}')
gh --db "$S/d7" runs show "$ID"
expect_out "events     {ev.inserted = 1, ev.updated = 1}" "the run record counts the events per topic"
expect_out "writes     {ev = {inserted = 1, updated = 1, deleted = 0}}" "and the writes (not the log's)"
expect_out "summary    2 rows of ev2.csv read (UTF-8): 2 stored, 0 rejected; 0 blank skipped" "and what was read, stored and rejected"
printf 'id,name\n9,x\n9,y\n' > ev3.csv
gh --db "$S/d7" import ev ev3.csv --strict
expect_rc 3 "a --strict import with a bad row"
gh --db "$S/d7" events tail --json
[ "$(grep -c '"topic":"ev\.' "$S/out")" = 4 ] && pass "publishes nothing when nothing is stored" || fail "events after --strict: $(cat "$S/out")"
finish
