-- draw.lua — draws a published draw with the revealed seed and issues the
-- prizes, in one transaction; writes the winners (member ids in draw
-- order) to a file. Refused unless the seed matches its commitment.
-- Drawing again prints the same result and issues nothing.
--
--   gonghui run scripts/newyear/draw.lua draw=red-envelope seed_file=/secret/seed.txt [out=FILE]
--   gonghui run scripts/newyear/draw.lua draw=red-envelope seed='the revealed seed'
local newyear = require 'newyear'
local plan = require 'plan'

if not params.draw or not (params.seed or params.seed_file) then
  run.fail(gettext('usage: gonghui run draw.lua draw=red-envelope (seed=SEED | seed_file=FILE) [out=FILE]'))
end
local seed = params.seed and tostring(params.seed)
if params.seed_file then
  local f, err = io.open(params.seed_file, 'rb')
  if not f then run.fail('seed_file=: ' .. err) end
  seed = f:read('a'):gsub('\r?\n$', '')
  f:close()
end
local ny = newyear.refusing(newyear.define, plan)
local r = newyear.refusing(ny.draw, ny, params.draw, seed)
local out = params.out or (params.draw .. '-winners.txt')
local f = run.open(out, 'w')
f:write(r.winners)
f:close()
print(string.format(gettext('draw %s: %d winners of %d entrants, drawn %s'), r.draw_id, r.k, r.n, r.drawn_at))
print(gettext('  winners:          ') .. out)
print(gettext('  seed (revealed):  ') .. r.seed)
print(gettext('  seed commitment:  ') .. r.seed_commitment)
print(gettext('  list commitment:  ') .. r.list_commitment)
for _, x in ipairs(r.refused or {}) do
  print(string.format(gettext('  not issued: member %d (%s: %s)'), x.member_id, x.code, x.why))
end
print(gettext('anyone can check it: python3 lottery_check.py verify ENTRANTS SEED SEED_COMMITMENT ')
      .. 'LIST_COMMITMENT ' .. r.prize .. ' ' .. r.k .. ' WINNERS')
