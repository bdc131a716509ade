#!/bin/sh
# ten_things.sh BINARY SCRATCH — the README chapter "The activity register,
# union building and the ten-things report" runs as written on the sample
# registry: its sheets, its commands in order with the exit codes and outputs
# it shows; then the workbook's sheets and charts, the public list masked, a
# sheet entered again entering nothing twice, the page in Chinese, the year
# report counting the programs, a session cancelled leaving both roads, and a
# record changed behind the programs' backs failing the page with exit 1.
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
. "$(dirname "$0")/lib.sh"
setup "$@"

run_chapter --exit1 '*sessions=活动.csv*' --exit1 '*attendance=签到.csv*' --exit1 '*nominations=推荐.csv*' \
  --min 14 '## The activity register, union building and the ten-things report'

DB=$S/act.db
grep -q '活动.csv,4,unknown' "$S/活动.refusals.csv" && pass "the refusals file names file, line and code" || fail "活动.refusals.csv lacks line 4"

# the workbook: four sheets, four native charts
python3 - "$S/十件实事2025.xlsx" <<'PY' && pass "the workbook has its four sheets and four charts" || fail "the workbook"
import sys, zipfile
z = zipfile.ZipFile(sys.argv[1])
n = z.namelist()
sheets = [x for x in n if x.startswith('xl/worksheets/sheet')]
charts = [x for x in n if x.startswith('xl/charts/chart')]
wb = z.read('xl/workbook.xml').decode('utf-8')
assert len(sheets) == 4 and len(charts) == 4, (sheets, charts)
assert 'name="ten things"' in wb and 'name="check"' in wb, wb
PY

# the published list: masked names, ID numbers and phones
if grep -q '李\*会' "$S/之星公示.csv" && ! grep -q '李振会' "$S/之星公示.csv" && ! grep -q '330212197601017751' "$S/之星公示.csv"; then
  pass "the stars' public list is masked"
else
  fail "the stars' public list shows a name or an ID number in full"
fi

# a sheet entered again enters nothing twice
gh --db "$DB" run "$ROOT/scripts/activity/register.lua" year=2025 sessions=活动.csv
expect_rc 1 "re-entering the sessions" && expect_out "活动.csv: 11 rows: 0 entered, 9 already entered, 2 refused; 0.00 yuan" "nothing twice"
gh --db "$DB" run "$ROOT/scripts/unionbuild/build.lua" year=2025 sync=1
expect_out "joint unions 0 covering 0 enterprises; members joined 0, of them new-employment-form workers 0 (entered before: 5)" "sync again enters nothing new"

# the page in Chinese
LANG=zh_CN.UTF-8 gh --db "$DB" run "$ROOT/scripts/ten_things/report.lua" year=2025 union=24
expect_rc 0 "the town's page" && expect_out "钟公庙街道总工会2025年为职工办十件实事" "the town's heading" &&
  expect_out "序号" "Chinese column headers" && expect_out "一致" "the check in Chinese" &&
  expect_out "八、发展工会会员：发展会员1人，其中新就业形态劳动者0人。" "the town's members" && pass "the town's page in Chinese"

# the year report counts both programs, log = records
gh --db "$DB" run "$ROOT/scripts/year_report/report.lua" year=2025
expect_rc 0 "the year report" && expect_out "2025年职工活动" "the register in the year report" &&
  expect_out "2025年工会组建与会员发展" "union building in the year report" && pass "the year report counts them"

# a session cancelled leaves the page on both roads
gh --db "$DB" run "$ROOT/scripts/activity/register.lua" year=2025 cancel=BQ-0001 reason=重复登记
expect_rc 0 "cancel" && expect_out "session BQ-0001 reversed: 5 entries" "the session and its four people"
gh --db "$DB" run "$ROOT/scripts/ten_things/report.lua" year=2025
expect_rc 0 "the page after the cancel" && expect_out "在2家企业开展“班前十分钟”宣讲2场，职工参与55人次" "the talk line without BQ-0001" &&
  expect_out "agree on every figure" "both roads agree"

# two clerks entering the same sign-in sheet at the same moment: everyone once
gh --db "$DB" run "$ROOT/scripts/activity/register.lua" year=2025 session=RACE-1 kind=class day=2025-10-10 union=24 title=并发测试
expect_rc 0 "a session from parameters" && expect_out "session RACE-1: 公益课堂 on 2025-10-10" "the session"
lua race.lua <<'LUA'
local rows = { { '活动编号', '身份证号' } }
for m in db.members:scan{ status = 'active' } do
  if #rows > 300 then break end
  rows[#rows + 1] = { 'RACE-1', m.id_number }
end
local f = run.open('race.csv', 'w'); run.write_csv(f, rows); f:close()
LUA
gh --db "$DB" run "$S/race.lua"
expect_rc 0 "the race sheet"
race "$S/ra" "$BIN" --db "$DB" run "$ROOT/scripts/activity/register.lua" year=2025 attendance=race.csv
race "$S/rb" "$BIN" --db "$DB" run "$ROOT/scripts/activity/register.lua" year=2025 attendance=race.csv
race_go
ea=$(sed -n 's/.* rows: \([0-9]*\) entered, \([0-9]*\) already.*/\1 \2/p' "$S/ra.out")
eb=$(sed -n 's/.* rows: \([0-9]*\) entered, \([0-9]*\) already.*/\1 \2/p' "$S/rb.out")
gh --db "$DB" run -e "local n = 0; for e in db.program_entries:scan{ index = 'program,kind', eq = { 'activity-2025', 'class' } } do if e.session == 'RACE-1' and e.member_id then n = n + 1 end end; print(n)"
if [ "$(cat "$S/out")" = "300" ] && [ "$(( ${ea% *} + ${eb% *} ))" = "300" ] && [ "$(( ${ea#* } + ${eb#* } ))" = "300" ]; then
  pass "two clerks at once: 300 people entered once ($ea / $eb entered / already)"
else
  fail "two clerks at once: $(cat "$S/out") entries; A: $ea, B: $eb"; cat "$S/ra.err" "$S/rb.err" >&2
fi

# a union's own list of lines, from the current folder
cat >"$S/我们的十件实事.lua" <<'EOF'
return { title = '街道实事', lines = {
  { title = '班前宣讲', program = 'activity', kinds = { 'talk' }, says = '宣讲{sessions}场、{person_times}人次' },
} }
EOF
gh --db "$DB" run "$ROOT/scripts/ten_things/report.lua" year=2025 lines=我们的十件实事.lua
expect_rc 0 "a page of our own lines" && expect_out "一、班前宣讲：宣讲2场、55人次。" "our own line" && pass "a page of a union's own lines"

# a record changed behind the programs' backs: the page names it and exits 1
gh --db "$DB" run -e "local e = db.program_entries:find('program,key', { 'activity-2025', 'S:BQ-0002' }); db.program_entries:update(e.entry_id, { heads = 40 })"
gh --db "$DB" run "$ROOT/scripts/ten_things/report.lua" year=2025
expect_rc 1 "a tampered record" && expect_out "line 1 班前十分钟安全宣讲: person_times 55 (log) vs 60 (records)" "the figure is named" &&
  no_err "traceback" "no traceback"

finish
