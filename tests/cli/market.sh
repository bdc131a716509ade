#!/bin/sh
# market.sh BINARY SCRATCH — the farmers' market program end to end through
# its entry scripts (scripts/market/): setup, titles, endorsements (refused
# for a member who is not a model worker), booths (double booking refused),
# sales at the counter, a vendor's sheet in GBK, the report (and the same
# report rebuilt from the event log), CSV tables; and sellers in parallel
# processes selling to one member: the daily cap is never passed, whatever
# the interleaving.
. "$(dirname "$0")/lib.sh"
M=$(cd "$(dirname "$0")/../../scripts/market" && pwd)
setup "$@"

DB=$S/db
run_m() { _s=$1; shift; gh --db "$DB" run "$M/$_s" "$@"; }

lua make.lua <<'LUA'
local registry = require 'registry'
registry.define_members()
db.atomic(function()
  for i = 1, 6 do
    local body = string.format('33048119800101%03d', i)
    db.members:insert{ member_id = i, name = '会员' .. i, id_number = body .. registry.id_check_char(body),
      phone = '13800000000', gender = 'M', birth_date = '1980-01-01', enterprise_id = 1,
      town = '硖石街道', category = 'factory', join_date = '2010-01-01',
      status = i == 6 and 'left' or 'active' }
  end
end)
for i = 1, 6 do print(db.members:get(i, 'id_number')) end
LUA
gh --db "$DB" run "$S/make.lua"
expect_rc 0 "making members" || finish
ID3=$(sed -n 3p "$S/out")

run_m setup.lua
expect_rc 0 "setup" && expect_out "36 market days (2025-05-03 .. 2025-12-27), 6 booths, 3 vendors, 4 products" "setup" \
  && pass "setup stores the plan"
cp "$S/out" "$S/setup1.out"
run_m setup.lua
cmp -s "$S/out" "$S/setup1.out" && pass "setup again: the same" || fail "setup again differs"

run_m title.lua member=1 title=浙江省劳动模范 awarded=2020-04-28 level=provincial
expect_rc 0 "title" && expect_out "recorded: 浙江省劳动模范 (model_worker) of member 1" "title" && pass "a model-worker title recorded"
run_m title.lua member=2 title=海宁工匠 kind=craftsman
expect_rc 0 "craftsman title" && pass "a craftsman title recorded"
run_m endorse.lua product=P01 member=1 date=2025-04-20
expect_rc 0 "endorse" && expect_out "endorsed: P01 by member 1 (浙江省劳动模范) from 2025-04-20" "endorse" && pass "a model worker endorses P01"
run_m endorse.lua product=P02 member=2 date=2025-04-20
expect_rc 1 "endorsement by a craftsman" && expect_err "member 2 会*2 holds no model-worker title" "refusal" \
  && no_err "traceback" "a refusal is not a crash" && pass "an endorsement by a non-model-worker is refused, exit 1"

run_m booth.lua date=2025-05-10 booth=A01 vendor=V01
expect_rc 0 "booth" && expect_out "booked: booth A01 on 2025-05-10 to V01" "booth" && pass "booth booked"
run_m booth.lua date=2025-05-10 booth=A01 vendor=V02
expect_rc 1 "double booking" && expect_err "booth A01 on 2025-05-10 is already taken by V01 许村张家果园" "double booking" \
  && pass "double booking refused naming booth, day and holder"
for b in "A02 V02" "A03 V03"; do
  set -- $b
  run_m booth.lua date=2025-05-10 booth="$1" vendor="$2"
  expect_rc 0 "booth $1"
done
for d in 2025-05-17 2025-05-24; do
  run_m booth.lua date=$d booth=A01 vendor=V01
  expect_rc 0 "booth on $d"
done

run_m sell.lua vendor=V01 product=P01 amount=19.99 id="$ID3" date=2025-05-10
expect_rc 0 "sale 1" && expect_out "sold: sale 1, V01 P01 19.99 yuan (劳模推荐); benefit code, member 3: discount 1.99 yuan, 1.99 of 20.00 yuan used today; paid 18.00 yuan" "sale 1" \
  && pass "a benefit-code sale by ID number: 10% floored"
run_m sell.lua vendor=V02 product=P03 qty=60 member=3 date=2025-05-10
expect_rc 0 "sale 2" && expect_out "discount 18.01 yuan (daily cap reached), 20.00 of 20.00 yuan used today; paid 191.99 yuan" "sale 2" \
  && pass "the cap met in the middle of a sale: a partial discount"
run_m sell.lua vendor=V03 product=P04 fen=500 member=3 date=2025-05-10
expect_rc 0 "sale 3" && expect_out "discount 0.00 yuan (daily cap reached)" "sale 3" && pass "after the cap: no discount"
run_m sell.lua vendor=V03 product=P04 amount=1.00 member=6 date=2025-05-10
expect_rc 1 "a member who left" && expect_err "refused (not_member)" "left" && pass "a member who left is refused"
run_m sell.lua vendor=V02 product=P03 amount=2 date=2025-05-17
expect_rc 1 "no booth" && expect_err "refused (no_booth): the vendor has no booth that day: V02 on 2025-05-17" "no booth" \
  && pass "no booth, no sale"

# a vendor's sheet in GBK, as Excel on Chinese Windows saves it
printf '序号,身份证号,产品编号,数量,金额\r\n1,%s,P01,1,\r\n2,,P02,2,\r\n3,,P02,,12.345\r\n' "$ID3" >"$S/sheet.utf8"
if iconv -f UTF-8 -t GB18030 "$S/sheet.utf8" >"$S/V01-0517.csv" 2>/dev/null; then
  run_m sales.lua file="$S/V01-0517.csv" date=2025-05-17 vendor=V01
  expect_rc 1 "sheet with a bad row" && expect_out "V01-0517.csv:4: refused (bad_amount)" "bad row by line" \
    && expect_out "(GB18030): 3 rows: 2 entered, 0 already entered, 1 refused" "sheet counts" && pass "a GBK sheet entered, the bad row named by line"
  run_m sales.lua file="$S/V01-0517.csv" date=2025-05-17 vendor=V01
  expect_out "3 rows: 0 entered, 2 already entered, 1 refused" "sheet again" && pass "the sheet again: nothing twice"
else
  echo "note: iconv is missing; the GBK sheet is skipped" >&2
fi

# two sellers at once, each a loop of sell.lua processes for member 4 on
# 2025-05-24: 30 sales of 19.99 (199 fen due each) against a 2000 fen cap:
# ten get 199, one gets the 10 left, nineteen get nothing, in any order
seller() {
  i=0
  while [ $i -lt 15 ]; do
    "$BIN" --db "$DB" run "$M/sell.lua" vendor=V01 product=P01 amount=19.99 member=4 date=2025-05-24 >>"$S/seller$1.out" 2>&1
    i=$((i + 1))
  done
}
seller a & A=$!; track $A
seller b & B=$!; track $B
reap $A; reap $B
lua cap.lua <<'LUA'
local n, d = {}, 0
for s in db.market_sales:scan{ index = 'market,member_id,date', eq = { 'xs-2025', 4, '2025-05-24' } } do
  n[s.discount_fen] = (n[s.discount_fen] or 0) + 1
  d = d + s.discount_fen
end
print(string.format('sales=%d given=%d full=%d partial=%d none=%d',
  db.market_sales:count{ member_id = 4 }, d, n[199] or 0, n[10] or 0, n[0] or 0))
LUA
gh --db "$DB" run "$S/cap.lua"
expect_out "sales=30 given=2000 full=10 partial=1 none=19" "parallel sell.lua processes" \
  && pass "two sellers in parallel processes: exactly the cap, one partial discount"

# a tighter race: two processes, each 150 sales of 1.00 (10 fen due) to
# member 5, started together: 300 sales, 200 with 10 fen, 100 with none.
# (In all, 335 sales: 3 on 05-10, 2 from the sheet, 30 + 300 on 05-24; 334
# with the code, by members 3, 4, 5 on 4 member-days; 122 met the cap: 2 of
# member 3, 20 of member 4, 100 of member 5.)
lua race.lua <<'LUA'
local market = require 'market'
local mk = market.open('xs-2025')
local got, capped = 0, 0
for i = 1, 150 do
  local t1 = os.clock()
  while os.clock() - t1 < 0.0005 do end   -- a clerk's moment between sales
  local s = assert(mk:sell{ date = '2025-05-24', vendor = 'V01', product = 'P02', amount_fen = 100, member_id = 5 })
  if s.discount_fen > 0 then got = got + 1 else capped = capped + 1 end
end
print(string.format('discounted=%d capped=%d', got, capped))
LUA
race "$S/ra" "$BIN" --db "$DB" run "$S/race.lua"
race "$S/rb" "$BIN" --db "$DB" run "$S/race.lua"
race_go
RA=$R1 RB=$R2
if [ "$RA" -ne 0 ] || [ "$RB" -ne 0 ]; then
  fail "racers exited $RA and $RB: $(cat "$S/ra.err" "$S/rb.err")"
else
  pass "two racers: A $(cat "$S/ra.out"), B $(cat "$S/rb.out")"
  da=$(sed -n 's/^discounted=\([0-9]*\).*/\1/p' "$S/ra.out")
  db_=$(sed -n 's/^discounted=\([0-9]*\).*/\1/p' "$S/rb.out")
  [ $((da + db_)) -eq 200 ] && pass "200 discounted sales between them (the cap)" || fail "discounted $da + $db_, not 200"
  if [ "$da" -eq 0 ] || [ "$db_" -eq 0 ]; then
    echo "note: the racers did not overlap in time this run" >&2
  fi
fi
printf 'local mk = require("market").open("xs-2025"); print(mk:given(5, "2025-05-24"))\n' >"$S/g.lua"
gh --db "$DB" run "$S/g.lua"
expect_out "2000" "member 5's discounts" && pass "member 5 got exactly the cap"

run_m report.lua csv=all
expect_rc 0 "report" && expect_out "benefit code (惠工码): 334 sales to 3 人 in 4 人次 (member-days)" "report 人/人次" \
  && expect_out "written: all-code.csv, all-days.csv, all-endorsed.csv, all-products.csv, all-towns.csv, all-vendors.csv" "csv files" \
  && pass "the report, with its CSV tables"
run_m report.lua
cp "$S/out" "$S/report.out"
if [ -f "$S/all-code.csv" ] && grep -q "^334,3,4,114269,6080,122" "$S/all-code.csv"; then pass "the code table in CSV"; else fail "all-code.csv: $(cat "$S/all-code.csv" 2>&1)"; fi
run_m report.lua events=1
expect_rc 0 "report from events"
cmp -s "$S/out" "$S/report.out" && pass "the report rebuilt from the event log is the same" \
  || { fail "the report from events differs"; diff "$S/report.out" "$S/out" >&2; }
run_m report.lua from=2025-05-10 to=2025-05-10
expect_out "total: 3 sales, 234.99 yuan, discount 20.00 yuan, paid 214.99 yuan" "one day" && pass "one day's report"

# a sale entered wrong is voided: out of the report, its discount back to the cap
run_m void.lua sale=2 reason="60 jin, not 600"
expect_rc 0 "void" && expect_out "voided: sale 2, 2025-05-10 V02 P03 210.00 yuan, discount 18.01 yuan (member 3: 1.99 of 20.00 yuan used that day now)" "void" \
  && pass "a sale voided"
run_m void.lua sale=2 reason=again
expect_rc 1 "void twice" && expect_err "refused (already_voided)" "void twice" && pass "voiding twice is refused"
run_m report.lua from=2025-05-10 to=2025-05-10
expect_out "total: 2 sales, 24.99 yuan, discount 1.99 yuan, paid 23.00 yuan" "after the void" && pass "the voided sale is out of the report"
run_m report.lua
cp "$S/out" "$S/report.out"
run_m report.lua events=1
cmp -s "$S/out" "$S/report.out" && pass "and out of the report from the event log" || fail "the report from events differs after a void"

gh --db "$DB" check
expect_rc 0 "check" && pass "check is clean"
finish
