-- an event log written by gonghui before compact events (6893998)
db.atomic(function()
  for i = 1, 5 do bus.publish('pay.in', { n = i, who = '李娜' .. i }) end
  bus.publish('pay.out', 7)
  bus.publish('pay.in')
end)
bus.publish('award.issued', { member_id = 42 })
db.atomic(function()
  for i = 6, 8 do bus.publish('pay.in', i) end
end)
print('last ' .. bus.last())
