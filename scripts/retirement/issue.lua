-- issue.lua — issues the honor certificates of everyone on the list (see
-- list.lua) from the issuing union; a member who has one keeps it. Every
-- certificate publishes certificate.issued. Safe to run again. When the
-- union's certificate numbers for the year are used up (999,999 a union a
-- year), what was issued stays and the run fails naming the union and how
-- many on the list are left (exit code 1).
--
--   gonghui run scripts/retirement/issue.lua union=2 year=2025 [women_post=worker]
local retirement = require 'retirement'

retirement.define_collections()
if not params.union or not params.year then error(gettext('usage: issue.lua union=ID year=YYYY')) end
local due = retirement.due(params.year .. '-01-01', params.year .. '-12-31', params.union,
                           { women_post = params.women_post })
local n, refused, left = retirement.issue_all(due, params.union, params.year)
print(string.format(gettext('%d on the list: %d certificates issued now, %d issued before'), #due, n.issued, n.already))
if refused then
  run.fail(string.format(ngettext('%s (%d member of the list has no certificate yet)',
                                  '%s (%d members of the list have no certificate yet)', left), refused, left))
end
