-- fmt.lua — text for people: yuan amounts and aligned tables with Chinese text.
--
--   local fmt = require 'fmt'
--   fmt.yuan(1234567)                      --> '12,345.67'
--   fmt.parse_yuan('12,345.67')            --> 1234567 (fen; nil, why for bad text)
--   print(fmt.table({ 'station', 'issued' }, { { '硖石驿站', 12 }, ... }, { right = { 2 } }))
--
-- (The REPL has a table renderer in C with the real East Asian widths; it is
-- not reachable from scripts, so this is the small version: code points from
-- U+1100 up count as two columns.)
local M = {}

function M.yuan(fen)
  local sign = fen < 0 and '-' or ''
  fen = math.abs(fen)
  local int = tostring(fen // 100):reverse():gsub('(%d%d%d)', '%1,'):reverse():gsub('^,', '')
  return string.format('%s%s.%02d', sign, int, fen % 100)
end

-- Yuan as people type them -> integer fen: '3000', '3,000.5', '¥12.05', or a
-- number (a `gonghui run` parameter yuan=3000.5 arrives as one). At most two
-- decimals; returns nil and the reason for anything else (never a float).
function M.parse_yuan(v)
  if math.type(v) == 'integer' then return v * 100 end
  if math.type(v) == 'float' then
    local f = v * 100
    local r = math.floor(f + 0.5)
    if v ~= v or math.abs(f) > 2^53 or math.abs(f - r) > 1e-6 then
      return nil, 'not an amount in yuan with at most two decimals: ' .. tostring(v)
    end
    return math.tointeger(r)
  end
  if type(v) ~= 'string' then return nil, 'expected an amount in yuan, got ' .. tostring(v) end
  local s = v:gsub('^%s+', ''):gsub('%s+$', ''):gsub('^¥', ''):gsub('^￥', ''):gsub('元$', '')
  local sign = ''
  if s:sub(1, 1) == '-' then sign, s = '-', s:sub(2) end
  local int, dec = s:match('^([%d,]+)%.?(%d*)$')
  local grouped = int and int:find(',', 1, true)
  if grouped then   -- 1,234,567: groups of three after the first
    local rest = int:match('^%d%d?%d?(,.*)$')
    grouped = not rest or rest:gsub(',%d%d%d', '') ~= ''
  end
  if not int or #dec > 2 or grouped then
    return nil, "not an amount in yuan (like 3000 or 3,000.50): '" .. v .. "'"
  end
  int = int:gsub(',', '')
  if #int > 15 then return nil, "amount too large: '" .. v .. "'" end
  local fen = math.tointeger(tonumber(int)) * 100 + math.tointeger(tonumber((dec .. '00'):sub(1, 2)))
  return sign == '-' and -fen or fen
end

function M.width(s)
  local w = 0
  for _, cp in utf8.codes(s) do w = w + (cp >= 0x1100 and 2 or 1) end
  return w
end

function M.left(s, n) return s .. string.rep(' ', n - M.width(s)) end
function M.right(s, n) return string.rep(' ', n - M.width(s)) .. s end

-- headers: list of column titles; rows: list of lists; opts.right: list of
-- column numbers aligned right (default: columns whose cells are all numbers).
function M.table(headers, rows, opts)
  opts = opts or {}
  local n = #headers
  local right = {}
  if opts.right then
    for _, c in ipairs(opts.right) do right[c] = true end
  else
    for c = 1, n do
      local all = #rows > 0
      for _, r in ipairs(rows) do
        if r[c] ~= nil and type(r[c]) ~= 'number' then all = false end
      end
      right[c] = all
    end
  end
  local w = {}
  for c = 1, n do w[c] = M.width(headers[c]) end
  local cells = {}
  for i, r in ipairs(rows) do
    cells[i] = {}
    for c = 1, n do
      local s = r[c] == nil and '' or tostring(r[c])
      cells[i][c] = s
      w[c] = math.max(w[c], M.width(s))
    end
  end
  local function line(cs)
    local out = {}
    for c = 1, n do out[c] = right[c] and M.right(cs[c], w[c]) or M.left(cs[c], w[c]) end
    return (table.concat(out, '  '):gsub('%s+$', ''))
  end
  local lines = { line(headers) }
  local total = 0
  for c = 1, n do total = total + w[c] end
  lines[2] = string.rep('-', total + 2 * (n - 1))
  for i = 1, #cells do lines[#lines + 1] = line(cells[i]) end
  return table.concat(lines, '\n')
end

return M
