-- insert_select.lua — coll:insert_select{...} (core/lua_select.c): a prepared
-- insert for every row of a scan, in C, with an event per record; the same
-- records and events as the Lua loop; resumable; a refusal stores nothing.
local t = require 'testlib'

db.define('people', {
  key = 'pid',
  fields = { pid = 'int', name = 'string', town = 'string?', hh = 'string?', born = 'date?',
             score = 'number?', tags = 'any?', code = 'string?' },
  index = { 'town' },
})
local gift_spec = {
  key = 'gid', auto = true,
  fields = { gid = 'int', pid = 'int', town = 'string?', hh = 'string?', item = 'string', fen = 'fen',
             code = 'string?', note = 'any?' },
  unique = { 'code' },
}
db.define('gifts', gift_spec)
db.define('gifts_ref', gift_spec)
db.define('watched', { key = 'wid', auto = true, events = true, fields = { wid = 'int', pid = 'int', item = 'string' } })

db.atomic(function()
  for i = 1, 40 do
    db.people:insert{ pid = i, name = 'p' .. i, town = ({ 'A', 'B', 'C', nil })[i % 4 + 1],
                      hh = i % 3 == 0 and ('h' .. i) or nil, born = '1990-01-01', score = i / 2,
                      tags = i % 5 == 0 and { 'x' } or 'plain', code = i % 7 == 0 and 'dup' or ('c' .. i) }
  end
end)

local function evs(topic)
  local out = {}
  for _i, e in ipairs(bus.events{ from = 1, topic = topic }) do out[#out + 1] = e.payload end
  return out
end

t.case('the same records and events as the loop of prepared inserts', function()
  local ins = db.gifts_ref:prepare_insert({ item = 'cake', fen = 500 }, 'pid', 'town', 'hh')
  db.atomic(function()
    for m in db.people:scan{ town = { 'A', 'B' } } do
      local id = ins(m.pid, m.town, m.hh or ('m' .. m.pid))
      bus.publish('ref.given', { id, m.pid, m.hh or false, 500 })
    end
  end)
  local n, last, lastnew = db.gifts:insert_select{
    from = db.people, where = { town = { 'A', 'B' } }, set = { item = 'cake', fen = 500 },
    take = { pid = 'pid', town = 'town', hh = { 'hh', or_key = 'm' } },
    publish = { topic = 'gift.given', fields = { 'gid', 'pid', 'hh', 'fen' } } }
  t.eq(n, 20)
  t.eq(last, 40, 'the last source key visited')
  t.eq(lastnew, 20, 'the last new key')
  t.eq(db.gifts:list(), db.gifts_ref:list(), 'the same records (the household of one: m..pid)')
  t.eq(evs('gift.given'), evs('ref.given'), 'the same payloads (a defaulted value published as nil: false)')
end)

t.case('publish: one name is the bare value; trailing nils are left out', function()
  db.atomic(function()
    local n = db.gifts:insert_select{ from = db.people, where = { town = 'C' }, set = { item = 'x', fen = 1 },
                                      take = { pid = 'pid', town = 'town' },
                                      publish = { topic = 'gift.bare', fields = 'pid' } }
    t.eq(n, 10)
    n = db.gifts:insert_select{ from = db.people, where = { town = 'C' }, set = { item = 'y', fen = 2 },
                                take = { pid = 'pid' }, publish = { topic = 'gift.arr', fields = { 'pid', 'hh', 'town' } } }
    t.eq(n, 10)
  end)
  local bare = evs('gift.bare')
  t.eq(bare[1], 2)
  t.eq(#bare, 10)
  t.eq(evs('gift.arr')[1], { 2 }, 'nil household and town: left out')
  db.atomic(function()
    for _i, g in ipairs(db.gifts:list{ item = { 'x', 'y' } }) do db.gifts:delete(g.gid) end
  end)
end)

t.case('after and limit resume a grant in batches (one transaction each)', function()
  db.define('batched', gift_spec)
  local after, total, batches = nil, 0, 0
  repeat
    local n, last = db.batched:insert_select{ from = db.people, where = { town = { 'A', 'B' } },
                                              set = { item = 'b', fen = 1 }, take = { pid = 'pid' },
                                              after = after, limit = 3 }
    total, after, batches = total + n, last, batches + 1
  until n < 3
  t.eq(total, 20)
  t.eq(batches, 7)
  local pids = {}
  for g in db.batched:scan() do pids[#pids + 1] = g.pid end
  local want = {}
  for m in db.people:scan{ town = { 'A', 'B' } } do want[#want + 1] = m.pid end
  t.eq(pids, want, 'each once, in key order')
  t.eq(db.batched:insert_select{ from = db.people, set = { item = 'b', fen = 1 }, take = { pid = 'pid' }, limit = 0 }, 0)
  t.raises(function()
    db.batched:insert_select{ from = db.people, where = { index = 'town', eq = 'A' }, set = { item = 'b', fen = 1 },
                              take = { pid = 'pid' }, after = 3 }
  end, 'key order')
end)

t.case('a duplicate refused midway stores nothing (own transaction, and in db.atomic under pcall)', function()
  db.define('coded', gift_spec)
  local before = #bus.events{ from = 1 }
  t.raises(function()
    db.coded:insert_select{ from = db.people, set = { item = 'c', fen = 1 }, take = { pid = 'pid', code = 'code' },
                            publish = { topic = 'coded.x', fields = 'gid' } }
  end, 'dup')
  t.eq(db.coded:count(), 0)
  db.atomic(function()
    db.coded:insert{ pid = 99, item = 'kept', fen = 1 }
    local ok = pcall(db.coded.insert_select, db.coded, { from = db.people, set = { item = 'c', fen = 1 },
                     take = { pid = 'pid', code = 'code' }, publish = { topic = 'coded.x', fields = 'gid' } })
    t.eq(ok, false)
    t.eq(db.coded:count(), 1, 'only the caller\'s own insert')
  end)
  t.eq(#bus.events{ from = 1 }, before, 'no event of the refused call')
  t.eq(db.coded:count(), 1)
end)

t.case('change events of a collection with events on', function()
  local seen = {}
  bus.on('watched.*', function(ev) seen[#seen + 1] = ev.payload end)
  local n = db.watched:insert_select{ from = db.people, where = { town = 'A' }, set = { item = 'w' }, take = { pid = 'pid' } }
  t.eq(n, 10)
  t.eq(#seen, 10)
  t.eq(#bus.events{ from = 1, topic = 'watched.inserted' }, 10)
  db.atomic(function()
    local n2 = db.watched:insert_select{ from = db.people, where = { town = 'B' }, set = { item = 'w' }, take = { pid = 'pid' } }
    t.eq(n2, 10)
  end)
  t.eq(#seen, 20)
end)

t.case('a bus.on handler failing midway stores nothing of the call (in db.atomic under pcall)', function()
  db.define('handled', { key = 'hid', auto = true, fields = { hid = 'int', pid = 'int', item = 'string' } })
  local seen = 0
  local h = bus.on('handled.given', function()
    seen = seen + 1
    if seen == 3 then error('the third one fails') end
  end)
  db.atomic(function()
    db.handled:insert{ pid = 99, item = 'kept' }
    local ok, err = pcall(db.handled.insert_select, db.handled, { from = db.people, set = { item = 'h' },
                          take = { pid = 'pid' }, publish = { topic = 'handled.given', fields = 'hid' } })
    t.eq(ok, false)
    t.ok(tostring(err):find('the third one fails', 1, true), tostring(err))
    t.eq(db.handled:count(), 1, 'only the caller\'s own insert')
  end)
  bus.off(h)
  t.eq(db.handled:count(), 1)
  t.eq(#bus.events{ from = 1, topic = 'handled.given' }, 0, 'no event of the failed call')
end)

t.case('types, defaults and missing values', function()
  db.define('typed', { key = 'k', auto = true, fields = { k = 'int', s = 'string', n = 'number?', d = 'date?', any = 'any?' } })
  t.raises(function()
    db.typed:insert_select{ from = db.people, take = { s = 'pid' } }
  end, 'cannot take')
  t.raises(function()
    db.typed:insert_select{ from = db.people, take = { s = 'tags' } }   -- some are tables
  end, 'cannot take the value')
  t.eq(db.typed:count(), 0)
  t.raises(function()
    db.typed:insert_select{ from = db.people, take = { s = 'hh' } }     -- some are nil, s is required
  end, 'missing')
  t.eq(db.typed:count(), 0)
  local n = db.typed:insert_select{ from = db.people, take = { s = { 'hh', default = '-' }, n = 'score', d = 'born', any = 'tags' } }
  t.eq(n, 40)
  t.eq(db.typed:get(1), { k = 1, s = '-', n = 0.5, d = '1990-01-01', any = 'plain' })
  t.eq(db.typed:get(3).s, 'h3')
  t.eq(db.typed:get(5).any, { 'x' })
end)

t.case('bad calls are refused clearly', function()
  t.raises(function() db.gifts:insert_select{ from = db.gifts, take = { pid = 'pid' } } end, 'another')
  t.raises(function() db.gifts:insert_select{ from = 'people' } end, 'from')
  t.raises(function() db.gifts:insert_select{ from = db.people, wher = {} } end, 'unknown option')
  t.raises(function() db.gifts:insert_select{ from = db.people, take = { nope = 'pid' } } end, 'nope')
  t.raises(function() db.gifts:insert_select{ from = db.people, take = { pid = 'nope' } } end, 'nope')
  t.raises(function() db.gifts:insert_select{ from = db.people, set = { fen = 1 }, take = { pid = 'pid' } } end, 'item')
  t.raises(function()
    db.gifts:insert_select{ from = db.people, set = { item = 'q', fen = 1 }, take = { pid = 'pid' }, publish = { topic = 'bad topic' } }
  end, 'topic')
  t.raises(function()
    db.gifts:insert_select{ from = db.people, set = { item = 'q', fen = 1 }, take = { pid = 'pid' },
                            publish = { topic = 'a.b', fields = { 'nope' } } }
  end, 'nope')
  t.raises(function() db._events:insert_select{ from = db.people } end, 'gonghui itself')
  t.raises(function() db.gifts:insert_select{ from = db.people, where = { nope = 1 }, set = { item = 'q', fen = 1 }, take = { pid = 'pid' } } end, 'nope')
end)

t.done()
