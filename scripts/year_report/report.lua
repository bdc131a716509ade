-- report.lua — the federation's year report across every program (为职工办实事):
-- sessions, persons, person-times, household-times and money, by program,
-- town and enterprise, rebuilt from the event log and checked against the
-- records.
--
--   gonghui run scripts/year_report/report.lua year=2025 [xlsx=year-2025.xlsx] [top=10] [replay=no]
--
-- year     the year to report (default: this year)
-- xlsx     also write a workbook (in the output folder, gonghui run --out DIR):
--          sheets 项目 (with a column and a pie chart), 镇街 (a column chart),
--          企业, 核对
-- top      enterprises listed in the text (default 10; the workbook has all)
-- replay   no: only read the events since the last report instead of
--          replaying the whole log (faster on a long log; the same figures)
--
-- Exit code 1 when the log and the records disagree (each figure is named).
local yr = require 'year_report'
local dates = require 'dates'

local year = params.year or math.tointeger(tonumber(dates.today():sub(1, 4)))
if math.type(year) ~= 'integer' then
  run.fail(string.format(gettext('year report: year must be a year like 2025, got %s'), tostring(params.year)))
end
local top = params.top or 10
if math.type(top) ~= 'integer' or top < 0 then
  run.fail(string.format(gettext('year report: top must be a whole number, got %s'), tostring(params.top)))
end
if params.replay ~= nil and params.replay ~= 'no' and params.replay ~= 'yes' then
  run.fail(string.format(gettext("year report: replay is 'yes' (the default) or 'no', got %s"), tostring(params.replay)))
end

local rep = yr.build(year, { replay = params.replay ~= 'no' })
print(yr.format(rep, { top = top }))
if params.xlsx then
  local path = export.path(params.xlsx)   -- a name in the output folder (run --out DIR)
  yr.xlsx(rep, path)
  print(gettext('\nworkbook: ') .. path)
end
if #rep.diffs > 0 then
  run.fail(string.format(gettext('year report %d: the log and the records disagree on %d figures'), year, #rep.diffs))
end
