-- pay.lua — pays aid to an approved household file; every cap is checked in
-- the same transaction as the ledger entry.
--
--   gonghui run scripts/aid/pay.lua file=3 type=temporary yuan=3000 approver=王主席 [date=2025-03-01] [note=...]
--
-- Prints the ledger entry, or "refused (code): why" and exits with code 1:
-- the file is not approved, not re-verified this year, or a cap (per
-- household and type, per household, the type's budget) would be passed.
local aid = require 'aid'
local program = require 'program'
local fmt = require 'fmt'
local parse = require 'parse'
aid.cli(function()
  local p = aid.open(require 'caps')
  local file = params.file or (params.household and tostring(params.household))
  if not file or not params.type or params.yuan == nil then
    run.fail(gettext('usage: pay.lua file=N|household=H type=TYPE yuan=AMOUNT approver=NAME [date=YYYY-MM-DD] [note=...]'))
  end
  local fen, why = parse.yuan(params.yuan)
  if not fen then run.fail(string.format(gettext('pay: yuan: %s'), why)) end
  local pay, code, msg = p:pay{ file = file, type = params.type, amount_fen = fen,
                                approver = params.approver, date = params.date, note = params.note }
  program.must(pay, code, msg)
  print(string.format(gettext('paid: payment %d, %s yuan %s to household %s (file %d) on %s, approved by %s, run %s'),
                      pay.payment_id, fmt.yuan(pay.amount_fen), pay.type, pay.household, pay.file_id,
                      pay.date, pay.approver, pay.run))
end)
