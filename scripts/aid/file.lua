-- file.lua — one household's file: its state, its history and its
-- payments (the ledger rows, with the run that paid each: `gonghui runs
-- show RUN` tells which script, who and when).
--
--   gonghui run scripts/aid/file.lua file=3      (or household=H1)
local aid = require 'aid'
local fmt = require 'fmt'
local registry = require 'registry'
aid.cli(function()
  local p = aid.open(require 'caps')
  local which = params.file or (params.household and tostring(params.household))
  if not which then run.fail(gettext('usage: file.lua file=N|household=H')) end
  local f = p:file(which)
  if not f then run.fail(string.format(gettext('file.lua: no aid file %s'), tostring(which))) end
  local name = db.members:get(f.member_id, 'name') or '?'
  print(string.format(gettext('file %d, household %s: member %d (%s), %s, %s, %d persons, %s'), f.file_id, f.household,
                      f.member_id, registry.mask_name(name), f.town, aid.TIERS[f.tier], f.persons, f.reason))
  print(string.format(gettext('state: %s (%s)%s%s'), f.state, aid.STATES[f.state],
                      f.verified_year and (', verified for ' .. f.verified_year) or '',
                      f.close_reason and (', closed: ' .. f.close_reason .. ' ' .. aid.CLOSE_REASONS[f.close_reason]) or ''))
  print('')
  local rows = {}
  for _, h in ipairs(f.history) do
    rows[#rows + 1] = { h.date, h.step, (h.from or '') .. ' -> ' .. h.to, h.by, h.reason or h.note or '' }
  end
  print(fmt.table({ gettext('date'), gettext('step'), gettext('state'), gettext('by'), gettext('note') }, rows))
  print('')
  rows = {}
  local sum = 0
  for pay in db.aid_payments:scan{ file_id = f.file_id } do
    rows[#rows + 1] = { pay.payment_id, pay.date, pay.type, fmt.yuan(pay.amount_fen), pay.approver, pay.run }
    sum = sum + pay.amount_fen
  end
  print(fmt.table({ gettext('payment'), gettext('date'), gettext('type'), gettext('yuan'), gettext('approver'), gettext('run') }, rows, { right = { 1, 4 } }))
  print(string.format(gettext('%d payments, %s yuan'), #rows, fmt.yuan(sum)))
end)
