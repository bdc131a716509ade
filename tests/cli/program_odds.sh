#!/bin/sh
# program_odds.sh BINARY SCRATCH — odds and ends of the programs (issue 21):
# every ID number in the README and the scripts' usage lines passes its own
# check, credit codes are checked on import, the year report writes its
# workbook into run --out DIR.
. "$(dirname "$0")/lib.sh"
SRC=$(cd "$(dirname "$0")/../.." && pwd)
setup "$@"

# --- the examples' ID numbers are valid (a clerk copies them) ---------------------------
lua ids.lua <<'LUA'
local registry = require 'registry'
local bad, n = {}, 0
for _, path in ipairs(params.files) do
  local f = assert(io.open(path, 'rb'))
  local text = f:read('a')
  f:close()
  -- an ID shown on purpose as a bad one has a line saying so ('is not a valid ID number')
  local meant = {}
  for line in text:gmatch('[^\n]+') do
    if line:find('not a valid', 1, true) or line:find('wrong check', 1, true) or line:find('impossible', 1, true) then
      for id in line:gmatch('%d+X?') do meant[id] = true end
    end
  end
  for id in text:gmatch('%f[%w*]([1-9]%d%d%d%d%d%d%d%d%d%d%d%d%d%d%d%d[%dX])%f[^%w]') do
    n = n + 1
    local ok, why = registry.valid_id(id)
    if not ok and not meant[id] then bad[#bad + 1] = path:match('[^/]+/[^/]+$') .. ': ' .. id .. ' ' .. why end
  end
end
print(n .. ' ID numbers')
if #bad > 0 then error(table.concat(bad, '\n'), 0) end
LUA
set -- "$SRC/README.md" "$SRC"/scripts/*/*.lua "$SRC"/scripts/lib/*.lua
files=$(printf '%s,' "$@")
lua list.lua <<LUA
params.files = {}
for f in ('$files'):gmatch('[^,]+') do params.files[#params.files + 1] = f end
LUA
gh --db "$S/db" run --in "$SRC" -e "$(cat "$S/list.lua")
$(cat "$S/ids.lua")"
expect_rc 0 "the example ID numbers pass their check" && pass "the README's and the scripts' ID numbers are valid"

# --- credit codes are checked on import -----------------------------------------------
lua define.lua <<'LUA'
require('registry').define_enterprises()
LUA
gh --db "$S/db" run "$S/define.lua"
expect_rc 0 "define enterprises"
printf 'enterprise_id,name,town,统一社会信用代码\n1,海宁恒达物流有限公司,许村镇,91350100M000100Y43\n2,错码公司,许村镇,91350100M000100Y44\n3,小写公司,许村镇,91350100m000100y43\n4,短码公司,许村镇,9135010\n' >"$S/ent.csv"
gh --db "$S/db" import enterprises "$S/ent.csv" --map 统一社会信用代码=credit_code
expect_rc 3 "two bad credit codes" &&
  expect_err 'ent.csv:3: 统一社会信用代码: has a wrong check character (the last one is 4, the first 17 give 3)' "the mistyped one named" &&
  expect_err 'ent.csv:5: 统一社会信用代码: has 7 characters' "the short one named" &&
  pass "credit codes are checked on import"
gh --db "$S/db" run -e "print(db.enterprises:count(), db.enterprises:get(3, 'credit_code'))"
expect_out "2	91350100M000100Y43" "the good rows stored, lower case as upper"

# --- the year report's workbook goes into run --out DIR ---------------------------------
mkdir -p "$S/wb"
gh --db "$S/db" run --out "$S/wb" "$SRC/scripts/year_report/report.lua" year=2025 xlsx=year.xlsx
expect_rc 0 "the year report with --out DIR and xlsx=NAME" &&
  expect_out "workbook: $S/wb/year.xlsx" "says where" &&
  [ -s "$S/wb/year.xlsx" ] && pass "the workbook is in the output folder"
gh --db "$S/db" run --out "$S/wb" "$SRC/scripts/year_report/report.lua" year=2025 xlsx=../year.xlsx
expect_rc 1 "a workbook outside the output folder" && expect_err "no '..'" "refused"
finish
