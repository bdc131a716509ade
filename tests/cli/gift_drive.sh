#!/bin/sh
# gift_drive.sh BINARY SCRATCH — the Spring Festival gift drive's scripts end
# to end (scripts/gift_drive/): setup from drive.lua, a claim by ID number
# (exit 0), the same claim again and a mistyped ID refused plainly (exit 1,
# no traceback), a station's claim sheet (refusals by line, re-entry issues
# nothing twice), and the report where issued + remaining = quota.
. "$(dirname "$0")/lib.sh"
setup "$@"
DB=$S/db
SC=$(cd "$(dirname "$0")/../../scripts/gift_drive" && pwd)

lua make.lua <<'EOF2'
local registry = require 'registry'
registry.define_all()
db.enterprises:insert{ enterprise_id = 1, name = '海宁环境卫生有限公司', town = '硖石街道' }
for i = 1, 3 do
  local body = '3304811980010' .. string.format('%d%03d', i, i * 10 + 1)
  db.members:insert{ member_id = i, name = '环卫工' .. i, gender = 'M', birth_date = '1980-01-0' .. i,
    id_number = body .. registry.id_check_char(body), phone = '1380000000' .. i, enterprise_id = 1,
    town = '硖石街道', category = 'sanitation', join_date = '2010-01-01', status = 'active' }
end
print(db.members:get(1).id_number)
EOF2
gh --db "$DB" run "$S/make.lua"
expect_rc 0 "registry" || finish
ID1=$(head -n 1 "$S/out")

gh --db "$DB" run "$SC/setup.lua"
expect_rc 0 "setup" && pass "setup stores the stations, the campaign and the quotas"

gh --db "$DB" run --now '2025-01-20 09:00' "$SC/claim.lua" station=ST01 "id=$ID1"
expect_rc 0 "claim" && expect_out "issued: gift-package to member 1 at ST01" "claim" &&
  pass "a claim by ID number is issued (exit 0)"

gh --db "$DB" run --now '2025-01-20 10:00' "$SC/claim.lua" station=ST02 "id=$ID1"
expect_rc 1 "claim twice" && expect_err "refused (already)" "claim twice" &&
  if grep -q "traceback" "$S/err"; then fail "a refusal prints a traceback"; else
    pass "the same claim again: refused plainly (exit 1, no traceback)"; fi

gh --db "$DB" run --now '2025-01-20 10:00' "$SC/claim.lua" station=ST01 id=330481198001011235
expect_rc 1 "mistyped" && expect_err "refused" "mistyped" && pass "a mistyped ID number is refused"

# a station's claim sheet: labelled columns, each row its own transaction, the
# refused rows in ST01.refusals.csv (exit 1), and nothing issued twice on re-entry
gh --db "$DB" run -e 'for m in db.members:scan() do print(m.id_number) end'
ID2=$(sed -n 2p "$S/out"); ID3=$(sed -n 3p "$S/out")
printf '驿站,身份证号,物品,时间\r\nST01,%s,gift-package,2025/1/21 9:30\r\nST01,%s,gift-package,2025-01-21 09:31\r\nST01,%s,souvenir,2025年1月21日\r\nST09,%s,souvenir,\r\n' \
  "$ID2" "$ID1" "$ID3" "$ID3" >"$S/ST01.csv"
gh --db "$DB" run --now '2025-01-21 10:00' "$SC/claims.lua" file=ST01.csv
expect_rc 1 "a sheet with refused rows" && expect_out "4 rows: 2 entered, 1 already entered, 1 refused" "the sheet's summary (member 1 had the gift)" &&
  expect_out "ST01.csv:5: no station ST09" "an unknown station names its line" &&
  [ -f "$S/ST01.refusals.csv" ] && pass "a station's sheet: entered, refused by line, refusals file"
gh --db "$DB" run --now '2025-01-21 10:05' "$SC/claims.lua" file=ST01.csv
expect_out "4 rows: 0 entered, 3 already entered, 1 refused" "re-entering the sheet" && pass "the sheet again issues nothing twice"

gh --db "$DB" run "$SC/report.lua"
expect_rc 0 "report" && expect_out "ST01" "report" && pass "the report runs"

finish
