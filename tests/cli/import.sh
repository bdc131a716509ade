#!/bin/sh
# import.sh BINARY SCRATCH — `gonghui import`: files as users make them
# (UTF-8 with and without BOM, GB18030, CRLF, quoted newlines, Chinese
# headers, ragged rows, empty lines), every kind of bad row set aside with
# its reason, Excel-damaged ID numbers, --strict leaving the database exactly
# as it was, a killed import leaving nothing, upsert, TSV and JSON Lines.
. "$(dirname "$0")/lib.sh"
setup "$@"

# ID numbers with a correct check character: idn 17-DIGITS
ID1=$(idn 33048119900101123)
ID2=$(idn 33048119851231002)
ID3=$(idn 33021219700615441)
ID4=$(idn 33070220000229001)
ID5=$(idn 33021119650101555)
# ID1 with a wrong check character
WRONG=$(echo "$ID1" | cut -c1-17)$([ "$(echo "$ID1" | cut -c18)" = 0 ] && echo 1 || echo 0)

lua define.lua <<'EOF'
db.define('members', {
  key    = 'member_id',
  fields = { member_id = 'int', name = 'string', id_number = 'string', phone = 'string?',
             birth_date = 'date', town = 'string?', active = 'bool?', dues = 'fen?',
             score = 'number?' },
  unique = { 'id_number' },
  index  = { 'town' },
})
EOF
count() { # count DB -> $S/out holds the number of members
  query "$1" 'print(db.members:count())'
}
expect_count() { # expect_count DB N WHAT
  count "$1"
  if [ "$(cat "$S/out")" = "$2" ]; then pass "$3: $2 records"; else fail "$3: expected $2 records, got $(cat "$S/out")"; show_output; fi
}

# ---- a good file: UTF-8, header by field names -----------------------------------------
DB=$S/db
newdb "$DB"
cat >good.csv <<EOF
member_id,name,id_number,phone,birth_date,town,active,dues,score
1,王芳,$ID1,13800001111,1990-01-01,硖石街道,true,1250,3.5
2,李娜,$ID2,,1985/12/31,海洲街道,否,,
3,张伟,$ID3,13911112222,19700615,,1,0,-2
EOF
gh --db "$DB" import members good.csv
expect_rc 0 "a good file: exit 0"
expect_out "3 rows of good.csv" "a good file: the summary counts the rows"
expect_count "$DB" 3 "a good file"
expect_value "$DB" "db.members:get(2).birth_date" "1985-12-31" "YYYY/M/D becomes YYYY-MM-DD"
expect_value "$DB" "db.members:get(3).birth_date" "1970-06-15" "YYYYMMDD becomes YYYY-MM-DD"
expect_value "$DB" "db.members:get(2).active" "false" "否 is false"
expect_value "$DB" "db.members:get(1).dues, math.type(db.members:get(1).dues)" "1250	integer" "fen stays whole fen"
expect_value "$DB" "db.members:get(2).phone, db.members:get(2).dues" "nil	nil" "empty cells are absent fields"
expect_value "$DB" "db.members:get(1).score, db.members:get(3).score" "3.5	-2" "numbers"
if [ ! -e good.csv.rejects.csv ]; then pass "no rejects file when every row is stored"; else fail "a rejects file was left"; fi
gh --db "$DB" check
expect_rc 0 "check after a good import"
gh --db "$DB" runs
expect_out "good.csv" "the import is recorded as a run"

# ---- BOM, CRLF, quoted newlines and commas, a Chinese header, ragged rows, empty lines ----
DB=$S/db2
newdb "$DB"
printf '\357\273\277会员编号,姓名,身份证号码,手机,出生日期,镇街\r\n' >bom.csv
printf '1,"王,芳",%s,13800001111,1990-01-01,"第一行\r\n第二行"\r\n' "$ID1" >>bom.csv
printf '\r\n,,,,,\r\n' >>bom.csv
printf '2,"李""娜""",%s,,1985-12-31\r\n' "$ID2" >>bom.csv
gh --db "$DB" import members bom.csv
expect_rc 0 "BOM + CRLF + quoted newline + Chinese header + short row"
expect_out "UTF-8 with BOM" "the summary names the encoding"
expect_count "$DB" 2 "BOM file"
expect_value "$DB" "db.members:get(1).name" "王,芳" "a quoted comma"
expect_value "$DB" "db.members:get(1).town == '第一行\\r\\n第二行'" "true" "a quoted CRLF inside a cell is kept"
expect_value "$DB" "db.members:get(2).name" '李"娜"' "doubled quotes"
expect_value "$DB" "db.members:get(2).town" "nil" "a short row: the missing cells are absent"

# ---- GB18030 ----------------------------------------------------------------------------------
DB=$S/db3
newdb "$DB"
printf 'member_id,name,id_number,birth_date,town\n1,王芳,%s,1990-01-01,硖石街道\n2,李娜,%s,1985-12-31,海洲街道\n' "$ID1" "$ID2" |
  iconv -f UTF-8 -t GB18030 >gb.csv
if [ ! -s gb.csv ]; then
  echo "skip: iconv could not make a GB18030 file" >&2
else
  gh --db "$DB" import members gb.csv
  expect_rc 0 "a GB18030 file"
  expect_err "not UTF-8; it was read as GB18030" "a notice says the file was read as GB18030"
  expect_value "$DB" "db.members:get(1).name, db.members:get(2).town" "王芳	海洲街道" "GB18030 text arrives as UTF-8"
  newdb "$S/db3b"
  gh --db "$S/db3b" import members gb.csv --encoding utf-8
  expect_rc 1 "--encoding utf-8 on a GB18030 file"
  expect_err_re "gb.csv: line [0-9]+: bytes that are not valid UTF-8" "the error names the line"
fi

# ---- bad rows: each reason, good rows stored, rejects file, exit code 3 -----------------------
DB=$S/db4
newdb "$DB"
gh --db "$DB" import members good.csv
expect_rc 0 "loading good.csv again"
cat >bad.csv <<EOF
member_id,name,id_number,birth_date,town,dues
10,好人,$ID4,2000-02-29,城东,100
11,坏日期,$(idn 33048119900101999),1990-13-01,城东,
twelve,坏整数,$(idn 33048119900101998),1990-01-01,城东,
13,,$(idn 33048119900101997),1990-01-01,城东,
14,文件内重复,$ID4,2000-02-29,城东,
15,库内重复,$ID1,1990-01-01,城东,
1,主键重复,$(idn 33048119900101996),1990-01-01,城东,
16,科学计数,3.30481E+17,1990-01-01,城东,
17,尾零,330481199001010000,1990-01-01,城东,
18,校验错,$WRONG,1990-01-01,城东,
19,生日错,$(idn 33048119901301123),1990-01-01,城东,
20,十五位,330481900101123,1990-01-01,城东,
21,元,$ID5,1965-01-01,城东,12.50
22,太多列,$(idn 33048119900101995),1990-01-01,城东,,多余
23,好人二,$(idn 33048119900101994),1990-01-01,城东,
EOF
gh --db "$DB" import members bad.csv
expect_rc 3 "some rows rejected: exit 3"
expect_out "2 rows of bad.csv" "the summary counts the stored rows"
expect_out "13 rejected" "the summary counts the rejected rows"
expect_err "bad.csv:3: birth_date: is not a real date" "stderr names file:line and the column"
expect_count "$DB" 5 "good rows stored beside the rejected"
R=bad.csv.rejects.csv
if [ -f "$R" ]; then
  pass "the rejects file is beside the input"
  if head -c 3 "$R" | od -An -tx1 | grep -q "ef bb bf"; then pass "rejects: UTF-8 BOM for Excel"; else fail "rejects: no BOM"; fi
  if head -1 "$R" | grep -q "#line,#reason,#column,#value,member_id,name"; then pass "rejects: header"; else fail "rejects: header is $(head -1 "$R")"; fi
  if [ "$(grep -c '^[0-9]' "$R")" = 13 ]; then pass "rejects: one line per bad row"; else fail "rejects: $(grep -c '^[0-9]' "$R") rows, expected 13"; fi
  has "$R" '3,"birth_date: is not a real date' "rejects: bad date, with its line"
  has "$R" '1990-13-01' "rejects: the bad value"
  has "$R" 'member_id: expects a whole number, got ""twelve""' "rejects: bad int"
  has "$R" 'name: is empty, and it is required' "rejects: missing required"
  has "$R" 'that record comes from line 2 of this file' "rejects: duplicate unique within the file, naming the earlier row"
  has "$R" 'that record is already in the database' "rejects: duplicate unique against the store"
  has "$R" 'member_id = 1 already exists; it is already in the database' "rejects: duplicate key against the store"
  has "$R" 'Excel turned the ID number into a number (3.30481E+17)' "rejects: scientific notation"
  has "$R" 'ends in 000' "rejects: Excel's 15 digits"
  has "$R" 'wrong check character' "rejects: check character"
  has "$R" 'impossible birth date (1990-13-01' "rejects: birth date in the ID"
  has "$R" 'has 15 digits' "rejects: 15-digit IDs"
  has "$R" 'import with --yuan' "rejects: yuan in a fen column"
  has "$R" 'the row has 7 cells but the header has 6 columns' "rejects: a long row"
else
  fail "no rejects file"
fi
gh --db "$DB" check
expect_rc 0 "check after an import with rejects"

# the rejects file, fixed, imports again (its # columns are skipped)
sed -e 's/1990-13-01,城东/1990-12-01,城东/' "$R" >fixed.csv
gh --db "$DB" import members fixed.csv
expect_rc 3 "re-importing the fixed rejects: the still-bad rows stay rejected"
expect_count "$DB" 6 "the fixed row is stored from the rejects file"

# --yuan takes yuan for fen fields
newdb "$S/db5"
printf 'member_id,name,id_number,birth_date,dues\n1,甲,%s,1990-01-01,12.5\n2,乙,%s,1990-01-01,"1,234.05"\n3,丙,%s,1990-01-01,0.125\n' "$ID1" "$ID2" "$ID3" >yuan.csv
gh --db "$S/db5" import members yuan.csv --yuan
expect_rc 3 "--yuan: a third decimal is refused"
expect_value "$S/db5" "db.members:get(1).dues, db.members:get(2).dues" "1250	123405" "--yuan: yuan become fen"

# more date forms, and Excel's day numbers
newdb "$S/db6"
printf 'member_id,name,id_number,birth_date\n1,甲,%s,2024年3月5日\n2,乙,%s,2024/3/5 0:00\n3,丙,%s,45356\n' "$ID1" "$ID2" "$ID3" >dates.csv
gh --db "$S/db6" import members dates.csv
expect_rc 3 "dates: Excel's day number is refused"
expect_value "$S/db6" "db.members:get(1).birth_date, db.members:get(2).birth_date" "2024-03-05	2024-03-05" "dates: 2024年3月5日 and 2024/3/5 0:00"
has dates.csv.rejects.csv "Excel's day number for 2024-03-05" "dates: the day number is explained"

# ---- header problems: nothing stored, exit 1 -------------------------------------------------
DB=$S/db7
newdb "$DB"
printf 'member_id,name,id_number,birth_date,备注\n1,甲,%s,1990-01-01,x\n' "$ID1" >unknown.csv
gh --db "$DB" import members unknown.csv
expect_rc 1 "an unknown column: exit 1"
expect_err "column '备注' is not a field of collection 'members'" "unknown column named"
expect_err "--map 'COLUMN=-'" "unknown column: says how to skip it"
expect_count "$DB" 0 "unknown column: nothing stored"
gh --db "$DB" import members unknown.csv --map 备注=-
expect_rc 0 "--map COLUMN=- skips a column"
printf '编号,name,id_number,birth_date\n1,甲,%s,1990-01-01\n' "$ID2" >mapped.csv
newdb "$S/db7b"
gh --db "$S/db7b" import members mapped.csv --map 编号=member_id
expect_rc 0 "--map COLUMN=field"
expect_value "$S/db7b" "db.members:get(1).name" "甲" "--map: the column lands in the field"
printf 'member_id,id_number,birth_date\n1,%s,1990-01-01\n' "$ID1" >noname.csv
gh --db "$DB" import members noname.csv
expect_rc 1 "a required field without a column"
expect_err "no column gives the required field 'name'" "the missing column is named"
gh --db "$DB" import nosuch good.csv
expect_rc 1 "an unknown collection"
expect_err "there is no collection 'nosuch'" "the unknown collection is named"
gh --db "$DB" import members nosuch.csv
expect_rc 1 "a missing file"
expect_err "cannot open nosuch.csv" "the missing file is named"
gh --db "$DB" import members good.csv --mode sideways
expect_rc 2 "a bad --mode is a usage error"
# a real .xls (an OLE2 compound file): refused with what to do, exit 1 as
# every unreadable file (not the usage text); named .csv it is found too
printf '\320\317\021\340\241\261\032\341' > book.xls
head -c 2000 /dev/zero >> book.xls
gh --db "$DB" import members book.xls
expect_rc 1 "xls (Excel 97-2003): an unreadable file" &&
  expect_err "book.xls is an Excel 97-2003 workbook (.xls), which gonghui does not read" "xls: says what it is" &&
  expect_err "save it as Excel Workbook (.xlsx)" "xls: says what to do" &&
  no_err "usage:" "xls: no usage text" && pass "a real .xls: exit 1, what it is and what to do"
cp book.xls book-named.csv
gh --db "$DB" import members book-named.csv
expect_rc 1 "an .xls named .csv" && expect_err "is an Excel 97-2003 workbook" "an .xls named .csv is recognised"
# systems that export "xls" often write text: read as CSV (or as a workbook when it is one)
printf 'member_id,name,id_number,birth_date\n77,文本,%s,1990-01-01\n' "$ID1" > text.xls
gh --db "$S/dbx" run "$S/define.lua"
gh --db "$S/dbx" import members text.xls
expect_rc 0 "an .xls that is really CSV text" && pass "an .xls that is text is read as CSV"
gh --db "$DB" import members nosuch.xlsx
expect_rc 1 "a missing .xlsx file"
expect_err "cannot open nosuch.xlsx" "the missing .xlsx file is named"
gh --db "$DB" import members good.csv --sheet 2
expect_rc 2 "--sheet with a CSV file is a usage error"
printf 'member_id,name,id_number,birth_date\n1,"甲,%s,1990-01-01\n' "$ID1" >open.csv
gh --db "$DB" import members open.csv
expect_rc 1 "an unterminated quote"
expect_err "open.csv: line 2: a quoted cell starts here and is never closed" "unterminated quote: the line"

# ---- --strict: nothing stored when a row is bad; the database exactly as before --------------
DB=$S/db8
newdb "$DB"
gh --db "$DB" import members good.csv
gh --db "$DB" export members --unmask --out before.csv
gh --db "$DB" check
cp "$S/out" check-before.txt
gh --db "$DB" import members bad.csv --strict
expect_rc 3 "--strict with bad rows: exit 3"
expect_out "nothing was stored" "--strict: the summary says nothing was stored"
expect_count "$DB" 3 "--strict: the count is as before"
gh --db "$DB" check
expect_rc 0 "--strict: check is clean"
if cmp -s "$S/out" check-before.txt; then pass "--strict: check says the same"; else fail "--strict: check output differs"; fi
gh --db "$DB" export members --unmask --out after.csv
if cmp -s before.csv after.csv; then pass "--strict: every record as before"; else fail "--strict: the records changed"; fi
if [ -f bad.csv.rejects.csv ]; then pass "--strict: the rejects file is written"; else fail "--strict: no rejects file"; fi
printf 'member_id,name,id_number,birth_date\n7,好,%s,1990-01-01\n' "$ID5" >one.csv
gh --db "$DB" import members one.csv --strict
expect_rc 0 "--strict with only good rows stores them"
expect_count "$DB" 4 "--strict good file"

# ---- upsert ------------------------------------------------------------------------------------
DB=$S/db9
newdb "$DB"
gh --db "$DB" import members good.csv
printf 'member_id,name,id_number,birth_date\n1,王芳芳,%s,1990-01-01\n4,新人,%s,2000-02-29\n4,又是新人,%s,2000-02-29\n' "$ID1" "$ID4" "$ID4" >up.csv
gh --db "$DB" import members up.csv --mode upsert
expect_rc 3 "upsert: a key twice in one file is rejected"
expect_value "$DB" "db.members:get(1).name, db.members:get(4).name" "王芳芳	新人" "upsert: replaced and inserted"
has up.csv.rejects.csv "line 3 of this file has the same key" "upsert: in-file duplicate reason, naming the earlier row"

# ---- TSV and JSON Lines --------------------------------------------------------------------------
DB=$S/db10
newdb "$DB"
printf 'member_id\tname\tid_number\tbirth_date\tdues\n1\t王 芳\t%s\t1990-01-01\t5\n' "$ID1" >t.tsv
gh --db "$DB" import members t.tsv
expect_rc 0 "TSV by its extension"
expect_value "$DB" "db.members:get(1).name" "王 芳" "TSV: a space inside a cell is kept"
cat >m.jsonl <<EOF
{"member_id": 2, "name": "李\\u5a1c", "id_number": "$ID2", "birth_date": "1985-12-31", "active": true, "dues": 300}
{"member_id": 3, "name": "张伟", "id_number": $(echo "$ID3" | cut -c1-17), "birth_date": "1970-06-15"}

{"member_id": 4, "name": "x", "id_number": "$ID4", "birth_date": "2000-02-29", "nope": 1}
not json
EOF
gh --db "$DB" import members m.jsonl
expect_rc 3 "JSON Lines with bad lines"
expect_value "$DB" "db.members:get(2).name, db.members:get(2).active, db.members:get(2).dues" "李娜	true	300" "JSON Lines: values and \\u escapes"
has m.jsonl.rejects.csv "expects text, got the number" "JSON Lines: a number for a text field"
has m.jsonl.rejects.csv "nope: is not a field of collection 'members'" "JSON Lines: an unknown member"
has m.jsonl.rejects.csv "one JSON object" "JSON Lines: a line that is not JSON"
has m.jsonl.rejects.csv "#line,#reason" "JSON Lines: rejects file header"

# ---- a killed import leaves nothing ----------------------------------------------------------------
DB=$S/db11
newdb "$DB"
gh --db "$DB" import members good.csv
# 20,000 rows; the one on line 2002 has no name, so the import rejects it
# and opens its rejects file: a FIFO nobody reads, where it waits, 2,000
# rows into its transaction, until it is killed (whatever the machine's speed)
python3 - >big.csv <<'EOF'
w = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]
print("member_id,name,id_number,birth_date,town")
for i in range(100, 20100):
    b = "330481" + "1990%02d%02d" % (1 + i % 12, 1 + (i // 12) % 28) + "%03d" % (i // 336 % 1000)
    name = "" if i == 2100 else "人%d" % i
    print("%d,%s,%s,1990-01-01,镇%d" % (i, name, b + "10X98765432"[sum(int(c) * x for c, x in zip(b, w)) % 11], i % 50))
EOF
mkfifo "$S/big.rej.csv.tmp" || fail "mkfifo"
"$BIN" --db "$DB" import members big.csv --rejects "$S/big.rej.csv" >"$S/out" 2>"$S/big.err" &
pid=$!
track $pid
t=$(date +%s)
while ! grep -q '^big.csv:2002:' "$S/big.err" && [ $(($(date +%s) - t)) -lt 300 ]; do sleep 0.05; done
grep -q '^big.csv:2002:' "$S/big.err" || fail "the import never reached line 2002: $(cat "$S/big.err")"
kill -9 $pid 2>/dev/null || fail "the import waiting on its rejects FIFO had ended: $(cat "$S/big.err")"
reap $pid
expect_count "$DB" 3 "a killed import stored nothing"
gh --db "$DB" check
expect_rc 0 "check after a killed import"
gh --db "$DB" import members good.csv --mode upsert
expect_rc 0 "the database takes writes after a killed import"
rm -f "$S/big.rej.csv.tmp"

finish
