-- bench/w2_campaign.lua — W2 as an admin writes it with the documented API.
--
--   gonghui --db DIR run bench/w2_campaign.lua [expect=N]
--
-- Every active outdoor worker gets one award record and one durable
-- `award.issued` event on the bus, all in one transaction. With expect=N (the
-- C baseline's count) the run fails, storing nothing, unless exactly N were
-- awarded.

local OUTDOOR = { gig_delivery = true, courier = true, sanitation = true,
                  construction = true, driver = true }

db.define('awards', {
  fields = { campaign = 'string', member_id = 'int', item = 'string', amount_fen = 'fen' },
})

local awarded = 0
db.atomic(function()
  for m in db.members:scan() do
    if OUTDOOR[m.category] and m.status == 'active' then
      db.awards:insert{ campaign = 'spring-2025', member_id = m.member_id,
                        item = 'gift-package', amount_fen = 20000 }
      bus.publish('award.issued', { member_id = m.member_id })
      awarded = awarded + 1
    end
  end
  if params.expect and awarded ~= params.expect then
    error(('W2: awarded %d members, the C baseline awarded %d'):format(awarded, params.expect))
  end
end)
print(('awarded %d'):format(awarded))
