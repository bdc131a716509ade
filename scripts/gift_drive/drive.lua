-- drive.lua — this year's gift drive: edit this file, then run setup.lua.
--
-- The district federation's drive: 500 gift packages and 1,200 souvenirs,
-- split among the rest stations where outdoor workers collect them. The
-- quotas of an item must not add up to more than its total. Stations are
-- put into the registry's stations collection by setup.lua.
return {
  id     = 'spring-2025',
  title  = '2025年春节送温暖',
  starts = '2025-01-10',            -- claims are taken from this day
  ends   = '2025-02-12',            -- to this day (元宵节), inclusive
  -- who may claim: active members of these categories
  categories = { 'sanitation', 'courier', 'gig_delivery', 'construction', 'driver' },
  stations = {
    { station_id = 'ST01', name = '硖石工行爱心驿站', town = '硖石街道', host_org = '工商银行海宁硖石支行' },
    { station_id = 'ST02', name = '许村邮政驿站',     town = '许村镇',   host_org = '中国邮政许村营业所' },
    { station_id = 'ST03', name = '长安镇工会驿站',   town = '长安镇',   host_org = '长安镇总工会' },
  },
  items = {
    { item = 'gift-package', title = '新春礼包', value_fen = 20000, total = 500,
      quotas = { ST01 = 200, ST02 = 150, ST03 = 150 } },
    { item = 'souvenir', title = '纪念品', value_fen = 3000, total = 1200,
      quotas = { ST01 = 500, ST02 = 350, ST03 = 350 } },
  },
}
