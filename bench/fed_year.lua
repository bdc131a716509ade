-- fed_year.lua — a federation's year of program entries, for the federation
-- tests and bench (tests/federation/, bench/fed_ship.sh): one program on the
-- framework (scripts/lib/program.lua) with a gift and a cash kind, `entries`
-- entries for members of the sample registry (scripts/sample_data.lua) on
-- random days of `year`, each its own transaction (so a shipper following
-- the log sees them come), or `chunk` entries per transaction.
--
--   gonghui --db F run bench/fed_year.lua entries=5000 year=2025 seed=1 [chunk=500] [program=care]
local program = require 'program'
local N = params.entries or 100
local year = params.year or 2025
local chunk = params.chunk or 1
math.randomseed(params.seed or 1)
local P = program.define{
  id = (params.program or 'care') .. '-' .. year, title = '送清凉 ' .. (params.program or 'care'), union = 1,
  year = year, window = { from = year .. '-01-01', to = year .. '-12-31' },
  budget_fen = 100000000000,
  kinds = { { kind = 'gift', title = '清凉包', value_fen = 5000 }, { kind = 'cash', title = '慰问金', unit = 'fen' } },
  units = { '场次', '人', '人次', '户次', 'fen' },
  session = function(e) return 'month-' .. tostring(e.day):sub(1, 7) end,   -- 场次: a month's round
}
local ids = {}
for m in db.members:scan() do ids[#ids + 1] = m.member_id end
local entered, left = 0, N
while left > 0 do
  local n = math.min(left, chunk)
  db.atomic(function()
    for _i = 1, n do
      local day = string.format('%d-%02d-%02d', year, math.random(1, 12), math.random(1, 28))
      local kind = math.random() < 0.5 and 'gift' or 'cash'
      local e = P:enter{ member = ids[math.random(#ids)], kind = kind, day = day,
                         fen = kind == 'cash' and math.random(100, 100000) or nil }
      if e then entered = entered + 1 end
    end
  end)
  left = left - n
end
print('entered ' .. entered)
