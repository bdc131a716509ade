-- redefine.lua — calling db.define again: the same definition does nothing,
-- compatible changes apply (new optional fields, new indexes built from the
-- records, dropped indexes, required -> optional), incompatible ones are
-- refused while records exist and allowed when the collection is empty.
local t = require 'testlib'

local function def(over)
  local d = {
    key = 'id',
    fields = { id = 'int', name = 'string', town = 'string', born = 'date', note = 'string?' },
    unique = { 'name' },
    index = { 'town' },
  }
  for k, v in pairs(over or {}) do d[k] = v end
  return d
end

local function fields(over)
  local f = { id = 'int', name = 'string', town = 'string', born = 'date', note = 'string?' }
  for k, v in pairs(over or {}) do
    if v == false then f[k] = nil else f[k] = v end
  end
  return f
end

local C = db.define('red', def())
t.eq(tostring(C), "collection 'red'")
local towns = { '东', '西', '南', '北' }
db.atomic(function()
  for i = 1, 200 do
    C:insert{ id = i, name = 'n' .. i, town = towns[1 + i % 4], born = string.format('19%02d-06-01', i % 100) }
  end
end)

t.case('the same definition does nothing', function()
  local before = t.snapshot()
  local c2 = db.define('red', def())
  t.eq(t.snapshot(), before)
  t.eq(c2:count(), 200)
  -- the same definition written differently (type tables, index as a list)
  db.define('red', def{ fields = { id = { type = 'int' }, name = 'string', town = 'string', born = 'date',
                                   note = 'string?' },
                        unique = { { 'name' } } })
  t.eq(t.snapshot(), before)
end)

t.case('a new optional field', function()
  db.define('red', def{ fields = fields{ phone = 'string?' } })
  t.eq(C:schema().fields, fields{ phone = 'string?' })
  t.eq(C:count(), 200)
  t.eq(C:get(1, 'phone'), nil)
  t.eq(C:get(1), { id = 1, name = 'n1', town = '西', born = '1901-06-01' })
  C:update(1, { phone = '123' })
  t.eq(C:get(1, 'phone'), '123')
  for r in C:scan{ limit = 2 } do
    t.eq(r.phone, r.id == 1 and '123' or nil)
  end
  t.eq(C:count{ phone = '123' }, 1)
end)

t.case('a new index is built from the records already there', function()
  db.define('red', def{ fields = fields{ phone = 'string?' }, index = { 'town', 'born', { 'town', 'born' } } })
  t.eq(C:schema().index, { 'town', 'born', 'town,born' })
  local want = {}
  for i = 1, 200 do want[i] = i end
  table.sort(want, function(a, b)
    local ba, bb = a % 100, b % 100
    if ba ~= bb then return ba < bb end
    return a < b
  end)
  t.eq(t.keys(C, { index = 'born' }), want)
  t.eq(t.keys(C, { index = 'born', eq = '1950-06-01' }), { 50, 150 })
  t.eq(t.keys(C, { index = 'town,born', eq = { '南', '1902-06-01' } }), { 2, 102 })
  t.eq(C:count{ index = 'born' }, 200)
  -- and kept up to date afterwards
  C:update(50, { born = '2001-01-01' })
  t.eq(t.keys(C, { index = 'born', eq = '1950-06-01' }), { 150 })
  t.eq(t.keys(C, { index = 'born', eq = '2001-01-01' }), { 50 })
  C:update(50, { born = '1950-06-01' })
end)

t.case('a new unique index is built, and refused on duplicates', function()
  db.define('red', def{ fields = fields{ phone = 'string?', code = 'string?' },
                        index = { 'town', 'born', { 'town', 'born' } } })
  db.atomic(function()
    for i = 1, 200 do C:update(i, { code = 'c' .. i }) end
  end)
  db.define('red', def{ fields = fields{ phone = 'string?', code = 'string?' },
                        unique = { 'name', 'code' }, index = { 'town', 'born', { 'town', 'born' } } })
  t.eq(C:find('code', 'c77', 'id'), 77)
  t.eq(C:schema().unique, { 'name', 'code' })
  -- a unique index over values that repeat is refused, naming the index, the value and both records
  local before = t.snapshot()
  local err = t.raises_all(function()
    db.define('red', def{ fields = fields{ phone = 'string?', code = 'string?' },
                          unique = { 'name', 'code', 'born' }, index = { 'town', { 'town', 'born' } } })
  end, { "collection 'red'", "'born'" })
  -- born repeats every 100 records: the message names a value and two of its records
  t.ok(err:find('"19%d%d%-06%-01"') and err:find('%d+ and %d+'), err)
  t.eq(t.snapshot(), before)
  -- records without a value are not in the index: no clash
  C:update(1, { phone = db.null })
  db.define('red', def{ fields = fields{ phone = 'string?', code = 'string?' },
                        unique = { 'name', 'code', 'phone' }, index = { 'town', 'born', { 'town', 'born' } } })
  t.eq(C:find('phone', '123'), nil)
  C:update(1, { phone = '123' })
  t.eq(C:find('phone', '123', 'id'), 1)
  t.unchanged(function() C:update(2, { phone = '123' }) end, { "'phone'", '"123"', 'id = 1' })
end)

t.case('dropping an index', function()
  db.define('red', def{ fields = fields{ phone = 'string?', code = 'string?' },
                        unique = { 'name', 'code' }, index = { 'born' } })
  local s = C:schema()
  t.eq(s.index, { 'born' })
  t.eq(s.unique, { 'name', 'code' })
  t.raises_all(function() return t.keys(C, { index = 'town' }) end, { "'red'", "'town'" })
  t.raises_all(function() return t.keys(C, { index = 'town,born' }) end, { "'red'", "'town,born'" })
  t.raises_all(function() return C:find('phone', '123') end, { "'red'", "'phone'" })
  -- the unique constraint is gone with its index
  C:update(2, { phone = '123' })
  t.eq(C:count{ phone = '123' }, 2)
  -- conditions on the field still work without the index
  t.eq(C:count{ town = '东' }, 50)
  -- writes keep the remaining indexes right
  C:update(3, { born = '2020-02-02' })
  t.eq(t.keys(C, { index = 'born', eq = '2020-02-02' }), { 3 })
  -- an index added again is built afresh
  db.define('red', def{ fields = fields{ phone = 'string?', code = 'string?' },
                        unique = { 'name', 'code' }, index = { 'born', 'town' } })
  t.eq(C:count{ index = 'town', eq = '东' }, 50)
  t.eq(#t.keys(C, { index = 'town' }), 200)
end)

t.case('required -> optional is allowed', function()
  db.define('red', def{ fields = fields{ phone = 'string?', code = 'string?', born = 'date?' },
                        unique = { 'name', 'code' }, index = { 'born', 'town' } })
  t.eq(C:schema().fields.born, 'date?')
  C:update(4, { born = db.null })
  t.eq(C:get(4, 'born'), nil)
  t.eq(#t.keys(C, { index = 'born' }), 199)
end)

local CUR = def{ fields = fields{ phone = 'string?', code = 'string?', born = 'date?' },
                 unique = { 'name', 'code' }, index = { 'born', 'town' } }

t.case('incompatible changes are refused while records exist', function()
  local function with(f, over)
    local d = {}
    for k, v in pairs(CUR) do d[k] = v end
    d.fields = fields(f)
    for k, v in pairs(over or {}) do d[k] = v end
    return d
  end
  local base = { phone = 'string?', code = 'string?', born = 'date?' }
  local function plus(x)
    local r = {}
    for k, v in pairs(base) do r[k] = v end
    for k, v in pairs(x) do r[k] = v end
    return r
  end
  -- a field's type
  t.unchanged(function() db.define('red', with(plus{ town = 'int' })) end,
              { "collection 'red'", "'town'", 'string', 'int' })
  t.unchanged(function() db.define('red', with(plus{ code = 'int?' })) end,
              { "collection 'red'", "'code'", 'string', 'int' })
  t.unchanged(function() db.define('red', with(plus{ born = 'string?' })) end,
              { "collection 'red'", "'born'", 'date', 'string' })
  -- a removed field
  t.unchanged(function() db.define('red', with(plus{ note = false })) end,
              { "collection 'red'", "'note'" })
  t.unchanged(function() db.define('red', with(plus{ phone = false })) end,
              { "collection 'red'", "'phone'" })
  -- a new required field
  t.unchanged(function() db.define('red', with(plus{ level = 'int' })) end,
              { "collection 'red'", "'level'", 'optional' })
  -- optional -> required
  t.unchanged(function() db.define('red', with(plus{ note = 'string' })) end,
              { "collection 'red'", "'note'", 'required' })
  -- a different key
  t.unchanged(function() db.define('red', with(plus{}, { key = 'name' })) end,
              { "collection 'red'", "'id'", "'name'", 'key' })
  -- no longer allowing extra fields, or starting to, are not silent
  t.eq(C:schema().extra, false)
  -- the record count is in the message
  local err = t.raises(function() db.define('red', with(plus{ town = 'int' })) end, '200')
  t.ok(err:find('200', 1, true), err)
  -- the definition in force is unchanged, and works
  t.eq(C:schema().fields, fields(base))
  C:update(5, { note = 'still works' })
  t.eq(C:get(5, 'note'), 'still works')
end)

t.case('the same changes are allowed when the collection is empty', function()
  db.atomic(function()
    for r in C:scan() do C:delete(r.id) end
  end)
  t.eq(C:count(), 0)
  db.define('red', { key = 'name', fields = { name = 'string', town = 'int', level = 'int', note = 'string' },
                     index = { 'level' } })
  local s = C:schema()
  t.eq(s.key, 'name')
  t.eq(s.fields, { name = 'string', town = 'int', level = 'int', note = 'string' })
  t.eq(s.index, { 'level' })
  t.eq(s.unique, {})
  C:insert{ name = 'x', town = 1, level = 2, note = 'y' }
  t.eq(C:get('x'), { name = 'x', town = 1, level = 2, note = 'y' })
  t.eq(t.keys(C, { index = 'level', eq = 2 }), { 'x' })
  t.raises_all(function() C:insert{ name = 'z', town = 1, level = 2 } end, { "'note'" })
  -- no stale entries from the old indexes
  t.eq(C:count{ index = 'level' }, 1)
end)

t.case('extra fields: allowing them is compatible, stopping is not while records exist', function()
  db.define('ex', { key = 'id', fields = { id = 'int' } })
  db.ex:insert{ id = 1 }
  db.define('ex', { key = 'id', fields = { id = 'int' }, extra = true })
  db.ex:insert{ id = 2, anything = 'goes' }
  t.eq(db.ex:get(2), { id = 2, anything = 'goes' })
  t.eq(db.ex:get(1), { id = 1 })
  t.unchanged(function() db.define('ex', { key = 'id', fields = { id = 'int' } }) end,
              { "collection 'ex'", 'extra' })
  t.eq(db.ex:get(2, 'id'), 2)
end)

t.done()

-- A command makes room for the collections and indexes its database holds
-- and STORE_DBS_ROOM (256) more (LMDB zeroes that many handles' state at
-- every savepoint): defining more in one command is refused with a message,
-- what was defined before stays, and the next command has room again.
local made, err = 0, nil
for i = 1, 400 do
  local ok, e = pcall(db.define, 'many' .. i, { fields = { id = 'int' } })
  if not ok then
    err = e
    break
  end
  made = i
end
t.ok(err, 'defining 400 collections in one command stops at the room it has')
t.ok(made > 150, 'at least 150 new collections fit in one command, got ' .. made)
t.ok(tostring(err):find('run the command again', 1, true), tostring(err))
t.eq(db['many' .. made]:count(), 0)
