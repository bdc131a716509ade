-- repl_hints.lua — a line of advice after a REPL error, for what Chinese users
-- type out of habit (issue 15). The REPL (core/repl.c) calls
-- require('repl_hints').hint(line, message) after a line fails and prints
-- what it returns (nil: nothing to add).
--
--   * full-width punctuation (全角标点) outside strings:
--       db.members:get（42）   -> column 15: use '(' instead of '（'
--   * SQL typed out of habit: the query helper's line that asks the same
--       select * from members where town = '硖石街道'
--         -> db.members:where{ town = '硖石街道' }:list()
--   * a field a collection does not have: its fields, with labels, and the
--     nearest name (or the field whose label was typed)
--
-- Each hint is a pure function of the line and the message (and the
-- collection definitions for fields), so tests call them directly.
local M = {}
local _ = gettext

-- full-width -> ASCII, for code (inside strings they are text and stay)
local FULL = {
  ['，'] = ',', ['。'] = '.', ['（'] = '(', ['）'] = ')', ['“'] = '"', ['”'] = '"',
  ['‘'] = "'", ['’'] = "'", ['：'] = ':', ['；'] = ';', ['！'] = '!', ['？'] = '?',
  ['【'] = '[', ['】'] = ']', ['｛'] = '{', ['｝'] = '}', ['［'] = '[', ['］'] = ']',
  ['＝'] = '=', ['、'] = ',', ['　'] = ' ', ['＜'] = '<', ['＞'] = '>', ['＋'] = '+',
  ['－'] = '-', ['＊'] = '*', ['／'] = '/', ['．'] = '.',
}

-- The first full-width punctuation mark outside a string literal:
-- column (in characters, 1-based), the mark, its ASCII form; nil if none.
function M.fullwidth(line)
  local col, quote, i, n = 0, nil, 1, #line
  while i <= n do
    local c = line:sub(i, i)
    local len = c:byte() >= 0xF0 and 4 or c:byte() >= 0xE0 and 3 or c:byte() >= 0xC0 and 2 or 1
    local ch = line:sub(i, i + len - 1)
    col = col + 1
    if quote then
      if ch == '\\' then
        i = i + 1
      elseif ch == quote then
        quote = nil
      end
    elseif ch == '"' or ch == "'" then
      quote = ch
    elseif ch == '-' and line:sub(i, i + 1) == '--' then
      return nil
    elseif FULL[ch] then
      return col, ch, FULL[ch]
    end
    i = i + len
  end
  return nil
end

local function lua_value(v)
  v = v:gsub('^%s+', ''):gsub('%s+$', '')
  if v:match('^%-?%d+%.?%d*$') then return v end
  local q = v:match("^'(.*)'$") or v:match('^"(.*)"$') or v:match('^[‘“](.*)[’”]$')
  if q then return string.format('%q', q) end
  return string.format('%q', v)
end

-- SQL -> the query helper's line, or nil when the line is not SQL.
function M.sql(line)
  local l = line:gsub(';%s*$', '')
  local low = l:lower()
  if not low:match('^%s*select%s') then return nil end
  local cols, coll, rest = l:match('^%s*[sS][eE][lL][eE][cC][tT]%s+(.-)%s+[fF][rR][oO][mM]%s+([%w_]+)%s*(.*)$')
  if not coll then return nil end
  local parts = { 'db.' .. coll }
  local function clause(word)
    -- the text after WORD up to the next keyword
    local lr = rest:lower()
    local s, e0 = lr:find('%f[%w]' .. word .. '%f[%W]')
    if not s then return nil end
    local after = e0 + 1
    local e = #rest + 1
    for _i, k in ipairs({ 'where', 'group%s+by', 'order%s+by', 'limit' }) do
      local p = lr:find('%f[%w]' .. k .. '%f[%W]', after)
      if p and p < e then e = p end
    end
    return (rest:sub(after, e - 1):gsub('^%s+', ''):gsub('%s+$', ''))
  end
  local where = clause('where')
  if where and where ~= '' then
    local conds = {}
    for cond in (where .. ' and '):gmatch('(.-)%s+[aA][nN][dD]%s+') do
      local f, v = cond:match('^%s*([%w_]+)%s*==?%s*(.-)%s*$')
      if not f then return nil end
      conds[#conds + 1] = f .. ' = ' .. lua_value(v)
    end
    parts[#parts + 1] = ':where{ ' .. table.concat(conds, ', ') .. ' }'
  end
  local group = clause('group%s+by')
  local order = clause('order%s+by')
  local limit = clause('limit')
  local c = cols:gsub('%s+', ' '):gsub('^ ', ''):gsub(' $', '')
  local agg, field = c:lower():match('^(%a+)%s*%(%s*([%w_%*]*)%s*%)$')
  if not agg and group then
    local g, a2, f2 = c:match('^([%w_]+)%s*,%s*(%a+)%s*%(%s*([%w_%*]*)%s*%)$')
    if g then agg, field = a2:lower(), f2 end
  end
  if group and group ~= '' then
    local gs = {}
    for g in group:gmatch('[%w_]+') do gs[#gs + 1] = string.format('%q', g) end
    parts[#parts + 1] = ':group(' .. table.concat(gs, ', ') .. ')'
  elseif c ~= '*' and not agg then
    local ps = {}
    for p in c:gmatch('[^,]+') do ps[#ps + 1] = string.format('%q', (p:gsub('^%s+', ''):gsub('%s+$', ''))) end
    parts[#parts + 1] = ':pick(' .. table.concat(ps, ', ') .. ')'
  end
  if order and order ~= '' then
    local f, dir = order:match('^([%w_]+)%s*(%a*)')
    if f then
      parts[#parts + 1] = string.format(':order(%q)', (dir:lower() == 'desc' and '-' or '') .. f)
    end
  end
  if limit and limit:match('^%d+$') then parts[#parts + 1] = ':limit(' .. limit .. ')' end
  if agg == 'count' then
    parts[#parts + 1] = ':count()'
  elseif agg == 'sum' or agg == 'avg' or agg == 'min' or agg == 'max' then
    parts[#parts + 1] = string.format(':%s(%q)', agg, field)
  elseif not group then
    parts[#parts + 1] = ':list()'
  end
  return table.concat(parts)
end

local function distance(a, b)
  if math.abs(#a - #b) > 3 then return 99 end
  local prev = {}
  for j = 0, #b do prev[j] = j end
  for i = 1, #a do
    local cur = { [0] = i }
    for j = 1, #b do
      local cost = a:sub(i, i) == b:sub(j, j) and 0 or 1
      cur[j] = math.min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + cost)
    end
    prev = cur
  end
  return prev[#b]
end

-- (collection, field typed) -> text listing the collection's fields (with
-- labels) and the nearest one; nil when the collection is unknown.
function M.fields(coll, typed)
  local ok, s = pcall(function() return db[coll]:schema() end)
  if not ok or type(s) ~= 'table' or type(s.fields) ~= 'table' then return nil end
  local labels = s.labels or {}
  local names = {}
  for f in pairs(s.fields) do names[#names + 1] = f end
  table.sort(names)
  local shown, best, bestd = {}, nil, 3
  for _i, f in ipairs(names) do
    shown[#shown + 1] = labels[f] and string.format('%s (%s)', f, labels[f]) or f
    if labels[f] == typed then best, bestd = f, -1 end
    local d = distance(f, typed)
    if d < bestd then best, bestd = f, d end
  end
  local text = string.format(_("fields of %s: %s"), coll, table.concat(shown, ', '))
  if best then
    text = text .. '\n' .. string.format(_("did you mean '%s'?"), best)
  end
  return text
end

function M.hint(line, msg)
  line, msg = line or '', msg or ''
  local sql = M.sql(line)
  if sql then
    return string.format(_("this is SQL; the query helper asks it as:\n  %s"), sql)
  end
  local col, ch, ascii = M.fullwidth(line)
  if col then
    return string.format(_("full-width punctuation (全角标点) at column %d: use '%s' instead of '%s'"),
                         col, ascii, ch)
  end
  local coll, field = msg:match("collection '([^']+)' has no field '([^']+)'")
  if not coll then coll, field = msg:match("collection '([^']+)': unknown field '?([^' (]+)") end
  if not coll then coll, field = msg:match("collection '([^']+)': no field '([^']+)'") end
  if not coll then coll, field = msg:match("数据表“([^”]+)”没有字段“([^”]+)”") end
  if not coll then coll, field = msg:match("数据表“([^”]+)”：没有字段“?([^”（ ]+)") end
  if not coll then coll, field = msg:match("数据表“([^”]+)”：没有可筛选的字段“([^”]+)”") end
  if coll then return M.fields(coll, field) end
  return nil
end

return M
