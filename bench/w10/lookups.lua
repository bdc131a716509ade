-- bench/w10/lookups.lua — W10's member lookups alone: every ID number of the
-- sheet looked up in the registry (db.members:find), in the sheet's order or
-- sorted (order=sorted), timed in CPU seconds. What grows in W10 from 100k to
-- 3M members (bench/README.md, session 8):
--   gonghui --db REG run --in SHEETDIR bench/w10/lookups.lua sheet=SHEETDIR/receipts.csv [order=sorted]
local ids = {}
for line in io.lines(params.sheet) do
  local id = line:match('^="(%w+)"')
  if id then ids[#ids + 1] = id end
end
if params.order == 'sorted' then table.sort(ids) end
local t0 = os.clock()
local active = 0
for _, id in ipairs(ids) do
  local m = db.members:find('id_number', id)
  if m and m.status == 'active' then active = active + 1 end
end
print(string.format('%d ID numbers (%s order), %d active members: %.3f s CPU, %.2f us each',
                    #ids, params.order or 'sheet', active, os.clock() - t0, (os.clock() - t0) * 1e6 / #ids))
