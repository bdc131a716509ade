-- prepare.lua — coll:prepare_insert(constants, field, ...): the constant
-- fields checked once, a function taking the named fields' values in order
-- and inserting one record (returning its key); errors the same as insert's.
local t = require 'testlib'

local spec = {
  fields = { member_id = 'int', campaign = 'string', item = 'string', amount_fen = 'fen',
             given = 'date?', note = 'string?', extra_info = 'any?' },
  unique = { { 'campaign', 'member_id' } },
  index = { 'member_id', 'item' },
}
db.define('awards', spec)       -- automatic key 'id'
db.define('awards_ref', spec)   -- the same, filled with plain insert

t.case('inserts records like insert does, returning keys', function()
  local award = db.awards:prepare_insert(
    { campaign = 'spring-2025', item = 'gift-package', amount_fen = 20000 }, 'member_id')
  t.eq(type(award), 'function')
  local keys = {}
  db.atomic(function()
    for m = 1, 100 do keys[#keys + 1] = award(m) end
  end)
  for m = 1, 100 do
    db.awards_ref:insert{ member_id = m, campaign = 'spring-2025', item = 'gift-package', amount_fen = 20000 }
  end
  t.eq(keys[1], 1)
  t.eq(keys[100], 100)
  t.eq(db.awards:get(7), { id = 7, member_id = 7, campaign = 'spring-2025', item = 'gift-package', amount_fen = 20000 })
  t.eq(db.awards:list(), db.awards_ref:list(), 'the same records as plain inserts')
  t.eq(t.keys(db.awards, { index = 'member_id', from = 10, to = 12 }), { 10, 11, 12 })
  t.eq(db.awards:count{ index = 'item', eq = 'gift-package' }, 100)
  t.eq(db.awards:find('campaign,member_id', { 'spring-2025', 42 }, 'id'), 42)
  -- outside db.atomic each call is its own transaction
  t.eq(award(101), 101)
  t.eq(db.awards:get(101, 'member_id'), 101)
end)

t.case('several fields given, optional ones may be nil, any values', function()
  local put = db.awards:prepare_insert({ campaign = 'c2', amount_fen = 1 }, 'member_id', 'item', 'note', 'extra_info', 'given')
  local k = put(1, 'cake', nil, { a = { 1, 2 } }, '2025-01-28')
  t.eq(db.awards:get(k), { id = k, member_id = 1, campaign = 'c2', item = 'cake', amount_fen = 1,
                           extra_info = { a = { 1, 2 } }, given = '2025-01-28' })
  local k2 = put(2, 'tea', 'n', nil, nil)
  t.eq(db.awards:get(k2), { id = k2, member_id = 2, campaign = 'c2', item = 'tea', amount_fen = 1, note = 'n' })
  -- a long value
  local long = string.rep('长', 5000)
  local k3 = put(3, 'long', long, nil, nil)
  t.eq(db.awards:get(k3, 'note'), long)
  -- constants may be empty
  local all = db.awards:prepare_insert({}, 'member_id', 'campaign', 'item', 'amount_fen')
  local k4 = all(4, 'c3', 'x', 5)
  t.eq(db.awards:get(k4), { id = k4, member_id = 4, campaign = 'c3', item = 'x', amount_fen = 5 })
end)

t.case('keys: automatic, or given', function()
  db.define('keyed', { key = 'code', fields = { code = 'string', v = 'int' }, index = { 'v' } })
  local ins = db.keyed:prepare_insert({ v = 1 }, 'code')
  t.eq(ins('a'), 'a')
  t.eq(ins('工会'), '工会')
  t.eq(db.keyed:get('工会'), { code = '工会', v = 1 })
  t.unchanged(function() ins('a') end, { "collection 'keyed'", 'code = "a"', 'already exists' })
  -- an automatic key given explicitly, or left to nil
  local withid = db.awards:prepare_insert({ campaign = 'c4', item = 'i', amount_fen = 1 }, 'id', 'member_id')
  t.eq(withid(5000, 1), 5000)
  t.eq(withid(nil, 2), 5001)
  t.eq(db.awards:get(5001, 'member_id'), 2)
end)

t.case('errors at prepare time name the collection and field', function()
  local A = db.awards
  local before = t.snapshot()
  t.raises_all(function() A:prepare_insert({ campaign = 'x', item = 'i', amount_fen = 1.5 }, 'member_id') end,
               { "collection 'awards'", "'amount_fen'", '1.5' })
  t.raises_all(function() A:prepare_insert({ campaign = 'x', item = 'i', amount_fen = 1, colour = 'red' }, 'member_id') end,
               { "collection 'awards'", 'colour' })
  t.raises_all(function() A:prepare_insert({ campaign = 'x', item = 'i', amount_fen = 1 }, 'member_idd') end,
               { "collection 'awards'", "'member_idd'" })
  t.raises_all(function() A:prepare_insert({ campaign = 'x', amount_fen = 1 }, 'member_id') end,
               { "collection 'awards'", "'item'" })
  t.raises_all(function() A:prepare_insert({ campaign = 'x', item = 'i', amount_fen = 1, member_id = 1 }, 'member_id') end,
               { "collection 'awards'", "'member_id'" })
  t.raises_all(function() A:prepare_insert({ campaign = 'x', item = 'i', amount_fen = 1, given = '2025-02-30' }, 'member_id') end,
               { "collection 'awards'", "'given'", '2025-02-30' })
  t.eq(t.snapshot(), before, 'a failed prepare_insert wrote nothing')
end)

t.case('errors at call time are insert\'s, and change nothing', function()
  local award = db.awards:prepare_insert({ campaign = 'dup', item = 'i', amount_fen = 1 }, 'member_id', 'given')
  award(1, nil)
  t.unchanged(function() award(1, nil) end,
              { "collection 'awards'", "unique index 'campaign,member_id'", '"dup"', 'id = ' })
  t.unchanged(function() award('x', nil) end, { "collection 'awards'", "'member_id'", '"x"' })
  t.unchanged(function() award(2, '2025-13-01') end, { "collection 'awards'", "'given'", '"2025-13-01"' })
  t.unchanged(function() award(nil, nil) end, { "collection 'awards'", "'member_id'" })
  t.unchanged(function() award(2) end, { "collection 'awards'" })
  t.unchanged(function() award(2, nil, 3) end, { "collection 'awards'" })
  -- in db.atomic: the unit is rolled back
  t.unchanged(function()
    db.atomic(function()
      for m = 10, 20 do award(m, nil) end
      award(1, nil)
    end)
  end, { "'campaign,member_id'" })
end)

t.case('after a redefinition the prepared insert is refused (prepare it again)', function()
  local award = db.awards:prepare_insert({ campaign = 'r', item = 'i', amount_fen = 1 }, 'member_id')
  award(1)
  local s2 = {}
  for k, v in pairs(spec) do s2[k] = v end
  s2.fields = {}
  for k, v in pairs(spec.fields) do s2.fields[k] = v end
  s2.fields.level = 'int?'
  db.define('awards', s2)
  t.unchanged(function() award(2) end, { "'awards'", 'prepare' })
  local again = db.awards:prepare_insert({ campaign = 'r', item = 'i', amount_fen = 1, level = 3 }, 'member_id')
  local k = again(2)
  t.eq(db.awards:get(k, 'level'), 3)
end)

t.case('extra fields as constants on a collection with extra = true (as insert allows)', function()
  db.define('loose', { fields = { a = 'int' }, extra = true })
  db.loose:insert{ a = 1, colour = 'red' }
  local ins = db.loose:prepare_insert({ colour = 'blue' }, 'a')
  local k = ins(2)
  t.eq(db.loose:get(k), { id = k, a = 2, colour = 'blue' })
end)

t.done()
