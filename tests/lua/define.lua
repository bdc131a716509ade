-- define.lua — db.define: every type, optional fields, keys (given, automatic,
-- string), extra fields, schema(), collections(), drop().
local t = require 'testlib'

t.case('all types round-trip with their Lua types', function()
  db.define('typed', {
    key = 'k',
    fields = { k = 'int', i = 'int', n = 'number', s = 'string', b = 'bool',
               d = 'date', f = 'fen', a = 'any' },
  })
  local nested = { list = { 1, 2, 3 }, map = { x = 'y', deep = { deeper = { true, false } } },
                   float = 1.5, int = 7, str = '\0with a NUL, 中文' }
  t.eq(db.typed:insert{ k = 1, i = -42, n = 2.5, s = '工会', b = false, d = '2024-02-29',
                        f = 12345, a = nested }, 1)
  local r = db.typed:get(1)
  t.eq(r, { k = 1, i = -42, n = 2.5, s = '工会', b = false, d = '2024-02-29', f = 12345,
            a = nested })
  t.eq(math.type(r.i), 'integer')
  t.eq(math.type(r.f), 'integer')
  t.eq(math.type(r.n), 'float')
  t.eq(math.type(r.a.float), 'float')
  t.eq(math.type(r.a.int), 'integer')
  -- a number field keeps integers as integers
  db.typed:put{ k = 2, i = 0, n = 3, s = '', b = true, d = '1900-01-01', f = 0, a = {} }
  local r2 = db.typed:get(2)
  t.eq(math.type(r2.n), 'integer', 'number field given an integer')
  t.eq(r2.a, {})
  t.eq(r2.s, '')
  t.eq(r2.b, true)
  -- an int field accepts a float with an integral value, stored as an integer
  db.typed:put{ k = 3, i = 5.0, n = 1, s = 'x', b = true, d = '2000-01-01', f = 1, a = 'scalar' }
  t.eq(math.type(db.typed:get(3).i), 'integer')
  t.eq(db.typed:get(3).a, 'scalar', 'any holds a scalar too')
  -- 64-bit limits
  db.typed:put{ k = 4, i = math.maxinteger, n = -0.0, s = 'x', b = true, d = '2000-01-01',
                f = math.mininteger, a = { [1] = 'a', [3] = 'c' } }
  t.eq(db.typed:get(4, 'i'), math.maxinteger)
  t.eq(db.typed:get(4, 'f'), math.mininteger)
  t.eq(db.typed:get(4, 'a'), { [1] = 'a', [3] = 'c' })
end)

t.case('date validation', function()
  db.define('dates', { key = 'id', fields = { id = 'int', d = 'date' } })
  for i, good in ipairs{ '2024-02-29', '2000-02-29', '1999-12-31', '1000-01-01', '2023-01-31',
                         '2023-04-30', '9999-12-31' } do
    db.dates:insert{ id = i, d = good }
    t.eq(db.dates:get(i, 'd'), good)
  end
  local n = db.dates:count()
  for _, bad in ipairs{ '2023-02-29', '1900-02-29', '2023-04-31', '2023-13-01', '2023-00-10',
                        '2023-01-00', '2023-01-32', '1990/13/01', '2023-1-01', '2023-01-1',
                        '20230101', '2023-01-01 ', ' 2023-01-01', '2023-01-01T00:00', '',
                        'abcd-ef-gh' } do
    t.unchanged(function() db.dates:insert{ id = 100, d = bad } end,
                { "collection 'dates'", "field 'd'", 'date', string.format('%q', bad) },
                'date ' .. bad)
  end
  t.unchanged(function() db.dates:insert{ id = 100, d = 20230101 } end,
              { "collection 'dates'", "field 'd'", 'date', '20230101' })
  t.eq(db.dates:count(), n)
end)

t.case('fen refuses floats', function()
  db.define('money', { key = 'id', fields = { id = 'int', amount = 'fen' } })
  db.money:insert{ id = 1, amount = 100 }
  db.money:insert{ id = 2, amount = -5 }
  t.eq(db.money:get(2, 'amount'), -5)
  for _, bad in ipairs{ 1.5, 100.0, 0.1 + 0.2 } do
    t.unchanged(function() db.money:insert{ id = 3, amount = bad } end,
                { "collection 'money'", "field 'amount'", 'fen' }, 'fen ' .. tostring(bad))
  end
  t.unchanged(function() db.money:insert{ id = 3, amount = '100' } end,
              { "collection 'money'", "field 'amount'", 'fen', '"100"' })
  t.unchanged(function() db.money:update(1, { amount = 2.5 }) end,
              { "collection 'money'", "field 'amount'", '2.5' })
  t.eq(db.money:get(1, 'amount'), 100)
end)

t.case('optional fields', function()
  db.define('opt', { key = 'id', fields = { id = 'int', a = 'string?', b = 'date?', c = 'int' } })
  db.opt:insert{ id = 1, c = 1 }
  t.eq(db.opt:get(1), { id = 1, c = 1 })
  db.opt:insert{ id = 2, a = 'x', b = '2020-01-01', c = 2 }
  t.eq(db.opt:get(2), { id = 2, a = 'x', b = '2020-01-01', c = 2 })
  t.unchanged(function() db.opt:insert{ id = 3, a = 'x' } end,
              { "collection 'opt'", "'c'", 'missing' })
  t.unchanged(function() db.opt:insert{ id = 3, b = 'x', c = 1 } end,
              { "collection 'opt'", "field 'b'", 'date', '"x"' })
  local s = db.opt:schema()
  t.eq(s.fields, { id = 'int', a = 'string?', b = 'date?', c = 'int' })
end)

t.case("optional fields written { type = 'date', optional = true }", function()
  db.define('opt2', { key = 'id', fields = { id = 'int', b = { type = 'date', optional = true },
                                             c = { type = 'int' }, d = { type = 'string', optional = false } } })
  t.eq(db.opt2:schema().fields, { id = 'int', b = 'date?', c = 'int', d = 'string' })
  db.opt2:insert{ id = 1, c = 1, d = 'x' }
  t.eq(db.opt2:get(1), { id = 1, c = 1, d = 'x' })
  t.unchanged(function() db.opt2:insert{ id = 2, b = '2020-02-30', c = 1, d = 'x' } end,
              { "collection 'opt2'", "field 'b'", '"2020-02-30"' })
  t.unchanged(function() db.opt2:insert{ id = 2, c = 1 } end, { "collection 'opt2'", "'d'" })
end)

t.case('any holds nested tables', function()
  db.define('anyt', { key = 'id', fields = { id = 'int', v = 'any?' } })
  local v = { a = { b = { c = { d = { 'deep', 1, 2.25, false } } } }, [10] = 'ten', [-1] = 'neg',
              [2.5] = 'float key', [true] = 'bool key' }
  db.anyt:insert{ id = 1, v = v }
  t.eq(db.anyt:get(1, 'v'), v)
  db.anyt:insert{ id = 2 }
  t.eq(db.anyt:get(2, 'v'), nil)
  -- functions cannot be stored
  t.unchanged(function() db.anyt:insert{ id = 3, v = { f = print } } end,
              { "collection 'anyt'", "field 'v'", 'function' })
  -- nor cycles
  local cyc = {}
  cyc.self = cyc
  t.unchanged(function() db.anyt:insert{ id = 3, v = cyc } end, { "collection 'anyt'", "field 'v'" })
end)

t.case('automatic keys', function()
  db.define('auto', { fields = { name = 'string' } })
  t.eq(db.auto:insert{ name = 'a' }, 1)
  t.eq(db.auto:insert{ name = 'b' }, 2)
  t.eq(db.auto:insert{ name = 'c' }, 3)
  t.eq(db.auto:get(2), { id = 2, name = 'b' })
  t.eq(db.auto:schema().key, 'id')
  t.eq(db.auto:schema().auto, true)
  db.auto:delete(3)
  t.eq(db.auto:insert{ name = 'd' }, 3, 'next key after the last one')
  -- an explicit key is still allowed, and the next automatic one follows it
  t.eq(db.auto:insert{ id = 10, name = 'e' }, 10)
  t.eq(db.auto:insert{ name = 'f' }, 11)
  t.eq(db.auto:put{ name = 'g' }, 12, 'put assigns an automatic key too')

  db.define('auto2', { key = 'no', auto = true, fields = { no = 'int', name = 'string' } })
  t.eq(db.auto2:insert{ name = 'x' }, 1)
  t.eq(db.auto2:insert{ name = 'y' }, 2)
  t.eq(db.auto2:get(2), { no = 2, name = 'y' })
  t.eq(db.auto2:schema().key, 'no')
  t.eq(db.auto2:schema().auto, true)

  db.define('auto3', { key = 'no', auto = true, fields = { name = 'string' } })
  t.eq(db.auto3:insert{ name = 'x' }, 1, 'auto key field added when not declared')
  t.eq(db.auto3:get(1), { no = 1, name = 'x' })
  -- in one atomic, several automatic keys are distinct
  local keys = db.atomic(function()
    return { db.auto3:insert{ name = 'p' }, db.auto3:insert{ name = 'q' } }
  end)
  t.eq(keys, { 2, 3 })
end)

t.case('string keys', function()
  db.define('skey', { key = 'code', fields = { code = 'string', v = 'int' } })
  t.eq(db.skey:insert{ code = '330481', v = 1 }, '330481')
  t.eq(db.skey:insert{ code = '海宁', v = 2 }, '海宁')
  t.eq(db.skey:insert{ code = '', v = 3 }, '')
  t.eq(db.skey:insert{ code = 'a\0b', v = 4 }, 'a\0b')
  t.eq(db.skey:get('海宁', 'v'), 2)
  t.eq(db.skey:get('', 'v'), 3)
  t.eq(db.skey:get('a\0b', 'v'), 4)
  t.eq(db.skey:get('a', 'v'), nil)
  t.eq(db.skey:get('330481').code, '330481')
  -- a number is not a string key: no record (nil), or an error naming the field
  local ok, r = pcall(db.skey.get, db.skey, 330481)
  if ok then t.eq(r, nil) else t.ok(tostring(r):find("'code'", 1, true), r) end
end)

t.case('key types are int or string', function()
  t.raises_all(function() db.define('badkey', { key = 'k', fields = { k = 'number' } }) end,
               { "collection 'badkey'", "'k'", 'int or string' })
  t.raises_all(function() db.define('badkey', { key = 'k', fields = { k = 'bool' } }) end,
               { "collection 'badkey'", "'k'" })
  t.raises_all(function() db.define('badkey', { key = 'k', fields = { k = 'any' } }) end,
               { "collection 'badkey'", "'k'" })
  t.raises_all(function() db.define('badkey', { key = 'k', auto = true, fields = { k = 'string' } }) end,
               { "collection 'badkey'", 'int' })
  t.raises_all(function() db.define('badkey', { key = 'nokey', fields = { k = 'int' } }) end,
               { "collection 'badkey'", "'nokey'" })
  t.ok(not (function() for _, n in ipairs(db.collections()) do if n == 'badkey' then return true end end end)())
end)

t.case('extra = true keeps undeclared fields', function()
  db.define('ext', { key = 'id', fields = { id = 'int', name = 'string' }, extra = true })
  db.ext:insert{ id = 1, name = 'a', color = 'red', n = 3, t = { 1, 2 } }
  t.eq(db.ext:get(1), { id = 1, name = 'a', color = 'red', n = 3, t = { 1, 2 } })
  t.eq(db.ext:get(1, 'name'), 'a')
  db.ext:insert{ id = 2, name = 'b' }
  t.eq(db.ext:get(2), { id = 2, name = 'b' })
  -- declared fields are still checked
  t.unchanged(function() db.ext:insert{ id = 3, name = 5, color = 'x' } end,
              { "collection 'ext'", "field 'name'", 'string', '5' })
  -- update merges extra fields, and db.null clears one
  db.ext:update(1, { color = 'blue', size = 'L' })
  t.eq(db.ext:get(1), { id = 1, name = 'a', color = 'blue', n = 3, t = { 1, 2 }, size = 'L' })
  -- rows read extra fields; an absent one is nil, not an error
  for r in db.ext:scan{ index = 'id', eq = 1 } do
    t.eq(r.color, 'blue')
    t.eq(r.nothing, nil)
    t.eq(r:totable(), { id = 1, name = 'a', color = 'blue', n = 3, t = { 1, 2 }, size = 'L' })
  end
  t.eq(db.ext:schema().extra, true)
  -- without extra, an unknown field is an error listing the declared fields
  db.define('noext', { key = 'id', fields = { id = 'int', name = 'string', town = 'string?' } })
  t.unchanged(function() db.noext:insert{ id = 1, name = 'a', colour = 'red' } end,
              { "collection 'noext'", "'colour'", 'id', 'name', 'town' })
  t.eq(db.noext:schema().extra, false)
end)

t.case('schema() returns the definition', function()
  db.define('sch', {
    key = 'member_id',
    fields = { member_id = 'int', name = 'string', id_number = 'string', town = 'string',
               status = 'string', retire = 'date?' },
    unique = { 'id_number' },
    index = { 'town', { 'town', 'status' } },
  })
  local s = db.sch:schema()
  t.eq(s.name, 'sch')
  t.eq(s.key, 'member_id')
  t.eq(s.auto, false)
  t.eq(s.extra, false)
  t.eq(s.fields, { member_id = 'int', name = 'string', id_number = 'string', town = 'string',
                   status = 'string', retire = 'date?' })
  t.eq(s.unique, { 'id_number' })
  t.eq(s.index, { 'town', 'town,status' })
end)

t.case("'a,b' names a compound index in a definition too", function()
  -- lua_store.c spec_indexes: the indexes listed ("f", {"a","b"}, or "a,b")
  db.define('sch2', { fields = { a = 'int', b = 'int' }, index = { 'a,b' } })
  t.eq(db.sch2:schema().index, { 'a,b' })
end)

t.case('collections() is sorted', function()
  local names = db.collections()
  t.ok(#names >= 5)
  local sorted = { table.unpack(names) }
  table.sort(sorted)
  t.eq(names, sorted, 'collections() in name order (lua_store.c: "sorted array of names")')
end)

t.case('collections() and drop()', function()
  local function has(n)
    for _, x in ipairs(db.collections()) do if x == n then return true end end
    return false
  end
  db.define('tmp_drop', { key = 'id', fields = { id = 'int', v = 'string' }, index = { 'v' } })
  db.tmp_drop:insert{ id = 1, v = 'a' }
  t.ok(has('tmp_drop'))
  db.drop('tmp_drop')
  t.ok(not has('tmp_drop'), 'dropped collection is gone')
  t.raises_all(function() return db.tmp_drop:count() end, { 'tmp_drop' })
  -- defining it again starts empty, with the new definition
  db.define('tmp_drop', { key = 'id', fields = { id = 'int', w = 'int' } })
  t.eq(db.tmp_drop:count(), 0)
  t.eq(db.tmp_drop:get(1), nil)
  db.tmp_drop:insert{ id = 1, w = 5 }
  t.eq(db.tmp_drop:get(1), { id = 1, w = 5 })
  t.raises(function() db.drop('never_defined') end, 'never_defined')
  -- an unknown collection names itself and what exists
  t.raises_all(function() return db.nosuch end, { "'nosuch'", 'db.define' })
end)

t.case('bad definitions are refused and store nothing', function()
  local before = t.snapshot()
  t.raises_all(function() db.define('bad1', { key = 'id', fields = { id = 'int', x = 'integer' } }) end,
               { "collection 'bad1'", "'x'", 'integer' })
  t.raises_all(function() db.define('bad1', { key = 'id', fields = { id = 'int' }, index = { 'nope' } }) end,
               { "collection 'bad1'", "'nope'" })
  t.raises_all(function() db.define('bad1', { key = 'id', fields = { id = 'int' }, unique = { 'nope' } }) end,
               { "collection 'bad1'", "'nope'" })
  t.raises_all(function() db.define('bad1', { key = 'id', fields = { id = 'int', a = 'int' }, index = { { 'a', 'nope' } } }) end,
               { "collection 'bad1'", "'nope'" })
  t.raises_all(function() db.define('bad1', { key = 'id', fields = { id = 'int' }, indexes = { 'id' } }) end,
               { "collection 'bad1'", "'indexes'" })
  t.raises(function() db.define('bad1', { key = 'id' }) end, "bad1")
  t.raises(function() db.define('_meta', { fields = { a = 'int' } }) end, '_meta')
  t.raises(function() db.define('atomic', { fields = { a = 'int' } }) end, 'atomic')
  t.eq(t.snapshot(), before, 'failed definitions changed the database')
end)

t.done()
