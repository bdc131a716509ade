-- bench/verify_w2.lua — checks, after a W2 run (not timed), that the awards
-- collection and the event log hold exactly expect=N awards and
-- award.issued events and that they look right.
--
--   gonghui --db DIR run bench/verify_w2.lua expect=N

local n = assert(params.expect, 'usage: gonghui run verify_w2.lua expect=N [form=w2_program]')

-- the events of a topic counted 100,000 at a time: one bus.events{} of them
-- all makes a Lua table per event, past --memory's 1 GB at 10,000,000 members
-- (3,018,000 program.entry events)
local function count_events(topic)
  local count, from = 0, 1
  while true do
    local page = bus.events{ topic = topic, from = from, limit = 100000 }
    count = count + #page
    if #page < 100000 then return count end
    from = page[#page].seq + 1
  end
end
if params.form == 'w2_program' or params.form == 'w2_program_loop' then   -- through the framework: ledger entries and program.entry events
  local a, e = db.program_entries:count(), count_events('program.entry')
  if a ~= n or e ~= n then
    error(('W2 verify: %d entries and %d program.entry events, expected %d of each'):format(a, e, n))
  end
  for r in db.program_entries:scan{ limit = 1000 } do
    local m = db.members:get(r.member_id)
    assert(r.program == 'spring-2025' and r.kind == 'gift-package' and r.fen == 20000 and m and m.status == 'active',
           'W2 verify: bad entry ' .. tostring(r.entry_id))
  end
  print(('verified %d entries and %d program.entry events'):format(a, e))
  return
end
local a, e = db.awards:count(), count_events('award.issued')
if a ~= n or e ~= n then
  error(('W2 verify: %d awards and %d award.issued events, expected %d of each'):format(a, e, n))
end
local OUTDOOR = { gig_delivery = true, courier = true, sanitation = true,
                  construction = true, driver = true }
local checked = 0
for r in db.awards:scan{ limit = 1000 } do
  assert(r.campaign == 'spring-2025' and r.item == 'gift-package' and r.amount_fen == 20000,
         'W2 verify: bad award ' .. tostring(r))
  local m = db.members:get(r.member_id)
  assert(m and OUTDOOR[m.category] and m.status == 'active',
         'W2 verify: award for an ineligible member ' .. tostring(r.member_id))
  checked = checked + 1
end
for _, ev in ipairs(bus.events{ limit = 1000 }) do
  local id = type(ev.payload) == 'table' and ev.payload.member_id or ev.payload
  assert(ev.topic == 'award.issued' and math.type(id) == 'integer',
         'W2 verify: bad event ' .. tostring(ev.seq))
end
print(('verified %d awards and %d award.issued events (%d checked in detail)'):format(a, e, checked))
