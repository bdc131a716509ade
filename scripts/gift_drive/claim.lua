-- claim.lua — one worker claims an item at a station, with the ID number.
--
--   gonghui run scripts/gift_drive/claim.lua station=ST01 id=330481199001081234 [item=gift-package]
--
-- Prints what was issued (exit code 0), or why not on a line starting with
-- "refused" (not eligible, already received - where and when -, out of
-- stock at this station, not a member, a mistyped ID number; exit code 1).
local gift_drive = require 'gift_drive'
local program = require 'program'
local drive = require 'drive'

local station = params.station
local id = params.id and tostring(params.id)
local item = params.item or 'gift-package'
if not station or not id then
  run.fail(gettext('usage: gonghui run claim.lua station=ST01 id=ID_NUMBER [item=gift-package]'))
end
local d = gift_drive.define(drive)
local a = program.must(d:claim(station, id, item))
print(string.format(gettext('issued: %s to member %d at %s (award %d, %s)'), item, a.member_id, station,
                    a.award_id, a.at))
