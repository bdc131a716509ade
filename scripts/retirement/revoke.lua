-- revoke.lua — revokes a certificate, with the reason (kept, and published
-- as certificate.revoked). The number stays taken.
--
--   gonghui run scripts/retirement/revoke.lua number=2025-0002-0001-5 reason=重复申报
local retirement = require 'retirement'
retirement.define_collections()
if not params.number or not params.reason then error(gettext('usage: revoke.lua number=NO reason=TEXT')) end
print(retirement.revoke(tostring(params.number), params.reason) and 'revoked' or 'was already revoked')
