-- revoke.lua — revokes a contest certificate, with the reason (kept, and
-- published as certificate.revoked). The number stays taken.
--
--   gonghui run scripts/contest/revoke.lua number=JN2025-0001-2 reason=冒名顶替
local contest = require 'contest'
contest.need({ 'number', 'reason' }, 'revoke.lua number=NO reason=TEXT')
contest.define_collections()
print(contest.try(contest.revoke, tostring(params.number), tostring(params.reason)) and 'revoked' or 'was already revoked')
