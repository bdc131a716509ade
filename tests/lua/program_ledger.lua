-- program_ledger.lua — scripts/lib/program.lua: plan checks naming file and
-- key, lunar windows, versioning after the first entry, the ledger's limits
-- (per entry, member, household, day, place, stock, budget; clipping),
-- idempotency keys, reversals, totals rebuilt from the ledger, overflow-checked
-- fen, the standard event, reports, masking and parameters.
-- params: code=007 card=6222021234567890123 year=2026 amount=12.50
local t = require 'testlib'
local fx = require 'program_fixtures'
local program = require 'program'

fx.load()

local function base(over)
  local p = {
    id = 't1', title = '测试项目', year = 2025,
    window = { from = '2025-01-10', to = '2025-02-12' },
    budget_fen = 100000,
    kinds = {
      { kind = 'gift', title = '礼包', value_fen = 20000, stock = 3, places = { ST01 = 2, ST02 = 1 },
        per_member = 1 },
      { kind = 'cash', title = '补贴', unit = 'fen' },
    },
    limits = {
      { per = 'entry', kind = 'cash', max_fen = 30000, clip = true },
      { per = 'member', kind = 'cash', max_fen = 40000, clip = true },
      { per = { 'member', 'day' }, kind = 'cash', max_count = 1 },
      { per = 'household', kind = 'cash', max_fen = 50000 },
    },
    who = { where = { status = 'active' } },
  }
  for k, v in pairs(over or {}) do p[k] = v end
  return p
end

t.case('plan errors name the file, the key and the problem', function()
  t.raises_all(function() program.define(base{ budjet = 5 }, { file = 'x/plan.lua' }) end,
               { 'plan x/plan.lua', "'budjet'", 'not a plan key' })
  t.raises_all(function() program.define(base{ budget_fen = 1.5 }, { file = 'p.lua' }) end,
               { "'budget_fen'", 'whole number' })
  t.raises_all(function() program.define(base{ window = { from = '2025-02-30', to = '2025-03-01' } }) end,
               { "'window.from'", 'not a real date' })
  t.raises_all(function()
    program.define(base{ limits = { { per = 'week', max_fen = 1 } } }, { file = 'p.lua' })
  end, { "'limits[1].per'", "'week'" })
  t.raises_all(function()
    program.define(base{ kinds = { { kind = 'g', stock = 2, places = { A = 2, B = 1 } } } })
  end, { "'kinds[1].places'", 'add up to 3' })
  t.raises_all(function() local p = base(); p.id = nil; program.define(p) end, { "'id'", 'missing' })
end)

t.case('lunar windows', function()
  local plan = require 'program.plan'
  t.eq(plan.day('春节', 2026), '2026-02-17')
  t.eq(plan.day('春节-15', 2026), '2026-02-02')
  t.eq(plan.day('正月十五', 2026), '2026-03-03')
  t.eq(plan.day('元宵', 2026), '2026-03-03')
  t.eq(plan.day('除夕', 2026), '2026-02-16')
  t.eq(plan.day('腊八', 2025), '2025-01-07')
  t.eq(plan.day('正月末', 2026), '2026-03-18')
  t.eq(plan.day('2026-01-01+3'), '2026-01-04')
  t.ok(not plan.day('春节', nil))
  t.ok(not plan.day('正月四十', 2026))
  local P = program.define(base{ id = 'lunar', window = { from = '腊八', to = '元宵' } })
  t.eq(P.plan.window.from, '2025-01-07')
  t.eq(P.plan.window.to, '2025-02-12')
end)

t.case('entries, limits and refusals', function()
  local P = program.define(base())
  local e, code, why = P:enter{ member = fx.id(1), kind = 'gift', place = 'ST01', at = '2025-01-20 09:00:00' }
  t.ok(e, why)
  t.eq(e.fen, 20000)
  e, code = P:enter{ member = fx.id(1), kind = 'gift', place = 'ST01', at = '2025-01-20 09:00:00' }
  t.eq(code, 'already')
  e, code = P:enter{ member = 6, kind = 'gift', place = 'ST01', at = '2025-01-20 09:00:00' }
  t.eq(code, 'not_eligible')
  e, code = P:enter{ member = '330481196501150010', kind = 'gift', place = 'ST01' }
  t.eq(code, 'bad_id')
  e, code = P:enter{ member = 2, kind = 'gift', place = 'ST01', at = '2025-03-01 09:00:00' }
  t.eq(code, 'closed')
  t.ok(P:enter{ member = 2, kind = 'gift', place = 'ST01', at = '2025-01-21 09:00:00' })
  e, code = P:enter{ member = 3, kind = 'gift', place = 'ST01', at = '2025-01-21 09:00:00' }
  t.eq(code, 'out_of_stock')
  e, code = P:enter{ member = 3, kind = 'gift', place = 'ST09', at = '2025-01-21 09:00:00' }
  t.eq(code, 'no_stock')
  -- cash: clipped per entry (300) and per member (400); once a day; household 500
  e = P:enter{ member = 4, kind = 'cash', fen = 35000, at = '2025-01-21 10:00:00', key = 'R1' }
  t.eq(e.fen, 30000); t.eq(e.capped, true)
  e, code = P:enter{ member = 4, kind = 'cash', fen = 100, at = '2025-01-21 11:00:00', key = 'R2' }
  t.eq(code, 'limit')
  e = P:enter{ member = 4, kind = 'cash', fen = 35000, at = '2025-01-22 10:00:00', key = 'R3' }
  t.eq(e.fen, 10000)
  e, code = P:enter{ member = 4, kind = 'cash', fen = 100, at = '2025-01-23 10:00:00', key = 'R4' }
  t.eq(code, 'limit')
  e, code = P:enter{ member = 4, kind = 'cash', fen = 100, at = '2025-01-23 10:00:00', key = 'R1' }
  t.eq(code, 'already')
  -- member 5 is in member 4's household H4: 400 used of its 500
  e, code = P:enter{ member = 5, kind = 'cash', fen = 20000, at = '2025-01-23 10:00:00', key = 'R5' }
  t.eq(code, 'limit')
  t.ok(P:enter{ member = 5, kind = 'cash', fen = 10000, at = '2025-01-23 10:00:00', key = 'R6' })
  -- budget: 2 gifts 400 + cash 500 = 900 of 1000
  e, code = P:enter{ member = 9, kind = 'cash', fen = 20000, at = '2025-01-23 10:00:00', key = 'R7' }
  t.eq(code, 'budget')
  local ok, problems = P:check()
  t.ok(ok, table.concat(problems, '; '))
end)

t.case('a refused entry stores nothing; the event is in the same transaction', function()
  local P = program.define(base())
  local before = t.snapshot()
  local _, code = P:enter{ member = 9, kind = 'cash', fen = 20000, at = '2025-01-23 10:00:00', key = 'R8' }
  t.eq(code, 'budget')
  t.eq(t.snapshot(), before)
  local n = 0
  for _, ev in ipairs(bus.events{ topic = program.EVENT }) do n = n + 1; t.eq(program.entry_of_event(ev.payload).program, 't1') end
  t.eq(n, db.program_entries:count{ program = 't1' })
end)

t.case('the standard event is compact (an array when it can be) and reads back as the entry', function()
  local E = program.entry_of_event
  t.eq(E{ 't1', 5, 'cash', 9, 2000, '2025-01-23' },
       { program = 't1', entry_id = 5, kind = 'cash', member_id = 9, household = 'm9', qty = 1, fen = 2000,
         day = '2025-01-23', session = 't1' })
  t.eq(E{ 't1', 6, 'gift', 1, 0, '2025-01-23', 'H1', false, 'day-1' },
       { program = 't1', entry_id = 6, kind = 'gift', member_id = 1, household = 'H1', qty = 1, fen = 0,
         day = '2025-01-23', session = 'day-1' })
  t.eq(E{ program = 't1', entry_id = 7, kind = 'gift', member_id = 1, fen = 0, day = '2025-01-23', place = 'ST01' },
       { program = 't1', entry_id = 7, kind = 'gift', member_id = 1, household = 'm1', qty = 1, fen = 0,
         day = '2025-01-23', place = 'ST01', session = 't1' })
  -- every stored event reads back as its ledger entry's figures
  for _, ev in ipairs(bus.events{ topic = program.EVENT }) do
    local e = E(ev.payload)
    local r = db.program_entries:get(e.entry_id)
    t.eq({ e.program, e.kind, e.member_id, e.household, e.qty, e.fen, e.day, e.place },
         { r.program, r.kind, r.member_id, r.household, r.qty, r.fen, r.day, r.place }, 'entry ' .. e.entry_id)
  end
end)

t.case('reversal is a new entry; totals follow; check finds tampering', function()
  local P = program.define(base())
  local e = db.program_entries:find('program,key', { 't1', 'R6' })
  local r = P:reverse(e.entry_id, 'entered twice')
  t.eq(r.fen, -10000); t.eq(r.reverses, e.entry_id)
  local _, code = P:reverse(e.entry_id, 'again')
  t.eq(code, 'already')
  t.ok(P:check())
  -- member 5 can be paid again now
  t.ok(P:enter{ member = 5, kind = 'cash', fen = 10000, at = '2025-01-24 10:00:00', key = 'R9' })
  local rep = P:report{ by = 'town' }
  t.eq(rep.reversed, 1)
  t.eq(rep.total.fen, 20000 * 2 + 30000 + 10000 + 10000)
  t.ok(rep.ok)
  db.program_totals:update('t1|budget', { fen = 1 })
  local ok, problems = P:check()
  t.ok(not ok); t.ok(problems[1]:find('t1|budget', 1, true), problems[1])
  P:rebuild_totals()
  t.ok(P:check())
end)

t.case('a plan changed after its first entry needs a declared change', function()
  t.raises_all(function() program.define(base{ budget_fen = 200000 }, { file = 'p.lua' }) end,
               { 'plan p.lua', "'budget_fen' changed (100000 -> 200000)", 'version = 2' })
  local P = program.define(base{ budget_fen = 200000, version = 2, changes = { [2] = 'board decision' } })
  t.eq(db.programs:get('t1', 'version'), 2)
  t.eq(P.plan.budget_fen, 200000)
  -- unchanged again: fine
  program.define(base{ budget_fen = 200000, version = 2, changes = { [2] = 'board decision' } })
  -- a plan without entries changes freely
  program.define(base{ id = 'fresh' })
  program.define(base{ id = 'fresh', budget_fen = 5 })
end)

t.case('the year report counts the program from its standard events, by itself', function()
  local yr = require 'year_report'
  local rep = yr.build(2025)
  t.eq(rep.diffs, {})
  local c = rep.log.program['测试项目']
  t.ok(c, 'the program has a row')
  -- gifts to 1 and 2; cash to 4 (twice) and 5 (R9; R6 reversed): 5 人次, 4 人
  t.eq(c.person_times, 5)
  t.eq(c.persons, 4)
  t.eq(c.household_times, 2)      -- per kind, distinct households: gifts to H1, cash to H4
  t.eq(c.money_fen, 20000 * 2 + 30000 + 10000 + 10000)
  t.eq(rep.log.station.ST01.person_times, 2)
  t.ok(yr.format(rep):find('\nstation%s+sessions'))
end)

t.case('grant_all: every eligible member once, within stock; re-run grants nothing; both paths agree', function()
  local function plan(id, extra)
    local p = { id = id, title = '批量', window = { from = '2025-01-01', to = '2025-12-31' },
                kinds = { { kind = 'pack', value_fen = 1000, stock = 6, per_member = 1 } },
                who = { where = { status = 'active' } }, budget_fen = 100000 }
    for k, v in pairs(extra or {}) do p[k] = v end
    return p
  end
  -- 10 active members, stock 6: the fast path (wide limits and once per member)
  local P = program.define(plan('bulk'))
  local c = P:grant_all('pack', { at = '2025-03-01 10:00:00' })
  t.eq({ c.entered, c.out_of_stock, c.fen }, { 6, 4, 6000 })
  t.ok(P:check())
  c = P:grant_all('pack', { at = '2025-03-02 10:00:00' })
  t.eq(c.entered, 0)
  t.eq(db.program_entries:count{ program = 'bulk' }, 6)
  -- the general path (a per-entry limit) in batches gives the same
  local Q = program.define(plan('bulk2', { limits = { { per = 'entry', max_fen = 5000 } } }))
  c = Q:grant_all('pack', { at = '2025-03-01 10:00:00', batch = 4 })
  t.eq({ c.entered, c.out_of_stock, c.fen }, { 6, 4, 6000 })
  t.ok(Q:check())
  local a, b = {}, {}
  for _, e in ipairs(P:entries()) do a[#a + 1] = e.member_id end
  for _, e in ipairs(Q:entries()) do b[#b + 1] = e.member_id end
  t.eq(a, b)
  -- outside the window nothing is granted
  local R = program.define(plan('bulk3'))
  t.eq(R:grant_all('pack', { at = '2026-01-01 10:00:00' }).entered, 0)
end)

t.case('grant_all in batches: each member once across batches, one given before is refused, the rows and events agree', function()
  local P = program.define{ id = 'bulkb', title = '分批', window = { from = '2025-01-01', to = '2025-12-31' },
                            kinds = { { kind = 'pack', value_fen = 700, per_member = 1 } },
                            who = { where = { status = 'active' } } }
  local active = {}
  for m in db.members:scan{ status = 'active' } do active[#active + 1] = m.member_id end
  t.ok(#active >= 5, 'the fixtures have members enough for three batches')
  -- one member has the pack already: the batches must look it up (not clean)
  t.ok(P:enter{ member = active[2], kind = 'pack', at = '2025-03-01 09:00:00' })
  local c = P:grant_all('pack', { at = '2025-03-01 10:00:00', batch = 2 })
  t.eq({ c.entered, c.already, c.fen }, { #active - 1, 1, (#active - 1) * 700 })
  -- nothing entered before: clean from the first batch to the last
  local Q = program.define{ id = 'bulkc', title = '分批', window = { from = '2025-01-01', to = '2025-12-31' },
                            kinds = { { kind = 'pack', value_fen = 700, per_member = 1 } },
                            who = { where = { status = 'active' } } }
  c = Q:grant_all('pack', { at = '2025-03-01 10:00:00', batch = 2 })
  t.eq(c.entered, #active)
  t.eq(Q:grant_all('pack', { at = '2025-03-02 10:00:00', batch = 2 }).entered, 0)
  local got, evs = {}, {}
  for _, e in ipairs(Q:entries('pack')) do
    t.eq(got[e.member_id], nil, 'member ' .. e.member_id .. ' once')
    got[e.member_id] = e
    local m = db.members:get(e.member_id)
    t.eq(e.household, m.household or ('m' .. m.member_id))
    t.eq(e.fen, 700)
  end
  for _, ev in ipairs(bus.events{ topic = program.EVENT }) do
    local x = program.entry_of_event(ev.payload)
    if x.program == 'bulkc' then evs[#evs + 1] = x end
  end
  t.eq(#evs, #active)
  for _, x in ipairs(evs) do
    local e = got[x.member_id]
    t.eq({ x.entry_id, x.household, x.fen, x.qty, x.day }, { e.entry_id, e.household, e.fen, e.qty, e.day })
  end
  for _, id in ipairs(active) do t.ok(got[id], 'member ' .. id .. ' got one') end
  t.ok(Q:check())
end)

t.case('grant_all check: called in the transaction before it commits; an error stores nothing of it', function()
  local function plan(id)
    return { id = id, title = '核对', window = { from = '2025-01-01', to = '2025-12-31' },
             kinds = { { kind = 'pack', value_fen = 500, per_member = 1 } },
             who = { where = { status = 'active' } } }
  end
  local active = db.members:count{ status = 'active' }
  for _, batch in ipairs{ false, 2 } do
    local id = batch and 'chkb' or 'chk'
    local P = program.define(plan(id))
    local seen
    local ok, err = pcall(P.grant_all, P, 'pack', { at = '2025-03-01 10:00:00', batch = batch or nil,
      check = function(c)
        seen = c.entered
        t.eq(db.program_entries:count{ program = id }, active) -- it sees the whole grant
        error('W2: not the count expected', 0)
      end })
    t.ok(not ok); t.eq(err, 'W2: not the count expected')
    t.eq(seen, active)
    -- one transaction: nothing stored; in batches the last batch's transaction is undone
    local left = db.program_entries:count{ program = id }
    if batch then t.eq(left, active - ((active - 1) % batch + 1)) else t.eq(left, 0) end
    local c = P:grant_all('pack', { at = '2025-03-01 10:00:00', check = function(x) seen = x.entered end })
    t.eq(seen, c.entered)
    t.eq(db.program_entries:count{ program = id }, active)
  end
  -- nobody eligible, and outside the window: check is still called, with the counts
  local Q = program.define(plan('chk0'))
  local got
  Q:grant_all('pack', { at = '2026-02-01 10:00:00', check = function(c) got = c end })
  t.eq(got.entered, 0); t.eq(got.closed, active)
end)

t.case('payload arrays: encoded in one walk when 1..n come in order, else as before', function()
  local back = {}                       -- integer keys put in backwards: they may sit in the hash part
  for i = 40, 1, -1 do back[i] = 'v' .. i end
  local holes = { 1, 2, 3 }
  holes[2] = nil
  local mixed = { 'a', 'b' }
  mixed.x = 1
  local shapes = {
    { 'spring-2025', 7, 'gift-package', 12, 20000, '2025-01-20' },
    { 'p', 1, 'k', false, 0.5, '2025-01-20', 'H1', 2, 's' },
    { { 1, 2 }, { a = 1 }, {}, true, -3 },
    back, holes, mixed, { [1] = 'one', [3] = 'three' }, { n = 1 },
  }
  local seqs = {}
  for i, p in ipairs(shapes) do seqs[i] = bus.publish('codec.array', p) end
  local want = {
    { 'spring-2025', 7, 'gift-package', 12, 20000, '2025-01-20' },
    { 'p', 1, 'k', false, 0.5, '2025-01-20', 'H1', 2, 's' },
    { { 1, 2 }, { a = 1 }, {}, true, -3 },
    back, holes, { 'a', 'b', x = 1 }, { [1] = 'one', [3] = 'three' }, { n = 1 },
  }
  for i, seq in ipairs(seqs) do
    local ev = bus.events{ from = seq, limit = 1 }[1]
    t.eq(ev.payload, want[i], 'shape ' .. i)
  end
  -- an element that cannot be stored is refused, in either walk
  t.raises(function() bus.publish('codec.array', { 1, print }) end, 'function')
  local late = { 1, 2 }
  late.f = print
  t.raises(function() bus.publish('codec.array', late) end, 'function')
end)

t.case('the sub-modules attach on first use: sheet, draw, public list, cli', function()
  t.eq(type(program.sheet_summary), 'function')
  t.eq(type(program.main), 'function')
  t.eq(type(program.P.enter_sheet), 'function')
  t.eq(type(program.P.public_list), 'function')
  t.eq(type(program.P.close_draw), 'function')
  t.eq(program.no_such_name, nil)
end)

t.case('a retirement certificate is a ledger entry; revoking it reverses the entry', function()
  local retirement = require 'retirement'
  retirement.define_collections()
  local c = retirement.issue(12, 12, 2025, { at = '2025-07-01 09:00:00' })
  local e = db.program_entries:find('program,key', { 'retirement', c.cert_no })
  t.ok(e, 'the certificate has its entry')
  t.eq(e.member_id, 12)
  local yr = require 'year_report'
  t.eq(yr.build(2025).log.program['光荣退休'].person_times, 1)
  retirement.revoke(c.cert_no, '误发', '2025-07-02 09:00:00')
  t.ok(db.program_entries:find('reverses', e.entry_id), 'a reversing entry')
  local rep = yr.build(2025)
  t.eq(rep.diffs, {})
  t.eq(rep.log.program['光荣退休'], nil)
  t.ok(program.open('retirement'):check())
end)

t.case('an entry changed behind the ledger is named by the year report and by check()', function()
  local yr = require 'year_report'
  local P = program.open('t1')
  local e = db.program_entries:find('program,key', { 't1', 'R9' })
  db.program_entries:update(e.entry_id, { fen = e.fen + 100 })
  local rep = yr.build(2025)
  t.ok(table.concat(rep.diffs, '\n'):find('program 测试项目: money_fen 90000 (log) vs 90100 (records)', 1, true),
       table.concat(rep.diffs, '\n'))
  t.ok(not P:check())
  db.program_entries:update(e.entry_id, { fen = e.fen })
  t.eq(yr.build(2025).diffs, {})
  t.ok(P:check())
end)

t.case('limits per year, over several kinds, per tier, with their own messages; a passed limit is found', function()
  local function plan(over)
    local p = {
      id = 'yr', title = '跨年补助', window = { from = '2025-01-01', to = '2026-12-31' },
      kinds = { { kind = 'a', unit = 'fen' }, { kind = 'b', unit = 'fen' }, { kind = 'c', unit = 'fen' } },
      who = { tiers = { { name = 'deep' }, { name = 'relative' } } },
      limits = {
        { name = 'member-year', per = { 'member', 'year' }, max_fen = 10000, clip = true },   -- 100 a member a year
        { name = 'ab-2025', per = 'household', kinds = { 'a', 'b' }, year = 2025,
          max_fen = { deep = 6000, relative = 3000 }, code = 'household_cap',
          message = '{household}: {used} of {max} yuan in {year} ({tier}), {fen} more passes it by {over}' },
      },
    }
    for k, v in pairs(over or {}) do p[k] = v end
    return p
  end
  local P = program.define(plan())
  local function enter(kind, fen, day, tier) return P:enter{ member = 1, kind = kind, fen = fen, day = day, tier = tier } end
  t.ok(enter('a', 2000, '2025-03-01', 'relative'))
  t.ok(enter('b', 1000, '2025-03-02', 'relative'))                  -- a and b count together: 3,000
  t.eq({ enter('b', 1, '2025-03-03', 'relative') },
       { nil, 'household_cap', 'H1: 30.00 of 30.00 yuan in 2025 (relative), 0.01 more passes it by 0.01' })
  t.ok(enter('c', 1, '2025-03-03', 'relative'))                      -- another kind: not under it
  t.ok(enter('a', 3000, '2026-01-05', 'relative'))                   -- another year: not under it
  t.ok(enter('a', 3000, '2025-03-04'))                               -- no tier: not under it
  -- member 1 has 20.00 + 10.00 + 0.01 + 30.00 = 60.01 in 2025: the next entry is clipped to what is left
  local e = enter('c', 9999, '2025-05-01')
  t.eq({ e.fen, e.capped, e.capped_by }, { 3999, true, 'member-year' })
  t.eq((select(2, enter('c', 1, '2025-05-02'))), 'limit')            -- 100.00 reached in 2025
  t.ok(enter('c', 1, '2026-05-02'))                                  -- 2026 has its own
  t.eq(db.program_totals:get('yr|member-year|1|2025').fen, 10000)
  t.ok(P:check())
  -- a declared change lowering a cap: the totals are rebuilt, and check() names the passed limit
  local p2 = plan{ version = 2, changes = { [2] = 'relative cap lowered by the board' } }
  p2.limits[2].max_fen = { deep = 6000, relative = 2500 }
  P = program.define(p2)
  local ok, problems = P:check()
  t.eq({ ok, problems }, { false, { "yr|ab-2025|H1: 30.00 yuan given, over limit 'ab-2025' (per household, at most 25.00 yuan)" } })
  -- a limit added by a declared change counts what is already entered
  local p3 = plan{ version = 3, changes = { [2] = 'x', [3] = 'a cap on c' } }
  p3.limits[3] = { name = 'c-cap', per = 'member', kind = 'c', max_fen = 5000 }
  P = program.define(p3)
  t.eq(db.program_totals:get('yr|c-cap|1').fen, 4001)
  t.eq((select(2, P:enter{ member = 1, kind = 'c', fen = 1000, day = '2026-06-01' })), 'limit')
  -- plan errors name the key
  t.raises_all(function() program.define(plan{ id = 'yr2', limits = { { per = 'member', max_fen = { poor = 1 } } } }) end,
               { "'limits[1].max_fen.poor'", 'not one of the tiers' })
  t.raises_all(function() program.define(plan{ id = 'yr3', limits = { { per = 'member', kinds = { 'a', 'z' }, max_fen = 1 } } }) end,
               { "'limits[1].kinds[2]'", "'z' is not a kind" })
  t.raises_all(function() program.define(plan{ id = 'yr4', limits = { { per = 'week', max_fen = 1 } } }) end,
               { "'week' is not one of member, household, kind, day, year, place, entry, enterprise, union" })
end)

t.case('money is overflow-checked', function()
  local m = program.money
  t.raises(function() m.mul(800, 2305843009213693956) end, 'overflow')
  t.raises(function() m.add(m.MAX, 1) end, 'overflow')
  t.eq(m.percent(3999, 50), 1999)
  local P = program.define(base{ id = 'big', budget_fen = nil, limits = {} })
  t.raises(function() P:enter{ member = 1, kind = 'gift', qty = 2305843009213693956, place = 'ST01', at = '2025-01-20 09:00:00' } end, 'overflow')
end)

t.case('masking and parameters', function()
  t.eq(program.mask_name('张三明'), '张*明')
  t.eq(program.mask_name('李娜'), '李*')
  t.eq(program.mask_name('欧阳小明'), '欧**明')
  t.eq(program.mask_phone('13812345678'), '138****5678')
  t.eq(program.param('code'), '007')
  t.eq(program.param('card'), '6222021234567890123')
  t.eq(program.param('year', 'int'), 2026)
  t.eq(program.param('amount', 'yuan'), 1250)
  t.eq(program.param('missing', 'int', 5), 5)
end)

t.case('grant_all in C (insert_select) and its Lua loop (loop = true): the same ledger, totals, events, reports, year report', function()
  local yr = require 'year_report'
  local function plan(id, title)
    return { id = id, title = title, window = { from = '2024-01-01', to = '2024-12-31' }, budget_fen = 9000,
             kinds = { { kind = 'pack', title = '包', value_fen = 1500, stock = 7, per_member = 1 } },
             who = { where = { status = 'active' } } }
  end
  local function entries(P)
    local out = {}
    for _, e in ipairs(P:entries('pack')) do
      out[#out + 1] = { e.member_id, e.household, e.fen, e.qty, e.day, e.at, e.kind, e.session or false, e.place or false }
    end
    return out
  end
  local function totals(P)
    local out = {}
    for r in db.program_totals:scan{ program = P.id } do out[r.limit] = { r.count, r.qty, r.fen } end
    return out
  end
  local function events(P)
    local out = {}
    for _, ev in ipairs(bus.events{ from = 1, topic = program.EVENT, limit = 100000 }) do
      local x = ev.payload
      if (x.program or x[1]) == P.id then
        local copy = {}
        for i = 3, #x do copy[#copy + 1] = x[i] end   -- the payload as stored, program and entry aside
        local e = program.entry_of_event(x)
        out[#out + 1] = { copy, e.household, e.qty, e.session == P.id }
      end
    end
    return out
  end
  local function report(rep)
    rep.program, rep.title = nil, nil
    for _, l in ipairs(rep.limits or {}) do l.key = l.key and l.key:gsub('^[^|]*', '') end
    return rep
  end
  local active = db.members:count{ status = 'active' }
  t.ok(active > 6, 'more eligible members than the budget pays for')
  for _, batch in ipairs{ false, 2, 4 } do
    local sfx = batch and ('b' .. batch) or ''
    local L = program.define(plan('gl' .. sfx, '循环' .. sfx))
    local C = program.define(plan('gc' .. sfx, '插入' .. sfx))
    local cl = L:grant_all('pack', { at = '2024-03-01 10:00:00', batch = batch or nil, loop = true })
    local cc = C:grant_all('pack', { at = '2024-03-01 10:00:00', batch = batch or nil })
    t.eq(cc, cl, 'the counts (budget reached: the rest refused under its code)')
    t.eq(cc.entered, 6)
    t.eq(cc.budget, active - 6)
    t.eq(entries(C), entries(L), 'the ledger')
    t.eq(totals(C), totals(L), 'the totals')
    t.eq(events(C), events(L), 'the events, byte for byte but the ids')
    t.ok(C:check())
    t.eq(report(C:report()), report(L:report()), 'the report from the ledger')
    t.eq(report(C:report{ from = 'log' }), report(L:report{ from = 'log' }), 'the report from the log')
    local rep = yr.build(2024)
    t.eq(rep.diffs, {})
    t.eq(rep.log.program['插入' .. sfx], rep.log.program['循环' .. sfx], 'the year report')
    t.eq(rep.records.program['插入' .. sfx], rep.records.program['循环' .. sfx])
    -- granted again: nothing, every member counted as already given
    local again_l = L:grant_all('pack', { at = '2024-03-02 10:00:00', batch = batch or nil, loop = true })
    local again_c = C:grant_all('pack', { at = '2024-03-02 10:00:00', batch = batch or nil })
    t.eq(again_c, again_l)
    t.eq(again_c.entered, 0)
  end
  -- the household of one is stored as before, and left out of the event
  for _, e in ipairs(program.open('gc'):entries('pack')) do
    local m = db.members:get(e.member_id)
    t.eq(e.household, m.household or ('m' .. m.member_id))
  end
end)

t.case('grant_all in C: no limit reached, a kind\'s qty and a session, in batches resumed', function()
  local P = program.define{ id = 'gq', title = '数量', window = { from = '2024-01-01', to = '2024-12-31' },
                            session = 'S1', kinds = { { kind = 'pack', value_fen = 100, per_member = 1 } },
                            who = { where = { status = 'active', town = { '许村镇', '长安镇', '硖石街道' } } } }
  local Q = program.define{ id = 'gq2', title = '数量2', window = { from = '2024-01-01', to = '2024-12-31' },
                            session = 'S1', kinds = { { kind = 'pack', value_fen = 100, per_member = 1 } },
                            who = { where = { status = 'active', town = { '许村镇', '长安镇', '硖石街道' } } } }
  local a = P:grant_all('pack', { at = '2024-05-01 10:00:00', qty = 3, batch = 3 })
  local b = Q:grant_all('pack', { at = '2024-05-01 10:00:00', qty = 3, batch = 3, loop = true })
  t.eq(a, b)
  t.eq(a.fen, a.entered * 300)
  local ea, eb = {}, {}
  for _, ev in ipairs(bus.events{ from = 1, topic = program.EVENT, limit = 100000 }) do
    local x = program.entry_of_event(ev.payload)
    if x.program == 'gq' then ea[#ea + 1] = { x.member_id, x.qty, x.session, x.fen, x.household } end
    if x.program == 'gq2' then eb[#eb + 1] = { x.member_id, x.qty, x.session, x.fen, x.household } end
  end
  t.eq(ea, eb)
  t.eq(ea[1][2], 3)
  t.eq(ea[1][3], 'S1')
  t.ok(P:check())
end)

t.case('ledger format 2: time, run and household stored small, read back whole in one place', function()
  -- the codings, both ways, at their edges
  for _, at in ipairs{ '1970-01-01 00:00:00', '2024-02-29 23:59:59', '2025-01-20 10:00:00', '1969-12-31 23:59:59',
                       '2099-12-31 12:00:01', '1900-03-01 00:00:00' } do
    t.eq(program.at_text(program.at_seconds(at)), at, at)
  end
  t.eq(program.at_seconds('2025-01-20 10:00:00'), 20108 * 86400 + 36000)
  for _, bad in ipairs{ '2025-01-20 10:00', '2025-02-30 10:00:00', '2025-01-20 24:00:00', '2025-01-20T10:00:00',
                        'x', '', '２０２５-01-20 10:00:00' } do
    t.eq(program.at_seconds(bad), nil, bad)
  end
  for _, uid in ipairs{ '0000000000000000', 'ffffffffffffffff', '8000000000000000', '7fffffffffffffff', run.uid } do
    t.eq(program.run_uid(program.run_number(uid)), uid, uid)
  end
  t.eq(program.run_number('old'), nil)
  t.eq(program.run_number('ABCDEF0123456789'), nil)   -- (a uid is lower case: kept as text)
  -- every way in stores the short form and reads back what it was given
  local P = program.define{ id = 'fmt2', title = 'f2', window = { from = '2025-01-01', to = '2025-12-31' },
                            kinds = { { kind = 'a', title = 'A', value_fen = 100, per_member = 1 },
                                      { kind = 'b', title = 'B', value_fen = 100, per_member = 1 },
                                      { kind = 'c', title = 'C' } },
                            who = { where = { status = 'active' } } }
  t.eq(require('program.migrate').ledger_format(), 2)
  P:grant_all('a', { at = '2025-03-01 08:00:00' })               -- insert_select
  P:grant_all('b', { at = '2025-03-01 08:30:00', loop = true })  -- the Lua loop
  local e1 = assert(P:enter{ member = 3, kind = 'c', fen = 5, at = '2025-03-02 09:00:00' })
  local e2 = assert(P:enter{ member = 1, kind = 'c', fen = 6, at = '2025-03-02 09:01' })   -- not of the form: text
  local r = assert(P:reverse(e1.entry_id, 'why', { at = '2025-03-03 10:00:00' }))
  local b = P:backfill{ { kind = 'c', member_id = 7, fen = 7, day = '2025-03-04', run = 'old-run' } }
  t.eq(e1.at, '2025-03-02 09:00:00')   -- what enter returns is as before
  t.eq(e1.household, 'm3')
  t.eq(e1.run, run.uid)
  local n = 0
  for row in db.program_entries:scan{ index = 'program,kind', eq = { 'fmt2' } } do
    n = n + 1
    local e = program.entry(row)
    t.eq(e.run, row.entry_id == b[1] and 'old-run' or run.uid)
    t.eq(e.household, row.member_id == 1 and 'H1' or row.member_id == 2 and 'H1' or
                      (row.member_id == 4 or row.member_id == 5) and 'H4' or 'm' .. row.member_id)
    t.eq(program.household_of_entry(row), e.household)
    t.eq(program.entry_at(row), e.at)
    t.eq(program.entry_run(row), e.run)
    if row.entry_id == e2.entry_id then
      t.eq({ row.at, row.at_sec }, { '2025-03-02 09:01', nil })
    else
      t.eq(row.at, nil)
      t.eq(program.at_text(row.at_sec), e.at)
    end
    t.eq(row.household == nil, row.member_id ~= 1 and row.member_id ~= 2 and row.member_id ~= 4 and row.member_id ~= 5)
    t.eq(row.run == nil, row.entry_id ~= b[1])
    if row.kind == 'a' then t.eq(e.at, '2025-03-01 08:00:00') end
    if row.kind == 'b' then t.eq(e.at, '2025-03-01 08:30:00') end
    if row.entry_id == r.entry_id then t.eq({ e.at, e.reverses, e.household }, { '2025-03-03 10:00:00', e1.entry_id, 'm3' }) end
    if row.entry_id == b[1] then t.eq(e.at, '2025-03-04 00:00:00') end
  end
  t.ok(n > 4)
  -- P:entries gives format 1's tables; the year report's households are the same
  for _, e in ipairs(P:entries('a')) do t.ok(e.at == '2025-03-01 08:00:00' and e.household and e.at_sec == nil) end
  t.ok(P:check())
end)

t.done()
