-- consumers.lua — the durable side of the event bus (core/lua_bus.c):
-- bus.consumer / bus.run (order, cursor, batches, nothing handled twice),
-- retries and dead letters (bus.dead, bus.retry, bus.drop), bus.replay from
-- a sequence number or a time, bus.trim, consumer name errors, and the
-- change events of collections defined with events = true.
local t = require 'testlib'

db.define('ledger', { key = 'seq', fields = { seq = 'int', who = 'string', amount = 'int' } })
local L = db.ledger

local function bus_state()
  return { last = bus.last(), events = bus.events(), consumers = bus.consumers(), dead = bus.dead() }
end

local function consumer(name)
  for _, c in ipairs(bus.consumers()) do
    if c.name == name then return c end
  end
end

local function seqs_of(topic, from)
  local out = {}
  for _, e in ipairs(bus.events{ from = from or 1, topic = topic }) do out[#out + 1] = e.seq end
  return out
end

local function ledger_of(who)
  local out = {}
  for r in L:scan() do
    if r.who == who then out[#out + 1] = r.amount end
  end
  return out
end

local function dead_of(name)
  local out = {}
  for _, d in ipairs(bus.dead(name)) do out[#out + 1] = d end
  return out
end

t.case('trim with no consumers deletes nothing', function()
  bus.publish('start.x', 1)
  bus.publish('start.x', 2)
  t.eq(bus.consumers(), {})
  t.eq(bus.trim(), 0)
  t.eq(#bus.events(), 2)
end)

t.case('a consumer handles its events in order and its cursor advances', function()
  local from = bus.last() + 1
  db.atomic(function()
    for i = 1, 10 do
      bus.publish('pay.in', i)
      if i % 3 == 0 then bus.publish('other.thing', -i) end
    end
  end)
  local seen = {}
  bus.consumer('summer', 'pay.*', function(ev)
    seen[#seen + 1] = ev.payload
    L:insert{ seq = ev.seq, who = 'summer', amount = ev.payload }
  end)
  local c = consumer('summer')
  t.eq(c.pattern, 'pay.*')
  t.eq(c.cursor, 0, 'a new consumer starts at the start of the log')
  t.eq(c.lag, bus.last())
  t.ok(c.script and c.script:find('consumers.lua', 1, true), 'the script that defined it: ' .. tostring(c.script))
  local handled, parked = bus.run('summer', { batch = 3 })
  t.eq({ handled, parked }, { 10, 0 })
  t.eq(seen, { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10 }, 'in log order')
  t.eq(ledger_of('summer'), { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10 })
  local evseqs = {}
  for r in L:scan() do if r.who == 'summer' then evseqs[#evseqs + 1] = r.seq end end
  t.eq(evseqs, seqs_of('pay.*', from), 'each handler saw its own event\'s seq')
  c = consumer('summer')
  t.eq(c.cursor, bus.last(), 'the cursor is past the events it does not match too')
  t.eq(c.lag, 0)

  -- a second run handles nothing new
  seen = {}
  t.eq({ bus.run('summer') }, { 0, 0 })
  t.eq(seen, {})
  t.eq(#ledger_of('summer'), 10)

  -- new events: only they are handled
  bus.publish('pay.in', 11)
  bus.publish('other.thing', 0)
  bus.publish('pay.out', 12)
  t.eq(consumer('summer').lag, 3)
  t.eq({ bus.run('summer') }, { 2, 0 })
  t.eq(seen, { 11, 12 })
  t.eq(consumer('summer').lag, 0)

  -- limit: at most that many handled, the cursor stops after the last of them
  for i = 13, 17 do bus.publish('pay.in', i) end
  seen = {}
  t.eq({ bus.run('summer', { limit = 2, batch = 1 }) }, { 2, 0 })
  t.eq(seen, { 13, 14 })
  t.eq(consumer('summer').cursor, bus.last() - 3)
  t.eq({ bus.run('summer', { batch = 1 }) }, { 3, 0 })
  t.eq(seen, { 13, 14, 15, 16, 17 })
  t.eq(consumer('summer').lag, 0)
end)

t.case('from = end or a sequence number; redefining keeps the cursor and takes the new pattern', function()
  local last = bus.last()
  local seen = {}
  bus.consumer('late', 'pay.*', function(ev) seen[#seen + 1] = ev.payload end, { from = 'end' })
  t.eq(consumer('late').cursor, last)
  t.eq({ bus.run('late') }, { 0, 0 })
  bus.publish('pay.in', 100)
  t.eq({ bus.run('late') }, { 1, 0 })
  t.eq(seen, { 100 })

  local at = {}
  local s = seqs_of('pay.*')
  bus.consumer('from_seq', 'pay.*', function(ev) at[#at + 1] = ev.seq end, { from = s[#s - 1] })
  t.eq(consumer('from_seq').cursor, s[#s - 1] - 1)
  bus.run('from_seq')
  t.eq(at, { s[#s - 1], s[#s] })

  -- the same name again with another pattern: the pattern changes, the cursor stays
  local cur = consumer('late').cursor
  bus.consumer('late', 'other.*', function(ev) seen[#seen + 1] = ev.payload end)
  t.eq(consumer('late').pattern, 'other.*')
  t.eq(consumer('late').cursor, cur)
  bus.publish('pay.in', 101)
  bus.publish('other.thing', 102)
  seen = {}
  t.eq({ bus.run('late') }, { 1, 0 })
  t.eq(seen, { 102 })
end)

t.case('a failing event is retried, then parked with its error, and the consumer moves on', function()
  local tries = {}
  local function picky(ev)
    tries[ev.payload] = (tries[ev.payload] or 0) + 1
    L:insert{ seq = ev.seq, who = 'picky', amount = ev.payload } -- undone when it fails
    if ev.payload % 4 == 0 then error('claim ' .. ev.payload .. ' is refused') end
  end
  local from = bus.last() + 1
  for i = 1, 9 do bus.publish('claim.filed', i) end
  bus.consumer('picky', 'claim.*', picky)
  local handled, parked = bus.run('picky', { batch = 4 })
  t.eq({ handled, parked }, { 7, 2 })
  t.eq(ledger_of('picky'), { 1, 2, 3, 5, 6, 7, 9 }, 'the failed events\' writes are undone, the others kept')
  t.eq(tries[4], 3, 'tried 3 times by default')
  t.eq(tries[8], 3)
  t.eq(tries[5], 1, 'a good event is handled once')
  t.eq(consumer('picky').lag, 0, 'the consumer moved on')
  local dead = dead_of('picky')
  t.eq(#dead, 2)
  local claim_seqs = seqs_of('claim.*', from)
  t.eq(dead[1].consumer, 'picky')
  t.eq(dead[1].seq, claim_seqs[4])
  t.eq(dead[1].topic, 'claim.filed')
  t.eq(dead[1].payload, 4)
  t.eq(dead[1].attempts, 3)
  t.eq(dead[1].retry, false)
  t.eq(math.type(dead[1].time), 'integer')
  t.eq(math.type(dead[1].id), 'integer')
  t.ok(dead[1].error:find('claim 4 is refused', 1, true), 'the error text: ' .. dead[1].error)
  t.ok(dead[1].error:find('consumers.lua:%d+:'), 'with where it was raised: ' .. dead[1].error)
  t.eq(dead[2].payload, 8)
  t.eq(dead[2].seq, claim_seqs[8])

  -- retries = N
  tries = {}
  bus.publish('claim.filed', 12)
  t.eq({ bus.run('picky', { retries = 5 }) }, { 0, 1 })
  t.eq(tries[12], 5)
  t.eq(dead_of('picky')[3].attempts, 5)
  t.eq(#dead_of('picky'), 3)
  t.eq(#bus.dead(), 3, 'bus.dead() lists every consumer\'s (only picky has any)')

  -- an event that fails once and then works is handled, not parked
  local flaky_tries = {}
  bus.consumer('flaky', 'claim.*', function(ev)
    flaky_tries[ev.seq] = (flaky_tries[ev.seq] or 0) + 1
    L:insert{ seq = -ev.seq, who = 'flaky', amount = ev.payload }
    if flaky_tries[ev.seq] == 1 then error('first try fails') end
  end)
  local h, p = bus.run('flaky', { retries = 2 })
  t.eq({ h, p }, { 10, 0 })
  t.eq(#ledger_of('flaky'), 10, 'each event\'s effect exactly once')
  t.eq(dead_of('flaky'), {})

  -- a non-string error value is parked with a description of it
  bus.consumer('tabular', 'tab.*', function(ev) error({ code = ev.payload }) end, { from = 'end' })
  bus.publish('tab.x', 13)
  t.eq({ bus.run('tabular', { retries = 1 }) }, { 0, 1 })
  local d = dead_of('tabular')[1]
  t.ok(d and d.error:find('table', 1, true), 'says the error was a table: ' .. tostring(d and d.error))
end)

t.case('bus.retry: tried again on the next run (still failing, then fixed); bus.drop', function()
  local dead = dead_of('picky')
  t.eq(#dead, 3)
  local id4, id8, id12 = dead[1].id, dead[2].id, dead[3].id
  -- still failing: one more attempt, the new error kept, the mark cleared
  bus.retry(id4)
  t.eq(dead_of('picky')[1].retry, true, 'marked for another try')
  t.eq({ bus.run('picky') }, { 0, 0 })
  dead = dead_of('picky')
  t.eq(#dead, 3)
  t.eq(dead[1].id, id4)
  t.eq(dead[1].attempts, 4)
  t.eq(dead[1].retry, false)
  t.ok(dead[1].error:find('claim 4 is refused', 1, true), dead[1].error)

  -- the handler is fixed (defined again): the retried event is handled once
  local calls = {}
  bus.consumer('picky', 'claim.*', function(ev)
    calls[#calls + 1] = ev.payload
    L:insert{ seq = ev.seq, who = 'picky', amount = ev.payload }
  end)
  bus.retry(id4)
  bus.retry(id12)
  local h, p = bus.run('picky')
  t.eq({ h, p }, { 2, 0 })
  t.eq(calls, { 4, 12 }, 'only the retried ones: the cursor had moved past them')
  t.eq(ledger_of('picky'), { 1, 2, 3, 4, 5, 6, 7, 9, 12 })
  dead = dead_of('picky')
  t.eq(#dead, 1)
  t.eq(dead[1].id, id8)
  -- not marked: not tried
  calls = {}
  t.eq({ bus.run('picky') }, { 0, 0 })
  t.eq(calls, {})
  -- dropped: gone for good
  bus.drop(id8)
  t.eq(dead_of('picky'), {})
  bus.run('picky')
  t.eq(calls, {})
  t.eq(ledger_of('picky'), { 1, 2, 3, 4, 5, 6, 7, 9, 12 })

  t.raises_all(function() bus.retry(id8) end, { 'no dead letter', tostring(id8) })
  t.raises_all(function() bus.drop(id8) end, { 'no dead letter', tostring(id8) })
  t.raises_all(function() bus.retry(999999) end, { 'no dead letter 999999' })
  t.raises(function() bus.retry('x') end)
  t.raises(function() bus.drop() end)
end)

t.case('a consumer handler may publish; its events are logged in the batch', function()
  local from = bus.last() + 1
  bus.consumer('relay', 'order.placed', function(ev) bus.publish('order.confirmed', ev.payload * 10) end,
               { from = 'end' })
  bus.publish('order.placed', 1)
  bus.publish('order.placed', 2)
  t.eq({ bus.run('relay') }, { 2, 0 })
  local got = {}
  for _, e in ipairs(bus.events{ from = from }) do got[#got + 1] = e.topic .. '=' .. tostring(e.payload) end
  t.eq(got, { 'order.placed=1', 'order.placed=2', 'order.confirmed=10', 'order.confirmed=20' })
  t.eq(consumer('relay').cursor, from + 1, 'the cursor is after the last event it read')
  t.eq({ bus.run('relay') }, { 0, 0 })
end)

t.case('replay from a sequence number and from a time', function()
  local got = {}
  bus.consumer('rebuild', 'report.*', function(ev) got[#got + 1] = ev.payload end, { from = 'end' })
  local first = bus.publish('report.row', 1)
  for i = 2, 5 do bus.publish('report.row', i) end
  t.eq({ bus.run('rebuild') }, { 5, 0 })
  t.eq(got, { 1, 2, 3, 4, 5 })
  -- from a sequence number: the next run starts at that event
  got = {}
  t.eq(bus.replay('rebuild', first + 2), first + 1, 'returns the new cursor')
  t.eq(consumer('rebuild').cursor, first + 1)
  t.eq({ bus.run('rebuild') }, { 3, 0 })
  t.eq(got, { 3, 4, 5 })

  -- from a time: publish until the log's clock is in a new second, so that
  -- the events before and after that second are told apart
  local function ev_time(seq) return bus.events{ from = seq, limit = 1 }[1].time end
  local before_sec = ev_time(bus.publish('report.tick', 'before')) // 1000
  local boundary_seq, sec
  repeat
    local c0 = os.clock()
    while os.clock() - c0 < 0.02 do end
    boundary_seq = bus.publish('report.tick', 'tick')
    sec = ev_time(boundary_seq) // 1000
  until sec > before_sec
  bus.publish('report.row', 6)
  local when = os.date('%Y-%m-%d %H:%M:%S', sec)
  t.eq(bus.replay('rebuild', when), boundary_seq - 1, 'replay ' .. when .. ' starts at the first event of that second')
  got = {}
  bus.run('rebuild')
  t.eq(got, { 'tick', 6 })
  -- a date alone: midnight; a day long past is the start of the log
  bus.replay('rebuild', '2000-01-01')
  got = {}
  bus.run('rebuild')
  local all = {}
  for _, e in ipairs(bus.events{ topic = 'report.*' }) do all[#all + 1] = e.payload end
  t.eq(got, all, 'replay from 2000-01-01 is the whole log')
  -- a time after the last event: nothing to do
  t.eq(bus.replay('rebuild', '2999-12-31 23:59'), bus.last())
  got = {}
  t.eq({ bus.run('rebuild') }, { 0, 0 })
  -- replays with database writes happen again, as asked (rebuilding a report)
  bus.consumer('rebuild', 'report.*', function(ev)
    got[#got + 1] = ev.payload
    L:put{ seq = ev.seq, who = 'rebuild', amount = 1 }
  end)
  bus.replay('rebuild', first)
  bus.run('rebuild')
  t.eq(#ledger_of('rebuild'), #all)

  -- bad arguments
  local cur = consumer('rebuild').cursor
  local accepted = {}
  for _, bad in ipairs{ 0, -1, 'yesterday', '2025-13-01', '2025-02-30', '2025-01-01 25:00',
                        '2025-01-01 10:75', '2025-01-01 10:00:99', '2025-01-01x', {}, 1.5 } do
    local ok, err = pcall(bus.replay, 'rebuild', bad)
    if ok then
      accepted[#accepted + 1] = tostring(bad)
    elseif not tostring(err):find('bus.replay', 1, true) then
      error('bus.replay from ' .. tostring(bad) .. ': unclear error: ' .. tostring(err))
    end
  end
  t.raises_all(function() bus.replay('rebuild') end, { 'bus.replay' })
  t.eq(accepted, {}, 'bus.replay accepted bad starting points')
  t.eq(consumer('rebuild').cursor, cur, 'the refused replays moved nothing')
end)

t.case('consumer names: unknown ones are errors that list the known consumers', function()
  local names = {}
  for _, c in ipairs(bus.consumers()) do names[#names + 1] = c.name end
  t.ok(#names >= 3, 'there are consumers by now')
  local before = bus_state()
  local err = t.raises_all(function() bus.replay('nope', 1) end, { "no consumer named 'nope'" })
  for _, n in ipairs(names) do
    t.ok(err:find(n, 1, true), 'the message lists ' .. n .. ': ' .. err)
  end
  t.raises_all(function() bus.run('nope') end, { "'nope'", 'bus.consumer' })
  t.eq(bus_state(), before, 'nothing written')

  -- bad definitions are refused before anything is written
  local fn = function() end
  for _, c in ipairs{
    { { '', 'a.*', fn }, 'consumer name' },
    { { 'a\nb', 'a.*', fn }, 'consumer name' },
    { { string.rep('n', 101), 'a.*', fn }, 'consumer name' },
    { { 'ok', 'a..b', fn }, 'empty segment' },
    { { 'ok', 'a*', fn }, "'*'" },
    { { 'ok', 'a.*', 'not a function' }, 'function' },
    { { 'ok', 'a.*', fn, { from = 'middle' } }, 'from' },
  } do
    local args = c[1]
    t.raises_all(function() bus.consumer(table.unpack(args, 1, 4)) end, { c[2] },
                 'bus.consumer(' .. tostring(args[1]) .. ', ' .. tostring(args[2]) .. ')')
  end
  t.raises(function() bus.consumer() end)
  t.eq(bus_state(), before, 'no consumer was defined')
  t.raises_all(function() bus.run('summer', { batch = 0 }) end, { 'batch' })
  t.raises_all(function() bus.run('summer', { retries = 0 }) end, { 'retries' })
  -- bus.dead(name) of a consumer that does not exist is an error too (as `gonghui events dead NAME`)
  err = t.raises_all(function() bus.dead('nope') end, { "'nope'" })
  t.ok(err:find(names[1], 1, true), 'the message lists the known consumers: ' .. err)
  -- a start that is no sequence number
  local ok = pcall(bus.consumer, 'negative', 'a.*', fn, { from = -5 })
  t.eq(ok, false, 'bus.consumer with from = -5 is refused')
end)

t.case('a start past the end of the log does not make the consumer skip what comes next', function()
  -- a consumer starting (or replayed) beyond the last event is either refused,
  -- or waits at the end of the log: its lag is never negative and the next
  -- event published is handled
  local got = {}
  local fn = function(ev) got[#got + 1] = ev.payload end
  local far = bus.last() + 1000
  local ok = pcall(bus.consumer, 'ahead', 'ahead.*', fn, { from = far })
  if not ok then bus.consumer('ahead', 'ahead.*', fn, { from = 'end' }) end
  t.ok(consumer('ahead').lag >= 0, 'lag after from = last + 1000: ' .. consumer('ahead').lag)
  bus.publish('ahead.x', 1)
  bus.run('ahead')
  t.eq(got, { 1 }, 'the next event is handled')
  ok = pcall(bus.replay, 'ahead', bus.last() + 1000)
  t.ok(consumer('ahead').lag >= 0, 'lag after a replay from last + 1000: ' .. consumer('ahead').lag)
  bus.publish('ahead.x', 2)
  bus.run('ahead')
  t.eq(got, { 1, 2 }, 'after a replay past the end, the next event is handled')
end)
-- whatever happened above, 'ahead' is put at the end of the log for the next cases
pcall(bus.replay, 'ahead', bus.last() + 1)

t.case('bus.run inside db.atomic is refused and changes nothing', function()
  bus.run('summer')
  bus.publish('pay.in', 1000)
  local before = bus_state()
  local err = t.unchanged(function()
    db.atomic(function()
      L:insert{ seq = -1000, who = 'atomic', amount = 1 }
      bus.run('summer')
    end)
  end, { "bus.run('summer')", 'db.atomic' })
  t.eq(bus_state(), before)
  t.ok(err:find('consumers.lua:%d+:'), 'points at the call: ' .. err)
  t.eq({ bus.run('summer') }, { 1, 0 })
end)

t.case('change events of a collection defined with events = true', function()
  db.define('member', { key = 'id', fields = { id = 'int', name = 'string', town = 'string?' }, events = true })
  db.define('quiet', { key = 'id', fields = { id = 'int' } })
  t.eq(db.member:schema().events, true)
  local M = db.member
  local from = bus.last() + 1
  local inline = 0
  local h = bus.on('member.inserted', function(ev) inline = inline + 1 end)

  M:insert{ id = 1, name = '李娜', town = '硖石街道' }          -- outside db.atomic
  M:put{ id = 2, name = '王芳' }                                -- put of a new record
  M:put{ id = 1, name = '李娜', town = '海洲街道' }              -- put over an old one
  M:update(2, { town = '许村镇' })
  t.eq(M:update(99, { town = 'x' }), nil)                       -- no record: no event
  M:delete(1)
  t.eq(M:delete(99), false)                                     -- no record: no event
  local add = M:prepare_insert({ town = '斜桥镇' }, 'id', 'name')
  add(3, '张伟')                                                 -- prepared, outside db.atomic
  db.atomic(function()
    add(4, '刘洋')                                               -- prepared, inside
    M:insert{ id = 5, name = '陈静' }
  end)
  pcall(db.atomic, function()                                   -- rolled back: no events
    M:insert{ id = 6, name = 'gone' }
    add(7, 'gone too')
    M:delete(2)
    error('undo')
  end)
  t.raises(function() M:insert{ id = 2, name = 'dup' } end)     -- refused: no event
  db.quiet:insert{ id = 1 }                                     -- events not asked for
  bus.off(h)

  local evs = bus.events{ from = from }
  local got = {}
  for _, e in ipairs(evs) do got[#got + 1] = { e.topic, e.payload } end
  t.eq(got, {
    { 'member.inserted', { new = { id = 1, name = '李娜', town = '硖石街道' } } },
    { 'member.inserted', { new = { id = 2, name = '王芳' } } },
    { 'member.updated', { old = { id = 1, name = '李娜', town = '硖石街道' },
                          new = { id = 1, name = '李娜', town = '海洲街道' } } },
    { 'member.updated', { old = { id = 2, name = '王芳' }, new = { id = 2, name = '王芳', town = '许村镇' } } },
    { 'member.deleted', { old = { id = 1, name = '李娜', town = '海洲街道' } } },
    { 'member.inserted', { new = { id = 3, name = '张伟', town = '斜桥镇' } } },
    { 'member.inserted', { new = { id = 4, name = '刘洋', town = '斜桥镇' } } },
    { 'member.inserted', { new = { id = 5, name = '陈静' } } },
  })
  -- (7: the two inserts of the rolled-back unit reached the handler before the rollback)
  t.eq(inline, 7, 'in-transaction handlers saw each insert')

  -- a consumer keeps a copy of the collection from the change events
  db.define('member_copy', { key = 'id', fields = { id = 'int', name = 'string', town = 'string?' } })
  bus.consumer('copier', 'member.*', function(ev)
    if ev.topic == 'member.deleted' then
      db.member_copy:delete(ev.payload.old.id)
    else
      db.member_copy:put(ev.payload.new)
    end
  end, { from = from })
  t.eq({ bus.run('copier') }, { 8, 0 })
  t.eq(db.member_copy:list(), M:list())

  -- a failing handler of a change event undoes the write, inside db.atomic or not
  local snap = t.snapshot()
  local last = bus.last()
  h = bus.on('member.*', function(ev) error('no changes today') end)
  local err = t.raises(function() M:insert{ id = 8, name = 'x' } end)
  t.ok(err:find("bus handler for 'member.inserted'", 1, true), err)
  t.raises(function() M:update(2, { name = 'y' }) end, "member.updated")
  t.raises(function() M:delete(2) end, "member.deleted")
  t.raises(function() add(9, 'z') end, "member.inserted")
  t.raises(function() db.atomic(function() M:put{ id = 2, name = 'w' } end) end, "member.updated")
  bus.off(h)
  t.eq(t.snapshot(), snap, 'every refused write is undone')
  t.eq(bus.last(), last, 'and no event is logged')
end)

t.case('trim deletes what every consumer has handled, keeps the last event; numbers keep growing', function()
  -- every consumer catches up, except one left behind on purpose
  local trail = {}
  bus.consumer('trailer', 'trim.*', function(ev) trail[#trail + 1] = ev.payload end)
  for _, c in ipairs(bus.consumers()) do
    if c.name ~= 'trailer' then bus.run(c.name) end
  end
  local from = bus.last() + 1
  for i = 1, 5 do bus.publish('trim.x', i) end
  for _, c in ipairs(bus.consumers()) do
    if c.name ~= 'trailer' then bus.run(c.name) end
  end
  bus.run('trailer')
  -- trailer handled everything too; put it back to the second trim.x event
  bus.replay('trailer', from + 2)
  local first = bus.events()[1].seq
  local n = bus.trim()
  t.eq(first, 1, 'nothing was trimmed before')
  t.eq(n, from + 1, 'deleted up to the lowest cursor')
  t.eq(bus.events()[1].seq, from + 2)
  trail = {}
  t.eq({ bus.run('trailer') }, { 3, 0 })
  t.eq(trail, { 3, 4, 5 }, 'the trailing consumer still has its events')

  -- everyone is at the end: all but the last event go
  local last = bus.last()
  t.eq(bus.trim(), last - (from + 2))
  local evs = bus.events()
  t.eq(#evs, 1, 'the last event stays')
  t.eq(evs[1].seq, last)
  t.eq(evs[1].payload, 5)
  t.eq(bus.trim(), 0, 'nothing more to trim')
  t.eq(bus.last(), last)

  -- sequence numbers go on from the last one
  local s = bus.publish('trim.x', 6)
  t.eq(s, last + 1)
  trail = {}
  t.eq({ bus.run('trailer') }, { 1, 0 })
  t.eq(trail, { 6 })
  for _, c in ipairs(bus.consumers()) do t.eq(c.lag, c.name == 'trailer' and 0 or 1, c.name .. ' lag') end

  -- replaying from the first event kept works
  t.eq(bus.replay('trailer', last), last - 1)
  trail = {}
  bus.run('trailer')
  t.eq(trail, { 5, 6 })
  -- replaying from what was trimmed is an error that says so (as `gonghui events replay`)
  local cur = consumer('trailer').cursor
  local ok, err = pcall(bus.replay, 'trailer', 1)
  t.eq(consumer('trailer').cursor, cur, 'a replay from trimmed events does not move the cursor')
  t.eq(ok, false, 'bus.replay from a trimmed sequence number is refused')
  t.ok(tostring(err):find('trimmed', 1, true), 'says the events were trimmed: ' .. tostring(err))
end)

t.done()
