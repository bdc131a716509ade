#!/bin/sh
# sheets.sh BINARY SCRATCH — sheets in and out as clerks make and open them
# (issue 21): phones and ID numbers normalised or refused, in CSV and xlsx;
# one trimming rule (CSV quoted or not, xlsx, JSON Lines); CSV exports whose
# ID numbers and leading zeros survive a spreadsheet; money in an xlsx export
# always a number cell with a money format; a ;-separated file read; a
# duplicate's reject names the earlier row; xlsx rejects as long as the
# header; an earlier rejects file kept as .old; blank lines counted.
. "$(dirname "$0")/lib.sh"
setup "$@"

ID1=330481199001011236
ID2=33021219700615441X
lua define.lua <<'EOF'
db.define('members', {
  key    = 'member_id',
  fields = { member_id = 'int', name = 'string', id_number = 'string?', phone = 'string?',
             code = 'string?', dues = 'fen?', note = 'string?' },
  unique = { 'id_number' },
})
EOF

# ---- phones and ID numbers: normalised or refused, in CSV ---------------------------------------
DB=$S/db1
newdb "$DB"
printf '%s\r\n' 'member_id,name,phone,id_number' \
  '1,甲,151 5738 9420,' \
  '2,乙,０５７３－８７６５４３２１,' \
  '3,丙,+86 138-0000-1111,' \
  '4,丁,12345,' \
  '5,戊,,３３０４８１１９９００１０１１２３６' \
  '6,己,,330481********1236' >p.csv
gh --db "$DB" import members p.csv
expect_rc 3 "phones and ID numbers as typed"
expect_value "$DB" "db.members:get(1).phone, db.members:get(2).phone, db.members:get(3).phone" \
  "15157389420	0573-87654321	13800001111" "a phone with spaces, full-width digits, +86 and hyphens is stored as its number"
expect_value "$DB" "db.members:get(4), db.members:get(5).id_number" "nil	$ID1" \
  "a phone that is no phone is refused; a full-width ID number is stored in ASCII"
has p.csv.rejects.csv "phone: has 5 digits" "the refused phone's reason"
has p.csv.rejects.csv "is masked (330481********1236)" "a masked ID number (a masked export) is refused as such"
has p.csv.rejects.csv "import an export made with --unmask" "and says what to do"

# ---- one trimming rule: CSV quoted or not, JSON Lines, xlsx ---------------------------------------
DB=$S/db2
newdb "$DB"
printf '%s\r\n' 'member_id,name,note' '1,"  甲 ",  a ' "2, 乙 ,\"　b　\"" >t.csv
gh --db "$DB" import members t.csv
expect_rc 0 "a CSV with spaces around cells"
expect_value "$DB" "'[' .. db.members:get(1).name .. '|' .. db.members:get(1).note .. '|' .. db.members:get(2).name .. '|' .. db.members:get(2).note .. ']'" \
  "[甲|a|乙|b]" "CSV: spaces (and U+3000) at a cell's ends are trimmed, quoted or not"
printf '%s\n' 'member_id,name,note' '5,x,"f　"' '6,"　y",g ' '7,"z "," h"' >t2.csv
gh --db "$DB" import members t2.csv
expect_rc 0 "a CSV with spaces at one end of cells"
expect_value "$DB" "'[' .. db.members:get(5).note .. '|' .. db.members:get(6).name .. '|' .. db.members:get(6).note .. '|' .. db.members:get(7).name .. ']'" \
  "[f|y|g|z]" "CSV: a space at one end only, the other a letter, is trimmed too"
printf '%s\n' '{"member_id": 3, "name": " 丙 ", "note": "\u00a0c "}' >t.jsonl
gh --db "$DB" import members t.jsonl
expect_rc 0 "JSON Lines with spaces"
expect_value "$DB" "'[' .. db.members:get(3).name .. '|' .. db.members:get(3).note .. ']'" "[丙|c]" \
  "JSON Lines: the same rule (no-break spaces too)"

lua mkxlsx.lua <<'EOF'
-- a sheet as a clerk types it: spaces around names, a spaced phone, a row
-- that ends before the last column (its note is empty)
local n = export.xlsx({
  { member_id = '10', name = ' 庚 ', phone = '151 5738 9420', note = '  x ' },
  { member_id = '11', name = '辛', phone = '12345' },
  { member_id = '12', name = '壬', phone = '（0573）8765 4321', note = 'y' },
}, 'in.xlsx', { fields = 'member_id,name,phone,note', unmask = true })
assert(n == 3)
EOF
gh --db "$DB" run --out "$S" "$S/mkxlsx.lua"
if [ "$RC" -ne 0 ] && grep -qi "plugin" "$S/err"; then
  echo "skip: the xlsx plugin is not built" >&2
else
  expect_rc 0 "making in.xlsx"
  gh --db "$DB" import members in.xlsx
  expect_rc 3 "an xlsx sheet with spaces, phones and a bad row"
  expect_value "$DB" "'[' .. db.members:get(10).name .. '|' .. db.members:get(10).note .. '|' .. db.members:get(10).phone .. '|' .. db.members:get(12).phone .. ']'" \
    "[庚|x|15157389420|0573-87654321]" "xlsx: the same trimming rule; phones normalised"
  # every rejects row as long as the header, though the sheet's row ended early
  if python3 - "$S/in.xlsx.rejects.csv" <<'EOF'
import csv, sys
rows = list(csv.reader(open(sys.argv[1], encoding='utf-8-sig')))
assert len(rows) == 2, rows
assert len(rows[0]) == len(rows[1]) == 8, [len(r) for r in rows]
assert rows[1][0] == '3' and rows[1][4:] == ['11', '辛', '12345', ''], rows[1]
EOF
  then pass "xlsx rejects: each row as long as the header"; else fail "xlsx rejects rows: $(cat "$S/in.xlsx.rejects.csv")"; fi
fi

# ---- CSV exports a spreadsheet cannot spoil --------------------------------------------------------
DB=$S/db3
newdb "$DB"
query "$DB" "db.atomic(function()
  db.members:insert{ member_id = 1, name = '甲', id_number = '$ID1', code = '0012345', dues = 123450 }
  db.members:insert{ member_id = 2, name = '乙', id_number = '$ID2', code = '12345', dues = 45049 }
end)"
gh --db "$DB" export members --out e.csv --unmask
expect_rc 0 "export to CSV"
has e.csv "=\"$ID1\"" "an 18-digit ID number is written as =\"...\" (a spreadsheet keeps it as text)"
has e.csv "=\"0012345\"" "digits with a leading zero likewise"
has e.csv ",$ID2," "an ID number ending in X is text already: not guarded"
has e.csv ",12345," "a short number without a leading zero is left alone"
gh --db "$DB" export members --out e.tsv --unmask
has e.tsv "$(printf '\t%s\t' "$ID1")" "TSV (for programs) is not guarded"
DB4=$S/db4
newdb "$DB4"
gh --db "$DB4" import members e.csv
expect_rc 0 "the guarded CSV imports"
expect_value "$DB4" "db.members:get(1).id_number, db.members:get(1).code" "$ID1	0012345" "the guard is removed on import"
gh --db "$DB4" export members --out e2.csv --unmask
cmp -s e.csv e2.csv && pass "export -> import -> export: the same bytes" || { fail "the round trip differs"; diff e.csv e2.csv >&2; }

# ---- money in an xlsx export: number cells with a money format -------------------------------------
gh --db "$DB" export members --out money.xlsx --fields member_id,dues
if [ "$RC" -ne 0 ] && grep -qi "plugin" "$S/err"; then
  echo "skip: the xlsx plugin is not built" >&2
else
  expect_rc 0 "export to xlsx"
  for f in money.xlsx; do
    if python3 - "$S/$f" <<'EOF'
import re, sys, zipfile
z = zipfile.ZipFile(sys.argv[1])
sheet = z.read('xl/worksheets/sheet1.xml').decode()
styles = z.read('xl/styles.xml').decode()
cells = re.findall(r'<c r="B([23])"([^>]*)>(.*?)</c>', sheet)
assert len(cells) == 2, cells
for row, attrs, body in cells:
    assert 't=' not in attrs, ('a text cell', row, attrs)   # a number cell
    s = int(re.search(r's="(\d+)"', attrs).group(1))
    xfs = re.search(r'<cellXfs[^>]*>(.*?)</cellXfs>', styles, re.S).group(1)
    xf = re.findall(r'<xf [^>]*>', xfs)[s]
    fmt = int(re.search(r'numFmtId="(\d+)"', xf).group(1))
    code = re.search(r'<numFmt numFmtId="%d" formatCode="([^"]*)"' % fmt, styles)
    assert fmt == 4 or (code and code.group(1) == '#,##0.00'), (fmt, code)
vals = [float(re.search(r'<v>([^<]*)</v>', b).group(1)) for _, _, b in cells]
assert vals == [1234.5, 450.49], vals
EOF
    then pass "$f: money is a number cell in yuan with the format #,##0.00 (SUM adds it)"
    else fail "$f: the money cells"; fi
  done
fi

# ---- a ;-separated file (Excel where the decimal mark is a comma) ----------------------------------
DB=$S/db5
newdb "$DB"
printf '%s\r\n' 'member_id;name;note' '1;甲;a,b' '2;"乙;丙";' >semi.csv
gh --db "$DB" import members semi.csv
expect_rc 0 "a semicolon-separated file" && expect_err "separates its cells with semicolons" "the notice says so"
expect_value "$DB" "db.members:get(1).note, db.members:get(2).name" "a,b	乙;丙" "its cells (a comma inside, a quoted ;)"

# ---- duplicates name the earlier row; blank lines are counted ---------------------------------------
printf '%s\r\n' 'member_id,name,id_number' "3,丁,$ID1" '' "4,戊,$ID2" '   ' '' "5,己,$ID1" "3,庚," >dup.csv
gh --db "$DB" import members dup.csv
expect_rc 3 "duplicates in the file"
has dup.csv.rejects.csv "that record comes from line 2 of this file" "a duplicate ID number names the earlier line"
has dup.csv.rejects.csv "line 2 of this file has the same key" "a duplicate key names the earlier line"
expect_out "3 blank rows skipped" "empty lines (and one of spaces) are counted as skipped"
gh --db "$DB" runs
ID=$(awk '$NF == "dup.csv" {print $1}' "$S/out" | tail -1)
gh --db "$DB" runs show "$ID"
expect_out "3 blank skipped" "the run record counts them"

# ---- an earlier rejects file is never deleted silently ---------------------------------------------
echo '# my fixes' >>dup.csv.rejects.csv
printf '%s\r\n' 'member_id,name' '6,辛' >dup.csv
gh --db "$DB" import members dup.csv
expect_rc 0 "a clean re-import"
expect_err "the rejects file of an earlier import is kept as dup.csv.rejects.csv.old" "says where the old rejects went"
[ ! -e dup.csv.rejects.csv ] && grep -q '# my fixes' dup.csv.rejects.csv.old &&
  pass "no stale rejects file; the edited one is kept as .old" || fail "rejects after a clean re-import: $(ls dup.csv*)"
gh --db "$DB" import members dup.csv --rejects dup.csv
expect_rc 1 "--rejects naming the file being imported" && expect_err "is the file being imported" "is refused"
[ -s dup.csv ] && pass "and the file is left alone" || fail "the imported file was moved"

finish
