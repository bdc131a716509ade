-- program/cells.lua — one sheet cell as `gonghui import` reads it, for the
-- framework's sheet entry: dates (2025-01-14, 2025/1/14, 20250114,
-- 2025年1月14日, Excel's midnight time), yuan (¥1,234.50), ID numbers (check
-- character), phones, whole numbers, text.
--
--   local cells = require 'program.cells'
--   cells.parse('date', '2025年2月12日')  --> '2025-02-12' | nil, why
--
-- TODO(fwB): delegate to core/parse.c's Lua face once it is on main, so
-- import, scripts and the framework share one parser.
local dates = require 'dates'
local money = require 'program.money'
local registry = require 'registry'

local M = {}

local function trim(s) return (s:gsub('^%s+', ''):gsub('%s+$', '')) end

function M.date(s)
  s = trim(s)
  local y, m, d
  if s:match('^%d%d%d%d%d%d%d%d$') then
    y, m, d = s:sub(1, 4), s:sub(5, 6), s:sub(7, 8)
  elseif s:match('^%d%d%d%d%d?$') then
    return nil, "looks like Excel's day number, not a date: format the column as a date (or text) in Excel and save again"
  else
    local rest
    y, m, d, rest = s:match('^(%d%d%d%d)年(%d%d?)月(%d%d?)(.*)$')
    if rest then rest = rest:gsub('^日', ''):gsub('^号', '') end
    if not y then
      local sep, sep2
      y, sep, m, sep2, d, rest = s:match('^(%d%d%d%d)([%-/%.])(%d%d?)([%-/%.])(%d%d?)(.*)$')
      if y and sep ~= sep2 then y = nil end
    end
    if not y then return nil, 'expects a date (2024-03-05; 2024/3/5, 20240305 and 2024年3月5日 do too)' end
    rest = trim(rest or '')
    if rest ~= '' then
      local hh, mm, ss = rest:match('^(%d%d?):(%d%d):?(%d?%d?)$')
      if not hh then return nil, 'expects a date (2024-03-05; 2024/3/5, 20240305 and 2024年3月5日 do too)' end
      if tonumber(hh) ~= 0 or tonumber(mm) ~= 0 or (ss ~= '' and tonumber(ss) ~= 0) then
        return nil, 'has a time of day (' .. rest .. '): a date is expected'
      end
    end
  end
  local out = string.format('%04d-%02d-%02d', tonumber(y), tonumber(m), tonumber(d))
  if not dates.valid(out) then return nil, 'is not a real date (month 1-12, a day the month has)' end
  return out
end

function M.datetime(s)
  s = trim(s)
  local day, time = s:match('^(.-)%s+(%d%d?:%d%d:?%d?%d?)$')
  local d, why = M.date(day or s)
  if not d then return nil, why end
  if not time then return d .. ' 00:00:00' end
  local hh, mm, ss = time:match('^(%d%d?):(%d%d):?(%d?%d?)$')
  hh, mm, ss = tonumber(hh), tonumber(mm), tonumber(ss ~= '' and ss or '0')
  if hh > 23 or mm > 59 or ss > 59 then return nil, 'is not a time of day: ' .. time end
  return string.format('%s %02d:%02d:%02d', d, hh, mm, ss)
end

function M.yuan(s)
  local f, why = money.fen(trim(s))
  if not f then return nil, why end
  if f < 0 then return nil, 'is a negative amount: ' .. s end
  return f
end

function M.id(s)
  local id = trim(s):upper()
  if id:match('^%d%.%d+E%+%d+$') then
    return nil, 'was turned into a number by Excel (' .. s .. '): format the column as text and type it again'
  end
  if not registry.valid_id(id) then
    return nil, 'is not a valid ID number (18 characters, the last a check character)'
  end
  return id
end

function M.phone(s)
  local p = trim(s):gsub('[%s%-]', '')
  if not p:match('^1%d%d%d%d%d%d%d%d%d%d$') then return nil, 'is not a mobile number (11 digits, starting with 1)' end
  return p
end

function M.int(s)
  local t = trim(s):gsub(',', '')
  local n = t:match('^[%+%-]?%d+$') and math.tointeger(tonumber(t))
  if not n then return nil, 'expects a whole number' end
  return n
end

function M.text(s) return trim(s) end

-- The value of cell s as type ty, or nil, why.
function M.parse(ty, s)
  local f = M[ty]
  if not f or ty == 'parse' then error('cells: no type ' .. tostring(ty), 2) end
  if type(s) == 'number' then s = tostring(s) end
  return f(s)
end

return M
