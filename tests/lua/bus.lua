-- bus.lua — the in-transaction side of the event bus (core/lua_bus.c):
-- bus.publish, bus.emit, bus.on/off, topics and patterns, what an event
-- carries, rollback of events and of their handlers' writes, handler
-- errors, the cascade limit, and bad topics, patterns and payloads refused
-- before anything is written.
local t = require 'testlib'

db.define('notes', { fields = { what = 'string', n = 'int?' } })
local N = db.notes

-- The whole event log and the bus's bookkeeping, to compare before and after.
local function bus_state()
  return { last = bus.last(), events = bus.events(), consumers = bus.consumers(), dead = bus.dead() }
end

-- Everything (records of every collection and the bus's state) unchanged by fn,
-- which must fail with a message holding every substring of subs.
local function nothing_written(fn, subs, msg)
  local before = bus_state()
  local err = t.unchanged(fn, subs, msg)
  t.eq(bus_state(), before, (msg or '') .. ': the event log after a refused call')
  return err
end

local function clear_notes()
  for r in N:scan() do N:delete(r.id) end
end

-- Handlers registered through on() are removed when their case ends, even
-- when it fails, so one failing case does not break the next ones.
local live = {}
local function on(pattern, fn)
  local id = bus.on(pattern, fn)
  live[id] = true
  return id
end
local function off(id)
  live[id] = nil
  bus.off(id)
end
local function case(name, fn)
  t.case(name, fn)
  for id in pairs(live) do pcall(bus.off, id) end
  live = {}
end

-- Registers fn under pattern for the length of body(), then removes it.
local function with_handler(pattern, fn, body)
  local id = on(pattern, fn)
  local ok, err = pcall(body)
  off(id)
  if not ok then error(err, 0) end
end

case('publish returns growing sequence numbers; the event carries seq, topic, time, payload, origin', function()
  local start = os.time() -- the run's clock (its start), in seconds
  local s1 = bus.publish('member.joined', { id = 7, name = '李娜', towns = { '硖石街道', '海洲街道' },
                                             dues = 12.5, active = true })
  local s2 = bus.publish('member.left', 8)
  local s3 = bus.publish('member.left') -- no payload
  t.eq(math.type(s1), 'integer')
  t.eq(s2, s1 + 1)
  t.eq(s3, s2 + 1)
  t.eq(bus.last(), s3)
  local evs = bus.events{ from = s1 }
  t.eq(#evs, 3)
  local e = evs[1]
  t.eq(e.seq, s1)
  t.eq(e.topic, 'member.joined')
  t.eq(e.payload, { id = 7, name = '李娜', towns = { '硖石街道', '海洲街道' }, dues = 12.5, active = true })
  t.eq(math.type(e.time), 'integer')
  -- milliseconds since 1970, not before this run started and not far in the future
  t.ok(e.time >= (start - 5) * 1000 and e.time < (start + 3600) * 1000, 'time in ms: ' .. e.time)
  t.ok(type(e.origin) == 'string' and e.origin:match('^%x+$') and #e.origin == 32,
       'origin is the database id in hex: ' .. tostring(e.origin))
  t.ok(type(e.run) == 'string' and #e.run > 0, 'the run that published it: ' .. tostring(e.run))
  t.eq(e.run, run.uid, 'this run')
  t.eq(evs[2].payload, 8)
  t.eq(evs[3].payload, nil)
  t.eq(evs[2].origin, e.origin, 'one database, one origin')
  t.eq(evs[2].run, e.run, 'one run')
  t.ok(evs[2].time >= e.time and evs[3].time >= evs[2].time, 'times do not go back')
end)

case('a handler gets the same event as the log keeps (seq, topic, time, payload, origin, run)', function()
  local got
  with_handler('audit.seen', function(ev) got = ev end, function()
    local seq = bus.publish('audit.seen', { k = 'v', list = { 1, 2, 3 } })
    local stored = bus.events{ from = seq }[1]
    t.ok(got, 'the handler ran')
    t.eq(got.seq, seq)
    t.eq(got.topic, 'audit.seen')
    t.eq(got.payload, { k = 'v', list = { 1, 2, 3 } })
    t.eq(math.type(got.time), 'integer')
    t.ok(math.abs(got.time - stored.time) <= 1, 'handler time ' .. got.time .. ' vs stored ' .. stored.time)
    t.eq(got.run, stored.run)
    t.eq(got.origin, stored.origin, 'the handler\'s event has the origin the log keeps')
  end)
end)

case('publish_many: each handler gets every event, a batch handler the list, all with the log\'s run', function()
  local one, lists = {}, {}
  on('many.made', function(ev) one[#one + 1] = { ev.seq, ev.payload, ev.run } end)
  local bid = bus.on('many.*', function(list) lists[#lists + 1] = list end, { batch = true })
  live[bid] = true
  local first, last = bus.publish_many('many.made', { { k = 1 }, 'two', 3 })
  t.eq(last, first + 2)
  t.eq(one, { { first, { k = 1 }, run.uid }, { first + 1, 'two', run.uid }, { last, 3, run.uid } })
  t.eq(#lists, 1, 'the batch handler once')
  t.eq(#lists[1], 3)
  for i, ev in ipairs(lists[1]) do
    t.eq({ ev.seq, ev.topic, ev.run }, { first + i - 1, 'many.made', run.uid })
  end
  t.eq(lists[1][2].payload, 'two')
  local stored = bus.events{ from = first }
  t.eq(#stored, 3)
  t.eq(stored[3].payload, 3)
  t.eq(stored[3].run, run.uid)
end)

case('handlers run in registration order; off removes one and keeps the others\' order', function()
  local calls = {}
  local function h(name) return function() calls[#calls + 1] = name end end
  local ids = {
    on('order.made', h('exact1')),
    on('order.*', h('star')),
    on('**', h('all')),
    on('order.**', h('rest')),
    on('other.*', h('other')),
    on('order.made', h('exact2')),
  }
  bus.publish('order.made', 1)
  t.eq(calls, { 'exact1', 'star', 'all', 'rest', 'exact2' })
  calls = {}
  off(ids[2])
  off(ids[4])
  bus.publish('order.made', 2)
  t.eq(calls, { 'exact1', 'all', 'exact2' })
  -- a handler registered now comes last, even after offs
  calls = {}
  local late = on('order.made', h('late'))
  bus.publish('order.made', 3)
  t.eq(calls, { 'exact1', 'all', 'exact2', 'late' })
  -- emit calls the same handlers in the same order
  calls = {}
  bus.emit('order.made', 4)
  t.eq(calls, { 'exact1', 'all', 'exact2', 'late' })
  off(late)
  for _, i in ipairs{ 1, 3, 5, 6 } do off(ids[i]) end
  t.raises_all(function() bus.off(ids[1]) end, { 'bus.off', 'no handler' })
  t.raises_all(function() bus.off(9999) end, { 'bus.off', 'no handler' })
  calls = {}
  bus.publish('order.made', 5)
  t.eq(calls, {}, 'no handler left')
end)

case('patterns: * is one segment, a trailing ** one or more; Chinese segments', function()
  local cases = {
    -- pattern, topic, matches
    { 'a.b', 'a.b', true }, { 'a.b', 'a.bc', false }, { 'a.b', 'ab', false }, { 'a.b', 'a.b.c', false },
    { 'a.b', 'a', false }, { 'a.b', 'x.a.b', false },
    { 'a.*', 'a.b', true }, { 'a.*', 'a', false }, { 'a.*', 'a.b.c', false }, { 'a.*', 'b.a', false },
    { '*.b', 'x.b', true }, { '*.b', 'b', false }, { '*.b', 'x.y.b', false },
    { 'a.*.c', 'a.x.c', true }, { 'a.*.c', 'a.c', false }, { 'a.*.c', 'a.x.y.c', false },
    { '*', 'a', true }, { '*', 'a.b', false },
    { '*.*', 'a.b', true }, { '*.*', 'a', false }, { '*.*', 'a.b.c', false },
    { 'a.**', 'a.b', true }, { 'a.**', 'a.b.c.d', true }, { 'a.**', 'a', false }, { 'a.**', 'ab.c', false },
    { '**', 'a', true }, { '**', 'a.b.c', true },
    { '*.**', 'a', false }, { '*.**', 'a.b', true },
    { 'a.*.**', 'a.b', false }, { 'a.*.**', 'a.b.c', true },
    { '会员.入会', '会员.入会', true }, { '会员.入会', '会员.入', false }, { '会员.入会', '会员.退会', false },
    { '会员.*', '会员.入会', true }, { '会员.*', '会员', false }, { '会员.*', '会员.奖励.发放', false },
    { '会员.**', '会员.奖励.发放', true }, { '*.入会', '会员.入会', true }, { '*.入会', '职工.入会', true },
    { '会.*', '会员.入会', false }, { '会员.*.发放', '会员.奖励.发放', true },
    { 'award.issued', 'award.issued', true }, { 'award.*', 'award.issued', true },
  }
  for _, c in ipairs(cases) do
    local pattern, topic, want = c[1], c[2], c[3]
    local hit = false
    with_handler(pattern, function() hit = true end, function() bus.emit(topic, 0) end)
    t.eq(hit, want, ('on(%q) with bus.emit(%q)'):format(pattern, topic))
    hit = false
    with_handler(pattern, function() hit = true end, function() bus.publish(topic, 0) end)
    t.eq(hit, want, ('on(%q) with bus.publish(%q)'):format(pattern, topic))
  end
  -- the same matching selects events from the log
  local from = bus.last() + 1
  for _, topic in ipairs{ '会员.入会', '会员.退会', '会员.奖励.发放', '职工.入会', '会员' } do
    bus.publish(topic, topic)
  end
  local function topics(pattern)
    local out = {}
    for _, e in ipairs(bus.events{ from = from, topic = pattern }) do out[#out + 1] = e.topic end
    return out
  end
  t.eq(topics('会员.*'), { '会员.入会', '会员.退会' })
  t.eq(topics('会员.**'), { '会员.入会', '会员.退会', '会员.奖励.发放' })
  t.eq(topics('*.入会'), { '会员.入会', '职工.入会' })
  t.eq(topics('会员'), { '会员' })
  t.eq(topics('nothing.*'), {})
end)

case('bus.events: from, topic and limit', function()
  local from = bus.last() + 1
  for i = 1, 10 do bus.publish(i % 2 == 0 and 'ev.even' or 'ev.odd', i) end
  local function payloads(q)
    local out = {}
    for _, e in ipairs(bus.events(q)) do out[#out + 1] = e.payload end
    return out
  end
  t.eq(payloads{ from = from }, { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10 })
  t.eq(payloads{ from = from, limit = 3 }, { 1, 2, 3 })
  t.eq(payloads{ from = from, topic = 'ev.even' }, { 2, 4, 6, 8, 10 })
  t.eq(payloads{ from = from, topic = 'ev.*', limit = 4 }, { 1, 2, 3, 4 })
  t.eq(payloads{ from = from + 7 }, { 8, 9, 10 })
  t.eq(payloads{ from = bus.last() + 1 }, {})
  local all = bus.events()
  t.eq(all[1].seq, 1, 'without from: the whole log')
  t.eq(all[#all].seq, bus.last())
  for i = 2, #all do
    if all[i].seq ~= all[i - 1].seq + 1 then error('the log has a gap after ' .. all[i - 1].seq) end
  end
  t.raises_all(function() bus.events{ topic = 'ev..x' } end, { 'bus.events', 'empty segment' })
  -- publish remembers the last topic that passed its check: others are still checked
  db.atomic(function()
    bus.publish('ev.ok', 1)
    t.raises_all(function() bus.publish('ev.ok.', 1) end, { 'bus.publish', 'empty segment' })
    t.raises_all(function() bus.publish('', 1) end, { 'bus.publish' })
    t.raises_all(function() bus.publish('ev.o k', 1) end, { 'bus.publish' })
    bus.publish('ev.ok', { a = 'x', b = true, n = -1, f = 0.5 })
  end)
  t.eq(bus.events{ topic = 'ev.ok' }[2].payload, { a = 'x', b = true, n = -1, f = 0.5 })
end)

case('bus.emit calls the handlers and logs nothing', function()
  local got = {}
  local before = bus.last()
  local fn = function() end
  with_handler('signal.*', function(...) got[#got + 1] = { ... } end, function()
    bus.emit('signal.ping', { n = 1 })
    bus.emit('signal.pong', 2)
    bus.emit('other.ping', 3)
    -- nothing is stored, so a payload that could not be stored is fine
    bus.emit('signal.fn', fn)
  end)
  t.eq(bus.last(), before, 'emit does not append to the log')
  t.eq(#got, 3)
  -- handlers of emit receive the payload itself and the topic (no event table is made)
  t.eq(got[1], { { n = 1 }, 'signal.ping' })
  t.eq(got[2], { 2, 'signal.pong' })
  t.ok(rawequal(got[3][1], fn), 'the very payload value is passed')
  -- emit inside db.atomic: handlers run, nothing logged, their writes commit with the unit
  clear_notes()
  with_handler('signal.write', function(p) N:insert{ what = 'emitted', n = p } end, function()
    db.atomic(function() bus.emit('signal.write', 5) end)
  end)
  t.eq(bus.last(), before)
  t.eq(N:count{ what = 'emitted' }, 1)
  -- a bad topic, and a failing handler, are errors as for publish
  t.raises_all(function() bus.emit('signal..x', 1) end, { 'bus.emit', 'empty segment' })
  local err = t.raises(function()
    with_handler('signal.bad', function() error('emit handler broke') end, function()
      bus.emit('signal.bad', 1)
    end)
  end)
  t.ok(err:find("bus handler for 'signal.bad'", 1, true) and err:find('emit handler broke', 1, true), err)
  clear_notes()
end)

case('an event published in a db.atomic that fails is not in the log, and its handlers\' writes are gone', function()
  clear_notes()
  local before = bus.last()
  local ran = 0
  with_handler('pay.*', function(ev)
    ran = ran + 1
    N:insert{ what = 'handler', n = ev.payload }
  end, function()
    local snap = t.snapshot()
    t.raises(function()
      db.atomic(function()
        N:insert{ what = 'body', n = 1 }
        local seq = bus.publish('pay.in', 10)
        t.eq(seq, before + 1)
        bus.publish('pay.out', 20)
        -- inside the unit the events and the handler's writes are visible
        t.eq(#bus.events{ from = before + 1 }, 2)
        t.eq(N:count{ what = 'handler' }, 2)
        error('the unit fails')
      end)
    end, 'the unit fails')
    t.eq(ran, 2, 'the handlers ran inside the unit')
    t.eq(bus.last(), before, 'no event of the failed unit is in the log')
    t.eq(#bus.events{ from = before + 1 }, 0)
    t.eq(t.snapshot(), snap, 'the handlers\' writes and the body\'s are gone')
    -- the next event takes the next number; the log has no gap
    local seq = bus.publish('pay.in', 30)
    t.eq(seq, before + 1)
    t.eq(N:count{ what = 'handler' }, 1)

    -- a savepoint: the inner unit's event is rolled back alone
    clear_notes()
    local last0 = bus.last()
    db.atomic(function()
      bus.publish('pay.in', 1)
      local ok = pcall(db.atomic, function()
        bus.publish('pay.in', 2)
        error('inner fails')
      end)
      t.eq(ok, false)
      bus.publish('pay.in', 3)
    end)
    local got = {}
    for _, e in ipairs(bus.events{ from = last0 + 1 }) do got[#got + 1] = e.payload end
    t.eq(got, { 1, 3 })
    t.eq(t.keys(N, nil, 'n'), { 1, 3 })
    local seqs = {}
    for _, e in ipairs(bus.events{ from = last0 + 1 }) do seqs[#seqs + 1] = e.seq end
    t.eq(seqs, { last0 + 1, last0 + 2 }, 'sequence numbers without gaps')
  end)
  clear_notes()
end)

case('publish outside db.atomic is one unit with its handlers\' writes', function()
  clear_notes()
  local before = bus.last()
  with_handler('solo.*', function(ev)
    N:insert{ what = 'first', n = ev.payload }
    if ev.payload == 2 then error('second write refused') end
  end, function()
    bus.publish('solo.ok', 1)
    t.eq(N:count(), 1)
    t.eq(bus.last(), before + 1)
    t.raises(function() bus.publish('solo.bad', 2) end, 'second write refused')
    t.eq(N:count(), 1, 'the failing handler\'s write before its error is gone too')
    t.eq(bus.last(), before + 1, 'and so is the event')
  end)
  clear_notes()
end)

case('a handler error names the topic and the handler\'s file:line, and rolls everything back', function()
  clear_notes()
  local before = bus.last()
  local snap = t.snapshot()
  local good = on('claim.filed', function(ev) N:insert{ what = 'good', n = ev.payload } end)
  local bad = on('claim.*', function(ev) error('claim ' .. ev.payload .. ' is refused') end)
  local err = t.raises(function()
    db.atomic(function()
      N:insert{ what = 'body' }
      bus.publish('claim.filed', 42)
    end)
  end)
  off(bad)
  off(good)
  t.ok(err:find("bus handler for 'claim.filed'", 1, true), 'names the topic: ' .. err)
  t.ok(err:find('claim 42 is refused', 1, true), 'keeps the handler\'s message: ' .. err)
  -- the handler is one line, so where it is defined is where it raised
  local line = err:match('bus%.lua:(%d+): claim 42')
  t.ok(line and err:find('bus.lua:' .. line .. ')', 1, true), 'names the handler\'s file:line: ' .. err)
  t.eq(bus.last(), before, 'the event is not in the log')
  t.eq(t.snapshot(), snap, 'the good handler\'s write and the body\'s are gone')

  -- deeper in a cascade: the failing handler of the inner event is named, all is undone
  local h1 = on('chain.start', function(ev) N:insert{ what = 'start' }; bus.publish('chain.next', ev.payload) end)
  local h2 = on('chain.next', function(ev) error('the inner one fails') end)
  err = t.raises(function() bus.publish('chain.start', 1) end)
  off(h1)
  off(h2)
  t.ok(err:find("bus handler for 'chain.next'", 1, true), 'names the inner topic: ' .. err)
  t.ok(err:find('the inner one fails', 1, true), err)
  t.eq(bus.last(), before)
  t.eq(t.snapshot(), snap)

  -- a handler that catches its own errors does not fail the unit
  local h3 = on('claim.filed', function(ev)
    local ok = pcall(error, 'caught')
    N:insert{ what = 'caught', n = ok and 1 or 0 }
  end)
  bus.publish('claim.filed', 1)
  off(h3)
  t.eq(N:count{ what = 'caught' }, 1)
  t.eq(bus.last(), before + 1)
  clear_notes()
end)

case('a cascade deeper than the limit stops with a clear error and is rolled back', function()
  clear_notes()
  local before = bus.last()
  local snap = t.snapshot()
  -- a handler that publishes its own topic again: an endless cascade
  local loop = on('loop.again', function(ev)
    N:insert{ what = 'loop', n = ev.payload }
    bus.publish('loop.again', ev.payload + 1)
  end)
  local err = t.raises(function() bus.publish('loop.again', 1) end)
  t.ok(err:find('cascade', 1, true) and err:find('deeper than', 1, true), 'says it is a cascade: ' .. err)
  t.ok(err:find('loop.again', 1, true), 'names the topic: ' .. err)
  t.eq(bus.last(), before, 'no event of the cascade is logged')
  t.eq(t.snapshot(), snap, 'no write of the cascade is kept')
  -- the same inside db.atomic under pcall: only that unit is undone, the bus works on
  local ok = pcall(db.atomic, function() bus.publish('loop.again', 1) end)
  t.eq(ok, false)
  off(loop)
  t.eq(bus.last(), before)

  -- emit cascades are limited too
  local eloop = on('eloop.x', function(p) bus.emit('eloop.x', p + 1) end)
  err = t.raises(function() bus.emit('eloop.x', 1) end)
  off(eloop)
  t.ok(err:find('cascade', 1, true), err)

  -- after the errors, a cascade within the limit works: a.1 -> a.2 -> ... -> a.10
  local seen = {}
  local step = on('step.*', function(ev)
    seen[#seen + 1] = ev.payload
    N:insert{ what = 'step', n = ev.payload }
    if ev.payload < 10 then bus.publish('step.' .. (ev.payload + 1), ev.payload + 1) end
  end)
  bus.publish('step.1', 1)
  off(step)
  t.eq(seen, { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10 })
  t.eq(N:count{ what = 'step' }, 10)
  local topics = {}
  for _, e in ipairs(bus.events{ from = before + 1 }) do topics[#topics + 1] = e.topic end
  t.eq(topics, { 'step.1', 'step.2', 'step.3', 'step.4', 'step.5', 'step.6', 'step.7', 'step.8', 'step.9',
                 'step.10' }, 'cascaded events are logged in the order they were published')
  clear_notes()
end)

case('bad topics are refused before anything is written', function()
  local calls = 0
  local h = on('**', function() calls = calls + 1 end)
  local bad = {
    { '', 'topic' }, { 'a..b', 'empty segment' }, { '.a', 'empty segment' }, { 'a.', 'empty segment' },
    { '.', 'empty segment' }, { 'a*', "'*'" }, { 'a.*', "'*'" }, { 'a.**', "'*'" }, { 'a b', 'a b' },
    { 'a\nb', 'topic' }, { 'a\tb', 'topic' }, { 'a\0b', 'topic' }, { string.rep('x', 201), 'topic' },
    { '会员..入会', 'empty segment' },
  }
  for _, c in ipairs(bad) do
    nothing_written(function() bus.publish(c[1], 1) end, { 'bus.publish', c[2] },
                    ('bus.publish(%q)'):format(c[1]))
    nothing_written(function() db.atomic(function() N:insert{ what = 'x' }; bus.publish(c[1], 1) end) end,
                    { 'bus.publish' }, ('bus.publish(%q) in db.atomic'):format(c[1]))
    t.raises_all(function() bus.emit(c[1], 1) end, { 'bus.emit' }, ('bus.emit(%q)'):format(c[1]))
  end
  for _, v in ipairs{ {}, true, print } do
    nothing_written(function() bus.publish(v, 1) end, {}, 'a topic of type ' .. type(v))
  end
  nothing_written(function() bus.publish() end, {}, 'no topic')
  -- the longest topic allowed
  local long = string.rep('y', 200)
  local seq = bus.publish(long, 1)
  t.eq(bus.events{ from = seq }[1].topic, long)
  off(h)
  t.eq(calls, 1, 'no handler saw a refused topic')
end)

case('bad patterns are refused', function()
  local bad = { '', 'a..b', '.a', 'a.', 'a*', '*a', 'a.b*', 'a.***', '**.a', 'a.**.b', '**.**', 'a b',
                'a\nb', string.rep('x', 201) }
  for _, p in ipairs(bad) do
    t.raises_all(function() on(p, function() end) end, { 'bus.on' }, ('bus.on(%q)'):format(p))
    t.raises_all(function() bus.events{ topic = p } end, { 'bus.events' }, ('bus.events{topic=%q}'):format(p))
  end
  t.raises(function() on({}, function() end) end)
  t.raises(function() on('a.b') end, 'function')
  t.raises(function() on('a.b', 'not a function') end, 'function')
  -- a refused pattern registers nothing
  local calls = 0
  pcall(bus.on, 'a..b', function() calls = calls + 1 end)
  bus.emit('a.b', 1)
  t.eq(calls, 0)
end)

case('payloads that cannot be stored are refused before anything is written', function()
  local calls = 0
  local h = on('pay.**', function() calls = calls + 1 end)
  local cyc = { name = 'loop' }
  cyc.self = cyc
  local deep_cycle = { a = { b = { c = {} } } }
  deep_cycle.a.b.c.back = deep_cycle
  local deep = {}
  local cur = deep
  for _ = 1, 100 do cur.next = {}; cur = cur.next end
  local bad = {
    { print, 'function' },
    { function() end, 'function' },
    { { ok = 1, f = function() end }, 'function' },
    { { 1, 2, { 3, print } }, 'function' },
    { coroutine.create(function() end), 'thread' },
    { io.stdout, 'userdata' },
    { { file = io.stdout }, 'userdata' },
    { cyc, 'cannot be stored' },
    { deep_cycle, 'cannot be stored' },
    { deep, 'cannot be stored' },
  }
  for i, c in ipairs(bad) do
    nothing_written(function() bus.publish('pay.bad', c[1]) end, { 'bus.publish', 'pay.bad', c[2] },
                    'bad payload ' .. i)
    nothing_written(function()
      db.atomic(function()
        N:insert{ what = 'before' }
        bus.publish('pay.ok', 1)
        bus.publish('pay.bad', c[1])
      end)
    end, { 'cannot be stored' }, 'bad payload ' .. i .. ' in db.atomic')
  end
  off(h)
  t.eq(calls, #bad, 'only the good events of the failed units reached a handler')
  clear_notes()
end)

case('scripts cannot write the bus\'s own collections', function()
  local seq = bus.publish('sys.guard', 1)
  local before = bus_state()
  t.raises(function() db.define('_events', { fields = { a = 'int' } }) end)
  t.raises(function() db.drop('_events') end)
  -- the log is written only by bus.publish: no forged, changed or deleted events
  local writes = {
    { 'db._events:insert', function() return db._events:insert{ topic = 'forged.event', time = 0, origin = 'x' } end },
    { 'db._events:put', function() return db._events:put{ seq = seq, topic = 'forged.event', time = 0, origin = 'x' } end },
    { 'db._events:update', function() return db._events:update(seq, { topic = 'changed.topic' }) end },
    { 'db._events:delete', function() return db._events:delete(seq) end },
    { 'db._consumers:put', function() return db._consumers:put{ name = 'forged', pattern = 'a.*', cursor = 0, updated = 0 } end },
    { 'db._dead:insert', function() return db._dead:insert{ consumer = 'x', seq = 1, topic = 'a', time = 0, error = 'e', attempts = 1 } end },
  }
  local allowed = {}
  for _, w in ipairs(writes) do
    if pcall(w[2]) then allowed[#allowed + 1] = w[1] end
  end
  t.eq(allowed, {}, 'writes to the system collections that were not refused')
  t.eq(bus_state(), before, 'the log, the consumers and the dead letters are as the bus left them')
end)

t.case('a handler is named by its label, or its file:line', function()
  local a = bus.on('label.test', function() error('no stock', 0) end, { label = 'gift stock' })
  t.raises(function() bus.emit('label.test', {}) end,
           "bus handler for 'label.test' %(gift stock%) failed: no stock")
  bus.off(a)
  local b = bus.on('label.test', function() error('no stock', 0) end)
  t.raises(function() bus.emit('label.test', {}) end,
           "bus handler for 'label.test' %(.*bus.lua:%d+%) failed: no stock")
  bus.off(b)
  local c = bus.on('label.test', string.rep)
  t.raises(function() bus.emit('label.test', {}) end,
           "bus handler for 'label.test' %(a C function%) failed")
  bus.off(c)
end)

t.case('bus.emit calls its handlers unprotected, yet names a failing one wherever it is caught', function()
  -- (issue 18, W5: emit's dispatch is Lua with no pcall per event; the
  -- message handlers of pcall, xpcall, db.atomic and the runner name the
  -- handler at the moment of the error)
  local a = bus.on('name.x', function() error('no stock', 0) end, { label = 'gift stock' })
  local want = "bus handler for 'name.x' %(gift stock%) failed: no stock"
  t.raises(function() bus.emit('name.x', 1) end, want)                   -- pcall
  local ok, err = xpcall(bus.emit, function(e) return 'via xpcall: ' .. e end, 'name.x', 1)
  t.eq(ok, false)
  t.ok(err:find('via xpcall: bus handler for', 1, true) and err:find('gift stock', 1, true), err)
  err = t.raises(function() db.atomic(function() bus.emit('name.x', 1) end) end)
  t.ok(select(2, err:gsub("bus handler for 'name.x'", '')) == 1 and err:find('gift stock', 1, true), err)
  bus.off(a)

  -- a handler that tail-calls the function that fails is still the one named
  local function fail(p) error('tail ' .. p, 0) end
  local b = bus.on('name.tail', function(p) return fail(p) end, { label = 'tail caller' })
  t.raises(function() bus.emit('name.tail', 7) end,
           "bus handler for 'name.tail' %(tail caller%) failed: tail 7")
  bus.off(b)

  -- an error a handler catches itself is its own: not renamed, and emit goes on
  local caught = {}
  local c = bus.on('name.own', function(p)
    local ok1, e1 = pcall(error, 'inner ' .. p, 0)
    local ok2, e2 = pcall(db.atomic, function() error('atomic ' .. p, 0) end)
    caught[#caught + 1] = { ok1, e1, ok2, e2 }
  end)
  local d = bus.on('name.own', function(p) caught[#caught + 1] = p end)
  bus.emit('name.own', 3)
  t.eq(caught, { { false, 'inner 3', false, 'atomic 3' }, 3 })
  bus.off(c)
  bus.off(d)

  -- the inner handler of a cascade is the one named
  local outer = bus.on('name.outer', function(p) bus.emit('name.inner', p) end, { label = 'outer' })
  local inner = bus.on('name.inner', function() error('deep', 0) end, { label = 'inner' })
  t.raises(function() bus.emit('name.outer', 1) end,
           "bus handler for 'name.inner' %(inner%) failed: deep$")
  bus.off(outer)
  bus.off(inner)

  -- errors that left emit unwound past its depth count: many of them later,
  -- a cascade within the limit still runs, and one past it is still refused
  local e = bus.on('name.fail', function() error('x', 0) end)
  for _ = 1, 3 * 16 do t.eq(pcall(bus.emit, 'name.fail', 1), false) end
  bus.off(e)
  local levels = 0
  local step = bus.on('name.step', function(p)
    levels = math.max(levels, p)
    if p < 15 then bus.emit('name.step', p + 1) end
  end)
  bus.emit('name.step', 1)
  t.eq(levels, 15, 'a cascade of 15 emits after 48 failed ones')
  bus.off(step)
  local loop = bus.on('name.loop', function(p) bus.emit('name.loop', p + 1) end)
  t.raises(function() bus.emit('name.loop', 1) end, 'cascade')
  bus.off(loop)

  -- handlers added or removed while an emit runs: that emit keeps its list
  local order = {}
  local late
  local first = bus.on('name.change', function(p)
    order[#order + 1] = 'first'
    if p == 2 then late = bus.on('name.change', function() order[#order + 1] = 'late' end) end
  end)
  for p = 1, 3 do bus.emit('name.change', p) end
  t.eq(order, { 'first', 'first', 'first', 'late' })
  bus.off(first)
  bus.off(late)
end)

case('bus.emit: each topic and cascade level has its dispatcher; arguments, order, limits as before', function()
  -- (issue 18, W5: a dispatcher compiled per topic calls the handlers with
  -- no loop; one of one parameter is given the payload alone, which is all
  -- it can see)
  local got = {}
  local function note(...) got[#got + 1] = table.pack(...) end
  local ids = {
    on('arg.*', function() got[#got + 1] = 'none' end),
    on('arg.*', function(p) got[#got + 1] = { 'one', p } end),
    on('arg.x', function(p, topic) got[#got + 1] = { 'two', p, topic } end),
    on('arg.*', function(...) note('vararg', ...) end),
    on('arg.x', function(p, ...) note('p+vararg', p, ...) end),
    on('**', rawequal), -- a C function: gets both (rawequal wants two)
  }
  bus.emit('arg.x', 5)
  t.eq(got, { 'none', { 'one', 5 }, { 'two', 5, 'arg.x' }, { 'vararg', 5, 'arg.x', n = 3 },
              { 'p+vararg', 5, 'arg.x', n = 3 } }, 'every handler, in the order registered')
  got = {}
  bus.emit('arg.y', nil)
  t.eq(got, { 'none', { 'one' }, { 'vararg', nil, 'arg.y', n = 3 } }, 'a topic with fewer handlers')
  got = {}
  bus.emit('nobody.listens', 1)
  t.eq(got, {}, 'a topic no pattern matches')
  for _, id in ipairs(ids) do off(id) end

  -- more handlers than one dispatcher unrolls (12): a loop, the same order
  local many, order = {}, {}
  for i = 1, 20 do many[i] = on('many.x', function(p) order[#order + 1] = i * p end) end
  bus.emit('many.x', 1)
  bus.emit('many.x', 2)
  local want = {}
  for i = 1, 20 do want[i] = i end
  for i = 1, 20 do want[20 + i] = 2 * i end
  t.eq(order, want)
  off(many[17])
  many[17] = on('many.x', function() error('the seventeenth broke', 0) end, nil)
  t.raises(function() bus.emit('many.x', 1) end,
           "bus handler for 'many.x' %(.*bus.lua:%d+%) failed: the seventeenth broke")
  for _, id in ipairs(many) do off(id) end

  -- the failing handler is named by its place among the topic's handlers
  local a = on('nth.x', function() end)
  local b = bus.on('nth.x', function(p) if p == 2 then error('second', 0) end end, { label = 'second one' })
  local c = bus.on('nth.x', function(p) if p == 3 then error('third', 0) end end, { label = 'third one' })
  t.raises(function() bus.emit('nth.x', 2) end, "bus handler for 'nth.x' %(second one%) failed: second$")
  t.raises(function() bus.emit('nth.x', 3) end, "bus handler for 'nth.x' %(third one%) failed: third$")
  off(a); bus.off(b); bus.off(c)

  -- the cascade limit: 16 levels run, the 17th is refused, again and again
  -- (levels left high by errors are counted again), and a first emit of a
  -- topic deep in a cascade finds its handlers
  local deepest = 0
  local loop = on('deep.x', function(p)
    deepest = math.max(deepest, p)
    bus.emit('deep.x', p + 1)
  end)
  for round = 1, 3 do
    deepest = 0
    local err = t.raises(function() bus.emit('deep.x', 1) end, 'cascade')
    t.ok(err:find("deeper than 16 levels at 'deep.x'", 1, true), err)
    t.eq(deepest, 16, 'levels run before the refusal, round ' .. round)
  end
  off(loop)
  local fresh = 0
  local relay = on('relay.x', function(p)
    if p < 12 then bus.emit('relay.x', p + 1) else bus.emit('relay.end', p) end
  end)
  local last = on('relay.end', function(p) fresh = p end)
  bus.emit('relay.x', 1)
  t.eq(fresh, 12, 'a topic emitted for the first time 12 levels down')
  off(relay); off(last)

  -- a handler removed while an emit runs is still called by that emit, not by the next
  local seen = {}
  local second
  local first = on('rm.x', function(p) seen[#seen + 1] = 'first' .. p; if p == 1 then off(second) end end)
  second = on('rm.x', function(p) seen[#seen + 1] = 'second' .. p end)
  bus.emit('rm.x', 1)
  bus.emit('rm.x', 2)
  t.eq(seen, { 'first1', 'second1', 'first2' })
  off(first)

  -- batch handlers still take the C emit; a plain handler's cascade into them counts
  local batches = {}
  local bh = bus.on('batch.x', function(list) batches[#batches + 1] = list end, { batch = true })
  local ph = on('plain.x', function(p) bus.emit('batch.x', p) end)
  bus.emit('plain.x', 4)
  t.eq(batches, { { 4 } })
  bus.off(bh); off(ph)

  -- a handler may yield: emit is Lua to the handler, even on a topic's first emit
  local steps = {}
  local y = on('yield.x', function(p) steps[#steps + 1] = 'before' .. p; coroutine.yield(p); steps[#steps + 1] = 'after' .. p end)
  for _, p in ipairs{ 1, 2 } do
    local co = coroutine.wrap(function() bus.emit('yield.x', p); return 'done' end)
    t.eq(co(), p)
    t.eq(co(), 'done')
  end
  t.eq(steps, { 'before1', 'after1', 'before2', 'after2' })
  off(y)

  -- what is not a topic
  for _, v in ipairs{ 42, true, {}, 0 / 0 } do
    t.raises(function() bus.emit(v, 1) end, 'bus.emit: ')
  end
  t.raises(function() bus.emit(nil, 1) end, 'bus.emit: ')
end)

t.case('bus.fields: the names of a topic\'s array payloads, kept in the database', function()
  t.eq(bus.fields('fields.t'), nil, 'a topic that declares none')
  bus.fields('fields.t', { 'program', 'member_id', 'fen' })
  t.eq(bus.fields('fields.t'), { 'program', 'member_id', 'fen' })
  bus.fields('fields.t', { 'program', 'member_id', 'fen' }) -- the same again: nothing written
  bus.fields('fields.t', { 'member_id' })                   -- a publisher that reorders declares again
  t.eq(bus.fields('fields.t'), { 'member_id' })
  t.raises(function() bus.fields('fields.t', { 'a', 2 }) end, 'not a string')
  t.raises(function() bus.fields('bad..topic', { 'a' }) end, 'bus.fields')
  local many = {}
  for i = 1, 65 do many[i] = 'f' .. i end
  t.raises(function() bus.fields('fields.t', many) end, 'at most 64')
  t.eq(bus.fields('fields.t'), { 'member_id' }, 'a refused declaration changes nothing')
  -- the framework declares its compact event's order (program.EVENT_FIELDS, its one home)
  local program = require 'program'
  program.define_collections()
  t.eq(bus.fields(program.EVENT), program.EVENT_FIELDS)
end)

t.done()
