-- coll_load.lua — coll:load(source [, opts]) (core/lua_load.c over
-- core/store_bulk.c): the same records and index entries as insert, in
-- chunks; the source reads what was loaded; a refusal, the source's error
-- or a collection not empty stores nothing.
local t = require 'testlib'

local SPEC = { key = 'id', fields = { id = 'int', code = 'string', town = 'string', born = 'date?' },
               unique = { 'code' }, index = { 'town', { 'town', 'born' } } }

-- n records in a scrambled order of code and town, so no index comes in key order
local function rec(i)
  local j = (i * 7919) % 1009
  return { id = i, code = string.format('C%04d', j), town = 'T' .. (j % 5),
           born = i % 4 ~= 0 and string.format('19%02d-%02d-01', 50 + j % 40, 1 + j % 12) or nil }
end

-- Everything a reader sees of collection c: records, and every index in order.
local function view(c)
  return { records = c:list(), code = t.keys(c, { index = 'code' }), town = t.keys(c, { index = 'town' }),
           town_born = t.keys(c, { index = 'town,born' }), count = c:count(), by_town = c:count_by('town') }
end

local function source(n, at)
  local i = 0
  return function()
    if i == n then return nil end
    i = i + 1
    return (at and at[i]) or rec(i)
  end
end

db.define('by_insert', SPEC)
for i = 1, 300 do db.by_insert:insert(rec(i)) end
local WANT = view(db.by_insert)

t.case('a function or a list: the records and index entries insert makes, in chunks of any size', function()
  for k, chunk in ipairs{ 1, 7, 300, 1000 } do
    local name = 'loaded' .. k
    db.define(name, SPEC)
    t.eq(db[name]:load(source(300), { chunk = chunk }), 300)
    t.eq(view(db[name]), WANT, 'chunk ' .. chunk)
  end
  local list = {}
  for i = 1, 300 do list[i] = rec(i) end
  db.define('from_list', SPEC)
  t.eq(db.from_list:load(list), 300)
  t.eq(view(db.from_list), WANT)
  db.define('from_nothing', SPEC)
  t.eq(db.from_nothing:load({}), 0)
  t.eq(db.from_nothing:load(function() end), 0, 'empty still: a second load is let in')
end)

t.case('the source reads the records loaded so far: a unique lookup, a record, an index scan', function()
  db.define('reading', SPEC)
  local seen, scanned = 0, nil
  local i = 0
  db.reading:load(function()
    if i == 40 then return nil end
    if i > 0 then
      local prev = rec(i)
      local r = db.reading:find('code', prev.code)
      if r and r.id == i and db.reading:get(i) then seen = seen + 1 end
      t.eq(db.reading:find('code', 'nobody'), nil)
    end
    if i == 25 then scanned = #t.keys(db.reading, { index = 'town' }) end
    i = i + 1
    return rec(i)
  end, { chunk = 6 })
  t.eq(seen, 39, 'each earlier record found by its unique code, in and across chunks')
  t.eq(scanned, 25, 'an index scan midway shows every record loaded before it')
  local all = {}
  for j = 1, 40 do all[j] = rec(j) end
  db.define('reading_want', SPEC)
  for _, r in ipairs(all) do db.reading_want:insert(r) end
  t.eq(view(db.reading), view(db.reading_want))
end)

t.case('a taken unique value in a later chunk: refused where the load was called, nothing stored', function()
  db.define('dup_code', SPEC)
  local at = { [23] = { id = 23, code = rec(5).code, town = 'T1' } }
  local err = t.unchanged(function() db.dup_code:load(source(30, at), { chunk = 4 }) end,
                          { 'record 23', 'dup_code', rec(5).code, 'nothing was stored' })
  t.ok(err:find('^[^:]*coll_load%.lua:%d+: '), 'file and line: ' .. err)
  t.eq(db.dup_code:count(), 0)
  t.eq(db.dup_code:load(source(30)), 30, 'the collection takes a load again')
end)

t.case('a taken key, a field of the wrong type, a record that is not a table: nothing stored', function()
  db.define('bad_rec', SPEC)
  t.unchanged(function() db.bad_rec:load(source(12, { [11] = rec(2) }), { chunk = 5 }) end,
              { 'record 11', 'nothing was stored' })
  t.unchanged(function() db.bad_rec:load(source(12, { [9] = { id = 9, code = 'X9', town = 42 } }), { chunk = 5 }) end,
              { 'record 9', "'town'", 'string', 'nothing was stored' })
  t.unchanged(function() db.bad_rec:load(source(12, { [3] = { id = 3, code = 'X3', town = 'T', born = '1990-13-01' } })) end,
              { 'record 3', "'born'", 'nothing was stored' })
  t.unchanged(function() db.bad_rec:load{ rec(1), rec(2), 'not a record' } end,
              { 'record 3', 'expected a record table, got string', 'nothing was stored' })
  t.unchanged(function() db.bad_rec:load{ rec(1), { id = 2, town = 'T' } } end, { 'record 2', 'code', 'nothing was stored' })
  t.eq(db.bad_rec:count(), 0)
end)

t.case("the source's own error is raised as it was, and nothing is stored", function()
  db.define('src_err', SPEC)
  local i = 0
  local err = t.unchanged(function()
    db.src_err:load(function()
      i = i + 1
      if i == 17 then error('the file ended early') end
      return rec(i)
    end, { chunk = 5 })
  end, { 'the file ended early' })
  t.ok(err:find('coll_load%.lua:%d+: the file ended early'), err)
end)

t.case('only an empty collection; arguments checked', function()
  t.unchanged(function() db.by_insert:load{ rec(1000) } end, { "collection 'by_insert' holds 300 records", 'insert adds' })
  t.raises(function() db.by_insert:load(42) end, 'a function returning records, or a list of records')
  t.raises(function() db.by_insert:load({}, { chunk = 0 }) end, 'opts.chunk')
  t.raises(function() db.by_insert:load({}, { chunk = 2.5 }) end, 'opts.chunk')
  t.raises(function() db.by_insert:load({}, 'fast') end, 'table expected')
end)

t.case('inside db.atomic: part of its transaction; a refusal caught there leaves the rest', function()
  db.define('in_atomic', SPEC)
  db.define('other', { key = 'k', fields = { k = 'int' } })
  db.atomic(function()
    db.other:insert{ k = 1 }
    local ok, err = pcall(db.in_atomic.load, db.in_atomic, source(20, { [15] = rec(3) }), { chunk = 4 })
    t.eq(ok, false)
    t.ok(tostring(err):find('record 15', 1, true), tostring(err))
    t.eq(db.in_atomic:count(), 0)
    t.eq(db.in_atomic:load(source(20)), 20)
    t.eq(db.in_atomic:find('code', rec(7).code).id, 7)
  end)
  t.eq(db.other:count(), 1)
  t.eq(db.in_atomic:count(), 20)
  t.ok(not pcall(db.atomic, function()
    db.in_atomic:delete(1)
    error('roll back')
  end))
  t.eq(db.in_atomic:count(), 20)
  local rolled = pcall(db.atomic, function()
    db.define('gone', SPEC)
    db.gone:load(source(10))
    error('and the load with it')
  end)
  t.eq(rolled, false)
  for _, name in ipairs(db.collections()) do t.ok(name ~= 'gone', 'its definition rolled back too') end
end)

t.case('a collection with change events: an event per record, none when refused', function()
  db.define('evented', { key = 'id', fields = { id = 'int', code = 'string', town = 'string', born = 'date?' },
                         unique = { 'code' }, events = true })
  local seen = 0
  local h = bus.on('evented.*', function() seen = seen + 1 end)
  t.unchanged(function() db.evented:load(source(9, { [8] = rec(1) }), { chunk = 3 }) end, { 'record 8' })
  t.eq(#bus.events{ from = 1, topic = 'evented.inserted' }, 0)
  t.eq(db.evented:load(source(9), { chunk = 3 }), 9)
  t.eq(seen, 9 + 7, 'handlers see each record (those of the refused load too, rolled back)')
  t.eq(#bus.events{ from = 1, topic = 'evented.inserted' }, 9)
  bus.off(h)
end)

t.done()
