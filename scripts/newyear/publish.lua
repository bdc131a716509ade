-- publish.lua — closes a draw's entry and publishes its entrant list: the
-- member ids in canonical order (one per line) written to a file, the list
-- commitment (its SHA-256), and the public value the seed will come from,
-- named now and known only later (a lottery's numbers of a stated later
-- draw: RFC 3797). The list never changes afterwards; the closing time is
-- the host's clock. The draw record (draw-record.txt) goes on the notice
-- board at once.
--
--   gonghui run scripts/newyear/publish.lua draw=red-envelope \
--       public='中国福利彩票双色球 2026年2月12日开奖号码' after='2026-02-12 21:30' \
--       [out=red-envelope-entrants.txt] [record=red-envelope-record.txt]
--
-- red-envelope: every member eligible for it; movie-ticket: the members with
-- enough right quiz answers (the quiz closes now).
local newyear = require 'newyear'
local plan = require 'plan'

if not params.draw or not params.public or not params.after then
  run.fail(gettext("usage: gonghui run publish.lua draw=red-envelope public='WHAT (a lottery result of a later date)' after='YYYY-MM-DD HH:MM' [out=FILE] [record=FILE]"))
end
local ny = newyear.refusing(newyear.define, plan)
local r = newyear.refusing(ny.publish, ny, params.draw, { public = tostring(params.public), after = tostring(params.after) })
local out = params.out or (params.draw .. '-entrants.txt')
local f = run.open(out, 'w')
f:write(r.entrants)
f:close()
local rec = params.record or (params.draw .. '-record.txt')
ny.P:write_draw_record(params.draw, rec)
print(string.format(gettext('draw %s: %d entrants for %d prizes, published %s'), r.draw_id, r.n, r.count, r.published_at))
print(string.format(gettext('  entrant list:     %s (sha256sum gives the list commitment)'), out))
print(gettext('  list commitment:  ') .. r.list_commitment)
print(string.format(gettext('  public value:     %s, known from %s'), r.public_source, r.public_after))
print(string.format(gettext('  draw record:      %s (publish it now, before the public value is known)'), rec))
print(string.format(gettext('  prize (in the draw): %s, winners: %d'), r.prize, math.min(r.count, r.n)))
