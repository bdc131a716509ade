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

t.case('a sheet entered in batches: the same figures, refusals in line order, an error undoes its row only', function()
  local p2 = {}
  for k, v in pairs(plan) do p2[k] = v end
  p2.id = 'sheet-batch'
  local P = program.define(p2)
  local f = run.open('s3.csv', 'w')
  run.write_csv(f, {
    { '日期', '身份证号', '单号', '金额' },
    { '2025-03-01', fx.id(1), 'B1', '100' },
    { '2025-03-02', fx.id(2), 'B2', '200' },            -- its rule raises after entering: undone
    { '2025-03-03', fx.id(6), 'B3', '10' },             -- not eligible
    { '2025-03-04', fx.id(3), 'B4', '12.345' },         -- bad amount (refused when read)
    { '2025-03-05', fx.id(1), 'B5', '150' },            -- over the member's 200
    { '2025-03-06', fx.id(3), 'B6', '1' },
  })
  f:close()
  local s = P:enter_sheet('s3.csv', { batch = 2, enter = function(e)
    e.kind = 'pay'
    local r, code, why = P:enter(e)
    if e.key == 'B2' then error('a rule failed after the entry') end
    return r, code, why
  end })
  t.eq({ s.rows, s.entered, s.refused }, { 6, 2, 4 })
  local lines = {}
  for _, r in ipairs(s.refusals) do lines[#lines + 1] = r.line .. ':' .. r.code end
  t.eq(lines, { '3:error', '4:not_eligible', '5:bad_input', '6:limit' })
  local keys = {}
  for e in db.program_entries:scan() do if e.program == 'sheet-batch' then keys[#keys + 1] = e.key end end
  table.sort(keys)
  t.eq(keys, { 'B1', 'B6' })
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
  local L = plugin.load 'lottery'
  t.raises(function() P:draw('bed', { public = '1 2 3', seed = seed }) end, 'close the entrant list first')
  P:commit_draw('bed', L.seed_commit(seed), { party = 'notary' })
  local after = t.host_after(2)
  local c = P:close_draw('bed', { public = '福彩3D 2025-05-01 开奖号码', after = after })
  t.eq({ c.tiers[1].n, c.tiers[2].n }, { 3, 7 })   -- members 1, 2, 10 are sanitation and active
  t.raises(function() P:draw('bed', { public = '5 1 9', seed = seed }) end, 'is not known before')
  t.wait_host(after)
  local d = P:draw('bed', { public = ' 5  1 9 ', seed = seed, at = '2025-05-01 10:00:00' })
  t.eq(d.public_value, '5 1 9', 'the public value as entered, white space made single')
  t.eq(d.tiers[1].k, 3)
  t.eq(d.tiers[2].k, 1)
  t.eq(#P:entries('bed'), 4)
  t.ok(P:verify_draw('bed'))
  -- the seed follows from the lists, the public value and the notary's seed (an independent re-draw)
  local s = L.derive_seed('beds:bed', c.tiers[1].list_commitment .. '\n' .. c.tiers[2].list_commitment .. '\n',
                          '福彩3D 2025-05-01 开奖号码', '5 1 9', 'notary=' .. seed .. '\n')
  t.eq(d.seed, s)
  t.eq(L.draw(d.tiers[2].entrants, s, 'beds:bed#2', 1), d.tiers[2].winners)
  -- drawing again returns the stored draw; another public value or seed is refused
  t.eq(P:draw('bed', { public = '5 1 9', seed = seed }).tiers[2].winners, d.tiers[2].winners)
  t.raises(function() P:draw('bed', { public = '5 1 8' }) end, "drawn with the public value '5 1 9'")
  t.raises(function() P:draw('bed', { seed = 'another-seed-of-16-chars' }) end, 'another seed')
  local ok, why = P:verify_draw('bed', { reveals = { notary = 'another-seed-of-16-chars' } })
  t.ok(not ok); t.ok(why:find("notary's revealed seed does not match", 1, true), why)
  ok, why = P:verify_draw('bed', { public_value = '5 1 8' })
  t.ok(not ok); t.ok(why:find('the seed is not the one', 1, true), why)
  -- the record as text and back
  P:write_draw_record('bed', 'beds-record.txt')
  local rec = program.read_draw_record('beds-record.txt')
  t.eq({ P:verify_draw('bed', rec) }, { true })
  -- an entry nobody drew is found
  local loser
  for id in d.tiers[2].entrants:gmatch('%d+') do
    if not d.tiers[2].winners:find('^' .. id .. '\n') and not d.tiers[2].winners:find('\n' .. id .. '\n') then loser = id end
  end
  db.program_entries:insert{ program = 'beds', kind = 'bed', member_id = tonumber(loser), qty = 1, fen = 0,
                             day = '2025-05-01', at = '2025-05-01 10:00:00', key = 'beds:bed:' .. loser }
  ok, why = P:verify_draw('bed')
  t.ok(not ok); t.ok(why:find('member ' .. loser, 1, true), why)
end)

t.case('preferences: limits per enterprise and union quotas, a waiting list that moves up', function()
  local p = {
    id = 'stays', title = '疗休养', year = 2025, window = { from = '2025-01-01', to = '2025-12-31' },
    kinds = { { kind = 'stay', title = '疗休养', places = { A = 2, B = 2 }, per_member = 1 } },
    limits = { { per = { 'place', 'enterprise' }, max_qty = 1 },
               { per = 'union', quotas = { [21] = 1, ['*'] = 2 } } },
    who = { where = { status = 'active' } },
  }
  -- a quota is per one dimension
  local bad = { id = 'x', title = 'x', window = p.window, kinds = p.kinds,
                limits = { { per = { 'union', 'kind' }, quotas = { ['*'] = 1 } } } }
  t.raises(function() program.define(bad) end, "per one dimension")
  bad.limits = { { per = 'week', max_qty = 1 } }
  t.raises(function() program.define(bad) end, 'enterprise, union')
  local P = program.define(p)
  local ids = { 1, 2, 3, 4, 5, 7, 8 }
  local function choices(mid)
    return mid % 2 == 0 and { { place = 'B', day = '2025-06-02' }, { place = 'A', day = '2025-05-05' } }
                         or { { place = 'A', day = '2025-05-05' }, { place = 'B', day = '2025-06-02' } }
  end
  local seed = 'a-seed-of-sixteen-chars-or-more'
  local d = P:draw('stay', seed, { k = #ids, entrants = ids, choices = choices, at = '2025-04-01 10:00:00' })
  t.eq(d.tiers[1].n, 7)
  t.eq(d.tiers[1].k, 7)   -- everyone ranked
  local function standing()
    local out, rev = {}, {}
    for _, e in ipairs(P:entries('stay')) do if e.reverses then rev[e.reverses] = true end end
    for _, e in ipairs(P:entries('stay')) do if not e.reverses and not rev[e.entry_id] then out[#out + 1] = e end end
    return out
  end
  local function invariants()
    local per_pe, per_u, per_p = {}, {}, {}
    for _, e in ipairs(standing()) do
      local k = e.place .. '|' .. e.enterprise_id
      per_pe[k] = (per_pe[k] or 0) + 1
      per_u[e.union_id] = (per_u[e.union_id] or 0) + 1
      per_p[e.place] = (per_p[e.place] or 0) + 1
      t.eq(e.day, e.place == 'A' and '2025-05-05' or '2025-06-02')
    end
    for k, n in pairs(per_pe) do t.ok(n <= 1, k) end
    t.ok((per_u[21] or 0) <= 1 and (per_u[11] or 0) <= 2 and (per_u[12] or 0) <= 2)
    t.ok((per_p.A or 0) <= 2 and (per_p.B or 0) <= 2)
    return #standing()
  end
  t.eq(invariants(), 4)   -- enterprise 1: A and B, enterprise 2 (union 21): one, enterprise 3: A and B
  t.ok(P:verify_draw('stay'))
  local wl = P:waiting_list('stay')
  t.eq(#wl, 3)
  for i = 2, #wl do t.ok(wl[i].rank > wl[i - 1].rank) end
  -- the winners' order is the draw's: a winner got their first choice unless it was taken
  -- a place freed in A goes to the first on the list whom the ledger accepts now
  local a
  for _, e in ipairs(standing()) do if e.place == 'A' then a = a or e end end
  t.ok(P:reverse(a.entry_id, '本人退出'))
  local e, code = P:move_up('stay', { place = 'A' }, { at = '2025-04-10 09:00:00' })
  if e then
    t.eq(e.place, 'A'); t.eq(e.extra.moved_up, true)
    local first
    for _, w in ipairs(P:waiting_list('stay')) do if w.entry then first = first or w end end
    t.eq(first.member_id, e.member_id)
  else
    t.eq(code, 'none')
  end
  t.eq(invariants(), e and 4 or 3)
  t.ok(P:verify_draw('stay'))
  t.ok(P:check())
  -- nobody left who fits: 'none', nothing entered
  local n = #P:entries('stay')
  local e2, code2 = P:move_up('stay', { place = 'A' })
  if not e2 then t.eq(code2, 'none'); t.eq(#P:entries('stay'), n) end
  local rep = P:report{ by = 'kind' }
  t.ok(rep.ok)
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
