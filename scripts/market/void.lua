-- void.lua — voids a sale entered by mistake (a wrong amount, the wrong
-- member): it stays on record with the time and the reason, counts in no
-- report, and its discount is given back to the member's cap for that
-- day. Enter the corrected sale afterwards (its receipt number is free
-- again).
--
--   gonghui run scripts/market/void.lua sale=123 reason='amount was 19.90, not 199.00'
local common = require 'common'
local program = require 'program'
local fmt = require 'fmt'

local mk = common.market()
local id = math.tointeger(params.sale)
if not id or not params.reason then run.fail(gettext("usage: void.lua sale=SALE_NUMBER reason='why'")) end
local s, code, msg = mk:void(id, tostring(params.reason))
program.must(s, code, msg)
print(string.format(gettext('voided: sale %d, %s %s %s %s yuan, discount %s yuan%s'), s.sale_id, s.date, s.vendor_id,
                    s.product_id, fmt.yuan(s.amount_fen), fmt.yuan(s.discount_fen),
                    s.member_id and string.format(gettext(' (member %d: %s of %s yuan used that day now)'), s.member_id,
                      fmt.yuan(mk:given(s.member_id, s.date)), fmt.yuan(mk.cap_fen)) or ''))
