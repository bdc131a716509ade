-- query_helper.lua — the query helper (scripts/lib/query.lua; a test named query.lua
-- would find itself first with require), where, pick, order,
-- limit/offset, group with count/sum/avg/min/max, first; queries are values.
local t = require 'testlib'
local query = require 'query'

db.define('members', { key = 'member_id', fields = { member_id = 'int', name = 'string',
  town = 'string', category = 'string', birth_date = 'date', amount_fen = 'fen?' },
  index = { 'category', 'town' } })
db.atomic(function()
  local towns = { '沈家门街道', '硖石街道', '东港街道' }
  for i = 1, 30 do
    db.members:insert{ member_id = i, name = '会员' .. i, town = towns[i % 3 + 1],
      category = i % 2 == 0 and 'courier' or 'sanitation',
      birth_date = string.format('19%02d-01-01', 60 + i), amount_fen = i % 5 ~= 0 and i * 100 or nil }
  end
end)
local m = query(db.members)

t.case('where and count use the collection counts', function()
  t.eq(m:where{ category = 'courier' }:count(), 15)
  t.eq(m:count(), 30)
  t.eq(m:where{ category = 'courier', town = '沈家门街道' }:count(), db.members:count{ category = 'courier', town = '沈家门街道' })
  t.eq(m:where{ member_id = { from = 5, to = 9 } }:count(), 5)
  t.eq(m:where{ town = { '硖石街道', '东港街道' } }:count(), 20)
end)

t.case('pick, order, limit, offset', function()
  local l = m:where{ category = 'courier' }:pick('member_id', 'name'):order('-birth_date'):limit(3):list()
  t.eq(l, { { member_id = 30, name = '会员30' }, { member_id = 28, name = '会员28' }, { member_id = 26, name = '会员26' } })
  t.eq(getmetatable(l).__columns, { 'member_id', 'name' })
  local o = m:pick('member_id'):order('member_id'):offset(2):limit(2):list()
  t.eq(o, { { member_id = 3 }, { member_id = 4 } })
  local u = m:pick('member_id'):offset(28):list() -- key order without sorting
  t.eq(u, { { member_id = 29 }, { member_id = 30 } })
  t.eq(m:where{ member_id = 7 }:first().name, '会员7')
  t.eq(m:where{ member_id = 99 }:first(), nil)
end)

t.case('aggregates', function()
  t.eq(m:sum('amount_fen'), (465 - (5 + 10 + 15 + 20 + 25 + 30)) * 100)
  t.eq(m:where{ member_id = { 1, 2, 3 } }:avg('amount_fen'), 200.0)
  t.eq(m:min('birth_date'), '1961-01-01')
  t.eq(m:max('member_id'), 30)
  t.eq(m:where{ member_id = 99 }:sum('amount_fen'), 0)
  t.eq(m:where{ member_id = 99 }:avg('amount_fen'), nil)
end)

t.case('groups', function()
  local g = m:where{ category = 'courier' }:group('town'):count()
  t.eq(#g, 3)
  t.eq(getmetatable(g).__columns, { 'town', 'count' })
  local total = 0
  for _, r in ipairs(g) do total = total + r.count end
  t.eq(total, 15)
  t.ok(g[1].count >= g[2].count and g[2].count >= g[3].count, 'biggest group first')
  local s = m:group('category'):sum('amount_fen')
  t.eq(#s, 2)
  t.eq(s[1].sum_amount_fen + s[2].sum_amount_fen, m:sum('amount_fen'))
  local ordered = m:group('town'):order('town'):count()
  t.eq(ordered[1].town, '东港街道')
  t.eq(m:group('town'):limit(1):count()[1].count, 10)
end)

t.case('groups by several fields: one row per combination', function()
  local g = m:group('town', 'category'):count()
  t.eq(getmetatable(g).__columns, { 'town', 'category', 'count' })
  local total, seen = 0, {}
  for _, r in ipairs(g) do
    t.eq(r.count, m:where{ town = r.town, category = r.category }:count(), r.town .. '/' .. r.category)
    t.ok(not seen[r.town .. '/' .. r.category], 'each combination once')
    seen[r.town .. '/' .. r.category] = true
    total = total + r.count
  end
  t.eq(total, m:count())
  t.ok(#g > #m:group('town'):count(), 'more rows than by town alone')
  local s = m:group('town', 'category'):sum('amount_fen')
  local sum = 0
  for _, r in ipairs(s) do sum = sum + r.sum_amount_fen end
  t.eq(sum, m:sum('amount_fen'))
  t.raises(function() m:group('town', 7) end, "group: expects field names")
end)

t.case('queries are values; bad use is a clear error', function()
  local couriers = m:where{ category = 'courier' }
  local a = couriers:where{ town = '沈家门街道' }:count()
  t.eq(couriers:count(), 15) -- not narrowed by the line above
  t.ok(a < 15)
  t.raises(function() query(42) end, 'expects a collection')
  t.raises(function() m:where('x') end, 'expects a table')
  t.raises(function() couriers:where{ category = 'x' } end, 'already has a condition')
  t.raises(function() m:sum() end, 'which field')
  t.raises(function() m:limit(-1) end, 'whole number')
  t.raises(function() m:pick('nosuch'):list() end, 'nosuch')
end)

t.done()
