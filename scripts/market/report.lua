-- report.lua — the market's sales by vendor, product, town and day,
-- endorsed (劳模推荐) versus other products, and the benefit code's
-- discounts with the persons served (人) and person-times (人次, a member
-- on a market day).
--
--   gonghui run scripts/market/report.lua [from=2025-05-01] [to=2025-05-31] [csv=may] [events=1]
--
-- csv=NAME also writes the tables for Excel: NAME-vendors.csv,
-- NAME-products.csv, NAME-towns.csv, NAME-endorsed.csv, NAME-days.csv,
-- NAME-code.csv (amounts in fen). events=1 builds the report from the event
-- log (market.sale) instead of the sales records: the two must agree. The
-- run fails when a member's discounts on a day passed the cap.
local market = require 'market'
local common = require 'common'

local mk = common.market()
local opts = { from = params.from and tostring(params.from), to = params.to and tostring(params.to) }
local rep = params.events and mk:report_events(opts) or mk:report(opts)
print(market.format(rep))
if params.csv then
  local names = {}
  for name, rows in pairs(market.tables(rep)) do
    local file = params.csv .. '-' .. name .. '.csv'
    local f = run.open(file, 'w')
    run.write_csv(f, rows)
    f:close()
    names[#names + 1] = file
  end
  table.sort(names)
  print(gettext('written: ') .. table.concat(names, ', '))
end
if not rep.ok then run.fail(gettext('the discounts passed the daily cap: see PROBLEMS above')) end
