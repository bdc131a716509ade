-- draw.lua — draws a published draw once its public value is known and
-- issues the prizes, in one transaction; writes the winners (member ids in
-- draw order) and the full draw record to files. The public value is
-- recorded once: the draw is never run again with another one. If a party
-- committed a seed (commit.lua), its seed is needed too.
--
--   gonghui run scripts/newyear/draw.lua draw=red-envelope public='03 07 12 19 25 31 09' \
--       [seed_file=/secret/seed.txt] [out=FILE] [record=FILE]
local newyear = require 'newyear'
local program = require 'program'
local plan = require 'plan'

if not params.draw or not params.public then
  run.fail(gettext("usage: gonghui run draw.lua draw=red-envelope public='THE PUBLIC VALUE' [seed_file=FILE] [out=FILE] [record=FILE]"))
end
local seed = params.seed and tostring(params.seed)
if params.seed_file then seed = program.read_seed(params.seed_file) end
local ny = newyear.refusing(newyear.define, plan)
local r = newyear.refusing(ny.draw, ny, params.draw, { public = tostring(params.public), seed = seed })
local out = params.out or (params.draw .. '-winners.txt')
local f = run.open(out, 'w')
f:write(r.winners)
f:close()
local rec = params.record or (params.draw .. '-record.txt')
ny.P:write_draw_record(params.draw, rec)
print(string.format(gettext('draw %s: %d winners of %d entrants, drawn %s'), r.draw_id, r.k, r.n, r.drawn_at))
print(gettext('  winners:          ') .. out)
print(string.format(gettext('  public value:     %s (%s)'), r.public_value, r.public_source))
print(gettext('  seed (derived):   ') .. r.seed)
print(gettext('  list commitment:  ') .. r.list_commitment)
print(string.format(gettext('  draw record:      %s'), rec))
for _, x in ipairs(r.refused or {}) do
  print(string.format(gettext('  not issued: member %d (%s: %s)'), x.member_id, x.code, x.why))
end
print(gettext('anyone can check it: python3 lottery_check.py verify-record ') .. rec)
