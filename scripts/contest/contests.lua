-- contests.lua — the overview of a year's contests (or all): for each, its
-- stage (scheme set up, marking, locked, titles awarded), contestants,
-- marks entered of those due, open flags and titles.
--
--   gonghui run scripts/contest/contests.lua [year=2025]
local contest = require 'contest'
local fmt = require 'fmt'

contest.define_collections()
local rows = {}
local cond = params.year and { year = params.year } or nil
for c in db.contests:scan(cond) do
  local o = contest.open_items(c.contest_id)
  local naspects = #contest.aspects(c.contest_id, c.frozen_version or c.version)
  local due = o.entries * naspects
  local titles = db.contest_titles:count{ contest = c.contest_id }
  local stage = titles > 0 and 'titles awarded' or c.locked_at and 'locked'
                or c.frozen_version and 'marking' or 'set up'
  rows[#rows + 1] = { c.contest_id, c.title, c.year, stage, o.entries, string.format('%d/%d', due - #o.missing, due),
                      #o.flagged, titles }
end
print(string.format(gettext('%s: %d contests'), params.year or 'all years', #rows))
print(fmt.table({ gettext('contest'), gettext('title'), gettext('year'), gettext('stage'), gettext('contestants'), gettext('marks'), gettext('flags'), gettext('titles') }, rows,
                { right = { 3, 5, 6, 7, 8 } }))
