-- what a clerk reads of the ledger: every entry (time, run, household as
-- text), the program's report, its check, its public list, and the year
-- report; the same from a ledger of format 1 or 2 (and the same as
-- 56b44ec's scripts/lib printed of format 1: read.txt)
local program = require 'program'
local yr = require 'year_report'
local P = program.open('old-drive')
local view = program.entry or function(r) return r:totable() end
for r in db.program_entries:scan() do
  local x = view(r)
  local keys = {}
  for k in pairs(x) do keys[#keys + 1] = k end
  table.sort(keys)
  local out = {}
  for _, k in ipairs(keys) do
    local v = x[k]
    out[#out + 1] = k .. '=' .. (type(v) == 'table' and '{...}' or tostring(v))
  end
  print(table.concat(out, ' '))
end
print(program.format(P:report()))
print(program.format(P:report{ by = 'town' }))
print(program.format(P:report{ from = 'log' }))
local ok, problems = P:check()
print('check', ok, #problems)
for _, row in ipairs(P:public_list{ kind = 'cash' }) do
  print(row['序号'], row['姓名'], row['项目'], row['金额(元)'], row['日期'], row['地点'])
end
print(yr.format(yr.build(2025)))
