-- bench/w7_gift_drive.lua — W7 of issue 23: the shipped gift drive's plan
-- (scripts/gift_drive/drive.lua, as scripts/lib/gift_drive.lua reads it)
-- issuing one 新春礼包 to every eligible member through the program framework.
--
--   gonghui --db DIR run --in scripts/gift_drive bench/w7_gift_drive.lua drive=scripts/gift_drive/drive.lua
--   gonghui --db DIR run --in scripts/gift_drive bench/w7_gift_drive.lua drive=... verify=1   (after it; untimed)
--
-- The plan is the shipped one (who, window, fields, the package's value, once
-- per member) with the stock and the station quotas lifted, so that everyone
-- eligible gets one: the work is the framework's, not a 500-package budget.
-- Prints `W7 issued=N eligible=N`; fails, storing nothing, unless every
-- member the rule's query yields got one. verify=1 issues nothing: it checks what a run stored, member by
-- member: the members holding a package are exactly those the rule selects,
-- each once, each with its event, at the package's value; prints
-- `W7 verified N`.
local gift_drive = require 'gift_drive'
local program = require 'program'
local registry = require 'registry'

registry.define_all()
local path = params.drive or 'scripts/gift_drive/drive.lua'   -- read with --in scripts/gift_drive
local fh = assert(io.open(path))
local drive = assert(load(fh:read('a'), '@' .. path, 't', {}))()
fh:close()
local plan = gift_drive.plan(drive)
plan.kinds = { plan.kinds[1] }          -- the gift package
plan.kinds[1].stock, plan.kinds[1].places = nil, nil
local kind = plan.kinds[1].kind
local where = { category = plan.who.where.category, status = plan.who.where.status }

if params.verify then
  program.define_collections()
  local function fail(fmt, ...) error(string.format('W7 verify: ' .. fmt, ...), 0) end -- i18n: ok (bench)
  local held, n = {}, 0
  for e in db.program_entries:scan{ index = 'program,kind', eq = { plan.id, kind } } do
    local mid = e.member_id
    if held[mid] then fail('member %d holds two packages (entries %d and %d)', mid, held[mid], e.entry_id) end
    if e.fen ~= plan.kinds[1].value_fen or e.qty ~= 1 or e.reverses then
      fail('entry %d: fen %s, qty %s', e.entry_id, tostring(e.fen), tostring(e.qty))
    end
    held[mid] = e.entry_id
    n = n + 1
  end
  local eligible = 0
  for m in db.members:scan(where) do
    eligible = eligible + 1
    if not held[m.member_id] then fail('eligible member %d got nothing', m.member_id) end
    if m.status ~= 'active' then fail('member %d is %s', m.member_id, m.status) end
  end
  if eligible ~= n then fail('%d packages for %d eligible members', n, eligible) end
  -- every entry has its one standard event, with the entry's figures
  local evs, from = 0, 1
  while true do
    local batch = bus.events{ from = from, topic = program.EVENT, limit = 10000 }
    for _, ev in ipairs(batch) do
      local x = program.entry_of_event(ev.payload)
      if x.program == plan.id then
        if held[x.member_id] ~= x.entry_id or x.fen ~= plan.kinds[1].value_fen then
          fail('event %d: member %s entry %s', ev.seq, tostring(x.member_id), tostring(x.entry_id))
        end
        evs = evs + 1
      end
    end
    if #batch < 10000 then break end
    from = batch[#batch].seq + 1
  end
  if evs ~= n then fail('%d events for %d entries', evs, n) end
  print(string.format('W7 verified %d', n)) -- i18n: ok (bench)
  return
end

local P = program.define(plan, { file = 'w7' })
-- One transaction, checked before it commits (grant_all's check): a grant
-- inside a db.atomic of the bench's own would make each batch a savepoint,
-- which costs LMDB a search of its dirty pages per write. The check is that
-- every member the rule's query yields got a package (none refused); that
-- they are exactly the eligible, each once, is verify=1's (untimed: a count
-- of the registry here cost 60 M instructions, 7% of the run).
local eligible
local n = P:grant_all(kind, { at = '2025-01-20 10:00:00', check = function(c)
  eligible = c.entered
  for code, k in pairs(c) do
    if code ~= 'entered' and code ~= 'fen' then eligible = eligible + k end
  end
  if c.entered ~= eligible or eligible == 0 then
    error(string.format('W7: issued %d packages to %d eligible members', c.entered, eligible)) -- i18n: ok (bench)
  end
end })
print(string.format('W7 issued=%d eligible=%d', n.entered, eligible)) -- i18n: ok (bench)
