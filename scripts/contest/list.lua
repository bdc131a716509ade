-- list.lua — the titles of a year (all contests) or of one contest, in
-- certificate order, with ID numbers masked.
--
--   gonghui run scripts/contest/list.lua year=2025 [csv=titles-2025.csv]
--   gonghui run scripts/contest/list.lua contest=cnc-2025
local contest = require 'contest'
local fmt = require 'fmt'

if not params.year and not params.contest then run.fail(gettext('usage: list.lua year=YYYY | contest=ID [csv=FILE.csv]')) end
contest.define_collections()
local list = contest.titles{ year = params.year, contest = params.contest }
local rows = {}
for i, t in ipairs(list) do
  rows[i] = { t.cert_no, t.name or '?', t.id or '?', t.enterprise, t.contest_title or t.contest,
              t.rank or '', t.total and contest.marks(t.total) or '', t.title, contest.status_text(t.status) }
end
print(string.format(gettext('%s: %d titles'), params.contest or params.year, #list))
print(fmt.table({ gettext('certificate'), gettext('name'), gettext('ID number'), gettext('enterprise'), gettext('contest'), gettext('rank'), gettext('total'), gettext('title'), gettext('status') },
                rows, { right = { 6, 7 } }))
if params.csv then
  local f = run.open(params.csv, 'w')
  local out = { { '证书编号', '姓名', '身份证号', '单位', '竞赛项目', '名次', '总分', '称号', '状态' } }
  for i, r in ipairs(rows) do out[i + 1] = r end
  run.write_csv(f, out)
  f:close()
  print(gettext('written: ') .. params.csv)
end
