-- program_grant_old.lua — P:grant_all on a registry defined before the
-- programs' member fields (no household field): the C path (insert_select,
-- the household of one taken as { or_key = 'm' }) and the Lua loop store the
-- same ledger ('m' .. member_id), events (the household left out), totals
-- and reports; the entries read back as before (program.entry_of_event).
local t = require 'testlib'

db.define('members', {
  key = 'member_id',
  fields = { member_id = 'int', name = 'string', id_number = 'string', status = 'string', town = 'string' },
})
db.atomic(function()
  for i = 1, 25 do
    db.members:insert{ member_id = i, name = '会员' .. i, id_number = string.format('X%05d', i),
                       status = i % 4 == 0 and 'left' or 'active', town = i % 2 == 0 and '许村镇' or '长安镇' }
  end
end)
local program = require 'program'

local function plan(id, title)
  return { id = id, title = title, window = { from = '2025-01-01', to = '2025-12-31' },
           kinds = { { kind = 'pack', title = '包', value_fen = 800, stock = 12, per_member = 1 } },
           who = { where = { status = 'active' } } }
end

local function entries(P)
  local out = {}
  for _, e in ipairs(P:entries('pack')) do out[#out + 1] = { e.member_id, e.household, e.fen, e.qty, e.day } end
  return out
end

local function events(id)
  local out = {}
  for _, ev in ipairs(bus.events{ from = 1, topic = program.EVENT, limit = 100000 }) do
    local x = ev.payload
    if x[1] == id then
      local e = program.entry_of_event(x)
      out[#out + 1] = { #x, e.member_id, e.household, e.fen, e.qty }
    end
  end
  return out
end

t.case('no household field: the C path and the loop store and publish the same', function()
  for _, batch in ipairs{ false, 5 } do
    local sfx = batch and 'b' or ''
    local L = program.define(plan('ol' .. sfx, '旧循环' .. sfx))
    local C = program.define(plan('oc' .. sfx, '旧插入' .. sfx))
    local cl = L:grant_all('pack', { at = '2025-02-01 09:00:00', batch = batch or nil, loop = true })
    local cc = C:grant_all('pack', { at = '2025-02-01 09:00:00', batch = batch or nil })
    t.eq(cc, cl)
    t.eq({ cc.entered, cc.out_of_stock }, { 12, db.members:count{ status = 'active' } - 12 })
    t.eq(entries(C), entries(L))
    t.eq(entries(C)[1][2], 'm1', 'the household of one, stored as before')
    t.eq(events('oc' .. sfx), events('ol' .. sfx))
    t.eq(events('oc' .. sfx)[1][1], 6, 'the compact event leaves the household of one out')
    t.ok(C:check())
    local rc, rl = C:report(), L:report()
    t.eq({ rc.total.persons, rc.total.household_times, rc.total.fen },
         { rl.total.persons, rl.total.household_times, rl.total.fen })
    t.eq(rc.total.household_times, 12)
  end
end)

t.case('batches: when the ledger moved between two batches, the rest goes on through the loop, each member once', function()
  local P = program.define(plan('mv', '移动'))
  local Q = program.define(plan('mvq', '移动对照'))
  -- a handler that, on the grant's first event, enters an entry of another
  -- program: the ledger's last entry is no longer the grant's, as when
  -- another process enters between two batches
  local done = false
  bus.on(program.EVENT, function(ev)
    if not done and ev.payload[1] == 'mv' then
      done = true
      db.program_entries:insert{ program = 'other', kind = 'x', qty = 1, fen = 0, day = '2025-02-01', at = 'x' }
    end
  end)
  local c = P:grant_all('pack', { at = '2025-02-01 09:00:00', batch = 3 })
  local q = Q:grant_all('pack', { at = '2025-02-01 09:00:00', batch = 3, loop = true })
  t.ok(done)
  t.eq(c, q)
  local seen = {}
  for _, e in ipairs(P:entries('pack')) do
    t.eq(seen[e.member_id], nil, 'member ' .. e.member_id .. ' once')
    seen[e.member_id] = true
  end
  t.eq(entries(P), entries(Q))
  t.ok(P:check())
end)

t.done()
