-- core/checkpoint.lua — the driver of run.chunks (checkpoint.c), compiled
-- into the binary at build time (<build>/generated/checkpoint_lua.h).
-- Its arguments: db.atomic, cp_get, cp_put, cp_inside, is_coll, the run
-- table (run.progress is looked up there at each chunk: it is set after this
-- is installed). Returns run.chunks.
local atomic, cp_get, cp_put, cp_inside, is_coll, runt = ...
local type, error, pairs, tostring, rawget, mtype = type, error, pairs, tostring, rawget, math.type
local format = string.format
local gettext = gettext or function(s) return s end -- (the message language, when the state has it)
local KINDS = { list = 'a list', collection = 'a collection', ['function'] = 'a function' }
local OPTS = { size = 1, total = 1, key = 1, where = 1, again = 1, label = 1, progress = 1 }
local SCAN = { index = 1, eq = 1, prefix = 1, from = 1, to = 1, limit = 1, offset = 1,
               reverse = 1 }
local function keyable(k)
  local t = type(k)
  return t == 'string' or t == 'number' or t == 'boolean'
end
return function(name, items, fn, opts)
  if type(name) ~= 'string' or name == '' then
    error(format(gettext('run.chunks: the first argument names the checkpoint (a string), got %s'),
                 type(name)), 2)
  end
  if type(fn) ~= 'function' then
    error(format(gettext('run.chunks: the third argument is the function called for each item, got %s'),
                 type(fn)), 2)
  end
  if opts == nil then opts = {}
  elseif type(opts) ~= 'table' then error(gettext('run.chunks: the options must be a table'), 2) end
  for k in pairs(opts) do
    if not OPTS[k] then
      error(format(gettext("run.chunks: unknown option '%s' (options: size, total, key, where, again, label, "
                           .. 'progress)'), tostring(k)), 2)
    end
  end
  local size = opts.size or 1000
  if mtype(size) ~= 'integer' or size < 1 then
    error(format(gettext('run.chunks: size must be a whole number, at least 1; got %s'), tostring(size)), 2)
  end
  local total = opts.total
  if total ~= nil and (mtype(total) ~= 'integer' or total < 0) then
    error(format(gettext('run.chunks: total must be a whole number; got %s'), tostring(total)), 2)
  end
  if cp_inside() then
    error(gettext('run.chunks cannot run inside db.atomic: its chunks must commit one by one '
                  .. '(call it outside db.atomic; gonghui run --atomic makes the whole run one '
                  .. 'transaction)'), 2)
  end
  local kind, source, keyof, count_rest
  if is_coll(items) then
    kind = 'collection'
    if opts.key ~= nil then
      error(gettext('run.chunks: key is for items given by a function; a collection goes in the '
                    .. 'order of its primary key'), 2)
    end
    local where = opts.where
    if where ~= nil then
      if type(where) ~= 'table' then
        error(gettext('run.chunks: where must be a table of conditions on fields'), 2)
      end
      for k in pairs(where) do
        if SCAN[k] then
          error(format(gettext("run.chunks: where takes conditions on fields; '%s' is a scan option (a "
                               .. 'collection goes in the order of its primary key)'), k), 2)
        end
      end
    end
    local kf = items:schema().key
    -- the items left after key `after` (fn may have taken some out of `where`)
    count_rest = function(after)
      if after == nil then return items:count(where) end
      local spec = { index = kf, from = after }
      if where then for k, v in pairs(where) do spec[k] = v end end
      local n = items:count(spec)
      spec.to = after
      return n - items:count(spec)
    end
    source = function(after)
      local spec = { index = kf, from = after }
      if where then for k, v in pairs(where) do spec[k] = v end end
      return items:scan(spec)
    end
    keyof = function(row) return row[kf] end
  elseif type(items) == 'table' then
    kind = 'list'
    if opts.key ~= nil or opts.where ~= nil or opts.total ~= nil then
      error(gettext('run.chunks: key, where and total are not for a list of items'), 2)
    end
    total = #items
  elseif type(items) == 'function' then
    kind = 'function'
    if opts.where ~= nil then
      error(gettext('run.chunks: where is for a collection; the function chooses its items'), 2)
    end
    local key = opts.key
    if type(key) == 'string' then keyof = function(item) return item[key] end
    elseif type(key) == 'function' then keyof = key
    else
      error(gettext("run.chunks: items given by a function need key = 'field' (or a function "
                    .. 'item -> key) to know where a chunk stopped'), 2)
    end
    source = items
  else
    error(format(gettext('run.chunks: items must be a list, a collection (db.name) or a function '
                         .. 'after -> iterator; got %s'), type(items)), 2)
  end
  -- what the pass goes over: a checkpoint of another pass is never taken
  -- for this one (issue 16, class 7: a run over another collection under
  -- the same name marked it finished, and the real pass skipped its rest)
  local function show(v)
    if type(v) ~= 'table' then return type(v) .. ':' .. tostring(v) end
    local ks = {}
    for k in pairs(v) do ks[#ks + 1] = k end
    table.sort(ks, function(a, b) return tostring(a) < tostring(b) end)
    local out = {}
    for _, k in ipairs(ks) do out[#out + 1] = tostring(k) .. '=' .. show(v[k]) end
    return '{' .. table.concat(out, ',') .. '}'
  end
  local over
  if kind == 'collection' then
    over = 'collection ' .. items:schema().name .. (opts.where and (' where ' .. show(opts.where)) or '')
  elseif kind == 'list' then
    over = 'a list of ' .. total .. ' items'
  else
    over = 'items from a function' .. (type(opts.key) == 'string' and (' keyed by ' .. opts.key) or '')
  end
  local cp = cp_get(name)
  if cp and cp.kind ~= kind then
    error(format("run.chunks: checkpoint '%s' was made over %s, not %s (use another "
                 .. 'name)', name, KINDS[cp.kind] or cp.kind, KINDS[kind]), 2)
  end
  if cp and cp.over and cp.over ~= over and (kind ~= 'list' or cp.finished) then
    error(format("run.chunks: checkpoint '%s' belongs to a pass over %s; this call goes "
                 .. 'over %s: give this work its own name', name, cp.over, over), 2)
  end
  local after, done, pass, started, resumed = nil, 0, 1, nil, false
  if cp and cp.finished then
    if not opts.again then
      return { done = cp.done, new = 0, chunks = 0, pass = cp.pass, resumed = false,
               finished = true, already = true }
    end
    pass = cp.pass + 1
  elseif cp then
    after, done, pass, started, resumed = cp.after, cp.done, cp.pass, cp.started, true
    if kind == 'list' and cp.total ~= total then
      error(format("run.chunks: checkpoint '%s' was made over a list of %d items, this "
                   .. 'one has %d: resume with the same list (or use another name)',
                   name, cp.total, total), 2)
    end
  end
  if count_rest and total == nil then total = done + count_rest(after) end
  -- the bar counts this run's part (so rate and time left are right after a resume)
  local label = opts.label or name
  local done0 = done
  if resumed then label = format('%s (resumed after %d)', label, done0) end
  local show = opts.progress ~= false
  local new, nchunks = 0, 0
  local function chunk()
    local n, last, fin = 0, after, false
    if kind == 'list' then
      local i = after or 0
      local stop = i + size
      if stop >= total then stop, fin = total, true end
      for j = i + 1, stop do fn(items[j], j) end
      if stop > i then n, last = stop - i, stop end
    else
      local first, full = after ~= nil, false
      for item in source(after) do
        local k = keyof(item)
        if not keyable(k) then
          error(format("run.chunks '%s': an item's key is %s %s; keys are strings, "
                       .. 'numbers or booleans', name, type(k), tostring(k)), 0)
        end
        if first and k == after then
          -- the last item of the chunk before (a scan's from is inclusive)
        elseif n == size then
          full = true
          break
        else
          fn(item, k)
          n, last = n + 1, k
        end
        first = false
      end
      fin = not full
    end
    cp_put{ name = name, kind = kind, after = last, done = done + n, total = total,
            finished = fin, pass = pass, started = started, over = over }
    return n, last, fin
  end
  while true do
    local n, last, fin = atomic(chunk)
    after, done, new, nchunks = last, done + n, new + n, nchunks + 1
    if show then
      local p = rawget(runt, 'progress')
      if p then p(new, total and total - done0 or 0, label) end
    end
    if fin then break end
  end
  return { done = done, new = new, chunks = nchunks, pass = pass, resumed = resumed,
           finished = true }
end
