-- bench/w9/report.lua — W9's two roads to the year report (scripts/lib/year_report.lua)
-- over the year bench/w9/year.lua made:
--   from=log      the report rebuilt from the event log: year_facts cleared,
--                 the whole log replayed through the durable consumer, counted;
--   from=records  the same report counted from the records (the ledger).
-- Writes every figure (year_report.figures: one line per dimension and key)
-- to out= in the output folder, so the bench can check that the two agree.
--
--   gonghui --db DIR run --out FOLDER bench/w9/report.lua from=log|records out=log.txt [year=2025]
local yr = require 'year_report'
local year = params.year or 2025
local from = params.from
local t, events
if from == 'log' then
  events = yr.rebuild()
  t = yr.count_log(year)
elseif from == 'records' then
  t = yr.count_records(year)
else
  run.fail('usage: report.lua from=log|records out=FILE [year=2025]') -- i18n: ok (bench)
end
local lines = yr.figures(t)
local f = run.open(params.out or (from .. '.txt'), 'w')
for _, l in ipairs(lines) do f:write(l, '\n') end
f:close()
local c = t.total
print(string.format('W9 %s: %d figures; %d 场次 %d 人 %d 人次 %d 户次 %d fen%s', from, #lines, c.sessions, -- i18n: ok (bench)
                    c.persons, c.person_times, c.household_times, c.money_fen,
                    events and string.format('; %d events replayed', events) or ''))
