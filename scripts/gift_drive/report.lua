-- report.lua — issued and remaining per station and item, who received
-- what per worker category, 人次/人/户次.
--
--   gonghui run scripts/gift_drive/report.lua [csv=report.csv]
--
-- With csv=FILE the per-station table is also written there (for Excel).
local gift_drive = require 'gift_drive'
local drive = require 'drive'

local d = gift_drive.define(drive)
local rep = d:report()
print(gift_drive.format(rep))
if params.csv then
  local f = run.open(params.csv, 'w')
  f:write('\239\187\191station,name,item,quota,issued,remaining\r\n')
  for _, s in ipairs(rep.stations) do
    f:write(string.format('%s,%s,%s,%d,%d,%d\r\n', s.station, s.name, s.title or s.item,
                          s.quota, s.issued, s.remaining))
  end
  f:close()
  print(gettext('written: ') .. params.csv)
end
if not rep.ok then error(gettext('the stock and the awards disagree: see PROBLEMS above'), 0) end
