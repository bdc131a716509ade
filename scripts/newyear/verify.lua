-- verify.lua — checks a draw: the lottery plugin recomputes the winners
-- from the published data and every prize awarded must be a winner's.
-- Give copies of the published files to check those instead of the stored
-- ones (a notice-board copy, a file someone sent).
--
--   gonghui run scripts/newyear/verify.lua draw=red-envelope
--   gonghui run scripts/newyear/verify.lua draw=red-envelope entrants=FILE winners=FILE [seed=...]
--
-- Prints `ok: ...` (exit 0), or what does not match (exit 1).
local newyear = require 'newyear'
local plan = require 'plan'

if not params.draw then run.fail(gettext('usage: gonghui run verify.lua draw=red-envelope [entrants=FILE] [winners=FILE] [seed=...]')) end
local function read(path)
  local f, err = io.open(path, 'rb')
  if not f then run.fail(err) end
  local s = f:read('a')
  f:close()
  return s
end
local pub = {
  entrants = params.entrants and read(params.entrants),
  winners = params.winners and read(params.winners),
  seed = params.seed and tostring(params.seed),
  seed_commitment = params.seed_commitment and tostring(params.seed_commitment),
  list_commitment = params.list_commitment and tostring(params.list_commitment),
}
local ny = newyear.refusing(newyear.define, plan)
local ok, why = newyear.refusing(ny.verify, ny, params.draw, pub)
if not ok then run.fail(string.format(gettext('does not verify: %s'), why)) end
local r = ny:draw_of(params.draw)
print(string.format(gettext('ok: draw %s: the %d winners follow from the seed and the %d entrants, and the ')
                    .. 'prizes went to them', r.draw_id, r.k, r.n))
