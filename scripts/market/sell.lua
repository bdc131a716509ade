-- sell.lua — records one sale at the market. With member= or id= the member
-- pays with the union benefit code (工会惠工码) and gets the discount, up to
-- what is left of the daily cap.
--
--   gonghui run scripts/market/sell.lua vendor=V01 product=P01 amount=19.99 [id=ID_NUMBER | member=42] [date=2025-05-10] [ref=R12]
--   gonghui run scripts/market/sell.lua vendor=V01 product=P01 qty=3          (qty x the product's price)
-- amount is in yuan (at most two decimals), or fen=1999 in fen. date
-- defaults to today (the run's clock: --now). ref is the vendor's receipt
-- number: the same receipt is never entered twice.
local market = require 'market'
local program = require 'program'
local common = require 'common'
local fmt = require 'fmt'
local parse = require 'parse'

local mk = common.market()
if not params.vendor or not params.product then
  run.fail(gettext('usage: sell.lua vendor=V01 product=P01 amount=YUAN|fen=FEN|qty=N [member=ID|id=ID_NUMBER] [date=YYYY-MM-DD] [ref=NO]'))
end
local s = { vendor = tostring(params.vendor), product = tostring(params.product),
            date = params.date and tostring(params.date), ref = params.ref and tostring(params.ref),
            qty = params.qty }
if params.amount then
  local why
  s.amount_fen, why = parse.yuan(params.amount)
  if not s.amount_fen then run.fail(string.format(gettext('amount: %s'), why)) end
elseif params.fen then
  s.amount_fen = math.tointeger(params.fen)
  if not s.amount_fen then run.fail(string.format(gettext('fen is whole fen, got %s'), tostring(params.fen))) end
end
if params.qty ~= nil and type(params.qty) ~= 'number' then run.fail(string.format(gettext('qty is a number, got %s'), tostring(params.qty))) end
local who = common.who()
if who then s.member_id, s.id_number = who.member_id, who.id_number end
local sale, code, msg = mk:sell(s)
program.must(sale, code, msg)
local line = string.format(gettext('sold: sale %d, %s %s %s yuan'), sale.sale_id, sale.vendor_id, sale.product_id,
                           fmt.yuan(sale.amount_fen))
if sale.endorsed then line = line .. ' (劳模推荐)' end
if sale.pay == 'code' then
  line = line .. string.format(gettext('; benefit code, member %d: discount %s yuan%s, %s of %s yuan used today'),
                               sale.member_id, fmt.yuan(sale.discount_fen), sale.capped and ' (daily cap reached)' or '',
                               fmt.yuan(mk:given(sale.member_id, sale.date)), fmt.yuan(mk.cap_fen))
end
print(line .. string.format(gettext('; paid %s yuan'), fmt.yuan(sale.paid_fen)))
