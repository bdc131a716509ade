-- program/plan.lua — the one plan dialect: checked when loaded, windows in
-- dates or lunar names, and a fingerprint for versioning. Used by program.lua;
-- see the API there.
--
-- Every problem is an error naming the plan file, the key and what is wrong:
--   plan ticket/plan.lua: key 'limits[2].per': 'week' is not one of member, household, kind, day, place, entry
-- Invariant: a plan that check() returns is complete: every default is filled
-- in, every date is 'YYYY-MM-DD', every limit has a name, and plan.hash
-- fingerprints its data (rules are functions: only their presence counts).
local _ = gettext
local dates = require 'dates'

local M = {}

local TOP = {
  id = 'string', title = 'string', union = 'integer?', year = 'integer?', window = 'table',
  budget_fen = 'integer?', kinds = 'table', limits = 'table?', who = 'table?', units = 'table?',
  version = 'integer?', changes = 'table?', fields = 'table?', amount = 'function?',
  session = 'any?', note = 'string?', program = 'string?', label = 'string?', extra = 'any?',
  household_times = 'string?',
}
local KIND = {
  kind = 'string', title = 'string?', value_fen = 'integer?', stock = 'integer?', places = 'table?',
  window = 'table?', where = 'table?', rule = 'function?', per_member = 'integer?',
  per_household = 'integer?', unit = 'string?', note = 'string?', extra = 'any?',
}
local LIMIT = {
  per = 'any', kind = 'string?', max_fen = 'any?', max_count = 'any?', max_qty = 'any?',
  clip = 'boolean?', to_zero = 'boolean?', name = 'string?', code = 'string?', note = 'string?',
  quotas = 'table?', kinds = 'table?', year = 'integer?', message = 'any?', path = 'string?',
}
local WHO = { where = 'table?', rule = 'function?', tiers = 'table?' }
local TIER = { name = 'string', where = 'table?', rule = 'function?' }
local FIELD_TYPES = { text = true, int = true, yuan = true, date = true, id = true, phone = true,
                      datetime = true }
M.DIMS = { member = true, household = true, kind = true, day = true, year = true, place = true, entry = true,
           enterprise = true, union = true }   -- enterprise, union: the entry's, else the member's  since v1.4
M.UNITS = { ['人'] = true, ['人次'] = true, ['户次'] = true, ['场次'] = true, fen = true }

-- A kind's own limits, in this order: its key, the limit's name (before the
-- kind), what it is counted per, which maximum it sets, the refusal's code.
local KIND_LIMITS = {
  { key = 'stock', name = 'stock:', max = 'max_qty', code = 'out_of_stock' },
  { key = 'places', name = 'quota:', per = 'place', max = 'places', code = 'out_of_stock' },
  { key = 'per_member', name = 'once:', per = 'member', max = 'max_count', code = 'already' },
  { key = 'per_household', name = 'household:', per = 'household', max = 'max_count', code = 'already' },
}

local function fail(file, key, fmt_, ...)
  error(string.format(_("plan %s: key '%s': ") .. fmt_, file, key, ...), 0)
end

local function typeof(v)
  local t = type(v)
  if t == 'number' then return math.type(v) == 'integer' and 'integer' or 'float' end
  return t
end

-- Checks t's keys against spec ({ key = 'type' | 'type?' }).
local function keys(file, where, t, spec)
  if type(t) ~= 'table' then fail(file, where, _('expected a table, got %s'), typeof(t)) end
  for k, v in pairs(t) do
    local want = spec[k]
    local name = where == '' and tostring(k) or (where .. '.' .. tostring(k))
    if want == nil then
      local known = {}
      for n in pairs(spec) do known[#known + 1] = n end
      table.sort(known)
      fail(file, name, _('is not a plan key here (known: %s)'), table.concat(known, ', '))
    end
    local base = want:gsub('%?$', '')
    if base ~= 'any' and typeof(v) ~= base then
      fail(file, name, _('expected %s, got %s %s'), base == 'integer' and 'a whole number' or ('a ' .. base),
           typeof(v), tostring(v))
    end
  end
  for k, want in pairs(spec) do
    if not want:find('?', 1, true) and t[k] == nil then
      fail(file, where == '' and k or (where .. '.' .. k), _('is missing'))
    end
  end
end
-- The one plan checker's pieces, for a program's own plan keys (sanatorium.lua):
-- fail(file, key, fmt, ...) raises "plan FILE: key 'KEY': ..."; keys(file, where, t, spec).
M.fail, M.keys = fail, keys

-- ---- windows: dates or lunar names --------------------------------------------------

local CN = { ['一'] = 1, ['二'] = 2, ['三'] = 3, ['四'] = 4, ['五'] = 5, ['六'] = 6, ['七'] = 7,
             ['八'] = 8, ['九'] = 9, ['十'] = 10 }
local MONTHS = { ['正'] = 1, ['一'] = 1, ['二'] = 2, ['三'] = 3, ['四'] = 4, ['五'] = 5, ['六'] = 6,
                 ['七'] = 7, ['八'] = 8, ['九'] = 9, ['十'] = 10, ['冬'] = 11, ['十一'] = 11,
                 ['腊'] = 12, ['十二'] = 12 }

-- '初八' 8, '十五' 15, '廿三' 23, '三十' 30, '二十' 20.
local function lunar_day(s)
  local t = {}
  for _i, c in utf8.codes(s) do t[#t + 1] = utf8.char(c) end
  if #t == 2 and t[1] == '初' then return CN[t[2]] end
  if #t == 2 and t[1] == '十' then return 10 + (CN[t[2]] or 99) end
  if #t == 2 and t[1] == '廿' then return 20 + (CN[t[2]] or 99) end
  if #t == 2 and t[2] == '十' and (t[1] == '二' or t[1] == '三') then return CN[t[1]] * 10 end
  if #t == 1 and CN[t[1]] and CN[t[1]] <= 10 then return CN[t[1]] end
  return nil
end

local function cal() return plugin.load 'cal' end

-- The date of a named day of `year`'s festival season: the Gregorian year in
-- which its Spring Festival falls (so 腊月 and 除夕 are in the lunar year before).
local NAMED = {
  ['元旦'] = function(y) return y .. '-01-01' end,
  ['腊八'] = function(y) return cal().laba(y) end,
  ['小年'] = function(y) return cal().from_lunar(y - 1, 12, 23, false) end,
  ['除夕'] = function(y) return dates.add_days(cal().spring_festival(y), -1) end,
  ['春节'] = function(y) return cal().spring_festival(y) end,
  ['元宵'] = function(y) return cal().from_lunar(y, 1, 15, false) end,
  ['正月末'] = function(y) return cal().first_month_end(y) end,
}

-- '2026-01-15', '春节', '春节-15', '正月十五', '腊月廿三+1', '正月末' -> 'YYYY-MM-DD', or nil, why.
function M.day(s, year)
  if type(s) ~= 'string' then return nil, _('expected a date or a day name, got ') .. tostring(s) end
  local base, sign, n = s:match('^(.-)%s*([%+%-])%s*(%d+)$')
  if not base or base == '' or base:match('^%d%d%d%d%-%d%d$') then base, sign, n = s, nil, nil end
  local d
  if base:match('^%d%d%d%d%-%d%d%-%d%d$') then
    if not dates.valid(base) then return nil, "'" .. base .. "' is not a real date" end
    d = base
  else
    if not year then return nil, "'" .. base .. "' is a day name: give the plan a year (year = 2026)" end
    local f = NAMED[base]
    if f then
      d = f(year)
    else
      local mon, day = base:match('^(.-)月(.+)$')
      local m = mon and MONTHS[mon]
      local dd = day and lunar_day(day)
      if not m or not dd then
        return nil, "'" .. s .. "' is not a date (2026-01-15) or a day name (元旦, 腊八, 小年, 除夕, 春节, "
                    .. '元宵, 正月末, 正月十五, 腊月廿三; with -15 or +7 days)'
      end
      local ok, r = pcall(cal().from_lunar, m == 12 and year - 1 or year, m, dd, false)
      if not ok then return nil, tostring(r) end
      d = r
    end
  end
  if n then d = dates.add_days(d, (sign == '-' and -1 or 1) * math.tointeger(tonumber(n))) end
  return d
end

local function window(file, key, w, year)
  keys(file, key, w, { from = 'string', to = 'string' })
  local a, why = M.day(w.from, year)
  if not a then fail(file, key .. '.from', _('%s'), why) end
  local b, why2 = M.day(w.to, year)
  if not b then fail(file, key .. '.to', _('%s'), why2) end
  if b < a then fail(file, key, _('ends (%s = %s) before it starts (%s = %s)'), w.to, b, w.from, a) end
  return { from = a, to = b, from_text = w.from, to_text = w.to }
end

-- ---- the fingerprint ------------------------------------------------------------------

local function canon(v, out)
  local t = type(v)
  if t == 'table' then
    local ks = {}
    for k in pairs(v) do ks[#ks + 1] = k end
    table.sort(ks, function(x, y)
      if type(x) == type(y) then return x < y end
      return type(x) < type(y)
    end)
    out[#out + 1] = '{'
    for _i, k in ipairs(ks) do
      if k ~= 'version' and k ~= 'changes' then
        out[#out + 1] = tostring(k) .. '='
        canon(v[k], out)
        out[#out + 1] = ','
      end
    end
    out[#out + 1] = '}'
  elseif t == 'function' then
    out[#out + 1] = '<rule>'
  elseif t == 'string' then
    out[#out + 1] = string.format('%q', v)
  else
    out[#out + 1] = tostring(v)
  end
end

-- The plan's data as canonical text (rules as '<rule>'; version and changes left out).
function M.canonical(p)
  local out = {}
  canon(p, out)
  return table.concat(out)
end

-- Data only, for storing: functions dropped.
function M.data(v)
  if type(v) == 'function' then return '<rule>' end
  if type(v) ~= 'table' then return v end
  local t = {}
  for k, x in pairs(v) do t[k] = M.data(x) end
  return t
end

-- ---- check --------------------------------------------------------------------------

-- Checks plan p (from file, named in messages) and returns the checked plan:
-- { id, title, union, year, window = {from, to}, budget_fen, kinds = {list},
--   kind = {by name}, limits = {normalized}, who, units = set, version, fields, ... }.
function M.check(p, file)
  file = file or (type(p) == 'table' and type(p.id) == 'string' and (p.id .. ' (plan)')) or '(plan)'
  if type(p) ~= 'table' then error(string.format(_('plan %s: expected a table, got %s'), file, typeof(p)), 0) end
  keys(file, '', p, TOP)
  if not p.id:match('^[%w_%-%.]+$') then
    fail(file, 'id', _("'%s' must be letters, digits, '_', '-' or '.'"), p.id)
  end
  local out = { id = p.id, title = p.title, union = p.union, year = p.year, budget_fen = p.budget_fen,
                version = p.version or 1, changes = p.changes or {}, amount = p.amount,
                session = p.session, note = p.note, file = file, kinds = {}, kind = {}, limits = {},
                label = p.label, raw = p }
  if p.budget_fen and p.budget_fen < 0 then fail(file, 'budget_fen', _('must be >= 0, got %d'), p.budget_fen) end
  if out.version < 1 then fail(file, 'version', _('must be 1 or more, got %d'), out.version) end
  for v, why in pairs(out.changes) do
    if math.type(v) ~= 'integer' or type(why) ~= 'string' or why == '' then
      fail(file, 'changes', _('is { [version] = "what changed and why", ... }, got [%s] = %s'), tostring(v), tostring(why))
    end
  end
  out.window = window(file, 'window', p.window, p.year)
  -- units
  out.units = {}
  for i, u in ipairs(p.units or { '人', '人次', '户次', 'fen' }) do
    if not M.UNITS[u] then fail(file, 'units[' .. i .. ']', -- i18n: ok (a key)
       _("'%s' is not one of 人, 人次, 户次, 场次, fen"), tostring(u)) end
    out.units[u] = true
  end
  -- 户次: per kind, the distinct households (default), or per kind and day
  -- (a household aided twice on two days is two 户次: the aid's count)  since v1.3
  out.household_times = p.household_times or 'kind'
  if out.household_times ~= 'kind' and out.household_times ~= 'day' then
    fail(file, 'household_times', _("is 'kind' (distinct households per kind) or 'day' (per kind and day), got '%s'"),
         out.household_times)
  end
  -- kinds
  if #p.kinds == 0 then fail(file, 'kinds', _('must list at least one kind: { { kind = \'gift\', ... } }')) end
  for i, k in ipairs(p.kinds) do
    local key = 'kinds[' .. i .. ']'
    keys(file, key, k, KIND)
    if out.kind[k.kind] then fail(file, key .. '.kind', _("'%s' is listed twice"), k.kind) end
    local kk = { kind = k.kind, title = k.title or k.kind, value_fen = k.value_fen, stock = k.stock,
                 places = k.places, where = k.where, rule = k.rule, unit = k.unit or 'item',
                 per_member = k.per_member, per_household = k.per_household }
    if kk.unit ~= 'item' and kk.unit ~= 'fen' then fail(file, key .. '.unit', _("is 'item' or 'fen', got '%s'"), kk.unit) end
    if k.value_fen and k.value_fen < 0 then fail(file, key .. '.value_fen', _('must be >= 0')) end
    if k.stock and k.stock < 0 then fail(file, key .. '.stock', _('must be >= 0')) end
    if k.window then
      kk.window = window(file, key .. '.window', k.window, p.year)
      if kk.window.from < out.window.from or kk.window.to > out.window.to then
        fail(file, key .. '.window', _('runs %s .. %s, not within the plan\'s window %s .. %s'),
             kk.window.from, kk.window.to, out.window.from, out.window.to)
      end
    end
    if k.places then
      local sum = 0
      for place, n in pairs(k.places) do
        if type(place) ~= 'string' or math.type(n) ~= 'integer' or n < 0 then
          fail(file, key .. '.places', _('is { PLACE = whole number >= 0, ... }, got [%s] = %s'), tostring(place), tostring(n))
        end
        sum = sum + n
      end
      if k.stock and sum > k.stock then
        fail(file, key .. '.places', _("the quotas of '%s' add up to %d, more than the %d there are"), k.kind, sum, k.stock)
      end
    end
    out.kinds[i] = kk
    out.kind[k.kind] = kk
  end
  -- limits: the plan's own, then those the kinds and the budget imply
  local function add_limit(l, key)
    keys(file, key, l, LIMIT)
    local per = type(l.per) == 'string' and { l.per } or l.per
    if type(per) ~= 'table' then fail(file, key .. '.per', _('is a dimension or a list of them')) end
    for j, d in ipairs(per) do
      if not M.DIMS[d] then
        fail(file, key .. '.per', _("'%s' is not one of member, household, kind, day, year, place, entry, enterprise, union"),
             tostring(d))
      end
      if d == 'entry' and #per > 1 then fail(file, key .. '.per', _("'entry' stands alone")) end
      per[j] = d
    end
    if l.kind and not out.kind[l.kind] then fail(file, key .. '.kind', _("'%s' is not a kind of this plan"), l.kind) end
    -- quotas: a maximum qty for each value of the one dimension ({ [12] = 10, ['*'] = 4 }: '*' any other)  since v1.4
    if l.quotas then
      if #per ~= 1 or per[1] == 'entry' then fail(file, key .. '.quotas', _('are per one dimension (per = \'union\')')) end
      for v, n in pairs(l.quotas) do
        if (type(v) ~= 'string' and math.type(v) ~= 'integer') or math.type(n) ~= 'integer' or n < 0 then
          fail(file, key .. '.quotas', _('is { VALUE = whole number >= 0, ... }, got [%s] = %s'), tostring(v), tostring(n))
        end
      end
    elseif not (l.max_fen or l.max_count or l.max_qty) then
      fail(file, key, _('needs max_fen, max_count, max_qty or quotas'))
    end
    -- kinds: the limit counts the entries of any of these kinds together  since v1.4
    local kinds
    if l.kinds then
      if l.kind then fail(file, key .. '.kinds', _("give kind or kinds, not both")) end
      if #l.kinds == 0 then fail(file, key .. '.kinds', _('lists no kind')) end
      kinds = {}
      for j, k in ipairs(l.kinds) do
        if not out.kind[k] then fail(file, key .. '.kinds[' .. j .. ']', _("'%s' is not a kind of this plan"), tostring(k)) end
        kinds[k] = true
      end
    end
    -- a max is a whole number, or per priority tier { [tier name] = n } (the
    -- entry's tier picks it; an entry of another tier or none is not under
    -- the limit)  since v1.4
    local tiered
    for _i, m in ipairs{ 'max_fen', 'max_count', 'max_qty' } do
      local v = l[m]
      if type(v) == 'table' then
        if tiered then fail(file, key .. '.' .. m, _('only one max may be given per tier')) end
        tiered = { measure = m, by = {} }
        for name, n in pairs(v) do
          local ti
          local tiers = type(p.who) == 'table' and type(p.who.tiers) == 'table' and p.who.tiers or {}
          for j, t in ipairs(tiers) do if type(t) == 'table' and t.name == name then ti = j end end
          if not ti then
            fail(file, key .. '.' .. m .. '.' .. tostring(name), _('is not one of the tiers of who.tiers'))
          end
          if math.type(n) ~= 'integer' or n < 0 then
            fail(file, key .. '.' .. m .. '.' .. tostring(name), _('must be a whole number >= 0'))
          end
          tiered.by[ti] = n
        end
      elseif v ~= nil and (math.type(v) ~= 'integer' or v < 0) then
        fail(file, key .. '.' .. m, _('must be a whole number >= 0, or { [tier] = n, ... }'))
      end
    end
    if l.message ~= nil and type(l.message) ~= 'string' and type(l.message) ~= 'function' then
      fail(file, key .. '.message', _('is a text with {used} {max} {fen} {over} ..., or a function(info)'))
    end
    if l.clip and not l.max_fen then fail(file, key .. '.clip', _('clips an amount: it needs max_fen')) end
    if l.to_zero and not l.clip then fail(file, key .. '.to_zero', _('is for a clipping limit (clip = true)')) end
    local name = l.name or (table.concat(per, '+') .. (l.kind and (':' .. l.kind) or '')
                             .. ':' .. (l.max_fen and 'fen' or l.max_count and 'count' or l.quotas and 'quota' or 'qty'))
    for _i, o in ipairs(out.limits) do
      if o.name == name then name = name .. '#' .. (#out.limits + 1) end
    end
    local lim = { name = name, per = per, kind = l.kind, kinds = kinds, year = l.year, clip = l.clip,
                  to_zero = l.to_zero, code = l.code, places = l.places, quotas = l.quotas, note = l.note,
                  message = l.message, path = l.path or key, tiered = tiered }
    if not tiered then lim.max_fen, lim.max_count, lim.max_qty = l.max_fen, l.max_count, l.max_qty end
    out.limits[#out.limits + 1] = lim
  end
  for i, l in ipairs(p.limits or {}) do add_limit(l, 'limits[' .. i .. ']') end
  if p.budget_fen then
    out.limits[#out.limits + 1] = { name = 'budget', per = {}, max_fen = p.budget_fen, code = 'budget',
                                    path = 'budget_fen' }
  end
  for i, k in ipairs(out.kinds) do
    for _j, x in ipairs(KIND_LIMITS) do
      if k[x.key] then
        out.limits[#out.limits + 1] = { name = x.name .. k.kind, per = { x.per }, kind = k.kind, [x.max] = k[x.key],
                                        code = x.code, path = 'kinds[' .. i .. '].' .. x.key }
      end
    end
  end
  -- who
  out.who = { where = {}, tiers = {} }
  if p.who then
    keys(file, 'who', p.who, WHO)
    out.who.where = p.who.where or {}
    out.who.rule = p.who.rule
    for i, t in ipairs(p.who.tiers or {}) do
      keys(file, 'who.tiers[' .. i .. ']', t, TIER)
      out.who.tiers[i] = t
    end
  end
  -- fields for sheets: { { 'name', '标签', 'type' }, ... }
  out.fields = {}
  for i, f in ipairs(p.fields or {}) do
    local key = 'fields[' .. i .. ']'
    if type(f) ~= 'table' or type(f[1]) ~= 'string' or type(f[2]) ~= 'string' then
      fail(file, key, _("is { 'field', '表头 label', 'type' }"))
    end
    local ty = f[3] or 'text'
    if not FIELD_TYPES[ty] then
      fail(file, key, _("type '%s' is not one of text, int, yuan, date, datetime, id, phone"), tostring(ty))
    end
    out.fields[i] = { name = f[1], label = f[2], type = ty, optional = f.optional, also = f.also }
  end
  out.hash = M.canonical(p)
  return out
end

return M
