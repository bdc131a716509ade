#!/bin/sh
# harden_text.sh — issue 16, class 11: text that is not UTF-8 and NaN or
# infinite numbers are refused when they are stored, by every way in (a
# script's insert, update and put, db.define's names, import of CSV and
# JSON Lines), naming the collection, the field's label, the value, the line
# and what to do, storing nothing; and no export (CSV, TSV, JSON, JSON
# Lines, xlsx; gonghui export and a script's export.*) ever writes them,
# even from records stored before: such a value is written cleaned (U+FFFD,
# an empty cell / null) and named on stderr.
. "$(dirname "$0")/lib.sh"
setup "$@"

gh --db db run -e 'db.define("p", { key = "id", fields = { id = "int", name = { type = "string", label = "姓名" },
  x = "number?", a = "any?" }, extra = true })
db.p:insert{ id = 1, name = "fine", x = 1.5 }'
expect_rc 0 "define" || finish

# ---- scripts: insert, put, update, a nested any value, an unknown field, define ----
for v in '"a\255b"' '"\192\128"' '"\237\160\128"' '"中文\228\184"'; do
  gh --db db run -e "db.p:insert{ id = 2, name = $v }"
  expect_rc 1 "insert name = $v" && expect_err "collection 'p': field '姓名' holds bytes that are not UTF-8 text" \
    "insert $v: collection, label" && expect_err '\x' "the bad byte shown as \\xNN" &&
    expect_err "give text as UTF-8" "what to do" && expect_err "(command line):1:" "the script's line" &&
    pass "insert of name = $v is refused"
done
for v in '0/0' '1/0' '-1/0' 'math.huge'; do
  gh --db db run -e "db.p:put{ id = 2, name = 'n', x = $v }"
  expect_rc 1 "put x = $v" && expect_err_re "field 'x' is (NaN|inf|-inf), which is not a number a CSV, JSON or Excel file can hold" \
    "put x = $v: named" && expect_err "leave the field out" "what to do" && pass "put of x = $v is refused"
done
gh --db db run -e 'db.p:update(1, { name = "x\255" })'
expect_rc 1 "update" && expect_err "field '姓名' holds bytes" "update: named" && pass "an update to bad text is refused"
gh --db db run -e 'db.p:insert{ id = 3, name = "n", a = { list = { 1, { deep = "\255" } } } }'
expect_rc 1 "any" && expect_err "field 'a' holds bytes" "a string deep in an any field" && pass "bad text inside an any value is refused"
gh --db db run -e 'db.p:insert{ id = 3, name = "n", a = { 1, 2, 0/0 } }'
expect_rc 1 "any NaN" && expect_err "field 'a' is NaN" "NaN inside an any value" && pass "NaN inside an any value is refused"
gh --db db run -e 'db.p:insert{ id = 3, name = "n", remark = "\255" }'
expect_rc 1 "extra" && expect_err "field 'remark' holds bytes" "an unknown field, by its name" && pass "bad text in an unknown field is refused by its name"
gh --db db run -e 'db.define("q", { key = "id", fields = { id = "int", ["n\255"] = "string" } })'
expect_rc 1 "a field name" && expect_err 'field name "n\xFF" holds bytes that are not UTF-8' "named" && pass "a field name that is not UTF-8 is refused"
gh --db db run -e 'db.define("q", { key = "id", fields = { id = "int", n = { type = "string", label = "名\255" } } })'
expect_rc 1 "a label" && expect_err "label" "named" && pass "a label that is not UTF-8 is refused"
gh --db db run -e 'print(db.p:count(), db.p:get(1).name, db.collections and #db.collections())'
expect_out "1	fine" "nothing of the refused writes is stored" && pass "the refusals stored nothing"

gh --db db run -e 'print("ran")' "who=$(printf 'a\377b')"
expect_rc 2 "a parameter that is not UTF-8" && expect_err 'the parameter "who=a\xFFb" holds bytes that are not UTF-8 text' "named" &&
  no_err "ran" "nothing ran" && pass "a run parameter that is not UTF-8 is refused before the run"

# ---- import: CSV (UTF-8 said, or detected), JSON Lines ------------------------------------
printf 'id,姓名,x\n5,ok,1\n6,a\377b,2\n' >bad.csv
gh --db db import p bad.csv --encoding utf8
expect_rc 1 "CSV --encoding utf8" && expect_err "bad.csv: line 3: bytes that are not valid UTF-8" "the line" &&
  expect_err "give --encoding gb18030" "what to do" && pass "a CSV said to be UTF-8 with other bytes is refused naming the line"
printf 'id,name,x\n5,ok,1\n6,a\377b,2\n' >bad2.csv
gh --db db import p bad2.csv
expect_rc 1 "CSV neither UTF-8 nor GB18030" && expect_err "bad2.csv: line 3: bytes that are not valid GB18030" "the line" &&
  pass "a CSV in no encoding is refused naming the line"
printf 'id,姓名,x\n7,ok,nan\n8,ok,inf\n9,ok,-1e999\n10,ok,2.5\n' >nan.csv
gh --db db import p nan.csv
expect_rc 3 "CSV NaN" && expect_err 'nan.csv:2: x: expects a number, got "nan"' "NaN: line, field" &&
  expect_err 'nan.csv:3: x: expects a number, got "inf"' "inf" && expect_err 'nan.csv:4: x: expects a number, got "-1e999"' "overflow" &&
  pass "NaN, inf and an overflowing number in a CSV are refused naming line and field"
printf '{"id":11,"name":"a\377b"}\n' >bad.jsonl
gh --db db import p bad.jsonl
expect_rc 1 "JSONL bytes" && expect_err "bad.jsonl: line 1: bytes that are not valid UTF-8" "the line" && pass "JSON Lines with bytes that are not UTF-8 are refused naming the line"
printf '{"id":12,"name":"\\ud800x"}\n{"id":13,"name":"ok","x":1e999}\n{"id":14,"name":"ok","x":NaN}\n{"id":15,"name":"ok"}\n' >esc.jsonl
gh --db db import p esc.jsonl
expect_rc 3 "JSONL escapes" && expect_err "esc.jsonl:1: name:" "a lone surrogate: line 1" &&
  expect_err "esc.jsonl:2: x: expects a number" "1e999: line 2" && expect_err "esc.jsonl:3: x:" "NaN: line 3" &&
  pass "a lone surrogate escape, 1e999 and NaN in JSON Lines are refused naming the line"
gh --db db run -e 'local n = 0 for r in db.p:scan() do n = n + 1 end print("records " .. n)'
expect_out "records 3" "only the good rows are stored (1, 10, 15)"

# ---- export of records stored before the store refused them ------------------------------
# (planted with mdb_load: a name with the bytes FF 80 and a NaN number)
if have_lmdb_utils; then
  gh --db db run -e 'db.p:insert{ id = 20, name = "aZZb", x = 1.25 } db.p:insert{ id = 21, name = "ok", a = { s = "ZZ" } }'
  mdb_dump -s c:p db | sed -e 's/5a5a/ff80/g; s/cb3ff4000000000000/cb7ff8000000000000/g' >planted.txt
  if mdb_load -s c:p -f planted.txt db 2>/dev/null; then
    gh --db db check
    expect_rc 1 "check finds the old records" &&
      expect_out "p: record 20: collection 'p': field '姓名' holds bytes that are not UTF-8 text (\"a\\xFF\\x80b\"" "check: the record and field" &&
      expect_out "p: record 21: collection 'p': field 'a'" "check: inside an any" &&
      expect_out "export writes it cleaned, and an update of the field corrects it" "check: what to do" &&
      expect_out "check: 2 problems found" "check: counted" && pass "check reports records stored before the UTF-8 check"
    for f in csv tsv json jsonl xlsx; do
      gh --db db export p --out "old.$f"
      expect_rc 0 "export $f" &&
        expect_err "record 20 of 'p': field '姓名' holds bytes that are not UTF-8 text (\"a\\xFF\\x80b\")" "$f: the record and field named" &&
        expect_err "record 20 of 'p': field 'x' is NaN" "$f: NaN named" && expect_err "record 21 of 'p': field 'a'" "$f: any" &&
        expect_err "3 stored value(s) no file can hold were written cleaned" "$f: counted, what to do"
    done
    python3 - <<'PY' && pass "every export is valid UTF-8 with no NaN: JSON parses strictly, the workbook's XML parses" || fail "an export holds what no file can"
import json, zipfile, xml.dom.minidom
def no_const(c): raise ValueError('JSON constant ' + c)
for f in ['old.csv', 'old.tsv', 'old.json', 'old.jsonl']:
    t = open(f, 'rb').read().decode('utf-8')          # strict: raises on a bad byte
    assert '\ufffd' in t and 'nan' not in t.lower(), f
json.loads(open('old.json', encoding='utf-8').read(), parse_constant=no_const)
for line in open('old.jsonl', encoding='utf-8'):
    r = json.loads(line, parse_constant=no_const)
    if r['id'] == 20:
        assert r['name'] == 'a\ufffd\ufffdb' and r['x'] is None, r
z = zipfile.ZipFile('old.xlsx')
for n in z.namelist():
    if n.endswith('.xml'):
        xml.dom.minidom.parseString(z.read(n))
assert any('\ufffd' in z.read(n).decode('utf-8') for n in z.namelist() if n.endswith('.xml'))
PY
    # the record can be corrected, and then it exports clean
    gh --db db run -e 'db.p:update(20, { name = "ab", x = 1.25 }) db.p:update(21, { a = db.null })'
    expect_rc 0 "correcting the planted records"
    gh --db db export p --out fixed.csv
    expect_rc 0 "export after" && no_err "cleaned" "nothing to clean once corrected" && pass "corrected records export clean"
    gh --db db check
    expect_rc 0 "check after the correction" && pass "check is clean once the records are corrected"
  else
    fail "mdb_load could not plant the old records"
  fi
fi

# ---- run.write_csv (a program's refusals file, a list) cleans as export does -------------
gh --db db run -e 'local f = run.open("w.csv", "w"); run.write_csv(f, { { "id", "name", "x" }, { 1, "a\255b", 0/0 }, { 2, "ok", -1/0 } }); f:close()'
expect_rc 0 "run.write_csv of values no file holds" &&
  expect_err "run.write_csv: row 2, cell 2: bytes that are not UTF-8 text" "write_csv: the row and cell" &&
  expect_err "run.write_csv: row 2, cell 3: NaN, which no file can hold" "write_csv: NaN" &&
  expect_err "run.write_csv: row 3, cell 3: -inf" "write_csv: -inf" &&
  expect_err "run.write_csv: 3 values no file can hold were written cleaned" "write_csv: counted"
python3 - <<'PY' && pass "run.write_csv writes only UTF-8 and no NaN" || fail "run.write_csv wrote what no file can hold"
t = open('w.csv', 'rb').read().decode('utf-8')   # strict: raises on a bad byte
assert 'a\ufffdb' in t and 'nan' not in t.lower() and 'inf' not in t.lower(), t
PY

# ---- the xlsx plugin's own workbook (API 1.4: the host's cleaner) ------------------------
gh --db db run -e 'local x = plugin.load "xlsx"; local h = x.open("p.xlsx"); x.header(h, "id\tname"); x.row(h, "1\ta\255b"); x.close(h)'
expect_rc 0 "the xlsx plugin writes a cell that is not UTF-8"
python3 - <<'PY' && pass "the xlsx plugin's workbook holds U+FFFD, and its XML parses" || fail "the xlsx plugin wrote XML no reader takes"
import zipfile, xml.dom.minidom
z = zipfile.ZipFile('p.xlsx')
for n in z.namelist():
    if n.endswith('.xml'):
        xml.dom.minidom.parseString(z.read(n))
assert any('a\ufffdb' in z.read(n).decode('utf-8') for n in z.namelist() if n.endswith('.xml'))
PY

# ---- a script's export.csv/json/xlsx of values it made ------------------------------------
gh --db db run -e 'local rows = { { id = 1, name = "a\255b", x = 0/0 }, { id = 2, name = "ok", x = -1/0, t = { "\192" } } }
for _, f in ipairs{ "s.csv", "s.json", "s.jsonl", "s.xlsx" } do export[f:match("%.(%w+)$")](rows, f, { fields = { "id", "name", "x", "t" } }) end'
expect_rc 0 "a script's exports" && expect_err "export: row 1, column 'name': bytes that are not UTF-8 text" "row and column named" &&
  expect_err "export: row 1, column 'x': NaN" "NaN named" && expect_err "export: row 2, column 'x': -inf" "-inf named" &&
  expect_err "export: row 2, column 't': bytes that are not UTF-8" "inside a table"
python3 - <<'PY' && pass "a script's exports hold only UTF-8 and no NaN" || fail "a script's export holds what no file can"
import json, zipfile, xml.dom.minidom
def no_const(c): raise ValueError('JSON constant ' + c)
for f in ['s.csv', 's.json', 's.jsonl']:
    t = open(f, 'rb').read().decode('utf-8')
    assert '\ufffd' in t and 'nan' not in t.lower() and 'inf' not in t.lower(), f
json.loads(open('s.json', encoding='utf-8').read(), parse_constant=no_const)
z = zipfile.ZipFile('s.xlsx')
for n in z.namelist():
    if n.endswith('.xml'):
        xml.dom.minidom.parseString(z.read(n))
PY

finish
