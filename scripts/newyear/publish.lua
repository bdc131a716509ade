-- publish.lua — closes a draw's entry and publishes its entrant list: the
-- member ids in canonical order (one per line) written to a file, and the
-- list commitment (its SHA-256). The list never changes afterwards. Needs
-- the seed commitment first (commit.lua).
--
--   gonghui run scripts/newyear/publish.lua draw=red-envelope [out=red-envelope-entrants.txt]
--
-- red-envelope: every member eligible for it; movie-ticket: the members with
-- enough right quiz answers (the quiz closes now).
local newyear = require 'newyear'
local plan = require 'plan'

if not params.draw then run.fail(gettext('usage: gonghui run publish.lua draw=red-envelope [out=FILE]')) end
local ny = newyear.refusing(newyear.define, plan)
local r = newyear.refusing(ny.publish, ny, params.draw)
local out = params.out or (params.draw .. '-entrants.txt')
local f = run.open(out, 'w')
f:write(r.entrants)
f:close()
print(string.format(gettext('draw %s: %d entrants for %d prizes, published %s'), r.draw_id, r.n, r.count, r.published_at))
print(string.format(gettext('  entrant list:     %s (sha256sum gives the list commitment)'), out))
print(gettext('  list commitment:  ') .. r.list_commitment)
print(gettext('  seed commitment:  ') .. r.seed_commitment)
print(string.format(gettext('  prize (in the draw): %s, winners: %d'), r.prize, math.min(r.count, r.n)))
