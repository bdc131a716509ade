-- bench/w4_groupby.lua — W4: how many members in each town.
--
--   gonghui --db DIR run bench/w4_groupby.lua mode=loop|count_by [expect=N]
--
-- mode=loop      the natural Lua loop over scan(), reading m.town
-- mode=count_by  db.members:count_by('town'), counted in C
-- Prints "town<TAB>count" lines sorted by town, then the total; with
-- expect=N fails unless the counts add up to N.

local mode = params.mode or 'loop'
local counts
if mode == 'loop' then
  counts = {}
  for m in db.members:scan() do
    local t = m.town
    counts[t] = (counts[t] or 0) + 1
  end
elseif mode == 'count_by' then
  counts = db.members:count_by('town')
else
  error(('mode must be loop or count_by, got %q'):format(tostring(mode)))
end

local towns, total = {}, 0
for t, c in pairs(counts) do
  towns[#towns + 1] = t
  total = total + c
end
table.sort(towns)
for _, t in ipairs(towns) do
  print(t .. '\t' .. counts[t])
end
print(('total %d in %d towns'):format(total, #towns))
if params.expect and total ~= params.expect then
  error(('W4: counted %d members, expected %d'):format(total, params.expect))
end
