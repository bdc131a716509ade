-- bench/w2_campaign_loop.lua — W2 as a loop of prepared inserts (the fast form before
-- insert_select, measured as its own line so nothing hides): the rule's
-- conditions go into the scan, where C checks them on the stored bytes before
-- any Lua value is made, and the writes are prepared once (prepare_insert), so
-- the loop makes no tables.
--
--   gonghui --db DIR run bench/w2_campaign_loop.lua [expect=N]

db.define('awards', {
  fields = { campaign = 'string', member_id = 'int', item = 'string', amount_fen = 'fen' },
})

local award = db.awards:prepare_insert(
  { campaign = 'spring-2025', item = 'gift-package', amount_fen = 20000 }, 'member_id')

local awarded = 0
db.atomic(function()
  for m in db.members:scan{ category = { 'gig_delivery', 'courier', 'sanitation',
                                         'construction', 'driver' },
                            status = 'active' } do
    local id = m.member_id
    award(id)
    bus.publish('award.issued', id)
    awarded = awarded + 1
  end
  if params.expect and awarded ~= params.expect then
    error(('W2: awarded %d members, the C baseline awarded %d'):format(awarded, params.expect))
  end
end)
print(('awarded %d'):format(awarded))
