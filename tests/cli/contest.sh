#!/bin/sh
# contest.sh BINARY SCRATCH — the skills-contest scripts (scripts/contest/)
# end to end, as a clerk runs them, on the fixed registry of
# tests/lua/program_fixtures.lua and a contest whose ranking was worked out
# by hand: setup, a sheet of entries with a bad line, a judge conflict
# refused, a marking sheet with a spread flag, lock refused then done, a
# change refused without a reason and recorded with one, the ranking (a
# tie-break and a shared rank), titles twice (nothing twice), a title moving
# after a late change, the titles list masked, verify/revoke, the frozen
# scheme. Refusals exit 1 with "refused: ..." and no traceback.
. "$(dirname "$0")/lib.sh"
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
setup "$@"
SC=$ROOT/scripts/contest
DB=$S/db
cp "$ROOT/tests/lua/program_fixtures.lua" "$S/"

lua make.lua <<'LUA'
local fx = require 'program_fixtures'
fx.load()
local f = run.open('entries.csv', 'w')
f:write('\239\187\191id_number,bib\r\n')
for _, m in ipairs{ 1, 3, 4, 10 } do f:write(fx.id(m), ',\r\n') end
f:write('330481199001011235,\r\n')         -- a wrong check character
f:close()
print(fx.id(11) .. ' ' .. fx.id(9))
LUA

# by hand (hundredths): A1 10.00 if 24.98 <= x <= 25.02; A2 5.00 if yes; B1 100 per score point
#   bib member  A1          A2       B1                  total  rank
#   1   王建国  25.01 1000  yes 500  3,3,3 900            2400   1
#   2   张伟    25.03    0  yes 500  2,2,2 600            1100   4 } equal total and B1: shared
#   3   刘洋    24.98 1000  no    0  3,3,2 800            1800   2 } equal totals: B1 decides
#   4   吴芳    25.00 1000  yes 500  1,1,1 300            1800   3 }
#   5   丁一    25.05    0  yes 500  3,2,1 600 flagged    1100   4 }  (re-scored 2,2,2)
cat >"$S/weld.lua" <<'EOF2'
return {
  id = 'weld-2025', title = '2025年职工技能大赛·焊工', year = 2025, trade = '焊工',
  spread = 1, tie_break = { 'B1' }, titles = { top = 2 },
  aspects = {
    { code = 'A1', kind = 'measurement', title = '焊缝宽度', max = '10.00', nominal = '25.00', tolerance = '0.02', unit = 'mm' },
    { code = 'A2', kind = 'measurement', title = '无裂纹', max = 5 },
    { code = 'B1', kind = 'judgement', title = '焊缝成形', max = '9.00' },
  },
  judges = {
    { judge = 'J1', name = '沈国强', organisation = '嘉兴技师学院' },
    { judge = 'J2', name = '钱伟', enterprise_id = 4 },
    { judge = 'J3', name = '孙丽', organisation = '海宁职业高级中学' },
  },
}
EOF2
cat >"$S/marks.csv" <<'EOF2'
bib,aspect,value,reason
1,A1,25.01
1,A2,yes
1,B1,J1:3 J2:3 J3:3
2,A1,25.03
2,A2,yes
2,B1,J1:2 J2:2 J3:2
3,A1,24.98
3,A2,no
3,B1,J1:3 J2:3 J3:2
4,A1,25.00
4,A2,yes
4,B1,J1:1 J2:1 J3:1
5,A1,25.05
5,A2,yes
5,B1,J1:3 J2:2 J3:1
EOF2

gh --db "$DB" run "$S/make.lua"
expect_rc 0 "the fixture registry" || finish
ID11=$(cut -d' ' -f1 "$S/out")
ID9=$(cut -d' ' -f2 "$S/out")

gh --db "$DB" run "$SC/setup.lua" file="$S/weld.lua"
expect_rc 0 "setup" && expect_out "weld-2025 2025年职工技能大赛·焊工 (2025): scheme version 1 stored" "setup" &&
  expect_out "25 ± 0.02 mm" "setup shows the tolerance" && expect_out "total 24.00" "setup shows the total" &&
  pass "setup stores the contest, its scheme and judges"

gh --db "$DB" run "$SC/enter.lua" contest=weld-2025 file="$S/entries.csv"
expect_rc 1 "a sheet with a bad line" && expect_out "entries.csv:6:" "the bad line's number" &&
  expect_out "5 lines: 4 entered now, 0 entered before, 1 refused" "the sheet's counts" &&
  expect_err "1 line refused" "the sheet's refusal" && no_err "traceback" "no traceback" &&
  pass "entries: a sheet's good lines are stored, the bad one is named by line"
gh --db "$DB" run "$SC/enter.lua" contest=weld-2025 id="$ID11"
expect_rc 0 "one entry" && expect_out "entered: bib 5, 丁一 (330481********" "one entry by ID number" &&
  pass "one contestant entered by ID number gets the next bib"

# J4 from enterprise 2, where 张伟 (bib 2) works: refused, nothing stored
sed 's/judges = {/judges = { { judge = "J4", name = "周强", enterprise_id = 2 },/' "$S/weld.lua" >"$S/weld-j4.lua"
gh --db "$DB" run "$SC/setup.lua" file="$S/weld-j4.lua"
expect_rc 1 "a conflicting judge" &&
  expect_err "refused: contest 'weld-2025': judge J4 (周强) is from 海宁恒达物流有限公司 (enterprise 2), the enterprise of contestant 张伟 (bib 2)" \
    "the conflict names judge, enterprise and contestant" && no_err "traceback" "no traceback" &&
  pass "a judge from a contestant's enterprise is refused"
gh --db "$DB" run -e 'print(db.contest_judges:count())'
expect_out "3" "the refused setup stored nothing" && pass "the refused setup stored nothing"
# a judge dropped from the file before marking is taken off the contest
sed 's/{ judge = .J3., name = .孙丽., organisation = .海宁职业高级中学. },//' "$S/weld.lua" >"$S/weld-no-j3.lua"
gh --db "$DB" run "$SC/setup.lua" file="$S/weld-no-j3.lua"
grep -qx 'judges: J1 沈国强, J2 钱伟' "$S/out" || fail "J3 is still listed: $(grep judges "$S/out")"
expect_rc 0 "setup without J3" &&
  expect_out "note: judge J3 (孙丽) is no longer listed: taken off the contest" "the note" && pass "a judge left out of the file is taken off"
gh --db "$DB" run "$SC/setup.lua" file="$S/weld.lua"
expect_rc 0 "setup with J3 again" && expect_out "judges: J1 沈国强, J2 钱伟, J3 孙丽" "J3 is back"

# a sixth contestant who does not come: withdrawn, the lock does not wait for the marks
gh --db "$DB" run "$SC/enter.lua" contest=weld-2025 id="$ID9"
expect_rc 0 "a sixth entry" && expect_out "entered: bib 6, 周涛" "bib 6"
gh --db "$DB" run "$SC/withdraw.lua" contest=weld-2025 bib=6 reason=未到场
expect_rc 0 "withdraw" && expect_out "withdrawn" "withdraw" && pass "a contestant withdraws"

gh --db "$DB" run "$SC/mark.lua" contest=weld-2025 file="$S/marks.csv"
expect_rc 0 "the marking sheet" && expect_out "15 lines: 15 marked, 0 changed, 0 unchanged, 0 refused; 1 flagged" "the sheet's counts" &&
  expect_out "marks.csv:16: marked: bib 5 B1 = J1:3 J2:2 J3:1 -> 6.00  FLAGGED" "the flagged line" &&
  pass "a marking sheet: every mark stored, the spread flagged"
gh --db "$DB" run "$SC/mark.lua" contest=weld-2025 file="$S/marks.csv"
expect_rc 0 "the sheet again" && expect_out "15 lines: 0 marked, 0 changed, 15 unchanged" "the sheet again" &&
  pass "entering the same sheet again changes nothing"

gh --db "$DB" run "$SC/contests.lua" year=2025
expect_rc 0 "contests" && expect_out "2025: 1 contests" "contests" &&
  expect_out "weld-2025  2025年职工技能大赛·焊工  2025  marking            5  15/15      1       0" "the overview row" &&
  pass "the overview: stage, contestants, marks, flags, titles"
gh --db "$DB" run "$SC/lock.lua" contest=weld-2025
expect_rc 1 "lock with a flag open" && expect_err "refused: contest 'weld-2025' cannot be locked: 1 judgement(s) flagged" "lock refused" &&
  expect_err "bib 5: B1 (J1:3 J2:2 J3:1)" "lock names the flag" && pass "lock is refused while a flag is open"
gh --db "$DB" run "$SC/mark.lua" contest=weld-2025 bib=5 aspect=B1 value='J1:2 J2:2 J3:2'
expect_rc 0 "re-scoring" && expect_out "changed: bib 5 B1 = J1:2 J2:2 J3:2 -> 6.00" "re-scoring" && pass "the judges score again"
gh --db "$DB" run "$SC/lock.lua" contest=weld-2025
expect_rc 0 "lock" && expect_out "locked: weld-2025 at" "lock" && pass "lock"

# copies of the locked contest where 2025 has 9,998 and 999,999 certificates already
lua last.lua <<'LUA'
local contest = require 'contest'
contest.define_collections()
local seq = tonumber(params.seq)
db.contest_certificates:insert{ cert_no = contest.cert_number(2025, seq), year = 2025, seq = seq, contest = 'fixture',
  member_id = 1, title = 'fixture', issued_at = '2025-01-01 09:00:00', status = 'valid' }
LUA
for last in 9998 999999; do
  cp -r "$DB" "$S/db$last"
  gh --db "$S/db$last" run "$S/last.lua" seq=$last
  expect_rc 0 "certificate $last" || finish
done
gh --db "$S/db9998" run "$SC/titles.lua" contest=weld-2025
expect_rc 0 "titles past 9,999" && expect_out "rank 1, 24.00 marks: JN2025-9999-" "the 9,999th: 13 characters" &&
  expect_out "rank 2, 18.00 marks: JN2025-010000-3" "the 10,000th: 15 characters" && pass "the 10,000th certificate of a year gets the wide number"
gh --db "$S/db9998" run "$SC/verify.lua" number=jn2025010000-3
expect_rc 0 "verify wide" && expect_out "valid: JN2025-010000-3, 操作技术能手" "a wide number verifies" && pass "a wide number typed loosely verifies"
gh --db "$S/db9998" run "$SC/verify.lua" number=JN2025-010900-3
expect_out "mistyped: JN2025-010900-3" "a typo in a wide number" && pass "a typo in a wide number is caught"
gh --db "$S/db999999" run "$SC/titles.lua" contest=weld-2025
expect_rc 1 "titles past 999,999" && expect_err "refused: contest 'weld-2025': 2025 already has 999999 contest certificates" "the refusal" &&
  no_err "traceback" "no traceback" && pass "past 999,999 a year: a refusal"
LANG=zh_CN.UTF-8 "$BIN" --db "$S/db999999" run "$SC/titles.lua" contest=weld-2025 >"$S/out" 2>"$S/err"
RC=$?
expect_rc 1 "titles past 999,999 in Chinese" && expect_err "999999" "the limit named" && no_err "already has" "in Chinese" &&
  pass "the refusal in Chinese"
gh --db "$S/db999999" run "$SC/list.lua" year=2025
expect_rc 0 "list after the refusal" && expect_out "2025: 1 titles" "only the fixture" && pass "nothing of the refused run is stored"

gh --db "$DB" run "$SC/ranking.lua" contest=weld-2025 csv=ranking.csv
expect_rc 0 "ranking" && expect_out "withdrawn: 未到场" "the withdrawn contestant is listed" || show_output
got=$(awk '/^ *[-0-9]+ +[0-9]+  / { t = ($NF ~ /能手/) ? $(NF-1) " " $NF : $NF; print $1, $2, t }' "$S/out" | tr '\n' ';')
if [ "$got" = "1 1 24.00 操作技术能手;2 3 18.00 操作技术能手;3 4 18.00;4 2 11.00;4 5 11.00;- 6 未到场;" ]; then
  pass "ranking: 1, 2, 3 (B1 breaks the tie), 4, 4 (shared); titles for the top 2"
else
  fail "ranking: got '$got'"; show_output
fi
if [ -f "$S/ranking.csv" ] && grep -q "刘洋" "$S/ranking.csv"; then pass "ranking.csv written"; else fail "ranking.csv"; fi

gh --db "$DB" run "$SC/titles.lua" contest=weld-2025
expect_rc 0 "titles" && expect_out "2 titles awarded now, 0 before" "titles" && expect_out "awarded: 操作技术能手 王*国, rank 1, 24.00 marks: JN2025-0001-" "title 1" &&
  pass "titles by rule, with certificates"
NO1=$(sed -n 's/.*王\*国.*: \(JN2025-0001-.\)$/\1/p' "$S/out")
gh --db "$DB" run "$SC/titles.lua" contest=weld-2025
expect_rc 0 "titles again" && expect_out "0 titles awarded now, 2 before" "titles again" && pass "re-running titles issues nothing twice"

gh --db "$DB" run "$SC/mark.lua" contest=weld-2025 bib=4 aspect=B1 value='J1:3 J2:3 J3:3'
expect_rc 1 "a change after the lock without a reason" && expect_err "needs a reason (reason=...)" "the refusal" &&
  no_err "traceback" "no traceback" && pass "after the lock a change without a reason is refused"
gh --db "$DB" run "$SC/mark.lua" contest=weld-2025 bib=4 aspect=B1 value='J1:3 J2:3 J3:3' reason='仲裁组复评'
expect_rc 0 "a change with a reason" && expect_out "changed: bib 4 B1 = J1:3 J2:3 J3:3 -> 9.00" "the change" && pass "a change with a reason"
gh --db "$DB" run "$SC/changes.lua" contest=weld-2025
expect_rc 0 "changes" && expect_out "2 changes" "changes" && expect_out "仲裁组复评" "the reason is recorded" &&
  expect_out "J1:1 J2:1 J3:1  J1:3 J2:3 J3:3      3.00      9.00  after" "the change row" && pass "the change log"
# bib 4 now 24.00, equal with bib 1 on total and B1: both rank 1; bib 3 is third
gh --db "$DB" run "$SC/titles.lua" contest=weld-2025
expect_rc 0 "titles after the change" && expect_out "awarded: 操作技术能手 吴*, rank 1, 24.00 marks: JN2025-0003-" "the new title" &&
  expect_out "no longer qualifies: 刘* (bib 3), certificate JN2025-0002-" "the lost place" &&
  expect_out "1 titles awarded now, 1 before, 1 no longer qualify" "the counts" && pass "a late change: a new title, a lost one reported"

gh --db "$DB" run "$SC/list.lua" year=2025 csv=titles.csv
expect_rc 0 "list" && expect_out "2025: 3 titles" "list" && expect_out "330481********" "masked IDs" && pass "the titles list"
if grep -q "33048119" "$S/out" "$S/titles.csv"; then fail "the titles list shows a whole ID number"; fi
if grep -q "^JN2025-0001-.,王建国,330481\*\*\*\*\*\*\*\*" "$S/titles.csv"; then pass "titles.csv written, masked"; else fail "titles.csv"; fi

gh --db "$DB" run "$SC/verify.lua" number="$NO1"
expect_rc 0 "verify" && expect_out "valid: $NO1, 操作技术能手 王*国 (330481********" "verify valid" && pass "verify: valid"
gh --db "$DB" run "$SC/verify.lua" number="$(echo "$NO1" | sed 's/0001/0007/')"
expect_out "mistyped:" "verify a mistyped number" && pass "verify: mistyped"
gh --db "$DB" run "$SC/revoke.lua" number="$NO1" reason=冒名顶替
expect_rc 0 "revoke" && expect_out "revoked" "revoke" && pass "revoke"
gh --db "$DB" run "$SC/verify.lua" number="$NO1"
expect_out "revoked: $NO1" "verify revoked" && expect_out "revoked: 冒名顶替" "the reason" && pass "verify: revoked, with the reason"

sed 's/max = 5 }/max = 6 }/' "$S/weld.lua" >"$S/weld-v2.lua"
gh --db "$DB" run "$SC/setup.lua" file="$S/weld-v2.lua"
expect_rc 1 "a scheme change after marking" && expect_err "the marking scheme is frozen (version 1" "frozen" &&
  pass "the scheme cannot change after marking started"
gh --db "$DB" run "$SC/mark.lua" contest=weld-2025
expect_rc 1 "usage" && expect_err "usage: mark.lua" "usage" && no_err "traceback" "usage without a traceback" &&
  pass "a missing parameter: the usage line"
gh --db "$DB" check
expect_rc 0 "check" && pass "check is clean"
finish
