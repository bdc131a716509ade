-- common.lua — what the market's entry scripts share: the plan named by
-- plan= (default plan.lua), the market it describes, and finding a member
-- by member=ID or id=ID_NUMBER.
local market = require 'market'
local program = require 'program'
local M = {}

function M.plan() return require(params.plan or 'plan') end

-- The stored market of the plan (setup.lua must have run).
function M.market()
  local ok, mk = pcall(market.open, M.plan().id)
  if not ok then run.fail(tostring(mk)) end
  return mk
end

-- { member_id = n } or { id_number = s } from member= / id=, or nil.
function M.who()
  if params.member then
    local n = math.tointeger(tonumber(params.member))
    if not n then run.fail(string.format(gettext('member= takes a member number, got %s'), tostring(params.member))) end
    return { member_id = n }
  elseif params.id then
    return { id_number = tostring(params.id) }
  end
  return nil
end

-- The member_id of member= / id=, or a failure saying why not.
function M.member_id()
  local w = M.who()
  if not w then run.fail(gettext('give the member: member=MEMBER_ID or id=ID_NUMBER')) end
  local m, _, why = program.member(w.member_id or w.id_number)
  if not m then run.fail(why) end
  return m.member_id
end

-- Runs fn; an error it raises (a refusal of the plan: a booth taken, not a
-- model worker) ends the run with its message: the framework's harness.
M.try = program.cli

return M
