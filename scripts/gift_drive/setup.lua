-- setup.lua — makes (or updates) the gift drive of drive.lua: its stations,
-- the campaign and the quotas. Safe to run again after editing drive.lua: a
-- quota lower than what a station has already issued is refused.
--
--   gonghui run scripts/gift_drive/setup.lua
local gift_drive = require 'gift_drive'
local registry = require 'registry'
local drive = require 'drive'

registry.define_all()
db.atomic(function()
  for _, s in ipairs(drive.stations) do
    local old = db.stations:get(s.station_id)
    if not old then db.stations:insert(s) else db.stations:update(s.station_id, s) end
  end
end)
local d = gift_drive.define(drive)
print(gift_drive.format(d:report()))
