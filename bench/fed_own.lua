-- fed_own.lua — one line of year-report totals (sessions persons person-times
-- household-times money_fen), of this federation's own report, or with
-- province=yes of the province's received facts (bench/fed_scale.sh).
local t
if params.province == 'yes' then
  t = require('federation').report(params.year).total
else
  t = require('year_report').build(params.year, { replay = false }).log.total
end
print(string.format('%d %d %d %d %d', t.sessions, t.persons, t.person_times, t.household_times, t.money_fen))
