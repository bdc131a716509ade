-- program_report_sets.lua — P:report counts distinct members and households
-- with bit sets (scripts/lib/program.lua, issue 23): the same figures as a
-- plain count with a Lua set per cell, for every form of household (H123,
-- the household of one stored as text or not stored, other names), member
-- ids far apart, reversals, per-day household times, by town and from the log.
local t = require 'testlib'
local fx = require 'program_fixtures'
local program = require 'program'

fx.load()

-- the plain count: what P:report computed before its sets were bits
local function plain(P, by)
  local list, rev = {}, {}
  for r in db.program_entries:scan{ index = 'program,kind', eq = { P.id } } do
    local e = program.entry(r)
    if e.reverses then rev[e.reverses] = true; rev[e.entry_id] = true end
    list[#list + 1] = e
  end
  local function cell() return { person_times = 0, persons = 0, household_times = 0, households = 0, qty = 0, fen = 0,
                                 p = {}, h = {}, hk = {} } end
  local function count(c, e)
    c.person_times = c.person_times + (e.member_id and 1 or 0) + (e.heads or 0)
    if e.member_id and not c.p[e.member_id] then c.p[e.member_id] = true; c.persons = c.persons + 1 end
    if e.household then
      local hk = e.household .. '|' .. e.kind .. (P.plan.household_times == 'day' and ('|' .. e.day) or '')
      if not c.hk[hk] then c.hk[hk] = true; c.household_times = c.household_times + 1 end
      if not c.h[e.household] then c.h[e.household] = true; c.households = c.households + 1 end
    end
    c.qty, c.fen = c.qty + e.qty, c.fen + e.fen
  end
  local out = { total = cell(), by = {} }
  for _i, e in ipairs(list) do
    if not rev[e.entry_id] then
      count(out.total, e)
      local v = by and tostring(e.town or (e.member_id and db.members:get(e.member_id, 'town')) or '(none)')
      if v then out.by[v] = out.by[v] or cell(); count(out.by[v], e) end
    end
  end
  local function figures(c) return { c.person_times, c.persons, c.household_times, c.households, c.qty, c.fen } end
  local res = { total = figures(out.total), by = {} }
  for k, c in pairs(out.by) do res.by[k] = figures(c) end
  return res
end

local function figures(rep)
  local function f(c) return { c.person_times, c.persons, c.household_times, c.households, c.qty, c.fen } end
  local res = { total = f(rep.total), by = {} }
  for k, c in pairs(rep.by) do res.by[k] = f(c) end
  return res
end

for _i, times in ipairs{ 'kind', 'day' } do
  t.case('household times per ' .. times .. ': the bit sets count what a set per cell counts', function()
    local P = program.define{
      id = 'sets-' .. times, title = '集合', year = 2025, union = 1, household_times = times,
      window = { from = '2025-01-01', to = '2025-12-31' },
      kinds = { { kind = 'gift', title = '礼包', value_fen = 100 }, { kind = 'visit', title = '慰问' } },
    }
    -- the members' households: H-numbers (one beyond 2^38), a household of
    -- one (not stored in the ledger), another member's 'm' form, a name
    local hh = { 'own', 'H7', 'H123456789012', 'm4', '李家', 'H0', 'H7' }
    db.atomic(function()
      for i, r in ipairs(fx.MEMBERS) do
        local h = hh[i % #hh + 1]
        db.members:update(r[1], { household = h == 'own' and ('m' .. r[1]) or h })
      end
    end)
    local reversible = {}
    for i = 1, 60 do
      local m = fx.MEMBERS[(i * 7) % #fx.MEMBERS + 1][1]
      local e, _c, why = P:enter{ kind = i % 3 == 0 and 'visit' or 'gift', member = m, key = 'k' .. i,
                                  day = string.format('2025-03-%02d', i % 4 + 1) }
      assert(e, why)
      if i % 9 == 0 then reversible[#reversible + 1] = e.entry_id end
    end
    assert(P:enter{ kind = 'visit', heads = 12, key = 'crowd', day = '2025-03-02' })   -- no member
    for _i, id in ipairs(reversible) do assert(P:reverse(id, '录错')) end
    local want = plain(P, true)
    t.eq(figures(P:report{ by = 'town' }), want, 'from the records')
    t.eq(figures(P:report{ by = 'town', from = 'log' }), want, 'from the log')
    local rep = P:report{}
    t.eq(rep.reversed, #reversible)
    t.eq(rep.total._p, nil, 'the sets are not in the report')
  end)
end

t.done()
