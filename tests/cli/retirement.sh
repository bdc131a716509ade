#!/bin/sh
# retirement.sh BINARY SCRATCH — the glorious-retirement scripts end to end
# (scripts/retirement/): the honor list in stroke order, on screen and as
# .csv and .xlsx files (read back with python3's zipfile), a certificate
# issued, verified by its number, and the list showing it; a union past
# 9,999 certificates a year gets 17-character numbers that verify, and one
# past 999,999 a refusal that keeps what was issued (no traceback).
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
# two more registries whose union 2 has numbered 9,998 and 999,998 certificates in 2025
for last in 9998 999998; do
  gh --db "$S/db$last" run "$S/make.lua"
  expect_rc 0 "registry $last" || finish
  cat >"$S/last.lua" <<EOF2
local retirement = require 'retirement'
retirement.define_collections()
db.certificates:insert{ cert_no = retirement.number(2025, 2, $last), kind = 'fixture', member_id = 1, union_id = 2,
  year = 2025, seq = $last, issued_at = '2025-01-01 09:00:00', status = 'valid', delivery = 'pending' }
EOF2
  gh --db "$S/db$last" run "$S/last.lua"
  expect_rc 0 "certificate $last" || finish
done

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

(cd "$S" && "$BIN" --db "$S/db9998" run "$SC/issue.lua" union=2 year=2025) >"$S/out" 2>"$S/err"
RC=$?
expect_rc 0 "issue past 9,999" && expect_out "4 certificates issued now" "issued" || finish
(cd "$S" && "$BIN" --db "$S/db9998" run "$SC/list.lua" union=2 year=2025 csv=w.csv) >"$S/out" 2>"$S/err"
grep -c ',2025-0002-9999-.,' "$S/w.csv" >"$S/n13"; grep -c ',2025-000002-0100[0-9][0-9]-.,' "$S/w.csv" >"$S/n17"
if [ "$(cat "$S/n13") $(cat "$S/n17")" = "1 3" ]; then pass "the 9,999th number has 13 characters, the next ones 17"
else fail "numbers past 9,999: $(cat "$S/n13") of 13 and $(cat "$S/n17") of 17 characters"; cat "$S/w.csv" >&2; fi
WIDE=$(grep -o '2025-000002-010002-.' "$S/w.csv")
(cd "$S" && "$BIN" --db "$S/db9998" run "$SC/verify.lua" number="$(echo "$WIDE" | tr -d -)") >"$S/out" 2>"$S/err"
RC=$?
expect_rc 0 "verify wide" && expect_out "valid: $WIDE" "a 17-character number verifies" && pass "a wide number typed without dashes verifies"

(cd "$S" && LANG=zh_CN.UTF-8 "$BIN" --db "$S/db999998" run "$SC/issue.lua" union=2 year=2025) >"$S/out" 2>"$S/err"
RC=$?
expect_rc 1 "issue past 999,999" && expect_err "999999" "the limit named" && no_err "traceback" "no traceback" &&
  no_err "stack" "no stack" && expect_err "3" "how many are left" && pass "past 999,999 a union a year: a refusal"
(cd "$S" && "$BIN" --db "$S/db999998" run "$SC/list.lua" union=2 year=2025 csv=r.csv) >"$S/out" 2>"$S/err"
if grep -q ',2025-000002-999999-.,' "$S/r.csv"; then pass "what was issued before the refusal stays"
else fail "the 999,999th certificate was not kept"; cat "$S/r.csv" >&2; fi
finish
