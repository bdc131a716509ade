-- step.lua — moves a household's file one step on:
--   visit (入户走访) -> review (审核) -> notice (公示) -> approve (审批认定);
--   reverify (年度复核, once a year), close reason=recovered|retired|moved|died|rejected (销档),
--   reopen (a closed file, on a new application).
--
--   gonghui run scripts/aid/step.lua file=3 step=visit by=李干事 [date=2025-02-03] [note=...]
--   gonghui run scripts/aid/step.lua household=H1 step=close reason=recovered by=王主席
--
-- A step the file's state does not allow is refused (exit code 1) with the
-- state and the step that comes next.
local aid = require 'aid'
aid.cli(function()
  local p = aid.open(require 'caps')
  local file = params.file or (params.household and tostring(params.household))
  if not file or not params.step then
    run.fail(string.format(gettext('usage: step.lua file=N|household=H step=%s'), table.concat(aid.STEP_ORDER, '|'))
             .. ' by=NAME [date=YYYY-MM-DD] [reason=...] [note=...]')
  end
  local f = p:step(file, params.step, { by = params.by, date = params.date, note = params.note,
                                        reason = params.reason, tier = params.tier,
                                        persons = params.persons })
  print(string.format(gettext('%s: file %d, household %s is now %s (%s)%s'), params.step, f.file_id, f.household,
                      f.state, aid.STATES[f.state],
                      f.verified_year and (', verified for ' .. f.verified_year) or ''))
end)
