-- yearly.lua — what the programs that are one program a year share (the
-- activity register, activity.lua, and union building, unionbuild.lua: their
-- plan.lua returns function(year) -> plan), and the pieces of their command
-- scripts (scripts/activity/register.lua, scripts/unionbuild/build.lua).
--
--   local yearly = require 'yearly'
--   yearly.define(plan, year)      --> the framework's program of `year`; plan is a plan file
--                                  --  (returning function(year) -> plan, or a plan), its loaded
--                                  --  chunk's function, or a plan table (tests)
--   yearly.REFUSALS                -- the framework's refusals and 'unknown' (not registered)
--
--   in a command script:
--   local cmd = yearly.command(COMMANDS, 'scripts/activity/register.lua')   -- the first given
--   yearly.year()                  --> year=, else the year of the run's clock (--now)
--   yearly.sheet(X, cmd)           -- X:sheet(cmd, params[cmd]) entered, its summary printed,
--                                  -- exit 1 if a row was refused
--   yearly.report(P)               -- P's report{ by = params.by } printed, exit 1 if it disagrees
local _ = gettext
local program = require 'program'

local M = {}

M.REFUSALS = setmetatable({ unknown = N_('not registered') }, { __index = program.REFUSALS })

function M.define(plan, year)
  if type(plan) == 'table' then return program.define(plan) end
  if type(plan) == 'function' then return program.define(plan(year)) end   -- a plan file's chunk
  local raw, file = program.read_plan(plan, year)
  return program.define(raw, { file = file })
end

-- ---- command scripts ------------------------------------------------------------------

function M.command(commands, script)
  for _i, c in ipairs(commands) do
    if params[c] ~= nil then return c end
  end
  run.fail(string.format(_('give a command: %s (see the top of %s)'), table.concat(commands, '=..., ') .. '=...',
                         script))
end

function M.year()
  return program.param('year', 'int', math.tointeger(tonumber(os.date('%Y'))))
end

function M.sheet(x, cmd)
  local s = x:sheet(cmd, program.param(cmd))
  print(program.sheet_summary(s))
  program.finish(s)
end

function M.report(P)
  local rep = P:report{ by = params.by }
  print(program.format(rep))
  if not rep.ok then run.fail(_('the totals and the ledger disagree (see PROBLEMS)')) end
end

return M
