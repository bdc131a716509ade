-- bench/w7_gift_drive.lua — W7 of issue 23: the shipped gift drive's plan
-- (scripts/gift_drive/drive.lua, as scripts/lib/gift_drive.lua reads it)
-- issuing one 新春礼包 to every eligible member through the program framework.
--
--   gonghui --db DIR run --in scripts/gift_drive bench/w7_gift_drive.lua drive=scripts/gift_drive/drive.lua
--
-- The plan is the shipped one (who, window, fields, the package's value, once
-- per member) with the stock and the station quotas lifted, so that everyone
-- eligible gets one: the work is the framework's, not a 500-package budget.
-- Prints `W7 issued=N eligible=N`; fails, storing nothing, unless each
-- eligible member got exactly one.
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
local P = program.define(plan, { file = 'w7' })
local n
db.atomic(function()
  n = P:grant_all(plan.kinds[1].kind, { at = '2025-01-20 10:00:00', batch = 10000 })
end)
local eligible = 0
for _ in db.members:scan{ category = plan.who.where.category, status = 'active' } do eligible = eligible + 1 end
if n.entered ~= eligible then
  error(string.format('W7: issued %d packages to %d eligible members', n.entered, eligible)) -- i18n: ok (bench)
end
print(string.format('W7 issued=%d eligible=%d', n.entered, eligible)) -- i18n: ok (bench)
