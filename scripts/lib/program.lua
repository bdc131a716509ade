-- program.lua — the framework every program stands on: a program is a plan
-- (data) plus a few rules (functions); the ledger, the limits, the events, the
-- reports, sheets, draws and public lists are the platform's.
--
-- API (stable; later additions are marked "since"):
--
--   local program = require 'program'
--   local P = program.define(plan [, { file = 'plan.lua' }])   -- checks the plan, stores it (versioned)
--   local P = program.load('plan')        -- the same, the plan read from plan.lua (script folder, then lib)
--   local P = program.open('ticket-2026') -- a stored program, for reports (no rules)
--
--   THE PLAN (one dialect; every key checked, messages name the file and the key):
--   {
--     id = 'ticket-2026', title = '返岗车票补贴', union = 1, year = 2026,
--     window = { from = '春节-15', to = '正月十五' },   -- dates or day names (元旦 腊八 小年 除夕 春节
--                                                      -- 元宵 正月末 正月十五 腊月廿三, ±N days)
--     budget_fen = 10000000,                          -- the program's budget (a limit)
--     kinds = {                                       -- what it gives: items or money
--       { kind = 'ticket', title = '车票补贴', unit = 'fen' },
--       { kind = 'gift', title = '礼包', value_fen = 20000, stock = 500, places = { ST01 = 200 },
--         per_member = 1, window = { from = ..., to = ... }, where = { ... }, rule = fn },
--     },
--     limits = {                                      -- all checked in the entry's transaction
--       { per = 'entry', max_fen = 20000, clip = true },        -- at most 200 yuan a ticket
--       { per = 'member', max_fen = 40000, clip = true },       -- 400 a member (clip: pay what is left)
--       { per = { 'member', 'day' }, max_fen = 2000, clip = true, to_zero = true },
--                                     -- to_zero: at the cap the entry goes on with 0 fen (capped),
--                                     -- not refused (the market's sale at full price)  since v1.2
--       { per = { 'member', 'day' }, max_count = 1 },           -- dims: member household kind day place
--                                                               -- enterprise union (the member's)  since v1.4
--       { per = 'union', quotas = { [12] = 10, ['*'] = 4 } },   -- a quota (qty) for each value of one
--                                                               -- dimension; '*' any other  since v1.4
--       { per = { 'member', 'year' }, max_fen = 300000 },      -- dim year: the entry's calendar year
--       { per = 'household', kinds = { 'temporary', 'basket' }, year = 2025,
--         max_fen = { deep = 600000, relative = 300000 },       -- kinds: counted together; year: only
--         code = 'household_cap', message = '{household}: {used} of {max} yuan in {year}' },
--                       -- entries of 2025; a max per who.tiers name (the entry's tier picks it; no
--                       -- tier: not under it); message: the refusal's text ({used} {max} {fen} {over}
--                       -- {left} {year} {kind} {kind_title} {household} {tier} and the entry's
--                       -- fields; a function(info) too); path: the settings key it came from  v1.4
--     },
--     who = { where = { status = 'active' },          -- a registry query (indexed scan conditions)
--             rule = function(m, e) return ok, reason end,
--             tiers = { { name = '困难职工', where = {...} }, { name = '其他' } } },
--     fields = { { 'id_number', '身份证号', 'id' }, { 'key', '车票号' }, { 'fare_fen', '票价', 'yuan' },
--                { 'day', '乘车日期', 'date' } },       -- entry fields by their sheet labels
--     amount = function(e, m) return fen end,         -- the entry's amount (default: value_fen × qty)
--     units = { '人', '人次', '户次', 'fen' },         -- what the year report counts (场次 too)
--     household_times = 'kind' | 'day',               -- 户次: distinct households per kind (default),
--                                                     -- or per kind and day (aid's count)  since v1.3
--     session = 'ticket-2026' | function(e) ... end,  -- 场次: what makes a session
--     version = 2, changes = { [2] = 'budget raised by the board, 2026-02-01' },
--   }
--   A plan whose data changed after its first entry is refused unless its
--   version is raised and changes[version] says why.
--
--   WHO
--   program.member(ref)       --> member row | nil, 'bad_id'|'not_found', message
--                             -- ref: member_id, ID number (check character verified), or a row
--   P:eligible(m [, kind, e]) --> true | false, reason
--   P:tier(m)                 --> tier index (1 = first), name | nil
--   P:members([kind])         --> iterator over the eligible members (indexed scan + rules)
--
--   THE LEDGER
--   P:enter{ member = ref, kind = 'ticket', qty = 1, fen = N?, place = 'ST01'?, day = 'YYYY-MM-DD'?,
--            at = 'YYYY-MM-DD HH:MM:SS'?, key = 'G1234'?, note =?, ...program fields }
--   P:enter{ kind = 'talk', heads = 35, union = 12?, enterprise_id = 7?, session = 'S1'?, ... }
--       -- no member: a head count where names are not taken (35 人次, no 人); union: the
--       -- organiser union (default: the plan's); enterprise_id: where it took place, when not
--       -- the member's enterprise                                             since v1.4
--       --> entry | nil, code, message
--       codes: bad_id not_found not_eligible closed already duplicate out_of_stock no_stock budget
--       limit bad_input
--       One transaction: limits checked, the entry, its totals and its event. `key` is the
--       idempotency key (a receipt or ticket number): an entry with a key already entered
--       is refused as 'already', so re-entering a sheet pays nothing twice. tier: an index or
--       a who.tiers name; a clipped entry's `capped_by` names the limit (not stored)  v1.4
--   P:reverse(entry_id, reason)  --> the reversing entry (a correction: never an edit)
--   P:entries([filter])          --> list of entry tables
--   P:check()                    --> ok, problems   (totals recomputed from the ledger; a limit
--                                    passed, after a declared change lowered it, is named  v1.4)
--   P:rebuild_totals()           -- rewrite the totals from the ledger (define does it after a
--                                   declared change of a plan with entries  v1.4)
--   P:backfill(rows)             -- entries decided before the framework (a migration), no checks,
--                                   with their events; totals rebuilt  v1.4
--   P:report{ by = 'town'|'enterprise'|'station'|'place'|'kind'|'tier', year =, from = 'log' }
--                                --> report table (from = 'log': from the program.entry events)
--   program.format(rep)          --> text
--
--   EVENTS: every entry (and reversal) publishes 'program.entry' with
--   { program, entry_id, kind, member_id, household, qty, fen, day, place?, town?, session?,
--     reverses?, heads?, union_id?, enterprise_id?, tier? } in the same transaction, compact:
--     defaults left out, an array when it can be (v1.4): read it with program.entry_of_event(payload).
--   The program's title and units are in its stored
--   plan (programs). So the year report counts every program, including later ones, with
--   no edit of its own (town and enterprise: the member's unless the entry gives a town;
--   a place that is a rest station counts under 驿站).
--
--   MANY AT ONCE
--   P:grant_all(kind, { at =, day =, place =, qty =, batch =, check =, loop = })  --> { entered =, fen =, [code] = n }
--                                (the common case is one insert_select a batch; loop = true: the Lua loop)
--
--   HELPERS
--   program.param(name, 'text'|'int'|'yuan'|'date'|'id'[, default])  -- a script parameter
--   program.cli(fn, ...)         -- runs fn; a plan/usage error becomes run.fail (no traceback);
--                                -- returns fn's results
--   program.refuser(phrases)     -- refuse(code, detail) -> nil, code, 'phrase: detail'  since v1.2
--   program.must(r, code, why)   -- r, or the run ends: refused (code): why  (a command script's refusal)
--   program.try(fn, ...)         -- fn's results; its error ends the run as 'refused: message'
--   program.money                -- overflow-checked fen (program/money.lua)
--   program.mask_name('张三明') --> '张*明'   (core/pii.c's pii.mask; also mask_id, mask_phone)
--   P:public_list{ kind = }, P:write_public_list('公示.csv')   (program/public.lua)  since v1.1
--   P:enter_sheet(file, opts), program.sheet_summary(s), program.finish(s)  (program/sheet.lua)  v1.1
--   P:close_draw(kind, { public =, after = }), P:draw(kind, { public = [, seed =, k =] }),
--     P:commit_draw(kind, commitment [, { party = }]), P:verify_draw(kind [, record]),
--     P:draw_record(kind), P:write_draw_record(kind, FILE)  (program/draw.lua: gonghui-draw-v2)
--   P:draw(kind, { public =, k =, entrants =, choices = fn(member_id, tier) --> { {place=, day=}, ... } }),
--     P:waiting_list(kind), P:move_up(kind, { place = 'B01' })   -- preferences, waiting lists  since v1.4
--   (legacy: P:draw(kind, SEED, opts) with the organiser's seed alone, before gonghui-draw-v2)
--   program.main('plan' [, command])  -- setup/enter/claim/reverse/report/list/check/draw/verify
--                                                         (program/cli.lua)     since v1.1
--
-- COLLECTIONS: programs (the plans, versioned), program_entries (the ledger,
-- append-only), program_totals (running totals of each limit; rebuildable).
--
-- INVARIANTS (inside db.atomic; gonghui lets one writer in at a time, so two
-- clerks or two processes at once never pass a limit together):
--   1. program_entries rows are only ever inserted; a correction is a new row
--      with `reverses` (unique: an entry is reversed at most once).
--   2. for every limit and key, program_totals = the sum over the entries
--      (reversals negative) — P:check() proves it.
--   3. an entry, its totals and its event are one transaction.
local _ = gettext
local plan_mod = require 'program.plan'
local money = require 'program.money'
local dates = require 'dates'
local registry = require 'registry'
local parse = require 'parse'
local migrate = require 'program.migrate'

local M = {}
local P = {}
P.__index = P
M.money = money
M.EVENT = 'program.entry'
local EVENT = M.EVENT

M.REFUSALS = {
  bad_id       = N_('not a valid ID number'),
  not_found    = N_('no such member'),
  not_eligible = N_('not eligible'),
  closed       = N_('outside the dates'),
  already      = N_('already entered'),
  duplicate    = N_('the key was entered for someone else'),
  out_of_stock = N_('none left'),
  no_stock     = N_('no stock here'),
  budget       = N_('the budget is spent'),
  limit        = N_('over a limit'),
  bad_input    = N_('bad input'),
}

-- The member fields this registry has (a registry made before the programs'
-- fields lacks household; reading a field a collection lacks is an error).
local member_fields
local function has_member_field(f)
  if not member_fields then member_fields = db.members:schema().fields end
  return member_fields[f] ~= nil
end
local function household_of(m)
  return has_member_field('household') and m.household or ('m' .. m.member_id)
end

-- ---- the ledger's entry format: written compact, read through one decoder -----------
--
-- Format 2 (since session 8; program/migrate.lua's ledger step adds it to a
-- ledger of format 1 and rewrites nothing): what every entry repeats is
-- stored small, and read back as before through the helpers below, the one
-- place that knows the format:
--   at_sec  'YYYY-MM-DD HH:MM:SS' as whole seconds since 1970-01-01 00:00:00
--           of that wall-clock time (no zone: the text as written, back
--           exactly); `at` (text) only when the text is not of that form
--   run_n   the run's uid (16 hex digits) as its 64-bit integer; `run` (text)
--           only when it is not a uid
--   household  not stored for a household of one ('m' .. member_id)
-- Format 1 (before): at, run and the household of one as text. Both read the
-- same through M.entry_at, M.entry_run, M.household_of_entry and M.entry.
local tointeger, sfmt = math.tointeger, string.format
local ledger_format   -- of this database's ledger (M.define_collections), 1 or 2

-- 'YYYY-MM-DD HH:MM:SS' -> seconds (nil: not that form, or not a real time)
function M.at_seconds(text)
  if type(text) ~= 'string' or #text ~= 19 then return nil end
  local y, mo, d, h, mi, sec = text:match('^(%d%d%d%d)%-(%d%d)%-(%d%d) (%d%d):(%d%d):(%d%d)$')
  if not y then return nil end
  y, mo, d, h, mi, sec = tointeger(tonumber(y)), tointeger(tonumber(mo)), tointeger(tonumber(d)),
                         tointeger(tonumber(h)), tointeger(tonumber(mi)), tointeger(tonumber(sec))
  if mo < 1 or mo > 12 or d < 1 or d > parse.month_days(y, mo) or h > 23 or mi > 59 or sec > 59 then return nil end
  return parse.day_number(y, mo, d) * 86400 + h * 3600 + mi * 60 + sec
end

-- seconds -> 'YYYY-MM-DD HH:MM:SS' (M.at_seconds's inverse)
function M.at_text(n)
  local day, s = n // 86400, n % 86400
  local y, mo, d = parse.day_date(day)
  return sfmt('%04d-%02d-%02d %02d:%02d:%02d', y, mo, d, s // 3600, s // 60 % 60, s % 60)
end

-- a run's uid -> its integer (nil: not a uid)
function M.run_number(uid)
  if type(uid) ~= 'string' or #uid ~= 16 or uid:find('[^0-9a-f]') then return nil end
  return tointeger(tonumber(uid:sub(1, 8), 16)) << 32 | tointeger(tonumber(uid:sub(9), 16))
end

function M.run_uid(n) return sfmt('%016x', n) end

-- An entry's time, run and household as text, from either format (a row
-- or a table).
function M.entry_at(e)
  local t = e.at
  if t == nil and e.at_sec then t = M.at_text(e.at_sec) end
  return t
end

function M.entry_run(e)
  local r = e.run
  if r == nil and e.run_n then r = M.run_uid(e.run_n) end
  return r
end

function M.household_of_entry(e)
  local h = e.household
  if h == nil and e.member_id then h = 'm' .. e.member_id end
  return h
end

-- The entry as a table in format 1's fields (at, run, household as text),
-- for reports, lists and exports: row is a program_entries row or table.
function M.entry(row)
  local e = type(row) == 'table' and row or row:totable()
  if e.at_sec ~= nil or e.run_n ~= nil or (e.household == nil and e.member_id) then
    if e == row then local c = {}; for k, v in pairs(row) do c[k] = v end; e = c end
    e.at, e.run, e.household = M.entry_at(e), M.entry_run(e), M.household_of_entry(e)
    e.at_sec, e.run_n = nil, nil
  end
  return e
end

-- The stored fields of entry r (a table with at, run, household as text),
-- set in place in format 2; M.entry_stored_back(r, saved) puts the text back.
local function to_stored(r)
  local saved = { r.at, r.run, r.household }
  if ledger_format == 1 then return saved end
  local n = M.at_seconds(r.at)
  if n then r.at, r.at_sec = nil, n end
  n = M.run_number(r.run)
  if n then r.run, r.run_n = nil, n end
  if r.member_id and r.household == 'm' .. r.member_id then r.household = nil end
  return saved
end

local function from_stored(r, saved)
  r.at, r.run, r.household = saved[1], saved[2], saved[3]
  r.at_sec, r.run_n = nil, nil
end

local function insert_entry(r)
  local saved = to_stored(r)
  local id = db.program_entries:insert(r)
  from_stored(r, saved)
  return id
end

function M.define_collections()
  local have = false
  for _i, n in ipairs(db.collections()) do if n == 'members' then have = true end end
  if not have then registry.define_members() end
  db.define('programs', {
    key = 'program_id',
    fields = { program_id = 'string', title = 'string', union_id = 'int?', year = 'int?',
               starts = 'date', ends = 'date', budget_fen = 'fen?', version = 'int',
               plan = 'any', canonical = 'string', file = 'string?', changes = 'any?',
               defined = 'string', units = 'any?' },
  })
  -- the ledger: a new one in the newest format; one made before stays in
  -- its format until migrate.ledger() moves it (M.define does: every program
  -- that writes; reports read either)
  local fmt = migrate.ledger_format()
  ledger_format = fmt == 1 and 1 or migrate.LEDGER_FORMAT
  db.define('program_entries', migrate.ledger_spec(ledger_format))
  db.define('program_totals', {
    key = 'tkey',
    fields = { tkey = 'string', program = 'string', limit = 'string', count = 'int', qty = 'int',
               fen = 'fen' },
    index = { 'program' },
  })
  -- the names of the compact event's positions, kept in the database: the
  -- one home of the order is M.EVENT_FIELDS; a scoped server reads member_id
  -- through it (core/topic_fields.h, core/scope.c)
  bus.fields(M.EVENT, M.EVENT_FIELDS)
end

-- ---- who -----------------------------------------------------------------------------

local function mask_id(id) return pii.mask(id, 'id') end

-- A member by member_id, ID number or row. Returns the row (or table), or nil, code, message.
function M.member(ref)
  if type(ref) == 'table' or type(ref) == 'userdata' then return ref end
  if math.type(ref) == 'integer' then
    local m = db.members:get(ref)
    if not m then return nil, 'not_found', string.format(_('no member with member_id %d'), ref) end
    return m
  end
  if type(ref) ~= 'string' then
    return nil, 'bad_input', string.format(_('a member is a member_id or an ID number, got %s'), tostring(ref))
  end
  local id = parse.id((ref:gsub('^%s+', ''):gsub('%s+$', '')))
  if not id then
    local typed = ref:gsub('^%s+', ''):gsub('%s+$', ''):upper()
    return nil, 'bad_id', string.format(_('not a valid ID number (18 characters, the last a check character): %s'),
                                        mask_id(typed))
  end
  local m = db.members:find('id_number', id)
  if not m then return nil, 'not_found', string.format(_('no member with ID number %s'), mask_id(id)) end
  return m
end

-- Does record m meet scan conditions `where` (value, list of values, {from=, to=})?
function M.meets(m, where)
  for field, want in pairs(where or {}) do
    local v = m[field]
    if type(want) == 'table' then
      if want.from ~= nil or want.to ~= nil then
        if v == nil or (want.from ~= nil and v < want.from) or (want.to ~= nil and v > want.to) then
          return false, field
        end
      else
        local found = false
        for _i, w in ipairs(want) do if v == w then found = true; break end end
        if not found then return false, field end
      end
    elseif v ~= want then
      return false, field
    end
  end
  return true
end

function P:eligible(m, kind, e)
  local ok, field = M.meets(m, self.plan.who.where)
  if not ok then return false, field .. ' = ' .. tostring(m[field]) end
  if self.plan.who.rule then
    local yes, why = self.plan.who.rule(m, e or {}, self)
    if not yes then return false, why or 'the program rule says no' end
  end
  local k = kind and self.plan.kind[kind]
  if k and k.where then
    ok, field = M.meets(m, k.where)
    if not ok then return false, kind .. ': ' .. field .. ' = ' .. tostring(m[field]) end
  end
  if k and k.rule then
    local yes, why = k.rule(m, e or {}, self)
    if not yes then return false, kind .. ': ' .. (why or "the kind's rule says no") end
  end
  return true
end

function P:tier(m)
  for i, t in ipairs(self.plan.who.tiers) do
    if M.meets(m, t.where) and (not t.rule or t.rule(m, self)) then return i, t.name end
  end
  return nil
end

-- The eligible members (of kind, if given), through the registry's indexed scan.
function P:members(kind)
  return coroutine.wrap(function()
    for m in db.members:scan(self.plan.who.where) do
      if self:eligible(m, kind) then coroutine.yield(m) end
    end
  end)
end

-- ---- define / open / versioning ---------------------------------------------------------

-- The first key path where a and b differ, with both values ('budget_fen: 100 -> 200').
local function first_diff(a, b, path)
  if type(a) ~= 'table' or type(b) ~= 'table' then
    if a ~= b then return path, a, b end
    return nil
  end
  local ks = {}
  for k in pairs(a) do ks[k] = true end
  for k in pairs(b) do ks[k] = true end
  local list = {}
  for k in pairs(ks) do if k ~= 'version' and k ~= 'changes' then list[#list + 1] = k end end
  table.sort(list, function(x, y) return tostring(x) < tostring(y) end)
  for _i, k in ipairs(list) do
    local sub = math.type(k) == 'integer' and (path .. '[' .. k .. ']') or (path == '' and k or (path .. '.' .. k))
    local d, x, y = first_diff(a[k], b[k], sub)
    if d then return d, x, y end
  end
end

local function has_entries(id)
  for _i in db.program_entries:scan{ index = 'program,kind', eq = { id }, limit = 1 } do return true end
  return false
end

local function make(plan)
  local self = setmetatable({ id = plan.id, title = plan.title, plan = plan }, P)
  self.by_kind = {}
  self.dims = {}
  for _i, l in ipairs(plan.limits) do
    for _j, d in ipairs(l.per) do self.dims[d] = true end
    if not l.per[1] or l.per[1] ~= 'entry' then
      local ks = { l.kind or '*' }
      if l.kinds then
        ks = {}
        for _j, k in ipairs(plan.kinds) do if l.kinds[k.kind] then ks[#ks + 1] = k.kind end end
      end
      for _j, k in ipairs(ks) do
        local list = self.by_kind[k] or {}
        self.by_kind[k] = list
        list[#list + 1] = l
      end
    end
  end
  self.for_kind = {}
  return self
end

-- The limits an entry of `kind` may meet: the program-wide ones, then the
-- kind's own (one list a kind, made on first use).
local function kind_limits(self, kind)
  local list = self.for_kind[kind]
  if not list then
    list = {}
    for _i, l in ipairs(self.by_kind['*'] or {}) do list[#list + 1] = l end
    for _i, l in ipairs(self.by_kind[kind] or {}) do list[#list + 1] = l end
    self.for_kind[kind] = list
  end
  return list
end

-- Checks plan, stores it (or finds it stored, or refuses an undeclared change
-- after the first entry) and returns the program.
function M.define(raw, opts)
  opts = opts or {}
  local plan = plan_mod.check(raw, opts.file)
  M.define_collections()
  if ledger_format ~= migrate.LEDGER_FORMAT then migrate.ledger() end
  db.atomic(function()
    local old = db.programs:get(plan.id)
    local rec = { program_id = plan.id, title = plan.title, union_id = plan.union, year = plan.year,
                  starts = plan.window.from, ends = plan.window.to, budget_fen = plan.budget_fen,
                  version = plan.version, plan = plan_mod.data(raw), canonical = plan.hash,
                  file = opts.file, changes = next(plan.changes) and plan.changes or nil,
                  defined = dates.now(), units = plan_mod.data(raw.units) }
    if not old then
      db.programs:insert(rec)
      return
    end
    if old.canonical == plan.hash and old.version == plan.version then return end
    -- a limit may not fall below what is already given under it
    for t in db.program_totals:scan{ program = plan.id } do
      for _i, l in ipairs(plan.limits) do
        if l.name == t.limit and not l.tiered then
          local place = l.places and t.tkey:match('[^|]*$')
          local max, used, path
          if l.places then max, used, path = l.places[place] or 0, t.qty, l.path .. '.' .. place
          elseif l.quotas then
            local v = t.tkey:match('[^|]*$')
            max, used, path = l.quotas[v] or l.quotas[math.tointeger(tonumber(v)) or v] or l.quotas['*'] or 0, t.qty,
                              l.path .. '.' .. v
          elseif l.max_qty then max, used, path = l.max_qty, t.qty, l.path
          elseif l.max_count then max, used, path = l.max_count, t.count, l.path
          else max, used, path = l.max_fen, t.fen, l.path end
          if used > max and #l.per <= 1 and (l.places or l.quotas or #l.per == 0) then
            error(string.format(_("plan %s: key '%s': %d is less than the %d already given"), plan.file,
                                path, max, used), 0)
          end
        end
      end
    end
    if old.canonical ~= plan.hash and has_entries(plan.id) then
      local what, was, now = first_diff(old.plan, rec.plan, '')
      if plan.version <= old.version or not plan.changes[plan.version] then
        error(string.format(_("plan %s: key '%s' changed (%s -> %s) after the program's first entry (version %d): "
                            .. "declare the change: version = %d, changes = { [%d] = 'what and why' }"),
                            plan.file, what or '?', tostring(was), tostring(now), old.version,
                            old.version + 1, old.version + 1), 0)
      end
    end
    if plan.version < old.version then
      error(string.format(_("plan %s: key 'version': %d is older than the stored version %d"),
                          plan.file, plan.version, old.version), 0)
    end
    db.programs:put(rec)
    -- limits added or changed count what is already entered: the totals
    -- are rebuilt from the ledger (since v1.4; before, a new limit started at 0)
    if old.canonical ~= plan.hash and has_entries(plan.id) then make(plan):rebuild_totals() end
  end)
  return make(plan)
end

-- Reads the plan from NAME.lua (the script's folder, then scripts/lib) and defines it.
-- The running script's folder, from the traceback's main chunk (scripts
-- have no other way to know it; loadfile wants a path inside it).
local function script_dir()
  if rawget(_G, 'run') and run.dir then return run.dir end
  local tb = debug.traceback('', 1)
  local dir
  for path in tb:gmatch('\n%s*([^\n]-)/[^/\n]-%.lua:%d+: in main chunk') do dir = path end
  return dir
end

-- The one home of reading a plan file (program.load, sanatorium.load,
-- yearly.define): NAME(.lua), in the script's folder when NAME names no
-- folder; a chunk returning function(...) is called with the arguments given
-- (a plan of a year). --> the plan's value, the file's path; errors name the file.
function M.read_plan(name, ...)
  local file = name:match('%.lua$') and name or (name .. '.lua')
  local dir = not file:find('/', 1, true) and script_dir()
  if dir then file = dir .. '/' .. file end
  local chunk, err = loadfile(file)
  if not chunk then error(_('plan ') .. file .. ': ' .. tostring(err), 0) end
  local ok, raw = pcall(chunk)
  if ok and type(raw) == 'function' and select('#', ...) > 0 then ok, raw = pcall(raw, ...) end
  if not ok then error(_('plan ') .. file .. ': ' .. tostring(raw), 0) end
  return raw, file
end

function M.load(name)
  local raw, file = M.read_plan(name)
  return M.define(raw, { file = file })
end

-- A stored program, for reports and checks (its data only: no rules).
function M.open(id)
  M.define_collections()
  local rec = db.programs:get(id)
  if not rec then error(_("no program '") .. tostring(id) .. "'", 2) end
  local raw = rec.plan
  -- rules are gone ('<rule>'): drop them so the data checks again
  local function strip(t)
    if type(t) ~= 'table' then return t end
    local o = {}
    for k, v in pairs(t) do if v ~= '<rule>' then o[k] = strip(v) end end
    return o
  end
  local plan = plan_mod.check(strip(raw), rec.file)
  local self = make(plan)
  self.opened = true
  return self
end

-- ---- the ledger ------------------------------------------------------------------------

local FRAMEWORK = { member = true, member_id = true, id_number = true, kind = true, qty = true,
                    fen = true, place = true, day = true, at = true, key = true, note = true,
                    extra = true, session = true, tier = true, town = true,
                    heads = true, union = true, union_id = true, enterprise_id = true }

-- A refusal function over a table of codes -> phrases: refuse(code, detail)
-- returns nil, code, 'phrase: detail' (a value a clerk's loop continues
-- past). Programs with codes of their own (aid, market) use it too. (since v1.2, fwB)
function M.refuser(phrases)
  return function(code, detail)
    return nil, code, (phrases[code] and _(phrases[code]) or code) .. (detail and (': ' .. detail) or '')
  end
end
local refuse = M.refuser(M.REFUSALS)

local function tkey(self, l, e)
  local parts = { self.id, l.name }
  for _i, d in ipairs(l.per) do
    local v
    if d == 'member' then v = e.member_id
    elseif d == 'household' then v = e.household
    elseif d == 'kind' then v = e.kind
    elseif d == 'day' then v = e.day
    elseif d == 'year' then v = e.day and e.day:sub(1, 4)
    elseif d == 'place' then v = e.place
    elseif d == 'enterprise' then v = e.enterprise_id
    elseif d == 'union' then v = e.union_id end
    if v == nil then return nil end
    parts[#parts + 1] = tostring(v)
  end
  return table.concat(parts, '|')
end

-- A limit per enterprise or per union counts the entry's enterprise_id and
-- union_id: given by the entry (where it took place, the organiser union), or
-- else the member's, kept on the entry (so a member who moves later does not
-- move the totals).  since v1.4
local function keep_dims(self, r, m)
  if not m then return end
  if self.dims.enterprise and r.enterprise_id == nil then r.enterprise_id = m.enterprise_id end
  if self.dims.union and r.union_id == nil and has_member_field('union_id') then r.union_id = m.union_id end
end

-- The quota of limit l for the value of its dimension in entry e (nil: none).
local function quota_of(l, e)
  local v = e[({ enterprise = 'enterprise_id', union = 'union_id', member = 'member_id' })[l.per[1]] or l.per[1]]
  if v == nil then return nil, v end
  return l.quotas[v] or l.quotas[tostring(v)] or (math.tointeger(tonumber(v)) and l.quotas[math.tointeger(tonumber(v))])
         or l.quotas['*'], v
end

-- Is entry e under limit l? Its kind (kind, or one of kinds), its year
-- (year = 2025: entries dated that year) and its tier (a max per tier).
local function applies(l, e)
  if l.kind ~= nil and l.kind ~= e.kind then return false end
  if l.kinds and not l.kinds[e.kind] then return false end
  if l.year and (e.day == nil or math.tointeger(tonumber(e.day:sub(1, 4))) ~= l.year) then return false end
  if l.tiered and not (e.tier and l.tiered.by[e.tier]) then return false end
  return true
end

-- The limit as it stands for entry e: a max given per tier becomes the
-- entry's tier's (one table per tier, made once).
local function effective(l, e)
  local t = l.tiered
  if not t then return l end
  l.at_tier = l.at_tier or {}
  local el = l.at_tier[e.tier]
  if not el then
    el = setmetatable({ [t.measure] = t.by[e.tier], tier = e.tier }, { __index = l })
    l.at_tier[e.tier] = el
  end
  return el
end

local function describe(l)
  local per = #l.per == 0 and 'the program' or ('per ' .. table.concat(l.per, ' and '))
  local what = l.max_fen and (money.yuan(l.max_fen) .. ' yuan') or l.max_count and (l.max_count .. ' times')
               or l.max_qty and tostring(l.max_qty) or l.quotas and _('its quota') or ''
  return string.format(_("limit '%s' (%s%s, at most %s)"), l.name, per, l.kind and (', ' .. l.kind) or '', what)
end

-- The refusal of entry e under limit l: the plan's own message when the
-- limit gives one, else the framework's phrase and `detail`. used: what is
-- already given under the limit; max: its max for this entry. A message is
-- a text whose {name}s are filled in: used, max, fen (this entry's amount,
-- or its qty / 1 for a count), over (by how much it would pass), left, and
-- the entry's year, day, kind, kind_title, household, member_id, place,
-- tier (its name) and own fields; amounts of a max_fen limit in yuan. Or a
-- function(info, program) returning the text, info holding the same
-- (figures as numbers, fen) and the entry.  since v1.4
local function refuse_under(self, l, e, code, used, max, detail)
  if not l.message then return refuse(code, detail) end
  local fen = l.max_fen ~= nil
  local amount = fen and e.fen or l.max_count and 1 or e.qty
  local tiers = self.plan.who.tiers
  local info = { limit = l.name, entry = e, used = used, max = max, fen = amount, over = used + amount - max,
                 left = math.max(max - used, 0), year = e.day and math.tointeger(tonumber(e.day:sub(1, 4))),
                 day = e.day, kind = e.kind, kind_title = self.plan.kind[e.kind].title,
                 household = e.household, member_id = e.member_id, place = e.place,
                 tier = e.tier and tiers[e.tier] and tiers[e.tier].name }
  local text
  if type(l.message) == 'function' then
    text = l.message(info, self)
  else
    local figures = { used = true, max = true, fen = true, over = true, left = true }
    text = l.message:gsub('{([%w_]+)}', function(k)
      local v = info[k]
      if v == nil then v = e[k] end
      if v == nil and type(e.extra) == 'table' then v = e.extra[k] end
      if v == nil then return nil end
      if fen and figures[k] then return money.yuan(v) end
      return tostring(v)
    end)
  end
  return nil, code, text
end

-- "At most n of a kind per member" is checked against the ledger's own
-- index (program, member_id), not a running total: no totals row per member
-- to write, and nothing to drift.
local function ledger_once(l)
  return l.max_count and l.kind and #l.per == 1 and l.per[1] == 'member'
end

-- The current totals of limit l at key k for entry e, from the database.
local function db_totals(self, k, l, e)
  if ledger_once(l) then
    local n = 0
    for r in db.program_entries:scan{ index = 'program,member_id', eq = { self.id, e.member_id } } do
      if r.kind == l.kind then n = n + (r.reverses and -1 or 1) end
    end
    return { count = n, qty = 0, fen = 0, ledger = true }
  end
  local t = db.program_totals:get(k)
  return { count = t and t.count or 0, qty = t and t.qty or 0, fen = t and t.fen or 0 }
end

-- The limits that apply to entry e, each with its totals key and current
-- totals (from get(self, key, limit, e), by default the database's).
local function limits_of(self, e, get)
  get = get or db_totals
  local out = {}
  for _i, l in ipairs(kind_limits(self, e.kind)) do
    local k = applies(l, e) and tkey(self, l, e)
    if k then
      local t = get(self, k, l, e)
      out[#out + 1] = { l = effective(l, e), key = k, count = t.count, qty = t.qty, fen = t.fen, ledger = t.ledger }
    end
  end
  return out
end

local function code_of(l, default)
  return l.code or default
end

-- Checks and clips e.fen; returns nil, or refusal values. A clipped
-- entry's e.capped is true and clip.by names the limit that clipped it last.
local function check_limits(self, e, ls, clip)
  clip = clip or {}
  -- per entry
  for _i, l0 in ipairs(self.plan.limits) do
    if l0.per[1] == 'entry' and applies(l0, e) then
      local l = effective(l0, e)
      if l.max_fen and e.fen > l.max_fen then
        if l.clip then e.fen, e.capped, clip.by = l.max_fen, true, l.name
        else return refuse_under(self, l, e, code_of(l, 'limit'), 0, l.max_fen,
                                 string.format(_('%s: this entry %s'), describe(l), money.yuan(e.fen))) end
      end
      if l.max_qty and e.qty > l.max_qty then
        return refuse_under(self, l, e, code_of(l, 'limit'), 0, l.max_qty,
                            string.format(_('%s: this entry %s'), describe(l), e.qty))
      end
    end
  end
  -- clipping limits first, so the others see the amount that will be paid
  for _i, t in ipairs(ls) do
    local l = t.l
    if l.clip and l.max_fen then
      local left = math.max(l.max_fen - t.fen, 0)
      if left == 0 and not l.to_zero then
        return refuse_under(self, l, e, code_of(l, 'limit'), t.fen, l.max_fen,
                            string.format(_('%s: %s yuan already'), describe(l), money.yuan(t.fen)))
      end
      if e.fen > left then e.fen, e.capped, clip.by = left, true, l.name end
    end
  end
  for _i, t in ipairs(ls) do
    local l = t.l
    if l.places then
      local max = e.place and l.places[e.place]
      if not max then
        return refuse('no_stock', string.format(_('%s has no quota at %s'), e.kind, tostring(e.place or '(no place)')))
      end
      if t.qty + e.qty > max then
        return refuse_under(self, l, e, code_of(l, 'out_of_stock'), t.qty, max,
                            string.format(_('%s at %s: %d of %d given'), e.kind, e.place, t.qty, max))
      end
    end
    if l.quotas then
      local max, v = quota_of(l, e)
      if not max then
        return refuse('no_stock', string.format(_('%s: %s has no quota'), describe(l), tostring(v)))
      end
      if t.qty + e.qty > max then
        return refuse(code_of(l, 'out_of_stock'), string.format(_('%s: %s has %d of its %d'), describe(l),
                                                                tostring(v), t.qty, max))
      end
    end
    if l.max_count and t.count + 1 > l.max_count then
      local detail = describe(l) .. ': ' .. t.count .. ' already'
      if l.max_count == 1 and e.member_id and not l.message then
        for p in db.program_entries:scan{ index = 'program,member_id', eq = { self.id, e.member_id } } do
          if p.kind == e.kind and p.reverses == nil then
            detail = string.format(_('entry %d at %s%s'), p.entry_id, M.entry_at(p), p.place and (', ' .. p.place) or '')
          end
        end
      end
      return refuse_under(self, l, e, code_of(l, 'limit'), t.count, l.max_count, detail)
    end
    if l.max_qty and t.qty + e.qty > l.max_qty then
      return refuse_under(self, l, e, code_of(l, 'out_of_stock'), t.qty, l.max_qty,
                          string.format(_('%s: %d of %d given'), describe(l), t.qty, l.max_qty))
    end
    if l.max_fen and not l.clip and money.add(t.fen, e.fen) > l.max_fen then
      return refuse_under(self, l, e, code_of(l, 'limit'), t.fen, l.max_fen,
                          string.format(_('%s: %s yuan given, this entry %s'), describe(l),
                                        money.yuan(t.fen), money.yuan(e.fen)))
    end
  end
  return nil
end

local function add_totals(self, ls, e, sign)
  for _i, t in ipairs(ls) do
    if t.ledger then goto next end
    local rec = { tkey = t.key, program = self.id, limit = t.l.name, count = t.count + sign,
                  qty = t.qty + e.qty, fen = money.add(t.fen, e.fen) }
    db.program_totals:put(rec)
    ::next::
  end
end

local function session_of(self, e)
  if e.session ~= nil then return tostring(e.session) end
  local s = self.plan.session
  if type(s) == 'function' then return s(e, self) end
  if type(s) == 'string' then return s end
  return self.id
end

local function units_list(self)
  local out = {}
  for _i, u in ipairs{ '人', '人次', '户次', '场次', 'fen' } do if self.plan.units[u] then out[#out + 1] = u end end
  return out
end

-- The standard event: what the year report needs of the entry. The
-- program's title and units are in its stored plan (programs), looked up
-- once per program by whoever counts. Compact (since v1.4): an entry with
-- no place, town, enterprise, tier, reversal, heads or union — the common case — is sent
-- as an array (M.EVENT_FIELDS; a trailing default left out, one in the
-- middle false), which costs a third of a table with keys to store (bench
-- W2); any other as a table with keys, defaults left out. Defaults: qty 1,
-- the household of one ('m' .. member_id), the session that is the program.
-- M.entry_of_event reads both forms (and the full tables of older events).
M.EVENT_FIELDS = { 'program', 'entry_id', 'kind', 'member_id', 'fen', 'day', 'household', 'qty', 'session' }

local byte = string.byte
local function event_of(pid, id, kind, mid, hh, qty, fen, day, session)
  -- (the first byte first: making 'm' .. mid is a snprintf, bench W7)
  if hh ~= nil and mid and byte(hh, 1) == 109 and hh == 'm' .. mid then hh = nil end
  if qty == 1 then qty = nil end
  if session == pid then session = nil end
  if session ~= nil then return { pid, id, kind, mid or false, fen, day, hh or false, qty or false, session } end
  if qty ~= nil then return { pid, id, kind, mid or false, fen, day, hh or false, qty } end
  if hh ~= nil then return { pid, id, kind, mid or false, fen, day, hh } end
  return { pid, id, kind, mid or false, fen, day }
end

local function publish(self, r)
  if r.place == nil and r.town == nil and r.enterprise_id == nil and r.tier == nil and r.reverses == nil
     and r.heads == nil and r.union_id == nil then
    bus.publish(M.EVENT, event_of(self.id, r.entry_id, r.kind, r.member_id, r.household, r.qty, r.fen, r.day,
                                  r.session))
    return
  end
  local mid = r.member_id
  local hh = r.household
  if mid and hh == 'm' .. mid then hh = nil end
  bus.publish(M.EVENT, {
    program = self.id, entry_id = r.entry_id, kind = r.kind, member_id = mid,
    household = hh, qty = r.qty ~= 1 and r.qty or nil, fen = r.fen, place = r.place, town = r.town,
    enterprise_id = r.enterprise_id, day = r.day, tier = r.tier,
    session = r.session ~= self.id and r.session or nil, reverses = r.reverses,
    heads = r.heads, union_id = r.union_id,
  })
end

-- The entry a program.entry event's payload stands for (defaults put back):
-- { program, entry_id, kind, member_id, household, qty, fen, day, place,
--   town, enterprise_id, tier, session, reverses }.  since v1.4
function M.entry_of_event(x)
  local e = {}
  if x[1] ~= nil then
    for i, f in ipairs(M.EVENT_FIELDS) do if x[i] then e[f] = x[i] end end
  else
    for k, v in pairs(x) do e[k] = v end
  end
  e.qty = e.qty or 1
  if e.household == nil and e.member_id then e.household = 'm' .. e.member_id end
  e.session = e.session or e.program
  return e
end

-- (whether the registry has stations is asked once it has: db.collections()
-- makes a list of every collection's name, once per entry with a place)
local has_stations = false
local function station_of(place)
  if place == nil then return nil end
  if not has_stations then
    for _i, n in ipairs(db.collections()) do if n == 'stations' then has_stations = true end end
    if not has_stations then return nil end
  end
  return db.stations:get(place, 'station_id') and place or nil
end

-- The work of enter(), in a transaction.
local function enter_txn(self, e)
  local kind = self.plan.kind[e.kind]
  local m
  local ref = e.member or e.member_id or e.id_number
  if ref ~= nil then
    local code, why
    m, code, why = M.member(ref)
    if not m then return refuse(code, why) end
  end
  local at = e.at or dates.now()
  local day = e.day or at:sub(1, 10)
  if not dates.valid(day) then return refuse('bad_input', string.format(_('day %s is not a date'), tostring(day))) end
  local w = self.plan.window
  if day < w.from or day > w.to then
    return refuse('closed', string.format(_('%s is not within %s .. %s'), day, w.from, w.to))
  end
  if kind.window and (day < kind.window.from or day > kind.window.to) then
    return refuse('closed', string.format(_('%s: %s is not within %s .. %s'), e.kind, day, kind.window.from, kind.window.to))
  end
  if m then
    local yes, why = self:eligible(m, e.kind, e)
    if not yes then return refuse('not_eligible', why) end
  end
  if e.key ~= nil then
    local prior = db.program_entries:find('program,key', { self.id, e.key })
    if prior and m and prior.member_id and prior.member_id ~= m.member_id then
      return refuse('duplicate', string.format(_('%s was entered for another member at %s (entry %d)'), e.key,
                                               M.entry_at(prior), prior.entry_id))
    elseif prior then
      return refuse('already', string.format(_('%s was entered at %s (entry %d)'), e.key, M.entry_at(prior), prior.entry_id))
    end
  end
  local qty = e.qty or 1
  if math.type(qty) ~= 'integer' or qty < 1 then return refuse('bad_input', string.format(_('qty must be a whole number >= 1, got %s'), tostring(qty))) end
  local fen = e.fen
  if fen == nil and self.plan.amount then fen = self.plan.amount(e, m, self) end
  if fen == nil then fen = money.mul(kind.value_fen or 0, qty) end
  if math.type(fen) ~= 'integer' or fen < 0 then
    return refuse('bad_input', string.format(_('the amount must be whole fen >= 0, got %s'), tostring(fen)))
  end
  local heads = e.heads
  if heads ~= nil and (math.type(heads) ~= 'integer' or heads < 0 or m) then
    return refuse('bad_input', string.format(_('heads (a head count) is a whole number >= 0 on an entry without a member, got %s%s'),
                                             tostring(heads), m and _(' (the entry names a member)') or ''))
  end
  local union = e.union_id or e.union
  if union ~= nil and math.type(union) ~= 'integer' then
    return refuse('bad_input', string.format(_('union (the organiser union) is a union_id, got %s'), tostring(union)))
  end
  local ent = e.enterprise_id
  if ent ~= nil and math.type(ent) ~= 'integer' then
    return refuse('bad_input', string.format(_('enterprise_id is a whole number, got %s'), tostring(ent)))
  end
  local r = { program = self.id, kind = e.kind, member_id = m and m.member_id,
              household = m and household_of(m), qty = qty, fen = fen,
              place = e.place, day = day, at = at, key = e.key, run = run.uid, note = e.note,
              town = e.town,   -- a place's town when the program gives one; else the member's, when counted
              enterprise_id = ent,   -- where it took place, when not the member's enterprise
              tier = e.tier, session = session_of(self, e), heads = heads, union_id = union }
  keep_dims(self, r, m)
  if r.session == self.id then r.session = nil end   -- stored only when not the program itself
  if type(r.tier) == 'string' then   -- a tier by its name in who.tiers  since v1.4
    local ti
    for i, t in ipairs(self.plan.who.tiers) do if t.name == r.tier then ti = i end end
    if not ti then return refuse('bad_input', string.format(_("no tier '%s' in who.tiers"), r.tier)) end
    r.tier = ti
  end
  local extra = e.extra
  for k, v in pairs(e) do
    if not FRAMEWORK[k] then extra = extra or {}; extra[k] = v end
  end
  r.extra = extra
  local ls = limits_of(self, r)
  local clip = {}
  local a, code, why = check_limits(self, r, ls, clip)
  if code then return a, code, why end
  r.capped = r.capped or nil
  r.entry_id = insert_entry(r)
  add_totals(self, ls, r, 1)
  r.station = station_of(r.place)
  publish(self, r)
  r.capped_by = clip.by   -- the limit that clipped the amount (returned, not stored)  since v1.4
  return r
end

-- (the checks of enter and enter_in; errors at the caller's caller)
local function enter_args(self, e)
  if type(e) ~= 'table' then error(_('enter: expects a table { member =, kind =, ... }'), 3) end
  if self.opened then error(string.format(_("program '%s' was opened for reports: define it to enter"), self.id), 3) end
  if not self.plan.kind[e.kind] then
    local names = {}
    for _i, k in ipairs(self.plan.kinds) do names[#names + 1] = k.kind end
    error(string.format(_("program '%s' has no kind '%s' (its kinds: %s)"), self.id, tostring(e.kind),
                        table.concat(names, ', ')), 3)
  end
  self.units = self.units or units_list(self)
end

function P:enter(e)
  enter_args(self, e)
  return db.atomic(enter_txn, self, e)
end

-- P:enter in the caller's db.atomic, without a savepoint of its own: for a
-- loop whose any error aborts the whole transaction (a refusal writes
-- nothing either way). Called outside db.atomic, each write would be a
-- transaction of its own: don't. A savepoint is LMDB's nested transaction
-- (the state of every table handle cleared, each page written copied, the
-- merge into the parent growing with it: bench W8).
function P:enter_in(e)
  enter_args(self, e)
  return enter_txn(self, e)
end

-- A correction: a new entry reversing entry_id (qty, fen and counts negated).
function P:reverse(entry_id, reason, opts)
  opts = opts or {}
  if type(reason) ~= 'string' or reason == '' then error(_('reverse: give the reason'), 2) end
  self.units = self.units or units_list(self)
  return db.atomic(function()
    local o = db.program_entries:get(entry_id)
    if o then o = M.entry(o) end
    if not o or o.program ~= self.id then
      error(string.format(_("program '%s' has no entry %s"), self.id, tostring(entry_id)), 0)
    end
    if o.reverses then error(string.format(_('entry %s is itself a correction'), entry_id), 0) end
    local prior = db.program_entries:find('reverses', entry_id)
    if prior then return nil, 'already', string.format(_('entry %s was reversed by entry %s'), entry_id, prior.entry_id) end
    local r = {}
    for k, v in pairs(o) do r[k] = v end
    r.entry_id, r.key, r.extra, r.capped = nil, nil, nil, nil
    r.qty, r.fen, r.reverses = -o.qty, -o.fen, entry_id
    r.at, r.run, r.note = opts.at or dates.now(), run.uid, reason
    local ls = limits_of(self, r)
    r.entry_id = insert_entry(r)
    add_totals(self, ls, r, -1)
    r.station = station_of(r.place)
    publish(self, r)
    return r
  end)
end

-- Whether rebuild_totals has anything to do: a limit whose totals are kept
-- (not the once-per-member ones the ledger answers), or totals stored
-- before. Without, a backfill of a chunk does not recount the program's
-- whole ledger (bench/w9/year.lua backfills a city's year chunk by chunk).
local function keeps_totals(self)
  for _i, list in pairs(self.by_kind) do
    for _i, l in ipairs(list) do if not ledger_once(l) then return true end end
  end
  return db.program_totals:count{ program = self.id } > 0
end

-- Entries made before the program stood on the framework (a migration of
-- an old database): each row { kind, member_id, household?, qty?, fen, day,
-- at?, key?, run?, town?, tier?, note?, extra? } goes into the ledger as it
-- was decided then — no eligibility, window or limit checked — with its
-- standard event, so the year report counts it; then the totals are
-- rebuilt from the ledger. One transaction. Returns the entry ids, in
-- order. Works on a program opened for reports too (it runs no rule).  since v1.4
function P:backfill(rows)
  return db.atomic(function()
    local ids = {}
    for i, x in ipairs(rows) do
      if not self.plan.kind[x.kind] then
        error(string.format(_("backfill: row %d: program '%s' has no kind '%s'"), i, self.id, tostring(x.kind)), 0)
      end
      local r = { program = self.id, kind = x.kind, member_id = x.member_id,
                  household = x.household or (x.member_id and ('m' .. x.member_id)), qty = x.qty or 1,
                  fen = x.fen or 0, place = x.place, day = x.day, at = x.at or (x.day .. ' 00:00:00'),
                  key = x.key, run = x.run, town = x.town, tier = x.tier, note = x.note, extra = x.extra,
                  enterprise_id = x.enterprise_id, heads = x.heads, union_id = x.union_id,
                  session = x.session or session_of(self, x) }
      if r.session == self.id then r.session = nil end
      r.entry_id = insert_entry(r)
      publish(self, r)
      ids[i] = r.entry_id
    end
    if #rows > 0 and keeps_totals(self) then self:rebuild_totals() end
    return ids
  end)
end

-- The limits of a grant of `kind` on `day` in the common case ("simple"):
-- program-wide limits (budget, stock: `wide`) and at most one once per
-- member (`once`), the amount the same for all. simple is false when any
-- other limit applies.
local function grant_limits(self, kind, day)
  local wide, once, simple = {}, nil, true
  for _i, l in ipairs(kind_limits(self, kind)) do
    if not applies(l, { kind = kind, day = day }) then
    elseif #l.per == 0 and not l.clip then wide[#wide + 1] = l
    elseif ledger_once(l) and not once then once = l
    else simple = false end
  end
  for _i, l in ipairs(self.plan.limits) do
    if l.per[1] == 'entry' and applies(l, { kind = kind, day = day }) then simple = false end
  end
  return wide, once, simple
end

-- The first of the program-wide limits w (with their totals) that refuses
-- one more entry of qty and fen, or nil.
local function wide_refusing(w, qty, fen)
  for _i, x in ipairs(w) do
    local l = x.l
    if (l.max_qty and x.qty + qty > l.max_qty) or (l.max_count and x.count + 1 > l.max_count)
       or (l.max_fen and x.fen + fen > l.max_fen) then
      return l
    end
  end
end

-- grant_all's C path (core/lua_select.c: INSERT ... SELECT): the simple case
-- with no rules, on a kind with no entry but this call's ("clean": then no
-- member met can hold one, so once per member needs no lookup). The
-- program-wide limits become a count computed up front; the members beyond
-- it are counted under the refusing limit's code, as the loop counts them.
-- Returns true when done, or the last member visited when another process
-- entered this kind between two batches (grant_all goes on from there with
-- lookups), or nil when the kind was not clean to begin with.
local function grant_select(self, kind, k, opts, where, wide_l, counts, at, day, qty, session)
  local pid = self.id
  local fen0 = money.mul(k.value_fen or 0, qty)
  local tpl = { program = pid, kind = kind, qty = qty, day = day, at = at, run = run.uid, fen = fen0,
                session = session ~= pid and session or nil }
  to_stored(tpl)
  -- the household of one is not stored (format 2), nor sent in the event
  -- (M.household_of_entry and program.entry_of_event put it back)
  local take = { member_id = 'member_id', household = has_member_field('household') and 'household' or nil }
  if ledger_format == 1 then   -- format 1: stored as 'm' .. member_id
    take.household = has_member_field('household') and { 'household', or_key = 'm' } or { or_key = 'm' }
  end
  -- the compact event (event_of): trailing defaults left out
  local fields = { 'program', 'entry_id', 'kind', 'member_id', 'fen', 'day', 'household' }
  if qty ~= 1 or tpl.session then fields[#fields + 1] = 'qty' end
  if tpl.session then fields[#fields + 1] = 'session' end
  local after, last_id, done, first = nil, nil, false, true
  while not done do
    local stop = db.atomic(function()
      if first then
        for _i in db.program_entries:scan{ index = 'program,kind', eq = { pid, kind }, limit = 1 } do return 'unclean' end
      elseif last_id then
        for r in db.program_entries:scan{ reverse = true, limit = 1 } do
          if r.entry_id ~= last_id then return 'moved' end
        end
      end
      local fresh = first and db.program_totals:count{ program = pid } == 0
      local w, room = {}, math.huge
      for _i, l in ipairs(wide_l) do
        local key = pid .. '|' .. l.name
        local t = fresh and { count = 0, qty = 0, fen = 0 } or db_totals(self, key, l, {})
        w[#w + 1] = { l = l, key = key, count = t.count, qty = t.qty, fen = t.fen }
        local r = math.huge
        if l.max_count then r = math.min(r, l.max_count - t.count) end
        if l.max_qty and qty > 0 then r = math.min(r, (l.max_qty - t.qty) // qty) end
        if l.max_fen and fen0 > 0 then r = math.min(r, (l.max_fen - t.fen) // fen0) end
        room = math.min(room, math.max(r, 0))
      end
      local want = opts.batch and math.min(opts.batch, room) or room
      local n, last_src, last_new = db.program_entries:insert_select{
        from = db.members, where = where, set = tpl, take = take, after = after,
        limit = want ~= math.huge and want or nil, publish = { topic = EVENT, fields = fields } }
      counts.entered = counts.entered + n
      counts.fen = counts.fen + n * fen0
      if counts.fen > money.MAX or (fen0 > 0 and counts.fen // fen0 < counts.entered) then
        error(_('amount overflow: the grants add up to ') .. counts.fen .. ' fen', 0)
      end
      after, last_id = last_src or after, last_new or last_id
      for _i, x in ipairs(w) do
        x.count, x.qty, x.fen = x.count + n, x.qty + n * qty, x.fen + n * fen0
        db.program_totals:put{ tkey = x.key, program = pid, limit = x.l.name, count = x.count, qty = x.qty, fen = x.fen }
      end
      done = want == math.huge or n < want
      if not done and n < room and after ~= nil then
        -- a full batch: the last one if no eligible member comes after it
        -- (check belongs in the transaction of the batch with the last member)
        local w1 = { index = 'member_id', from = after + 1, limit = 1 }
        for f, v in pairs(where) do w1[f] = v end
        done = true
        for _m in db.members:scan(w1) do done = false end
      end
      if not done and n == room then
        -- a limit is reached: every eligible member not given one is refused
        -- by the first limit that refuses one more (all before were given)
        local rest = db.members:count(where) - counts.entered
        if rest > 0 then
          local l = wide_refusing(w, qty, fen0)
          local code = l and l.code or 'limit'
          counts[code] = (counts[code] or 0) + rest
        end
        done = true
      end
      if done and opts.check then opts.check(counts) end
    end)
    if stop == 'unclean' then return nil end
    if stop == 'moved' then return after or true end
    first = false
  end
  return true
end

-- Grants kind to every eligible member (the registry query of who.where and
-- the kind's where, checked in C; then the rules), each an entry under every
-- limit, in one transaction (opts.batch: members per transaction instead).
-- Safe to re-run: those who have it are counted under their refusal code.
-- opts: at, day, place, qty, batch, check, loop (true: the Lua loop even in the common case,
-- to compare). Returns { entered =, fen =, [code] = n }.
-- check(counts), when given, is called in the (last batch's) transaction
-- before it commits: an error from it stores nothing of that transaction.
-- (Inside a caller's db.atomic every batch is a savepoint, and LMDB's nested
-- transactions search their dirty pages on every write: about 1,500
-- instructions an entry. A check that must see the grant belongs in check.)
-- The fast path of the framework (bench W2): conditions in the scan,
-- prepared inserts, running totals kept in Lua and written once a batch, and
-- for a program with nothing entered yet no reads of totals at all.
function P:grant_all(kind, opts)
  opts = opts or {}
  local k = self.plan.kind[kind]
  if not k then error(string.format(_("program '%s' has no kind '%s'"), self.id, tostring(kind)), 2) end
  if self.opened then error(string.format(_("program '%s' was opened for reports: define it to grant"), self.id), 2) end
  self.units = self.units or units_list(self)
  local at = opts.at or dates.now()
  local day = opts.day or at:sub(1, 10)
  local qty = opts.qty or 1
  local where, recheck = {}, nil
  for f, v in pairs(self.plan.who.where) do where[f] = v end
  for f, v in pairs(k.where or {}) do
    if where[f] == nil then where[f] = v else recheck = true end
  end
  local rules = recheck or self.plan.who.rule or k.rule
  local session = session_of(self, { kind = kind })
  local counts = { entered = 0, fen = 0 }
  local function refused(code) counts[code] = (counts[code] or 0) + 1 end
  local w = self.plan.window
  local kw = k.window or w
  if day < w.from or day > w.to or day < kw.from or day > kw.to then
    counts.closed = db.members:count(where)
    if opts.check then db.atomic(opts.check, counts) end
    return counts
  end
  -- the common case in C (grant_select); resume: where it stopped, when
  -- another process entered this kind between two batches
  local resume
  if not rules and not opts.place and not self.plan.amount and opts.loop ~= true then
    local wide_l, _once, simple = grant_limits(self, kind, day)
    if simple then
      local r = grant_select(self, kind, k, opts, where, wide_l, counts, at, day, qty, session)
      if r == true then return counts end
      resume = r
    end
  end
  local ids, hhs
  local has_hh = has_member_field('household')
  if opts.batch then
    -- the ids (and households) of the eligible, read once: a batch then
    -- reads no member again unless a rule or a limit needs the whole row
    ids, hhs = {}, {}
    for m in db.members:scan(where) do
      if not resume or m.member_id > resume then
        local n = #ids + 1
        ids[n] = m.member_id
        if has_hh then hhs[n] = m.household or false end
      end
    end
  end
  local i, n = 1, ids and #ids or 1
  -- clean: no entry of this kind was made but by this call. A scan yields
  -- each member once, so then no member met can have one already, and a
  -- once-per-member limit needs no lookup. It holds for a later batch while
  -- the ledger's last entry is still this call's last (entries are only
  -- appended), so another process entering between two batches ends it.
  local clean, last_id, seen = nil, nil, {}
  local function kind_empty()
    for _i in db.program_entries:scan{ index = 'program,kind', eq = { self.id, kind }, limit = 1 } do return false end
    return true
  end
  local function ledger_last()
    for r in db.program_entries:scan{ reverse = true, limit = 1 } do return r.entry_id end
  end
  while i <= n do
    local last = ids and math.min(i + opts.batch - 1, n) or n
    db.atomic(function()
      if clean == nil or (clean and not last_id) then clean = kind_empty()
      elseif clean and ledger_last() ~= last_id then clean = false end
      local fresh = clean and db.program_totals:count{ program = self.id } == 0
      local cache = {}
      local function get(s, key, l, e)
        if ledger_once(l) then
          if clean then return { count = seen[e.member_id] or 0, qty = 0, fen = 0, ledger = true } end
          return db_totals(s, key, l, e)
        end
        local t = cache[key]
        if not t then
          t = fresh and { count = 0, qty = 0, fen = 0 } or db_totals(s, key, l, e)
          t.limit = l.name
          cache[key] = t
        end
        return t
      end
      -- the common case: program-wide limits (budget, stock) and once per
      -- member, the amount the same for all: checked here with no tables made
      local wide_l, once, simple = grant_limits(self, kind, day)
      simple = simple and not self.plan.amount and not opts.place
      local wide = {}
      for _i, l in ipairs(wide_l) do
        local key = self.id .. '|' .. l.name
        local t = fresh and { count = 0, qty = 0, fen = 0 } or db_totals(self, key, l, {})
        wide[#wide + 1] = { l = l, key = key, count = t.count, qty = t.qty, fen = t.fen }
      end
      local fen0 = money.mul(k.value_fen or 0, qty)
      -- (the amount is the same for all here: a constant of the prepared insert)
      local tpl = { program = self.id, kind = kind, qty = qty, day = day, at = at, run = run.uid,
                    session = session ~= self.id and session or nil, place = opts.place }
      to_stored(tpl)
      local v1_hh = ledger_format == 1   -- format 1 stores the household of one
      local insert
      if simple then
        tpl.fen = fen0
        insert = db.program_entries:prepare_insert(tpl, 'member_id', 'household')
      else
        insert = db.program_entries:prepare_insert(tpl, 'member_id', 'household', 'fen')
      end
      local publish_ = bus.publish
      -- (a scan yields each member once: with nothing entered yet, a member
      -- seen in this batch cannot have been given before, so `once` needs no
      -- lookup at all)
      local nwide, pid = #wide, self.id
      -- m: the member's row (nil when no rule needs it: mid and hh given)
      local function fast(m, mid, hh)
        if m then
          mid = m.member_id
          if rules and not self:eligible(m, kind) then return refused('not_eligible') end
          hh = has_hh and m.household or nil   -- nil: the household of one (made once, below)
        end
        if once and not clean then
          if db_totals(self, nil, once, { member_id = mid }).count + 1 > once.max_count then
            return refused(once.code or 'limit')
          end
        end
        local l = nwide > 0 and wide_refusing(wide, qty, fen0)
        if l then return refused(l.code or 'limit') end
        local id = insert(mid, hh or (v1_hh and ('m' .. mid) or nil))
        last_id = id
        for j = 1, nwide do
          local w = wide[j]
          w.count, w.qty, w.fen = w.count + 1, w.qty + qty, w.fen + fen0
        end
        publish_(EVENT, event_of(pid, id, kind, mid, hh, qty, fen0, day, session))
        counts.entered = counts.entered + 1
        counts.fen = counts.fen + fen0
      end
      local function each(m)
        local ok = true
        if rules then ok = self:eligible(m, kind) end
        if not ok then
          refused('not_eligible')
        else
          local fen = self.plan.amount and self.plan.amount({ kind = kind, qty = qty }, m, self)
                      or money.mul(k.value_fen or 0, qty)
          local r = { program = self.id, kind = kind, member_id = m.member_id,
                      household = household_of(m), qty = qty, fen = fen,
                      place = opts.place, day = day, at = at, session = session,
                    }
          keep_dims(self, r, m)
          local ls = limits_of(self, r, get)
          local _i, code = check_limits(self, r, ls)
          if code then
            refused(code)
          else
            local h = r.household
            r.entry_id = insert(r.member_id, (v1_hh or h ~= 'm' .. r.member_id) and h or nil, r.fen)
            last_id = r.entry_id
            for _i, t in ipairs(ls) do
              if t.ledger then
                seen[r.member_id] = (seen[r.member_id] or 0) + 1
              else
                local c = cache[t.key]
                c.count, c.qty, c.fen = c.count + 1, c.qty + r.qty, money.add(c.fen, r.fen)
              end
            end
            r.station = opts.place and station_of(opts.place)
            publish(self, r)
            counts.entered = counts.entered + 1
            counts.fen = money.add(counts.fen, r.fen)
          end
        end
      end
      local f = simple and fast or each
      if ids and simple and not rules then
        for j = i, last do fast(nil, ids[j], hhs[j] or nil) end
      elseif ids then
        for j = i, last do f(db.members:get(ids[j])) end
      else
        for m in db.members:scan(where) do
          if not resume or m.member_id > resume then f(m) end
        end
      end
      if counts.fen > money.MAX then error(_('amount overflow: the grants add up to ') .. counts.fen .. ' fen', 0) end
      for _i, w in ipairs(wide) do
        if simple then cache[w.key] = { limit = w.l.name, count = w.count, qty = w.qty, fen = w.fen } end
      end
      for key, t in pairs(cache) do
        db.program_totals:put{ tkey = key, program = self.id, limit = t.limit, count = t.count,
                               qty = t.qty, fen = t.fen }
      end
      if opts.check and last == n then opts.check(counts) end
    end)
    i = last + 1
  end
  if opts.check and n == 0 then db.atomic(opts.check, counts) end -- nobody eligible
  return counts
end

function P:entries(kind)
  local out = {}
  for r in db.program_entries:scan{ index = 'program,kind', eq = kind and { self.id, kind } or { self.id } } do
    out[#out + 1] = M.entry(r)
  end
  return out
end

-- Totals recomputed from the ledger: { [tkey] = { limit, count, qty, fen } }.
local function recount(self)
  local out = {}
  for r in db.program_entries:scan{ index = 'program,kind', eq = { self.id } } do
    local e = M.entry(r)
    local sign = e.reverses and -1 or 1
    for _i, l in ipairs(kind_limits(self, e.kind)) do
      local k = applies(l, e) and not ledger_once(l) and tkey(self, l, e)
      if k then
        local t = out[k] or { limit = l.name, count = 0, qty = 0, fen = 0 }
        out[k] = t
        t.count, t.qty, t.fen = t.count + sign, t.qty + e.qty, money.add(t.fen, e.fen)
        -- the limit's max at this key (per tier: the highest of its entries' tiers)
        local el = effective(l, e)
        local max = el.max_fen or el.max_count or el.max_qty
        if l.places then max = e.place and l.places[e.place] end
        if l.quotas then max = quota_of(l, e) end
        if max and (not t.max or max > t.max.max) then t.max = { l = el, max = max } end
      end
    end
  end
  return out
end

-- ok, problems: every stored total equals the ledger's, and no limit is passed.
function P:check()
  local want = recount(self)
  local ledger = {}
  for k, w in pairs(want) do ledger[k] = w end
  local problems = {}
  for t in db.program_totals:scan{ program = self.id } do
    local w = want[t.tkey] or { count = 0, qty = 0, fen = 0 }
    for _i, f in ipairs{ 'count', 'qty', 'fen' } do
      if t[f] ~= w[f] then
        problems[#problems + 1] = string.format(_('%s: %s %d (totals) vs %d (ledger)'), t.tkey, f, t[f], w[f])
      end
    end
    want[t.tkey] = nil
  end
  for k, w in pairs(want) do
    if w.count ~= 0 or w.qty ~= 0 or w.fen ~= 0 then
      problems[#problems + 1] = string.format(_('%s: no totals row, the ledger has count %d, fen %d'), k, w.count, w.fen)
    end
  end
  -- no limit passed (a limit lowered after entries, by a declared change)
  for k, w in pairs(ledger) do
    local m = w.max
    if m then
      local l = m.l
      local used = l.max_fen and w.fen or (l.max_count and w.count) or w.qty
      if used > m.max then
        problems[#problems + 1] = string.format(_('%s: %s given, over %s'), k,
                                                l.max_fen and (money.yuan(used) .. ' yuan') or tostring(used),
                                                describe(l))
      end
    end
  end
  table.sort(problems)
  return #problems == 0, problems
end

function P:rebuild_totals()
  local want = recount(self)
  db.atomic(function()
    local old = {}
    for t in db.program_totals:scan{ program = self.id } do old[#old + 1] = t.tkey end
    for _i, k in ipairs(old) do db.program_totals:delete(k) end
    for k, t in pairs(want) do
      db.program_totals:insert{ tkey = k, program = self.id, limit = t.limit, count = t.count,
                                qty = t.qty, fen = t.fen }
    end
  end)
end

-- ---- reports --------------------------------------------------------------------------

-- 人次: entries with a member; 人: distinct members; 户次: for each kind, the
-- distinct households that received it, summed over kinds; households: distinct.
-- The distinct ones are kept as bits of integers (a set's word per 64
-- numbers: at 1,000,000 members a city's persons are 16,000 words), not
-- as a table entry per member and a string per household key: the report
-- of a city's gift drive (289,419 entries) held 550 MB that way.
local function cell()
  return { person_times = 0, persons = 0, household_times = 0, households = 0, qty = 0, fen = 0,
           _p = {}, _h = {}, _hk = {} }
end

local bit_add = require('bitset').add -- adds integer n to bit set s; true when it was not there

-- A report's numbering of what it counts as distinct: members by their
-- integer id (else a number of their own), households 'H123' by 123 (the
-- sample's and import's form), the household of one 'm123' (or none stored)
-- by 2^38 + 123, any other household name, kind and day by the order first
-- seen. A household-times key packs household (40 bits),
-- kind (8) and day (15) in one integer.
local BIG, OWN = 1 << 39, 1 << 38    -- names from BIG on, households of one from OWN
local function numbering()
  local n = { names = {}, next = BIG, kinds = {}, nk = 0, days = {}, nd = 0 }
  function n.name(v)
    local x = n.names[v]
    if not x then x = n.next; n.next = x + 1; n.names[v] = x end
    return x
  end
  function n.member(id)
    return math.type(id) == 'integer' and id >= 0 and id < BIG and id or n.name('m' .. tostring(id))
  end
  function n.household(h)
    local l, d = h:match('^([Hm])(%d+)$')
    local x = d and #d < 12 and math.tointeger(tonumber(d))
    if x and x < OWN then return l == 'H' and x or OWN + x end
    return n.name(h)
  end
  function n.own(id)                  -- the household of one of member id ('m' .. id)
    return math.type(id) == 'integer' and id >= 0 and id < OWN and OWN + id or n.household('m' .. tostring(id))
  end
  function n.hkey(h, kind, day)
    local k = n.kinds[kind]
    if not k then n.nk = n.nk + 1; k = n.nk; n.kinds[kind] = k end
    local d = 0
    if day then
      d = n.days[day]
      if not d then n.nd = n.nd + 1; d = n.nd; n.days[day] = d end
    end
    if k > 255 or d > 32767 then return n.name(h .. '|' .. kind .. '|' .. (day or '')) end   -- not seen in practice
    return h | (k << 40) | (d << 48)
  end
  return n
end

-- e: an entry (a table, or a row read a field at a time)
local function count(c, e, num, by_day)
  local id = e.member_id
  c.person_times = c.person_times + (id and 1 or 0) + (e.heads or 0)
  if id and bit_add(c._p, num.member(id)) then c.persons = c.persons + 1 end
  local hh = e.household                -- (not stored for a household of one: M.household_of_entry)
  local h = hh and num.household(hh) or id and num.own(id)
  if h then
    if bit_add(c._hk, num.hkey(h, e.kind, by_day and e.day)) then c.household_times = c.household_times + 1 end
    if bit_add(c._h, h) then c.households = c.households + 1 end
  end
  c.qty = c.qty + e.qty
  c.fen = money.add(c.fen, e.fen)
end

-- The program's figures from the ledger (reversed entries and their
-- reversals left out): total, per kind, and per opts.by (town, enterprise,
-- station, place, kind, or any member field); the limits with what is used.
-- opts.year: only entries dated in that year; opts.from = 'log': the same
-- report from the program's program.entry events alone (what a federation
-- that receives only the log computes), since v1.4.
-- The ledger is read twice (the reversals, then the rest) and no entry is
-- kept: a city's drive is counted in a few MB.
function P:report(opts)
  opts = opts or {}
  local function each(fn)             -- fn(e) for the program's entries of opts.year
    local function add(e)
      if opts.year and math.tointeger(tonumber(e.day:sub(1, 4))) ~= opts.year then return end
      fn(e)
    end
    if opts.from == 'log' then
      local from = 1
      while true do
        local evs = bus.events{ from = from, topic = M.EVENT, limit = 1000 }
        for _i, ev in ipairs(evs) do
          local x = type(ev.payload) == 'table' and ev.payload
          if x and (x.program or x[1]) == self.id then add(M.entry_of_event(x)) end
        end
        if #evs < 1000 then break end
        from = evs[#evs].seq + 1
      end
    else
      for r in db.program_entries:scan{ index = 'program,kind', eq = { self.id } } do add(r) end
    end
  end
  local reversed = {}
  each(function(e)
    local rv = e.reverses
    if rv then reversed[rv] = true; reversed[e.entry_id] = true end
  end)
  local rep = { program = self.id, title = self.title, from = self.plan.window.from,
                to = self.plan.window.to, total = cell(), kinds = {}, by = {}, by_field = opts.by,
                limits = {}, reversed = 0 }
  local kinds = {}
  local by_day = self.plan.household_times == 'day'
  local num = numbering()
  each(function(e)
    if next(reversed) and reversed[e.entry_id] then
      if not e.reverses then rep.reversed = rep.reversed + 1 end
      return
    end
    count(rep.total, e, num, by_day)
    local kind = e.kind
    kinds[kind] = kinds[kind] or cell()
    count(kinds[kind], e, num, by_day)
    if opts.by then
      local v
      if opts.by == 'station' or opts.by == 'place' then v = e.place
      elseif opts.by == 'kind' then v = kind
      elseif opts.by == 'tier' then v = e.tier and self.plan.who.tiers[e.tier] and self.plan.who.tiers[e.tier].name
      elseif opts.by == 'town' then v = e.town or (e.member_id and db.members:get(e.member_id, 'town'))
      elseif opts.by == 'enterprise' then v = e.member_id and db.members:get(e.member_id, 'enterprise_id')
      elseif e.member_id then v = db.members:get(e.member_id, opts.by) end
      v = v == nil and '(none)' or tostring(v)
      rep.by[v] = rep.by[v] or cell()
      count(rep.by[v], e, num, by_day)
    end
  end)
  for _i, k in ipairs(self.plan.kinds) do
    rep.kinds[#rep.kinds + 1] = { kind = k.kind, title = k.title, cell = kinds[k.kind] or cell() }
  end
  -- the sets are the count's, not the report's (a city's by-town cells held 16 MB of them)
  local function done(c) c._p, c._h, c._hk = nil, nil, nil end
  done(rep.total)
  for _i, k in ipairs(rep.kinds) do done(k.cell) end
  for _k, c in pairs(rep.by) do done(c) end
  for t in db.program_totals:scan{ program = self.id } do
    for _i, l in ipairs(self.plan.limits) do
      if l.name == t.limit then
        local max = l.max_fen or l.max_count or l.max_qty
        if l.places then max = l.places[t.tkey:match('[^|]*$')] end
        if l.quotas then
          local v = t.tkey:match('[^|]*$')
          max = l.quotas[v] or l.quotas[math.tointeger(tonumber(v)) or v] or l.quotas['*']
        end
        rep.limits[#rep.limits + 1] = { key = t.tkey, limit = l.name, used = l.max_fen and t.fen or
                                        l.max_count and t.count or t.qty, max = max, fen = l.max_fen ~= nil }
      end
    end
  end
  table.sort(rep.limits, function(a, b) return a.key < b.key end)
  rep.ok, rep.problems = self:check()
  return rep
end

function M.format(rep)
  local fmt = require 'fmt'
  local out = { fmt.heading(rep.title, rep.program, rep.from, rep.to), '' }
  local rows = {}
  for _i, k in ipairs(rep.kinds) do
    local c = k.cell
    rows[#rows + 1] = { k.title, c.person_times, c.persons, c.household_times, c.qty, money.yuan(c.fen) }
  end
  local t = rep.total
  rows[#rows + 1] = { gettext('total'), t.person_times, t.persons, t.household_times, t.qty, money.yuan(t.fen) }
  out[#out + 1] = fmt.table({ gettext('kind'), '人次', '人', '户次', gettext('qty'), gettext('yuan') }, rows, { right = { 2, 3, 4, 5, 6 } })
  if rep.by_field then
    local keys = {}
    for k in pairs(rep.by) do keys[#keys + 1] = k end
    table.sort(keys)
    local r2 = {}
    for _i, k in ipairs(keys) do
      local c = rep.by[k]
      r2[#r2 + 1] = { k, c.person_times, c.persons, c.household_times, money.yuan(c.fen) }
    end
    out[#out + 1] = ''
    out[#out + 1] = fmt.table({ gettext(rep.by_field), '人次', '人', '户次', gettext('yuan') }, r2, { right = { 2, 3, 4, 5 } })
  end
  if rep.reversed > 0 then out[#out + 1] = string.format(_('(%d entries reversed, not counted)'), rep.reversed) end
  if not rep.ok then
    out[#out + 1] = gettext('PROBLEMS (the totals and the ledger disagree):')
    for _i, p in ipairs(rep.problems) do out[#out + 1] = '  ' .. p end
  end
  return table.concat(out, '\n')
end

-- ---- helpers ----------------------------------------------------------------------------

-- Masks for public lists, from core/pii.c (the pii global), the one home of
-- the rule: '张三明' -> '张*明', '李娜' -> '李*', IDs 330481********1234, phones 138****5678.
function M.mask_name(name) return type(name) == 'string' and name ~= '' and pii.mask(name, 'name') or name end
function M.mask_id(id) return type(id) == 'string' and id ~= '' and pii.mask(id, 'id') or id end
function M.mask_phone(p) return type(p) == 'string' and p ~= '' and pii.mask(p, 'phone') or p end

-- A script parameter as the script wants it. kinds: text (default), int, yuan (-> fen),
-- date, id (an ID number, checked). A missing one is `default`, or a usage error.
function M.param(name, kind, default)
  local v = params[name]
  if v == nil or v == '' then
    if default ~= nil then return default end
    run.fail(string.format(_('parameter %s= is missing (give %s=...)'), name, name))
  end
  local text = tostring(v)
  kind = kind or 'text'
  if kind == 'text' then return text end
  if kind == 'int' then
    local n = text:match('^[%+%-]?%d+$') and math.tointeger(tonumber(text))
    if not n then run.fail(string.format(_('parameter %s=%s: expected a whole number'), name, text)) end
    return n
  end
  if kind == 'yuan' then
    local f, why = money.fen(text)
    if not f then run.fail(string.format(_('parameter %s=%s: %s'), name, text, why)) end
    return f
  end
  if kind == 'date' then
    local d, why = parse.date(text)
    if not d then run.fail(string.format(_('parameter %s=: %s'), name, why)) end
    return d
  end
  if kind == 'id' then
    local id, why = parse.id(text)
    if not id then run.fail(string.format(_('parameter %s=: %s'), name, why)) end
    return id
  end
  error(_("param: kind is 'text', 'int', 'yuan', 'date' or 'id', got ") .. tostring(kind), 2)
end

-- A refusal ends a command script: r, or the run fails with 'refused (CODE): WHY'
-- (exit code 1, no traceback). The one home of that message for every
-- command script (yearly.lua's must before).
function M.must(r, code, why)
  if not r then run.fail(string.format(_('refused (%s): %s'), tostring(code), tostring(why))) end
  return r
end

-- Calls fn(...); an error in it ends the run as a refusal: 'refused: message'
-- and exit code 1, without a traceback (run.fail); nothing of the refused
-- step is stored. --> fn's results
function M.try(fn, ...)
  local r = table.pack(pcall(fn, ...))
  if not r[1] then run.fail(string.format(_('refused: %s'), tostring(r[2]))) end
  return table.unpack(r, 2, r.n)
end

-- Runs fn; an error raised with a plain message (plans, usage: level 0) ends
-- the run with it and no traceback.
function M.cli(fn, ...)
  local r = table.pack(pcall(fn, ...))
  if not r[1] then
    local err = r[2]
    if type(err) == 'string' and not err:match('^[^:\n]+%.lua:%d+:') then run.fail(err) end
    error(err, 0)
  end
  return table.unpack(r, 2, r.n)   -- every result of fn (since v1.2, fwB)
end

-- Sub-modules attach methods to P (sheet entry, draws, public lists) and
-- functions to M. They are loaded on the first use of a name they attach,
-- not at require: compiling them cost a program that only enters or grants
-- about 50 M instructions (bench W7). A name looked up on P or M that is
-- not there loads them all, once, and is looked up again; the fields a
-- program object may lack (below) do not.
M.P = P
local SUBS = { 'program.sheet', 'program.draw', 'program.public', 'program.cli' }
local ABSENT = { opened = true, units = true }   -- a program object's own optional fields
local attached = false
local function attach_all()
  if attached then return end
  attached = true
  setmetatable(P, nil)
  setmetatable(M, nil)
  for _i, sub in ipairs(SUBS) do require(sub).attach(M, P) end
end
M.attach_all = attach_all
local function lazy(t)
  return function(_t, key)
    if attached or ABSENT[key] or type(key) ~= 'string' or key:sub(1, 2) == '__' then return nil end
    attach_all()
    return rawget(t, key)
  end
end
setmetatable(P, { __index = lazy(P) })
setmetatable(M, { __index = lazy(M) })

return M
