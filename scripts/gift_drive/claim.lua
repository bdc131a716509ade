-- claim.lua — one worker claims an item at a station, with the ID number.
--
--   gonghui run scripts/gift_drive/claim.lua station=ST01 id=330481199001011234 [item=gift-package]
--
-- Prints what was issued, or why not (not eligible, already received -
-- where and when -, out of stock at this station, not a member, a mistyped
-- ID number) on a line starting with "refused". (The exit code is 0 either
-- way: a script cannot choose its exit code without raising an error, and an
-- error prints a traceback that reads like a crash to the clerk.)
local gift_drive = require 'gift_drive'
local drive = require 'drive'

local station = params.station
local id = params.id and tostring(params.id)
local item = params.item or 'gift-package'
if not station or not id then
  error('usage: gonghui run claim.lua station=ST01 id=ID_NUMBER [item=gift-package]')
end
local d = gift_drive.define(drive)
local a, code, msg = d:claim(station, id, item)
if a then
  print(string.format('issued: %s to member %d at %s (award %d, %s)', item, a.member_id, station,
                      a.award_id, a.at))
else
  print(string.format('refused (%s): %s', code, msg))
end
