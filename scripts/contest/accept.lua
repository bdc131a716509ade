-- accept.lua — the chief judge accepts a flagged judgement as scored (the
-- judges' scores stay apart by more than the spread), with the reason.
--
--   gonghui run scripts/contest/accept.lua contest=cnc-2025 bib=3 aspect=B2 reason='复议后维持原评分'
local contest = require 'contest'
contest.need({ 'contest', 'bib', 'aspect', 'reason' }, 'accept.lua contest=ID bib=N aspect=CODE reason=TEXT')
contest.define_collections()
print(contest.try(contest.accept, params.contest, params.bib, tostring(params.aspect), tostring(params.reason))
      and 'accepted' or 'was not flagged')
