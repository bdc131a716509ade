-- program/money.lua — money as integer fen, with arithmetic that refuses to
-- overflow instead of wrapping (Lua's integers wrap silently: 2305843009213693956
-- × 800 fen is a 32-yuan sale), and yuan text -> fen.
--
--   local money = require 'program.money'
--   money.add(a, b), money.sub(a, b), money.mul(fen, qty)   -- error on overflow or a non-integer
--   money.percent(fen, 50)        -- floor(fen * 50 / 100), overflow-checked
--   money.fen('¥1,234.50')         --> 123450 | nil, why   (parse.yuan; why does not quote the value)
--   money.yuan(123450)             --> '1,234.50'
--
-- Invariant: every result is a Lua integer within ±MAX (2^53, so a sum can
-- also leave Lua as an exact double); anything else raises an error that names
-- the operands. money.fen is core/parse.c's yuan parser (require 'parse').
local _ = gettext
local fmt = require 'fmt'
local parse = require 'parse'

local M = {}

M.MAX = 1 << 53   -- 90 trillion yuan: more than any budget; keeps fen exact as doubles

local function int(v, what)
  if math.type(v) ~= 'integer' then
    error(string.format(_('%s must be a whole number of fen, got %s'), what, tostring(v)), 3)
  end
  return v
end

local function checked(r, a, op, b)
  if r > M.MAX or r < -M.MAX then
    error(string.format(_('amount overflow: %d %s %d is beyond %d fen'), a, op, b, M.MAX), 3)
  end
  return r
end

function M.add(a, b)
  int(a, 'an amount'); int(b, 'an amount')
  return checked(a + b, a, '+', b)
end

function M.sub(a, b)
  int(a, 'an amount'); int(b, 'an amount')
  return checked(a - b, a, '-', b)
end

-- fen × qty; qty a whole number.
function M.mul(fen, qty)
  int(fen, 'an amount'); int(qty, 'a quantity')
  if fen ~= 0 and qty ~= 0 then
    if math.abs(qty) > M.MAX // math.max(math.abs(fen), 1) then
      error(string.format(_('amount overflow: %d fen × %d is beyond %d fen'), fen, qty, M.MAX), 2)
    end
  end
  return checked(fen * qty, fen, '×', qty)
end

-- floor(fen × pct / 100): the union never pays more than the rate.
function M.percent(fen, pct)
  int(fen, 'an amount'); int(pct, 'a percentage')
  return M.mul(fen, pct) // 100
end

function M.fen(text)
  local f, _, why = parse.yuan(text)   -- the bare reason: callers name the value
  if f and (f > M.MAX or f < -M.MAX) then return nil, _('is too large for an amount') end
  return f, why
end

M.yuan = fmt.yuan

return M
