#!/bin/sh
# sanatorium.sh BINARY SCRATCH — the README chapter "Workers' sanatorium and
# the check-up van" runs as written on the sample database (its commands in
# order, with the outputs it shows; the closing's `after` is moved to a few
# seconds past the host's clock, which draw v2 checks, and the allocation
# waits for it: no speed is assumed either way); the public list shows no
# full ID number; allocating again gives the same allocation, another seed
# or public value is refused, a forged allocation.csv and a tampered draw
# record are named; then two clerks placing the same workers into two
# years' programs at the same moment never give anyone two stays within
# the exclusion period.
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
. "$(dirname "$0")/lib.sh"
setup "$@"

# ---- the chapter, as written ----------------------------------------------------------
# draw v2 checks `after` against the host's clock (never --now): the closing
# names a time a few seconds on (more on a machine so slow that the closing
# took longer: then it is refused and nothing stored), and the allocation
# waits for it
cat >"$S/close.sh" <<'SH'
for w in 8 30 120; do
  due=$(($(date +%s) + w))
  echo "$due" >.due
  AFTER=$(date -d "@$due" '+%Y-%m-%d %H:%M:%S')
  export AFTER
  sh close.cmd >.close.out 2>.close.err
  rc=$?
  grep -q 'which is not after now' .close.err || break
done
cat .close.out
cat .close.err >&2
exit $rc
SH
chapter_clock() {
  case $1 in
    *close=1*) printf '%s\n' "$1" | sed "s/after='[^']*'/after=\"\$AFTER\"/" >"$S/close.cmd"
      printf 'sh close.sh' ;;
    *allocate=1*) printf 'while [ "$(date +%%s)" -lt "$(cat .due)" ]; do sleep 0.3; done; %s' "$1" ;;
    *) printf '%s' "$1" ;;
  esac
}
CHAPTER_EDIT=chapter_clock
[ -e "$S/plugins" ] || ln -s "$ROOT/plugins" "$S/plugins"
run_chapter --csv applications.csv --csv B01-签到.csv --csv V001.csv --exit1 '*apply=applications.csv*' \
  --min 14 "### Workers' sanatorium and the check-up van"

DB=$S/san.db
D=$ROOT/scripts/sanatorium/desk.lua
grep -q 'applications.csv,8,not_eligible' "$S/applications.refusals.csv" && pass "refusals name file and line" ||
  fail "applications.refusals.csv lacks line 8"
if grep -q '330212198111016283' "$S/公示.csv"; then fail "the public list shows a full ID number"; else pass "the public list masks ID numbers"; fi
grep -q '黄\*兰' "$S/公示.csv" && pass "the public list masks names" || fail "no masked name in 公示.csv"

# the same value and seed, the same allocation; another seed or value is refused
VALUE=$(sed -n 's/^public_value: //p' "$S/draw-record.txt")
SEED=$(sed -n 's/^seed: //p' "$S/draw-record.txt")
[ -n "$VALUE" ] && [ -n "$SEED" ] || fail "the draw record lacks the public value or the seed"
grep -q '^closed_at: 2026-03' "$S/draw-record.txt" && fail "the closing time is --now's, not the host clock's"
cp "$S/allocation.csv" "$S/allocation.first.csv"
gh --db "$DB" run "$D" allocate=1 "public=$VALUE" seed_file=seed.txt csv=again.csv
expect_rc 0 "allocate again" && cmp -s "$S/again.csv" "$S/allocation.first.csv" && pass "allocating again gives the same" ||
  fail "allocating again differs"
printf '%s' 'not-the-seed-of-the-committee' >"$S/wrong.txt"
gh --db "$DB" run "$D" allocate=1 "public=$VALUE" seed_file=wrong.txt
expect_rc 1 "another seed" && expect_err "drawn with another seed of committee" "another seed is named" && no_err "traceback" "no traceback"
gh --db "$DB" run "$D" allocate=1 "public=01 02 03 04 05 06 07" seed_file=seed.txt
expect_rc 1 "another public value" && expect_err "was drawn with the public value '$VALUE'" "another value is refused" &&
  pass "the allocation cannot be drawn again with another seed or value"
sed 's/^tier\.2\.entrants: .*/tier.2.entrants: 3 6 8 32 33/' "$S/draw-record.txt" >"$S/tampered-record.txt"
gh --db "$DB" run "$D" verify=1 record=tampered-record.txt
expect_rc 1 "a tampered record" && expect_err "the entrant list does not match the list commitment" "named" &&
  pass "a tampered draw record is named"
# a forged copy: tier 2 rank 3 (who waited) shown in B01
sed 's/^\(2,3,32,[^\r]*,1,\)\(\r\{0,1\}\)$/\1B01\2/' "$S/allocation.csv" >"$S/forged.csv"
cmp -s "$S/allocation.csv" "$S/forged.csv" && fail "the forgery changed nothing"
gh --db "$DB" run "$D" verify=1 file=forged.csv
expect_rc 1 "a forged allocation" && expect_err "member 32 (tier 2, rank 3): the rules place them in -, the allocation says B01" \
  "the forged line is named"
if python3 "$ROOT/scripts/sanatorium/check_allocation.py" "$S/forged.csv" "$SEED" \
     sanatorium-2026 --beds B01=30,B02=30,B03=25,B04=30 --enterprise-cap 3 --union-places '*=8' 2>"$S/py.err"; then
  fail "check_allocation.py passed a forged file"
elif grep -q 'member 32 (tier 2, rank 3): the rules place them in -, the file says B01' "$S/py.err"; then
  pass "check_allocation.py names the forged line"
else
  fail "check_allocation.py: $(cat "$S/py.err")"
fi

# ---- two clerks, two years, the same workers -------------------------------------------
# Clerk A places 150 workers into 2026, clerk B the same workers into 2027
# (its plan: scripts/sanatorium/plan.lua for 2027, generous caps), each row
# its own transaction, both starting when the go file appears. Nobody may
# end with two stays (2026 and 2027 are within 3 years).
R=$S/race
mkdir -p "$R"
sed 's/enterprise_cap = 3,/enterprise_cap = 1000,/; s/\[.\*.\] = 8 }/["*"] = 1000 }/; s/beds = [0-9]*/beds = 500/' \
  "$ROOT/scripts/sanatorium/plan.lua" >"$R/plan.lua"
sed 's/2026/2027/g' "$R/plan.lua" >"$R/plan2027.lua"
DB2=$S/race.db
gh --db "$DB2" run "$ROOT/scripts/sample_data.lua" members=1200 seed=7
expect_rc 0 "sample data for the race" || finish
lua race/sheets.lua <<'LUA'
local sanatorium = require 'sanatorium'
local a = sanatorium.load('plan')
local b = sanatorium.load('plan2027')
local rows = { { '身份证号', '期次' } }
local n = 0
for m in db.members:scan{ status = 'active' } do
  if a:may_apply(m, 'B01') and b:may_apply(m, 'B01') then
    n = n + 1
    if n > 150 then break end
    rows[#rows + 1] = { m.id_number, ({ 'B01', 'B02', 'B04' })[n % 3 + 1] }
  end
end
if n < 150 then error('only ' .. n .. ' eligible members') end
local f = run.open('both.csv', 'w'); run.write_csv(f, rows); f:close()
-- the other clerk works from the bottom up: the two meet somewhere in the middle
local rev = { rows[1] }
for i = #rows, 2, -1 do rev[#rev + 1] = rows[i] end
f = run.open('both-rev.csv', 'w'); run.write_csv(f, rev); f:close()
LUA
lua race/assign.lua <<'LUA'
-- the test starts two of these at once (race): the two clerks place at the same time
local sanatorium = require 'sanatorium'
local S = sanatorium.load(params.plan)
local s = S:assign_sheet(params.sheet, { at = params.at })
print(string.format('%s: %d placed, %d refused', params.plan, s.entered, s.refused))
LUA
cp "$D" "$R/desk.lua"
gh --db "$DB2" run --out "$R" "$R/sheets.lua"
expect_rc 0 "the placement sheet" || finish
cd "$R" || finish
race "$R/a" "$BIN" --db "$DB2" run --now '2026-01-10 09:00' "$R/assign.lua" plan=plan sheet=both.csv
race "$R/b" "$BIN" --db "$DB2" run --now '2027-01-10 09:00' "$R/assign.lua" plan=plan2027 sheet=both-rev.csv
cd "$S" || finish
race_go
ra=$R1 rb=$R2
[ $ra -eq 0 ] && [ $rb -eq 0 ] && pass "both clerks ran" || { fail "a clerk failed: $ra $rb"; cat "$R/a.err" "$R/b.err" >&2; }
cat "$R/a.out" "$R/b.out" >&2
gh --db "$DB2" run -e '
local stays = {}
for e in db.program_entries:scan() do
  if e.kind == "stay" and not e.reverses and (e.program == "sanatorium-2026" or e.program == "sanatorium-2027") then
    stays[e.member_id] = (stays[e.member_id] or 0) + 1
  end
end
local one, two = 0, 0
for _, n in pairs(stays) do if n == 1 then one = one + 1 else two = two + 1 end end
print(string.format("one stay %d, two stays %d", one, two))'
expect_rc 0 "counting stays" && expect_out "one stay 150, two stays 0" "each of the 150 has exactly one stay, nobody two"
pass "$(cat "$R/a.out") / $(cat "$R/b.out")"
gh --db "$DB2" run -e 'local last, n = nil, 0
for e in db.program_entries:scan() do
  if e.kind == "stay" and e.program ~= last then n = n + 1; last = e.program end
end
print(n)'
pass "the two clerks' placements alternate $(cat "$S/out") times in the ledger (1: one ran before the other)"
finish
