-- register.lua — the activity register's commands (README: "The activity
-- register, union building and the ten-things report").
--
--   gonghui run scripts/activity/register.lua year=2024 COMMAND [name=value ...]
--
--   setup=1                              store the year's plan (plan.lua) and list the kinds
--   sessions=FILE.csv                    the sessions sheet: 活动编号,类型,日期,地点,主办工会,企业,主题,人数,经费
--   attendance=FILE.csv                  a sign-in sheet: 活动编号,身份证号
--   booths=FILE.csv                      a job fair's enterprises: 活动编号,企业,岗位数
--   session=ID kind= day= union= [enterprise= place= title= heads= fen=]   one session
--   attend=ID id_number=...              one person at a session
--   cancel=ID reason=TEXT                a session reversed with everyone under it
--   report=1 [by=kind|town|enterprise|place]   the year's figures from the ledger
--
-- year defaults to the year of the run's clock (--now). A sheet's refused rows
-- go to FILE.refusals.csv and the exit code is 1; entering a sheet again
-- enters nothing twice.
local _ = gettext
local program = require 'program'
local activity = require 'activity'
local yearly = require 'yearly'
local fmt = require 'fmt'

local cmd = yearly.command({ 'setup', 'sessions', 'attendance', 'booths', 'session', 'attend', 'cancel', 'report' },
                           'scripts/activity/register.lua')

program.cli(function()
  local A = activity.open(run.dir .. '/plan.lua', yearly.year())
  if cmd == 'setup' then
    print(string.format(_('%s (%s), %s .. %s'), A.plan.title, A.id, A.plan.window.from, A.plan.window.to))
    local rows = {}
    for _i, k in ipairs(A.plan.kinds) do rows[#rows + 1] = { k.kind, k.title } end
    print(fmt.table({ _('kind'), _('title') }, rows))
  elseif cmd == 'sessions' or cmd == 'attendance' or cmd == 'booths' then
    yearly.sheet(A, cmd)
  elseif cmd == 'session' then
    local e = { id = program.param('session'), kind = program.param('kind'), day = program.param('day', 'date'),
                union = program.param('union'), enterprise = params.enterprise, place = params.place,
                title = params.title, heads = params.heads and program.param('heads', 'int'),
                fen = params.fen and program.param('fen', 'yuan') }
    local r = program.must(A:session(e))
    print(string.format(_('session %s: %s on %s, entry %d'), r.session, A.plan.kind[r.kind].title, r.day, r.entry_id))
  elseif cmd == 'attend' then
    local r = program.must(A:attend{ session = program.param('attend'), member = program.param('id_number', 'id') })
    print(string.format(_('session %s: entry %d'), r.session, r.entry_id))
  elseif cmd == 'cancel' then
    local n = A:cancel(program.param('cancel'), program.param('reason'))
    print(string.format(_('session %s reversed: %d entries'), params.cancel, n))
  elseif cmd == 'report' then
    yearly.report(A.P)
  end
end)
