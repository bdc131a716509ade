-- setup.lua — makes (or updates) the gift drive of drive.lua: its stations,
-- the campaign and the quotas. Safe to run again after editing drive.lua: a
-- quota lower than what a station has already issued is refused.
--
--   gonghui run scripts/gift_drive/setup.lua
--
-- A station's `host_union` (a union's name) becomes its host_union_id; a
-- name the registry's unions do not have is refused, unless the registry
-- has no unions at all (then the station has no host union yet).
local gift_drive = require 'gift_drive'
local program = require 'program'
local registry = require 'registry'
local drive = require 'drive'

registry.define_all()
program.cli(function()
  db.atomic(function()
    local has_unions = db.unions:count() > 0
    for i, spec in ipairs(drive.stations) do
      local s = {}
      for k, v in pairs(spec) do if k ~= 'host_union' then s[k] = v end end
      if spec.host_union and has_unions then
        s.host_union_id = db.unions:find('name', spec.host_union, 'union_id')
        if not s.host_union_id then
          error(string.format(_("drive.lua: key 'stations[%d].host_union': no union named '%s' in the registry: correct the name or add the union first"),
                              i, spec.host_union), 0)
        end
      end
      local old = db.stations:get(s.station_id)
      if not old then db.stations:insert(s) else db.stations:update(s.station_id, s) end
    end
  end)
  local d = gift_drive.define(drive)
  print(gift_drive.format(d:report()))
end)
