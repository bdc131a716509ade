-- ranking.lua — a contest's ranking table: rank (shared by contestants equal
-- on the total and every tie-break aspect), bib, name, enterprise, the mark
-- of each aspect, the total, whether the title rule is met, flags.
--
--   gonghui run scripts/contest/ranking.lua contest=cnc-2025 [csv=ranking.csv]
local contest = require 'contest'
local registry = require 'registry'
local fmt = require 'fmt'

contest.need({ 'contest' }, 'ranking.lua contest=ID [csv=FILE.csv]')
contest.define_collections()
local rows, info = contest.try(contest.ranking, params.contest)
local c = info.contest
local headers = { gettext('rank'), gettext('bib'), gettext('name'), gettext('enterprise') }
for _, a in ipairs(info.aspects) do headers[#headers + 1] = a.code end
headers[#headers + 1] = gettext('total')
headers[#headers + 1] = gettext('title')
local out, csv = {}, {}
for i, r in ipairs(rows) do
  local ent = db.enterprises:get(r.enterprise_id, 'name') or tostring(r.enterprise_id)
  local line = { r.rank and tostring(r.rank) or '-', r.bib, registry.mask_name(r.name), ent }
  local cline = { r.rank or '', r.bib, r.name, ent }
  for _, a in ipairs(info.aspects) do
    local m = r.marks[a.code]
    line[#line + 1] = m and contest.marks(m) or '?'
    cline[#cline + 1] = m and contest.marks(m) or ''
  end
  local title = contest.qualifies(c.title_rule, r) and c.title_rule.title or ''
  line[#line + 1] = contest.marks(r.total) .. (r.complete and '' or '?')
  line[#line + 1] = r.withdrawn and string.format(gettext('withdrawn: %s'), r.withdrawn)
    or (title .. (r.flagged > 0 and gettext(' (flagged)') or ''))
  cline[#cline + 1] = contest.marks(r.total)
  cline[#cline + 1] = r.withdrawn and ('退赛: ' .. r.withdrawn) or title
  out[i], csv[i] = line, cline
end
print(string.format(gettext('%s %s: %d contestants, scheme version %d, %s'), c.contest_id, c.title, #rows,
  c.frozen_version or c.version, c.locked_at and string.format(gettext('locked at %s'), c.locked_at) or gettext('not locked')))
local right = { 1, 2 }
for i = 5, #headers - 1 do right[#right + 1] = i end
print(fmt.table(headers, out, { right = right }))
if #info.scheme.tie_break > 0 then
  print(string.format(gettext('equal totals: %s decide, in that order'), table.concat(info.scheme.tie_break, ', ')))
end
if params.csv then
  local f = run.open(params.csv, 'w')
  local h = { '名次', '参赛号', '姓名', '单位' }
  for _, a in ipairs(info.aspects) do h[#h + 1] = a.code .. ' ' .. a.title end
  h[#h + 1] = '总分'
  h[#h + 1] = '称号'
  table.insert(csv, 1, h)
  run.write_csv(f, csv)
  f:close()
  print(gettext('written: ') .. params.csv)
end
