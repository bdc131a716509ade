-- issue.lua — issues the honor certificates of everyone on the list (see
-- list.lua) from the issuing union; a member who has one keeps it. Every
-- certificate publishes certificate.issued. Safe to run again.
--
--   gonghui run scripts/retirement/issue.lua union=2 year=2025 [women_post=worker]
local retirement = require 'retirement'

retirement.define_collections()
if not params.union or not params.year then error(gettext('usage: issue.lua union=ID year=YYYY')) end
local due = retirement.due(params.year .. '-01-01', params.year .. '-12-31', params.union,
                           { women_post = params.women_post })
local n = { issued = 0, already = 0 }
db.atomic(function()
  for _, r in ipairs(due) do
    local _, st = retirement.issue(r.member_id, params.union, params.year, { retire_date = r.retire_date })
    n[st] = n[st] + 1
  end
end)
print(string.format(gettext('%d on the list: %d certificates issued now, %d issued before'), #due, n.issued, n.already))
