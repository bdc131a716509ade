-- setup.lua — stores the market of plan.lua: the market and its discount
-- rule, its days and booths, its vendors and products. Safe to run again
-- after editing the plan (nothing is removed; a changed discount applies to
-- sales from then on).
--
--   gonghui run scripts/market/setup.lua [plan=plan]
local market = require 'market'
local common = require 'common'
local fmt = require 'fmt'

local mk = common.try(market.define, common.plan())
local days = mk:days()
print(string.format('%s (%s), %s, %s .. %s', mk.title, mk.id, mk.town, mk.starts, mk.ends))
print(string.format(gettext('benefit code: %d%% off (rounded down to the fen), at most %s yuan per member per day'),
                    mk.percent, fmt.yuan(mk.cap_fen)))
print(string.format(gettext('%d market days (%s .. %s), %d booths, %d vendors, %d products'),
                    #days, days[1] or '-', days[#days] or '-',
                    db.market_booths:count{ market = mk.id }, db.market_vendors:count(), db.market_products:count()))
