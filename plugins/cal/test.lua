-- plugins/cal/test.lua — the cal plugin through Lua (ctest: plugin_cal). Found in
-- the build's plugin folder, as scripts find it.
--
-- Dates come from published calendars (春节 of each year, 元宵, 腊八, the leap
-- months 2023 闰二月, 2025 闰六月, 1987 闰六月, 2033 闰十一月) and from
-- month_starts.lua: the first day of every lunar month 1900-2100 computed
-- independently of ICU (see its header).
local cal = plugin.load 'cal'
local dates = require 'dates'
local t = require 'testlib' -- tests/lua/testlib.lua (run_one.sh gives plugin tests its folder)
local case, eq, raises = t.case, t.eq, t.raises_all
-- '2023-闰02-15' -> 2023, 2, 15, true
local function parse_lunar(s)
  local y, leap, m, d = s:match('^(%d%d%d%d)%-(.-)(%d%d)%-(%d%d)$')
  assert(y and (leap == '' or leap == '闰'), 'not a lunar date: ' .. tostring(s))
  return tonumber(y), tonumber(m), tonumber(d), leap == '闰'
end

case('春节 (Spring Festival) 2020-2030, 1954, 1984', function()
  local want = { [2020] = '2020-01-25', [2021] = '2021-02-12', [2022] = '2022-02-01', [2023] = '2023-01-22',
                 [2024] = '2024-02-10', [2025] = '2025-01-29', [2026] = '2026-02-17', [2027] = '2027-02-06',
                 [2028] = '2028-01-26', [2029] = '2029-02-13', [2030] = '2030-02-03',
                 [1954] = '1954-02-03', [1984] = '1984-02-02', [2000] = '2000-02-05' }
  for y, d in pairs(want) do
    eq(cal.spring_festival(y), d, 'spring_festival(' .. y .. ')')
    eq(cal.to_lunar(d), string.format('%04d-01-01', y), 'to_lunar(' .. d .. ')')
    eq(cal.to_lunar(dates.add_days(d, -1)):sub(1, 8), string.format('%04d-12-', y - 1), 'the day before is in 腊月')
  end
end)

case('元宵 and other days of 正月', function()
  eq(cal.from_lunar(2025, 1, 15, false), '2025-02-12', '元宵 2025')
  eq(cal.to_lunar('2025-02-12'), '2025-01-15')
  eq(cal.from_lunar(2024, 1, 15, false), '2024-02-24', '元宵 2024')
  eq(cal.from_lunar(2025, 5, 5, false), '2025-05-31', '端午 2025')
  eq(cal.from_lunar(2025, 8, 15, false), '2025-10-06', '中秋 2025')
end)

case('leap months (闰月): 2023 闰二月, 2025 闰六月, 1987 闰六月, 2033 闰十一月', function()
  eq(cal.leap_month(2023), 2)
  eq(cal.from_lunar(2023, 2, 1, true), '2023-03-22', '闰二月初一')
  eq(cal.to_lunar('2023-03-22'), '2023-闰02-01')
  eq(cal.to_lunar('2023-03-21'), '2023-02-30', 'the day before: 二月三十')
  eq(cal.month_days(2023, 2, true), 29)
  eq(cal.to_lunar('2023-04-19'), '2023-闰02-29')
  eq(cal.to_lunar('2023-04-20'), '2023-03-01')
  eq(cal.leap_month(2025), 6)
  eq(cal.from_lunar(2025, 6, 1, true), '2025-07-25')
  eq(cal.leap_month(2024), 0)
  eq(cal.leap_month(2026), 0)
  -- ICU 72 says 闰七月 for 1987 and starts 2027's 正月 on 02-07: both corrected
  eq(cal.leap_month(1987), 6)
  eq(cal.to_lunar('1987-07-26'), '1987-闰06-01')
  eq(cal.to_lunar('1987-08-24'), '1987-07-01')
  eq(cal.leap_month(2033), 11)
  eq(cal.to_lunar('2033-12-22'), '2033-闰11-01')
end)

case('腊八: the one before the year\'s Spring Festival, of the lunar year before', function()
  eq(cal.laba(2025), '2025-01-07')
  eq(cal.to_lunar('2025-01-07'), '2024-12-08')
  eq(cal.laba(2026), '2026-01-26')
  eq(cal.laba(2024), '2024-01-18')
  eq(cal.laba(2023), '2022-12-30', 'late December when the Spring Festival is early')
  for y = 1901, 2100 do
    local l = cal.laba(y)
    eq(cal.to_lunar(l), string.format('%04d-12-08', y - 1), 'laba(' .. y .. ')')
    assert(l < cal.spring_festival(y), 'laba before the Spring Festival of ' .. y)
  end
end)

case('正月 as a date window: Spring Festival to first_month_end', function()
  local windows = { [2024] = { '2024-02-10', '2024-03-09' }, [2025] = { '2025-01-29', '2025-02-27' },
                    [2026] = { '2026-02-17', '2026-03-18' }, [2027] = { '2027-02-06', '2027-03-07' } }
  for y, w in pairs(windows) do
    eq(cal.spring_festival(y), w[1], 'start of 正月 ' .. y)
    eq(cal.first_month_end(y), w[2], 'end of 正月 ' .. y)
  end
  for y = 1901, 2099 do -- the day after 正月 is 二月初一 (no year in range has 闰正月)
    local last = cal.first_month_end(y)
    eq(cal.to_lunar(dates.add_days(last, 1)), string.format('%04d-02-01', y), 'after 正月 ' .. y)
    eq(dates.day(last) - dates.day(cal.spring_festival(y)) + 1, cal.month_days(y, 1, false), 'length ' .. y)
  end
end)

case('every month 1900-2100 against the independent reference (month_starts.lua)', function()
  local rows = {}
  for d, y, m in require('month_starts'):gmatch('(%d%d%d%d%-%d%d%-%d%d) (%d+) (%-?%d+)') do
    rows[#rows + 1] = { d, tonumber(y), math.abs(tonumber(m)), tonumber(m) < 0 }
  end
  eq(#rows, 2487, 'reference months')
  for i, r in ipairs(rows) do
    local d, y, m, leap = r[1], r[2], r[3], r[4]
    local label = string.format('%04d-%s%02d-01', y, leap and '闰' or '', m)
    eq(cal.to_lunar(d), label, 'to_lunar(' .. d .. ')')
    if y >= 1900 then eq(cal.from_lunar(y, m, 1, leap), d, 'from_lunar ' .. label) end
    if rows[i + 1] then
      local len = dates.day(rows[i + 1][1]) - dates.day(d)
      if y >= 1900 then eq(cal.month_days(y, m, leap), len, 'month_days ' .. label) end
      eq(select(3, parse_lunar(cal.to_lunar(dates.add_days(rows[i + 1][1], -1)))), len, 'last day of ' .. label)
    end
  end
end)

case('round trips: every 5th day from 1900 to 2100', function()
  for z = dates.day('1900-02-01'), dates.day('2100-12-01'), 5 do
    local d = dates.iso(z)
    local l = cal.to_lunar(d)
    eq(cal.from_lunar(parse_lunar(l)), d, 'from_lunar(to_lunar(' .. d .. ')) via ' .. l)
  end
end)

case('lunar_text: 干支 year, month and day names', function()
  eq(cal.lunar_text('2025-01-29'), '乙巳年正月初一')
  eq(cal.lunar_text('2025-02-08'), '乙巳年正月十一')
  eq(cal.lunar_text('2023-04-05'), '癸卯年闰二月十五')
  eq(cal.lunar_text('2024-02-09'), '癸卯年腊月三十', '除夕 2024')
  eq(cal.lunar_text('2024-01-18'), '癸卯年腊月初八')
  eq(cal.lunar_text('1984-02-02'), '甲子年正月初一')
  eq(cal.lunar_text('2026-01-07'), '乙巳年冬月十九')
  eq(cal.lunar_text('2025-02-17'), '乙巳年正月二十')
  eq(cal.lunar_text('2025-02-18'), '乙巳年正月廿一')
end)

case('wrong arguments are refused, saying why', function()
  raises(function() return cal.from_lunar(2024, 2, 1, true) end,
         'cal.from_lunar: lunar year 2024 has no leap month 2: it has no leap month at all')
  raises(function() return cal.from_lunar(2025, 2, 1, true) end,
         'lunar year 2025 has no leap month 2: its leap month is 闰六月 (6)')
  raises(function() return cal.from_lunar(1987, 7, 1, true) end, 'its leap month is 闰六月 (6)')
  raises(function() return cal.from_lunar(2025, 2, 30, false) end, 'lunar month 2 of 2025 has 29 days, not 30')
  raises(function() return cal.from_lunar(2023, 2, 30, true) end, 'lunar month 闰2 of 2023 has 29 days, not 30')
  raises(function() return cal.from_lunar(2025, 13, 1, false) end, 'a lunar month is 1 to 12')
  raises(function() return cal.from_lunar(2025, 0, 1, false) end, 'a lunar month is 1 to 12')
  raises(function() return cal.from_lunar(2025, 1, 0, false) end, 'a lunar day is 1 to 30, got 0')
  raises(function() return cal.from_lunar(2025, 1, 31, false) end, 'a lunar day is 1 to 30, got 31')
  raises(function() return cal.from_lunar(1800, 1, 1, false) end, 'lunar year 1800 is outside the calendar\'s range')
  raises(function() return cal.from_lunar(2100, 12, 2, false) end, 'falls outside the calendar\'s range')
  raises(function() return cal.spring_festival(2101) end, 'outside the calendar\'s range')
  raises(function() return cal.month_days(2024, 3, true) end, 'has no leap month 3')
  raises(function() return cal.leap_month(3000) end, 'cal.leap_month: lunar year 3000 is outside')
  raises(function() return cal.to_lunar('2025-02-30') end, "cal.to_lunar: '2025-02-30' is not a real date")
  raises(function() return cal.to_lunar('2025/01/29') end, "expects a date YYYY-MM-DD, got '2025/01/29'")
  raises(function() return cal.to_lunar('2025-1-29') end, 'expects a date YYYY-MM-DD')
  raises(function() return cal.to_lunar('+025-01-29') end, 'expects a date YYYY-MM-DD')
  raises(function() return cal.to_lunar('1899-12-31') end, 'outside the calendar\'s range (1900-01-01 to 2100-12-31)')
  raises(function() return cal.lunar_text('') end, 'expects a date')
  raises(function() return cal.to_lunar(20250129) end, 'cal.to_lunar: argument #1 expects str, got number')
  raises(function() return cal.from_lunar(2025, 1, 1) end, 'cal.from_lunar: expects 4 arguments, got 3')
  raises(function() return cal.from_lunar(2025, 1, 1, 0) end, 'argument #4 expects bool')
  eq(cal.to_lunar('1900-01-01'), '1899-12-01', 'the first day in range')
  eq(cal.to_lunar('2100-12-31'), '2100-12-01', 'the last day in range')
end)

local function sorted(list, key)
  local t = {}
  for i, v in ipairs(list) do t[i] = v end
  table.sort(t, function(a, b) return key(a) < key(b) end)
  return table.concat(t, ' ')
end

case('stroke order (姓氏笔画): count, then 横竖撇点折, then the next characters', function()
  -- the Politburo of the 20th CPC Central Committee as published, "按姓氏笔画为序"
  local published = '丁薛祥 习近平 王毅 尹力 石泰峰 刘国中 李干杰 李书磊 李鸿忠 何卫东 何立峰 张又侠 ' ..
                    '张国清 陈文清 陈吉宁 陈敏尔 赵乐际 袁家军 黄坤明 蔡奇'
  local names = {}
  for n in published:gmatch('%S+') do table.insert(names, 1, n) end -- reversed
  eq(sorted(names, cal.stroke_key), published)
  -- 丁 2, 于 3 (横) before 马 3 (折); of 4: 王 (横) 毛 (撇) 方 (点) 尹 邓 (折, then 横 before 点);
  -- of 7: 李 (横) before 张 陈 (折, then 横 before 竖); 黄 11
  eq(sorted({ '黄河', '陈静', '张伟', '李秀英', '尹某', '邓某', '方芳', '毛毛', '王二', '王建国', '王', '马丽', '于谦', '丁一' },
            cal.stroke_key),
     '丁一 于谦 马丽 王 王二 王建国 毛毛 方芳 尹某 邓某 李秀英 张伟 陈静 黄河')
  eq(cal.strokes('魏'), 17)
  eq(cal.strokes('黄'), 11)
  eq(cal.strokes('陈'), 7, '阝 counts 2 strokes, as on the mainland')
  eq(cal.strokes('邓'), 4)
  eq(cal.strokes('張'), 11, 'traditional characters have their own counts')
  eq(cal.stroke_order('王'), '横横竖横')
  eq(cal.stroke_order('丁'), '横竖')
  eq(cal.stroke_order('习'), '折点横')
  eq(cal.strokes('A'), 0, 'no strokes for a Latin letter')
  eq(cal.stroke_order('A'), nil)
  assert(cal.stroke_key('王') < cal.stroke_key('王二'), 'a name before its longer names')
  assert(cal.stroke_key('王二') < cal.stroke_key('王A'), 'characters without strokes after Han characters')
  eq(cal.stroke_key(''), '')
  raises(function() return cal.stroke_key('王\xff') end, 'cal.stroke_key: the text is not UTF-8: byte 4 (0xFF)')
  raises(function() return cal.strokes('') end, 'expects a character')
end)

case('pinyin order and transliteration', function()
  eq(sorted({ '张伟', '王建国', '陈静', '李秀英', '黄河', '丁一', '马丽', '安然' }, cal.pinyin_key),
     '安然 陈静 丁一 黄河 李秀英 马丽 王建国 张伟')
  assert(cal.pinyin_key('王') < cal.pinyin_key('王二'))
  eq(cal.pinyin('王建国'), 'wáng jiàn guó')
  eq(cal.pinyin('单田芳'), 'shàn tián fāng', '单 read as a surname')
  eq(cal.pinyin('曾国藩'), 'zēng guó fān', '曾 read as a surname')
  eq(cal.pinyin('ABC 123'), 'ABC 123', 'other text is kept')
  -- surnames read as surnames where ICU's Names reading is another
  eq(cal.pinyin('罗平'), 'luó píng', '罗 luó, not luō')
  eq(cal.pinyin('缪军'), 'miào jūn', '缪 Miào, not móu')
  eq(cal.pinyin('朴永'), 'piáo yǒng', '朴 Piáo, not pǔ')
  eq(cal.pinyin('薄熙'), 'bó xī', '薄 Bó, not báo')
  eq(cal.pinyin('薄'), 'bó', 'a surname alone')
  eq(cal.pinyin('王薄'), 'wáng báo', 'only the first character is a surname')
  eq(sorted({ '缪军', '马丽', '孟华', '莫言' }, cal.pinyin_key), '马丽 孟华 缪军 莫言',
     '缪 sorts as miào: after mèng, before mò')
  eq(sorted({ '朴永', '平安', '彭德', '秦明' }, cal.pinyin_key), '彭德 朴永 平安 秦明',
     '朴 sorts as piáo, not pǔ (before píng)')
  eq(cal.pinyin(''), '')
  raises(function() return cal.pinyin_key('\xe4\xb8') end, 'cal.pinyin_key: the text is not UTF-8: byte 1 (0xE4)')
end)

case('GB18030 (GBK, GB2312) to UTF-8 and back', function()
  eq(cal.gb18030_to_utf8('\xd6\xd0\xce\xc4'), '中文')
  eq(cal.gb18030_to_utf8('\xcd\xf5\xbd\xa8\xb9\xfa,330481'), '王建国,330481', 'GBK text')
  eq(cal.gb18030_to_utf8('a\0b'), 'a\0b', 'a NUL byte is kept')
  eq(cal.gb18030_to_utf8(''), '')
  eq(cal.utf8_to_gb18030('中文'), '\xd6\xd0\xce\xc4')
  local text = '工会 光荣退休 😀 𠀀 ǖ €'
  local gb = cal.utf8_to_gb18030(text)
  eq(#cal.utf8_to_gb18030('😀'), 4, 'four bytes outside the BMP')
  eq(cal.gb18030_to_utf8(gb), text, 'a round trip')
  raises(function() return cal.gb18030_to_utf8('ab\xff\x30cd') end,
         'cal.gb18030_to_utf8: byte 3 (0xFF) is not GB18030 text')
  raises(function() return cal.gb18030_to_utf8('\xd6\xd0\x80') end, 'byte 3 (0x80) is not GB18030 text')
  raises(function() return cal.gb18030_to_utf8('ab\xd6') end,
         'the text ends inside a character: byte 3 (0xD6)')
  raises(function() return cal.utf8_to_gb18030('ok\xe4\xb8') end, 'the text is not UTF-8: byte 3 (0xE4)')
end)

t.done()
