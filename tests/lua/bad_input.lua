-- bad_input.lua — every bad input of the issue gets an error naming the
-- collection, the field, the value and what was expected, and leaves the
-- database exactly as it was (checked with a snapshot of every record and
-- every index after each failing call).
local t = require 'testlib'

db.define('members', {
  key = 'member_id',
  fields = { member_id = 'int', name = 'string', id_number = 'string', birth_date = 'date',
             town = 'string', status = 'string', retire_date = 'date?', dues = 'fen?',
             height = 'number?', union = 'bool?', info = 'any?' },
  unique = { 'id_number', { 'town', 'name' } },
  index = { 'status', { 'town', 'status' }, 'birth_date' },
})
local M = db.members
db.define('codes', { key = 'code', fields = { code = 'string', label = 'string?' }, index = { 'label' },
                     unique = {} })
db.define('autos', { fields = { v = 'string' }, unique = { 'v' } })

local function member(id, over)
  local m = { member_id = id, name = '成员' .. id, id_number = string.format('330481199001%06d', id),
              birth_date = '1990-01-01', town = '硖石街道', status = 'active' }
  for k, v in pairs(over or {}) do m[k] = v end
  return m
end
db.atomic(function()
  for i = 1, 20 do M:insert(member(i, { dues = i * 100, info = { n = i } })) end
  M:update(2, { retire_date = '2024-01-01', status = 'retired' })
  db.codes:insert{ code = 'A', label = 'a' }
  db.autos:insert{ v = 'one' }
end)

-- the three writes that take a whole record
local function via_all(rec, subs, what)
  local r = {}
  for k, v in pairs(rec) do r[k] = v end
  t.unchanged(function() M:insert(r) end, subs, what .. ' (insert)')
  t.unchanged(function() M:put(r) end, subs, what .. ' (put)')
  t.unchanged(function() db.atomic(function() M:put(r) end) end, subs, what .. ' (put in db.atomic)')
end

t.case('wrong field types', function()
  local cases = {
    -- field, bad value, shown value, words of the expectation
    { 'member_id', 'x1', '"x1"', 'integer' },
    { 'member_id', 1.5, '1.5', 'integer' },
    { 'member_id', true, 'true', 'integer' },
    { 'name', 42, '42', 'string' },
    { 'name', { 'x' }, 'table', 'string' },
    { 'name', false, 'false', 'string' },
    { 'birth_date', '1990/13/01', '"1990/13/01"', 'date (YYYY-MM-DD)' },
    { 'birth_date', '1990-02-30', '"1990-02-30"', 'date' },
    { 'birth_date', 19900101, '19900101', 'date' },
    { 'retire_date', '2024-13-01', '"2024-13-01"', 'date' },
    { 'dues', 12.5, '12.5', 'fen' },
    { 'dues', 100.0, '100', 'fen' },
    { 'dues', '100', '"100"', 'fen' },
    { 'height', '1.70', '"1.70"', 'number' },
    { 'union', 1, '1', 'bool' },
    { 'union', 'yes', '"yes"', 'bool' },
    { 'info', print, 'function', nil },
    { 'status', print, 'function', 'string' },
  }
  for _, c in ipairs(cases) do
    local field, bad, shown, expect = c[1], c[2], c[3], c[4]
    local subs = { "collection 'members'", "'" .. field .. "'", shown }
    if expect then subs[#subs + 1] = expect end
    via_all(member(100, { [field] = bad }), subs, field .. ' = ' .. tostring(bad))
    if field ~= 'member_id' then
      t.unchanged(function() M:update(1, { [field] = bad }) end, subs, field .. ' (update)')
    end
  end
  -- a long string value is shown shortened, still with the field
  t.unchanged(function() M:insert(member(100, { birth_date = string.rep('9', 5000) })) end,
              { "collection 'members'", "'birth_date'", '"9999' })
  -- integers past 64 bits in an int field
  via_all(member(100, { member_id = 2 ^ 63 }), { "collection 'members'", "'member_id'", 'integer' }, '2^63')
  via_all(member(100, { member_id = 1e300 }), { "collection 'members'", "'member_id'", 'integer' }, '1e300')
end)

t.case('unknown fields', function()
  via_all(member(100, { colour = 'red' }),
          { "collection 'members'", "'colour'", 'member_id', 'name', 'birth_date' }, 'colour')
  via_all(member(100, { Name = 'x' }), { "collection 'members'", "'Name'" }, 'Name')
  via_all(member(100, { [1] = 'x' }), { "collection 'members'", '1' }, '[1]')
  t.unchanged(function() M:update(1, { colour = 'red' }) end,
              { "collection 'members'", "'colour'", 'member_id' })
  t.unchanged(function() M:update(1, { [true] = 'x' }) end, { "collection 'members'", 'true' })
end)

t.case('missing required fields', function()
  for _, f in ipairs{ 'name', 'id_number', 'birth_date', 'town', 'status' } do
    via_all(member(100, { [f] = false and nil }) and (function()
      local m = member(100)
      m[f] = nil
      return m
    end)(), { "collection 'members'", "'" .. f .. "'", 'missing' }, 'without ' .. f)
  end
  -- put replacing an existing record must be whole too
  local m = member(1)
  m.status = nil
  t.unchanged(function() M:put(m) end, { "collection 'members'", "'status'", 'missing' })
  -- the key of a collection without automatic keys
  local k = member(100)
  k.member_id = nil
  via_all(k, { "collection 'members'", "'member_id'", 'missing' }, 'without the key')
  -- a required field cannot be cleared by update
  t.unchanged(function() M:update(1, { town = db.null }) end, { "collection 'members'", "'town'" })
end)

t.case('duplicate unique values name the index, the value and the record holding it', function()
  local taken = member(3).id_number
  local subs = { "collection 'members'", "unique index 'id_number'", '"' .. taken .. '"', 'member_id = 3' }
  via_all(member(100, { id_number = taken }), subs, 'id_number taken')
  t.unchanged(function() M:update(1, { id_number = taken }) end, subs, 'update to a taken id_number')
  t.unchanged(function() M:put(member(1, { id_number = taken })) end, subs, 'put over 1 with a taken id_number')
  -- the exact message of the README
  local err = t.raises(function() M:insert(member(100, { id_number = taken })) end)
  t.ok(err:find(string.format(
    "collection 'members': id_number = \"%s\" is already taken by the record with member_id = 3 (unique index 'id_number')",
    taken), 1, true), err)
  -- a compound unique index names both values
  local csubs = { "collection 'members'", "'town,name'", '硖石街道', '成员4', 'member_id = 4' }
  via_all(member(100, { name = '成员4' }), csubs, 'town,name taken')
  t.unchanged(function() M:update(5, { name = '成员4' }) end, csubs, 'update to a taken town,name')
  -- the same name in another town is fine (then undone)
  M:insert(member(100, { name = '成员4', town = '海昌街道' }))
  M:delete(100)
  -- a string key collection: the existing key is shown as a string
  db.autos:insert{ v = 'two' }
  t.unchanged(function() db.autos:insert{ v = 'one' } end, { "collection 'autos'", "'v'", '"one"', 'id = 1' })
  -- an existing primary key
  -- an existing primary key (put replaces, so only insert fails)
  t.unchanged(function() M:insert(member(7)) end, { "collection 'members'", 'member_id = 7', 'already exists' })
  t.unchanged(function() db.codes:insert{ code = 'A' } end, { "collection 'codes'", 'code = "A"', 'already exists' })
end)

t.case('keys too long', function()
  local long = string.rep('长', 200) -- 600 bytes
  t.unchanged(function() db.codes:insert{ code = long } end,
              { "collection 'codes'", '511' }, 'a string key of 600 bytes')
  t.unchanged(function() db.codes:put{ code = long, label = 'x' } end,
              { "collection 'codes'", '511' }, 'put with a key of 600 bytes')
  t.unchanged(function() db.atomic(function() db.codes:insert{ code = long } end) end,
              { "collection 'codes'", '511' })
  -- just under and just over the limit (the encoding adds a few bytes)
  local okk
  for n = 500, 512 do
    local ok = pcall(db.codes.insert, db.codes, { code = string.rep('k', n) })
    if ok then
      okk = n
      t.eq(db.codes:get(string.rep('k', n), 'code'), string.rep('k', n))
      db.codes:delete(string.rep('k', n))
    end
  end
  t.ok(okk and okk >= 505, 'keys of about 505 bytes fit')
  -- looking up or deleting by a too-long key finds nothing (or says why), and changes nothing
  local before = t.snapshot()
  local ok, r = pcall(db.codes.get, db.codes, long)
  if ok then t.eq(r, nil) else t.ok(tostring(r):find('511', 1, true), r) end
  ok, r = pcall(db.codes.delete, db.codes, long)
  if ok then t.eq(r, false) else t.ok(tostring(r):find('511', 1, true), r) end
  t.eq(t.snapshot(), before)
  -- an indexed value too long for its index
  t.unchanged(function() db.codes:insert{ code = 'B', label = long } end,
              { "collection 'codes'", "'label'", '511' }, 'an index value of 600 bytes')
  t.unchanged(function() db.codes:update('A', { label = long }) end,
              { "collection 'codes'", "'label'", '511' }, 'update to an index value of 600 bytes')
  t.unchanged(function() M:update(1, { id_number = long }) end,
              { "collection 'members'", "'id_number'", '511' }, 'a unique index value of 600 bytes')
  -- an unindexed field may be long
  M:update(1, { info = long })
  t.eq(M:get(1, 'info'), long)
  M:update(1, { info = { n = 1 } })
end)

t.case('a key too long names its field (the issue: name collection, field, value, expectation)', function()
  local long = string.rep('长', 200)
  t.unchanged(function() db.codes:insert{ code = long } end,
              { "collection 'codes'", "'code'", '511', '长长长' }, 'a string key of 600 bytes')
end)

t.case('an index on an unknown field', function()
  local before = t.snapshot()
  t.raises_all(function()
    db.define('idx', { fields = { a = 'int', b = 'string' }, index = { 'c' } })
  end, { "collection 'idx'", "'c'" })
  t.raises_all(function()
    db.define('idx', { fields = { a = 'int', b = 'string' }, index = { { 'a', 'zz' } } })
  end, { "collection 'idx'", "'zz'" })
  t.raises_all(function()
    db.define('idx', { fields = { a = 'int', b = 'string' }, unique = { 'B' } })
  end, { "collection 'idx'", "'B'" })
  -- on an existing collection
  t.raises_all(function()
    db.define('codes', { key = 'code', fields = { code = 'string', label = 'string?' }, index = { 'label', 'lable' } })
  end, { "collection 'codes'", "'lable'" })
  t.eq(t.snapshot(), before)
end)

t.case('a definition changed incompatibly while records exist', function()
  t.unchanged(function()
    db.define('codes', { key = 'code', fields = { code = 'string', label = 'int?' }, index = { 'label' } })
  end, { "collection 'codes'", "'label'", 'string', 'int' })
  t.unchanged(function()
    db.define('codes', { key = 'code', fields = { code = 'string' } })
  end, { "collection 'codes'", "'label'" })
end)

t.case('odd numbers in number fields', function()
  -- NaN and infinities: stored and read back, or refused clearly; never a crash
  for _, v in ipairs{ 0 / 0, math.huge, -math.huge } do
    local ok, err = pcall(M.update, M, 1, { height = v })
    if ok then
      local got = M:get(1, 'height')
      t.ok(got == v or (v ~= v and got ~= got), 'read back ' .. tostring(v))
    else
      t.ok(tostring(err):find("'height'", 1, true), err)
    end
  end
  M:update(1, { height = db.null })
end)

t.case('bad arguments', function()
  t.unchanged(function() M:get() end, {})
  t.unchanged(function() M:get('x') end, { "'members'", "'member_id'", '"x"' })
  t.unchanged(function() M:delete('x') end, { "'members'", "'member_id'", '"x"' })
  t.unchanged(function() M:update('x', {}) end, { "'members'", "'member_id'", '"x"' })
  t.unchanged(function() M:find('id_number') end, {})
  t.unchanged(function() M:find('nosuch', 1) end, { "'members'", "'nosuch'" })
  t.unchanged(function() M.get(nil, 1) end, {})
  t.unchanged(function() db.define() end, {})
  t.unchanged(function() db.define('x') end, {})
  t.unchanged(function() db.define('x', { fields = 'int' }) end, { "'x'" })
end)

t.done()
