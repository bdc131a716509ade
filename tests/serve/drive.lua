-- drive.lua — the gift drive of the serve tests (the program framework's plan
-- dialect): a window around any day the tests run on, two stations in two
-- towns (see fixture.lua), gift packages plenty, souvenirs one per station.
return {
  id     = 'test-drive',
  title  = '测试送温暖',
  window = { from = '2020-01-01', to = '2099-12-31' },
  who = { where = { category = { 'sanitation', 'courier' }, status = 'active' } },
  stations = {
    { station_id = 'ST01', name = '硖石驿站', town = '硖石街道', host_org = '硖石街道总工会', host_union_id = 2 },
    { station_id = 'ST02', name = '许村驿站', town = '许村镇',   host_org = '许村镇总工会',   host_union_id = 3 },
  },
  kinds = {
    { kind = 'gift-package', title = '新春礼包', value_fen = 20000, stock = 100000,
      places = { ST01 = 50000, ST02 = 50000 } },
    { kind = 'souvenir', title = '纪念品', value_fen = 3000, stock = 2, places = { ST01 = 1, ST02 = 1 } },
  },
}
