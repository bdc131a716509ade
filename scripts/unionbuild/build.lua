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
local yearly = require 'yearly'
local fmt = require 'fmt'

local cmd = yearly.command({ 'sync', 'nominations', 'nominate', 'votes', 'select', 'list', 'report' },
                           'scripts/unionbuild/build.lua')

program.cli(function()
  local U = ub.open(run.dir .. '/plan.lua', yearly.year())
  if cmd == 'sync' then
    local c = U:sync()
    print(string.format(_('%s: new enterprise unions %d, joint unions %d covering %d enterprises; members joined %d, of them new-employment-form workers %d (entered before: %d)'),
                        U.id, c.enterprise_union, c.joint_union, c.joint_covers, c.join + c.join_new_form,
                        c.join_new_form, c.already))
    if c.refused > 0 then run.fail(string.format(_('%d refused'), c.refused)) end
  elseif cmd == 'nominations' or cmd == 'votes' then
    yearly.sheet(U, cmd)
  elseif cmd == 'nominate' then
    local r = program.must(U:nominate{ member = program.param('nominate', 'id'), union = program.param('union'),
                                      reason = params.reason })
    print(string.format(_('nomination %d'), r.nomination_id))
  elseif cmd == 'select' then
    local r = program.must(U:select())
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
    yearly.report(U.P)
  end
end)
