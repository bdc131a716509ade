-- scan.lua — scan, list, count, count_by: conditions (one value, a list,
-- {from, to}), index scans (eq, prefix, from, to, reverse, limit, offset),
-- the key field as an index, compound indexes, and the sort order of
-- integers, numbers, strings and dates.
local t = require 'testlib'

math.randomseed(20250101)

local function bytes_lt(a, b)
  local n = math.min(#a, #b)
  for i = 1, n do
    local x, y = a:byte(i), b:byte(i)
    if x ~= y then return x < y end
  end
  return #a < #b
end

local function shuffle(list)
  for i = #list, 2, -1 do
    local j = math.random(i)
    list[i], list[j] = list[j], list[i]
  end
  return list
end

local function copy(list) return { table.unpack(list) } end

local function sorted(list, lt)
  local c = copy(list)
  table.sort(c, lt)
  return c
end

local function reversed(list)
  local r = {}
  for i = #list, 1, -1 do r[#r + 1] = list[i] end
  return r
end

local function slice(list, from, to)
  local r = {}
  for i = from, math.min(to, #list) do r[#r + 1] = list[i] end
  return r
end

local function filter(list, pred)
  local r = {}
  for _, v in ipairs(list) do if pred(v) then r[#r + 1] = v end end
  return r
end

-- ---------------------------------------------------------------------------
t.case('integer keys sort numerically, negatives too', function()
  db.define('ints', { key = 'k', fields = { k = 'int', v = 'int' }, index = { 'v' } })
  local vals = { 0, 1, -1, 2, -2, 127, 128, -128, -129, 255, 256, -256, 65535, 65536, -65536,
                 2 ^ 31 | 0, -(2 ^ 31 | 0), 2 ^ 32 | 0, -(2 ^ 32 | 0), 2 ^ 53 | 0, -(2 ^ 53 | 0),
                 math.maxinteger, math.mininteger, math.maxinteger - 1, math.mininteger + 1 }
  for _ = 1, 60 do vals[#vals + 1] = math.random(math.mininteger, math.maxinteger) end
  for _ = 1, 40 do vals[#vals + 1] = math.random(-1000, 1000) end
  local seen, uniq = {}, {}
  for _, v in ipairs(vals) do
    if not seen[v] then seen[v] = true; uniq[#uniq + 1] = v end
  end
  db.atomic(function()
    for _, v in ipairs(shuffle(copy(uniq))) do db.ints:insert{ k = v, v = -v // 3 } end
  end)
  local want = sorted(uniq)
  t.eq(t.keys(db.ints), want, 'full scan in key order')
  t.eq(t.keys(db.ints, { index = 'k' }), want, 'the key field as index')
  t.eq(t.keys(db.ints, { index = 'k', reverse = true }), reversed(want))
  -- secondary index on an int field: order by v, then by key
  local byv = sorted(uniq, function(a, b)
    local va, vb = -a // 3, -b // 3
    if va ~= vb then return va < vb end
    return a < b
  end)
  t.eq(t.keys(db.ints, { index = 'v' }), byv, 'index on an int field')
  -- ranges on the key
  t.eq(t.keys(db.ints, { index = 'k', from = -256, to = 256 }),
       filter(want, function(v) return v >= -256 and v <= 256 end))
  t.eq(t.keys(db.ints, { index = 'k', from = -1 }), filter(want, function(v) return v >= -1 end))
  t.eq(t.keys(db.ints, { index = 'k', to = -1 }), filter(want, function(v) return v <= -1 end))
  t.eq(t.keys(db.ints, { index = 'k', from = -129, to = 128, reverse = true }),
       reversed(filter(want, function(v) return v >= -129 and v <= 128 end)))
  t.eq(t.keys(db.ints, { index = 'k', eq = -128 }), { -128 })
  t.eq(t.keys(db.ints, { index = 'k', eq = 3 }), {})
  -- condition on the key field
  t.eq(t.keys(db.ints, { k = { from = -2, to = 2 } }), { -2, -1, 0, 1, 2 })
  t.eq(t.keys(db.ints, { k = { -256, 65536, 7777777 } }), { -256, 65536 })
  t.eq(t.keys(db.ints, { k = math.mininteger }), { math.mininteger })
  -- ranges on the index
  t.eq(t.keys(db.ints, { index = 'v', from = -10, to = 10 }, 'v'),
       filter(sorted(filter(uniq, function() return true end), function(a, b)
         local va, vb = -a // 3, -b // 3
         if va ~= vb then return va < vb end
         return a < b
       end), function() return true end)
       and (function()
         local r = {}
         for _, k in ipairs(byv) do
           local v = -k // 3
           if v >= -10 and v <= 10 then r[#r + 1] = v end
         end
         return r
       end)())
  t.eq(db.ints:count(), #uniq)
  t.eq(db.ints:count{ index = 'k', from = 0 }, #filter(want, function(v) return v >= 0 end))
end)

-- ---------------------------------------------------------------------------
t.case('number fields sort numerically (floats and integers)', function()
  db.define('nums', { key = 'id', fields = { id = 'int', x = 'number' }, index = { 'x' } })
  local xs = { 0, 0.5, -0.5, 1, 1.5, -1, -1.5, 2, 3, -3, 10, 1e300, -1e300, 1e-300, -1e-300,
               2 ^ 53, -(2 ^ 53), 100, 99.999, 7, 6.5 }
  for _ = 1, 40 do xs[#xs + 1] = (math.random() - 0.5) * 10 ^ math.random(-5, 20) end
  for _ = 1, 20 do xs[#xs + 1] = math.random(-100000, 100000) end
  db.atomic(function()
    for i, x in ipairs(xs) do db.nums:insert{ id = i, x = x } end
  end)
  local want = sorted(xs)
  local got = t.keys(db.nums, { index = 'x' }, 'x')
  t.eq(#got, #want)
  for i = 1, #want do
    t.ok(got[i] == want[i], string.format('position %d: %s vs %s', i, tostring(got[i]), tostring(want[i])))
  end
  t.eq(t.keys(db.nums, { index = 'x', from = -1, to = 1 }, 'x'),
       filter(want, function(v) return v >= -1 and v <= 1 end))
  t.eq(#t.keys(db.nums, { x = { from = -1.5, to = 1.5 } }),
       #filter(want, function(v) return v >= -1.5 and v <= 1.5 end))
  -- an integer condition finds an integral value however it is stored
  t.eq(#t.keys(db.nums, { x = 2 }), 1)
  t.eq(#t.keys(db.nums, { x = 2.0 }), 1)
  t.eq(#t.keys(db.nums, { index = 'x', eq = 3 }), 1)
end)

-- ---------------------------------------------------------------------------
t.case('strings sort bytewise, Chinese too', function()
  db.define('strs', { key = 's', fields = { s = 'string', tag = 'string?' }, index = { 'tag' } })
  local ss = { '', 'a', 'A', 'Z', 'z', 'a\0', 'a\0b', 'a\1', 'ab', 'abc', 'b', 'ba', '\0', '\0\0',
               '\1', '\u{10FFFF}', '\u{10FFFF}\u{10FFFF}', '\127', '\u{80}', '\u{7FF}', '\u{FFFF}', '工会', '工', '工人', '工会法', '中',
               '中国', '硖石街道', '沈家门街道', '海宁', '~', ' ', '0', '9', '10', '2' }
  for _ = 1, 50 do
    local b = {}
    -- (text is UTF-8: the store refuses other bytes, issue 16 class 11)
    for j = 1, math.random(0, 6) do
      b[j] = utf8.char(({ math.random(0, 127), math.random(128, 0x7ff), math.random(0x800, 0xd7ff),
                          math.random(0xe000, 0x10ffff) })[math.random(1, 4)])
    end
    ss[#ss + 1] = table.concat(b)
  end
  local seen, uniq = {}, {}
  for _, v in ipairs(ss) do
    if not seen[v] then seen[v] = true; uniq[#uniq + 1] = v end
  end
  db.atomic(function()
    for _, s in ipairs(shuffle(copy(uniq))) do db.strs:insert{ s = s, tag = s } end
  end)
  local want = sorted(uniq, bytes_lt)
  t.eq(t.keys(db.strs), want, 'key order')
  t.eq(t.keys(db.strs, { index = 'tag' }, 'tag'), want, 'index order')
  t.eq(t.keys(db.strs, { index = 'tag', reverse = true }, 'tag'), reversed(want))
  -- prefix: strings starting with it, bytewise
  local function starts(p) return filter(want, function(v) return v:sub(1, #p) == p end) end
  for _, p in ipairs{ 'a', 'a\0', '工', '工会', '\255', 'zz', '' } do
    t.eq(t.keys(db.strs, { index = 'tag', prefix = p }, 'tag'), starts(p), 'prefix ' .. string.format('%q', p))
    t.eq(t.keys(db.strs, { index = 's', prefix = p }), starts(p), 'key prefix ' .. string.format('%q', p))
    t.eq(t.keys(db.strs, { index = 'tag', prefix = p, reverse = true }, 'tag'), reversed(starts(p)),
         'reverse prefix ' .. string.format('%q', p))
  end
  -- ranges are bytewise and inclusive
  local function between(a, b)
    return filter(want, function(v) return not bytes_lt(v, a) and not bytes_lt(b, v) end)
  end
  t.eq(t.keys(db.strs, { index = 'tag', from = 'a', to = 'b' }, 'tag'), between('a', 'b'))
  t.eq(t.keys(db.strs, { index = 'tag', from = '工', to = '工会法' }, 'tag'), between('工', '工会法'))
  t.eq(t.keys(db.strs, { tag = { from = 'a', to = 'b' } }), between('a', 'b'))
  t.eq(t.keys(db.strs, { tag = { from = '中', to = '工人' } }), between('中', '工人'))
  t.eq(t.keys(db.strs, { s = '工会' }), { '工会' })
  t.eq(t.keys(db.strs, { s = 'a\0' }), { 'a\0' })
end)

-- ---------------------------------------------------------------------------
t.case('dates sort chronologically', function()
  db.define('events', { fields = { day = 'date', what = 'string' }, index = { 'day' } })
  local days = {}
  local mdays = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 }
  for _ = 1, 120 do
    local y, m = math.random(1900, 2100), math.random(1, 12)
    local d = math.random(1, mdays[m])
    days[#days + 1] = string.format('%04d-%02d-%02d', y, m, d)
  end
  for _, d in ipairs{ '1999-12-31', '2000-01-01', '2000-02-29', '2000-03-01', '2024-12-31' } do
    days[#days + 1] = d
  end
  db.atomic(function()
    for _, d in ipairs(days) do db.events:insert{ day = d, what = 'x' } end
  end)
  local want = sorted(days, function(a, b)
    local ya, ma, da = a:match('(%d+)-(%d+)-(%d+)')
    local yb, mb, db_ = b:match('(%d+)-(%d+)-(%d+)')
    ya, ma, da, yb, mb, db_ = tonumber(ya), tonumber(ma), tonumber(da), tonumber(yb), tonumber(mb), tonumber(db_)
    if ya ~= yb then return ya < yb end
    if ma ~= mb then return ma < mb end
    return da < db_
  end)
  t.eq(t.keys(db.events, { index = 'day' }, 'day'), want)
  local in1965 = filter(want, function(d) return d >= '1965-01-01' and d <= '1965-12-31' end)
  t.eq(t.keys(db.events, { index = 'day', from = '1965-01-01', to = '1965-12-31' }, 'day'), in1965)
  t.eq(#t.keys(db.events, { day = { from = '2000-01-01', to = '2000-03-01' } }),
       #filter(want, function(d) return d >= '2000-01-01' and d <= '2000-03-01' end))
  t.eq(t.keys(db.events, { index = 'day', prefix = '2000-' }, 'day'),
       filter(want, function(d) return d:sub(1, 5) == '2000-' end))
  -- a bad date in a condition is an error naming the field
  t.raises_all(function() return db.events:count{ day = '2000-02-30' } end, { "'events'", "'day'", '2000-02-30' })
  t.raises_all(function() return db.events:count{ index = 'day', from = '2000/01/01' } end,
               { "'events'", "'day'", '2000/01/01' })
end)

-- ---------------------------------------------------------------------------
t.case('compound indexes sort field by field', function()
  db.define('pairs_', { fields = { a = 'string', b = 'int', c = 'date?' },
                        index = { { 'a', 'b' }, { 'b', 'a' } }, unique = { { 'a', 'b', 'c' } } })
  local as = { '', 'a', 'a\0', 'ab', 'b', '工', '工会', 'z' }
  local bs = { math.mininteger, -300, -1, 0, 1, 255, 256, math.maxinteger }
  local rows = {}
  for _, a in ipairs(as) do
    for _, b in ipairs(bs) do
      if math.random() < 0.7 then rows[#rows + 1] = { a = a, b = b } end
    end
  end
  db.atomic(function()
    for _, r in ipairs(shuffle(copy(rows))) do db.pairs_:insert{ a = r.a, b = r.b, c = '2020-01-01' } end
  end)
  local function ab_lt(x, y)
    if x.a ~= y.a then return bytes_lt(x.a, y.a) end
    return x.b < y.b
  end
  local function ba_lt(x, y)
    if x.b ~= y.b then return x.b < y.b end
    return bytes_lt(x.a, y.a)
  end
  local function pairs_of(opts)
    local out = {}
    for r in db.pairs_:scan(opts) do out[#out + 1] = { a = r.a, b = r.b } end
    return out
  end
  t.eq(pairs_of{ index = 'a,b' }, sorted(rows, ab_lt), 'a,b order')
  t.eq(pairs_of{ index = 'b,a' }, sorted(rows, ba_lt), 'b,a order')
  t.eq(pairs_of{ index = 'a,b', reverse = true }, reversed(sorted(rows, ab_lt)))
  -- eq on the leading field only: 'ab' does not take 'a' or 'b'
  t.eq(pairs_of{ index = 'a,b', eq = { 'ab' } }, sorted(filter(rows, function(r) return r.a == 'ab' end), ab_lt))
  t.eq(pairs_of{ index = 'a,b', eq = 'ab' }, sorted(filter(rows, function(r) return r.a == 'ab' end), ab_lt))
  t.eq(pairs_of{ index = 'a,b', eq = { '工' } }, sorted(filter(rows, function(r) return r.a == '工' end), ab_lt))
  t.eq(pairs_of{ index = 'a,b', eq = { '' } }, sorted(filter(rows, function(r) return r.a == '' end), ab_lt))
  -- eq on both
  local one = rows[math.random(#rows)]
  t.eq(pairs_of{ index = 'a,b', eq = { one.a, one.b } }, { one })
  -- from/to are leading values, inclusive
  t.eq(pairs_of{ index = 'a,b', from = { 'a' }, to = { 'b' } },
       sorted(filter(rows, function(r) return not bytes_lt(r.a, 'a') and not bytes_lt('b', r.a) end), ab_lt))
  t.eq(pairs_of{ index = 'b,a', from = { -1 }, to = { 255 } },
       sorted(filter(rows, function(r) return r.b >= -1 and r.b <= 255 end), ba_lt))
  t.eq(pairs_of{ index = 'b,a', from = -1, to = 255 },
       sorted(filter(rows, function(r) return r.b >= -1 and r.b <= 255 end), ba_lt))
  t.eq(pairs_of{ index = 'a,b', from = { 'a', 0 }, to = { 'ab', 1 } },
       sorted(filter(rows, function(r)
         return ab_lt({ a = 'a', b = -1 }, r) and ab_lt(r, { a = 'ab', b = 2 })
       end), ab_lt))
  -- prefix on a compound index's leading string field
  t.eq(pairs_of{ index = 'a,b', prefix = '工' },
       sorted(filter(rows, function(r) return r.a:sub(1, #'工') == '工' end), ab_lt))
  -- eq with reverse, limit and offset
  local as_a = sorted(filter(rows, function(r) return r.a == 'z' end), ab_lt)
  t.eq(pairs_of{ index = 'a,b', eq = { 'z' }, reverse = true }, reversed(as_a))
  t.eq(pairs_of{ index = 'a,b', eq = { 'z' }, limit = 2, offset = 1 }, slice(as_a, 2, 3))
  -- too many values for the index
  t.raises_all(function() return pairs_of{ index = 'a,b', eq = { 'a', 1, 2 } } end, { "'pairs_'", "'a,b'" })
  -- wrong type for a field of the index
  t.raises_all(function() return pairs_of{ index = 'a,b', eq = { 'a', 'x' } } end, { "'pairs_'", "'b'", '"x"' })
  -- a compound unique index through find
  t.eq(db.pairs_:find('a,b,c', { one.a, one.b, '2020-01-01' }, 'a', 'b'), one.a, one.b)
end)

-- ---------------------------------------------------------------------------
t.case('eq on a string does not take longer strings that go on with a NUL byte', function()
  -- strings may hold any bytes: 'a' and 'a\0' are different values
  db.define('nul', { fields = { s = 'string', n = 'int' }, index = { 's', { 's', 'n' } }, unique = { 'n' } })
  db.nul:insert{ s = 'a', n = 1 }
  db.nul:insert{ s = 'a\0', n = 2 }
  db.nul:insert{ s = 'a\0b', n = 3 }
  db.nul:insert{ s = 'a\0\0', n = 4 }
  local function ns(opts) return t.keys(db.nul, opts, 'n') end
  t.eq(ns{ s = 'a' }, { 1 })
  t.eq(ns{ s = 'a\0' }, { 2 })
  t.eq(ns{ index = 's', eq = 'a' }, { 1 }, "index 's', eq = 'a'")
  t.eq(ns{ index = 's', eq = 'a\0' }, { 2 }, "index 's', eq = 'a\\0'")
  t.eq(ns{ index = 's,n', eq = { 'a' } }, { 1 }, "index 's,n', eq = {'a'}")
  t.eq(db.nul:count{ index = 's', eq = 'a' }, 1)
  t.eq(db.nul:find('s', 'a\0', 'n'), 2)
  t.eq(ns{ index = 's', prefix = 'a\0' }, { 2, 4, 3 })
  t.eq(ns{ index = 's', prefix = 'a' }, { 1, 2, 4, 3 })
end)

-- ---------------------------------------------------------------------------
db.define('members', {
  key = 'member_id',
  fields = { member_id = 'int', name = 'string', id_number = 'string', birth_date = 'date',
             town = 'string', category = 'string', status = 'string', retire_date = 'date?' },
  unique = { 'id_number' },
  index = { 'category', { 'town', 'status' }, 'birth_date' },
})
local towns = { '硖石街道', '沈家门街道', '海昌街道', '许村镇' }
local cats = { 'courier', 'driver', 'cleaner', 'guard', 'cook', 'nurse', 'porter', 'clerk',
               'welder', 'painter' }
local ALL = {}
db.atomic(function()
  for i = 1, 400 do
    local m = {
      member_id = i,
      name = 'm' .. i,
      id_number = string.format('%06d19%02d%04d%04d', i % 7 == 0 and 330481 or 330500 + i % 5,
                                60 + i % 40, i % 1231, i),
      birth_date = string.format('19%02d-%02d-%02d', 60 + i % 40, 1 + i % 12, 1 + i % 28),
      town = towns[1 + i % #towns],
      category = i == 77 and 'rare' or cats[1 + i % #cats],
      status = i % 5 == 0 and 'retired' or 'active',
      retire_date = i % 5 == 0 and '2024-06-30' or nil,
    }
    ALL[i] = m
    db.members:insert(m)
  end
end)
local M = db.members

local function ids(pred)
  local r = {}
  for i = 1, #ALL do if pred(ALL[i]) then r[#r + 1] = i end end
  return r
end

local function by(field, lt)
  return function(x, y)
    local a, b = ALL[x][field], ALL[y][field]
    if a ~= b then return (lt or function(p, q) return p < q end)(a, b) end
    return x < y
  end
end

t.case('full scan and conditions', function()
  t.eq(t.keys(M), ids(function() return true end))
  t.eq(t.keys(M, {}), ids(function() return true end))
  t.eq(t.keys(M, { category = 'courier' }), ids(function(m) return m.category == 'courier' end))
  t.eq(t.keys(M, { category = 'courier', status = 'active' }),
       ids(function(m) return m.category == 'courier' and m.status == 'active' end))
  t.eq(t.keys(M, { category = { 'courier', 'driver' } }),
       ids(function(m) return m.category == 'courier' or m.category == 'driver' end))
  t.eq(t.keys(M, { category = { 'rare' } }), { 77 })
  t.eq(t.keys(M, { category = 'rare' }), { 77 }, 'selective: through the index')
  do -- an empty list matches nothing, or is refused
    local ok, r = pcall(t.keys, M, { category = {} })
    if ok then t.eq(r, {}) else t.ok(tostring(r):find("'category'", 1, true), r) end
  end
  t.eq(t.keys(M, { birth_date = { from = '1965-01-01', to = '1965-12-31' } }),
       ids(function(m) return m.birth_date >= '1965-01-01' and m.birth_date <= '1965-12-31' end))
  t.eq(t.keys(M, { birth_date = { from = '1995-01-01' } }),
       ids(function(m) return m.birth_date >= '1995-01-01' end))
  t.eq(t.keys(M, { birth_date = { to = '1961-06-30' } }),
       ids(function(m) return m.birth_date <= '1961-06-30' end))
  t.eq(t.keys(M, { member_id = { from = 10, to = 20 }, status = 'retired' }), { 10, 15, 20 })
  t.eq(t.keys(M, { retire_date = '2024-06-30' }), ids(function(m) return m.status == 'retired' end))
  t.eq(t.keys(M, { town = '硖石街道', status = 'active' }),
       ids(function(m) return m.town == '硖石街道' and m.status == 'active' end))
  t.eq(t.keys(M, { town = 'nowhere' }), {})
  -- conditions with limit / offset / reverse and no index
  local all_couriers = ids(function(m) return m.category == 'courier' end)
  t.eq(t.keys(M, { category = 'courier', limit = 3 }), slice(all_couriers, 1, 3))
  t.eq(t.keys(M, { category = 'courier', limit = 3, offset = 2 }), slice(all_couriers, 3, 5))
  t.eq(t.keys(M, { category = 'courier', reverse = true }), reversed(all_couriers))
  t.eq(t.keys(M, { limit = 0 }), {})
  t.eq(t.keys(M, { offset = 398 }), { 399, 400 })
  -- a selective condition and an unselective one give the same records as a filter would
  for _, c in ipairs(cats) do
    t.eq(t.keys(M, { category = c }), ids(function(m) return m.category == c end), c)
  end
end)

t.case('a long list of values: each record is checked against it by halves', function()
  -- thousands of values (a city's unions), the real ones among them, in any order
  local list, want = {}, {}
  for i = 1, 5000 do list[#list + 1] = string.format('x%05d', i) end
  list[#list + 1] = 'courier'
  list[#list + 1] = 'rare'
  list[#list + 1] = 'courier' -- twice: still once
  list[#list + 1] = 'a' -- shorter and longer than the real ones
  list[#list + 1] = 'zzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzz'
  shuffle(list)
  want = ids(function(m) return m.category == 'courier' or m.category == 'rare' end)
  t.eq(t.keys(M, { category = list }), want)
  t.eq(M:count{ category = list }, #want)
  t.eq(t.keys(M, { category = list, status = 'retired' }),
       ids(function(m) return (m.category == 'courier' or m.category == 'rare') and m.status == 'retired' end))
  -- integer keys (compared as stored) and numbers (compared key-encoded)
  local nums = {}
  for i = 1, 3000 do nums[#nums + 1] = 1000 + i end
  nums[#nums + 1] = 7
  nums[#nums + 1] = 399
  nums[#nums + 1] = -5
  shuffle(nums)
  t.eq(t.keys(M, { member_id = nums }), { 7, 399 })
  db.define('numlist', { fields = { x = 'number', n = 'int' } })
  for i = 1, 50 do db.numlist:insert{ x = i / 2, n = i } end
  local xs = { 3, 2.5, 1e9, -1, 7.0 }
  for i = 1, 2000 do xs[#xs + 1] = 100 + i + 0.25 end
  shuffle(xs)
  t.eq(t.keys(db.numlist, { x = xs }, 'n'), { 5, 6, 14 })
  -- none of them
  t.eq(t.keys(M, { category = { 'x1', 'x2', 'x3', 'nurse2' } }), {})
end)

t.case('short lists of values: every size up to the halving one, lengths mixed', function()
  -- up to 8 values are looked through in turn (by length, then bytes), more
  -- are searched by halves: the same records either way, and a value that
  -- is a prefix of a stored one, or longer, or of the same length, is no match
  local pool = { 'cour', 'courierx', 'cook', 'nurse', 'guard', 'driver', 'porter', 'courier',
                 'rare', 'welder', 'c', 'clerks' }
  for n = 1, #pool do
    local list, set = {}, {}
    for i = 1, n do list[i] = pool[i]; set[pool[i]] = true end
    shuffle(list)
    local want = ids(function(m) return set[m.category] end)
    t.eq(t.keys(M, { category = list }), want, 'a list of ' .. n)
    t.eq(M:count{ category = list }, #want, 'count, a list of ' .. n)
    t.eq(t.keys(M, { category = list, status = 'active' }),
         ids(function(m) return set[m.category] and m.status == 'active' end), 'and status, ' .. n)
  end
end)

t.case('count_by and rows: a field added later, a record of more than 15 fields', function()
  db.define('later', { key = 'id', fields = { id = 'int', a = 'string' } })
  for i = 1, 5 do db.later:insert{ id = i, a = i % 2 == 0 and 'even' or 'odd' } end
  db.define('later', { key = 'id', fields = { id = 'int', a = 'string', b = 'string?' } })
  db.later:insert{ id = 6, a = 'even', b = 'new' }
  local c = db.later:count_by('b')
  t.eq(c[db.null], 5)
  t.eq(c.new, 1)
  t.eq(db.later:count_by('a'), { even = 3, odd = 3 })
  local bs = {}
  for r in db.later:scan() do bs[#bs + 1] = r.b or '-' end
  t.eq(bs, { '-', '-', '-', '-', '-', 'new' })
  -- a condition on the field added later: the shorter records have none (nil never matches)
  t.eq(db.later:count{ b = 'new' }, 1)
  t.eq(t.keys(db.later, { b = { 'new', 'old' }, a = 'even' }), { 6 })
  -- 20 fields: the record's array header is not the one-byte form
  local fields = { id = 'int' }
  for i = 1, 19 do fields['f' .. i] = 'string' end
  db.define('wide', { key = 'id', fields = fields })
  for i = 1, 30 do
    local r = { id = i }
    for j = 1, 19 do r['f' .. j] = ('v%d'):format((i * j) % 4) end
    db.wide:insert(r)
  end
  local want = {}
  for i = 1, 30 do
    local v = ('v%d'):format((i * 19) % 4)
    want[v] = (want[v] or 0) + 1
  end
  t.eq(db.wide:count_by('f19'), want)
  t.eq(db.wide:count{ f19 = 'v1' }, want.v1)
  t.eq(db.wide:count{ f19 = { 'v1', 'v2' }, f1 = { 'v1', 'v2', 'v3' } },
       #t.keys(db.wide, { f19 = { 'v2', 'v1' }, f1 = { 'v3', 'v2', 'v1' } }))
  local both = {}
  for i = 1, 30 do if i % 4 == 1 and (i * 19) % 4 == 3 then both[#both + 1] = i end end
  t.eq(t.keys(db.wide, { f1 = 'v1', f19 = 'v3' }), both)
  t.eq(#both, 8)
  local n = 0
  for r in db.wide:scan() do
    n = n + 1
    t.eq(r.f19, ('v%d'):format((n * 19) % 4))
    t.eq(r.f1, ('v%d'):format(n % 4))
  end
  t.eq(n, 30)
end)

t.case('count_by agrees with a loop: values of every length and type, with and without conditions', function()
  -- count_by's whole-collection walk reads records straight from the cursor
  -- and hashes and compares short values a word at a time (lengths 8 to 16
  -- as two overlapping words): every length from 0 to 40 bytes, strings
  -- that differ only in their first or last byte, integers of every width,
  -- numbers, booleans and absent values must count as a loop counts them
  db.define('cbv', { key = 'id', fields = { id = 'int', v = 'any?', s = 'string?', k = 'int' } })
  local vals = {}
  for len = 0, 40 do
    vals[#vals + 1] = ('x'):rep(len)
    if len > 0 then
      vals[#vals + 1] = 'y' .. ('x'):rep(len - 1)
      vals[#vals + 1] = ('x'):rep(len - 1) .. 'y'
    end
  end
  for _, v in ipairs{ 0, 1, -1, 127, 128, 255, 256, 65535, 65536, -33, -129, 2^31, -2^31, 2^40, 1.5, -0.25, true, false } do
    vals[#vals + 1] = v
  end
  local want, wants, n = {}, {}, 0
  db.atomic(function()
    for i = 1, 3 * #vals + 7 do
      local v = vals[(i * 7) % #vals + 1]
      if i % 11 == 0 then v = nil end
      local s = i % 5 == 0 and nil or ('街道'):rep(i % 4)
      db.cbv:insert{ id = i, v = v, s = s, k = i % 3 }
      if v == nil then v = db.null end
      want[v] = (want[v] or 0) + 1
      if i % 3 == 1 then
        local sv = s == nil and db.null or s
        wants[sv] = (wants[sv] or 0) + 1
      end
      n = n + 1
    end
  end)
  t.eq(db.cbv:count_by('v'), want)
  t.eq(db.cbv:count_by('s', { k = 1 }), wants)
  local loop = {}
  for r in db.cbv:scan() do
    local v = r.v == nil and db.null or r.v
    loop[v] = (loop[v] or 0) + 1
  end
  t.eq(loop, want)
  -- inside db.atomic, after writes to the collection in the same transaction
  local w
  local ok, err = pcall(db.atomic, function()
    db.cbv:insert{ id = n + 1, v = 'xxxxxxxxxx', k = 0 }
    db.cbv:delete(1)
    w = db.cbv:count_by('v')
    error('roll back')
  end)
  t.eq(ok, false)
  t.ok(tostring(err):find('roll back', 1, true))
  local first = vals[7 % #vals + 1] -- record 1's
  t.eq(w['xxxxxxxxxx'], (want['xxxxxxxxxx'] or 0) + 1)
  t.eq(w[first], want[first] - 1 > 0 and want[first] - 1 or nil)
  t.eq(db.cbv:count_by('v'), want)
end)

t.case('index scans', function()
  t.eq(t.keys(M, { index = 'town,status', eq = { '硖石街道', 'active' } }),
       ids(function(m) return m.town == '硖石街道' and m.status == 'active' end))
  t.eq(t.keys(M, { index = 'town,status', eq = { '硖石街道' } }),
       sorted(ids(function(m) return m.town == '硖石街道' end), by('status')))
  t.eq(t.keys(M, { index = 'id_number', prefix = '330481' }),
       sorted(ids(function(m) return m.id_number:sub(1, 6) == '330481' end), by('id_number')))
  local bd = sorted(ids(function(m) return m.birth_date >= '1960-01-01' and m.birth_date <= '1965-12-31' end),
                    by('birth_date'))
  t.eq(t.keys(M, { index = 'birth_date', from = '1960-01-01', to = '1965-12-31' }), bd)
  t.eq(t.keys(M, { index = 'birth_date', from = '1960-01-01', to = '1965-12-31', reverse = true,
                   limit = 10, offset = 20 }),
       slice(reversed(bd), 21, 30))
  t.eq(t.keys(M, { index = 'birth_date', from = '1960-01-01', to = '1965-12-31', limit = 5 }), slice(bd, 1, 5))
  t.eq(t.keys(M, { index = 'birth_date', from = '1960-01-01', to = '1965-12-31', offset = 1000 }), {})
  t.eq(t.keys(M, { index = 'category', eq = 'rare' }), { 77 })
  -- index scan with a filter on another field
  t.eq(t.keys(M, { index = 'category', eq = 'courier', status = 'retired' }),
       ids(function(m) return m.category == 'courier' and m.status == 'retired' end))
  t.eq(t.keys(M, { index = 'birth_date', town = '海昌街道' }),
       sorted(ids(function(m) return m.town == '海昌街道' end), by('birth_date')))
  -- the key field
  t.eq(t.keys(M, { index = 'member_id', from = 395 }), { 395, 396, 397, 398, 399, 400 })
  t.eq(t.keys(M, { index = 'member_id', to = 3, reverse = true }), { 3, 2, 1 })
  t.eq(t.keys(M, { index = 'member_id', eq = 42 }), { 42 })
  -- errors name what is wrong
  t.raises_all(function() return t.keys(M, { index = 'name' }) end, { "'members'", "'name'", 'category' })
  t.raises_all(function() return t.keys(M, { eq = 'x' }) end, { "'members'", 'index' })
  t.raises_all(function() return t.keys(M, { nosuch = 1 }) end, { "'members'", "'nosuch'" })
  t.raises_all(function() return t.keys(M, { category = 5 }) end, { "'members'", "'category'", '5' })
  t.raises_all(function() return t.keys(M, { index = 'member_id', prefix = '1' }) end, { "'members'", 'prefix' })
  t.raises_all(function() return t.keys(M, 'category') end, { "'members'" })
end)

t.case('list, count, count_by', function()
  local l = M:list{ town = '许村镇', limit = 100 }
  local want = ids(function(m) return m.town == '许村镇' end)
  t.eq(#want, 100)
  t.eq(#l, #want)
  table.sort(l, function(a, b) return a.member_id < b.member_id end) -- order: see the next case
  for i, r in ipairs(l) do
    t.eq(type(r), 'table')
    t.eq(r, ALL[want[i]])
  end
  l[1].name = 'changed' -- list gives plain tables
  t.eq(M:get(want[1], 'name'), ALL[want[1]].name)
  t.eq(M:list{ index = 'category', eq = 'rare' }, { ALL[77] })
  t.eq(#M:list(), 400)
  t.eq(M:count(), 400)
  t.eq(M:count{ status = 'retired' }, 80)
  t.eq(M:count{ index = 'town,status', eq = { '许村镇' } }, 100)
  t.eq(M:count{ index = 'birth_date', from = '1960-01-01', to = '1965-12-31', limit = 7 }, 7)
  local counts = M:count_by('town', { status = 'active' })
  local wantc = {}
  for _, m in ipairs(ALL) do
    if m.status == 'active' then wantc[m.town] = (wantc[m.town] or 0) + 1 end
  end
  t.eq(counts, wantc)
  local bycat = M:count_by('category')
  t.eq(bycat.rare, 1)
  local total = 0
  for _, n in pairs(bycat) do total = total + n end
  t.eq(total, 400)
  -- records without a value count under db.null
  local rd = M:count_by('retire_date')
  t.eq(rd['2024-06-30'], 80)
  t.eq(rd[db.null], 320)
  t.raises_all(function() return M:count_by('nosuch') end, { "'members'", "'nosuch'" })
end)

t.case('condition scans come in key order, whichever index the scan uses', function()
  -- The README: a condition with one value may use an index when it is
  -- selective. That choice depends on the data; it must not change which
  -- records a limit takes, nor their order.
  local want = ids(function(m) return m.town == '许村镇' end)
  t.eq(t.keys(M, { town = '许村镇' }), want, 'scan{ town = ... }')
  t.eq(t.keys(M, { town = '许村镇', limit = 10 }), slice(want, 1, 10), 'scan{ town = ..., limit = 10 }')
  local l = M:list{ town = '许村镇', limit = 10 }
  local got = {}
  for i, r in ipairs(l) do got[i] = r.member_id end
  t.eq(got, slice(want, 1, 10), 'list{ town = ..., limit = 10 }')
end)

t.case('break ends a scan; scans nest', function()
  local n = 0
  for r in M:scan() do
    n = n + 1
    if n == 3 then break end
  end
  t.eq(n, 3)
  -- nested scans over the same and other collections
  local pairs_seen = 0
  for a in M:scan{ index = 'member_id', to = 5 } do
    for b in M:scan{ index = 'member_id', from = a.member_id, to = 5 } do
      pairs_seen = pairs_seen + 1
      t.ok(b.member_id >= a.member_id)
    end
  end
  t.eq(pairs_seen, 15)
  -- many broken scans do not leak read transactions (LMDB has a limited reader table)
  for _ = 1, 500 do
    for _ in M:scan() do break end
  end
  collectgarbage()
  t.eq(M:count(), 400)
end)

t.case('taking the first record of a scan without a loop does not exhaust readers', function()
  -- a common idiom: local latest = coll:scan{ index = ..., reverse = true }()
  -- LMDB has 126 reader slots by default; abandoned iterators must not pin them all
  for i = 1, 500 do
    local first = M:scan{ index = 'birth_date', reverse = true }()
    t.ok(first, 'a record at round ' .. i)
  end
  t.eq(M:count(), 400)
end)

t.done()
