-- records.lua — get, insert, put, update, delete, find, count.
local t = require 'testlib'

db.define('members', {
  key = 'member_id',
  fields = { member_id = 'int', name = 'string', id_number = 'string', birth_date = 'date',
             town = 'string', category = 'string', status = 'string', retire_date = 'date?',
             phone = 'string?' },
  unique = { 'id_number', { 'town', 'name' } },
  index = { 'category', { 'town', 'status' } },
})
local M = db.members

local function member(id, over)
  local m = { member_id = id, name = 'name' .. id, id_number = string.format('3304811990%08d', id),
              birth_date = '1990-01-01', town = 'town' .. (id % 3), category = 'courier',
              status = 'active' }
  for k, v in pairs(over or {}) do m[k] = v end
  return m
end

t.case('insert returns the key; get returns a table or nil', function()
  t.eq(M:insert(member(1)), 1)
  t.eq(M:insert(member(2, { name = '李娜', town = '硖石街道' })), 2)
  t.eq(M:get(1), member(1))
  t.eq(M:get(2).name, '李娜')
  t.eq(M:get(3), nil)
  t.eq(M:get(-1), nil)
  t.eq(M:count(), 2)
end)

t.case('get with field names returns values', function()
  local nm, town = M:get(2, 'name', 'town')
  t.eq(nm, '李娜')
  t.eq(town, '硖石街道')
  t.eq(select('#', M:get(2, 'name', 'retire_date', 'status')), 3)
  local a, b, c = M:get(2, 'name', 'retire_date', 'status')
  t.eq({ a, b, c }, { '李娜', nil, 'active' })
  t.eq(M:get(99, 'name'), nil)
  t.raises_all(function() return M:get(2, 'nmae') end, { "'members'", "'nmae'" })
end)

t.case('insert refuses an existing key', function()
  t.unchanged(function() M:insert(member(1, { name = 'other', id_number = 'X1' })) end,
              { "collection 'members'", 'member_id = 1', 'already exists' })
  t.eq(M:get(1), member(1))
end)

t.case('put inserts or replaces', function()
  t.eq(M:put(member(3)), 3)
  t.eq(M:get(3), member(3))
  t.eq(M:put(member(3, { status = 'retired', retire_date = '2025-03-01' })), 3)
  t.eq(M:get(3), member(3, { status = 'retired', retire_date = '2025-03-01' }))
  -- a replace drops fields not given
  M:put(member(3))
  t.eq(M:get(3, 'retire_date'), nil)
  t.eq(M:count(), 3)
  -- replacing moves index entries
  M:put(member(3, { category = 'driver' }))
  t.eq(t.keys(M, { index = 'category', eq = 'driver' }), { 3 })
  t.eq(t.keys(M, { index = 'category', eq = 'courier' }), { 1, 2 })
  -- a replace may keep its own unique value
  M:put(member(3, { category = 'driver', phone = '1' }))
  t.eq(M:find('id_number', member(3).id_number, 'member_id'), 3)
end)

t.case('update is partial', function()
  t.eq(M:update(1, { status = 'retired', retire_date = '2025-03-01' }), true)
  t.eq(M:get(1), member(1, { status = 'retired', retire_date = '2025-03-01' }))
  t.eq(t.keys(M, { index = 'town,status', eq = { 'town1', 'retired' } }), { 1 })
  t.eq(t.keys(M, { index = 'town,status', eq = { 'town1', 'active' } }), {})
  -- absent: nil, nothing written
  local before = t.snapshot()
  t.eq(M:update(99, { status = 'x' }), nil)
  t.eq(t.snapshot(), before)
  -- an update may set the key field to its own value
  t.eq(M:update(1, { member_id = 1, phone = '123' }), true)
  t.eq(M:get(1, 'phone'), '123')
  -- an empty change is fine
  t.eq(M:update(1, {}), true)
  t.eq(M:get(1, 'phone'), '123')
end)

t.case('update with db.null clears an optional field', function()
  t.eq(M:update(1, { retire_date = db.null, status = 'active' }), true)
  local r = M:get(1)
  t.eq(r.retire_date, nil)
  t.eq(r.status, 'active')
  t.eq(r, member(1, { phone = '123' }))
  -- clearing an absent field is fine
  t.eq(M:update(1, { retire_date = db.null }), true)
  -- a required field cannot be cleared
  t.unchanged(function() M:update(1, { name = db.null }) end,
              { "collection 'members'", "'name'", 'required' })
  t.unchanged(function() M:update(1, { member_id = db.null }) end, { "collection 'members'", "'member_id'" })
end)

t.case('update refuses key changes and bad values', function()
  t.unchanged(function() M:update(1, { member_id = 50 }) end,
              { "collection 'members'", "'member_id'", 'key' })
  t.eq(M:get(50), nil)
  t.unchanged(function() M:update(1, { birth_date = '1990-02-30' }) end,
              { "collection 'members'", "field 'birth_date'", '"1990-02-30"', 'date' })
  t.unchanged(function() M:update(1, { nosuch = 1 }) end, { "collection 'members'", "'nosuch'" })
  t.unchanged(function() M:update(1, 'status') end, { "collection 'members'" })
  t.unchanged(function() M:update(1, { id_number = member(2).id_number }) end,
              { "collection 'members'", member(2).id_number, 'member_id = 2', "'id_number'" })
end)

t.case('delete', function()
  M:insert(member(10, { category = 'driver' }))
  t.eq(M:count(), 4)
  t.eq(M:delete(10), true)
  t.eq(M:delete(10), false)
  t.eq(M:get(10), nil)
  t.eq(M:count(), 3)
  t.eq(M:find('id_number', member(10).id_number), nil, 'index entry removed')
  t.eq(t.keys(M, { index = 'category', eq = 'driver' }), { 3 })
  -- its unique value is free again
  M:insert(member(11, { id_number = member(10).id_number }))
  t.eq(M:find('id_number', member(10).id_number, 'member_id'), 11)
  M:delete(11)
end)

t.case('find by a unique index', function()
  local r = M:find('id_number', member(2).id_number)
  t.eq(r, M:get(2))
  t.eq(M:find('id_number', 'nope'), nil)
  t.eq(M:find('id_number', member(2).id_number, 'name'), '李娜')
  local a, b = M:find('id_number', member(2).id_number, 'name', 'town')
  t.eq({ a, b }, { '李娜', '硖石街道' })
  -- a compound unique index takes a table value
  t.eq(M:find('town,name', { '硖石街道', '李娜' }, 'member_id'), 2)
  t.eq(M:find('town,name', { 'town1', 'name1' }).member_id, 1)
  t.eq(M:find('town,name', { 'town1', 'name2' }), nil)
  -- an unknown index names the ones there are
  t.raises_all(function() return M:find('name', 'x') end, { "'members'", "'name'", 'id_number' })
  -- a value of the wrong type names the field
  t.raises_all(function() return M:find('id_number', 5) end, { "'members'", "'id_number'", '5' })
  -- find on a non-unique index gives the first match
  t.eq(M:find('category', 'courier', 'member_id'), 1)
  t.eq(M:find('category', 'nobody'), nil)
end)

t.case('count with conditions', function()
  t.eq(M:count(), 3)
  t.eq(M:count{ category = 'courier' }, 2)
  t.eq(M:count{ category = 'driver' }, 1)
  t.eq(M:count{ category = { 'courier', 'driver' } }, 3)
  t.eq(M:count{ category = 'courier', town = 'town1' }, 1)
  t.eq(M:count{ status = 'nobody' }, 0)
  t.eq(M:count{ index = 'category', eq = 'courier' }, 2)
end)

t.case('records given as rows and wrong arguments', function()
  -- a row can be passed to put (to copy or to write back)
  db.define('copy', {
    key = 'member_id',
    fields = { member_id = 'int', name = 'string', id_number = 'string', birth_date = 'date',
               town = 'string', category = 'string', status = 'string', retire_date = 'date?',
               phone = 'string?' },
  })
  for r in M:scan() do M:put(r) end
  t.eq(M:count(), 3)
  t.eq(M:get(2).name, '李娜')
  -- a row of another collection is refused (or copied field by field); never a crash
  local ok = pcall(function() for r in M:scan() do db.copy:put(r) end end)
  if ok then t.eq(db.copy:count(), 3) end
  t.raises_all(function() M:insert('x') end, { "'members'" })
  t.raises_all(function() M:insert() end, { "'members'" })
  t.raises_all(function() M:put(42) end, { "'members'" })
end)

t.case('a unique index over an optional field holds only the records that have it', function()
  db.define('receipts', { key = 'id', auto = true,
                          fields = { id = 'int', vendor = 'string', ref = 'string?' },
                          unique = { { 'vendor', 'ref' } } })
  db.receipts:insert{ vendor = 'V01' }
  db.receipts:insert{ vendor = 'V01' }             -- no ref: no entry, no collision
  db.receipts:insert{ vendor = 'V01', ref = 'R1' }
  t.unchanged(function() db.receipts:insert{ vendor = 'V01', ref = 'R1' } end, { "unique index 'vendor,ref'" })
  t.eq(db.receipts:count(), 3)
  t.eq(t.keys(db.receipts, { index = 'vendor,ref' }), { 3 })
  db.receipts:update(3, { ref = db.null })          -- cleared: out of the index, R1 free again
  t.eq(t.keys(db.receipts, { index = 'vendor,ref' }), {})
  db.receipts:insert{ vendor = 'V01', ref = 'R1' }
  t.eq(db.receipts:find('vendor,ref', { 'V01', 'R1' }, 'id'), 4)
end)

t.case('find with one field asked: every kind of value, a field added later, a wide record', function()
  local fields = { code = 'string', n = 'int', x = 'number', ok = 'bool', d = 'date', long = 'string',
                   tags = 'any?', nul = 'string' }
  for i = 1, 12 do fields['w' .. i] = 'string' end -- 20 fields: not the one-byte array header
  db.define('fone', { key = 'code', fields = fields, unique = { 'nul' } })
  local rec = { code = 'A1', n = 70000, x = 2.5, ok = true, d = '2025-03-01', long = ('长'):rep(20),
                tags = { 'a', 'b' }, nul = 'a\0b' }
  for i = 1, 12 do rec['w' .. i] = 'v' .. i end
  db.fone:insert(rec)
  for k, v in pairs(rec) do
    t.eq(db.fone:find('nul', 'a\0b', k), v, k)
  end
  t.eq(db.fone:find('nul', 'a', 'code'), nil)
  t.eq(db.fone:find('nul', 'a\0b', 'n', 'w12'), 70000)
  t.eq(select(2, db.fone:find('nul', 'a\0b', 'n', 'w12')), 'v12')
  t.raises_all(function() return db.fone:find('nul', 'a\0b', 'nosuch') end, { "'fone'", "'nosuch'" })
  -- a field added after the record was stored
  fields.later = 'string?'
  db.define('fone', { key = 'code', fields = fields, unique = { 'nul' } })
  t.eq(db.fone:find('nul', 'a\0b', 'later'), nil)
  t.eq(db.fone:find('nul', 'a\0b', 'w3'), 'v3')
end)

t.case('find and get by name: long names, fields in turn, one object across redefinitions', function()
  -- index and field names too long for Lua to intern (over 40 bytes) are found by their text
  local la, lb = 'a_field_name_long_enough_to_matter_1', 'a_field_name_long_enough_to_matter_2'
  local function define(unique, index)
    db.define('named', { key = 'id', fields = { id = 'int', code = 'string', [la] = 'string',
                                                 [lb] = 'string', town = 'string' },
                         unique = unique, index = index })
  end
  define({ 'code', { la, lb } }, { 'town' })
  local N = db.named
  for i = 1, 5 do
    N:insert{ id = i, code = 'c' .. i, [la] = 'a' .. i, [lb] = 'b' .. i, town = 't' .. (i % 2) }
  end
  local long = la .. ',' .. lb
  t.eq(#long > 40, true)
  t.eq(N:find(long, { 'a3', 'b3' }, 'id'), 3)
  t.eq(N:find(long, { 'a3', 'b3' }, la), 'a3')
  t.eq(N:find('code', 'c4', lb), 'b4')
  t.eq(N:get(2, la), 'a2')
  t.raises_all(function() return N:find(long .. 'x', { 'a3', 'b3' }) end, { "'named'", long .. 'x' })
  -- fields asked for in turn each get their own value (the hint never answers for another)
  for i = 1, 5 do
    t.eq({ N:find('code', 'c' .. i, 'town'), N:find('code', 'c' .. i, 'id'),
           N:get(i, 'code'), N:get(i, 'town') }, { 't' .. (i % 2), i, 'c' .. i, 't' .. (i % 2) })
  end
  -- the same object after a redefinition that puts another index first and drops one: each
  -- index name finds its own index, and the dropped one is refused
  define({ { la, lb }, 'code' }, {})
  t.eq(N:find('code', 'c5', 'id'), 5)
  t.eq(N:find(long, { 'a1', 'b1' }, 'code'), 'c1')
  t.raises_all(function() return N:find('town', 't1') end, { "'named'", "'town'" })
  define({ 'code' }, { 'town', { 'town', 'code' } })
  t.eq(N:find('town,code', { 't0', 'c4' }, 'id'), 4)
  t.eq(N:find('town', 't1', 'id'), 1)
  t.raises_all(function() return N:find(long, { 'a1', 'b1' }) end, { "'named'", long })
end)

t.case('integer keys and indexed integers at each MessagePack width keep their order', function()
  -- the store reads ids below 2^32 without the general reader (issue 18): every width, and
  -- negatives and floats (the general path), must give the same key bytes and order
  db.define('widths', { key = 'k', fields = { k = 'int', v = 'int', x = 'number' }, index = { 'v', 'x' } })
  local ks = { -70000, -129, -33, -1, 0, 1, 127, 128, 255, 256, 65535, 65536, 4294967295, 4294967296 }
  for i = #ks, 1, -1 do db.widths:insert{ k = ks[i], v = ks[i], x = ks[i] } end
  t.eq(t.keys(db.widths), ks)
  t.eq(t.keys(db.widths, { index = 'v' }), ks)
  t.eq(t.keys(db.widths, { index = 'x' }), ks)
  for _, k in ipairs(ks) do
    t.eq(db.widths:get(k).v, k)
    t.eq(db.widths:find('v', k, 'k'), k)
    t.eq(db.widths:find('x', k + 0.0, 'k'), k)
  end
end)

t.case('insert: string, integer and float fields and an auto key', function()
  db.define('autos', { fields = { s = 'string', n = 'int', f = 'fen', r = 'number?', b = 'bool?' } })
  local k1 = db.autos:insert{ s = 'a', n = 2.0, f = 3 }        -- an integral float is an integer
  local k2 = db.autos:insert{ id = 10, s = '', n = -5, f = 0, r = 1.5, b = false }
  local k3 = db.autos:insert{ s = string.rep('长', 40), n = 7, f = 1 }
  t.eq({ k1, k2, k3 }, { 1, 10, 11 })
  t.eq(db.autos:get(1), { id = 1, s = 'a', n = 2, f = 3 })
  t.eq(math.type(db.autos:get(1).n), 'integer')
  t.eq(db.autos:get(10), { id = 10, s = '', n = -5, f = 0, r = 1.5, b = false })
  t.eq(db.autos:get(11).s, string.rep('长', 40))
  t.unchanged(function() db.autos:insert{ s = 'a', n = 2.5, f = 1 } end, { "'n'", 'integer' })
  t.unchanged(function() db.autos:insert{ s = 'a', n = 1, f = 1.0 } end, { "'f'", 'fen' })
  t.unchanged(function() db.autos:insert{ s = 1, n = 1, f = 1 } end, { "'s'", 'string' })
  t.unchanged(function() db.autos:insert{ s = 'a', n = 1, f = 1, nope = 1 } end,
              { "unknown field 'nope'" })
end)

t.case('insert, put and update find a field by its name of any length; a key with a NUL names none', function()
  -- names longer than 40 bytes are not interned by Lua: found by their text
  local long = 'a_field_name_longer_than_forty_bytes_' .. string.rep('x', 10)
  db.define('longnames', { fields = { [long] = 'string', n = 'int' } })
  local k = db.longnames:insert{ [long] = 'v', n = 1 }
  t.eq(db.longnames:get(k), { id = k, [long] = 'v', n = 1 })
  db.longnames:update(k, { [long] = 'w' })
  db.longnames:put{ id = k + 1, [long] = 'p', n = 2 }
  t.eq({ db.longnames:get(k)[long], db.longnames:get(k + 1)[long] }, { 'w', 'p' })
  t.unchanged(function() db.longnames:insert{ [long] = 'v', n = 1, ['n\0x'] = 2 } end,
              { 'unknown field' })
  t.unchanged(function() db.longnames:insert{ [long .. '\0'] = 'v', n = 2 } end, { 'unknown field' })
  t.unchanged(function() db.longnames:update(k, { ['n\0'] = 3 }) end, { 'unknown field' })
  -- the extra field's own (empty) name is a key like any other of the extra map
  db.define('extras', { fields = { a = 'int' }, extra = true })
  local e = db.extras:insert{ a = 1, [''] = 5, zz = 'q' }
  db.extras:update(e, { [''] = 6, a = 2 })
  t.eq(db.extras:get(e), { id = e, a = 2, [''] = 6, zz = 'q' })
end)

t.case('insert returns its key as given, and stores strings of every length as given', function()
  -- keys of each integer width (the returned key is read from the encoded
  -- record), and string fields around MessagePack's 31-byte short form
  db.define('keywidths', { key = 'id', fields = { id = 'int', s = 'string', n = 'fen' } })
  local keys = { 0, 1, 127, 128, 255, 256, 65535, 65536, 4294967295, 4294967296, -1, -33, -2 ^ 40 }
  db.atomic(function()
    for i, k in ipairs(keys) do
      k = math.tointeger(k)
      local s = ('字'):rep(i * 3) .. ('x'):rep(i)
      local got = db.keywidths:insert{ id = k, s = s, n = k }
      t.eq(got, k)
      t.eq(math.type(got), 'integer')
      t.eq(db.keywidths:get(k), { id = k, s = s, n = k })
    end
  end)
  for _, n in ipairs({ 0, 30, 31, 32, 33, 255, 256, 70000 }) do
    local s = ('a'):rep(n)
    db.keywidths:put{ id = 7, s = s, n = n }
    t.eq(db.keywidths:get(7, 's'), s)
  end
  t.unchanged(function() db.keywidths:insert{ id = 8, s = 5, n = 1 } end, { "'s'" })
  t.unchanged(function() db.keywidths:insert{ id = 8, s = 'x', n = 1.5 } end, { "'n'" })
  t.eq(db.keywidths:insert{ id = 8.0, s = 'x', n = 2 }, 8)
end)

t.done()
