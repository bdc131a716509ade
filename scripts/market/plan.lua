-- plan.lua — this market's plan: edit this file, then run setup.lua.
--
-- A town's co-prosperity farmers' market (共富集市): where and when it is
-- held, its booths, the benefit-code discount (工会惠工码), and the vendors
-- (farmers 农户 and co-operatives 合作社) with their products. Vendors and
-- products may also come from a sheet: `gonghui import market_vendors
-- vendors.csv` and `gonghui import market_products products.csv` after
-- setup.lua has run once (their columns are the field names below).
-- Another market: copy this file to another name and give plan=NAME to
-- every script.
return {
  id     = 'xs-2025',
  title  = '2025年硖石共富集市',
  town   = '硖石街道',                 -- the town holding the market
  place  = '硖石街道文化广场',
  starts = '2025-05-01',
  ends   = '2025-12-31',
  -- the benefit code: 10% off, rounded down to the fen, at most 20.00 yuan
  -- (2000 fen) of discount per member per day at this market
  discount = { percent = 10, cap_fen = 2000 },
  -- market days: every Saturday (1 = Monday .. 7 = Sunday) between starts
  -- and ends, plus any dates listed in days
  weekdays = { 6 },
  days     = { '2025-10-01' },        -- 国庆 special market
  booths   = { 'A01', 'A02', 'A03', 'A04', 'B01', 'B02' },
  vendors = {
    { vendor_id = 'V01', name = '许村张家果园',       kind = 'farmer', town = '许村镇' },
    { vendor_id = 'V02', name = '长安绿源蔬菜合作社', kind = 'coop',   town = '长安镇' },
    { vendor_id = 'V03', name = '硖石李阿姨土鸡蛋',   kind = 'farmer', town = '硖石街道' },
  },
  products = {
    { product_id = 'P01', vendor_id = 'V01', name = '水蜜桃',   unit = '斤', price_fen = 800 },
    { product_id = 'P02', vendor_id = 'V01', name = '葡萄',     unit = '斤', price_fen = 1000 },
    { product_id = 'P03', vendor_id = 'V02', name = '有机青菜', unit = '斤', price_fen = 350 },
    { product_id = 'P04', vendor_id = 'V03', name = '土鸡蛋',   unit = '个', price_fen = 150 },
  },
}
