-- common.lua — what the market's entry scripts share: the plan named by
-- plan= (default plan.lua), the market it describes, and finding a member
-- by member=ID or id=ID_NUMBER.
local market = require 'market'
local registry = require 'registry'
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
    if not n then run.fail('member= takes a member number, got ' .. tostring(params.member)) end
    return { member_id = n }
  elseif params.id then
    return { id_number = tostring(params.id) }
  end
  return nil
end

-- The member_id of member= / id=, or a failure saying why not.
function M.member_id()
  local w = M.who()
  if not w then run.fail('give the member: member=MEMBER_ID or id=ID_NUMBER') end
  if w.member_id then
    if not db.members:get(w.member_id, 'member_id') then run.fail('no member ' .. w.member_id) end
    return w.member_id
  end
  local id = w.id_number:upper()
  if not registry.valid_id(id) then
    run.fail('not a valid ID number (18 characters, check character): ' .. w.id_number)
  end
  local m = db.members:find('id_number', id, 'member_id')
  if not m then run.fail('no member with ID number ' .. registry.mask_id(id)) end
  return m
end

-- Runs fn; an error it raises (a refusal of the plan: a booth taken, not a
-- model worker) ends the run with its message and no traceback.
function M.try(fn, ...)
  local ok, a, b, c = pcall(fn, ...)
  if not ok then run.fail(tostring(a)) end
  return a, b, c
end

return M
