-- report.lua — the campaign's report: per item and station stock, issued,
-- remaining; 人次/人/户次 and value; the draws; the quiz; every cap checked
-- (stock, budgets, the subsidy cap, the discount caps per use and per
-- member; every draw verified). Exits 1 when something does not hold.
--
--   gonghui run scripts/newyear/report.lua [csv=report.csv]
local newyear = require 'newyear'
local plan = require 'plan'

local ny = newyear.refusing(newyear.define, plan)
local rep = newyear.refusing(ny.report, ny)
print(newyear.format(rep, ny))
if params.csv then
  local rows = { { 'item', 'pool', 'stock', 'issued', 'remaining' } }
  for _, s in ipairs(rep.campaign.stock) do
    rows[#rows + 1] = { s.title or s.item, s.pool == '' and '(all)' or s.pool, s.stock, s.issued, s.remaining }
  end
  local f = run.open(params.csv, 'w')
  run.write_csv(f, rows)
  f:close()
  print(gettext('written: ') .. params.csv)
end
if not rep.ok then run.fail(gettext('the report found problems: see PROBLEMS above')) end
