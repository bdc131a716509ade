-- drive.lua — the gift drive of the serve tests: a window around any day the
-- tests run on, two stations in two towns (see fixture.lua).
return {
  id     = 'test-drive',
  title  = '测试送温暖',
  starts = '2020-01-01',
  ends   = '2099-12-31',
  categories = { 'sanitation', 'courier' },
  stations = {
    { station_id = 'ST01', name = '硖石驿站', town = '硖石街道', host_org = '硖石街道总工会', host_union_id = 2 },
    { station_id = 'ST02', name = '许村驿站', town = '许村镇',   host_org = '许村镇总工会',   host_union_id = 3 },
  },
  items = {
    { item = 'gift-package', title = '新春礼包', value_fen = 20000, total = 100000,
      quotas = { ST01 = 50000, ST02 = 50000 } },
    { item = 'souvenir', title = '纪念品', value_fen = 3000, total = 2, quotas = { ST01 = 1, ST02 = 1 } },
  },
}
