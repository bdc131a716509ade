-- repl_prelude.lua — the Lua half of the REPL: how results look (record
-- lists as tables, other values as Lua literals), personal-data masking, and
-- tab completion. Embedded into the binary at build time (CMakeLists.txt)
-- and run by repl.c in the REPL's state as `prelude(C, S)`:
--   C.out(text)            writes text to the output (or the .once file)
--   C.render(cols, rows)   renders rows (arrays of texts, kinds in row.k:
--                          s string, n number, b boolean, z null, r nested)
--   S.mask, S.json         settings kept by repl.c; S.depth, S.items limits
--   S.methods              names of collection methods (from the C face)
-- Returns the table M (display, complete, literal, mask).
local C, S = ...
local M = {}
local sfmt, concat, sort, mtype, rawlen = string.format, table.concat, table.sort, math.type, rawlen
local db = rawget(_G, 'db')
local null = db and db.null

-- ---- masking --------------------------------------------------------------------
-- The rule is core/pii.c's (the `pii` global, captured here before any user
-- code runs): which fields hold personal data (declared in a collection's
-- definition, else guessed from the name) and how each kind is masked.
local pii = pii
local field_kind = {} -- field name -> hidden kind or false, from the collections (refresh_kinds)

-- The kind to mask a value under key k with, or false.
local function sensitive(k)
  if type(k) ~= 'string' then return false end
  local kind = field_kind[k]
  if kind == nil then kind = pii.kind(k) or false end
  return kind and pii.hidden(kind) and kind or false
end
local function mask(s, kind)
  return pii.mask(s, kind or 'id')
end
M.sensitive, M.mask = sensitive, mask

-- ---- values ---------------------------------------------------------------------
local function is_row(v)
  if type(v) ~= 'userdata' then return false end
  local ok, f = pcall(function() return v.totable end)
  return ok and type(f) == 'function'
end
M.is_row = is_row

local escapes = { ['"'] = '\\"', ['\\'] = '\\\\', ['\n'] = '\\n', ['\r'] = '\\r', ['\t'] = '\\t' }
local function quote(s)
  return '"' .. s:gsub('[%c"\\]', function(c)
    return escapes[c] or sfmt('\\%03d', c:byte())
  end) .. '"'
end

local function number(v)
  if mtype(v) == 'integer' then return tostring(v) end
  if v ~= v then return '0/0' end
  if v == math.huge then return 'math.huge' end
  if v == -math.huge then return '-math.huge' end
  local s = sfmt('%.14g', v)
  if not s:find('[%.eEn]') then s = s .. '.0' end
  return s
end

local function keyorder(a, b)
  local ta, tb = type(a), type(b)
  if ta ~= tb then return ta < tb end
  if ta == 'number' or ta == 'string' then return a < b end
  return tostring(a) < tostring(b)
end

-- The entries of a table or row: array part first, then the other keys
-- (sorted for tables; schema order for rows). Returns keys, values, count
-- of the array part.
local function entries(v)
  local ks, vs = {}, {}
  if is_row(v) then
    for k, x in pairs(v) do ks[#ks + 1] = k; vs[k] = x end
    return ks, vs, 0
  end
  local n = 0
  while rawget(v, n + 1) ~= nil do n = n + 1 end
  local other = {}
  for k in next, v do
    if not (mtype(k) == 'integer' and k >= 1 and k <= n) then other[#other + 1] = k end
  end
  sort(other, keyorder)
  for i = 1, n do ks[i] = i end
  for _, k in ipairs(other) do ks[#ks + 1] = k end
  return ks, v, n
end

local function literal(v, depth, seen, masked)
  local t = type(v)
  if t == 'string' then
    return quote(masked and S.mask and mask(v, masked) or v)
  elseif t == 'number' then
    return masked and S.mask and quote(mask(number(v), masked)) or number(v)
  elseif v ~= nil and v == null then
    return 'db.null'
  elseif t == 'table' or is_row(v) then
    depth = depth or 0
    seen = seen or {}
    if seen[v] then return '<cycle>' end
    if depth >= S.depth then return '{...}' end
    seen[v] = true
    local ks, vs, n = entries(v)
    local parts = {}
    for i, k in ipairs(ks) do
      if i > S.items then
        parts[#parts + 1] = sfmt('... (%d more)', #ks - S.items)
        break
      end
      local x = literal(vs[k], depth + 1, seen, sensitive(k))
      if i <= n then
        parts[#parts + 1] = x
      elseif type(k) == 'string' and k:match('^[%a_][%w_]*$') then
        parts[#parts + 1] = k .. ' = ' .. x
      else
        parts[#parts + 1] = '[' .. literal(k, depth + 1, seen) .. '] = ' .. x
      end
    end
    seen[v] = nil
    if #parts == 0 then return '{}' end
    return '{ ' .. concat(parts, ', ') .. ' }'
  else
    return tostring(v)
  end
end
M.literal = literal

local function json(v, depth, masked)
  local t = type(v)
  depth = depth or 0
  if v == nil or (v ~= nil and v == null) then return 'null' end
  if t == 'string' then
    return '"' .. (masked and S.mask and mask(v, masked) or v):gsub('[%c"\\]', function(c)
      return escapes[c] or sfmt('\\u%04x', c:byte())
    end) .. '"'
  elseif t == 'number' then
    if masked and S.mask then return json(number(v), depth, masked) end
    if v ~= v or v == math.huge or v == -math.huge then return 'null' end
    return mtype(v) == 'integer' and tostring(v) or sfmt('%.17g', v)
  elseif t == 'boolean' then
    return tostring(v)
  elseif t == 'table' or is_row(v) then
    if depth >= 32 then return 'null' end
    local ks, vs, n = entries(v)
    local parts = {}
    if n > 0 and n == #ks then
      for i = 1, n do parts[i] = json(vs[i], depth + 1) end
      return '[' .. concat(parts, ',') .. ']'
    end
    for _, k in ipairs(ks) do
      parts[#parts + 1] = json(tostring(k)) .. ':' .. json(vs[k], depth + 1, sensitive(k))
    end
    return '{' .. concat(parts, ',') .. '}'
  end
  return json(tostring(v))
end
M.json = json

-- ---- record lists as tables ----------------------------------------------------
local function schemas()
  local out = {}
  if not db then return out end
  local ok, names = pcall(db.collections)
  if not ok then return out end
  for _, name in ipairs(names) do
    local ok2, sc = pcall(function() return db[name]:schema() end)
    if ok2 and type(sc) == 'table' then out[#out + 1] = sc end
  end
  return out
end

-- Column order for plain tables: a collection's field order when every
-- column is one of its fields; otherwise keys first, then by name.
local function order_columns(cols)
  for _, sc in ipairs(schemas()) do
    local pos, all = {}, true
    for i, f in ipairs(sc.order or {}) do pos[f] = i end
    for _, c in ipairs(cols) do
      if not pos[c] then all = false; break end
    end
    if all and next(pos) then
      sort(cols, function(a, b) return pos[a] < pos[b] end)
      return cols
    end
  end
  local function rank(c)
    if c == 'id' then return 0 end
    if c:find('_id$') then return 1 end
    return 2
  end
  sort(cols, function(a, b)
    local ra, rb = rank(a), rank(b)
    if ra ~= rb then return ra < rb end
    return a < b
  end)
  return cols
end

local function fields_of(r)
  if is_row(r) then
    local ks, vs = {}, {}
    for k, x in pairs(r) do ks[#ks + 1] = k; vs[k] = x end
    return ks, vs, true
  end
  if type(r) ~= 'table' or getmetatable(r) ~= nil and rawget(getmetatable(r), '__columns') then
    return nil
  end
  local ks = {}
  for k in next, r do
    if type(k) ~= 'string' then return nil end
    ks[#ks + 1] = k
  end
  if #ks == 0 then return nil end
  return ks, r, false
end

local function cell(x, key)
  local t = type(x)
  local masked = S.mask and sensitive(key)
  if x == nil or x == null then return nil, 'z' end
  if t == 'string' then return masked and mask(x, masked) or x, 's' end
  if t == 'number' then
    if masked then return mask(number(x), masked), 's' end
    return number(x), 'n'
  end
  if t == 'boolean' then return tostring(x), 'b' end
  if t == 'table' or is_row(x) then
    if S.json then return json(x), 'r' end
    return literal(x, 1), 'r'
  end
  return tostring(x), 's'
end

-- cols, rows when v is a row or a list of records; nil otherwise.
local function as_records(v)
  local list
  if is_row(v) then
    list = { v }
  elseif type(v) == 'table' then
    local n = rawlen(v)
    if n == 0 then return nil end
    for k in next, v do
      if not (mtype(k) == 'integer' and k >= 1 and k <= n) and k ~= 'n' then return nil end
    end
    list = v
  else
    return nil
  end
  local mt = getmetatable(v)
  local given = type(mt) == 'table' and type(rawget(mt, '__columns')) == 'table'
      and rawget(mt, '__columns')
  local cols, have, from_rows = {}, {}, false
  for _, c in ipairs(given or {}) do cols[#cols + 1] = c; have[c] = true end
  local recs = {}
  for i = 1, #list do
    local ks, vals, row = fields_of(list[i])
    if not ks then return nil end
    from_rows = from_rows or row
    recs[i] = vals
    for _, k in ipairs(ks) do
      if not have[k] then have[k] = true; cols[#cols + 1] = k end
    end
  end
  if not given and not from_rows then cols = order_columns(cols) end
  local rows = {}
  for i, rec in ipairs(recs) do
    local r, kinds = {}, {}
    for j, c in ipairs(cols) do
      local text, kind = cell(rec[c], c)
      r[j] = text or false
      kinds[j] = kind
    end
    r.k = concat(kinds)
    rows[i] = r
  end
  return cols, rows
end
M.as_records = as_records

-- What the collections' definitions say of each field name (a hidden kind
-- wins over a field of the same name that holds none).
local function refresh_kinds()
  local t = {}
  for _, sc in ipairs(schemas()) do
    local order = sc.order or {}
    for _, f in ipairs(order) do
      local k = sc.pii and sc.pii[f]
      if k and pii.hidden(k) then
        t[f] = k
      elseif t[f] == nil then
        t[f] = false
      end
    end
  end
  field_kind = t
end

function M.display(n, ...)
  if n == 0 then return end
  if S.mask then refresh_kinds() end
  if n == 1 then
    local v = ...
    local mt = type(v) == 'table' and getmetatable(v)
    if type(mt) == 'table' and rawget(mt, 'list') and rawget(mt, 'where') then
      v = v:list() -- a query (scripts/lib/query.lua) shows its records
    end
    local cols, rows = as_records(v)
    if cols then return C.render(cols, rows) end
  end
  local parts = {}
  for i = 1, n do
    local x = select(i, ...)
    if S.json then
      parts[i] = json(x)
    else
      parts[i] = type(x) == 'string' and x or literal(x)
    end
  end
  C.out(concat(parts, '\t') .. '\n')
end

-- ---- .dump ------------------------------------------------------------------------
-- A value as Lua source, whole (no depth or length caps): records are flat,
-- `any` fields may nest. Each statement of a dump ends in ';' so that .read
-- of it shows nothing.
local function source(v, masked)
  local t = type(v)
  if t == 'string' then return quote(masked and S.mask and mask(v) or v) end
  if t == 'number' then
    if masked and S.mask then return quote(mask(number(v))) end
    return number(v)
  end
  if t == 'boolean' then return tostring(v) end
  if v ~= nil and v == null then return 'db.null' end
  if t == 'table' then
    local ks, vs, n = entries(v)
    local parts = {}
    for i, k in ipairs(ks) do
      local x = source(vs[k])
      if i <= n then parts[#parts + 1] = x
      elseif type(k) == 'string' and k:match('^[%a_][%w_]*$') then parts[#parts + 1] = k .. ' = ' .. x
      else parts[#parts + 1] = '[' .. source(k) .. '] = ' .. x end
    end
    return '{ ' .. concat(parts, ', ') .. ' }'
  end
  return 'nil --[[ ' .. t .. ' ]]'
end

local function ident_or_index(name)
  if name:match('^[%a_][%w_]*$') then return 'db.' .. name end
  return 'db[' .. quote(name) .. ']'
end

function M.dump(name)
  local names = name ~= '' and { name } or db.collections()
  local out = { sfmt('-- gonghui .dump: %s%s', concat(names, ', '),
                     S.mask and ' (personal data masked: .unmask first for a copy that restores)' or '') }
  local function flush()
    if #out > 0 then C.out(concat(out, '\n') .. '\n'); out = {} end
  end
  for _, n in ipairs(names) do
    local sc = db[n]:schema()
    local spec = { key = sc.key, auto = sc.auto or nil, fields = sc.fields,
                   events = sc.events or nil, extra = sc.extra or nil }
    for _, what in ipairs{ 'unique', 'index' } do
      if sc[what] and #sc[what] > 0 then
        local list = {}
        for i, ix in ipairs(sc[what]) do
          if ix:find(',', 1, true) then
            local parts = {}
            for f in ix:gmatch('[^,]+') do parts[#parts + 1] = f end
            list[i] = parts
          else
            list[i] = ix
          end
        end
        spec[what] = list
      end
    end
    out[#out + 1] = sfmt('db.define(%s, %s);', quote(n), source(spec))
    local target = ident_or_index(n)
    for row in db[n]:scan() do
      local parts = {}
      for _, f in ipairs(sc.order) do
        local v = row[f]
        if v ~= nil then
          local k = f:match('^[%a_][%w_]*$') and f or '[' .. quote(f) .. ']'
          parts[#parts + 1] = k .. ' = ' .. source(v, sensitive(f))
        end
      end
      out[#out + 1] = target .. ':put{ ' .. concat(parts, ', ') .. ' };' -- i18n: ok (Lua code)
      if #out >= 500 then flush() end
    end
  end
  flush()
end

-- ---- locals that survive the line --------------------------------------------------
-- Each line is its own chunk, so a `local` would be gone at the next one.
-- A line that starts with `local NAMES = ...` (or `local function f`) is run
-- as an assignment instead, and the names live on in a REPL scope that
-- every later line sees before the globals (M.env is the lines' _ENV); a
-- `local` further into a line, and `<close>` variables, stay real locals.
local declared = {}
-- Reads go through tables only (the session's locals, stored in M.env
-- itself, then _G, whose unknown-global error names the line), so a loop
-- at the prompt reads globals at full speed; only writes to names not yet
-- in M.env pass through a function, which keeps a declared name in the
-- session and sends the rest to _G. (A session local set to nil is
-- forgotten: reading it then is an unknown global.)
M.env = setmetatable({}, {
  __index = _G,
  __newindex = function(t, k, v)
    if declared[k] then rawset(t, k, v) else _G[k] = v end
  end,
  __pairs = function() return next, _G, nil end,
})

-- (text) -> the text to run, and the names it declares (nil if none).
function M.rewrite(text)
  local lead, rest = text:match('^(%s*)local%s+(.*)$')
  if not lead then return text end
  local fname, after = rest:match('^function%s+([%a_][%w_]*)(%s*%(.*)$')
  if fname then return lead .. 'function ' .. fname .. after, { fname } end
  local names, p = {}, 1
  while true do
    local name, attrib, q = rest:match('^([%a_][%w_]*)%s*(<?%s*%a*%s*>?)%s*()', p)
    if not name or name == 'function' then return text end
    if attrib:find('close', 1, true) then return text end  -- must close at the line's end
    names[#names + 1] = name
    p = q
    if rest:sub(p, p) ~= ',' then break end
    p = p + 1
    p = rest:match('^%s*()', p)
  end
  local tail = rest:sub(p)
  local list = concat(names, ', ')
  if tail:match('^=') and not tail:match('^==') then
    return lead .. list .. ' ' .. tail, names
  end
  if tail:match('^%s*$') or tail:match('^;') then   -- `local x`: declared, nil
    local nils = {}
    for i = 1, #names do nils[i] = 'nil' end
    return lead .. list .. ' = ' .. concat(nils, ', ') .. tail, names
  end
  return text
end

function M.declare(names)
  for _, k in ipairs(names) do declared[k] = true end
end

-- ---- completion -----------------------------------------------------------------
local keywords = { 'and', 'break', 'do', 'else', 'elseif', 'end', 'false', 'for', 'function',
                   'goto', 'if', 'in', 'local', 'nil', 'not', 'or', 'repeat', 'return', 'then',
                   'true', 'until', 'while' }
local dots = { '.help', '.collections', '.schema', '.mode', '.timer', '.once', '.read',
               '.write', '.unmask', '.mask', '.maxrows', '.ambiguous', '.border', '.quit',
               '.output', '.headers', '.import', '.dump' }
local dot_args = {
  ['.mode'] = { 'box', 'table', 'csv', 'json', 'jsonl', 'markdown', 'line' },
  ['.timer'] = { 'on', 'off' }, ['.write'] = { 'on', 'off' }, ['.headers'] = { 'on', 'off' },
  ['.ambiguous'] = { 'narrow', 'wide' }, ['.border'] = { 'unicode', 'ascii' },
  ['.help'] = { 'query', 'db', 'bus', 'modes', 'mask', 'write', 'keys' },
}

local function collections()
  local ok, names = pcall(function() return db.collections() end)
  return ok and names or {}
end

local function fields(name)
  local ok, sc = pcall(function() return db[name]:schema() end)
  return ok and sc.order or {}
end

local function add_matching(out, seen, list, prefix)
  for _, k in ipairs(list) do
    if type(k) == 'string' and not seen[k] and k:sub(1, #prefix) == prefix then
      seen[k] = true
      out[#out + 1] = k
    end
  end
end

local function keys_of(t)
  local out = {}
  if type(t) == 'table' then
    -- pairs, not next: a library table (string) is a read-only proxy whose
    -- names come from its __pairs
    pcall(function()
      for k in pairs(t) do
        if type(k) == 'string' then out[#out + 1] = k end
      end
    end)
    local mt = getmetatable(t)
    if type(mt) == 'table' and type(rawget(mt, '__index')) == 'table' then
      for k in next, rawget(mt, '__index') do
        if type(k) == 'string' then out[#out + 1] = k end
      end
    end
  elseif is_row(t) then
    for k in pairs(t) do out[#out + 1] = k end
  elseif type(t) == 'string' then
    for k in pairs(string) do out[#out + 1] = k end
  end
  return out
end

local function is_coll(v)
  return type(v) == 'userdata' and not is_row(v) and db
      and pcall(function() return v.schema end) and tostring(v):find('^collection')
end

-- Candidates completing the end of `line`, and the part they replace.
function M.complete(line)
  local out, seen = {}, {}
  if line:match('^%.') then
    local cmd, arg = line:match('^(%.%S*)%s+(.-)$')
    if not cmd then
      add_matching(out, seen, dots, line)
      return out, line
    end
    if cmd == '.schema' or cmd == '.dump' then
      add_matching(out, seen, collections(), arg)
    elseif dot_args[cmd] then
      add_matching(out, seen, dot_args[cmd], arg)
    end
    return out, arg
  end
  -- db['会  -> the collection's name and the closing quote and bracket
  local q, partial = line:match("db%[%s*(['\"])([^'\"]*)$")
  if q then
    for _, k in ipairs(collections()) do
      if k:sub(1, #partial) == partial then out[#out + 1] = k .. q .. ']' end
    end
    sort(out)
    return out, partial
  end
  local word = line:match('[%w_\128-\255]*$')
  local before = line:sub(1, #line - #word)
  -- db['会员']:  is read as db.会员: (for the lookups below)
  local plain = before:gsub("%[%s*(['\"])([^'\"]*)%1%s*%]", '.%2')
  -- field names inside the braces or parentheses after db.NAME
  local last_coll, rest
  for name, after in plain:gmatch('db%.([%w_\128-\255]+)()') do
    last_coll, rest = name, plain:sub(after)
  end
  if last_coll then
    local _, opens = rest:gsub('[{(]', '')
    local _, closes = rest:gsub('[})]', '')
    if opens > closes and before:match('[{(,\'"%s]$') then
      add_matching(out, seen, fields(last_coll), word)
      if #out > 0 then return out, word end
    end
  end
  local path = plain:match('[%w_\128-\255%.:]*$') or ''
  if path == '' then
    local mine = {}
    for k in pairs(declared) do mine[#mine + 1] = k end
    add_matching(out, seen, mine, word)
    add_matching(out, seen, keys_of(_G), word)
    add_matching(out, seen, keywords, word)
    sort(out)
    return out, word
  end
  -- resolve a.b.c (the path before the word, ending in . or :)
  local obj = _G
  for part in path:gmatch('([^%.:]+)') do
    local ok, v = pcall(function()
      if obj == _G then
        local v = rawget(M.env, part)
        if v ~= nil then return v end
        return rawget(_G, part)
      end
      return obj[part]
    end)
    if not ok or v == nil then return out, word end
    obj = v
  end
  if obj == db then
    add_matching(out, seen, collections(), word)
    add_matching(out, seen, { 'define', 'drop', 'collections', 'atomic', 'null' }, word)
    -- a name Lua cannot take after a dot (会员) completes as db['会员'],
    -- replacing the '.' typed: when every candidate is such a name
    local ident = false
    for _, k in ipairs(out) do
      if k:match('^[%a_][%w_]*$') then ident = true end
    end
    if #out > 0 and not ident and path:sub(-1) == '.' then
      for i, k in ipairs(out) do out[i] = "['" .. k .. "']" end
      sort(out)
      return out, '.' .. word
    end
  elseif is_coll(obj) then
    add_matching(out, seen, S.methods or {}, word)
    if path:sub(-1) == '.' then
      add_matching(out, seen, fields(tostring(obj):match("'(.-)'") or ''), word)
    end
  else
    add_matching(out, seen, keys_of(obj), word)
  end
  sort(out)
  return out, word
end

return M
