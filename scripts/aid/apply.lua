-- apply.lua — opens a household's hardship file (一户一档) on a member's
-- application.
--
--   gonghui run scripts/aid/apply.lua member=5 tier=deep reason=重病 persons=3 by=李干事 [date=2025-02-01] [note=...]
--   (or id=ID_NUMBER instead of member=)
--
-- tier: deep (深度困难), relative (相对困难), accident (意外致困). The
-- household is the member's (members.household); it may have one file.
local aid = require 'aid'
aid.cli(function()
  local p = aid.open(require 'caps')
  local who = params.member or (params.id and tostring(params.id))
  if not who then run.fail(gettext('usage: apply.lua member=ID|id=ID_NUMBER tier=deep|relative|accident reason=TEXT persons=N by=NAME [date=YYYY-MM-DD]')) end
  local f = p:apply{ member = who, tier = params.tier, reason = params.reason and tostring(params.reason),
                     persons = params.persons, by = params.by, date = params.date, note = params.note }
  print(string.format(gettext('opened: file %d, household %s, %s, %s; next step: visit'), f.file_id, f.household,
                      aid.TIERS[f.tier], f.opened))
end)
