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

python3 - "$ROOT/README.md" "$S" <<'PY' || { fail "extracting the chapter"; finish; }
import sys, re, os
text = open(sys.argv[1], encoding='utf-8').read()
out = sys.argv[2]
start = text.index('\n## The activity register, union building and the ten-things report\n')
end = text.index('\n## ', start + 5)
ch = text[start:end]
# blocks with the prose before each; a csv block takes the next name of the
# *.csv files the prose since the last other block names in backticks
parts = re.split(r'```(\w+)\n(.*?)```', ch, flags=re.S)
names, steps, sheets = [], [], 0
i = 0
prose = parts[0]
blocks = []
while i + 2 < len(parts):
    kind, body, after = parts[i + 1], parts[i + 2], parts[i + 3] if i + 3 < len(parts) else ''
    blocks.append((kind, body, prose))
    prose = after
    i += 3
for k, (kind, body, before) in enumerate(blocks):
    if kind == 'csv':
        if not names or k == 0 or blocks[k - 1][0] != 'csv':
            names = [n for n in re.findall(r'`([^`\s]+\.csv)`', before) if 'refusals' not in n and '公示' not in n]
        name = names.pop(0)
        open(os.path.join(out, name), 'w', encoding='utf-8').write(body)
        sheets += 1
    elif kind == 'sh':
        want = blocks[k + 1][1] if k + 1 < len(blocks) and blocks[k + 1][0] == 'text' else ''
        steps.append(([l for l in body.splitlines() if l.startswith('gonghui ')], want))
with open(os.path.join(out, 'steps.txt'), 'w', encoding='utf-8') as f:
    for n, (cmds, want) in enumerate(steps):
        open(os.path.join(out, 'want%d.txt' % n), 'w', encoding='utf-8').write(want)
        for c in cmds:
            f.write('%d\t%s\n' % (n, c))
print(sheets)
PY

n_steps=0
while IFS="$(printf '\t')" read -r step cmd; do
  rest=${cmd#gonghui }
  # shellcheck disable=SC2086 # the README's words, split as a shell would
  eval "set -- $rest"
  args=""
  for a in "$@"; do
    case $a in scripts/*) a=$ROOT/$a ;; esac
    args="$args $(printf '%s' "$a" | sed "s/'/'\\\\''/g; s/^/'/; s/\$/'/")"
  done
  eval "\"\$BIN\" $args" >>"$S/got$step.txt" 2>>"$S/err$step.txt"
  rc=$?
  case $cmd in
    *sessions=活动.csv*|*attendance=签到.csv*|*nominations=推荐.csv*)
      [ "$rc" -eq 1 ] || fail "'$cmd': exit code $rc, expected 1 (rows refused)" ;;
    *) [ "$rc" -eq 0 ] || { fail "'$cmd': exit code $rc"; cat "$S/err$step.txt" >&2; } ;;
  esac
  n_steps=$((n_steps + 1))
done <"$S/steps.txt"
[ "$n_steps" -ge 14 ] && pass "ran the chapter's $n_steps commands" || fail "only $n_steps commands found"

python3 - "$S" <<'PY' && pass "every output is as the chapter shows it" || fail "an output differs from the chapter"
import sys, os, glob
s = sys.argv[1]
bad = 0
for w in sorted(glob.glob(os.path.join(s, 'want*.txt'))):
    n = w[len(os.path.join(s, 'want')):-4]
    want = [l for l in open(w, encoding='utf-8').read().splitlines() if l.strip()]
    got = open(os.path.join(s, 'got%s.txt' % n), encoding='utf-8').read().splitlines()
    j = 0
    for l in want:
        if l == '...':
            continue
        while j < len(got) and got[j].rstrip() != l.rstrip():
            j += 1
        if j == len(got):
            print('step %s: the line\n  %s\nis not in the output (in order):\n%s' % (n, l, '\n'.join(got)), file=sys.stderr)
            bad += 1
            break
        j += 1
sys.exit(1 if bad else 0)
PY

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
lua go.lua <<'LUA'
local t0 = os.clock()
while not io.open(params.go) do
  if os.clock() - t0 > 60 then error('no go file') end
end
LUA
gh --db "$DB" run "$S/race.lua"
expect_rc 0 "the race sheet"
( "$BIN" --db "$DB" run "$S/go.lua" go="$S/go" && "$BIN" --db "$DB" run "$ROOT/scripts/activity/register.lua" year=2025 attendance=race.csv ) >"$S/ra.out" 2>"$S/ra.err" &
RA=$!; track $RA
( "$BIN" --db "$DB" run "$S/go.lua" go="$S/go" && "$BIN" --db "$DB" run "$ROOT/scripts/activity/register.lua" year=2025 attendance=race.csv ) >"$S/rb.out" 2>"$S/rb.err" &
RB=$!; track $RB
sleep 0.3
touch "$S/go"
reap $RA; reap $RB
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
