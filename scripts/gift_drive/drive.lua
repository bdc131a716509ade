-- drive.lua — this year's gift drive: edit this file, then run setup.lua.
--
-- The district federation's drive: 500 gift packages and 1,200 souvenirs,
-- split among the rest stations where outdoor workers collect them. The
-- quotas of an item must not add up to more than its stock. Stations are
-- put into the registry's stations collection by setup.lua; `host_union`
-- names the union responsible for a station (its accounts see it). The
-- plan is in the program framework's dialect (README: The program
-- framework); once a claim is entered, a change needs `version = 2,
-- changes = { [2] = 'why' }`.
return {
  id     = 'spring-2025',
  title  = '2025年春节送温暖',
  window = { from = '2025-01-10', to = '2025-02-12' },   -- claims are taken these days (to 元宵节)
  -- who may claim: active members of these categories
  who = { where = { category = { 'sanitation', 'courier', 'gig_delivery', 'construction', 'driver' },
                    status = 'active' } },
  stations = {
    { station_id = 'ST01', name = '硖石工行爱心驿站', town = '硖石街道', host_org = '工商银行海宁硖石支行',
      host_union = '硖石街道总工会' },
    { station_id = 'ST02', name = '许村邮政驿站',     town = '许村镇',   host_org = '中国邮政许村营业所',
      host_union = '许村镇总工会' },
    { station_id = 'ST03', name = '长安镇工会驿站',   town = '长安镇',   host_org = '长安镇总工会',
      host_union = '长安镇总工会' },
  },
  kinds = {   -- each once per member; places: the quota of each station
    { kind = 'gift-package', title = '新春礼包', value_fen = 20000, stock = 500,
      places = { ST01 = 200, ST02 = 150, ST03 = 150 } },
    { kind = 'souvenir', title = '纪念品', value_fen = 3000, stock = 1200,
      places = { ST01 = 500, ST02 = 350, ST03 = 350 } },
  },
}
