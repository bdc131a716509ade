-- verify.lua — is this certificate number real? valid (the holder masked),
-- revoked (with the reason), mistyped (the check character does not fit:
-- ask for it again) or unknown.
--
--   gonghui run scripts/contest/verify.lua number=JN2025-0001-2
local contest = require 'contest'
contest.need({ 'number' }, 'verify.lua number=JN2025-0001-2')
contest.define_collections()
local v = contest.verify(tostring(params.number))
if v.status == 'mistyped' then
  print(string.format(gettext('mistyped: %s is not a certificate number (JN, 8 or 10 digits and a check character)'),
    v.input))
elseif v.status == 'unknown' then
  print(string.format(gettext('unknown: %s has the right form but was never issued'), v.cert_no))
else
  print(string.format(gettext('%s: %s, %s %s (%s), %s, rank %s, issued %s%s'), contest.status_text(v.status), v.cert_no, v.title,
    v.holder or '?', v.id or '?', v.contest or '?', tostring(v.rank or '?'), v.issued_at,
    v.reason and string.format(gettext('; revoked: %s'), v.reason) or ''))
end
