#!/bin/sh
# xlsx.sh BINARY SCRATCH — Excel workbooks through the xlsx plugin: `gonghui
# export --format xlsx` / `--out FILE.xlsx` and the REPL's `.once FILE.xlsx`.
# The files are read back with python3's zipfile and xml.etree: ID numbers
# are text cells with every digit, numbers are numbers, the header row is
# frozen, a Chinese column is wider than an ASCII one.
. "$(dirname "$0")/lib.sh"
setup "$@"

if ! command -v python3 >/dev/null 2>&1; then
  echo "skip: python3 is needed to read the .xlsx files" >&2
  exit 0
fi

DB=$S/db
lua make.lua <<'EOF2'
db.define('members', {
  key    = 'member_id',
  fields = { member_id = 'int', name = 'string', id_number = 'string', phone = 'string?',
             code = 'string?', score = 'number?' },
})
db.atomic(function()
  db.members:insert{ member_id = 1, name = '中华人民共和国浙江省杭州市职工', id_number = '330481199001011236',
                     phone = '13800001111', code = 'ab', score = 12.5 }
  db.members:insert{ member_id = 2, name = '李娜', id_number = '33021219700615441X',
                     code = '=1+1', score = 3 }
end)
EOF2
gh --db "$DB" run "$S/make.lua"
expect_rc 0 "making the database" || finish

cat >"$S/check.py" <<'EOF2'
import sys, zipfile, xml.etree.ElementTree as ET
NS = {'m': 'http://schemas.openxmlformats.org/spreadsheetml/2006/main'}
path, want_cols = sys.argv[1], sys.argv[2].split(',')
z = zipfile.ZipFile(path)
strings = []
if 'xl/sharedStrings.xml' in z.namelist():
    for si in ET.fromstring(z.read('xl/sharedStrings.xml')).findall('m:si', NS):
        strings.append(''.join(t.text or '' for t in si.iter('{%s}t' % NS['m'])))
sheet = ET.fromstring(z.read('xl/worksheets/sheet1.xml'))
rows = []
for row in sheet.find('m:sheetData', NS).findall('m:row', NS):
    cells = {}
    for c in row.findall('m:c', NS):
        col = ''.join(ch for ch in c.get('r') if ch.isalpha())
        v = c.find('m:v', NS)
        is_ = c.find('m:is', NS)
        if c.get('t') == 's':
            cells[col] = ('str', strings[int(v.text)])
        elif c.get('t') == 'inlineStr':
            cells[col] = ('str', ''.join(t.text or '' for t in is_.iter('{%s}t' % NS['m'])))
        elif v is not None:
            cells[col] = ('num', v.text)
    rows.append(cells)
pane = sheet.find('m:sheetViews/m:sheetView/m:pane', NS)
widths = {}
cols = sheet.find('m:cols', NS)
for c in (cols.findall('m:col', NS) if cols is not None else []):
    for i in range(int(c.get('min')), int(c.get('max')) + 1):
        widths[chr(ord('A') + i - 1)] = float(c.get('width'))
header = [rows[0][k][1] for k in sorted(rows[0])]
print('header=' + ','.join(header))
print('frozen=%s' % (pane is not None and pane.get('ySplit') == '1' and pane.get('state') == 'frozen'))
for name in want_cols:
    col = chr(ord('A') + header.index(name))
    print('width.%s=%s' % (name, widths.get(col)))
    for r in rows[1:]:
        kind, val = r.get(col, ('none', ''))
        print('%s=%s:%s' % (name, kind, val))
EOF2

# wider FILE A B WHAT: column A is wider than column B
wider() {
  a=$(sed -n "s/^width\.$2=//p" "$1"); b=$(sed -n "s/^width\.$3=//p" "$1")
  if python3 -c "import sys; sys.exit(0 if float('$a') > float('$b') else 1)" 2>/dev/null; then
    pass "$4 ($a > $b)"; else fail "$4: $2 is $a wide, $3 is $b"; fi
}

# ---- export --out FILE.xlsx ---------------------------------------------------------------------
gh --db "$DB" export members --out m.xlsx --unmask
expect_rc 0 "export to .xlsx" || { show_output; finish; }
expect_out "2 records of 'members' written to m.xlsx (Excel workbook)" "the summary"
[ ! -e m.xlsx.tmp.xlsx ] && pass "no temporary file left" || fail "the temporary file is left"
python3 "$S/check.py" m.xlsx id_number,name,score,phone,member_id,code >"$S/x" 2>"$S/pyerr"
if [ $? -eq 0 ]; then pass "the .xlsx file is a readable workbook"; else fail "python3 cannot read m.xlsx"; cat "$S/pyerr" >&2; fi
has_line "$S/x" "header=member_id,code,id_number,name,phone,score" "the header row names the fields"
has_line "$S/x" "frozen=True" "the header row is frozen (pane ySplit=1)"
has_line "$S/x" "id_number=str:330481199001011236" "an 18-digit ID number is a text cell, every digit kept"
has_line "$S/x" "id_number=str:33021219700615441X" "an ID number with X is a text cell"
has_line "$S/x" "phone=str:13800001111" "a phone is a text cell"
has_line "$S/x" "member_id=str:1" "an id-like column stays text"
has_line "$S/x" "name=str:李娜" "Chinese text is kept"
has_line "$S/x" "score=num:12.5" "a plain decimal is a number cell"
has_line "$S/x" "code=str:=1+1" "text that looks like a formula is a text cell, no apostrophe"
wider "$S/x" name code "the Chinese column is wider than an ASCII one"
wider "$S/x" id_number code "the ID column fits 18 digits"

# ---- masked by default, --format xlsx -----------------------------------------------------------
gh --db "$DB" export members --out plain.bin --format xlsx
expect_rc 0 "--format xlsx"
python3 "$S/check.py" plain.bin id_number >"$S/x" 2>&1
has_line "$S/x" "id_number=str:330481********1236" "ID numbers are masked without --unmask"
gh --db "$DB" export members --out - --format xlsx
expect_rc 1 "an .xlsx file to standard output is refused"
expect_err "standard output" "and says why"


# ---- the REPL: .once FILE.xlsx --------------------------------------------------------------------
printf '%s\n' '.unmask' '.once r.xlsx' 'db.members:list{}' '.once t.xlsx' '"两个字"' |
  "$BIN" --db "$DB" repl >"$S/out" 2>"$S/err"
RC=$?
expect_rc 0 "the REPL with .once FILE.xlsx"
python3 "$S/check.py" r.xlsx id_number,name,code >"$S/x" 2>"$S/pyerr" || { fail "python3 cannot read r.xlsx"; cat "$S/pyerr" "$S/err" >&2; }
has_line "$S/x" "frozen=True" ".once: the header row is frozen"
has_line "$S/x" "id_number=str:330481199001011236" ".once: the ID number is a text cell, every digit kept"
has_line "$S/x" "name=str:李娜" ".once: Chinese text"
wider "$S/x" name code ".once: the Chinese column is wider"
python3 "$S/check.py" t.xlsx value >"$S/x" 2>"$S/pyerr" || { fail "python3 cannot read t.xlsx"; cat "$S/pyerr" "$S/err" >&2; }
has_line "$S/x" "value=str:两个字" ".once: a single value goes to one cell"
if [ -s "$S/out" ]; then fail ".once output should not reach stdout"; show_output; else pass "nothing on stdout with .once"; fi

# --- sheets and native charts from a script (the year report's use) ---------------------
cat >"$S/chart.lua" <<'EOF2'
local x = plugin.load 'xlsx'
local h = x.open('report.xlsx')
x.header(h, '镇街\t人次\t金额(元)')
x.row(h, '硖石街道\t120\t3500.5')
x.row(h, '许村镇\t80\t2100')
x.chart(h, 'column', '各镇人次', '1:2,3')
x.chart(h, 'pie', '金额', '1:3')
x.sheet(h, '明细')
x.header(h, 'id_number\tname')
x.row(h, '330481199001011234\t张三')
for _, bad in ipairs{ { 'donut', '1:2' }, { 'line', '1' }, { 'line', '1:9' }, { 'line', '1:2,' }, { 'line', '1:,2' } } do
  local ok, e = pcall(x.chart, h, 'bad', bad[1], bad[2])
  assert(not ok)
end
local ok, e = pcall(x.chart, h, 'donut', 't', '1:2')
print(e)
ok, e = pcall(x.sheet, h, 'a/b')
print(e)
x.close(h)
ok, e = pcall(x.open, '../outside.xlsx')
print(e)
EOF2
(cd "$S" && "$BIN" --db "$DB" run chart.lua) >"$S/out" 2>"$S/err"
RC=$?
expect_rc 0 "chart" && expect_out "xlsx.chart: unknown chart kind 'donut' (column, bar, line or pie)" "chart kind" &&
  expect_out "xlsx.sheet: sheet name 'a/b':" "sheet name" && pass "chart and sheet refuse bad arguments clearly"
expect_out "xlsx.open: '../outside.xlsx': scripts write files only in the output folder" "outside" &&
  [ ! -e "$S/../outside.xlsx" ] && pass "a plugin writes a script's files only in the output folder"
cat >"$S/charts.py" <<'EOF2'
import sys, zipfile, re
z = zipfile.ZipFile(sys.argv[1])
names = z.namelist()
wb = z.read('xl/workbook.xml').decode()
print('sheets', re.findall(r'<sheet name="([^"]+)"', wb))
print('charts', len([n for n in names if re.match(r'xl/charts/chart\d+\.xml$', n)]))
c1 = z.read('xl/charts/chart1.xml').decode()
print('ranges', re.findall(r'<c:f>([^<]+)</c:f>', c1))
print('pie', '<c:pieChart>' in z.read('xl/charts/chart2.xml').decode())
EOF2
python3 "$S/charts.py" "$S/report.xlsx" >"$S/out" 2>"$S/pyerr" || { fail "python3 cannot read report.xlsx"; cat "$S/pyerr" >&2; }
expect_out "sheets ['Sheet1', '明细']" "two sheets" && expect_out "charts 2" "two charts" &&
  expect_out "'Sheet1!\$A\$2:\$A\$3', 'Sheet1!\$B\$2:\$B\$3'" "chart ranges" &&
  expect_out "pie True" "pie chart" && pass "sheets and native charts over the rows written"

finish
