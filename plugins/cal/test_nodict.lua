-- plugins/cal/test_nodict.lua — stroke order without its dictionary (ctest:
-- plugin_cal_nodict and plugin_cal_baddict, with GONGHUI_STROKE_DICT naming a
-- missing file or a file that is no stroke dictionary): a clear error saying
-- what to install, and the rest of the plugin still works.
local cal = plugin.load 'cal'
local function refused(f, name)
  local ok, e = pcall(f)
  assert(not ok, name .. ': no error without the dictionary')
  assert(e:find('cal.' .. name .. ': ', 1, true), e)
  assert(e:find('stroke order needs the stroke dictionary /nonexistent/stroke.dict.yaml: install the '
                .. 'Debian package rime-data-stroke', 1, true)
         or e:find('test_nodict.lua holds no stroke dictionary (too few entries): reinstall rime-data-stroke', 1, true), e)
  return e
end
local e = refused(function() return cal.stroke_key('王') end, 'stroke_key')
refused(function() return cal.strokes('王') end, 'strokes')
refused(function() return cal.stroke_order('王') end, 'stroke_order')
refused(function() return cal.stroke_key('王') end, 'stroke_key') -- asked again: nothing half-loaded kept
assert(cal.spring_festival(2025) == '2025-01-29', 'the calendar works without it')
assert(cal.pinyin_key('王') < cal.pinyin_key('张'), 'pinyin order works without it')
io.stderr:write('ok    stroke order without its dictionary: ' .. e .. '\n')
