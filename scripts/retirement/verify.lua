-- verify.lua — is this certificate number real? Says valid, revoked (with
-- the reason), mistyped (the check character does not fit: ask for it
-- again) or unknown, and shows the holder masked.
--
--   gonghui run scripts/retirement/verify.lua number=2025-0002-0001-5
local retirement = require 'retirement'
retirement.define_collections()
local v = retirement.verify(tostring(params.number or ''))
if v.status == 'mistyped' then
  print(string.format(gettext('mistyped: %s is not a certificate number (13 or 17 characters, the last a check character)'),
    v.input))
elseif v.status == 'unknown' then
  print(string.format(gettext('unknown: %s has the right form but was never issued'), v.cert_no))
else
  print(string.format(gettext('%s: %s, %s (%s), issued by %s at %s%s'), v.status, v.cert_no, v.holder or '?',
        v.id or '?', v.union or '?', v.issued_at, v.reason and ('; revoked: ' .. v.reason) or ''))
end
