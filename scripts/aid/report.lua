-- report.lua — the year's aid per type in 户 / 户次 / 人 / 人次 and yuan,
-- and per town (or tier, or union); then the files per tier as they stand
-- now: in progress, approved, closed, and the persons in open files.
--
--   gonghui run scripts/aid/report.lua year=2025 [by=town|tier|union_id] [from=log] [csv=report.csv]
--
-- from=log rebuilds the same report from the event log instead of the
-- ledger (they agree; a federation that receives only the log can do it).
local aid = require 'aid'
local dates = require 'dates'
aid.cli(function()
  local p = aid.open(require 'caps')
  local year = params.year or math.tointeger(tonumber(dates.today():sub(1, 4)))
  if math.type(year) ~= 'integer' then run.fail(string.format(gettext('report: year must be a year, got %s'), tostring(year))) end
  local by = params.by or 'town'
  if by ~= 'town' and by ~= 'tier' and by ~= 'union_id' then
    run.fail(string.format(gettext('report: by must be town, tier or union_id, got %s'), tostring(by)))
  end
  local rep = params.from == 'log' and p:report_from_log(year, { by = by }) or p:report(year, { by = by })
  print(aid.format_report(rep))
  print('')
  print(aid.format_file_counts(p:file_counts()))
  if params.csv then
    local f = run.open(params.csv, 'w')
    f:write('\239\187\191type,title,households,household_times,persons,person_times,yuan\r\n')
    local fmt = require 'fmt'
    for _, t in ipairs(rep.types) do
      f:write(string.format('%s,%s,%d,%d,%d,%d,%s\r\n', t.type, t.title, t.households, t.household_times,
                            t.persons, t.person_times, (fmt.yuan(t.amount_fen):gsub(',', ''))))
    end
    local t = rep.total
    f:write(string.format(gettext('total,合计,%d,%d,%d,%d,%s\r\n'), t.households, t.household_times, t.persons,
                          t.person_times, (fmt.yuan(t.amount_fen):gsub(',', ''))))
    f:close()
    print(gettext('written: ') .. params.csv)
  end
end)
