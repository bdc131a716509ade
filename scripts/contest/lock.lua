-- lock.lua — locks a contest's marks once every contestant has every mark
-- and no judgement is flagged (it says what is missing otherwise). After
-- the lock a mark changes only with a reason, and titles can be awarded.
--
--   gonghui run scripts/contest/lock.lua contest=cnc-2025
local contest = require 'contest'
contest.need({ 'contest' }, 'lock.lua contest=ID')
contest.define_collections()
if contest.try(contest.lock, params.contest) then
  print(string.format(gettext('locked: %s at %s'), params.contest, db.contests:get(params.contest, 'locked_at')))
else
  print(string.format(gettext('%s was locked already (at %s)'), params.contest, db.contests:get(params.contest, 'locked_at')))
end
