-- deliver.lua — records that a certificate was handed over: at the
-- ceremony (how=ceremony) or electronically (how=online).
--
--   gonghui run scripts/retirement/deliver.lua number=2025-0002-0001-5 how=ceremony
local retirement = require 'retirement'
retirement.define_collections()
if not params.number then error(gettext('usage: deliver.lua number=NO how=ceremony|online')) end
print(retirement.deliver(tostring(params.number), params.how) and 'delivered' or 'was already delivered')
