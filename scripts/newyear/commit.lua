-- commit.lua — records a party's seed commitment (optional: the public
-- value named when the list closes already makes the draw unbiased; a
-- notary's sealed seed adds a second source nobody else knows), to be
-- published at once and before the draw's entrant list closes. The seed
-- itself stays secret until the draw, and the draw needs it then: give it
-- to someone other than the organiser.
--
--   gonghui run scripts/newyear/commit.lua draw=red-envelope seed_file=/secret/seed.txt [party=notary]
--   gonghui run scripts/newyear/commit.lua draw=red-envelope commitment=<64 hex digits> [party=notary]
--
-- seed_file: a file holding the seed (at least 16 random characters; a
-- final newline is not part of it); only its SHA-256 is stored. Or compute
-- the commitment elsewhere (`printf %s "$SEED" | sha256sum`) and give it.
-- Never pass seed= here: parameters are kept in the run record.
local newyear = require 'newyear'
local program = require 'program'
local plan = require 'plan'

if params.seed then run.fail(gettext('commit.lua takes no seed=: the seed stays secret until the draw (seed_file= or commitment=)')) end
if not params.draw or not (params.seed_file or params.commitment) then
  run.fail(gettext('usage: gonghui run commit.lua draw=red-envelope (seed_file=FILE | commitment=SHA256)'))
end
local commitment = params.commitment and tostring(params.commitment)
if params.seed_file then
  commitment = plugin.load('lottery').seed_commit(program.read_seed(params.seed_file))
end
local ny = newyear.refusing(newyear.define, plan)
local r = newyear.refusing(ny.commit, ny, params.draw, commitment, { party = params.party and tostring(params.party) })
print(string.format(gettext('draw %s: seed commitment %s (recorded %s)'), r.draw_id, r.seed_commitment, r.committed_at))
print(gettext('publish this commitment now; keep the seed secret until the draw'))
