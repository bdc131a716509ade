-- bench/w2_campaign_fast.lua — W2 in the fastest documented form: one
-- insert_select (SQL's INSERT INTO ... SELECT, core/lua_select.c): the rule's
-- conditions checked in C on the stored bytes, the constants encoded once,
-- the member's id copied as stored, and one durable `award.issued` event per
-- award (its member_id), all in C, in one transaction. The loop of prepared
-- inserts it replaces is bench/w2_campaign_loop.lua.
--
--   gonghui --db DIR run bench/w2_campaign_fast.lua [expect=N]

db.define('awards', {
  fields = { campaign = 'string', member_id = 'int', item = 'string', amount_fen = 'fen' },
})

local awarded = db.atomic(function()
  local n = db.awards:insert_select{
    from = db.members,
    where = { category = { 'gig_delivery', 'courier', 'sanitation', 'construction', 'driver' },
              status = 'active' },
    set = { campaign = 'spring-2025', item = 'gift-package', amount_fen = 20000 },
    take = { member_id = 'member_id' },
    publish = { topic = 'award.issued', fields = 'member_id' },
  }
  if params.expect and n ~= params.expect then
    error(('W2: awarded %d members, the C baseline awarded %d'):format(n, params.expect))
  end
  return n
end)
print(('awarded %d'):format(awarded))
