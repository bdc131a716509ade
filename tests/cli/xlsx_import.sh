#!/bin/sh
# xlsx_import.sh BINARY SCRATCH — `gonghui import COLLECTION FILE.xlsx`
# through the xlsx plugin's reader: a workbook made by hand the way Excel
# writes one (make_xlsx.py: shared and inline strings, rich text, dates in
# date styles, an ID number Excel turned into a number, skipped cells,
# Chinese headers, two sheets), every kind of cell as text (read from Lua
# with plugin.load 'xlsx'), the 1900 and 1904 date systems, --sheet,
# rejects with the sheet's row numbers, --strict, damaged files that store
# nothing, and xlsx -> store -> xlsx round trips that compare equal.
. "$(dirname "$0")/lib.sh"
setup "$@"

if ! command -v python3 >/dev/null 2>&1; then
  echo "skip: python3 is needed to make the .xlsx files" >&2
  exit 0
fi
MK="python3 $(cd "$(dirname "$0")" && pwd)/make_xlsx.py"

# ID numbers with a correct check character: idn 17-DIGITS
ID1=$(idn 33048119900101123)
ID2=$(idn 33048119851231002)
ID3=$(idn 33021219700615441)

lua define.lua <<'EOF'
db.define('members', {
  key    = 'member_id',
  fields = { member_id = 'int', name = 'string', id_number = 'string', birth_date = 'date',
             phone = 'string?', town = 'string?', score = 'number?', note = 'string?' },
  unique = { 'id_number' },
})
db.define('goods', { key = 'item', fields = { item = 'string', qty = 'int' } })
db.define('people', {
  key    = 'member_id',
  fields = { member_id = 'int', name = 'string', id_number = 'string?', birth_date = 'date',
             town = 'string?', score = 'number?' },
})
EOF
# dump.lua: a sheet as the reader gives it, one line per row: ROW|cell|cell...
# (\n, \r, \t and \ escaped), through plugin.load 'xlsx' as a script would
lua dump.lua <<'EOF'
local xlsx = plugin.load 'xlsx'
local h = xlsx.read_open(params.path, params.sheet and tostring(params.sheet) or '')
while true do
  local b = xlsx.read_row(h)
  if not b then break end
  local row, n, pos = string.unpack('<I4I4', b)
  local out = { tostring(row) }
  for i = 1, n do
    local c
    c, pos = string.unpack('<s4', b, pos)
    out[#out + 1] = c:gsub('\\', '\\\\'):gsub('\n', '\\n'):gsub('\r', '\\r'):gsub('\t', '\\t')
  end
  print(table.concat(out, '|'))
end
xlsx.read_close(h)
EOF

# ---- every kind of cell, as text ------------------------------------------------------------
$MK cells cells.xlsx
gh run "$S/dump.lua" path=cells.xlsx
expect_rc 0 "reading a sheet of odd cells from Lua" || show_output
cp "$S/out" cells.txt
has_line cells.txt "1|what|value" "the header row from shared strings"
has_line cells.txt "2|int|42" "an integer"
has_line cells.txt "3|int_dot0|7" "7.0 is an integer: no .0"
has_line cells.txt "4|dec|0.1" "a decimal as stored"
has_line cells.txt "5|noise|0.3" "0.30000000000000004: Excel's 15 significant digits"
has_line cells.txt "6|exp|1000" "1E+3 is 1000"
has_line cells.txt "7|neg|-12.75" "a negative decimal"
has_line cells.txt "8|big|3.30481199001011E+17" "an 18-digit number is shown as Excel shows it (digits lost)"
has_line cells.txt "9|sci|3.30481199001012E+17" "a number stored as 3.30481199001012E+17"
has_line cells.txt "10|tiny|1.5E-20" "a tiny number in scientific notation"
has_line cells.txt "11|fifteen|123456789012345" "15 digits are kept"
has_line cells.txt "12|zero|0" "zero"
has_line cells.txt "13|true|TRUE" "a boolean"
has_line cells.txt "14|false|FALSE" "a false boolean"
has_line cells.txt "15|error|#DIV/0!" "an error cell gives its error text"
has_line cells.txt "16|na|#N/A" "a formula's error"
has_line cells.txt "17|formula_str|whatx" "a formula's text result"
has_line cells.txt "18|iso_date|2024-03-05" "an ISO date cell (t=d)"
has_line cells.txt "19|iso_datetime|2024-03-05 08:30:00" "an ISO date-time cell"
has_line cells.txt "20|serial1|1900-01-01" "day 1 is 1900-01-01"
has_line cells.txt "21|serial59|1900-02-28" "day 59 is 1900-02-28"
has_line cells.txt "22|serial60|1900-02-29" "day 60 is Excel's 1900-02-29"
has_line cells.txt "23|serial61|1900-03-01" "day 61 is 1900-03-01"
has_line cells.txt "24|serial0|1900-01-00" "day 0 is Excel's 1900-01-00"
has_line cells.txt "25|y2024|2024-03-05" "a custom 年月日 date format"
has_line cells.txt "26|datetime|2024-03-05 18:00:00" "a date-time format keeps the time"
has_line cells.txt "27|days|45356" "a format with \"d\" in quotes is no date"
has_line cells.txt "28|time|12:30:00" "a time format"
has_line cells.txt "29|elapsed|36:00:00" "an elapsed-time format [h]:mm"
has_line cells.txt "30|neg_date|-1" "a negative number in a date format stays a number"
has_line cells.txt '31|escape|a\tb_x0041_' "_xHHHH_ escapes decoded, _x005F_ is an underscore"
has_line cells.txt "32|phonetic|漢字" "phonetic runs are left out"
has_line cells.txt "33|empty_v" "an empty value ends the row"
has_line cells.txt "34|no_value" "a formula without a cached value is empty"

$MK cells1904 cells1904.xlsx
gh run "$S/dump.lua" path=cells1904.xlsx
expect_rc 0 "a 1904 workbook" || show_output
cp "$S/out" c1904.txt
has_line c1904.txt "24|serial0|1904-01-01" "1904 system: day 0 is 1904-01-01"
has_line c1904.txt "22|serial60|1904-03-01" "1904 system: no 1900-02-29"
has_line c1904.txt "25|y2024|2028-03-06" "1904 system: dates are 1462 days later"

# ---- a workbook as Excel saves it ------------------------------------------------------------------
DB=$S/db
newdb "$DB"
$MK excel excel.xlsx "$ID1" "$ID2" "$ID3"
gh run "$S/dump.lua" path=excel.xlsx
cp "$S/out" excel.txt
has_line excel.txt "1|会员编号|姓名|身份证号|出生日期|手机|镇街|积分|备注" "Chinese headers"
has_line excel.txt "2|1|王芳|$ID1|1990-01-01|13800001111|硖石街道|12.5| 前后有空格 " "rich text joined, date style, inline string, spaces kept"
has_line excel.txt "4|3|张伟|$ID3|1970-06-15|||3|多行" "skipped cells are empty fields; formula results"
has_line excel.txt "7|4|赵六 |$ID2|1980/2/29||||第一行\r\n第二行 a_x0041_b" "row numbers of the sheet; line breaks kept"
gh --db "$DB" import members excel.xlsx --map 积分=score --map 备注=note
expect_rc 3 "the Excel workbook: one row rejected, exit 3"
expect_out "3 rows of excel.xlsx (Excel workbook, sheet '会员') stored in 'members'" "the summary names the sheet"
expect_err "excel.xlsx:3: 身份证号: Excel turned the ID number into a number (3.30481199001012E+17)" \
  "the ID stored as a number is refused with the clerk's reason, at sheet row 3"
expect_value "$DB" "db.members:count()" "3" "three members stored"
expect_value "$DB" "db.members:get(1).name, db.members:get(1).birth_date" "王芳	1990-01-01" "a date cell became the date"
expect_value "$DB" "db.members:get(1).id_number, db.members:get(1).phone" "$ID1	13800001111" "ID and phone as text"
expect_value "$DB" "db.members:get(1).score, db.members:get(1).note" "12.5	前后有空格" "a number; text without the spaces at its ends (one trimming rule for every format)"
expect_value "$DB" "db.members:get(3).birth_date, db.members:get(3).town, db.members:get(3).score" \
  "1970-06-15	nil	3" "a custom date format; a skipped cell is an absent field"
expect_value "$DB" "db.members:get(4).birth_date, db.members:get(4).id_number" "1980-02-29	$ID2" \
  "a date typed as text; row 7 after a blank row"
if grep -q '^3,' excel.xlsx.rejects.csv && grep -qF '3.30481199001012E+17' excel.xlsx.rejects.csv; then
  pass "the rejects file has the row by its sheet row number (3) and the value"
else
  fail "the rejects file lacks row 3"; cat excel.xlsx.rejects.csv >&2
fi

# --strict: nothing stored; --sheet
DB=$S/db_strict
newdb "$DB"
gh --db "$DB" import members excel.xlsx --map 积分=score --map 备注=note --strict
expect_rc 3 "--strict with a bad row"
expect_value "$DB" "db.members:count()" "0" "--strict stored nothing"
gh --db "$DB" import goods excel.xlsx --sheet Other --map 'Other 表=item' --map 数量=qty
expect_rc 0 "--sheet NAME"
expect_out "(Excel workbook, sheet 'Other')" "the second sheet was read"
expect_value "$DB" "db.goods:get('苹果').qty, math.type(db.goods:get('苹果').qty)" "7	integer" "a number cell into an int field"
gh --db "$DB" import goods excel.xlsx --sheet 2 --map 'Other 表=item' --map 数量=qty --mode upsert
expect_rc 0 "--sheet N (a position)"
gh --db "$DB" import goods excel.xlsx --sheet 成员 --map 'Other 表=item'
expect_rc 1 "a sheet that does not exist"
expect_err "excel.xlsx: the workbook has no sheet '成员' (its sheets: '说明' (hidden), '会员', 'Other'; give a name, or a number from 1 to 2)" "the error lists the sheets"
expect_err "nothing was stored" "and says nothing was stored"
gh run "$S/dump.lua" path=excel.xlsx sheet=说明
has_line "$S/out" "1|说明：隐藏的工作表" "a hidden sheet is read by its name (the default is the first tab shown)"
gh --db "$DB" import members excel.xlsx --format csv
expect_rc 1 "an .xlsx read as CSV fails"
cp excel.xlsx excel.bin
gh --db "$DB" import goods excel.bin --format xlsx --sheet Other --map 'Other 表=item' --map 数量=qty --mode upsert
expect_rc 0 "--format xlsx for a file named otherwise"

# --chunk / --resume: sheet row numbers mark where a stopped import goes on
DB=$S/db_resume
newdb "$DB"
gh --db "$DB" import members excel.xlsx --map 积分=score --map 备注=note --chunk 1 --rejects "$S/no/r.csv"
expect_rc 1 "an import in chunks that fails at its first reject (sheet row 3)"
expect_err "the rows up to line 2 are stored (1 rows, 0 rejected)" "row 2 was committed"
gh --db "$DB" import members excel.xlsx --map 积分=score --map 备注=note --chunk 1 --resume
expect_rc 3 "--resume goes on after sheet row 2"
expect_err "resuming after line 2 of excel.xlsx" "says where"
expect_out "3 rows of excel.xlsx (Excel workbook, sheet '会员') stored in 'members', 1 rejected" \
  "the counts of both runs"
expect_value "$DB" "db.members:count()" "3" "three members, none twice"

# a title row above the header (merged across, as clerks make them): --header-row
DB=$S/db_title
newdb "$DB"
$MK titled titled.xlsx
gh --db "$DB" import goods titled.xlsx
expect_rc 1 "a title above the header, without --header-row"
expect_err "titled.xlsx: row 1: column '2024年会员花名册' is not a field of collection 'goods'" "names the title row"
expect_err "if it is a title above the header, give --header-row with the header's row" "and says what to do"
gh --db "$DB" import goods titled.xlsx --header-row 3
expect_rc 0 "--header-row 3 skips the title"
expect_value "$DB" "db.goods:count(), db.goods:get('梨').qty" "2	3" "the rows below the header"
printf '2024年物资表\r\n\r\nitem,qty\r\n桃,5\r\n' >titled.csv
gh --db "$DB" import goods titled.csv --header-row 3
expect_rc 0 "--header-row with a CSV file (its line)"
gh --db "$DB" import goods titled.csv --header-row 0
expect_rc 2 "--header-row 0 is a usage error"

# ---- damaged files: a clear error naming the file and part, nothing stored --------------------------
DB=$S/db_bad
newdb "$DB"
gh --db "$DB" import members excel.xlsx --map 积分=score --map 备注=note
bad() { # bad KIND EXPECTED-STDERR WHAT
  $MK "$1" "$1.xlsx"
  gh --db "$DB" import goods "$1.xlsx" --map member_id=qty --map name=item
  expect_rc 1 "$3: exit 1"
  expect_err "$2" "$3: the reason"
  expect_err "nothing was stored" "$3: nothing stored"
  expect_value "$DB" "db.goods:count(), db.members:count()" "0	3" "$3: the database is as it was"
}
bad nozip "nozip.xlsx is not an .xlsx workbook (not a zip archive)" "a CSV named .xlsx"
bad noworkbook "noworkbook.xlsx: the zip archive has no workbook (xl/workbook.xml)" "a zip without a workbook"
bad truncated "truncated.xlsx: xl/worksheets/sheet1.xml, line 2: " "sheet XML that stops mid-row"
bad doctype "doctype.xlsx: xl/worksheets/sheet1.xml has a DOCTYPE" "an XML bomb (DOCTYPE)"
bad badsst "badsst.xlsx: xl/worksheets/sheet1.xml, cell B2: shared string 99 does not exist" "a cell past the shared strings"
head -c 3000 excel.xlsx >cut.xlsx
gh --db "$DB" import members cut.xlsx
expect_rc 1 "a zip archive cut short"
expect_err "cut.xlsx is not an .xlsx workbook (not a zip archive, or a damaged one)" "the cut archive is named"
printf '\320\317\021\340\241\261\032\341rest' >old.xlsx
gh --db "$DB" import members old.xlsx
expect_rc 1 "an .xls (OLE) file named .xlsx"
expect_err "Excel 97-2003 workbook (.xls) or a password-protected one" "says what it is"
expect_value "$DB" "db.members:count()" "3" "after every damaged file, the database is as it was"

# prefixed element names (x:row), no _rels/.rels, no styles or shared strings
DB=$S/db_prefixed
newdb "$DB"
$MK prefixed prefixed.xlsx
gh --db "$DB" import goods prefixed.xlsx --map member_id=qty --map name=item
expect_rc 0 "a workbook written with x: prefixes and no package rels"
expect_value "$DB" "db.goods:get('前缀').qty" "9" "its row was read"

# ---- xlsx -> store -> xlsx: equal cell by cell ----------------------------------------------------
gh --db "$S/db" export members --out a.xlsx --unmask
expect_rc 0 "export to a.xlsx"
DB=$S/db_rt
newdb "$DB"
gh --db "$DB" import members a.xlsx
expect_rc 0 "a.xlsx (written by the xlsx plugin) imports cleanly"
gh --db "$DB" export members --out b.xlsx --unmask
expect_rc 0 "export to b.xlsx"
gh run "$S/dump.lua" path=a.xlsx
cp "$S/out" a.txt
gh run "$S/dump.lua" path=b.xlsx
cp "$S/out" b.txt
if [ -s a.txt ] && cmp -s a.txt b.txt; then
  pass "xlsx -> store -> xlsx: the two workbooks are equal cell by cell ($(wc -l <a.txt) rows)"
else
  fail "the round trip changed cells"; diff a.txt b.txt >&2
fi
has_line a.txt "2|1|1990-01-01|$ID1|王芳|前后有空格|13800001111|12.5|硖石街道" "the exported row holds what the Excel workbook had"
# line breaks in a cell are kept; text that holds an escape literally (a_x0041_b) is written
# escaped, so it reads back as it was
has_line a.txt '4|4|1980-02-29|'"$ID2"'|赵六|第一行\r\n第二行 a_x0041_b' "a line break and a literal _x0041_ survive export"
gh --db "$S/db" export members --out a.csv --unmask
gh --db "$DB" export members --out b.csv --unmask
if cmp -s a.csv b.csv; then pass "and the records are the same (as CSV)"; else fail "CSV exports differ"; diff a.csv b.csv >&2; fi

# ---- many rows ----------------------------------------------------------------------------------------
DB=$S/db_big
newdb "$DB"
$MK big big.xlsx 20000 "$ID1"
gh --db "$DB" import people big.xlsx
expect_rc 0 "20,000 rows of inline strings"
expect_out "20,000 rows of big.xlsx" "all rows stored"
expect_value "$DB" "db.people:get(1).id_number, db.people:get(20000).birth_date" "$ID1	1982-02-18" \
  "the first and last rows"

finish
