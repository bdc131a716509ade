-- booth.lua — booths on a market day: give one to a vendor, free one, or
-- list the day's booths. A booth holds one vendor a day: giving a taken
-- booth is refused, naming the booth, the day and its holder.
--
--   gonghui run scripts/market/booth.lua date=2025-05-10 booth=A01 vendor=V01
--   gonghui run scripts/market/booth.lua date=2025-05-10 booth=A01 free=1
--   gonghui run scripts/market/booth.lua date=2025-05-10
local common = require 'common'
local fmt = require 'fmt'

local mk = common.market()
local date = params.date and tostring(params.date)
if not date then run.fail(gettext('usage: booth.lua date=YYYY-MM-DD [booth=A01 vendor=V01 | booth=A01 free=1]')) end
if params.booth and params.vendor then
  common.try(mk.assign, mk, date, tostring(params.booth), tostring(params.vendor))
  print(string.format(gettext('booked: booth %s on %s to %s'), params.booth, date, params.vendor))
elseif params.booth and params.free then
  if common.try(mk.free, mk, date, tostring(params.booth)) then
    print(string.format(gettext('freed: booth %s on %s'), params.booth, date))
  else
    print(string.format(gettext('booth %s on %s was free'), params.booth, date))
  end
end
local rows = {}
for _, b in ipairs(mk:bookings(date)) do rows[#rows + 1] = { b.booth, b.vendor_id or '(free)', b.name or '', b.town or '' } end
print(fmt.table({ gettext('booth'), gettext('vendor'), gettext('name'), gettext('town') }, rows))
