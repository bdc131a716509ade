-- subsidy.lua — a return-to-work ticket subsidy (返岗车票补贴): the ticket's
-- price, at most the cap per member, once per member, out of the budget.
--
--   gonghui run scripts/newyear/subsidy.lua id=330481199001081234 yuan=356.50 ticket=G1234-0226
local newyear = require 'newyear'
local program = require 'program'
local fmt = require 'fmt'
local parse = require 'parse'
local plan = require 'plan'

local who = params.member or (params.id and tostring(params.id))
if not who or params.yuan == nil then
  run.fail(gettext('usage: gonghui run subsidy.lua (id=ID_NUMBER | member=N) yuan=TICKET_PRICE [ticket=NUMBER]'))
end
local fen, why = parse.yuan(params.yuan)
if not fen then run.fail('yuan=: ' .. why) end
local ny = newyear.refusing(newyear.define, plan)
local a, code, msg = newyear.refusing(ny.subsidy, ny, who, fen, { ticket = params.ticket and tostring(params.ticket) })
program.must(a, code, msg)
print(string.format(gettext('issued: %s yuan to member %d for a ticket of %s yuan%s (award %d)'), fmt.yuan(a.fen),
                    a.member_id, fmt.yuan(fen), a.capped and ' (the cap per member)' or '', a.award_id))
