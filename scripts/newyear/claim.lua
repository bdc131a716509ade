-- claim.lua — a member claims a day benefit or a duty gift, with the ID
-- number (or member=N), at a station if the benefit is handed out there.
--
--   gonghui run scripts/newyear/claim.lua item=laba-porridge id=330481199001081234 station=ST01
--   gonghui run scripts/newyear/claim.lua item=duty-gift id=... station=ST02
--
-- Prints `issued: ...`, or `refused (reason): ...` and exits 1: not on the
-- benefit's day, not eligible, already received (when and where), none left.
local newyear = require 'newyear'
local program = require 'program'
local plan = require 'plan'

local who = params.member or (params.id and tostring(params.id))
if not who or not params.item then
  run.fail(gettext('usage: gonghui run claim.lua item=ITEM (id=ID_NUMBER | member=N) [station=ST01]'))
end
local ny = newyear.refusing(newyear.define, plan)
local a, code, msg = newyear.refusing(ny.claim, ny, who, params.item, { pool = params.station })
program.must(a, code, msg)
print(string.format(gettext('issued: %s to member %d%s (award %d, %s)'), params.item, a.member_id,
                    params.station and (' at ' .. params.station) or '', a.award_id, a.at))
