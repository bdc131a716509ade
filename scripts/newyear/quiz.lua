-- quiz.lua — records quiz answers (工会知识竞答): one member's on the
-- command line, or a sheet of them. The first answer to a question counts.
--
--   gonghui run scripts/newyear/quiz.lua id=330481199001081234 q1=B q2=C q3=A
--   gonghui run scripts/newyear/quiz.lua file=answers.csv     (columns: id_number or member_id,
--                                                               question, answer)
-- Refused answers are listed (with the sheet's line) and the run exits 1.
local newyear = require 'newyear'
local plan = require 'plan'

local ny = newyear.refusing(newyear.define, plan)
local refused, n = {}, 0
local function one(who, q, answer, where)
  n = n + 1
  local a, code, msg = newyear.refusing(ny.answer, ny, who, q, answer)
  if not a then refused[#refused + 1] = string.format(gettext('%srefused (%s): %s'), where, code, msg) end
  return a
end
if params.file then
  local ok, err = run.read_csv(params.file, function(row, line)
    local who = row.member_id and math.tointeger(tonumber(row.member_id)) or row.id_number
    one(who, row.question, row.answer or '', params.file .. ':' .. line .. ': ')
  end, { header = true })
  if not ok then run.fail(err) end
else
  local who = params.member or (params.id and tostring(params.id))
  if not who then run.fail(gettext('usage: gonghui run quiz.lua (id=ID_NUMBER | member=N) q1=B q2=C ... | file=answers.csv')) end
  local qs = {}
  for q in pairs(ny.questions) do if params[q] ~= nil then qs[#qs + 1] = q end end
  table.sort(qs)
  if #qs == 0 then run.fail(gettext('no answers given: q1=B q2=C ...')) end
  for _, q in ipairs(qs) do
    local a = one(who, q, tostring(params[q]), '')
    if a then print(string.format('%s: %s (%s)', q, a.answer, a.correct and 'right' or 'wrong')) end
  end
end
for _, r in ipairs(refused) do print(r) end
print(string.format(gettext('%d answers: %d recorded, %d refused'), n, n - #refused, #refused))
if #refused > 0 then run.fail(string.format(ngettext('%d answer refused', '%d answers refused', #refused), #refused)) end
