-- rows.lua — the rows a scan yields: fields read like a table's, read-only,
-- unknown fields an error, totable, pairs, tostring, rows kept after the
-- loop, writing while scanning.
local t = require 'testlib'

db.define('people', {
  key = 'id',
  fields = { id = 'int', name = 'string', town = 'string', born = 'date', pay = 'fen?',
             tags = 'any?', active = 'bool', score = 'number?' },
  index = { 'town' },
  unique = { 'name' },
})
local P = db.people
db.atomic(function()
  for i = 1, 50 do
    P:insert{ id = i, name = '成员' .. i, town = i % 2 == 0 and '东' or '西',
              born = string.format('19%02d-01-01', 50 + i % 40), pay = i % 3 ~= 0 and i * 100 or nil,
              tags = i % 5 == 0 and { 'a', { b = i } } or nil, active = i % 2 == 0, score = i / 4 }
  end
end)

t.case('fields read like a table', function()
  local n = 0
  for r in P:scan() do
    n = n + 1
    t.eq(r.id, n)
    t.eq(math.type(r.id), 'integer')
    t.eq(r.name, '成员' .. n)
    t.eq(r.town, n % 2 == 0 and '东' or '西')
    t.eq(r.active, n % 2 == 0)
    t.eq(r.pay, n % 3 ~= 0 and n * 100 or nil)
    t.eq(r.tags, n % 5 == 0 and { 'a', { b = n } } or nil)
    t.eq(r.score, n / 4)
    t.eq(r['born'], string.format('19%02d-01-01', 50 + n % 40))
    t.eq(type(r), 'userdata')
    -- reading a field twice gives the same value
    t.eq(r.name, r.name)
  end
  t.eq(n, 50)
end)

t.case('a row from an index scan', function()
  local ids = {}
  for r in P:scan{ index = 'town', eq = '东', limit = 3 } do ids[#ids + 1] = r.id end
  t.eq(ids, { 2, 4, 6 })
end)

t.case('rows are read-only', function()
  for r in P:scan{ limit = 1 } do
    t.raises_all(function() r.name = 'x' end, { "'people'", 'read-only', 'name', 'totable' })
    t.raises_all(function() r.newfield = 1 end, { "'people'", 'read-only' })
    t.eq(r.name, '成员1')
  end
  t.eq(P:get(1, 'name'), '成员1')
end)

t.case('reading an unknown field is an error', function()
  for r in P:scan{ limit = 1 } do
    t.raises_all(function() return r.nmae end, { "'people'", "'nmae'" })
    t.raises_all(function() return r[1] end, { "'people'" })
  end
end)

t.case('totable gives a table copy you can change', function()
  for r in P:scan{ index = 'id', eq = 5 } do
    local c = r:totable()
    t.eq(type(c), 'table')
    t.eq(c, P:get(5))
    t.eq(c, { id = 5, name = '成员5', town = '西', born = '1955-01-01', pay = 500,
              tags = { 'a', { b = 5 } }, active = false, score = 1.25 })
    c.name = 'changed'
    c.tags[1] = 'z'
    t.eq(r.name, '成员5', 'the row is unchanged')
    t.eq(r.tags, { 'a', { b = 5 } })
    t.eq(P:get(5, 'name'), '成员5')
    -- the copy can be written back
    P:put(c)
    t.eq(P:get(5, 'name'), 'changed')
    P:update(5, { name = '成员5', tags = { 'a', { b = 5 } } })
  end
end)

t.case('pairs over a row gives the fields that have values', function()
  for r in P:scan{ index = 'id', eq = 3 } do
    local got = {}
    for k, v in pairs(r) do got[k] = v end
    t.eq(got, P:get(3))
    t.eq(got.pay, nil, 'absent fields are skipped')
  end
end)

t.case('tostring names the collection and shows fields', function()
  for r in P:scan{ index = 'id', eq = 2 } do
    local s = tostring(r)
    t.ok(s:find('people', 1, true), s)
    t.ok(s:find('name=成员2', 1, true), s)
    t.ok(s:find('id=2', 1, true), s)
  end
end)

t.case('a row kept after the loop still reads its own values', function()
  local kept = {}
  for r in P:scan{ index = 'id', from = 10, to = 19 } do kept[#kept + 1] = r end
  t.eq(#kept, 10)
  -- change and delete the records afterwards; the rows keep what they read
  db.atomic(function()
    for i = 10, 14 do P:update(i, { name = 'renamed' .. i }) end
    for i = 15, 19 do P:delete(i) end
  end)
  -- and write lots more so that pages move
  db.atomic(function()
    for i = 1000, 3000 do P:insert{ id = i, name = 'bulk' .. i, town = '北', born = '2000-01-01', active = true } end
  end)
  collectgarbage()
  for j, r in ipairs(kept) do
    t.eq(r.id, 9 + j)
    t.eq(r.name, '成员' .. (9 + j))
    t.eq(r:totable().name, '成员' .. (9 + j))
  end
  -- a row kept across a scan of another transaction
  local first
  for r in P:scan() do first = r; break end
  P:update(1, { town = 'changed' })
  t.eq(first.town, '西')
  t.eq(P:get(1, 'town'), 'changed')
  P:update(1, { town = '西' })
  db.atomic(function()
    for i = 1000, 3000 do P:delete(i) end
    for i = 10, 14 do P:update(i, { name = '成员' .. i }) end
    for i = 15, 19 do
      P:insert{ id = i, name = '成员' .. i, town = i % 2 == 0 and '东' or '西',
                born = string.format('19%02d-01-01', 50 + i % 40), pay = i % 3 ~= 0 and i * 100 or nil,
                tags = i % 5 == 0 and { 'a', { b = i } } or nil, active = i % 2 == 0, score = i / 4 }
    end
  end)
  t.eq(P:count(), 50)
end)

t.case('writing during a scan in db.atomic is safe', function()
  db.define('log', { fields = { person = 'int', note = 'string' } })
  db.atomic(function()
    -- update every record seen, insert into another collection, delete some
    local seen = 0
    for r in P:scan() do
      seen = seen + 1
      local id, name = r.id, r.name
      P:update(id, { name = name .. '!', score = db.null })
      db.log:insert{ person = id, note = name }
      t.eq(r.name, name, 'the row keeps its own value after the update')
      if id % 10 == 0 then P:delete(id) end
      t.eq(r.id, id)
    end
    t.eq(seen, 50)
  end)
  t.eq(P:count(), 45)
  t.eq(db.log:count(), 50)
  for r in P:scan() do
    t.eq(r.name, '成员' .. r.id .. '!')
    t.eq(r.score, nil)
  end
  -- an index scan while updating the indexed field
  db.atomic(function()
    local n = 0
    for r in P:scan{ index = 'town', eq = '东' } do
      n = n + 1
      P:update(r.id, { town = '南' })
    end
    t.ok(n > 0)
  end)
  t.eq(P:count{ town = '东' }, 0)
  t.eq(P:count{ town = '南' }, 20)
  t.eq(t.keys(P, { index = 'town', eq = '南' }), { 2, 4, 6, 8, 12, 14, 16, 18, 22, 24, 26, 28, 32, 34, 36, 38, 42, 44, 46, 48 })
  -- inserting into the collection being scanned does not crash (the new records may or may not be seen)
  db.atomic(function()
    local n = 0
    for r in P:scan() do
      n = n + 1
      if r.id < 100 then P:insert{ id = r.id + 100, name = 'copy' .. r.id, town = 'x', born = '2000-01-01', active = true } end
      if n > 1000 then error('the scan does not end') end
    end
  end)
  t.eq(P:count{ town = 'x' }, 45)
  -- outside db.atomic, each write is its own transaction while the scan reads its snapshot
  local n = 0
  for r in P:scan{ town = 'x' } do
    n = n + 1
    P:delete(r.id)
  end
  t.eq(n, 45)
  t.eq(P:count{ town = 'x' }, 0)
  -- a scan outside db.atomic reads one snapshot: records written meanwhile are not seen
  local seen, maxid = 0, 0
  for r in P:scan() do
    seen = seen + 1
    maxid = r.id
    if r.id < 60 then P:insert{ id = r.id + 500, name = 'late' .. r.id, town = 'y', born = '2000-01-01', active = true } end
  end
  t.eq(seen, 45, 'the scan saw only the records there when it began')
  t.ok(maxid < 500)
  t.eq(P:count{ town = 'y' }, 45)
  for r in P:scan{ town = 'y' } do P:delete(r.id) end
end)

t.case('a row can be passed to put', function()
  db.define('people2', {
    key = 'id',
    fields = { id = 'int', name = 'string', town = 'string', born = 'date', pay = 'fen?',
               tags = 'any?', active = 'bool', score = 'number?' },
  })
  local r1
  for r in P:scan{ limit = 1 } do r1 = r end
  t.eq(P:put(r1), r1.id)
  -- a row of another collection is refused (or copied field by field), never stored wrongly
  local ok, err = pcall(db.people2.put, db.people2, r1)
  if ok then
    t.eq(db.people2:get(r1.id), r1:totable())
  else
    t.ok(tostring(err):find('people', 1, true), err)
    t.eq(db.people2:count(), 0)
  end
end)

t.case('a row read before its collection was redefined', function()
  local r1
  for r in P:scan{ limit = 1 } do r1 = r end
  db.define('people', {
    key = 'id',
    fields = { id = 'int', name = 'string', town = 'string', born = 'date', pay = 'fen?',
               tags = 'any?', active = 'bool', score = 'number?', extra_note = 'string?' },
    index = { 'town' },
    unique = { 'name' },
  })
  -- either still readable, or a clear error; never a crash
  local ok, v = pcall(function() return r1.name end)
  if ok then t.eq(v, P:get(r1.id, 'name')) else t.ok(tostring(v):find('redefined', 1, true), v) end
  for r in P:scan{ limit = 1 } do t.eq(r.extra_note, nil) end
end)

t.case('string fields read through the cache of short strings are the stored ones', function()
  -- few values (cached), many values (more than the cache's 256 slots: slots
  -- reused, the field stops being cached), empty, NUL bytes, the longest
  -- cached length and longer, and values sharing first and last bytes
  db.define('strs', { key = 'id', fields = { id = 'int', few = 'string', many = 'string',
                                              odd = 'string', near = 'string' } })
  local odds = { '', '\0', 'a\0b', ('x'):rep(24), ('x'):rep(25), ('y'):rep(31), '东', '东东' }
  local function want(i)
    return { few = ({ '硖石街道', '海昌街道', '许村镇' })[i % 3 + 1], many = 'm' .. i,
             odd = odds[i % #odds + 1], near = 'abcdefgh' .. string.char(65 + i % 26) .. 'stuvwxyz' }
  end
  db.atomic(function()
    for i = 1, 3000 do
      local w = want(i)
      w.id = i
      db.strs:insert(w)
    end
  end)
  for _ = 1, 2 do -- again: what the first pass left in the cache is right too
    local n = 0
    for r in db.strs:scan() do
      n = n + 1
      local w = want(n)
      t.eq({ few = r.few, many = r.many, odd = r.odd, near = r.near }, w, 'record ' .. n)
    end
    t.eq(n, 3000)
  end
end)

t.case('a loop that only reads fields gets one row for all its steps', function()
  -- the row of the step before takes the next record when the loop is known
  -- (from its bytecode) to keep no row: no allocation per record
  db.define('many', { key = 'id', fields = { id = 'int', v = 'int' } })
  db.atomic(function()
    for i = 1, 4000 do db.many:insert{ id = i, v = i * 3 } end
  end)
  local function grown(loop)
    collectgarbage()
    collectgarbage('stop')
    local before = collectgarbage('count')
    local sum = loop()
    local kb = collectgarbage('count') - before
    collectgarbage('restart')
    return kb, sum
  end
  local kb, sum = grown(function()
    local s = 0
    for r in db.many:scan() do
      s = s + r.v
    end
    return s
  end)
  t.eq(sum, 3 * 4000 * 4001 // 2)
  t.ok(kb < 64, ('a reading loop allocated %.0f KB for 4000 records'):format(kb))
  -- a loop that keeps its rows gets a row each
  local kept = {}
  kb = grown(function()
    for r in db.many:scan() do
      kept[#kept + 1] = r
    end
  end)
  t.ok(kb > 4000 * 0.05, ('a keeping loop allocated only %.0f KB'):format(kb))
  for i, r in ipairs(kept) do t.eq(r.v, i * 3) end
end)

-- rows reused by loops that keep none: a collection of their own, of more
-- records than a scan steps before it asks whether its loop keeps rows (64)
local NR = 300
db.define('rr', { key = 'id', fields = { id = 'int', name = 'string', town = 'string', born = 'date',
                                         active = 'bool', score = 'number?' } })
local R = db.rr
db.atomic(function()
  for i = 1, NR do
    R:insert{ id = i, name = '成员' .. i, town = i % 2 == 0 and '东' or '西', born = '1970-01-01',
              active = i % 2 == 0 }
  end
end)

t.case('rows kept in any way past their step stay right', function()
  -- every way a loop can keep its row: each makes the loop's rows its own
  local name = {}
  for i = 1, NR do name[i] = R:get(i, 'name') end
  local kept, set, fns, wrapped, copied, via = {}, {}, {}, {}, {}, {}
  local last, seven
  local function keep(r) via[#via + 1] = r end
  for r in R:scan() do kept[#kept + 1] = r end
  for r in R:scan() do set[r] = r.id end
  for r in R:scan() do
    fns[#fns + 1] = function() return r.id, r.name end
  end
  for r in R:scan() do
    wrapped[#wrapped + 1] = { row = r }
  end
  for r in R:scan() do
    local x = r
    copied[#copied + 1] = x
  end
  for r in R:scan() do
    keep(r)
  end
  for r in R:scan() do
    last = r
  end
  for r in R:scan() do
    if r.id == 7 then seven = r end
  end
  -- luacheck: globals LASTROW
  for r in R:scan() do
    LASTROW = r -- a global, on purpose
  end
  local function first_even()
    for r in R:scan() do
      if r.id % 2 == 0 then return r end
    end
  end
  local even = first_even()
  local co = coroutine.wrap(function()
    for r in R:scan() do coroutine.yield(r) end
  end)
  local y1, y2 = co(), co()
  -- other scans and writes in between: pages move, rows are refilled
  db.atomic(function()
    for i = 5000, 6000 do R:insert{ id = i, name = 'w' .. i, town = '南', born = '2000-01-01', active = true } end
  end)
  for r in R:scan() do local _ = r.name end
  for i = 1, NR do
    t.eq(kept[i].id, i)
    t.eq(kept[i].name, name[i])
    t.eq(wrapped[i].row.name, name[i])
    t.eq(copied[i].id, i)
    t.eq(via[i].id, i)
    t.eq({ fns[i]() }, { i, name[i] })
  end
  local n = 0
  for r, id in pairs(set) do
    n = n + 1
    t.eq(r.id, id)
  end
  t.eq(n, NR)
  t.eq(last.id, NR)
  t.eq(seven.name, name[7])
  t.eq(LASTROW.id, NR)
  t.eq(even.id, 2)
  t.eq({ y1.id, y2.id, y1.name }, { 1, 2, name[1] })
  LASTROW = nil
  db.atomic(function()
    for i = 5000, 6000 do R:delete(i) end
  end)
end)

t.case('a reused row: writes in the same transaction, nested scans, db.atomic, break', function()
  -- writes to the record just read, and to others, while the loop reuses its row:
  -- each step reads the record as it was when the scan stepped to it
  local names, was = {}, {}
  for i = 1, NR do was[i] = R:get(i, 'name') end
  db.atomic(function()
    for r in R:scan() do
      names[#names + 1] = r.name
      R:update(r.id, { name = r.name .. '!' })
      if r.id < NR then R:update(r.id + 1, { score = 99 }) end
    end
  end)
  t.eq(names, was)
  db.atomic(function()
    for r in R:scan() do R:update(r.id, { name = r.name:sub(1, -2), score = r.id / 4 }) end
  end)
  t.eq(R:get(NR, 'name'), was[NR])
  -- nested scans of one collection, each loop only reading
  local pairs_seen, sum = 0, 0
  for a in R:scan{ index = 'id', to = 100 } do
    for b in R:scan{ index = 'id', from = 201 } do
      pairs_seen = pairs_seen + 1
      sum = sum + a.id * b.id
    end
  end
  t.eq(pairs_seen, 100 * 100)
  t.eq(sum, 5050 * 25050)
  -- a scan inside db.atomic, a db.atomic inside a scan's loop
  local ids = {}
  db.atomic(function()
    for r in R:scan() do ids[#ids + 1] = r.id end
  end)
  t.eq(#ids, NR)
  local got = {}
  for r in R:scan() do
    db.atomic(function() got[#got + 1] = r.id end)
  end
  t.eq(got, ids)
  -- break, then the same loop again
  for _ = 1, 3 do
    local k = 0
    for r in R:scan() do
      k = k + r.id
      if r.id == 100 then break end
    end
    t.eq(k, 5050)
  end
  -- the iterator called by hand, not by a generic for: rows of their own
  local f, st, ctl = R:scan()
  local a = f(st, ctl)
  local b = f(st, a)
  local c = f(st, b)
  t.eq({ a.id, b.id, c.id }, { 1, 2, 3 })
end)

t.case('a loop reading fields by name: one table holds them, set from each record', function()
  -- after 64 steps a loop that keeps no row and reads fields by name
  -- (`r.town`) gets a table with those fields set from each record; other
  -- reads (r[k], names the collection lacks, extra fields, arrays and maps,
  -- nil) go through its metatable to the record, as a row's do
  db.define('tr', { key = 'id', fields = { id = 'int', name = 'string', town = 'string', v = 'any?',
                                           tags = 'any?', big = 'string?' }, extra = true })
  local N = 600
  local function want(i)
    local v = ({ i, 'x' .. i % 2, nil, i * 0.5, i % 3 == 0, -i * 70000, i * 2 ^ 40 })[i % 7 + 1]
    return { id = i, name = 'n' .. i, town = ({ '东', '西', '南' })[i % 3 + 1], v = v,
             tags = i % 5 == 0 and { i, 'a' } or nil,
             big = i % 50 == 0 and ('长'):rep(100 + i) or nil, -- past the row's room
             note = i % 4 == 0 and 'e' .. i or nil }           -- an extra field
  end
  db.atomic(function()
    for i = 1, N do db.tr:insert(want(i)) end
  end)
  local k = 'name'
  for _ = 1, 2 do
    local n = 0
    for r in db.tr:scan() do
      n = n + 1
      local w = want(n)
      t.eq(r.id, n)
      t.eq({ r.name, r[k], r.town, r.v, r.tags, r.big, r.note },
           { w.name, w.name, w.town, w.v, w.tags, w.big, w.note }, 'record ' .. n)
      t.eq(math.type(r.v), math.type(w.v))
      if r.tags then
        r.tags[1] = 'changed' -- a new table at each read: the record is not changed
        t.eq(r.tags[1], n)
      end
    end
    t.eq(n, N)
  end
  -- the fields it lacks, writes and the row's methods, from a loop that reads by name
  t.raises_all(function()
    for r in R:scan() do
      if r.id > 100 then local _ = r.nmae end
    end
  end, { "'rr'", "'nmae'" })
  for r in db.tr:scan() do
    if r.id > 100 then t.eq(r.nmae, nil) end -- extra = true: any name reads
  end
  -- fields read at every step, at some, and in a branch seldom taken: each
  -- reads its record's value whether it is set in the table or not
  local every, some, seldom = 0, 0, 0
  for r in db.tr:scan() do
    local w = want(r.id)
    if r.id % 3 == 0 then
      t.eq(r.town, w.town)
      some = some + 1
    end
    if r.id % 97 == 0 then
      t.eq({ r.name, r.v, r.tags }, { w.name, w.v, w.tags })
      seldom = seldom + 1
    end
    every = every + 1
  end
  t.eq({ every, some, seldom }, { N, N // 3, N // 97 })
  local tot
  for r in db.tr:scan() do
    if r.id == 150 then tot = r.totable end
  end
  t.eq(type(tot), 'function')
end)


t.case('a table row sets its fields in one walk: read in any order, taken up at any step', function()
  -- the fields a loop reads join the table at different steps (d and a in the
  -- first window, b and e later), so they are walked to in the order of their
  -- places in the record, not of their joining; values of every length from 0
  -- to 20 bytes (one and two words compared), repeated and changing, and a
  -- field added after half the records were written (absent from those)
  db.define('tw', { key = 'id', fields = { id = 'int', a = 'string', b = 'string', c = 'int',
                                           d = 'string' } })
  local N = 600
  local function want(i)
    return { id = i, a = ('a'):rep(i % 21), b = ('长'):rep(i // 7 % 6), c = i * 1000,
             d = ('d%d'):format(i // 3 % 5):rep(i // 15 % 4 + 1),
             e = i > N // 2 and ('e'):rep(i % 13 + 4) or nil }
  end
  db.atomic(function()
    for i = 1, N // 2 do
      local w = want(i)
      w.e = nil
      db.tw:insert(w)
    end
  end)
  db.define('tw', { key = 'id', fields = { id = 'int', a = 'string', b = 'string', c = 'int',
                                           d = 'string', e = 'string?' } })
  db.atomic(function()
    for i = N // 2 + 1, N do db.tw:insert(want(i)) end
  end)
  for _ = 1, 2 do
    local n, got, wanted = 0, {}, {}
    for r in db.tw:scan() do
      n = n + 1
      local w = want(n)
      got[#got + 1] = r.d
      wanted[#wanted + 1] = w.d
      if n >= 100 then
        got[#got + 1] = r.b
        wanted[#wanted + 1] = w.b
      end
      if n >= 200 then
        got[#got + 1] = r.e or '-'
        wanted[#wanted + 1] = w.e or '-'
      end
      if n % 3 == 0 then
        got[#got + 1] = r.a
        wanted[#wanted + 1] = w.a
      end
    end
    t.eq(n, N)
    t.eq(got, wanted)
  end
end)

t.done()
