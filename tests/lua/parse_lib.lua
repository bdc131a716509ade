-- parse_lib.lua — `require 'parse'` (core/lua_parse.c): the Lua face of the
-- one strict parser. The rules are tested case by case in
-- tests/unit/test_parse.c; this checks what Lua adds: values and refusals as
-- (nil, reason naming the value), numbers for yuan, the run's day for ID
-- numbers, misuse raising.
local t = require 'testlib'
-- a refusal's value and message (its third value, the bare reason, left out)
local function r2(v, msg) return { v, msg } end
local parse = require 'parse'

t.case('dates: every form to the stored one; a refusal names the value', function()
  t.eq(parse.date('2025/1/14'), '2025-01-14')
  t.eq(parse.date('2025年2月12日'), '2025-02-12')
  t.eq(parse.date('20250114'), '2025-01-14')
  t.eq(r2(parse.date('2025-02-30')), { nil, "'2025-02-30' is not a real date (month 1-12, a day the month has)" })
  t.eq(r2(parse.date(45356)), { nil, '45356 is not a date (2024-03-05)' })
  t.eq(parse.date(nil), nil)
end)

t.case('times: local seconds, the same as os.time', function()
  t.eq(parse.time('2025-01-29 08:00'), os.time{ year = 2025, month = 1, day = 29, hour = 8, min = 0, sec = 0 })
  t.eq(parse.time('2025-01-29T08:00:30'), os.time{ year = 2025, month = 1, day = 29, hour = 8, min = 0, sec = 30 })
  t.eq(r2(parse.time('2025-13-45 99:99')), { nil, "'2025-13-45 99:99' is not a real date (month 1-12, a day the month has)" })
  t.eq(r2(parse.time('2025-01-29 99:99')), { nil, "'2025-01-29 99:99' is not a real time of day (hours 0-23, minutes and seconds 0-59)" })
end)

t.case('yuan: strings and numbers to integer fen', function()
  t.eq(math.type(parse.yuan('12.5')), 'integer')
  t.eq({ parse.yuan(12), parse.yuan(12.5), parse.yuan(-0.01), parse.yuan('-5') }, { 1200, 1250, -1, -500 })
  t.eq(r2(parse.yuan(math.maxinteger)), { nil, math.maxinteger .. ' is too large for an amount' })
  t.eq(r2(parse.yuan(1e300)), { nil, '1e+300 is too large for an amount' })
  t.eq(r2(parse.yuan(0 / 0)), { nil, tostring(0 / 0) .. ' is not an amount in yuan' })
  local none, why = parse.yuan({})
  t.eq(none, nil)
  t.ok(why:find(' is not an amount in yuan', 1, true), why)
end)

t.case('ID numbers: check character, a real birth date, not after the day given', function()
  local body = '33048120300101001'
  local id = body .. parse.mod11_2(body)
  t.eq(parse.id('33021219700615441x'), '33021219700615441X')
  t.eq(parse.id(id, '2030-01-01'), id)
  t.eq(r2(parse.id(id, '2029-12-31')), { nil, "'" .. id .. "' contains an impossible birth date (2030-01-01, characters 7-14)" })
  t.eq(parse.id(id), nil)   -- the run's day (2026 or so) is before 2030
  t.eq(r2(parse.id('330481199001011230')),
       { nil, "'330481199001011230' has a wrong check character (the last one is 0, the first 17 digits give 6): a digit is mistyped" })
  t.eq(r2(parse.id(330481199001011236)), { nil, '330481199001011236 is not an ID number (18 characters, as text)' })
  t.raises_all(function() parse.id('330481199001011236', 'someday') end, { "parse.id: today 'someday'" })
end)

t.case('phones: normalised or refused', function()
  t.eq(parse.phone('+86 138-1234-5678'), '13812345678')
  t.eq(parse.phone('（0571）8765 4321'), '0571-87654321')
  t.eq(r2(parse.phone('87654321')), { nil, "'87654321' has no area code: give it first (0571-87654321)" })
end)

t.case('mod11_2: the check character; misuse raises', function()
  t.eq(parse.mod11_2('33048119900101123'), '6')
  t.eq({ parse.mod11_2_ok('330481199001011236'), parse.mod11_2_ok('330481199001011230'),
         parse.mod11_2_ok('33021219700615441x'), parse.mod11_2_ok(42) }, { true, false, true, false })
  t.raises_all(function() parse.mod11_2('12a') end, { "parse.mod11_2 expects a string of digits, got '12a'" })
  t.raises_all(function() parse.mod11_2('') end, { 'parse.mod11_2 expects a string of digits' })
end)

t.case('day numbers: days.c through parse, and dates.lua on them', function()
  t.eq(parse.day_number(1970, 1, 1), 0)
  t.eq(parse.day_number(2025, 1, 29), 20117)
  t.eq({ parse.day_date(20117) }, { 2025, 1, 29 })
  t.eq({ parse.day_date(-1) }, { 1969, 12, 31 })
  t.eq(parse.day_number(2025, 2, 29), parse.day_number(2025, 3, 1), 'a day past the month rolls on')
  t.eq({ parse.month_days(2024, 2), parse.month_days(2100, 2), parse.month_days(2000, 2) }, { 29, 28, 29 })
  -- every day from 1899 to 2101 goes there and back (the arithmetic dates.lua had in Lua)
  local z = parse.day_number(1899, 1, 1)
  for y = 1899, 2101 do
    for m = 1, 12 do
      for d = 1, parse.month_days(y, m) do
        assert(parse.day_number(y, m, d) == z, 'day number of ' .. y .. '-' .. m .. '-' .. d)
        local y2, m2, d2 = parse.day_date(z)
        assert(y2 == y and m2 == m and d2 == d, 'date of day ' .. z)
        z = z + 1
      end
    end
  end
  t.raises_all(function() parse.day_number(2025, 13, 1) end, { 'a month is 1-12' })
  t.raises_all(function() parse.day_number(math.maxinteger, 1, 1) end, { 'a year out of range' })
  t.raises_all(function() parse.day_date(math.mininteger) end, { 'a day out of range' })
  local dates = require 'dates'
  t.eq(dates.day('2025-01-29'), 20117)
  t.eq(dates.iso(20117), '2025-01-29')
  t.eq(dates.add_months('1965-01-31', 721), '2025-02-28')
  t.eq({ dates.leap(2024), dates.leap(1900), dates.days_in_month(2023, 2) }, { true, false, 28 })
end)

t.done()
