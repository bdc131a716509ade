-- report.lua — the "ten things" page of a year and an organiser union
-- (README: "The activity register, union building and the ten-things report").
--
--   gonghui run scripts/ten_things/report.lua year=2024 [union=ID|NAME] [xlsx=FILE.xlsx] [lines=FILE.lua]
--
-- The lines are scripts/ten_things/lines.lua unless lines= names another
-- file (in the current folder, a folder given with --in, or the script's
-- folder). Every figure is counted from the
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
  -- the lines: lines= (a file in the current folder, a folder given with
  -- --in, or this script's folder), else this folder's lines.lua
  local file = params.lines or (run.dir .. '/lines.lua')
  local f = io.open(file) or (not file:find('/', 1, true) and io.open(run.dir .. '/' .. file))
  if not f then run.fail(string.format(_('lines=%s: no such file here, in --in folders or in %s'), file, run.dir)) end
  local text = f:read('a')
  f:close()
  local chunk, err = load(text, '=' .. file, 't')
  if not chunk then run.fail(_('lines ') .. tostring(err)) end
  local ok, lines = pcall(chunk)
  if not ok or type(lines) ~= 'table' then run.fail(string.format(_('lines=%s: %s'), file, tostring(lines))) end
  local rep = ten.build{ year = year, union = union, lines = lines }
  print(ten.format(rep))
  if params.xlsx then
    ten.xlsx(rep, params.xlsx)
    print(_('written:') .. ' ' .. params.xlsx)
  end
  if #rep.diffs > 0 then run.fail(_('the event log and the records disagree (see above)')) end
end)
