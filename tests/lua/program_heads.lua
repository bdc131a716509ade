-- program_heads.lua — scripts/lib/program.lua since v1.4: entries without a
-- member that count people by head (heads: 人次, no 人), the entry's
-- organiser union and enterprise in the ledger and the standard event, the
-- year report counting head counts the same from the log and the records, and
-- the sheet helper entering a program's second sheet (opts.fields, opts.enter).
local t = require 'testlib'
local fx = require 'program_fixtures'
local program = require 'program'
local yr = require 'year_report'

fx.load()

local P = program.define{
  id = 'heads-2025', title = '班前十分钟', year = 2025, union = 1,
  window = { from = '2025-01-01', to = '2025-12-31' },
  kinds = { { kind = 'talk', title = '班前宣讲' } },
  units = { '人', '人次', '场次', 'fen' },
}

t.case('a head count is 人次 without 人; union and enterprise are kept', function()
  local a = assert(P:enter{ kind = 'talk', heads = 30, session = 'S1', union = 11, enterprise_id = 1,
                            day = '2025-03-01', fen = 5000 })
  t.eq(a.heads, 30)
  t.eq(a.union_id, 11)
  local b = assert(P:enter{ kind = 'talk', member = 3, session = 'S1', union = 11, enterprise_id = 1,
                            day = '2025-03-01' })
  t.eq(b.enterprise_id, 1)
  assert(P:enter{ kind = 'talk', member = 3, session = 'S2', day = '2025-04-01' })
  local rep = P:report{}
  t.eq(rep.total.person_times, 32)
  t.eq(rep.total.persons, 1)
  local row = db.program_entries:get(a.entry_id)
  t.eq({ row.heads, row.union_id, row.enterprise_id }, { 30, 11, 1 })
  local ev = bus.events{ topic = 'program.entry' }
  t.eq(ev[1].payload.heads, 30)
  t.eq(ev[1].payload.union_id, 11)
  t.eq(ev[2].payload.enterprise_id, 1)
end)

t.case('bad head counts are refused, nothing stored', function()
  local n = db.program_entries:count()
  local r, code = P:enter{ kind = 'talk', heads = -1, day = '2025-03-02' }
  t.eq({ r, code }, { nil, 'bad_input' })
  r, code = P:enter{ kind = 'talk', heads = 2, member = 4, day = '2025-03-02' }
  t.eq({ r, code }, { nil, 'bad_input' })
  r, code = P:enter{ kind = 'talk', union = 'x', day = '2025-03-02' }
  t.eq({ r, code }, { nil, 'bad_input' })
  t.eq(db.program_entries:count(), n)
end)

t.case('the year report counts heads from the log and from the records alike', function()
  local rep = yr.build(2025)
  t.eq(#rep.diffs, 0, table.concat(rep.diffs, '; '))
  local c = rep.log.program['班前十分钟']
  t.eq({ c.sessions, c.persons, c.person_times, c.money_fen }, { 2, 1, 32, 5000 })
  -- a reversed head count leaves both roads
  local first = P:entries('talk')[1]
  assert(P:reverse(first.entry_id, '重复登记'))
  rep = yr.build(2025)
  t.eq(#rep.diffs, 0, table.concat(rep.diffs, '; '))
  c = rep.log.program['班前十分钟']
  t.eq({ c.persons, c.person_times, c.money_fen }, { 1, 2, 0 })
  t.eq(P:report{}.total.person_times, 2)
end)

t.case('a second sheet through the same helper (opts.fields, opts.enter)', function()
  local f = run.open('sessions.csv', 'w')
  f:write('编号,人数\nS7,12\nS8,x\nS7,12\n')
  f:close()
  local s = P:enter_sheet('sessions.csv', {
    fields = { { 'session', '编号' }, { 'heads', '人数', 'int' } },
    enter = function(e)
      return P:enter{ kind = 'talk', session = e.session, heads = e.heads, key = 'S:' .. e.session,
                      day = '2025-05-01' }
    end,
    refusals = false,
  })
  t.eq({ s.rows, s.entered, s.already, s.refused }, { 3, 1, 1, 1 })
  t.eq(s.refusals[1].line, 3)
  t.ok(s.refusals[1].reason:find('人数', 1, true), s.refusals[1].reason)
  t.eq(P:report{}.total.person_times, 14)
end)

t.done()
