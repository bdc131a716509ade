-- fmt.lua — text for people: yuan amounts and aligned tables with Chinese text.
--
--   local fmt = require 'fmt'
--   fmt.yuan(1234567)                      --> '12,345.67'
--   fmt.plain_yuan(-123450)                --> '-1234.50' (spreadsheet cells)
--   fmt.money(123450)                      --> '¥1,234.50' (prose, both languages)
--   fmt.heading(title, id, from, to)      --> '春节送温暖 (c1), 2025-01-10 .. 2025-02-12' (a report's first line)
--   fmt.date('2025-01-29')                 --> '2025年1月29日' under a Chinese locale,
--                                              '2025-01-29' otherwise (prose only:
--                                              files keep ISO dates, whatever the language)
--   (reading yuan people type is parse.yuan's: require 'parse')
--   print(fmt.table({ 'station', 'issued' }, { { '硖石驿站', 12 }, ... }, { right = { 2 } }))
--
-- (The REPL has a table renderer in C with the real East Asian widths; it is
-- not reachable from scripts, so this is the small version: code points from
-- U+1100 up count as two columns.)
local M = {}

-- A report's first line: its title, its id and its dates (the one wording
-- of the programs', the campaigns' and the new-year reports').
function M.heading(title, id, from, to)
  return string.format('%s (%s), %s .. %s', title, id, from, to)
end

function M.yuan(fen)
  local sign = fen < 0 and '-' or ''
  fen = math.abs(fen)
  local int = tostring(fen // 100):reverse():gsub('(%d%d%d)', '%1,'):reverse():gsub('^,', '')
  return string.format('%s%s.%02d', sign, int, fen % 100)
end

-- Yuan as a plain decimal, no thousands separators ('-1234.50'): for cells
-- a spreadsheet reads as numbers.
function M.plain_yuan(fen)
  local a = math.abs(fen)
  return string.format('%s%d.%02d', fen < 0 and '-' or '', a // 100, a % 100)
end

-- Money in prose: the yuan sign and the amount with thousands separators.
function M.money(fen)
  return (fen < 0 and '-¥' or '¥') .. M.yuan(math.abs(fen))
end

-- A date ('YYYY-MM-DD', or a table with year, month, day, or os.time
-- seconds) as people read it in the message language.
function M.date(d)
  local y, m, dd
  if type(d) == 'string' then
    y, m, dd = d:match('^(%d%d%d%d)-(%d%d)-(%d%d)')
    if not y then return d end
  elseif type(d) == 'number' then
    local t = os.date('*t', d)
    y, m, dd = t.year, t.month, t.day
  else
    y, m, dd = d.year, d.month, d.day
  end
  -- TRANSLATORS: a date in a sentence: year, month, day (Chinese: 2025年1月29日)
  return string.format(gettext('%d-%02d-%02d'), tonumber(y), tonumber(m), tonumber(dd))
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
