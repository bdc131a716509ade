-- check.lua — proves the running totals agree with the ledger, through the
-- framework's check of program 'aid' (P:check(): every cap's total
-- recomputed from the ledger entries, no cap passed), and that every payment
-- agrees with its ledger entry and every claim with its payment.
--
--   gonghui run scripts/aid/check.lua [year=2025]
--
-- Exit code 0 when all agree; 1 with every problem named otherwise.
local aid = require 'aid'
aid.cli(function()
  local p = aid.open(require 'caps')
  local r = p:check(params.year)
  local scope = params.year and (' of ' .. params.year) or ''
  if r.ok then
    print(string.format(gettext('ok: %d payments%s, %d running totals: every total agrees with the ledger, no cap passed'),
                        r.payments, scope, r.totals))
  else
    for _, s in ipairs(r.problems) do print(gettext('PROBLEM: ') .. s) end
    run.fail(string.format(gettext('check: %d problem(s) in %d payments%s (listed above)'), #r.problems, r.payments, scope))
  end
end)
