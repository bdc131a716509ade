-- report.lua — the "ten things" page of a year and an organiser union
-- (README: "The activity register, union building and the ten-things report").
--
--   gonghui run scripts/ten_things/report.lua year=2024 [union=ID|NAME] [xlsx=FILE.xlsx] [lines=FILE.lua]
--
-- The lines are scripts/ten_things/lines.lua unless lines= names another
-- file (in the script's folder or a path). Every figure is counted from the
-- records and again from the event log; the exit code is 1 when they differ.
local _ = gettext
local program = require 'program'
local ten = require 'ten_things'
local activity = require 'activity'

program.cli(function()
  local year = program.param('year', 'int')
  local union
  if params.union ~= nil then
    local u, why = activity.union_of(params.union)
    if not u then run.fail(string.format(_('parameter union=%s: %s'), tostring(params.union), why)) end
    union = u.union_id
  end
  local file = params.lines or 'lines.lua'
  if not file:find('/', 1, true) then file = run.dir .. '/' .. file end
  local chunk, err = loadfile(file)
  if not chunk then run.fail(_('lines ') .. tostring(err)) end
  local rep = ten.build{ year = year, union = union, lines = chunk() }
  print(ten.format(rep))
  if params.xlsx then
    ten.xlsx(rep, params.xlsx)
    print(_('written:') .. ' ' .. params.xlsx)
  end
  if #rep.diffs > 0 then run.fail(_('the event log and the records disagree (see above)')) end
end)
