-- verify.lua — checks a draw: the lottery plugin recomputes the winners
-- from the published data and every prize awarded must be a winner's.
-- Give copies of the published files to check those instead of the stored
-- ones (a notice-board copy, a file someone sent).
--
--   gonghui run scripts/newyear/verify.lua draw=red-envelope
--   gonghui run scripts/newyear/verify.lua draw=red-envelope entrants=FILE winners=FILE [seed=...]
--   gonghui run scripts/newyear/verify.lua draw=red-envelope record=FILE      (a published draw record)
--   gonghui run scripts/newyear/verify.lua draw=red-envelope public='03 07 ...' (the value the lottery announced)
--
-- Prints `ok: ...` (exit 0), or what does not match (exit 1).
local newyear = require 'newyear'
local plan = require 'plan'

if not params.draw then
  run.fail(gettext('usage: gonghui run verify.lua draw=red-envelope [record=FILE] [entrants=FILE] [winners=FILE] [seed=...] [public=...]'))
end
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
  list_commitment = params.list_commitment and tostring(params.list_commitment),
  public_value = params.public and tostring(params.public),
}
local ny = newyear.refusing(newyear.define, plan)
local ok, why
if params.record then
  local program = require 'program'
  local rec = program.read_draw_record(params.record)
  ok, why = ny.P:verify_draw(params.draw, rec)
else
  ok, why = newyear.refusing(ny.verify, ny, params.draw, pub)
end
if not ok then run.fail(string.format(gettext('does not verify: %s'), why)) end
local r = ny:draw_of(params.draw)
print(string.format(gettext('ok: draw %s: the %d winners follow from the public value and the %d entrants, and the ')
                    .. 'prizes went to them', r.draw_id, r.k, r.n))
