-- discount.lua — a benefit-code discount (惠工码) on a bill: rate_percent of
-- it, at most per_use_fen, at most what is left of the member's
-- per_member_fen, once a day per member, out of the day's budget.
--
--   gonghui run scripts/newyear/discount.lua id=330481199001081234 yuan=88.80 merchant=万家超市
local newyear = require 'newyear'
local program = require 'program'
local fmt = require 'fmt'
local parse = require 'parse'
local plan = require 'plan'

local who = params.member or (params.id and tostring(params.id))
if not who or params.yuan == nil then
  run.fail(gettext('usage: gonghui run discount.lua (id=ID_NUMBER | member=N) yuan=BILL [merchant=NAME]'))
end
local fen, why = parse.yuan(params.yuan)
if not fen then run.fail('yuan=: ' .. why) end
local ny = newyear.refusing(newyear.define, plan)
local a, code, msg = newyear.refusing(ny.discount, ny, who, fen, { merchant = params.merchant })
program.must(a, code, msg)
print(string.format(gettext('discount: %s yuan off %s yuan for member %d (%s yuan of %s used)'), fmt.yuan(a.fen),
                    fmt.yuan(fen), a.member_id, fmt.yuan(ny:discount_used(a.member_id)),
                    fmt.yuan(plan.discount.per_member_fen)))
