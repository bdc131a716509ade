-- testlib.lua — a tiny assertion module for the Lua tests (tests/lua/*.lua).
--
-- Each test is run as `gonghui --db FRESH_DIR run tests/lua/X.lua` and fails
-- by raising an error. `require 'testlib'` finds this file in the script's
-- folder; a plugin's test (plugins/NAME/test.lua) finds it through the
-- scripts/lib run_one.sh makes for it.
--
--   t.eq(a, b, msg)              deep equality (tables compared key by key)
--   t.ok(v, msg)                 v is truthy
--   t.raises(fn, pattern)        fn() raises an error matching the Lua pattern;
--                                returns the message
--   t.raises_all(fn, {s1, ...})  fn() raises an error containing every plain
--                                substring s1, ... (or the one string given);
--                                returns the message
--   t.snapshot()                 the whole database as a table: every
--                                collection's schema, count, records and the
--                                order of every index
--   t.unchanged(fn, {s1, ...})   fn() fails (as raises_all) and the database
--                                is exactly as before
--   t.keys(coll, opts, field)    the values of `field` (default: the key) of a
--                                scan, as an array
--   t.case(name, fn)             runs one named case (failures are reported and
--                                counted; the next cases still run)
--   t.done()                     raises if any case failed
local M = {}

local function show(v, depth)
  depth = depth or 0
  if type(v) == 'string' then
    return string.format('%q', v)
  elseif type(v) == 'number' then
    return math.type(v) == 'integer' and tostring(v) or string.format('%.17g (float)', v)
  elseif type(v) ~= 'table' or depth > 3 then
    return tostring(v)
  end
  local keys = {}
  for k in pairs(v) do keys[#keys + 1] = k end
  table.sort(keys, function(a, b)
    if type(a) == type(b) and (type(a) == 'number' or type(a) == 'string') then return a < b end
    return type(a) < type(b)
  end)
  local parts = {}
  for _, k in ipairs(keys) do
    parts[#parts + 1] = '[' .. show(k, depth + 1) .. ']=' .. show(v[k], depth + 1)
  end
  return '{' .. table.concat(parts, ', ') .. '}'
end
M.show = show

local function deq(a, b, path)
  if type(a) ~= type(b) then
    return false, path .. ': ' .. show(a) .. ' vs ' .. show(b)
  end
  if type(a) == 'number' then
    if math.type(a) ~= math.type(b) then
      return false, path .. ': ' .. show(a) .. ' vs ' .. show(b) .. ' (integer vs float)'
    end
    if a ~= b and not (a ~= a and b ~= b) then
      return false, path .. ': ' .. show(a) .. ' vs ' .. show(b)
    end
    return true
  end
  if type(a) ~= 'table' then
    if a ~= b then return false, path .. ': ' .. show(a) .. ' vs ' .. show(b) end
    return true
  end
  for k, v in pairs(a) do
    local ok, why = deq(v, b[k], path .. '[' .. show(k) .. ']')
    if not ok then return false, why end
  end
  for k, v in pairs(b) do
    if a[k] == nil then
      return false, path .. '[' .. show(k) .. ']: nil vs ' .. show(v)
    end
  end
  return true
end
M.deep_equal = deq

function M.eq(a, b, msg)
  local ok, why = deq(a, b, 'value')
  if not ok then
    error((msg and (msg .. ': ') or '') .. 'expected equal: ' .. why ..
          '\n  got      ' .. show(a) .. '\n  expected ' .. show(b), 2)
  end
end

function M.ne(a, b, msg)
  if deq(a, b, 'value') then
    error((msg and (msg .. ': ') or '') .. 'expected different values, both ' .. show(a), 2)
  end
end

function M.ok(v, msg)
  if not v then error(msg or 'expected a true value', 2) end
  return v
end

-- Calls fn; it must raise. Returns the message as a string.
local function must_raise(fn, level)
  local ok, err = pcall(fn)
  if ok then error('expected an error, but the call succeeded', level + 1) end
  return tostring(err)
end

function M.raises(fn, pattern, msg)
  local err = must_raise(fn, 2)
  if pattern and not err:find(pattern) then
    error((msg and (msg .. ': ') or '') .. 'error message ' .. show(err) ..
          ' does not match pattern ' .. show(pattern), 2)
  end
  return err
end

-- err must hold every substring of subs; else an error for the caller's caller.
local function must_contain(err, subs, msg)
  for _, s in ipairs(subs or {}) do
    if not err:find(s, 1, true) then
      error((msg and (msg .. ': ') or '') .. 'error message ' .. show(err) ..
            ' does not contain ' .. show(s), 3)
    end
  end
end

function M.raises_all(fn, subs, msg)
  if type(subs) == 'string' then subs = { subs } end
  local err = must_raise(fn, 2)
  must_contain(err, subs, msg)
  return err
end

-- Index entries of a collection in index order, as {index value key, ...}
-- (the key field of each record met while scanning that index).
local function index_order(coll, index, keyfield)
  local out = {}
  for r in coll:scan{ index = index } do out[#out + 1] = r[keyfield] end
  return out
end

function M.snapshot()
  local snap = {}
  for _, name in ipairs(db.collections()) do
    local c = db[name]
    local s = c:schema()
    local entry = { schema = s, count = c:count(), records = c:list(), indexes = {} }
    for _, ix in ipairs(s.unique or {}) do entry.indexes[ix] = index_order(c, ix, s.key) end
    for _, ix in ipairs(s.index or {}) do entry.indexes[ix] = index_order(c, ix, s.key) end
    entry.reverse = {}
    for r in c:scan{ index = s.key, reverse = true } do entry.reverse[#entry.reverse + 1] = r[s.key] end
    snap[name] = entry
  end
  return snap
end

-- fn must fail with a message holding every substring of subs; the whole
-- database (records, indexes, definitions) must be as it was.
function M.unchanged(fn, subs, msg)
  local before = M.snapshot()
  local err = must_raise(fn, 2)
  must_contain(err, subs, msg)
  local after = M.snapshot()
  local ok, why = deq(after, before, 'database')
  if not ok then
    error((msg and (msg .. ': ') or '') .. 'the failing call (' .. err ..
          ') changed the database: ' .. why, 2)
  end
  return err
end

function M.keys(coll, opts, field)
  field = field or coll:schema().key
  local out = {}
  for r in coll:scan(opts) do out[#out + 1] = r[field] end
  return out
end

-- The host's clock (run.host_time, what draws record; never --now) plus
-- secs, as local 'YYYY-MM-DD HH:MM:SS': a draw's public value due that soon.
function M.host_after(secs)
  return os.date('%Y-%m-%d %H:%M:%S', run.host_time() + secs)
end

-- Waits until the host's clock has reached a time M.host_after gave (a
-- condition, not a duration: the sandbox has no sleep, so it spins).
function M.wait_host(when)
  local y, mo, d, h, mi, s = when:match('^(%d+)%-(%d+)%-(%d+) (%d+):(%d+):(%d+)$')
  local t = os.time{ year = tonumber(y), month = tonumber(mo), day = tonumber(d), hour = tonumber(h),
                     min = tonumber(mi), sec = tonumber(s) }
  while run.host_time() < t do end
end

local failures = {}

-- Runs one named case; a failure is reported on stderr and remembered, and
-- the next cases still run. M.done() raises if any case failed.
function M.case(name, fn)
  local ok, err = xpcall(fn, debug.traceback)
  if ok then
    io.stderr:write('ok    ', name, '\n')
  else
    io.stderr:write('FAIL  ', name, ': ', tostring(err), '\n')
    failures[#failures + 1] = name
  end
end

function M.done()
  if #failures > 0 then
    error(#failures .. ' case(s) failed: ' .. table.concat(failures, '; '), 0)
  end
end

return M
