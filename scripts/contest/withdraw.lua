-- withdraw.lua — a contestant withdraws before the lock (did not come, fell
-- ill, was disqualified), with the reason: listed without a rank, marks not
-- counted, and the lock no longer waits for their marks.
--
--   gonghui run scripts/contest/withdraw.lua contest=cnc-2025 bib=7 reason=未到场
local contest = require 'contest'
contest.need({ 'contest', 'bib', 'reason' }, 'withdraw.lua contest=ID bib=N reason=TEXT')
contest.define_collections()
print(contest.try(contest.withdraw, params.contest, params.bib, tostring(params.reason))
      and 'withdrawn' or 'had withdrawn already')
