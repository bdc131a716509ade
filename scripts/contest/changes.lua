-- changes.lua — the change log of a contest's marks (of one contestant with
-- bib=): when, what it was, what it became, the reason, before or after
-- the lock.
--
--   gonghui run scripts/contest/changes.lua contest=cnc-2025 [bib=3]
local contest = require 'contest'
local fmt = require 'fmt'
contest.need({ 'contest' }, 'changes.lua contest=ID [bib=N]')
contest.define_collections()
local rows = {}
for i, ch in ipairs(contest.changes(params.contest, params.bib)) do
  rows[i] = { ch.at, ch.bib, ch.aspect, ch.old, ch.new, contest.marks(ch.old_mark), contest.marks(ch.new_mark),
              ch.after_lock and 'after' or 'before', ch.reason or '' }
end
print(string.format(gettext('%s: %d changes'), params.contest, #rows))
print(fmt.table({ gettext('at'), gettext('bib'), gettext('aspect'), gettext('was'), gettext('now'), gettext('mark was'), gettext('mark now'), gettext('lock'), gettext('reason') }, rows,
                { right = { 2, 6, 7 } }))
