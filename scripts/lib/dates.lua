-- dates.lua — date arithmetic on 'YYYY-MM-DD' strings (core/days.c's, through parse).
--
--   local dates = require 'dates'
--   dates.parse('2025-01-29')          --> 2025, 1, 29   (error if not a real date)
--   dates.day('2025-01-29')            --> days since 1970-01-01
--   dates.iso(20117)                   --> '2025-01-29'
--   dates.from_civil(2025, 1, 29)      --> 20117;  dates.civil(20117) --> 2025, 1, 29
--   dates.add_months('1965-01-31', 721) --> '2025-02-28' (the day clamped to the month's end)
--   dates.add_days('2025-01-29', 3)    --> '2025-02-01'
--   dates.today()                      --> the run's date (os.date, the run's clock)
--
-- Reading a date someone typed (2025/1/14, 2025年1月14日) is parse.date's
-- (require 'parse'); dates.parse takes only the stored form, and its
-- calendar check is parse.date's. Gregorian dates only. The lunar calendar (春节, 端午, ...) is the `cal`
-- plugin's: cal.spring_festival(2025), cal.from_lunar(2025, 5, 5, false).
local parse = require 'parse'
local M = {}

-- The calendar arithmetic is core/days.c's, the one copy (parse.day_number,
-- parse.day_date, parse.month_days).
function M.leap(y) return parse.month_days(y, 2) == 29 end

M.days_in_month = parse.month_days

function M.parse(s)
  if type(s) ~= 'string' or #s ~= 10 or parse.date(s) ~= s then
    error(gettext("expected a date YYYY-MM-DD, got '") .. tostring(s) .. "'", 2)
  end
  return tonumber(s:sub(1, 4)), tonumber(s:sub(6, 7)), tonumber(s:sub(9, 10))
end

function M.valid(s)
  return (pcall(M.parse, s))
end

-- Days since 1970-01-01 <-> (y, m, d) (proleptic Gregorian); numbers only,
-- not checked as a date (sample_data.lua makes dates by the million).
M.from_civil = parse.day_number
M.civil = parse.day_date

-- Days since 1970-01-01 of a date 'YYYY-MM-DD' (error if not a real date).
function M.day(s) return M.from_civil(M.parse(s)) end

function M.iso(z) return string.format('%04d-%02d-%02d', M.civil(z)) end

function M.add_days(s, n) return M.iso(M.day(s) + n) end

-- n months later; a day past the new month's end becomes its last day.
function M.add_months(s, n)
  local y, m, d = M.parse(s)
  local k = y * 12 + (m - 1) + n
  y, m = k // 12, k % 12 + 1
  return string.format('%04d-%02d-%02d', y, m, math.min(d, M.days_in_month(y, m)))
end

-- Whole years from birth date b to date d (age on d).
function M.age(b, d)
  local by, bm, bd = M.parse(b)
  local y, m, dd = M.parse(d)
  local a = y - by
  if m < bm or (m == bm and dd < bd) then a = a - 1 end
  return a
end

function M.today() return os.date('%Y-%m-%d') end
function M.now() return os.date('%Y-%m-%d %H:%M:%S') end

return M
