-- query.lua — questions over a collection that read naturally in one line.
--
--   local query = require 'query'
--   query(db.members):where{ category = 'courier' }:group('town'):count()
--   query(db.members):where{ town = '沈家门街道' }:pick('name', 'town'):order('birth_date'):limit(10):list()
--   query(db.awards):where{ item = 'gift-package' }:sum('amount_fen')
--
-- In the REPL the same methods are on every collection (db.members:where{...})
-- and a query shows its rows when it is the result of a line.
--
-- Built on the documented db API only: conditions go to scan/count/count_by
-- as they are, so they are checked in C on the stored bytes and use an
-- index where one is selective; only sorting and the aggregates run in Lua.
-- A query is a value: every method returns a new one, so a partial query
-- can be kept and reused.
local M = {}
local Q = {}
Q.__index = Q

local function copy(t)
  local out = {}
  for k, v in pairs(t) do out[k] = v end
  return out
end

local function derive(q, changes)
  local n = setmetatable(copy(q), Q)
  for k, v in pairs(changes) do n[k] = v end
  return n
end

-- A query over collection `coll` (db.NAME).
function M.from(coll)
  local name = tostring(coll):match("^collection '(.*)'$")
  if not name then
    error(gettext("query: expects a collection (db.NAME), got ") .. tostring(coll), 2)
  end
  return setmetatable({ coll = coll, name = name, cond = {}, fields = nil, orders = {},
                        lim = nil, off = 0, by = nil }, Q)
end
setmetatable(M, { __call = function(_, coll) return M.from(coll) end })

-- where{ field = value | {v1, v2, ...} | {from = a, to = b}, ... }: all must hold.
function Q:where(cond)
  if type(cond) ~= 'table' then
    error(gettext("where: expects a table of conditions, such as where{ town = '沈家门街道' }"), 2)
  end
  local c = copy(self.cond)
  for k, v in pairs(cond) do
    if type(k) ~= 'string' then error(gettext('where: condition keys are field names'), 2) end
    if c[k] ~= nil then
      error(string.format(gettext("where: field '%s' already has a condition in this query"), k), 2)
    end
    c[k] = v
  end
  return derive(self, { cond = c })
end

-- pick('a', 'b', ...): only these fields, in this order.
function Q:pick(...)
  local f = { ... }
  if #f == 0 then error(gettext('pick: which fields?'), 2) end
  return derive(self, { fields = f })
end

-- order('field') ascending, order('-field') descending; several fields or
-- calls sort by each in turn.
function Q:order(...)
  local o = copy(self.orders)
  for _, f in ipairs({ ... }) do
    local desc = f:sub(1, 1) == '-'
    o[#o + 1] = { field = desc and f:sub(2) or f, desc = desc }
  end
  return derive(self, { orders = o })
end

function Q:limit(n)
  if math.type(n) ~= 'integer' or n < 0 then error(gettext('limit: expects a whole number'), 2) end
  return derive(self, { lim = n })
end

function Q:offset(n)
  if math.type(n) ~= 'integer' or n < 0 then error(gettext('offset: expects a whole number'), 2) end
  return derive(self, { off = n })
end

-- group('field' [, 'field2', ...]): the next count/sum/avg/min/max gives
-- one row per value (per combination of values, with several fields).
function Q:group(...)
  local fields = table.pack(...)
  if fields.n == 0 then error(gettext("group: expects a field name, such as group('town')"), 2) end
  for i = 1, fields.n do
    if type(fields[i]) ~= 'string' then
      error(gettext("group: expects field names, such as group('town') or group('town', 'status'), got ")
            .. tostring(fields[i]), 2)
    end
  end
  fields.n = nil
  return derive(self, { by = fields[1], bys = fields })
end

local function scan(q)
  if next(q.cond) then return q.coll:scan(q.cond) end
  return q.coll:scan()
end

local function less(orders)
  return function(a, b)
    for _, o in ipairs(orders) do
      local x, y = a[o.field], b[o.field]
      if x ~= y then
        if x == nil then return false end -- absent values last
        if y == nil then return true end
        if o.desc then return x > y end
        return x < y
      end
    end
    return false
  end
end

local function result(rows, cols)
  return setmetatable(rows, { __columns = cols })
end

-- The matching records as an array of tables (only the picked fields).
function Q:list()
  local out, fields, skip = {}, self.fields, self.off
  local need -- fields read from each row: picked + sorted-by
  if fields then
    need = copy(fields)
    local have = {}
    for _, f in ipairs(fields) do have[f] = true end
    for _, o in ipairs(self.orders) do
      if not have[o.field] then need[#need + 1] = o.field; have[o.field] = true end
    end
  end
  local sorted = #self.orders > 0
  for row in scan(self) do
    if not sorted and skip > 0 then
      skip = skip - 1
    else
      local rec
      if need then
        rec = {}
        for _, f in ipairs(need) do rec[f] = row[f] end
      else
        rec = row:totable()
      end
      out[#out + 1] = rec
      if not sorted and self.lim and #out >= self.lim then break end
    end
  end
  if sorted then
    table.sort(out, less(self.orders))
    local from, to = self.off + 1, self.lim and self.off + self.lim or #out
    local cut = {}
    for i = from, math.min(to, #out) do cut[#cut + 1] = out[i] end
    out = cut
    if fields and #need > #fields then
      for _, r in ipairs(out) do
        for i = #fields + 1, #need do r[need[i]] = nil end
      end
    end
  end
  return result(out, fields)
end

function Q:first()
  return self:limit(1):list()[1]
end

-- Adds value v (nil: a record without the field, not counted) to the
-- running aggregate g = { n = values seen, acc = sum, min or max }.
local function fold(g, what, v)
  if v == nil then return end
  g.n = g.n + 1
  if what == 'sum' or what == 'avg' then
    g.acc = (g.acc or 0) + v
  elseif g.acc == nil or (what == 'min' and v < g.acc) or (what == 'max' and v > g.acc) then
    g.acc = v
  end
end

-- The aggregate's value from g.
local function value_of(g, what)
  if what == 'count' then return g.n end
  if what == 'sum' then return g.acc or 0 end
  if what == 'avg' then return g.n > 0 and g.acc / g.n or nil end
  return g.acc
end

-- Aggregates over the matching records, or per group with group().
local function aggregate(q, what, field)
  if what ~= 'count' and type(field) ~= 'string' then
    error(string.format(gettext("%s: which field? (for example %s('amount_fen'))"), what, what), 3)
  end
  if not q.by then
    if what == 'count' then
      if next(q.cond) then return q.coll:count(q.cond) end
      return q.coll:count()
    end
    local g = { n = 0 }
    for row in scan(q) do fold(g, what, row[field]) end
    return value_of(g, what)
  end
  local by, groups, keys = q.by, {}, {}
  local bys = q.bys or { by }
  if #bys > 1 then   -- several fields: one group per combination, counted here
    for row in scan(q) do
      local vals, parts, missing = {}, {}, false
      for i, f in ipairs(bys) do
        local x = row[f]
        if x == nil then missing = true break end
        vals[i], parts[i] = x, type(x) .. ':' .. tostring(x)
      end
      if not missing then
        local k = table.concat(parts, '\0')
        local g = groups[k]
        if not g then g = { n = 0, vals = vals }; groups[k] = g; keys[#keys + 1] = k end
        if what == 'count' then g.n = g.n + 1 else fold(g, what, row[field]) end
      end
    end
  elseif what == 'count' then
    local counts = q.coll:count_by(by, next(q.cond) and q.cond or nil)
    for k, n in pairs(counts) do keys[#keys + 1] = k; groups[k] = { n = n } end
  else
    for row in scan(q) do
      local k, v = row[by], row[field]
      if k ~= nil then
        local g = groups[k]
        if not g then g = { n = 0 }; groups[k] = g; keys[#keys + 1] = k end
        fold(g, what, v)
      end
    end
  end
  local col = what == 'count' and 'count' or what .. '_' .. field
  local out = {}
  for _, k in ipairs(keys) do
    local g = groups[k]
    local r = { [col] = value_of(g, what) }
    if g.vals then
      for i, f in ipairs(bys) do r[f] = g.vals[i] end
    else
      r[by] = k
    end
    out[#out + 1] = r
  end
  -- biggest first (ties by the groups' values); order() overrides
  local orders = { { field = col, desc = true } }
  for _, f in ipairs(bys) do orders[#orders + 1] = { field = f } end
  if #q.orders > 0 then orders = q.orders end
  table.sort(out, less(orders))
  if q.lim then
    local cut = {}
    for i = q.off + 1, math.min(q.off + q.lim, #out) do cut[#cut + 1] = out[i] end
    out = cut
  end
  local cols = {}
  for i, f in ipairs(bys) do cols[i] = f end
  cols[#cols + 1] = col
  return result(out, cols)
end

-- How the query reads its records: { index = 'town,status' (or the key
-- field: key order), how = 'index' | 'key order', estimate, records,
-- filters } (coll:explain, from the same conditions).
function Q:explain()
  if next(self.cond) then return self.coll:explain(self.cond) end
  return self.coll:explain()
end

function Q:count() return aggregate(self, 'count') end
function Q:sum(field) return aggregate(self, 'sum', field) end
function Q:avg(field) return aggregate(self, 'avg', field) end
function Q:min(field) return aggregate(self, 'min', field) end
function Q:max(field) return aggregate(self, 'max', field) end

Q.__tostring = function(q)
  return "query on '" .. q.name .. "' (:list() for its records)"
end

-- The methods a collection gets in the REPL: each starts a query.
M.methods = {}
for _, m in ipairs({ 'where', 'pick', 'order', 'limit', 'offset', 'group', 'sum', 'avg',
                     'min', 'max', 'first' }) do   -- (explain is the collection's own)
  M.methods[m] = function(coll, ...) return Q[m](M.from(coll), ...) end
end
M.Query = Q

return M
