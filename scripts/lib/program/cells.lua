-- program/cells.lua — one sheet cell as `gonghui import` reads it, for the
-- framework's sheet entry: dates (2025-01-14, 2025/1/14, 20250114,
-- 2025年1月14日, Excel's midnight time), yuan (¥1,234.50), ID numbers (check
-- character), phones, whole numbers, text.
--
--   local cells = require 'program.cells'
--   cells.parse('date', '2025年2月12日')  --> '2025-02-12' | nil, why
--
-- Dates, times, yuan, ID numbers and phones are core/parse.c's (require
-- 'parse'), the parser import and every command use; `why` is the bare
-- reason, the caller names the column and the value.
local _ = gettext
local money = require 'program.money'
local parse = require 'parse'

local M = {}

local function trim(s) return (s:gsub('^%s+', ''):gsub('%s+$', '')) end

-- fn's value, or nil and its bare reason.
local function bare(fn)
  return function(s)
    local v, _, why = fn(s)
    if v == nil then return nil, why end
    return v
  end
end

M.date = bare(parse.date)
M.id = bare(parse.id)
M.phone = bare(parse.phone)

-- 'YYYY-MM-DD HH:MM:SS' (midnight when no time is given).
function M.datetime(s)
  local t, _, why = parse.time(s)
  if not t then return nil, why end
  return os.date('%Y-%m-%d %H:%M:%S', t)
end

function M.yuan(s)
  local f, why = money.fen(s)
  if not f then return nil, why end
  if f < 0 then return nil, _('is a negative amount') end
  return f
end

function M.int(s)
  local t = trim(s):gsub(',', '')
  local n = t:match('^[%+%-]?%d+$') and math.tointeger(tonumber(t))
  if not n then return nil, _('expects a whole number') end
  return n
end

function M.text(s) return trim(s) end

-- The value of cell s as type ty, or nil, why.
function M.parse(ty, s)
  local f = M[ty]
  if not f or ty == 'parse' then error(_('cells: no type ') .. tostring(ty), 2) end
  if type(s) == 'number' then s = tostring(s) end
  return f(s)
end

return M
