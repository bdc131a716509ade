-- aid_files.lua — scripts/lib/aid.lua, the household files (一户一档):
-- application, every allowed step and every refused one (error naming the
-- household, the state and the step; nothing written), the public notice
-- with masked names, the notice period, annual re-verification, closing
-- with a reason, reopening, the settings' checks, and the events.
local t = require 'testlib'
local aid = require 'aid'
local afx = require 'aid_fixture'
local fx = require 'program_fixtures'

local p = afx.open()
local BY = { by = '李干事', date = '2025-02-03' }

-- one file in each state: member -> state
local F = {}
t.case('apply: a file per household, in the state applied, with its event', function()
  local f = p:apply{ member = 1, tier = 'deep', reason = '重病', persons = 3, by = '李干事', date = '2025-02-01' }
  t.eq({ f.file_id, f.household, f.member_id, f.tier, f.state, f.town, f.union_id, f.opened },
       { 1, 'H1', 1, 'deep', 'applied', '硖石街道', 11, '2025-02-01' })
  F.applied = f.file_id
  -- by ID number; a member without a household is a household of one
  local g = p:apply{ member = fx.id(3), tier = 'relative', reason = '失业', persons = 2, by = '李干事', date = '2025-02-01' }
  t.eq({ g.file_id, g.household, g.member_id }, { 2, 'm3', 3 })
  local evs = bus.events{ topic = 'aid.household.applied' }
  t.eq(#evs, 2)
  t.eq(evs[1].payload, { program = 'aid', file_id = 1, household = 'H1', member_id = 1, town = '硖石街道',
                         union_id = 11, tier = 'deep', persons = 3, step = 'apply', to = 'applied',
                         date = '2025-02-01', by = '李干事', reason = '重病' })
  t.eq(evs[1].run, run.uid)
end)

t.case('apply: refused with a clear error, nothing written', function()
  t.unchanged(function() p:apply{ member = 2, tier = 'deep', reason = 'x', persons = 1, by = 'a' } end,
              { 'aid: household H1 already has file 1 (state applied): one file per household (一户一档)' })
  t.unchanged(function() p:apply{ member = 6, tier = 'deep', reason = 'x', persons = 1, by = 'a' } end,
              { 'aid: apply: member 6 (杨*) has left the union' })
  t.unchanged(function() p:apply{ member = 99, tier = 'deep', reason = 'x', persons = 1, by = 'a' } end,
              { 'aid: apply: no member 99' })
  t.unchanged(function() p:apply{ member = 4, tier = 'poor', reason = 'x', persons = 1, by = 'a' } end,
              { "tier must be deep (深度困难), relative (相对困难) or accident (意外致困), got 'poor'" })
  t.unchanged(function() p:apply{ member = 4, tier = 'deep', persons = 1, by = 'a' } end,
              { 'aid: apply: reason (致困原因) is required' })
  t.unchanged(function() p:apply{ member = 4, tier = 'deep', reason = 'x', persons = 0, by = 'a' } end,
              { 'persons (people in the household) must be a whole number from 1 to 50, got 0' })
  t.unchanged(function() p:apply{ member = 4, tier = 'deep', reason = 'x', persons = 2 } end,
              { 'aid: apply: who does it? (by=NAME / approver=NAME), got nil' })
  t.unchanged(function() p:apply{ member = 4, tier = 'deep', reason = 'x', persons = 2, by = 'a', date = '2025-02-30' } end,
              { "aid: apply: date: expected a date YYYY-MM-DD, got '2025-02-30'" })
end)

t.case('the steps in order; the notice lasts notice_days before approval', function()
  p:step(2, 'visit', BY)
  p:step(2, 'review', { by = '审核组', date = '2025-02-04' })
  p:step(2, 'notice', { by = '审核组', date = '2025-02-05' })
  t.unchanged(function() p:step(2, 'approve', { by = '王主席', date = '2025-02-09' }) end,
              { 'aid: household m3 (file 2): the public notice (公示) began on 2025-02-05 and lasts 5 days: approve on 2025-02-10 or later' })
  local f = p:step('m3', 'approve', { by = '王主席', date = '2025-02-10' })
  t.eq({ f.state, f.approved, f.verified_year, f.notice_from }, { 'approved', '2025-02-10', 2025, '2025-02-05' })
  local steps = {}
  for _, h in ipairs(f.history) do steps[#steps + 1] = h.step .. ':' .. (h.from or '') .. '>' .. h.to end
  t.eq(steps, { 'apply:>applied', 'visit:applied>visited', 'review:visited>reviewed',
                'notice:reviewed>noticed', 'approve:noticed>approved' })
  F.approved = 2
  local ev = bus.events{ topic = 'aid.household.approved' }
  t.eq(#ev, 1)
  t.eq(ev[1].payload, { program = 'aid', file_id = 2, household = 'm3', member_id = 3, town = '硖石街道',
                        union_id = 21, tier = 'relative', persons = 2, step = 'approve', from = 'noticed',
                        to = 'approved', date = '2025-02-10', by = '王主席' })
  -- files left in the other states
  local function open(m) return p:apply{ member = m, tier = 'accident', reason = '车祸', persons = 4, by = 'a', date = '2025-02-01' }.file_id end
  F.visited = open(4); p:step(F.visited, 'visit', BY)
  F.reviewed = open(7); p:step(F.reviewed, 'visit', BY); p:step(F.reviewed, 'review', BY)
  F.noticed = open(8); for _, s in ipairs{ 'visit', 'review', 'notice' } do p:step(F.noticed, s, BY) end
  F.closed = open(9); p:step(F.closed, 'close', { by = 'a', date = '2025-02-03', reason = 'rejected' })
  t.eq(db.aid_files:count_by('state'), { applied = 1, visited = 1, reviewed = 1, noticed = 1, approved = 1, closed = 1 })
end)

t.case('every refused transition: an error naming the household, the state and the step; nothing written', function()
  local n = 0
  for state, file in pairs(F) do
    local f = db.aid_files:get(file)
    t.eq(f.state, state)
    for _, step in ipairs(aid.STEP_ORDER) do
      local ok = false
      for _, s in ipairs(aid.STEPS[step].from) do if s == state then ok = true end end
      if not ok then
        n = n + 1
        t.unchanged(function() p:step(file, step, { by = 'x', date = '2025-12-01', reason = 'moved' }) end,
                    { string.format("aid: household %s (file %d) is '%s' (%s): cannot %s (%s) — allowed only from %s",
                                    f.household, file, state, aid.STATES[state], step, aid.STEPS[step].title,
                                    table.concat(aid.STEPS[step].from, ' or ')) },
                    state .. ' -> ' .. step)
      end
    end
  end
  t.eq(n, 6 * 7 - 11)   -- 7 steps from 6 states, 11 of them allowed
  local msg = t.unchanged(function() p:step(F.applied, 'approve', BY) end, { 'the next step is visit' })
  t.eq(msg, "aid: household H1 (file 1) is 'applied' (已申请): cannot approve (审批认定) — allowed only from noticed; the next step is visit")
end)

t.case('other bad steps: unknown step, unknown file, no one doing it, close without a reason', function()
  t.unchanged(function() p:step(1, 'approv', BY) end,
              { "aid: no step 'approv' (the steps: visit, review, notice, approve, reverify, close, reopen)" })
  t.unchanged(function() p:step(77, 'visit', BY) end, { 'aid: visit: no aid file 77' })
  t.unchanged(function() p:step('H9', 'visit', BY) end, { 'aid: visit: no aid file H9' })
  t.unchanged(function() p:step(1, 'visit', { date = '2025-02-03' }) end, { 'aid: visit: who does it?' })
  t.unchanged(function() p:step(1, 'close', BY) end,
              { 'aid: household H1 (file 1): close needs reason=recovered (脱困), retired (退休), moved (迁出), died (去世) or rejected (不予认定), got nil' })
  t.unchanged(function() p:step(1, 'close', { by = 'a', reason = 'bored' }) end, { 'got bored' })
  t.unchanged(function() p:step(F.closed, 'reopen', { by = 'a', tier = 'rich' }) end,
              { "aid: tier must be deep, relative or accident, got 'rich'" })
end)

t.case('annual re-verification: once a year, in a later year', function()
  t.unchanged(function() p:step(F.approved, 'reverify', { by = 'a', date = '2025-12-01' }) end,
              { 'aid: household m3 (file 2) is already verified for 2025: reverify with a date in a later year' })
  local f = p:step(F.approved, 'reverify', { by = '复核组', date = '2026-01-15' })
  t.eq({ f.state, f.verified_year, f.approved }, { 'approved', 2026, '2025-02-10' })
  t.unchanged(function() p:step(F.approved, 'reverify', { by = 'a', date = '2026-06-01' }) end,
              { 'already verified for 2026' })
  t.eq(#bus.events{ topic = 'aid.household.reverified' }, 1)
end)

t.case('close with a reason, then reopen: one file per household, fields reset', function()
  local f = p:step(F.approved, 'close', { by = '王主席', date = '2026-03-01', reason = 'recovered', note = '再就业' })
  t.eq({ f.state, f.closed, f.close_reason }, { 'closed', '2026-03-01', 'recovered' })
  t.unchanged(function() p:apply{ member = 3, tier = 'deep', reason = 'x', persons = 1, by = 'a' } end,
              { 'aid: household m3 already has file 2 (state closed): one file per household (一户一档); reopen it (step reopen)' })
  local ev = bus.events{ topic = 'aid.household.closed' }
  t.eq({ ev[#ev].payload.reason, ev[#ev].payload.from, ev[#ev].payload.household }, { 'recovered', 'approved', 'm3' })
  f = p:step('m3', 'reopen', { by = '李干事', date = '2026-09-01', tier = 'deep', persons = 3 })
  t.eq({ f.state, f.tier, f.persons, f.opened, f.approved, f.verified_year, f.closed, f.close_reason, f.notice_from },
       { 'applied', 'deep', 3, '2026-09-01', nil, nil, nil, nil, nil })
  t.eq(#f.history, 8)
  t.eq(f.history[7].reason, 'recovered')
  t.eq(db.aid_files:count(), 6)
end)

t.case('the public notice: files in notice, names masked, the notice period', function()
  local rows = p:notice_list()
  t.eq(rows, { { file_id = F.noticed, name = '黄*', town = '长安镇', tier = 'accident', persons = 4,
                 reason = '车祸', from = '2025-02-03', to = '2025-02-08' } })
  t.eq(p:notice_list{ town = '硖石街道' }, {})
  local text = aid.format_notice(rows)
  t.ok(text:find('黄*', 1, true) and not text:find('黄河', 1, true), text)
  t.ok(text:find('2025-02-03 .. 2025-02-08', 1, true), text)
  t.ok(text:find('1 files in notice', 1, true), text)
end)

t.case('file counts per tier and state; persons in open files (file 2 was reopened as deep)', function()
  local rows = p:file_counts()
  t.eq(rows, {
    { tier = 'deep', title = '深度困难', applied = 2, visited = 0, reviewed = 0, noticed = 0, approved = 0, closed = 0, persons = 6 },
    { tier = 'relative', title = '相对困难', applied = 0, visited = 0, reviewed = 0, noticed = 0, approved = 0, closed = 0, persons = 0 },
    { tier = 'accident', title = '意外致困', applied = 0, visited = 1, reviewed = 1, noticed = 1, approved = 0, closed = 1, persons = 12 },
    { tier = 'total', title = '合计', applied = 2, visited = 1, reviewed = 1, noticed = 1, approved = 0, closed = 1, persons = 18 },
  })
  local text = aid.format_file_counts(rows)
  t.ok(text:find('意外致困            3         0       1       12', 1, true), text)
  t.ok(text:find('合计                5         0       1       18', 1, true), text)
end)

t.case('the settings: every bad field named', function()
  local function bad(change, msg)
    local cfg = afx.config()
    change(cfg)
    t.unchanged(function() aid.open(cfg) end, { msg })
  end
  bad(function(c) c.notice_days = -1 end, 'aid: test caps: notice_days must be a whole number of days >= 0, got -1')
  bad(function(c) c.types = {} end, 'aid: test caps: types must list the aid types')
  bad(function(c) c.types['bad name'] = { title = 'x' } end, 'names must be words')
  bad(function(c) c.types.basket.title = nil end, 'aid: test caps: types.basket needs a title')
  bad(function(c) c.years[2025].household.deep = 1.5 end, 'aid: test caps: years[2025].household.deep must be whole fen >= 0, got 1.5')
  bad(function(c) c.years[2025].household.poor = 1 end, 'years[2025].household has an unknown tier (deep, relative, accident), got poor')
  bad(function(c) c.years[2025].types.basket = nil end, 'years[2025].types.basket is missing')
  bad(function(c) c.years[2025].types.festival = {} end, 'years[2025].types.festival is not one of the types')
  bad(function(c) c.years[2025].types.basket.limit = 1 end, 'years[2025].types.basket has an unknown field')
  bad(function(c) c.years[2025].types.basket.budget = -5 end, 'years[2025].types.basket.budget must be a whole number >= 0')
  bad(function(c) c.years[2025].types.medical.rate = 120 end, 'years[2025].types.medical.rate must be the percent paid, 0 to 100, got 120')
  bad(function(c) c.years[2025].types.basket.rate = 50 end, 'rate, deductible and per_claim are for claim types')
  bad(function(c) c.years['2025'] = c.years[2025] end, 'aid: test caps: years keys must be years, got 2025')
end)

t.done()
