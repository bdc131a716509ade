#!/bin/sh
# sample_demo.sh BINARY SCRATCH — scripts/sample_data.lua and scripts/demo.lua
# (what `make demo` runs): the same seed gives the same registry, the
# unions tree, rest stations and the members' program fields hang
# together, and the demo runs its three programs through their libraries
# and issues nothing twice when run again.
. "$(dirname "$0")/lib.sh"
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
setup "$@"

gh --db "$S/a" run "$ROOT/scripts/sample_data.lua" members=800 seed=7 activity=1
expect_rc 0 "sample data" && expect_out "sample data: 800 members, 4 enterprises in" "the summary" &&
  expect_out "rest stations, " "the summary names stations" && expect_out "member titles (seed 7)" "the summary names titles" && pass "sample data: 800 members"
gh --db "$S/b" run "$ROOT/scripts/sample_data.lua" members=800 seed=7 activity=1
for c in members enterprises unions stations member_titles; do
  "$BIN" --db "$S/a" export $c --unmask --out "$S/a-$c.csv" >/dev/null 2>&1
  "$BIN" --db "$S/b" export $c --unmask --out "$S/b-$c.csv" >/dev/null 2>&1
  if cmp -s "$S/a-$c.csv" "$S/b-$c.csv" && [ -s "$S/a-$c.csv" ]; then
    pass "the same seed gives the same $c"
  else
    fail "the same seed gave different $c"
  fi
done
gh --db "$S/c" run "$ROOT/scripts/sample_data.lua" members=800 seed=8
"$BIN" --db "$S/c" export members --unmask --out "$S/c-members.csv" >/dev/null 2>&1
if cmp -s "$S/a-members.csv" "$S/c-members.csv"; then fail "another seed gave the same members"; else pass "another seed, other members"; fi

lua tree.lua <<'LUA'
local registry = require 'registry'
local problems, n = {}, {}
local function bad(fmt, ...) if #problems < 10 then problems[#problems + 1] = string.format(fmt, ...) end end
local roots = db.unions:list{ level = 'federation' }
if #roots ~= 1 then bad('%d federations', #roots) end
-- one tree: every union is under the root, and each level sits under the right one
local under = {}
for _, id in ipairs(registry.union_subtree(roots[1].union_id)) do under[id] = true end
local PARENT = { district = 'federation', town = 'district', industry = 'district', enterprise = 'town', joint = 'town' }
for u in db.unions:scan() do
  n[u.level] = (n[u.level] or 0) + 1
  if not under[u.union_id] then bad('union %d is not in the tree', u.union_id) end
  if PARENT[u.level] and db.unions:get(u.parent_id, 'level') ~= PARENT[u.level] then
    bad('union %d (%s) is under a %s', u.union_id, u.level, tostring(db.unions:get(u.parent_id, 'level')))
  end
end
for e in db.enterprises:scan() do
  local lvl = db.unions:get(e.union_id, 'level')
  if lvl ~= 'enterprise' and lvl ~= 'joint' then bad('enterprise %d has union %s', e.enterprise_id, tostring(e.union_id)) end
  if db.unions:get(e.union_id, 'town') ~= e.town then bad('enterprise %d: its union is in another town', e.enterprise_id) end
end
local forms, shared, hh, cadre_f = {}, 0, {}, 0
for m in db.members:scan() do
  forms[m.employment_form] = (forms[m.employment_form] or 0) + 1
  local lvl = db.unions:get(m.union_id, 'level')
  if m.employment_form == 'new_form' then
    if lvl ~= 'industry' then bad('member %d is new_form in a %s union', m.member_id, tostring(lvl)) end
    if m.category ~= 'gig_delivery' and m.category ~= 'courier' and m.category ~= 'driver' then
      bad('member %d is new_form as %s', m.member_id, m.category)
    end
  elseif m.union_id ~= db.enterprises:get(m.enterprise_id, 'union_id') then
    bad('member %d is not in the union of enterprise %d', m.member_id, m.enterprise_id)
  end
  if (m.gender == 'F') ~= (m.post_type ~= nil) then bad('member %d: post_type %s for gender %s', m.member_id, tostring(m.post_type), m.gender) end
  if m.post_type == 'cadre' then cadre_f = cadre_f + 1 end
  hh[m.household] = (hh[m.household] or 0) + 1
end
for _, c in pairs(hh) do if c > 1 then shared = shared + c end end
for s in db.stations:scan() do
  if db.unions:get(s.host_union_id, 'town') ~= s.town then bad('station %s: its union is not of its town', s.station_id) end
end
for town in pairs(db.members:count_by('town')) do
  if db.stations:count{ town = town } == 0 then bad('town %s has no rest station', town) end
end
if (forms.new_form or 0) == 0 or (forms.dispatch or 0) == 0 or (forms.standard or 0) == 0 then bad('employment forms: too few kinds') end
if shared == 0 or shared > 400 then bad('%d members share a household', shared) end
if cadre_f == 0 then bad('no woman in a cadre post') end
if (n.joint or 0) == 0 or (n.enterprise or 0) == 0 or (n.industry or 0) == 0 then bad('union levels missing') end
-- unified social credit codes: GB 32100 MOD 31 check character, the enterprise's region
local CC = '0123456789ABCDEFGHJKLMNPQRTUWXY'
local W = { 1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28 }
for e in db.enterprises:scan() do
  local code, sum = e.credit_code, 0
  for i = 1, 17 do sum = sum + (CC:find(code:sub(i, i), 1, true) - 1) * W[i] end
  if #code ~= 18 or CC:sub((31 - sum % 31) % 31 + 1, (31 - sum % 31) % 31 + 1) ~= code:sub(18) then
    bad('enterprise %d: credit code %s has a wrong check character', e.enterprise_id, code)
  end
end
-- honorary titles: to members who stayed, at 25 or older, not before they joined
local nt = 0
for t in db.member_titles:scan() do
  nt = nt + 1
  local m = db.members:get(t.member_id)
  if m.status == 'left' or t.awarded:sub(1, 4) + 0 < m.birth_date:sub(1, 4) + 25 or t.awarded:sub(1, 4) < m.join_date:sub(1, 4) then
    bad('title %d of member %d: awarded %s, born %s, joined %s', t.title_id, m.member_id, t.awarded, m.birth_date, m.join_date)
  end
end
if nt == 0 then bad('no member titles') end
print(#problems == 0 and 'tree ok' or ('PROBLEMS: ' .. table.concat(problems, '; ')))
LUA
gh --db "$S/a" run "$S/tree.lua"
expect_rc 0 "the tree check" && expect_out "tree ok" "unions, enterprises, members and stations hang together" &&
  pass "unions tree, enterprises' and members' unions, forms, households, stations"

gh --db "$S/a" run "$ROOT/scripts/demo.lua"
expect_rc 0 "demo" && expect_out "1. 2025年春节送温暖" "the gift drive" && expect_out "2. 光荣退休 2025" "the honors" &&
  expect_out "3. 技能大赛" "the contest" && expect_out "marks locked" "the contest is locked" &&
  pass "the demo runs the three programs"
expect_out "一、班前十分钟安全宣讲：" "the ten-things page" && expect_out "they agree" "the page's log and records agree" &&
  pass "the demo shows the ten-things page"
if [ "$(wc -l <"$S/out")" -gt 60 ]; then fail "the demo printed $(wc -l <"$S/out") lines, more than 60"; fi
gh --db "$S/a" run -e 'print(db.program_entries:count(), db.certificates:count(), db.contest_titles:count())'
first=$(cat "$S/out")
gh --db "$S/a" run "$ROOT/scripts/demo.lua"
expect_rc 0 "demo again" && expect_out "issued now 0, before" "nothing twice" && expect_out "certificates issued now 0" "honors once" &&
  expect_out "titles awarded now 0" "titles once" && pass "the demo again issues nothing twice"
gh --db "$S/a" run -e 'print(db.program_entries:count(), db.certificates:count(), db.contest_titles:count())'
if [ "$(cat "$S/out")" = "$first" ]; then pass "the same records after the second demo"; else fail "records changed: $first -> $(cat "$S/out")"; fi
gh --db "$S/a" run -e 'if db.collections then for _, c in ipairs(db.collections()) do if c == "awards" then print("awards") end end end'
if grep -q awards "$S/out"; then fail "the demo still makes its own awards collection"; fi
gh --db "$S/a" check
expect_rc 0 "check" && pass "check is clean"

# the shipped gift drive set up after the demo: its own program (the demo's
# drive once had its id and setup.lua then refused the plan), and each of
# its stations under the union drive.lua names (the sample's ST02 is in
# another town: setup.lua kept that town's union)
gh --db "$S/a" run "$ROOT/scripts/gift_drive/setup.lua"
expect_rc 0 "the gift drive's setup after the demo" && pass "the gift drive sets up after the demo"
gh --db "$S/a" run -e 'for _, id in ipairs{ "ST01", "ST02", "ST03" } do local s = db.stations:get(id); print(id, s.town, db.unions:get(s.host_union_id, "name")) end'
expect_out "ST02	许村镇	许村镇总工会" "ST02's union" && expect_out "ST03	长安镇	长安镇总工会" "ST03's union" &&
  pass "the drive's stations are under the unions drive.lua names"
cp -r "$ROOT/scripts/gift_drive" "$S/typo"
sed -i "s/host_union = '许村镇总工会'/host_union = '许村总工会'/" "$S/typo/drive.lua"
gh --db "$S/a" run "$S/typo/setup.lua"
expect_rc 1 "a host union's name that is not in the registry" &&
  expect_err "key 'stations[2].host_union': no union named '许村总工会'" "names the key and the value" &&
  no_err "stack traceback" "no traceback" && pass "a mistyped host union is refused plainly"
finish
