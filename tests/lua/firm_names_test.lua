-- firm_names_test.lua — the sample registry's enterprise names
-- (scripts/lib/firm_names.lua): unique for the 15,000 enterprises of a
-- 3,000,000-member registry (sample_data.lua makes N/200), spread over the
-- cities as sample_data.lua spreads them and all in one city; the same
-- random stream gives the same names; the first draws are the ones
-- sample_data.lua always made, so small registries keep their names.
local t = require 'testlib'
local firm_names = require 'firm_names'

-- sample_data.lua's cities, weighted as its regions are (宁波 has three districts)
local CITIES = {
  {'海宁', '海宁市', 16}, {'舟山', '舟山市普陀区', 8}, {'玉环', '玉环市', 12},
  {'金华', '金华市婺城区', 10}, {'金华', '金华市金东区', 8}, {'德清', '德清县', 9},
  {'宁波', '宁波市鄞州区', 18}, {'宁波', '宁波市北仑区', 11}, {'宁波', '宁波市镇海区', 8},
}
local function names(seed, n, one_city)
  math.randomseed(seed)
  local namer = firm_names.namer(math.random)
  local out = {}
  for i = 1, n do
    local c
    if one_city then c = CITIES[7]
    else
      local r = math.random(100)
      for _, x in ipairs(CITIES) do r = r - x[3]; if r <= 0 then c = x; break end end
    end
    out[i] = namer(c[1], c[2])
  end
  return out
end
local function all_unique(list)
  local seen = {}
  for i, name in ipairs(list) do
    if seen[name] then return false, string.format('%s at %d and %d', name, seen[name], i) end
    seen[name] = i
  end
  return true
end

t.case('15,000 enterprises over the cities (3,000,000 members): all names differ', function()
  local list = names(2025, 15000)
  t.eq(#list, 15000)
  t.ok(all_unique(list))
  for _, name in ipairs(list) do t.ok(name:find('有限公司$'), name) end
end)

t.case('15,000 enterprises in one city: all names differ', function()
  t.ok(all_unique(names(7, 15000, true)))
end)

t.case('the same seed gives the same names, another seed others', function()
  local a, b, c = names(2025, 3000), names(2025, 3000), names(2026, 3000)
  local same, differ = true, false
  for i = 1, 3000 do
    if a[i] ~= b[i] then same = false end
    if a[i] ~= c[i] then differ = true end
  end
  t.ok(same)
  t.ok(differ)
end)

t.case('the first name is the first draw, as sample_data.lua always drew it', function()
  math.randomseed(99)
  local w, tr = math.random(#firm_names.WORDS), math.random(#firm_names.TRADES)
  math.randomseed(99)
  t.eq(firm_names.namer(math.random)('宁波', '宁波市鄞州区'),
       '宁波' .. firm_names.WORDS[w] .. firm_names.TRADES[tr] .. '有限公司')
end)

t.done()
