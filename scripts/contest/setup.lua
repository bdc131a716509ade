-- setup.lua — makes or updates a contest from its file (see example.lua):
-- the contest, its marking scheme (a new version while nothing is marked;
-- refused once marking has started), its judges (one left out of the file
-- is taken off the contest, unless they have scored).
--
--   gonghui run scripts/contest/setup.lua file=cnc-2025.lua
local contest = require 'contest'
local fmt = require 'fmt'

contest.need({ 'file' }, 'setup.lua file=CONTEST.lua')
local spec = contest.try(contest.load_spec, params.file)
local c, what, notes = contest.try(contest.setup, spec)
local list = contest.aspects(c.contest_id, c.version)
local scheme = contest.scheme(c.contest_id, c.version)
print(string.format(gettext('%s %s (%d): scheme version %d %s%s'), c.contest_id, c.title, c.year, c.version,
  ({ new = 'stored', same = 'unchanged', revised = 'stored (revised)' })[what],
  c.frozen_version and ', frozen since the first mark at ' .. c.frozen_at or ''))
local rows = {}
for i, a in ipairs(list) do
  local rule = ''
  if a.nominal then
    rule = a.minus == a.plus and string.format('%s ± %s', contest.show(a.nominal, 6, true), contest.show(a.plus, 6, true))
      or string.format('%s -%s/+%s', contest.show(a.nominal, 6, true), contest.show(a.minus, 6, true),
                       contest.show(a.plus, 6, true))
    rule = rule .. (a.unit and (' ' .. a.unit) or '')
  elseif a.kind == 'measurement' then
    rule = 'yes/no'
  else
    rule = '3 judges, 0-3'
  end
  rows[i] = { a.code, a.kind, a.title, contest.marks(a.max), rule }
end
print(fmt.table({ gettext('aspect'), gettext('kind'), gettext('title'), gettext('max'), gettext('rule') }, rows, { right = { 4 } }))
local r = c.title_rule
print(string.format(gettext('total %s; judges flagged beyond a spread of %d; tie-break %s; titles: %s%s%s'),
  contest.marks(scheme.max_total), scheme.spread, #scheme.tie_break > 0 and table.concat(scheme.tie_break, ', ') or '(none)',
  r.title, r.top and (', top ' .. r.top) or '', r.min_total and (', at least ' .. contest.marks(r.min_total)) or ''))
local judges = {}
for j in db.contest_judges:scan{ index = 'contest,judge', eq = { c.contest_id } } do
  judges[#judges + 1] = j.judge .. ' ' .. j.name
end
print(gettext('judges: ') .. (#judges > 0 and table.concat(judges, ', ') or '(none yet)'))
for _, n in ipairs(notes) do print(gettext('note: ') .. n) end
