-- claim.lua — a medical mutual-aid claim (职工医疗互助): pays
-- (expense - deductible) x rate, within the per-claim and annual limits of
-- caps.lua; the same invoice of the same member is refused.
--
--   gonghui run scripts/aid/claim.lua member=7 invoice=ZY2025-0001 expense=12500 approver=医疗互助办 [date=2025-04-02] [hospital=...]
--   (or id=ID_NUMBER instead of member=)
local aid = require 'aid'
local program = require 'program'
local fmt = require 'fmt'
local parse = require 'parse'
aid.cli(function()
  local p = aid.open(require 'caps')
  local who = params.member or (params.id and tostring(params.id))
  if not who or params.invoice == nil or params.expense == nil then
    run.fail(gettext('usage: claim.lua member=ID|id=ID_NUMBER invoice=NO expense=YUAN approver=NAME [date=YYYY-MM-DD] [hospital=...]'))
  end
  local fen, why = parse.yuan(params.expense)
  if not fen then run.fail(string.format(gettext('claim: expense: %s'), why)) end
  local c, code, msg = p:claim{ member = who, invoice = params.invoice, expense_fen = fen,
                                approver = params.approver, date = params.date,
                                hospital = params.hospital, type = params.type }
  program.must(c, code, msg)
  print(string.format(gettext('paid: claim %d, member %d, invoice %s: expense %s, payout %s yuan%s (payment %d)'),
                      c.claim_id, c.member_id, c.invoice, fmt.yuan(c.expense_fen), fmt.yuan(c.payout_fen),
                      c.limited_by and (', limited by ' .. c.limited_by) or '', c.payment_id))
end)
