-- build.lua — union building's commands (README: "The activity register,
-- union building and the ten-things report").
--
--   gonghui run scripts/unionbuild/build.lua year=2024 COMMAND [name=value ...]
--
--   sync=1                          the year's new unions, the enterprises joint unions cover and the
--                                   members who joined, from the registry (again: only what is new)
--   nominations=FILE.csv            the unions' nominations: 身份证号,推荐工会,主要事迹
--   nominate=ID_NUMBER union=...    one nomination [reason=...]
--   votes=FILE.csv                  votes or the panel's scores: 身份证号,票数 (or 评分)
--   select=1                        the stars: the quota's best by votes (or score)
--   list=1 [csv=FILE.csv|xlsx=FILE.xlsx]   the published list (公示), names masked
--   report=1 [by=kind|town|enterprise]     the year's figures from the ledger
local _ = gettext
local program = require 'program'
local ub = require 'unionbuild'
local fmt = require 'fmt'

local COMMANDS = { 'sync', 'nominations', 'nominate', 'votes', 'select', 'list', 'report' }
local cmd
for _i, c in ipairs(COMMANDS) do if params[c] ~= nil and not cmd then cmd = c end end
if not cmd then
  run.fail(string.format(_('give a command: %s (see the top of scripts/unionbuild/build.lua)'),
                         table.concat(COMMANDS, '=..., ') .. '=...'))
end

program.cli(function()
  local year = program.param('year', 'int', math.tointeger(tonumber(os.date('%Y'))))
  local U = ub.open(run.dir .. '/plan.lua', year)
  if cmd == 'sync' then
    local c = U:sync()
    print(string.format(_('%s: new enterprise unions %d, joint unions %d covering %d enterprises; members joined %d, of them new-employment-form workers %d (entered before: %d)'),
                        U.id, c.enterprise_union, c.joint_union, c.joint_covers, c.join + c.join_new_form,
                        c.join_new_form, c.already))
    if c.refused > 0 then run.fail(string.format(_('%d refused'), c.refused)) end
  elseif cmd == 'nominations' or cmd == 'votes' then
    local s = U:sheet(cmd, program.param(cmd))
    print(program.sheet_summary(s))
    program.finish(s)
  elseif cmd == 'nominate' then
    local r, code, why = U:nominate{ member = program.param('nominate', 'id'), union = program.param('union'),
                                     reason = params.reason }
    if not r then run.fail(string.format(_('refused (%s): %s'), code, why)) end
    print(string.format(_('nomination %d'), r.nomination_id))
  elseif cmd == 'select' then
    local r, code, why = U:select()
    if not r then run.fail(string.format(_('refused (%s): %s'), code, why)) end
    local rows = {}
    for i, n in ipairs(r.selected) do
      local m = db.members:get(n.member_id)
      rows[i] = { i, program.mask_name(m.name), db.unions:get(n.union_id, 'name'), n.votes or '', n.score or '' }
    end
    print(fmt.table({ _('No.'), _('name'), _('nominated by'), _('votes'), _('score') }, rows, { right = { 1, 4, 5 } }))
    print(string.format(_('%d selected (%d entered now)'), #r.selected, r.entered))
  elseif cmd == 'list' then
    local rows = U.P:public_list{ kind = 'star' }
    print(program.public_text(rows))
    local name = params.csv or params.xlsx
    if name then
      U.P:write_public_list(name, { kind = 'star' })
      print(_('written:') .. ' ' .. name)
    end
  elseif cmd == 'report' then
    local rep = U.P:report{ by = params.by }
    print(program.format(rep))
    if not rep.ok then run.fail(_('the totals and the ledger disagree (see PROBLEMS)')) end
  end
end)
