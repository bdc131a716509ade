-- market_fixtures.lua — a fixed farmers' market for the market_* tests, on
-- the registry of program_fixtures.lua: three vendors in three towns, four
-- products, Saturdays of May and June 2025, three booths, 10% off up to
-- 20.00 yuan a member a day, and the titles of four members:
--   7 赵敏  浙江省劳动模范 (model worker, held)
--   8 黄河  嘉兴市劳动模范 (model worker, revoked on 2025-05-15)
--   9 周涛  海宁工匠 (a craftsman: not a model worker)
--   1 王建国 none
--
--   local mf = require 'market_fixtures'
--   local mk = mf.load()      -- the registry, the titles, the market; returns it
local fx = require 'program_fixtures'
local market = require 'market'
local M = {}

M.PLAN = {
  id = 'xs', title = '硖石共富集市', town = '硖石街道', place = '硖石街道文化广场',
  starts = '2025-05-01', ends = '2025-06-30',
  discount = { percent = 10, cap_fen = 2000 },
  booths = { 'A01', 'A02', { booth = 'A03', name = '东侧' } },
  weekdays = { 6 },
  vendors = {
    { vendor_id = 'V01', name = '许村张家果园', kind = 'farmer', town = '许村镇' },
    { vendor_id = 'V02', name = '长安绿源蔬菜合作社', kind = 'coop', town = '长安镇' },
    { vendor_id = 'V03', name = '硖石李阿姨土鸡蛋', kind = 'farmer', town = '硖石街道' },
  },
  products = {
    { product_id = 'P01', vendor_id = 'V01', name = '水蜜桃', unit = '斤', price_fen = 800 },
    { product_id = 'P02', vendor_id = 'V01', name = '葡萄', unit = '斤', price_fen = 1000 },
    { product_id = 'P03', vendor_id = 'V02', name = '有机青菜', unit = '斤', price_fen = 350 },
    { product_id = 'P04', vendor_id = 'V03', name = '土鸡蛋', unit = '个', price_fen = 150 },
  },
}

M.TITLES = {
  { member_id = 7, kind = 'model_worker', title = '浙江省劳动模范', level = 'provincial', awarded = '2020-04-28' },
  { member_id = 8, kind = 'model_worker', title = '嘉兴市劳动模范', level = 'city', awarded = '2019-04-30',
    revoked = '2025-05-15' },
  { member_id = 9, kind = 'craftsman', title = '海宁工匠', level = 'county', awarded = '2023-05-01' },
}

function M.load()
  fx.load()
  market.define_collections()
  if db.member_titles:count() == 0 then
    db.atomic(function()
      for _, t in ipairs(M.TITLES) do db.member_titles:insert(t) end
    end)
  end
  return market.define(M.PLAN)
end

return M
