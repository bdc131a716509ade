-- endorse.lua — a model worker (劳模) endorses a product (劳模推荐). Refused
-- unless the member holds a model-worker title on that date.
--
--   gonghui run scripts/market/endorse.lua product=P01 member=42 [date=2025-04-20]
--   gonghui run scripts/market/endorse.lua product=P01 id=ID_NUMBER
local market = require 'market'
local common = require 'common'

common.market()
if not params.product then run.fail(gettext('usage: endorse.lua product=P01 member=ID|id=ID_NUMBER [date=YYYY-MM-DD]')) end
local member = common.member_id()
local e = common.try(market.endorse, tostring(params.product), member, params.date and tostring(params.date))
print(string.format(gettext('endorsed: %s by member %d (%s) from %s'), e.product_id, e.member_id, e.title, e.since))
