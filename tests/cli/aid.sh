#!/bin/sh
# aid.sh BINARY SCRATCH — the aid program's entry scripts (scripts/aid/) end
# to end: a household file from application to approval, the masked public
# notice, refused steps and payments (exit code 1, the reason, no
# traceback), payments and a medical claim, a duplicate invoice, the report,
# the check (clean; then a total tampered through the db API is named, exit
# 1), file.lua and the run that paid; and two processes paying one
# household at once never pass its annual cap.
#
# The scripts are copied beside a caps.lua with small caps (the shipped
# caps.lua is the federation's to edit); the shipped one is loaded once too.
. "$(dirname "$0")/lib.sh"
setup "$@"
SRC=$(cd "$(dirname "$0")/../.." && pwd)

DB=$S/db
mkdir -p "$S/aid"
for f in "$SRC"/scripts/aid/*.lua; do
  [ "$(basename "$f")" = caps.lua ] || cp "$f" "$S/aid/"
done
cat >"$S/aid/caps.lua" <<'LUA'
return {
  source = 'test caps.lua', notice_days = 5,
  types = { temporary = { title = '临时救助' }, basket = { title = '幸福菜篮子' },
            medical = { title = '职工医疗互助', claims = true } },
  years = { [2025] = {
    household = { deep = 600000, relative = 300000, accident = 400000 },
    types = { temporary = { budget = 10000000, per_household = 500000 },
              basket = { budget = 10000000, per_household = 500000 },
              medical = { budget = 10000000, per_member = 800000, per_claim = 500000,
                          deductible = 100000, rate = 60 } } } },
}
LUA
lua make.lua <<'LUA'
local registry = require 'registry'
registry.define_members()
local names = { '王建国', '李秀英', '张伟', '刘洋' }
db.atomic(function()
  for i, name in ipairs(names) do
    local body = string.format('330481198001%02d%03d', i, i * 10 + 1)
    db.members:insert{ member_id = i, name = name, id_number = body .. registry.id_check_char(body),
      phone = '13800000000', gender = 'M', birth_date = string.format('1980-01-%02d', i),
      enterprise_id = 1, town = i <= 2 and '硖石街道' or '许村镇', category = 'factory',
      join_date = '2010-01-01', status = 'active', household = 'H' .. ((i + 1) // 2) }
  end
end)
LUA
gh --db "$DB" run "$S/make.lua"
expect_rc 0 "making the members" || finish

A=$S/aid
run_aid() { # run_aid DATE SCRIPT ARGS...
  _d=$1; _f=$2; shift 2
  gh --db "$DB" run --now "$_d 09:00" "$A/$_f" "$@"
}

run_aid 2025-02-01 apply.lua member=1 tier=deep reason=重病 persons=3 by=李干事
expect_rc 0 "apply" && expect_out "opened: file 1, household H1, 深度困难, 2025-02-01; next step: visit" "apply" &&
  pass "apply opens file 1"
run_aid 2025-02-01 apply.lua member=2 tier=deep reason=重病 persons=3 by=李干事
expect_rc 1 "a second file for the household" &&
  expect_err "aid: household H1 already has file 1 (state applied): one file per household (一户一档)" "a second file" &&
  no_err "traceback" "a second file" && pass "a second file for one household is refused, exit 1, no traceback"
run_aid 2025-02-02 step.lua file=1 step=approve by=王主席
expect_rc 1 "approve too early" &&
  expect_err "aid: household H1 (file 1) is 'applied' (已申请): cannot approve (审批认定) — allowed only from noticed; the next step is visit" "approve too early" &&
  pass "a step out of order names the household, the state and the next step"
for st in visit review notice; do
  run_aid 2025-02-03 step.lua file=1 step=$st by=李干事
  expect_rc 0 "step $st" || finish
done
run_aid 2025-02-04 notice.lua
expect_rc 0 "notice" && expect_out "王*国" "notice: masked name" &&
  expect_out "2025-02-03 .. 2025-02-08" "notice: the period" && pass "the public notice lists the file, name masked"
if grep -q "王建国" "$S/out"; then fail "the public notice shows a full name"; fi
run_aid 2025-02-07 step.lua household=H1 step=approve by=王主席
expect_rc 1 "approve during the notice" && expect_err "approve on 2025-02-08 or later" "approve during the notice" &&
  pass "approval waits for the end of the notice"
run_aid 2025-02-08 step.lua household=H1 step=approve by=王主席
expect_rc 0 "approve" && expect_out "approve: file 1, household H1 is now approved (已认定), verified for 2025" "approve" &&
  pass "approved after the notice"

run_aid 2025-03-01 pay.lua file=1 type=temporary yuan=4,000.50 approver=王主席
expect_rc 0 "pay" && expect_out "paid: payment 1, 4,000.50 yuan temporary to household H1 (file 1) on 2025-03-01" "pay" &&
  pass "a payment in yuan is stored in fen"
PAYRUN=$(sed -n 's/.*, run \([0-9a-f]*\)$/\1/p' "$S/out")
run_aid 2025-03-02 pay.lua file=1 type=temporary yuan=1000 approver=王主席
expect_rc 1 "over the cap" &&
  expect_err "refused (household_type_cap): over the annual cap of this type per household: household H1 (file 1), 临时救助 (temporary) in 2025: 4,000.50 paid of 5,000.00 yuan; 1,000.00 more would pass it by 0.50 yuan" "over the cap" &&
  no_err "traceback" "over the cap" && pass "a payment over a cap is refused with the figures, exit 1"
run_aid 2025-03-02 pay.lua file=1 type=temporary yuan=12.345 approver=王主席
expect_rc 1 "three decimals" && expect_err "pay: yuan: 12.345 has more than two decimals (a fen is 0.01 yuan)" "three decimals" &&
  pass "an amount with three decimals is refused"
run_aid 2025-03-02 pay.lua file=1 type=temporary yuan=10
expect_rc 1 "no approver" && expect_err "aid: pay: who does it?" "no approver" && pass "a payment needs an approver"

run_aid 2025-04-01 claim.lua member=3 invoice=zy-001 expense=3000 approver=医疗互助办
expect_rc 0 "claim" && expect_out "paid: claim 1, member 3, invoice ZY-001: expense 3,000.00, payout 1,200.00 yuan (payment 2)" "claim" &&
  pass "a medical claim pays (expense - deductible) x rate"
run_aid 2025-04-02 claim.lua member=3 invoice=ZY-001 expense=3000 approver=医疗互助办
expect_rc 1 "duplicate" &&
  expect_err "refused (duplicate): duplicate claim: member 3 claimed invoice ZY-001 on 2025-04-01 (claim 1, paid 1,200.00 yuan)" "duplicate" &&
  pass "the same invoice of the same member is refused"

run_aid 2025-05-01 report.lua year=2025 csv=report.csv
expect_rc 0 "report" && expect_out "2 户 / 2 户次, 2 人 / 2 人次, 5,200.50 yuan" "report" &&
  expect_out "临时救助 (temporary)     1     1   1     1  4,000.50" "report: per type" && pass "the report counts 户/户次/人/人次"
if grep -q "total,合计,2,2,2,2,5200.50" "$S/report.csv"; then pass "report csv"; else fail "report csv: $(cat "$S/report.csv")"; fi
cp "$S/out" "$S/report.ledger"
run_aid 2025-05-01 report.lua year=2025 from=log
sed 1d "$S/out" >"$S/report.log.txt"
if sed 1d "$S/report.ledger" | grep -v '^written' | cmp -s - "$S/report.log.txt"; then
  pass "the report from the event log is the report from the ledger"
else
  fail "the report from the log differs: $(cat "$S/out")"
fi
run_aid 2025-05-01 check.lua
expect_rc 0 "check" && expect_out "ok: 2 payments, 5 running totals: every total agrees with the ledger, no cap passed" "check" &&
  pass "check: the running totals agree with the ledger"

# a total changed behind the program's back: check names it and exits 1
query "$DB" "db.program_totals:update('aid|household:2025|H1', { fen = 400049 })"
run_aid 2025-05-01 check.lua year=2025
expect_rc 1 "check after tampering" &&
  expect_out "PROBLEM: aid|household:2025|H1: fen 400049 (totals) vs 400050 (ledger)" "check after tampering" &&
  expect_err "check: 1 problem(s) in 2 payments of 2025 (listed above)" "check after tampering" &&
  no_err "traceback" "check after tampering" && pass "check names a tampered total and exits 1"
query "$DB" "db.program_totals:update('aid|household:2025|H1', { fen = 400050 })"
run_aid 2025-05-01 check.lua
expect_rc 0 "check after repair" && pass "check is clean again after the repair"

run_aid 2025-05-01 file.lua household=H1
expect_rc 0 "file.lua" && expect_out "file 1, household H1: member 1 (王*国)" "file.lua" &&
  expect_out "2025-02-08  approve  noticed -> approved  王主席" "file.lua: history" &&
  expect_out "$PAYRUN" "file.lua: the run that paid" && pass "file.lua shows the history and the run of each payment"
gh --db "$DB" runs show "$PAYRUN"
expect_rc 0 "runs show" && expect_out "pay.lua" "runs show: the script that paid" && pass "the paying run's record is found by its id"

# --- two processes pay one household at once: its cap holds ---------------
run_aid 2025-02-01 apply.lua member=3 tier=deep reason=车祸 persons=2 by=李干事 || true
for st in visit review notice; do run_aid 2025-02-03 step.lua file=2 step=$st by=李干事; done
run_aid 2025-02-08 step.lua file=2 step=approve by=王主席
expect_rc 0 "file 2 approved" || finish
lua aid/payer.lua <<'LUA'
local aid = require 'aid'
local p = aid.open(require 'caps')
local paid, refused = 0, 0
for _ = 1, 50 do
  -- a clerk takes a moment between payments (else one process may take
  -- them all before the other gets the writer lock once)
  local t1 = os.clock()
  while os.clock() - t1 < 0.0005 do end
  local r, code = p:pay{ file = 2, type = params.type, amount_fen = 10000, approver = params.type,
                         date = '2025-06-01' }
  if r then paid = paid + 1 elseif code == 'household_cap' then refused = refused + 1 else error(code) end
end
print(string.format('paid=%d refused=%d', paid, refused))
LUA
# H2's deep cap is 6,000 yuan; each process tries 50 x 100 yuan of its own
# type (5,000 each, the cap per type): together they may pay 60
race "$S/a" "$BIN" --db "$DB" run "$S/aid/payer.lua" type=temporary
race "$S/b" "$BIN" --db "$DB" run "$S/aid/payer.lua" type=basket
race_go
RA=$R1 RB=$R2
if [ "$RA" -ne 0 ] || [ "$RB" -ne 0 ]; then
  fail "payers exited $RA and $RB: $(cat "$S/a.err" "$S/b.err")"
  finish
fi
pass "two payers ran at once: temporary $(cat "$S/a.out"), basket $(cat "$S/b.out")"
pa=$(sed -n 's/^paid=\([0-9]*\).*/\1/p' "$S/a.out")
pb=$(sed -n 's/^paid=\([0-9]*\).*/\1/p' "$S/b.out")
if [ $((pa + pb)) -eq 60 ]; then pass "60 payments of 100 yuan: the 6,000 cap exactly"; else fail "paid $pa + $pb, not 60"; fi
if [ "$pa" -eq 50 ] || [ "$pb" -eq 50 ]; then
  echo "note: the payers did not overlap in time this run (one was never refused)" >&2
fi
query "$DB" "local n, s = 0, 0
for x in db.aid_payments:scan{ file_id = 2 } do n = n + 1; s = s + x.amount_fen end
print(n, s, db.program_totals:get('aid|household:2025|H2').fen, #bus.events{ topic = 'program.entry', limit = 100000 })"
expect_out "60	600000	600000	62" "the ledger, the total and the events after the race" &&
  pass "ledger, running total and events agree after the race"
run_aid 2025-06-02 check.lua
expect_rc 0 "check after the race" && expect_out "ok: 62 payments" "check after the race" && pass "check is clean after the race"

# --- a sheet of deliveries and claims, entered twice: nothing paid twice ----
printf '%s\r\n' '户号,类型,金额,日期,备注,会员编号,发票号,医疗费用' \
  'H1,basket,500,2025-07-05,,,,' 'H1,basket,500,2025-08-05,,,,' 'H1,basket,"1,000",2025-09-05,,,,' \
  ',,,2025-07-06,,4,ZY-9,2000' ',,,2025-07-06,,3,zy-001,3000' 'H1,basket,abc,2025-07-05,,,,' >"$S/sheet.csv"
run_aid 2025-09-10 sheet.lua file="$S/sheet.csv" approver=王主席
expect_rc 1 "a sheet with refused rows" &&
  expect_out "sheet.csv: 6 rows: 3 paid (1,600.00 yuan), 3 refused" "sheet: the counts" &&
  expect_out "sheet.csv:4: refused (household_cap): over the household annual cap: household H1 (file 1), 深度困难, all aid in 2025: 5,000.50 paid of 6,000.00 yuan" "sheet: a cap" &&
  expect_out "sheet.csv:6: refused (duplicate): duplicate claim: member 3 claimed invoice ZY-001 on 2025-04-01" "sheet: a duplicate invoice" &&
  expect_out "sheet.csv:7: refused (bad_amount): yuan: 'abc' is not an amount in yuan (3000, 3,000.50, ¥12.05, -5)" "sheet: a bad amount" &&
  expect_err "3 of 6 rows refused (listed above); the other rows are stored" "sheet: the summary" &&
  pass "a sheet: good rows paid, each refused row named with its line and reason, exit 1"
run_aid 2025-09-10 sheet.lua file="$S/sheet.csv" approver=王主席
expect_rc 1 "the sheet again" && expect_out "sheet.csv: 6 rows: 0 paid (0.00 yuan), 6 refused" "the sheet again" &&
  expect_out "sheet.csv:2: refused (already): already paid: payment 63, 500.00 yuan basket to household H1 on 2025-07-05" "the sheet again: already" &&
  expect_out "sheet.csv:5: refused (duplicate)" "the sheet again: the claim" &&
  expect_err "6 of 6 rows refused (listed above); nothing new was stored" "the sheet again: summary" &&
  pass "entering the same sheet again pays nothing twice"
printf '%s\r\n' 'household,type,yuan,amount' 'H1,basket,1,2' >"$S/bad.csv"
run_aid 2025-09-10 sheet.lua file="$S/bad.csv" approver=王主席
expect_rc 1 "a sheet with an unknown column" && expect_err "column 'amount' is not one of the sheet's columns" "an unknown column" &&
  pass "a sheet with an unknown column is refused"
run_aid 2025-09-11 check.lua
expect_rc 0 "check after the sheets" && expect_out "ok: 65 payments" "check after the sheets" && pass "check is clean after the sheets"

# the shipped settings load and pass their own checks
gh --db "$DB" run "$SRC/scripts/aid/report.lua" year=2025
expect_rc 0 "the shipped caps.lua" && pass "the shipped scripts/aid/caps.lua is valid"
gh --db "$DB" check
expect_rc 0 "gonghui check" && pass "gonghui check is clean"
finish
