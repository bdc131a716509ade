-- drive.lua — the benchmark's gift drive: room for every claim.
return {
  id     = 'bench-drive',
  title  = '压测送温暖',
  window = { from = '2020-01-01', to = '2099-12-31' },
  who = { where = { category = { 'courier' }, status = 'active' } },
  stations = {
    { station_id = 'ST01', name = '硖石驿站', town = '硖石街道', host_org = '硖石街道总工会', host_union_id = 2 },
    { station_id = 'ST02', name = '许村驿站', town = '许村镇',   host_org = '许村镇总工会',   host_union_id = 3 },
  },
  kinds = {
    { kind = 'gift-package', title = '新春礼包', value_fen = 20000, stock = 20000000,
      places = { ST01 = 10000000, ST02 = 10000000 } },
  },
}
