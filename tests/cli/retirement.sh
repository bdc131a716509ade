#!/bin/sh
# retirement.sh BINARY SCRATCH — the glorious-retirement scripts end to end
# (scripts/retirement/): the honor list in stroke order, on screen and as
# .csv and .xlsx files (read back with python3's zipfile), a certificate
# issued, verified by its number, and the list showing it.
. "$(dirname "$0")/lib.sh"
setup "$@"
DB=$S/db
SC=$(cd "$(dirname "$0")/../../scripts/retirement" && pwd)

lua make.lua <<'EOF2'
local registry = require 'registry'
registry.define_all()
db.unions:insert{ union_id = 1, name = '海宁市总工会', level = 'federation' }
db.unions:insert{ union_id = 2, name = '硖石街道总工会', level = 'town', parent_id = 1, town = '硖石街道' }
db.enterprises:insert{ enterprise_id = 1, name = '海宁环境卫生有限公司', town = '硖石街道', union_id = 2 }
-- men born 1965-01-15 retire at 60 years 1 month (2025-02-15), all in 2025
local people = { { 1, '王建国' }, { 2, '丁一' }, { 3, '张伟' }, { 4, '黄河' } }
for _, p in ipairs(people) do
  local body = '33048119650115' .. string.format('%03d', p[1] * 10 + 1)
  db.members:insert{ member_id = p[1], name = p[2], gender = 'M', birth_date = '1965-01-15',
    id_number = body .. registry.id_check_char(body), phone = '1380000000' .. p[1],
    enterprise_id = 1, town = '硖石街道', category = 'factory', join_date = '1990-01-01',
    status = 'active', union_id = 2 }
end
EOF2
gh --db "$DB" run "$S/make.lua"
expect_rc 0 "registry" || finish

(cd "$S" && "$BIN" --db "$DB" run "$SC/issue.lua" union=2 year=2025) >"$S/out" 2>"$S/err"
RC=$?
expect_rc 0 "issue" && pass "certificates issued to the members due"

(cd "$S" && "$BIN" --db "$DB" run "$SC/list.lua" union=2 year=2025 csv=h.csv xlsx=h.xlsx) >"$S/out" 2>"$S/err"
RC=$?
expect_rc 0 "list" && expect_out "4 members" "list" && expect_out "written: h.csv" "csv" &&
  expect_out "h.xlsx (4 rows)" "xlsx" && pass "the honor list on screen, as .csv and .xlsx"

cat >"$S/read.py" <<'EOF2'
import sys, zipfile, re
z = zipfile.ZipFile(sys.argv[1])
names = z.namelist()
sheet = z.read('xl/worksheets/sheet1.xml').decode()
shared = []
if 'xl/sharedStrings.xml' in names:
    shared = re.findall(r'<t[^>]*>([^<]*)</t>', z.read('xl/sharedStrings.xml').decode())
cells = []
for c in re.findall(r'<c r="B(\d+)"[^>]*?(?:t="(\w+)")?[^>]*>(.*?)</c>', sheet):
    row, t, body = c
    v = re.search(r'<v>([^<]*)</v>', body)
    tt = re.search(r'<t[^>]*>([^<]*)</t>', body)
    cells.append(shared[int(v.group(1))] if t == 's' else (tt.group(1) if tt else v.group(1)))
print('names', ' '.join(cells))
EOF2
python3 "$S/read.py" "$S/h.xlsx" >"$S/out" 2>"$S/pyerr" || { fail "python3 cannot read h.xlsx"; cat "$S/pyerr" >&2; }
# surname strokes: 丁 2, 王 4, 张 7, 黄 11 (the cal plugin's stroke collation)
expect_out "names 姓名 丁一 王建国 张伟 黄河" "xlsx names in stroke order" &&
  pass "the workbook lists the names in full, in surname stroke order"
