-- program_parts.lua — scripts/lib/program/*: sheet entry (labels, cells as
-- import reads them, a savepoint per row, the refusals file, re-entry pays
-- nothing twice), draws within tiers (replayable, verified by the lottery
-- plugin, tampering named), public lists with names, IDs and phones masked.
local t = require 'testlib'
local fx = require 'program_fixtures'
local program = require 'program'
local cells = require 'program.cells'

fx.load()

t.case('cells are read as import reads them', function()
  t.eq(cells.parse('date', '2025/1/14'), '2025-01-14')
  t.eq(cells.parse('date', '2025年2月12日'), '2025-02-12')
  t.eq(cells.parse('date', '20250212'), '2025-02-12')
  t.eq(cells.parse('date', '2025-02-12 00:00:00'), '2025-02-12')
  t.ok(not cells.parse('date', '2025-02-30'))
  t.ok(not cells.parse('date', '45678'))
  t.ok(not cells.parse('date', '2025/1-14'))
  t.eq(cells.parse('yuan', '¥1,234.50'), 123450)
  t.eq(cells.parse('yuan', '12'), 1200)
  t.ok(not cells.parse('yuan', '12.345'))
  t.ok(not cells.parse('yuan', '-5'))
  t.eq(cells.parse('id', fx.id(3):lower()), fx.id(3))
  t.ok(not cells.parse('id', '3.30481E+17'))
  t.eq(cells.parse('phone', '138-1234-5678'), '13812345678')
  t.eq(cells.parse('int', '1,200'), 1200)
end)

local plan = {
  id = 'sheet-t', title = '表格测试', year = 2025, window = { from = '2025-01-01', to = '2025-12-31' },
  budget_fen = 50000,
  kinds = { { kind = 'pay', title = '补助', unit = 'fen' } },
  who = { where = { status = 'active' } },
  fields = { { 'id_number', '身份证号', 'id' }, { 'key', '单号' }, { 'fen', '金额', 'yuan' },
             { 'day', '日期', 'date' }, { 'note', '备注', optional = true } },
  limits = { { per = 'member', max_fen = 20000 } },
}

t.case('a sheet: labels, refusals with file and line, re-entry pays nothing twice', function()
  local P = program.define(plan)
  local f = run.open('s1.csv', 'w')
  run.write_csv(f, {
    { '日期', '身份证号', '单号', '金额', '其他' },
    { '2025/3/1', fx.id(1), 'A1', '¥100.00', 'x' },
    { '2025年3月2日', fx.id(2), 'A2', '200', '' },
    { '2025-03-03', fx.id(6), 'A3', '10', '' },          -- left: not eligible
    { '2025-03-04', fx.id(3), 'A4', '12.345', '' },      -- bad amount
    { '', '', '', '', '' },                              -- blank: skipped
    { '2025-03-05', fx.id(1), 'A5', '150', '' },         -- over the member's 200
    { '2025-03-06', fx.id(3), 'A6', '1', '' },
  })
  f:close()
  local s = P:enter_sheet('s1.csv')
  t.eq({ s.rows, s.entered, s.already, s.refused }, { 6, 3, 0, 3 })
  t.eq(s.fen, 10000 + 20000 + 100)
  local lines = {}
  for _, r in ipairs(s.refusals) do lines[#lines + 1] = r.line .. ':' .. r.code end
  t.eq(lines, { '4:not_eligible', '5:bad_input', '7:limit' })
  t.ok(s.refusals[2].reason:find('金额', 1, true))
  local text = program.sheet_summary(s)
  t.ok(text:find('s1.csv:5:', 1, true), text)
  local r = {}
  for line in io.lines('s1.refusals.csv') do r[#r + 1] = line end
  t.eq(#r, 4)
  -- again: nothing paid twice
  local before = db.program_entries:count()
  local s2 = P:enter_sheet('s1.csv')
  t.eq({ s2.entered, s2.already, s2.refused, s2.fen }, { 0, 3, 3, 0 })
  t.eq(db.program_entries:count(), before)
  t.ok(P:check())
end)

t.case('a sheet without a labelled column is refused before any row', function()
  local P = program.define(plan)
  local f = run.open('s2.csv', 'w')
  run.write_csv(f, { { '身份证号', '金额' }, { fx.id(1), '1' } })
  f:close()
  local n = db.program_entries:count()
  t.raises_all(function() P:enter_sheet('s2.csv') end, { 's2.csv:1', '单号 (key)', '日期 (day)' })
  t.eq(db.program_entries:count(), n)
end)

t.case('a draw within tiers: replayable, verified, tampering named', function()
  local p = {
    id = 'beds', title = '疗休养', year = 2025, window = { from = '2025-01-01', to = '2025-12-31' },
    kinds = { { kind = 'bed', title = '床位', stock = 4, per_member = 1 } },
    who = { where = { status = 'active' },
            tiers = { { name = 'sanitation first', where = { category = 'sanitation' } }, { name = 'others' } } },
  }
  local P = program.define(p)
  local seed = 'a-seed-of-sixteen-chars-or-more'
  local d = P:draw('bed', seed, { at = '2025-05-01 10:00:00' })
  t.eq(d.tiers[1].n, 3)           -- members 1, 2, 10 are sanitation and active
  t.eq(d.tiers[1].k, 3)
  t.eq(d.tiers[2].k, 1)
  t.eq(#P:entries('bed'), 4)
  t.ok(P:verify_draw('bed'))
  -- the same seed and lists give the same winners (an independent re-draw)
  local L = plugin.load 'lottery'
  t.eq(L.draw(d.tiers[2].entrants, seed, 'beds:bed#2', 1), d.tiers[2].winners)
  -- drawing again returns the stored draw; another seed is refused
  t.eq(P:draw('bed', seed).tiers[2].winners, d.tiers[2].winners)
  t.raises(function() P:draw('bed', 'another-seed-of-16-chars') end, 'another seed')
  local ok, why = P:verify_draw('bed', { seed = 'another-seed-of-16-chars' })
  t.ok(not ok); t.ok(why:find('tier 1', 1, true), why)
  -- an entry nobody drew is found
  db.program_entries:insert{ program = 'beds', kind = 'bed', member_id = 9, qty = 1, fen = 0,
                             day = '2025-05-01', at = '2025-05-01 10:00:00', key = 'beds:bed:9' }
  ok, why = P:verify_draw('bed')
  t.ok(not ok); t.ok(why:find('member 9', 1, true), why)
end)

t.case('public lists mask names, ID numbers and phones', function()
  local P = program.define(plan)
  local rows = P:public_list()
  t.eq(#rows, 3)
  t.eq(rows[1]['姓名'], '王*国')
  t.eq(rows[2]['姓名'], '李*英')
  t.eq(rows[1]['身份证号'], program.mask_id(fx.id(1)))
  t.ok(not rows[1]['身份证号']:find(fx.id(1):sub(7, 14), 1, true))
  local text = program.public_text(rows)
  t.ok(not text:find('王建国', 1, true))
  local n, path = P:write_public_list('gongshi.csv')
  t.eq(n, 3)
  local all = {}
  for line in io.lines(path) do all[#all + 1] = line end
  t.ok(not table.concat(all):find('王建国', 1, true))
end)

t.done()
