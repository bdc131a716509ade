#!/bin/sh
# newyear.sh BINARY SCRATCH — the New-Year campaign's entry scripts
# (scripts/newyear/, with the shipped plan.lua: 2026, 2,025 red envelopes)
# end to end on 3,000 members: setup and its lunar calendar, a day benefit
# on and off its day, a duty gift, the quiz, a subsidy and a discount over
# their caps, the red-envelope draw (a notary's seed committed, the list
# closed naming a public value due later by the host's clock, the draw
# refused before it and with a wrong seed, drawn, never again with another
# value; verify; a tampered list, seed, value or winner list refused), the
# published record checked by python3 alone, the report.
. "$(dirname "$0")/lib.sh"
SRC=$(cd "$(dirname "$0")/../.." && pwd)
setup "$@"
NY=$SRC/scripts/newyear
DB=$S/db

# 3,000 active members (ids 1..3000), every third a platform worker; 3001 left the union
lua make.lua <<'LUA'
local registry = require 'registry'
registry.define_all()
db.atomic(function()
  db.stations:insert{ station_id = 'ST01', name = '硖石工行爱心驿站', town = '硖石街道', host_org = '工行' }
  db.stations:insert{ station_id = 'ST02', name = '许村邮政驿站', town = '许村镇', host_org = '邮政' }
  db.stations:insert{ station_id = 'ST03', name = '长安镇工会驿站', town = '长安镇', host_org = '总工会' }
  for i = 1, 3001 do
    local body = string.format('330481%04d%02d%02d%03d', 1960 + i % 40, 1 + i % 12, 1 + i % 28, i % 1000)
    local id = body .. registry.id_check_char(body)
    if db.members:find('id_number', id) then body = string.format('330482%04d0101%03d', 1960 + i % 40, i % 1000) id = body .. registry.id_check_char(body) end
    db.members:insert{ member_id = i, name = '会员' .. i, id_number = id, phone = string.format('139%08d', i),
                       gender = 'M', birth_date = '1980-01-01', enterprise_id = 1, town = '硖石街道',
                       category = i % 3 == 0 and 'gig_delivery' or 'factory', join_date = '2010-01-01',
                       status = i == 3001 and 'left' or 'active',
                       employment_form = i % 3 == 0 and 'new_form' or 'standard' }
  end
end)
print(db.members:get(3).id_number, db.members:get(4).id_number)
LUA
gh --db "$DB" run "$S/make.lua"
expect_rc 0 "making 3,000 members" || finish
ID3=$(cut -f1 "$S/out")
ID4=$(cut -f2 "$S/out")

at() {
  _now=$1 _script=$2
  shift 2
  gh --db "$DB" run --now "$_now" "$NY/$_script" "$@"
}

at '2026-01-01 08:00' setup.lua
expect_rc 0 "setup" &&
  expect_out '(newyear-2026): 2026-01-01 .. 2026-03-18' "the window: 元旦 to the end of 正月" &&
  expect_out '2026-01-26  乙巳年腊月初八' "Laba on the calendar, with its lunar date" &&
  expect_out '2026-03-03  丙午年正月十五' "元宵 on the calendar"

at '2026-01-25 09:00' claim.lua item=laba-porridge "id=$ID4" station=ST01
expect_rc 1 "porridge the day before Laba" && expect_err 'refused (closed)' "refused: not the day" && no_err 'traceback' "no traceback"
at '2026-01-26 09:00' claim.lua item=laba-porridge "id=$ID4" station=ST01
expect_rc 0 "porridge on Laba" && expect_out 'issued: laba-porridge to member 4 at ST01' "issued"
at '2026-01-26 09:30' claim.lua item=laba-porridge member=4 station=ST02
expect_rc 1 "porridge twice" && expect_err 'refused (already)' "once per member"
at '2026-02-16 22:00' claim.lua item=duty-gift "id=$ID3" station=ST02
expect_rc 0 "a platform worker's duty gift on 除夕" && expect_out 'issued: duty-gift to member 3 at ST02' "issued"
at '2026-02-16 22:00' claim.lua item=duty-gift "id=$ID4" station=ST02
expect_rc 1 "a standard employee's duty gift" && expect_err 'refused (not_eligible)' "gig workers only"

at '2026-02-01 10:00' quiz.lua member=4 q1=B q2=C q3=a
expect_rc 0 "quiz answers" && expect_out 'q3: A (right)' "answers checked"
printf 'member_id,question,answer\n5,q1,B\n5,q7,A\n6,q2,C\n' >"$S/answers.csv"
at '2026-02-01 11:00' quiz.lua file=answers.csv
expect_rc 1 "a quiz sheet with a bad line" &&
  expect_out "answers.csv:3: refused (no_question): no question 'q7'" "the line and the reason" &&
  expect_out '3 answers: 2 recorded, 1 refused' "the others are recorded"
at '2026-02-25 10:00' subsidy.lua member=4 yuan=612.50 ticket=G7
expect_rc 0 "a ticket subsidy" && expect_out 'issued: 500.00 yuan to member 4 for a ticket of 612.50 yuan (the cap per member)' "capped"
at '2026-02-25 10:00' subsidy.lua member=5 yuan=abc
expect_rc 1 "a bad amount" && expect_err "yuan=: 'abc' is not an amount in yuan" "named"
at '2026-02-25 12:00' discount.lua member=4 yuan=500 merchant=万家超市
expect_rc 0 "a discount" && expect_out 'discount: 30.00 yuan off 500.00 yuan for member 4 (30.00 yuan of 200.00 used)' "cut to the cap per use"

# the red-envelope draw: a notary's seed committed, the list closed naming a
# public value due a few seconds later (the host's clock), the draw from it
printf 'newyear-2026 red envelopes: 9f1c27e4b3a80d56\n' >"$S/seed.txt"
SEED='newyear-2026 red envelopes: 9f1c27e4b3a80d56'
SC=$(printf %s "$SEED" | sha256sum | cut -d' ' -f1)
PUBLIC='中国福利彩票双色球 2026年2月12日开奖号码'
VALUE='03 07 12 19 25 31 09'
at '2026-01-02 09:00' publish.lua draw=red-envelope
expect_rc 1 "publishing without naming the public value" && expect_err 'usage: gonghui run publish.lua' "usage"
at '2026-01-02 09:00' publish.lua draw=red-envelope "public=$PUBLIC" after=2026-01-01
expect_rc 1 "a public value time that is not a time" && expect_err "refused: newyear" "refused" &&
  expect_err 'after = 2026-01-01' "the value named" && no_err 'traceback' "a refusal line, no traceback"
at '2026-01-02 09:00' publish.lua draw=red-envelope "public=$PUBLIC" 'after=2020-01-01 00:00'
expect_rc 1 "a public value already known" && expect_err "which is not after now" "refused: it could be known"
at '2026-01-02 09:00' commit.lua draw=red-envelope seed=x
expect_rc 1 "a seed on commit.lua's command line" && expect_err 'the seed stays secret' "refused"
at '2026-01-02 09:00' commit.lua draw=red-envelope "seed_file=$S/seed.txt" party=notary
expect_rc 0 "the seed commitment" && expect_out "seed commitment $SC" "the SHA-256 of the seed, as sha256sum gives it"
at '2026-01-02 09:05' commit.lua draw=red-envelope commitment=abc
expect_rc 1 "a commitment that is no SHA-256" && expect_err 'refused: newyear: the seed commitment must be a SHA-256' "named" &&
  no_err 'traceback' "a refusal line, no traceback"
at '2026-01-02 09:05' commit.lua draw=no-such-draw commitment=abc
expect_rc 1 "an unknown draw" && expect_err "refused: newyear: no draw 'no-such-draw'" "named" &&
  no_err 'traceback' "a refusal line, no traceback"
# in Chinese the refusal is still a refusal line (its prefix is the catalog's 新春：)
LANG=zh_CN.UTF-8 at '2026-01-02 09:05' commit.lua draw=no-such-draw commitment=abc
expect_rc 1 "an unknown draw, in Chinese" && expect_err "未通过：新春：" "named in Chinese" &&
  no_err 'traceback' "a refusal line in Chinese, no traceback"
# (the value is due a few seconds on; a machine so slow that the closing took
# longer is given more: the closing is refused then, and nothing is stored)
for wait in 8 30 120; do
  DUE=$(($(date +%s) + wait))
  AFTER=$(date -d "@$DUE" '+%Y-%m-%d %H:%M:%S')
  at '2026-02-10 18:00' publish.lua draw=red-envelope "public=$PUBLIC" "after=$AFTER" out=entrants.txt record=closed.txt
  grep -q 'which is not after now' "$S/err" || break
done
expect_rc 0 "publishing the entrants" && expect_out 'draw newyear-2026:red-envelope: 3000 entrants for 2025 prizes' "3,000 entrants"
LC=$(sed -n 's/^  list commitment:  //p' "$S/out")
[ "$(sha256sum "$S/entrants.txt" | cut -d' ' -f1)" = "$LC" ] || fail "sha256sum of the published list is not its commitment"
[ "$(wc -l <"$S/entrants.txt")" -eq 3000 ] || fail "the published list has $(wc -l <"$S/entrants.txt") lines"
grep -qx 3001 "$S/entrants.txt" && fail "a member who left is in the list"
grep -q "^public_source: $PUBLIC\$" "$S/closed.txt" && grep -q '^closed_at: ' "$S/closed.txt" ||
  fail "the closing record does not name the public value and the closing time"
grep -q '^closed_at: 2026-02-10' "$S/closed.txt" && fail "the closing time is --now's, not the host clock's"

at '2026-02-20 10:00' draw.lua draw=red-envelope "public=$VALUE" "seed_file=$S/seed.txt"
# (refused only if the run ended before the due time: a machine slow enough
# to reach it first has nothing to refuse, and is not checked here; the
# nothing-drawn-yet case is lua_draw_unbiased's)
if [ "$(date +%s)" -lt "$DUE" ]; then
  expect_rc 1 "a draw before the public value is due" && expect_err 'is not known before' "refused by the host clock"
elif [ "$RC" = 1 ]; then
  expect_err 'is not known before' "refused by the host clock"
fi
while [ "$(date +%s)" -lt "$DUE" ]; do sleep 0.3; done
at '2026-02-20 10:00' draw.lua draw=red-envelope "public=$VALUE" "seed=$SEED!"
expect_rc 1 "a seed that is not the committed one" && expect_err 'this seed is not the one notary committed to' "refused" &&
  no_err 'traceback' "a refusal line, no traceback"
at '2026-02-20 10:00' draw.lua draw=red-envelope "public=$VALUE" "seed_file=$S/seed.txt" out=winners.txt record=record.txt
expect_rc 0 "the draw" && expect_out 'draw newyear-2026:red-envelope: 2025 winners of 3000 entrants' "2,025 winners"
[ "$(sort -u "$S/winners.txt" | wc -l)" -eq 2025 ] || fail "the winners are not 2,025 distinct members"
at '2026-02-20 10:05' draw.lua draw=red-envelope "public=$VALUE" "seed_file=$S/seed.txt" out=winners2.txt record=record2.txt
expect_rc 0 "drawing again" && cmp -s "$S/winners.txt" "$S/winners2.txt" || fail "drawing again gave other winners"
# grinding: once recorded, the public value is the only one; another is refused
at '2026-02-20 10:05' draw.lua draw=red-envelope "public=01 02 03 04 05 06 07" "seed_file=$S/seed.txt" out=w3.txt
expect_rc 1 "drawing again with another public value" && expect_err 'was drawn with the public value' "refused" &&
  cmp -s "$S/winners.txt" "$S/winners2.txt" && pass "the draw cannot be run again with another public value"

at '2026-02-21 10:00' verify.lua draw=red-envelope entrants=entrants.txt winners=winners.txt
expect_rc 0 "verifying the published files" && expect_out 'ok: draw newyear-2026:red-envelope: the 2025 winners' "ok"
at '2026-02-21 10:00' verify.lua draw=red-envelope record=record.txt "public=$VALUE"
expect_rc 0 "verifying the published record against the announced value" && expect_out 'ok: draw' "ok"
at '2026-02-21 10:00' verify.lua draw=red-envelope "public=01 02 03 04 05 06 07"
expect_rc 1 "a public value that is not the one announced" && expect_err 'does not verify: the seed is not the one' "named"
{ cat "$S/entrants.txt"; echo 3001; } >"$S/tampered.txt"
at '2026-02-21 10:00' verify.lua draw=red-envelope entrants=tampered.txt
expect_rc 1 "a tampered list" && expect_err 'does not verify: the entrant list does not match the list commitment' "named"
at '2026-02-21 10:00' verify.lua draw=red-envelope "seed=$SEED."
expect_rc 1 "a tampered seed" && expect_err "does not verify: notary's revealed seed does not match the seed commitment" "named"
{ sed -n 2p "$S/winners.txt"; sed -n 1p "$S/winners.txt"; sed 1,2d "$S/winners.txt"; } >"$S/swapped.txt"
at '2026-02-21 10:00' verify.lua draw=red-envelope winners=swapped.txt
expect_rc 1 "swapped winners" && expect_err 'does not verify: winner 1 does not match' "named"

# anyone, with python3 and the published record only
if command -v python3 >/dev/null 2>&1; then
  out=$(python3 "$SRC/plugins/lottery/lottery_check.py" verify-record "$S/record.txt" "$VALUE")
  case $out in
    "ok: 2025 winners in 1 tiers follow from the lists and the public value $VALUE") pass "python3 verifies the published record" ;;
    *) fail "python3 on the published record: $out" ;;
  esac
  sed "s/^public_value: .*/public_value: 01 02 03 04 05 06 07/" "$S/record.txt" >"$S/record-tampered.txt"
  python3 "$SRC/plugins/lottery/lottery_check.py" verify-record "$S/record-tampered.txt" >/dev/null &&
    fail "python3 accepts a record with another public value"
  out=$(python3 "$SRC/plugins/lottery/lottery_check.py" verify-record "$S/closed.txt")
  case $out in
    "ok: closed, not drawn yet"*) pass "python3 checks the closing record" ;;
    *) fail "python3 on the closing record: $out" ;;
  esac
fi

# two processes giving member 7 discounts at once, each over every day of the
# window: once a day and 200 yuan in all (10 discounts of 20), never more
cp "$NY/plan.lua" "$S/plan.lua"
lua race.lua <<'LUA'
local newyear = require 'newyear'
local dates = require 'dates'
local ny = newyear.define(require 'plan')
local got, n = {}, 0
local day = params.first == 1 and ny.starts or ny.ends
while day >= ny.starts and day <= ny.ends do
  local t1 = os.clock()   -- a cashier's moment between bills, so the other process gets the lock too
  while os.clock() - t1 < 0.002 do end
  local a, code = ny:discount(7, 10000, { at = day .. ' 12:00:00' })
  got[code or 'ok'] = (got[code or 'ok'] or 0) + 1
  n = n + 1
  day = dates.add_days(day, params.first == 1 and 1 or -1)
end
print(string.format('tries=%d ok=%d cap=%d', n, got.ok or 0, got.cap_reached or 0))
LUA
lua race_check.lua <<'LUA'
local newyear = require 'newyear'
local ny = newyear.define(require 'plan')
local days, n = {}, 0
for e in db.program_entries:scan{ index = 'program,member_id', eq = { ny.id, 7 } } do
  if e.kind == 'code-discount' then
    n = n + 1
    if days[e.day] then error('twice on ' .. e.day) end
    days[e.day] = true
  end
end
print(string.format('awards=%d used=%d ok=%s', n, ny:discount_used(7), tostring(ny:report().ok)))
LUA
race "$S/a" "$BIN" --db "$DB" run "$S/race.lua" first=1
race "$S/b" "$BIN" --db "$DB" run "$S/race.lua" first=0
race_go
RA=$R1 RB=$R2
if [ "$RA" -ne 0 ] || [ "$RB" -ne 0 ]; then
  fail "the two discount processes exited $RA and $RB: $(cat "$S/a.err" "$S/b.err")"
else
  gh --db "$DB" run "$S/race_check.lua"
  expect_rc 0 "after the race" && expect_out 'awards=10 used=20000 ok=true' "10 discounts of 20 yuan, once a day, never past 200"
  pass "two processes at once: A $(cat "$S/a.out"), B $(cat "$S/b.out")"
  grep -q ' ok=0 ' "$S/a.out" "$S/b.out" && echo "note: the two did not overlap in time this run" >&2
fi

at '2026-02-21 12:00' report.lua csv=report.csv
expect_rc 0 "the report" &&
  expect_out 'caps checked: no stock, budget or per-member cap exceeded; every draw verifies' "caps hold" &&
  expect_out '现金红包' "the red envelopes in the report"
grep -q '^现金红包,(all),2025,2025,0' "$S/report.csv" 2>/dev/null ||
  grep -q '现金红包,(all),2025,2025,0' "$S/report.csv" || fail "report.csv: the red envelopes row"
finish
