-- setup.lua — makes (or updates) the campaign of plan.lua: the window from
-- the lunar calendar, every item and its stock or quotas, the draws. Prints
-- the calendar of day benefits and the report. Safe to run again after
-- editing plan.lua (a stock below what was issued is refused).
--
--   gonghui run scripts/newyear/setup.lua
local newyear = require 'newyear'
local plan = require 'plan'

local ny = newyear.refusing(newyear.define, plan)
local cal = plugin.load 'cal'
print(string.format('%s (%s): %s .. %s', plan.title, plan.id, ny.starts, ny.ends))
print(string.format(gettext('  %s to %s (%s)'), cal.lunar_text(ny.starts), cal.lunar_text(ny.ends), 'the end of 正月'))
print('')
print(gettext('day benefits:'))
for _, d in ipairs(ny.days) do
  print(string.format('  %s  %-12s  %s (%s)', d.day, cal.lunar_text(d.day), d.title or d.item, d.item))
end
print('')
print(newyear.format(ny:report(), ny))
