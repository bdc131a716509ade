-- sorter.lua — `require 'sorter'` (core/lua_sorter.c): records of a few
-- integers sorted in bounded memory. A tiny budget makes every count here
-- spill runs to the temporary file and merge them: the same order as
-- table.sort, every record once, duplicates kept, negative numbers too.
local t = require 'testlib'
local sorter = require 'sorter'

local function cmp(x, y)
  for i = 1, #x do if x[i] ~= y[i] then return x[i] < y[i] end end
  return false
end

-- n records of width w from a fixed sequence, sorted by the sorter with
-- the budget given, and by table.sort
local function both(n, w, budget)
  local s = sorter.new(w, budget)
  local want = {}
  local x = 12345
  for i = 1, n do
    local r = {}
    for j = 1, w do
      x = (x * 1103515245 + 12345) % 2147483648
      r[j] = (x % 1000) - 500 + (j == 1 and 0 or i % 3)
    end
    if i % 7 == 0 then r[1] = math.mininteger elseif i % 11 == 0 then r[1] = math.maxinteger end
    want[i] = r
    s:add(table.unpack(r))
  end
  t.eq(s:count(), n)
  table.sort(want, cmp)
  local got = {}
  for a, b, c in s:sorted() do got[#got + 1] = w == 1 and { a } or w == 2 and { a, b } or { a, b, c } end
  return got, want
end

t.case('in memory: the order of table.sort', function()
  local got, want = both(1000, 3)
  t.eq(got, want)
end)

t.case('spilled: runs merged into the same order (tiny budget: 64 records a run)', function()
  for _, w in ipairs{ 1, 2, 3 } do
    local got, want = both(5000, w, 0)
    t.eq(#got, 5000)
    t.eq(got, want)
  end
end)

t.case('edges: no records, exactly a run, a run and one', function()
  for _, n in ipairs{ 0, 64, 65, 128 } do
    local got, want = both(n, 2, 0)
    t.eq(got, want)
  end
end)

t.case('misuse raises', function()
  t.raises(function() sorter.new(0) end, 'a record is 1 to 8 integers')
  t.raises(function() sorter.new(9) end, 'a record is 1 to 8 integers')
  local s = sorter.new(2)
  t.raises(function() s:add(1, 'x') end, 'number expected')
  s:add(1, 2)
  for _ in s:sorted() do end
  t.raises(function() s:add(3, 4) end, 'before sorted')
  t.raises(function() s:sorted() end, 'once')
  s:close()
end)

t.done()
