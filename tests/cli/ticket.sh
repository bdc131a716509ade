#!/bin/sh
# ticket.sh BINARY SCRATCH — the README chapter "A new campaign in one page"
# runs as written: its plan is scripts/ticket/plan.lua byte for byte (and
# with its rules at most 60 lines), its commands run in order with the
# outputs it shows, its figures appear in the year report; then two
# processes entering receipt sheets at once never pay past the budget, a
# dry run writes no file, and a re-entered sheet pays nothing twice.
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
. "$(dirname "$0")/lib.sh"
setup "$@"

# ---- the chapter, as written ----------------------------------------------------------
run_chapter --exit1 '*enter=receipts.csv*' --min 6 '## A new campaign in one page'

if cmp -s "$S/chapter.1.lua" "$ROOT/scripts/ticket/plan.lua"; then
  pass "the README's plan is scripts/ticket/plan.lua"
else
  fail "the README's plan differs from scripts/ticket/plan.lua"
fi
lines=$(wc -l <"$ROOT/scripts/ticket/plan.lua")
[ "$lines" -le 60 ] && pass "plan and rules: $lines lines" || fail "plan and rules take $lines lines (> 60)"

DB=$S/ticket.db
[ -f "$S/receipts.refusals.csv" ] && pass "the refusals file is written" || fail "no receipts.refusals.csv"
grep -q 'receipts.csv,7,bad_input' "$S/receipts.refusals.csv" && pass "refusals name file and line" || fail "refusals file lacks line 7"

# the year report's figures are the program's (444.00 yuan, 4 人次, 2 人)
gh --db "$DB" run "$ROOT/scripts/year_report/report.lua" year=2026
expect_rc 0 "year report" && expect_out "2026年返岗车票补贴         0             2                    4                       2         444.00" "the program's row in the year report"

# entering again pays nothing twice; a dry run writes no file
rm -f "$S/receipts.refusals.csv"
gh --db "$DB" run --dry-run "$ROOT/scripts/ticket/ticket.lua" enter=receipts.csv
expect_out "0 entered, 4 already entered, 4 refused; 0.00 yuan" "re-entry in a dry run" && expect_out "dry run: the 1 file(s) the script wrote are in the throw-away folder" "the dry run says where its file went"
[ -f "$S/receipts.refusals.csv" ] && fail "a dry run wrote receipts.refusals.csv" || pass "a dry run writes no file where the user keeps them"
tmpd=$(sed -n 's/.*throw-away folder \(.*\)$/\1/p' "$S/out")
[ -n "$tmpd" ] && rm -rf "$tmpd"
gh --db "$DB" run --dry-run "$ROOT/scripts/ticket/ticket.lua" list=1 csv=dry.csv
expect_rc 0 "a dry run's public list" && expect_out "dry run: the 1 file(s) the script wrote are in the throw-away folder" "the throw-away folder is named"
[ -f "$S/dry.csv" ] && fail "a dry run wrote dry.csv into the current folder" || pass "a dry run writes only into a throw-away folder"
tmpd=$(sed -n 's/.*throw-away folder \(.*\)$/\1/p' "$S/out")
[ -n "$tmpd" ] && [ -f "$tmpd/dry.csv" ] && pass "the file is in $tmpd" && rm -rf "$tmpd"
gh --db "$DB" run "$ROOT/scripts/ticket/ticket.lua" enter=receipts.csv
expect_rc 1 "re-entry" && expect_out "0 entered, 4 already entered, 4 refused; 0.00 yuan" "re-entry pays nothing twice"

# one receipt at a counter, from parameters named as the plan's fields (the card-like
# ticket number keeps its text); a bad one names the parameter and its label
gh --db "$DB" run --now '2026-03-05 11:00' "$ROOT/scripts/ticket/ticket.lua" claim=1 id_number=330212197102150953 key=007 fare=100 day=2026-02-20
expect_rc 0 "a claim" && expect_out "entered: entry 5, 返岗车票补贴 50.00 yuan" "a claim by parameters"
gh --db "$DB" run "$ROOT/scripts/ticket/ticket.lua" check=1
gh --db "$DB" run -e "print(db.program_entries:find('program,key', { 'ticket-2026', '007' }).fen)"
expect_out "5000" "the key 007 kept its text"
gh --db "$DB" run "$ROOT/scripts/ticket/ticket.lua" claim=1 id_number=330212197102150953 key=X1 fare=1.234 day=2026-02-20
expect_rc 1 "a bad fare" && expect_err "票价" "the label is named" && no_err "traceback" "no traceback"
gh --db "$DB" run "$ROOT/scripts/ticket/ticket.lua" reverse=5 reason=测试
expect_rc 0 "reversing the claim"

# a correction, then the ledger still agrees with its totals
gh --db "$DB" run "$ROOT/scripts/ticket/ticket.lua" reverse=3 reason=票据重复
expect_rc 0 "reverse" && expect_out "entry 7 reverses entry 3 (-23.25 yuan)" "the reversal"
gh --db "$DB" run "$ROOT/scripts/ticket/ticket.lua" check=1
expect_rc 0 "check after the reversal"

# a plan error names the file and the key; nothing is stored
mkdir -p "$S/bad"
sed 's/per = .member., max_fen = 40000/per = '"'"'week'"'"', max_fen = 40000/' "$ROOT/scripts/ticket/plan.lua" >"$S/bad/plan.lua"
echo "require('program').main('plan')" >"$S/bad/ticket.lua"
gh --db "$DB" run "$S/bad/ticket.lua" setup=1
expect_rc 1 "a bad plan" && expect_err "plan.lua: key 'limits[2].per': 'week' is not one of" "the message names file and key"
no_err "traceback" "no traceback for a plan error"

# ---- two processes at once never pass the budget ----------------------------------------
# 300 members with two 400-yuan tickets each (200 yuan paid a ticket): 600
# tickets, 120,000 yuan asked of a 100,000-yuan budget; A and B enter half each.
DB2=$S/race.db
gh --db "$DB2" run "$ROOT/scripts/sample_data.lua" members=1200 seed=7
expect_rc 0 "sample data for the race" || finish
mkdir -p "$S/race"
cp "$ROOT/scripts/ticket/plan.lua" "$S/race/plan.lua"
lua race/sheets.lua <<'LUA'
local program = require 'program'
local P = program.load('plan')
local a, b = { { '身份证号', '车票号', '票价', '乘车日期' } }, { { '身份证号', '车票号', '票价', '乘车日期' } }
local n = 0
for m in P:members() do
  n = n + 1
  if n > 300 then break end
  local sheet = n % 2 == 0 and a or b
  for j = 1, 2 do sheet[#sheet + 1] = { m.id_number, string.format('T%05d-%d', n, j), '400', '2026-02-10' } end
end
if n < 300 then error('only ' .. n .. ' eligible members') end
for name, rows in pairs{ ['a.csv'] = a, ['b.csv'] = b } do
  local f = run.open(name, 'w'); run.write_csv(f, rows); f:close()
end
LUA
lua race/enter.lua <<'LUA'
-- the test starts two of these at once (race): the two processes enter at the same time
require('program').main('plan', 'enter')
LUA
gh --db "$DB2" run "$S/race/sheets.lua"
expect_rc 0 "making the two sheets" || finish
race "$S/a" "$BIN" --db "$DB2" run "$S/race/enter.lua" enter=a.csv
race "$S/b" "$BIN" --db "$DB2" run "$S/race/enter.lua" enter=b.csv
race_go
RA=$R1 RB=$R2
# each process exits 1: some of its rows meet the spent budget
pass "A: $(grep "rows:" "$S/a.out") (exit $RA)"
pass "B: $(grep "rows:" "$S/b.out") (exit $RB)"
lua race/verify.lua <<'LUA'
local program = require 'program'
local P = program.open('ticket-2026')
local paid, n = 0, 0
for e in db.program_entries:scan{ program = 'ticket-2026' } do paid = paid + e.fen; n = n + 1 end
local ok, problems = P:check()
print(string.format('paid=%d entries=%d events=%d ok=%s %s', paid, n,
  #bus.events{ topic = 'program.entry', limit = 100000 }, tostring(ok), table.concat(problems, '; ')))
LUA
gh --db "$DB2" run "$S/race/verify.lua"
expect_rc 0 "verifying the race"
expect_out "paid=10000000 entries=500 events=500 ok=true" "the budget is spent exactly, never passed; totals agree"
refused=$(cat "$S/a.out" "$S/b.out" | grep -c '(budget)')
[ "$refused" -eq 100 ] && pass "100 tickets refused for the budget" || { fail "$refused tickets refused for the budget, expected 100"; cat "$S/a.out" "$S/b.out" | tail -5 >&2; }

finish
