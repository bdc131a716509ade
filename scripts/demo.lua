-- demo.lua — three of the union's programs over the sample registry, each
-- through its library, as `make demo` shows them:
--
--   gonghui --db DIR run scripts/sample_data.lua     (once, to make a registry)
--   gonghui --db DIR run scripts/demo.lua
--
-- 1. 春节送温暖: every active outdoor worker (riders, couriers, sanitation,
--    construction, drivers) gets a gift package, once, from a budgeted
--    stock: a program of the framework (scripts/lib/program.lua);
-- 2. 光荣退休: who reaches statutory retirement age in 2025, and their honor
--    certificates (scripts/lib/retirement.lua);
-- 3. 技能大赛: the CNC-turning contest of scripts/contest/example.lua with
--    twelve factory workers, marks drawn from a fixed seed, spread flags
--    reconciled, the lock, the ranking and the titles (scripts/lib/contest.lua);
-- 4. the year report: the three programs' 2025 in sessions, persons,
--    person-times, household-times and yuan, rebuilt from the event log and
--    checked against the records (scripts/lib/year_report.lua);
-- 5. the "ten things" page of 2024 from the sample's year of activity
--    (scripts/lib/ten_things.lua: the activity register and union building).
--
-- Running it again issues nothing twice: every step says what it did now
-- and what was done before.
local registry = require 'registry'
local program = require 'program'
local retirement = require 'retirement'
local contest = require 'contest'
local year_report = require 'year_report'
local fmt = require 'fmt'

registry.define_all()
if db.members:count() == 0 then
  error(gettext('the registry has no members yet: run scripts/sample_data.lua first'))
end
local AT = '2025-01-20 09:00:00'     -- the programs act as of these dates
print(string.format(gettext('registry: %d members, %d enterprises, %d unions, %d rest stations'),
                    db.members:count(), db.enterprises:count(), db.unions:count(), db.stations:count()))

-- ---- 1. the gift drive --------------------------------------------------------

local OUTDOOR = { 'gig_delivery', 'courier', 'sanitation', 'construction', 'driver' }
local STOCK = math.max(100, db.members:count() * 3 // 1000 * 100)   -- the budget: 30% of the members
-- its own id: the shipped drive (scripts/gift_drive/drive.lua) is spring-2025,
-- and a clerk may set that up on the same registry after the demo
local P = program.define{
  id = 'demo-spring-2025', title = '2025年春节送温暖（演示）', window = { from = '2025-01-10', to = '2025-02-12' },
  who = { where = { category = OUTDOOR, status = 'active' } },
  kinds = { { kind = 'gift-package', title = '新春礼包', value_fen = 20000, stock = STOCK, per_member = 1 } },
}
local n = P:grant_all('gift-package', { at = AT, batch = 500 })
local rep = P:report{ by = 'town' }
local given = db.program_totals:get(P.id .. '|stock:gift-package')
print()
print(string.format(gettext('1. %s: a 新春礼包 (200.00 yuan) per active outdoor worker, stock %d'), P.title, STOCK))
print(string.format(gettext('   issued now %d, before %d%s; %d 人次 to %d 人 in %d households, %s yuan; %d left'),
  n.entered, n.already or 0, n.out_of_stock and string.format(gettext(', %d found none left'), n.out_of_stock) or '',
  rep.total.person_times, rep.total.persons, rep.total.households, fmt.yuan(rep.total.fen),
  STOCK - (given and given.qty or 0)))
local by = {}
for town, c in pairs(rep.by) do by[#by + 1] = { value = town, person_times = c.person_times } end
rep.by = by
table.sort(rep.by, function(a, b)
  if a.person_times ~= b.person_times then return a.person_times > b.person_times end
  return a.value < b.value
end)
local rows = {}
for i = 1, math.min(5, #rep.by) do
  rows[i] = { rep.by[i].value, rep.by[i].person_times, fmt.yuan(rep.by[i].person_times * 20000) }
end
local function indent(text) return '   ' .. (text:gsub('\n', '\n   ')) end
print(indent(fmt.table({ gettext('town (top 5)'), '人次', gettext('yuan') }, rows, { right = { 2, 3 } })))
if not rep.ok then print(gettext('   PROBLEMS: ') .. table.concat(rep.problems, '; ')) end

-- ---- 2. retirement honors -----------------------------------------------------

retirement.define_collections()
local due = retirement.due('2025-01-01', '2025-12-31')
local issued = { issued = 0, already = 0 }
local root = db.unions:list{ level = 'federation', limit = 1 }[1]     -- the issuing union
if root then
  -- 1,000 certificates to a transaction: LMDB holds a transaction's pages in
  -- memory until it commits (13,459 at 1,000,000 members in one: 24 MB)
  for from = 1, #due, 1000 do
    db.atomic(function()
      for i = from, math.min(#due, from + 999) do
        local r = due[i]
        local _, st = retirement.issue(r.member_id, root.union_id, 2025, { retire_date = r.retire_date, at = AT })
        issued[st] = issued[st] + 1
      end
    end)
  end
end
print()
print(string.format(gettext('2. 光荣退休 2025: %d members reach statutory retirement age; certificates issued now %d, before %d%s'),
                    #due, issued.issued, issued.already, root and '' or ' (no federation in the unions tree to issue them)'))
local first = {}
for i = 1, math.min(3, #due) do
  local r = due[i]
  first[i] = string.format('%s %s %s', registry.mask_name(r.name), r.retire_date, r.age)
end
if #first > 0 then print(gettext('   first in stroke order: ') .. table.concat(first, ', ')) end

-- ---- 3. a skills contest ------------------------------------------------------

local spec = require 'contest.example'
local cc = contest.setup(spec, AT)
local ID = cc.contest_id
-- twelve active factory workers aged 22-50, from as many enterprises as there are
local picked, chosen, seen_ent = {}, {}, {}
for pass = 1, 2 do
  for m in db.members:scan{ category = 'factory', status = 'active',
                            birth_date = { from = '1975-01-01', to = '2003-01-01' } } do
    if #picked >= 12 then break end
    if pass == 2 or not seen_ent[m.enterprise_id] then
      if not chosen[m.member_id] then
        picked[#picked + 1], chosen[m.member_id], seen_ent[m.enterprise_id] = m.member_id, true, true
      end
    end
  end
end
local flagged = 0
if not cc.locked_at then
  for _, id in ipairs(picked) do contest.enter(ID, id, { at = AT }) end
  -- the marks, from a fixed seed: a skill per contestant, measurements near
  -- the nominal, judges' scores near the skill (one in a while further apart)
  math.randomseed(2025)
  local aspects = contest.aspects(ID, db.contests:get(ID, 'frozen_version') or cc.version)
  db.atomic(function()
    for e in db.contest_entries:scan{ index = 'contest,bib', eq = { ID } } do
      local skill = math.random()
      for _, a in ipairs(aspects) do
        local value
        if a.kind == 'judgement' then
          local base = math.min(3, math.floor(skill * 2.2 + math.random() * 1.2))
          local s = {}
          for j = 1, 3 do s[j] = math.max(0, math.min(3, base + math.random(-1, 1) * (math.random() < 0.3 and 1 or 0))) end
          if math.random() < 0.1 then s[3] = 3 - s[1] end                      -- a judge who saw it otherwise
          value = string.format('J1:%d J2:%d J3:%d', s[1], s[2], s[3])
        elseif a.nominal then
          -- uniform within ±w of the tolerance's middle: in tolerance with a
          -- chance of 1 / (0.6 + 1.2 (1 - skill)), 55% to 100%
          local half = (a.minus + a.plus) / 2
          local w = half * (0.6 + 1.2 * (1 - skill))
          local centre = a.nominal + (a.plus - a.minus) // 2
          local off = (math.random() * 2 - 1) * w
          value = contest.show(centre + math.floor(off / 1000) * 1000, 6, true)   -- to the micron
        else
          value = math.random() < 0.55 + skill * 0.4 and 'yes' or 'no'
        end
        local s = contest.mark(ID, e.bib, a.code, value, { at = AT })
        if s.flagged then
          -- reconciliation: the judges agree on the middle score
          local sc = {}
          for i, p in ipairs(s.judges) do sc[i] = p[2] end
          table.sort(sc)
          contest.mark(ID, e.bib, a.code, string.format('J1:%d J2:%d J3:%d', sc[2], sc[2], sc[2]), { at = AT })
          flagged = flagged + 1
        end
      end
    end
  end)
  contest.lock(ID, '2025-05-10 17:00:00')
end
local t = contest.award_titles(ID, { at = '2025-05-11 10:00:00' })
local ranking = contest.ranking(ID)
print()
print(string.format(gettext('3. 技能大赛 %s: %d contestants, %d judgement%s flagged and scored again, marks locked'),
                    spec.title, #ranking, flagged, flagged == 1 and '' or 's'))
rows = {}
for i = 1, math.min(5, #ranking) do
  local r = ranking[i]
  rows[i] = { r.rank, r.bib, registry.mask_name(r.name), db.enterprises:get(r.enterprise_id, 'name'),
              contest.marks(r.total), contest.qualifies(cc.title_rule, r) and cc.title_rule.title or '' }
end
print(indent(fmt.table({ gettext('rank'), gettext('bib'), gettext('name'), gettext('enterprise'), gettext('total'), gettext('title') }, rows, { right = { 1, 2, 5 } })))
local nos = {}
for _, x in ipairs(contest.titles{ contest = ID }) do nos[#nos + 1] = x.cert_no end
print(string.format(gettext('   titles awarded now %d, before %d; certificates %s'), #t.issued, t.already,
                    #nos > 0 and table.concat(nos, ', ') or '(none)'))
if #nos > 0 then
  local v = contest.verify(nos[1])
  print(string.format(gettext('   verify %s: %s, %s %s'), nos[1], contest.status_text(v.status), v.title, v.holder))
end

-- ---- 4. the year report ---------------------------------------------------------

local yr = year_report.build(2025)
local tot = yr.log.total
print()
print(string.format(gettext('4. 2025年 为职工办实事 (year report): %d 场次, %d 人, %d 人次, %d 户次, %s yuan'),
                    tot.sessions, tot.persons, tot.person_times, tot.household_times,
                    fmt.yuan(tot.money_fen)))
rows = {}
for i, r in ipairs(year_report.rows(yr, 'program')) do
  local c = r.cell
  rows[i] = { r.name, c.persons, c.person_times, fmt.yuan(c.money_fen) }
end
print(indent(fmt.table({ gettext('program'), '人', '人次', gettext('yuan') }, rows, { right = { 2, 3, 4 } })))
print(#yr.diffs == 0
      and string.format(gettext('   rebuilt from the event log (%d events replayed): agrees with the records'), yr.events)
      or ('   PROBLEMS: the log and the records disagree: ' .. table.concat(yr.diffs, '; ')))

-- ---- 5. the ten-things page of 2024 ---------------------------------------------

-- the sample's year of activity (scripts/lib/activity_sample.lua): every line
-- counted from the activity register and union building, never typed in
local ten = require 'ten_things'
local lines = assert(loadfile(run.dir .. '/ten_things/lines.lua'))()
local page = ten.build{ year = 2024, lines = lines }
print()
if #page.programs == 0 then
  print(gettext('5. ten things 2024: no activity yet (make the sample with activity=1)'))
else
  print(string.format(gettext('5. %d年%s (ten things; scripts/ten_things/report.lua year=%d):'), page.year,
                      lines.title, page.year))
  for _, r in ipairs(ten.rows(page)) do print(string.format('   %s、%s：%s。', r.cn, r.title, r.says)) end
  print(#page.diffs == 0
        and string.format(gettext('   counted from the records and again from the event log (%d events): they agree'), page.events)
        or ('   PROBLEMS: the log and the records disagree: ' .. table.concat(page.diffs, '; ')))
end
