-- bench/w2_program.lua — W2 through the program framework (scripts/lib/program.lua):
-- the campaign as a plan, granted to every eligible member with P:grant_all.
--
--   GONGHUI_LIB=scripts/lib gonghui --db DIR run bench/w2_program.lua [expect=N] [loop=1]
--
-- grant_all's common case is one insert_select (core/lua_select.c); loop=1
-- takes its Lua loop of prepared inserts instead (bench/run.sh's w2_program_loop:
-- the framework before insert_select, measured as its own line).
--
-- Every active outdoor worker gets one ledger entry (program_entries) and one
-- durable `program.entry` event, all in one transaction, with the plan's
-- limits checked (once per member). With expect=N the run fails, storing
-- nothing, unless exactly N were granted (grant_all's check).
local program = require 'program'

local P = program.define{
  id = 'spring-2025', title = 'W2 campaign', window = { from = '2025-01-01', to = '2025-12-31' },
  kinds = { { kind = 'gift-package', title = 'gift package', value_fen = 20000, per_member = 1 } },
  who = { where = { category = { 'gig_delivery', 'courier', 'sanitation', 'construction', 'driver' },
                    status = 'active' } },
}
-- (grant_all is one transaction; the count is checked in it, before it
-- commits: wrapped in a db.atomic of its own the grant would be a savepoint,
-- which costs LMDB a search of its dirty pages on every write)
local n = P:grant_all('gift-package', { at = '2025-01-20 10:00:00', loop = params.loop and true, check = function(c)
  if params.expect and c.entered ~= params.expect then
    error(('W2: granted %d members, the C baseline awarded %d'):format(c.entered, params.expect))
  end
end }).entered
print(('awarded %d'):format(n))
