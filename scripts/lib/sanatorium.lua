-- sanatorium.lua — the workers' sanatorium (职工疗休养) and the mobile
-- check-up van (流动体检车), on the program framework (scripts/lib/program.lua).
-- README: "Workers' sanatorium"; commands: scripts/sanatorium/.
--
--   local sanatorium = require 'sanatorium'
--   local S = sanatorium.load('plan')          -- scripts/sanatorium/plan.lua (or sanatorium.define(t))
--   S:apply{ member = ID, choices = { 'B01', 'B03' } }    --> application | nil, code, why
--   S:commit(seed [, { party = 'committee' }])  -- optional: a party's sealed seed, before the list closes
--   S:close{ public = 'SOURCE', after = 'YYYY-MM-DD HH:MM' }   -- the applicants fixed, at the host's clock
--   S:allocate{ public = 'VALUE' [, seed = SEED] }   -- the draw nobody can bias (program/draw.lua, gonghui-draw-v2)
--   S:withdraw(ID, reason)                      --> { reversed =, moved_up = } : the waiting list moves up
--   S:assign{ member =, batch = }               -- a clerk's placement, under every rule
--   S:attend{ member =, batch =, present = true, score = 5 }
--   S:report()  S:public_list()  S:waiting()  S:verify([published])
--   S:visit{ visit =, enterprise =, day = }  S:checked{ member =, visit = }   -- the van
--   sanatorium.sample{ seed = 2025, year = 2025 }   -- a year of activity for sample_data.lua
--
-- THE MAPPING. The year's stays are one framework program (plan.id), kind
-- 'stay', whose places are the batches (期次: place = the batch's code, day =
-- its first day, so a batch is a 场次 and its cost the entry's fen):
--   beds of a batch          -> the kind's places (quota per place)
--   one stay a year          -> per_member = 1
--   enterprise cap per batch -> limit per { place, enterprise }, max_qty
--   places per union         -> limit per union with quotas
--   no second stay within N years, the groups offered, an application
--                            -> the program's rule (who.rule), checked in
--                               the entry's transaction
--   priority tiers           -> who.tiers (rules on groups, title levels, years of membership)
--   allocation               -> P:draw with choices (a ranking of every applicant per tier,
--                               each placed in the first choice every limit accepts)
--   waiting list, withdrawal -> P:waiting_list, P:reverse + P:move_up
-- The check-ups are a second program (plan.checkup.id), kind 'check', one
-- entry per worker checked, session = the visit (场次). Nothing medical is
-- stored: the entry says a check took place, no more.
--
-- INVARIANTS
--   1. Every placement is a ledger entry made by P:enter inside a
--      transaction that checks the beds, the caps, the quotas and the rule
--      (gonghui lets one writer in at a time): two clerks, or two programs
--      of two years, never give one member two stays within N years.
--   2. The allocation follows from the published entrant lists, the public
--      value named when they closed (and a committed party's seed) and the
--      applications alone: nobody, the organiser included, can choose it
--      (README "Draws nobody can bias"); S:verify re-draws every tier with the
--      lottery plugin and re-runs the placement over the plan's numbers.
--   3. Applications, attendance and scores are this program's own records;
--      the figures of the report come from them and the ledger, never typed in.
local _ = gettext
local program = require 'program'
local plan_mod = require 'program.plan'
local registry = require 'registry'
local dates = require 'dates'
local money = require 'program.money'
local fmt = require 'fmt'
local bit_add = require('bitset').add

local M = {}
local S = {}
S.__index = S

M.GROUPS = {                                  -- the groups places are offered to
  model = '劳模工匠', skilled = '技能人才', new_form = '新就业形态劳动者', front_line = '一线职工',
}
M.GROUP_ORDER = { 'model', 'skilled', 'new_form', 'front_line' }
M.FRONT_LINE = { 'factory', 'sanitation', 'construction', 'driver', 'courier', 'gig_delivery' }

local refuse = program.refuser{
  bad_input = N_('bad input'), not_found = N_('not found'), not_eligible = N_('not eligible'),
  closed = N_('outside the dates'), already = N_('already done'), none = N_('nobody to move up'),
}

function M.define_collections()
  program.define_collections()
  registry.define_titles()
  db.define('sanatorium_applications', {
    key = 'app_id', auto = true,
    fields = { app_id = 'int', program = 'string', member_id = 'int', choices = 'any', group = 'string',
               at = 'string', status = 'string',          -- applied, withdrawn
               withdrawn_at = 'string?', reason = 'string?', run = 'string?' },
    unique = { { 'program', 'member_id' } },
    index = { { 'program', 'status' } },
  })
  db.define('sanatorium_stays', {             -- attendance and satisfaction, one per placement
    key = 'entry_id',
    fields = { entry_id = 'int', program = 'string', batch = 'string', member_id = 'int',
               attended = 'bool', score = 'int?', at = 'string', run = 'string?' },
    index = { { 'program', 'batch' } },
  })
  db.define('checkup_visits', {               -- the van's visits (场次); no medical data anywhere
    key = 'visit_id',
    fields = { visit_id = 'string', program = 'string', enterprise_id = 'int', day = 'date',
               place = 'string?', town = 'string?', at = 'string', run = 'string?' },
    index = { 'program' },
  })
end

-- ---- the plan --------------------------------------------------------------------------

-- The plan's keys are checked by the framework's plan checker (program/plan.lua):
-- one dialect of types and one wording of every problem.
local fail, keys = plan_mod.fail, plan_mod.keys

local TOP = { id = 'string', title = 'string', year = 'integer', union = 'integer?', batches = 'table',
              apply = 'table', choices = 'integer?', exclusion_years = 'integer?', enterprise_cap = 'integer?',
              union_places = 'table?', groups = 'table?', front_line = 'table?', tiers = 'table?',
              satisfied = 'integer?', budget_fen = 'integer?', checkup = 'table?', version = 'integer?',
              changes = 'table?', note = 'string?' }
local BATCH = { batch = 'string', title = 'string', from = 'string', to = 'string', beds = 'integer',
                programme = 'string?', place = 'string?', cost_fen = 'integer?', groups = 'table?' }
local TIER = { name = 'string', groups = 'table?', levels = 'table?', member_years = 'integer?' }

local function set_of(list) local s = {} for _i, v in ipairs(list or {}) do s[v] = true end return s end

-- Checks the sanatorium plan; returns it completed (defaults filled in).
function M.check(sp, file)
  file = file or '(plan)'
  keys(file, '', sp, TOP)
  local p = {}
  for k, v in pairs(sp) do p[k] = v end
  p.file = file
  p.choices = sp.choices or 3
  p.exclusion_years = sp.exclusion_years or 0
  p.satisfied = sp.satisfied or 4
  p.groups = sp.groups or M.GROUP_ORDER
  p.front_line = sp.front_line or M.FRONT_LINE
  for i, g in ipairs(p.groups) do
    if not M.GROUPS[g] then fail(file, 'groups[' .. i .. ']', _("'%s' is not one of model, skilled, new_form, front_line"), tostring(g)) end
  end
  keys(file, 'apply', sp.apply, { from = 'string', to = 'string' })
  for _i, k in ipairs{ 'from', 'to' } do
    if not dates.valid(sp.apply[k]) then fail(file, 'apply.' .. k, _("'%s' is not a date (YYYY-MM-DD)"), sp.apply[k]) end
  end
  if p.choices < 1 or p.choices > 10 then fail(file, 'choices', _('is 1 to 10, got %d'), p.choices) end
  if p.satisfied < 1 or p.satisfied > 5 then fail(file, 'satisfied', _('is a score from 1 to 5, got %d'), p.satisfied) end
  if #sp.batches == 0 then fail(file, 'batches', _("must list at least one batch: { { batch = 'B01', ... } }")) end
  p.batch = {}
  local y = tostring(sp.year)
  for i, b in ipairs(sp.batches) do
    local key = 'batches[' .. i .. ']'
    keys(file, key, b, BATCH)
    if p.batch[b.batch] then fail(file, key .. '.batch', _("'%s' is listed twice"), b.batch) end
    if not b.batch:match('^[%w_%-]+$') then fail(file, key .. '.batch', _("'%s' must be letters, digits, '_' or '-'"), b.batch) end
    for _i, k in ipairs{ 'from', 'to' } do
      if not dates.valid(b[k]) or b[k]:sub(1, 4) ~= y then
        fail(file, key .. '.' .. k, _("'%s' is not a date (YYYY-MM-DD) in %s"), b[k], y)
      end
    end
    if b.to < b.from then fail(file, key, _('ends (%s) before it starts (%s)'), b.to, b.from) end
    if b.beds < 0 then fail(file, key .. '.beds', _('must be >= 0')) end
    for j, g in ipairs(b.groups or {}) do
      if not M.GROUPS[g] then fail(file, key .. '.groups[' .. j .. ']', _("'%s' is not one of model, skilled, new_form, front_line"), tostring(g)) end
    end
    p.batch[b.batch] = b
  end
  p.tiers = sp.tiers or {}
  for i, t in ipairs(p.tiers) do
    keys(file, 'tiers[' .. i .. ']', t, TIER)
    for j, g in ipairs(t.groups or {}) do
      if not M.GROUPS[g] then fail(file, 'tiers[' .. i .. '].groups[' .. j .. ']', _("'%s' is not one of model, skilled, new_form, front_line"), tostring(g)) end
    end
  end
  if sp.checkup then keys(file, 'checkup', sp.checkup, { id = 'string', title = 'string' }) end
  return p
end

-- ---- who: groups, tiers, the exclusion period ------------------------------------------

local function has_collection(name)
  for _i, n in ipairs(db.collections()) do if n == name then return true end end
  return false
end

-- The member's group (the first of the plan's groups that fits), or nil.
function S:group(m)
  local asof = self.plan.apply.to
  for _i, g in ipairs(self.plan.groups) do
    if g == 'model' then
      if registry.has_title(m.member_id, 'model_worker', asof) or registry.has_title(m.member_id, 'craftsman', asof) then
        return g
      end
    elseif g == 'skilled' then
      if self.contests then
        for _j in db.contest_titles:scan{ index = 'member_id', eq = { m.member_id }, limit = 1 } do return g end
      end
    elseif g == 'new_form' then
      if m.employment_form == 'new_form' then return g end
    elseif g == 'front_line' then
      if m.post_type ~= 'cadre' and self.front[m.category] then return g end
    end
  end
  return nil
end

-- Whole years from date a to date b.
local function years(a, b)
  local n = tonumber(b:sub(1, 4)) - tonumber(a:sub(1, 4))
  if b:sub(6) < a:sub(6) then n = n - 1 end
  return n
end

-- Does member m belong to tier t (plan.tiers[i])?
function S:in_tier(m, t)
  if t.groups and not set_of(t.groups)[self:group(m)] then return false end
  if t.levels then
    local lv, ok = set_of(t.levels), false
    for _i, k in ipairs{ 'model_worker', 'craftsman' } do
      local title = registry.has_title(m.member_id, k, self.plan.apply.to)
      if title and lv[title.level] then ok = true end
    end
    if not ok then return false end
  end
  if t.member_years and years(m.join_date, self.plan.apply.to) < t.member_years then return false end
  return true
end

-- The sanatorium programs of every year (their stored plans say so), read
-- again whenever a program was added (by this process or another).
local fam_cache, fam_count
local function family()
  local n = db.programs:count()
  if fam_cache and fam_count == n then return fam_cache end
  local out = {}
  for r in db.programs:scan() do
    local ex = r.plan and r.plan.extra
    if type(ex) == 'table' and ex.family == 'sanatorium' then out[#out + 1] = { id = r.program_id, title = r.title } end
  end
  fam_cache, fam_count = out, n
  return out
end

-- A standing stay of member_id in another program within the exclusion
-- period of `year`: the entry and its program's title, or nil.
function S:stay_within(member_id, year)
  local n = self.plan.exclusion_years
  if n <= 0 then return nil end
  for _i, p in ipairs(family()) do
    if p.id ~= self.plan.id then
      for e in db.program_entries:scan{ index = 'program,member_id', eq = { p.id, member_id } } do
        if e.kind == 'stay' and not e.reverses and math.abs(tonumber(e.day:sub(1, 4)) - year) < n
           and not db.program_entries:find('reverses', e.entry_id) then
          return e, p.title
        end
      end
    end
  end
end

-- Eligible for a place at all (before any application): an active member of
-- an offered group, with no stay within the exclusion period. --> group | nil, why
function S:may_apply(m, batch)
  if m.status ~= 'active' then return nil, string.format(_('status is %s, not active'), m.status) end
  local g = self:group(m)
  if not g then
    local names = {}
    for _i, x in ipairs(self.plan.groups) do names[#names + 1] = M.GROUPS[x] end
    return nil, string.format(_('not in a group the places are offered to (%s)'), table.concat(names, '、'))
  end
  local b = batch and self.plan.batch[batch]
  if b and b.groups and not set_of(b.groups)[g] then
    local names = {}
    for _i, x in ipairs(b.groups) do names[#names + 1] = M.GROUPS[x] end
    return nil, string.format(_('batch %s is offered to %s only'), batch, table.concat(names, '、'))
  end
  local e, title = self:stay_within(m.member_id, self.plan.year)
  if e then
    return nil, string.format(_('had a stay in %s (%s, batch %s): no second stay within %d years, the next from %d'),
                              e.day, title, tostring(e.place), self.plan.exclusion_years,
                              tonumber(e.day:sub(1, 4)) + self.plan.exclusion_years)
  end
  return g
end

function S:application(member_id)
  return db.sanatorium_applications:find('program,member_id', { self.plan.id, member_id })
end

-- ---- define ----------------------------------------------------------------------------

local function framework_plan(self)
  local sp = self.plan
  local places = {}
  for _i, b in ipairs(sp.batches) do places[b.batch] = b.beds end
  local limits = {}
  if sp.enterprise_cap then
    limits[#limits + 1] = { per = { 'place', 'enterprise' }, max_qty = sp.enterprise_cap, name = 'enterprise-per-batch',
                            code = 'limit' }
  end
  if sp.union_places then
    limits[#limits + 1] = { per = 'union', quotas = sp.union_places, name = 'union-places', code = 'limit' }
  end
  local tiers = {}
  for i, t in ipairs(sp.tiers) do tiers[i] = { name = t.name, rule = function(m) return self:in_tier(m, t) end } end
  local data = {}
  for k, v in pairs(sp) do if k ~= 'batch' and k ~= 'file' and k ~= 'version' and k ~= 'changes' then data[k] = v end end
  data.family = 'sanatorium'
  return {
    id = sp.id, title = sp.title, year = sp.year, union = sp.union, budget_fen = sp.budget_fen,
    window = { from = sp.year .. '-01-01', to = sp.year .. '-12-31' },
    kinds = { { kind = 'stay', title = '疗休养', places = places, per_member = 1 } },
    limits = limits,
    amount = function(e) local b = sp.batch[e.place]; return b and b.cost_fen or 0 end,
    who = {
      where = { status = 'active' },
      rule = function(m, e)
        local g, why = self:may_apply(m, e and e.place)
        if not g then return false, why end
        local app = self:application(m.member_id)
        if not app then return false, _('has not applied') end
        if app.status ~= 'applied' then return false, _('withdrew the application') end
        return true
      end,
      tiers = tiers,
    },
    units = { '人', '人次', '场次', 'fen' },
    session = function(e) return e.place end,       -- a batch is a 场次
    extra = data, version = sp.version, changes = sp.changes,
  }
end

-- The sanatorium of plan table sp (checked; both programs stored, versioned).
function M.define(sp, opts)
  opts = opts or {}
  local p = M.check(sp, opts.file)
  M.define_collections()
  local self = setmetatable({ plan = p, front = set_of(p.front_line), contests = has_collection('contest_titles') }, S)
  self.P = program.define(framework_plan(self), { file = opts.file })
  if p.checkup then
    self.C = program.define({
      id = p.checkup.id, title = p.checkup.title, year = p.year,
      window = { from = p.year .. '-01-01', to = p.year .. '-12-31' },
      kinds = { { kind = 'check', title = '健康体检' } },
      units = { '人', '人次', '场次' },
      fields = { { 'id_number', '身份证号', 'id' } },
      extra = { family = 'checkup' },
    }, { file = opts.file })
  end
  return self
end

function M.load(name)
  local raw, file = program.read_plan(name)
  return M.define(raw, { file = file })
end

-- ---- applications ----------------------------------------------------------------------

local function parse_choices(self, choices)
  if type(choices) == 'string' then
    local t = {}
    for c in choices:gmatch('[^,，%s]+') do t[#t + 1] = c end
    choices = t
  end
  if type(choices) ~= 'table' or #choices == 0 then return nil, _('give at least one batch (choices)') end
  if #choices > self.plan.choices then
    return nil, string.format(_('%d batches chosen, at most %d'), #choices, self.plan.choices)
  end
  local seen = {}
  for _i, c in ipairs(choices) do
    local b = self.plan.batch[c]
    if not b then
      local names = {}
      for _j, x in ipairs(self.plan.batches) do names[#names + 1] = x.batch end
      return nil, string.format(_("no batch '%s' (the batches: %s)"), tostring(c), table.concat(names, ', '))
    end
    if seen[c] then return nil, string.format(_('batch %s is chosen twice'), c) end
    seen[c] = true
  end
  return choices
end

-- An application: { member = ref, choices = { 'B01', ... } | 'B01,B03', at = }.
function S:apply(a)
  return db.atomic(function()
    local m, code, why = program.member(a.member)
    if not m then return refuse(code == 'bad_id' and 'bad_input' or code, why) end
    local at = a.at or dates.now()
    local day = at:sub(1, 10)
    local w = self.plan.apply
    if day < w.from or day > w.to then
      return refuse('closed', string.format(_('applications are taken %s .. %s, not on %s'), w.from, w.to, day))
    end
    local choices, bad = parse_choices(self, a.choices)
    if not choices then return refuse('bad_input', bad) end
    local g, no = self:may_apply(m)
    if not g then return refuse('not_eligible', no) end
    for _i, c in ipairs(choices) do
      local ok, why2 = self:may_apply(m, c)
      if not ok then return refuse('not_eligible', why2) end
    end
    local old = self:application(m.member_id)
    if old then
      return refuse('already', string.format(_('member %d applied at %s (application %d, %s)'), m.member_id, old.at,
                                             old.app_id, old.status))
    end
    local d = has_collection('program_draws') and db.program_draws:get(self.plan.id .. ':stay')
    if d and d.published_at then
      return refuse('closed', string.format(_('the applicants were published at %s: the list is closed'), d.published_at))
    end
    local id = db.sanatorium_applications:insert{ program = self.plan.id, member_id = m.member_id, choices = choices,
                                                  group = g, at = at, status = 'applied', run = run.uid }
    return db.sanatorium_applications:get(id)
  end)
end

-- A sheet of this program through the framework's sheet helper (program/sheet.lua:
-- columns by their labels, spec { { name, label, type, optional = } }, a
-- savepoint a row, FILE.refusals.csv, the columns not read in s.ignored);
-- fn(values) --> ok | nil, code, why (already: not a refusal).
local function sheet(self, file, spec, fn)
  return self.P:enter_sheet(file, { fields = spec, enter = function(v)
    local r, code, why = fn(v)
    if r then return { fen = 0 } end    -- (a row entered; the summary counts rows, not yuan)
    return nil, code, why
  end })
end

-- Applications from a sheet: 身份证号, 第一志愿, 第二志愿, 第三志愿 (or 志愿: B01,B03).
function S:apply_sheet(file, opts)
  opts = opts or {}
  return sheet(self, file, {
    { 'id_number', '身份证号', 'text' }, { 'c1', '第一志愿', 'text', optional = true },
    { 'c2', '第二志愿', 'text', optional = true }, { 'c3', '第三志愿', 'text', optional = true },
    { 'choices', '志愿', 'text', optional = true },
  }, function(v)
    local ch = v.choices or table.concat({ v.c1, v.c2, v.c3 }, ',')
    return self:apply{ member = v.id_number, choices = ch, at = opts.at }
  end)
end

-- ---- allocation ------------------------------------------------------------------------

local function lottery() return plugin.load 'lottery' end

function S:commit(seed, opts)
  opts = opts or {}
  return self.P:commit_draw('stay', lottery().seed_commit(seed), { party = opts.party or 'committee', at = opts.at })
end

-- Closes the applications for the draw (gonghui-draw-v2): every applicant's
-- tier and the lists' SHA-256, at the host's clock, naming the public value
-- the seed will come from (opts.public: what and where it is announced;
-- opts.after: 'YYYY-MM-DD HH:MM', when it is known, later than now).
function S:close(opts)
  opts = opts or {}
  return self.P:close_draw('stay', { public = opts.public, after = opts.after, entrants = self:applicants() })
end

-- The applicants in the draw, and each one's choices as entry fields.
function S:applicants()
  local ids = {}
  for a in db.sanatorium_applications:scan{ index = 'program,status', eq = { self.plan.id, 'applied' } } do
    ids[#ids + 1] = a.member_id
  end
  table.sort(ids)
  return ids
end

function S:choices_of(member_id)
  local app = self:application(member_id)
  local out = {}
  for _i, c in ipairs(app and app.choices or {}) do out[#out + 1] = { place = c, day = self.plan.batch[c].from } end
  return out
end

-- Draws and places: every applicant ranked within the tiers (a lottery draw
-- per tier, its seed from the lists, the public value and any committed
-- seed), each placed in their first choice that every rule accepts; the
-- rest wait. opts: { public = the value announced, seed = the committed
-- party's seed, at = the entries' time }. Drawing again returns the stored
-- draw (another value or seed is refused).
function S:allocate(opts)
  if type(opts) ~= 'table' then
    error(_('allocate takes { public = VALUE [, seed = SEED] }: close the applications first, naming the public value (close=1 public=... after=...)'), 0)
  end
  local row = self.P:draw_row('stay')
  if row.drawn_at and not row.closed_at then return row end   -- drawn before gonghui-draw-v2 (legacy)
  if not row.closed_at then
    error(string.format(_("'%s': close the applications first, naming the public value (close=1 public=... after=...)"),
                        row.draw_id), 0)
  end
  local k = 0
  for _i, t in ipairs(row.tiers or {}) do k = k + (t.n or 0) end
  return self.P:draw('stay', { public = opts.public, seed = opts.seed, k = k, at = opts.at,
                               choices = function(mid) return self:choices_of(mid) end })
end

-- The legacy draw (the organiser's seed alone, before gonghui-draw-v2): kept
-- only for the sample's 2025 year, history as a database from before v2
-- holds it (its figures are what the chapters and tests were written on).
local function legacy_allocate(self, seed, commit_at, at)
  self.P:commit_draw('stay', lottery().seed_commit(seed), { at = commit_at })
  local ids = self:applicants()
  return self.P:draw('stay', seed, { k = #ids, entrants = ids, at = at,
                                     choices = function(mid) return self:choices_of(mid) end })
end

-- The standing stay of a member in this year's program, or nil.
function S:stay_of(member_id)
  local list = {}
  for e in db.program_entries:scan{ index = 'program,member_id', eq = { self.plan.id, member_id } } do
    if e.kind == 'stay' then list[#list + 1] = e:totable() end
  end
  local rev = {}
  for _i, e in ipairs(list) do if e.reverses then rev[e.reverses] = true end end
  for _i, e in ipairs(list) do if not e.reverses and not rev[e.entry_id] then return e end end
  return nil, list
end

-- A clerk's placement (a place given outside the draw: a freed place nobody
-- on the waiting list can take). Every rule holds as in the draw.
function S:assign(a)
  local ok, r, c, w = pcall(db.atomic, function()
    local m, code, why = program.member(a.member)
    if not m then return refuse(code == 'bad_id' and 'bad_input' or code, why) end
    local b = self.plan.batch[a.batch or '']
    if not b then return refuse('bad_input', string.format(_("no batch '%s'"), tostring(a.batch))) end
    local app = self:application(m.member_id)
    if not app then
      local g, no = self:may_apply(m, a.batch)
      if not g then return refuse('not_eligible', no) end
      db.sanatorium_applications:insert{ program = self.plan.id, member_id = m.member_id, choices = { a.batch },
                                         group = g, at = a.at or dates.now(), status = 'applied', run = run.uid }
    end
    local e, c2, w2 = self.P:enter{ member = m.member_id, kind = 'stay', place = a.batch, day = b.from, at = a.at,
                                    note = a.note }
    if not e then error({ code = c2, why = w2 }, 0) end   -- undoes the application too
    return e
  end)
  if not ok then
    if type(r) == 'table' and r.code then return nil, r.code, r.why end
    error(r, 0)
  end
  return r, c, w
end

-- Placements from a sheet: 身份证号, 期次 (each row its own transaction).
function S:assign_sheet(file, opts)
  opts = opts or {}
  return sheet(self, file, { { 'id_number', '身份证号', 'text' }, { 'batch', '期次', 'text' } }, function(v)
    return self:assign{ member = v.id_number, batch = v.batch, at = opts.at }
  end)
end

-- Withdraws a member: a placed one's entry is reversed and the first on the
-- waiting list who chose that batch and fits now moves up; an applicant
-- without a place leaves the list. --> { reversed =, moved_up = } | nil, code, why
function S:withdraw(ref, reason, opts)
  opts = opts or {}
  if type(reason) ~= 'string' or reason == '' then return refuse('bad_input', _('give the reason (reason=...)')) end
  return db.atomic(function()
    local m, code, why = program.member(ref)
    if not m then return refuse(code == 'bad_id' and 'bad_input' or code, why) end
    local app = self:application(m.member_id)
    if not app then return refuse('not_found', string.format(_('member %d has not applied'), m.member_id)) end
    if app.status == 'withdrawn' then
      return refuse('already', string.format(_('member %d withdrew at %s'), m.member_id, app.withdrawn_at))
    end
    local at = opts.at or dates.now()
    local out = {}
    local e = self:stay_of(m.member_id)
    if e then
      local b = self.plan.batch[e.place]
      if at:sub(1, 10) >= b.from then
        return refuse('closed', string.format(_('batch %s began on %s: mark the attendance instead (present=0)'),
                                              e.place, b.from))
      end
      out.reversed = self.P:reverse(e.entry_id, reason, { at = at })
    end
    db.sanatorium_applications:update(app.app_id, { status = 'withdrawn', withdrawn_at = at, reason = reason })
    if e then out.moved_up = self.P:move_up('stay', { place = e.place }, { at = at }) end
    return out
  end)
end

-- ---- attendance and satisfaction -------------------------------------------------------

-- { member =, batch =, present = true|false, score = 1..5?, at = }. A no-show's
-- entry is reversed (the place was not used; nobody moves up: the batch has begun).
function S:attend(a)
  return db.atomic(function()
    local m, code, why = program.member(a.member)
    if not m then return refuse(code == 'bad_id' and 'bad_input' or code, why) end
    local b = self.plan.batch[a.batch or '']
    if not b then return refuse('bad_input', string.format(_("no batch '%s'"), tostring(a.batch))) end
    local at = a.at or dates.now()
    if at:sub(1, 10) < b.from then
      return refuse('closed', string.format(_('batch %s begins on %s: attendance is marked from then'), a.batch, b.from))
    end
    if a.score ~= nil and (math.type(a.score) ~= 'integer' or a.score < 1 or a.score > 5) then
      return refuse('bad_input', string.format(_('a score is a whole number from 1 to 5, got %s'), tostring(a.score)))
    end
    local e, all = self:stay_of(m.member_id)
    if not e or e.place ~= a.batch then
      for _i, x in ipairs(all or {}) do
        local s = not x.reverses and x.place == a.batch and db.sanatorium_stays:get(x.entry_id)
        if s and not s.attended then
          return refuse('already', string.format(_('member %d was marked absent from batch %s at %s'), m.member_id,
                                                  a.batch, s.at))
        end
      end
      return refuse('not_found', string.format(_('member %d has no place in batch %s'), m.member_id, a.batch))
    end
    local s = db.sanatorium_stays:get(e.entry_id)
    if a.present == false then
      if a.score then return refuse('bad_input', _('a score is given by those who attended')) end
      self.P:reverse(e.entry_id, '未报到 (no-show)', { at = at })
      db.sanatorium_stays:put{ entry_id = e.entry_id, program = self.plan.id, batch = a.batch, member_id = m.member_id,
                               attended = false, at = at, run = run.uid }
      return { attended = false }
    end
    if s and s.attended and (a.score == nil or a.score == s.score) then
      return refuse('already', string.format(_('member %d is marked present in batch %s'), m.member_id, a.batch))
    end
    db.sanatorium_stays:put{ entry_id = e.entry_id, program = self.plan.id, batch = a.batch, member_id = m.member_id,
                             attended = true, score = a.score or (s and s.score) or nil, at = at, run = run.uid }
    return { attended = true, score = a.score }
  end)
end

local YES = { ['是'] = true, ['到'] = true, ['已报到'] = true, ['1'] = true, yes = true, y = true, ['√'] = true }
local NO = { ['否'] = false, ['未到'] = false, ['未报到'] = false, ['0'] = false, no = false, n = false, ['×'] = false }

-- The batch's roster: 身份证号, 报到 (是/否), 满意度 (1-5, optional). Any other
-- column (a check-up result, a remark) is neither read nor stored.
function S:attend_sheet(file, batch, opts)
  opts = opts or {}
  return sheet(self, file, { { 'id_number', '身份证号', 'text' }, { 'present', '报到', 'text' },
                         { 'score', '满意度', 'int', optional = true } }, function(v)
    local p = YES[v.present:lower()]
    if p == nil then p = NO[v.present:lower()] end
    if p == nil then return refuse('bad_input', string.format(_("column 报到: '%s' is 是 or 否"), v.present)) end
    return self:attend{ member = v.id_number, batch = batch, present = p, score = v.score, at = opts.at }
  end)
end

-- ---- the check-up van --------------------------------------------------------------------

local function need_checkup(self)
  if not self.C then error(string.format(_("plan %s: key 'checkup' is missing: the van's program needs { id =, title = }"),
                                         self.plan.file), 0) end
end

-- A visit of the van (a 场次): { visit = 'V001', enterprise = N, day =, place = }.
function S:visit(v)
  need_checkup(self)
  return db.atomic(function()
    if type(v.visit) ~= 'string' or not v.visit:match('^[%w_%-]+$') then
      return refuse('bad_input', string.format(_("a visit is named by letters, digits, '_' or '-', got '%s'"), tostring(v.visit)))
    end
    local ent = db.enterprises:get(v.enterprise)
    if not ent then return refuse('not_found', string.format(_('no enterprise %s'), tostring(v.enterprise))) end
    if not dates.valid(v.day or '') or v.day:sub(1, 4) ~= tostring(self.plan.year) then
      return refuse('bad_input', string.format(_('the day %s is not a date in %d'), tostring(v.day), self.plan.year))
    end
    local id = self.plan.checkup.id .. ':' .. v.visit
    local old = db.checkup_visits:get(id)
    if old then
      if old.enterprise_id == ent.enterprise_id and old.day == v.day then
        return refuse('already', string.format(_('visit %s was entered at %s'), v.visit, old.at))
      end
      return refuse('bad_input', string.format(_('visit %s is enterprise %d on %s already'), v.visit, old.enterprise_id, old.day))
    end
    db.checkup_visits:insert{ visit_id = id, program = self.plan.checkup.id, enterprise_id = ent.enterprise_id,
                              day = v.day, place = v.place, town = ent.town, at = v.at or dates.now(), run = run.uid }
    return db.checkup_visits:get(id)
  end)
end

-- A worker checked at a visit (once per visit): { member =, visit =, at = }.
function S:checked(c)
  need_checkup(self)
  local v = db.checkup_visits:get(self.plan.checkup.id .. ':' .. tostring(c.visit))
  if not v then return refuse('not_found', string.format(_("no visit '%s' (enter the visit first: visit=...)"), tostring(c.visit))) end
  local m, code, why = program.member(c.member)
  if not m then return refuse(code == 'bad_id' and 'bad_input' or code, why) end
  -- where it took place: the visit's town and enterprise (a worker checked at another enterprise's visit)
  return self.C:enter{ member = m.member_id, kind = 'check', day = v.day, at = c.at, session = c.visit,
                       town = v.town, enterprise_id = v.enterprise_id, key = c.visit .. ':' .. m.member_id }
end

-- The workers checked at a visit from a sheet: the column 身份证号 only; any
-- other column (results, blood pressure) is neither read nor stored.
function S:checked_sheet(file, visit, opts)
  opts = opts or {}
  return sheet(self, file, { { 'id_number', '身份证号', 'text' } }, function(v)
    return self:checked{ member = v.id_number, visit = visit, at = opts.at }
  end)
end

-- ---- reports -----------------------------------------------------------------------------

local function cell()
  return { beds = 0, applied = 0, placed = 0, attended = 0, absent = 0, scored = 0, satisfied = 0, fen = 0, persons = 0,
           _p = {} }
end

local function rate(c)
  if c.scored == 0 then return '-' end
  return string.format('%.1f%%', c.satisfied * 100 / c.scored)
end
M.rate = rate

-- Adds member id to set; true when it was not there. An integer id is a
-- bit of a word per 64 ids (a city's 300,000 checked members were a table
-- entry each).
local function once(set, id)
  if math.type(id) == 'integer' then return bit_add(set, id) end
  local k = 'm' .. tostring(id)
  if set[k] then return false end
  set[k] = true
  return true
end

-- The year's figures from the records: by batch, union and group; 人次 are
-- the stays taken (standing placements), 人 distinct members.
function S:report()
  local sp, P = self.plan, self.P
  local rep = { title = sp.title, id = sp.id, total = cell(), batch = {}, union = {}, group = {}, waiting = 0 }
  local group_of = {}
  for a in db.sanatorium_applications:scan{ program = sp.id } do
    group_of[a.member_id] = a.group
    if a.status == 'applied' then rep.total.applied = rep.total.applied + 1 end
  end
  local function add(key, tbl, f, n)
    local c = tbl[key] or cell()
    tbl[key] = c
    c[f] = c[f] + (n or 1)
    return c
  end
  for _i, b in ipairs(sp.batches) do
    add(b.batch, rep.batch, 'beds', b.beds)
    rep.total.beds = rep.total.beds + b.beds
  end
  local rev = {}
  local entries = P:entries('stay')
  for _i, e in ipairs(entries) do if e.reverses then rev[e.reverses] = true end end
  for _i, e in ipairs(entries) do
    if not e.reverses then
      local s = db.sanatorium_stays:get(e.entry_id)
      local u = tostring(e.union_id or db.members:get(e.member_id, 'union_id') or '-')
      local g = group_of[e.member_id] or '-'
      -- the entry counts alike in its batch's, union's and group's cells and in the total
      local keys_ = { { e.place, rep.batch }, { u, rep.union }, { g, rep.group }, { 'total', rep } }
      for _j, kt in ipairs(keys_) do
        local c = kt[2][kt[1]] or cell()
        kt[2][kt[1]] = c
        if not rev[e.entry_id] then
          c.placed = c.placed + 1
          c.fen = money.add(c.fen, e.fen)
        end
        if s then
          if s.attended then c.attended = c.attended + 1 else c.absent = c.absent + 1 end
          if s.score then
            c.scored = c.scored + 1
            if s.score >= sp.satisfied then c.satisfied = c.satisfied + 1 end
          end
        end
      end
      local t = rep.total                   -- 人: distinct members placed, counted in the total only
      if not rev[e.entry_id] and once(t._p, e.member_id) then t.persons = t.persons + 1 end
    end
  end
  for _i, w in ipairs(P:waiting_list('stay')) do
    local a = self:application(w.member_id)
    if not w.entry and a and a.status == 'applied' then rep.waiting = rep.waiting + 1 end
  end
  if self.C then
    local c = { visits = 0, enterprises = 0, checked = 0, persons = 0, _e = {}, _p = {}, by_town = {} }
    for v in db.checkup_visits:scan{ program = sp.checkup.id } do
      c.visits = c.visits + 1
      if not c._e[v.enterprise_id] then c._e[v.enterprise_id] = true; c.enterprises = c.enterprises + 1 end
    end
    -- the check-ups read twice in key order, a field at a time: a city's
    -- year has 400,000 of them, and a list of them as tables
    -- (C:entries) was most of the sample's memory at 1,000,000 members
    local function checks() return db.program_entries:scan{ index = 'program,kind', eq = { self.C.id, 'check' } } end
    local crev = {}
    for e in checks() do
      local r = e.reverses
      if r then crev[r] = true end
    end
    for e in checks() do
      if not e.reverses and not crev[e.entry_id] then
        c.checked = c.checked + 1
        if once(c._p, e.member_id) then c.persons = c.persons + 1 end
      end
    end
    rep.checkup = c
  end
  rep.ok, rep.problems = P:check()
  return rep
end

local function union_name(u)
  local id = math.tointeger(tonumber(u))
  local r = id and db.unions and db.unions:get(id)
  return r and r.name or u
end

function M.format(rep)
  local out = { string.format('%s (%s)', rep.title, rep.id), '' }
  local head = { '', '名额 beds', '入选 placed', '报到 attended', '未到 absent', '评价 scored', '满意 satisfied', '满意率 rate' }
  local function row(name, c, beds)
    return { name, beds and c.beds or '', c.placed, c.attended, c.absent, c.scored, c.satisfied, rate(c) }
  end
  local function section(title, tbl, name_of, beds)
    local ks = {}
    for k in pairs(tbl) do ks[#ks + 1] = k end
    table.sort(ks)
    local rows = {}
    for _i, k in ipairs(ks) do rows[#rows + 1] = row(name_of and name_of(k) or k, tbl[k], beds) end
    rows[#rows + 1] = row('合计 total', rep.total, beds)
    local h = { title }
    for i = 2, #head do h[i] = head[i] end
    out[#out + 1] = fmt.table(h, rows, { right = { 2, 3, 4, 5, 6, 7, 8 } })
    out[#out + 1] = ''
  end
  section('期次 batch', rep.batch, nil, true)
  section('工会 union', rep.union, union_name)
  section('群体 group', rep.group, function(g) return M.GROUPS[g] or g end)
  local t = rep.total
  out[#out + 1] = string.format(_('%d applied; %d placed (人次) to %d 人, %s yuan; %d attended, %d absent; %d waiting; '
                                  .. 'satisfaction %s of %d scored'),
                                t.applied, t.placed, t.persons, money.yuan(t.fen), t.attended, t.absent, rep.waiting,
                                rate(t), t.scored)
  if rep.checkup then
    local c = rep.checkup
    out[#out + 1] = string.format(_('check-up van: %d visits (场次) to %d enterprises, %d workers checked (人次), %d 人'),
                                  c.visits, c.enterprises, c.checked, c.persons)
  end
  if not rep.ok then
    out[#out + 1] = 'PROBLEMS (the totals and the ledger disagree):'
    for _i, p in ipairs(rep.problems) do out[#out + 1] = '  ' .. p end
  end
  return table.concat(out, '\n')
end

-- ---- public lists (公示) -----------------------------------------------------------------

-- The placements, by batch, names masked: { 期次, 日期, 姓名, 身份证号, 单位, 群体 }.
function S:public_list()
  local rows = {}
  local list = {}
  for _i, b in ipairs(self.plan.batches) do
    for e in db.program_entries:scan{ index = 'program,kind', eq = { self.plan.id, 'stay' } } do
      if e.place == b.batch and not e.reverses and not db.program_entries:find('reverses', e.entry_id) then
        list[#list + 1] = { b = b, e = e:totable() }
      end
    end
  end
  for _i, x in ipairs(list) do
    local m = db.members:get(x.e.member_id) or {}
    local ent = m.enterprise_id and db.enterprises:get(m.enterprise_id)
    local a = self:application(x.e.member_id)
    rows[#rows + 1] = { ['序号'] = #rows + 1, ['期次'] = x.b.batch .. ' ' .. x.b.title, ['日期'] = x.b.from .. '..' .. x.b.to,
                        ['姓名'] = program.mask_name(m.name or ''), ['身份证号'] = program.mask_id(m.id_number or ''),
                        ['单位'] = ent and ent.name or '', ['群体'] = a and M.GROUPS[a.group] or '' }
  end
  return rows
end
M.PUBLIC = { '序号', '期次', '日期', '姓名', '身份证号', '单位', '群体' }

-- The waiting list in its order (tier, then draw rank), names masked.
function S:waiting()
  local rows = {}
  for _i, w in ipairs(self.P:waiting_list('stay')) do
    local a = self:application(w.member_id)
    if not w.entry and a and a.status == 'applied' then
      local m = db.members:get(w.member_id) or {}
      local ch = {}
      for _j, c in ipairs(w.choices or {}) do ch[#ch + 1] = c.place end
      local tier = self.plan.tiers[w.tier]
      rows[#rows + 1] = { ['候补'] = #rows + 1, ['姓名'] = program.mask_name(m.name or ''),
                          ['身份证号'] = program.mask_id(m.id_number or ''), ['志愿'] = table.concat(ch, ','),
                          ['顺位'] = (tier and tier.name or 'all') .. ' #' .. w.rank }
    end
  end
  return rows
end
M.WAITING = { '候补', '姓名', '身份证号', '志愿', '顺位' }

-- ---- verification ------------------------------------------------------------------------

-- The placement re-run over the plan's numbers: rows in draw order, each
-- { member_id, enterprise_id, union_id, choices = { 'B01', ... }, eligible = bool }.
-- --> { [member_id] = batch | false }
function M.place(sp, rows)
  local beds, per_ent, per_union, out = {}, {}, {}, {}
  for _i, b in ipairs(sp.batches) do beds[b.batch] = b.beds end
  local q = sp.union_places
  for _i, r in ipairs(rows) do
    out[r.member_id] = false
    if r.eligible then
      for _j, c in ipairs(r.choices) do
        local ek = c .. '|' .. tostring(r.enterprise_id)
        local u = r.union_id
        local uq = q and u and (q[u] or q[tostring(u)] or q['*'])
        if (beds[c] or 0) > 0 and (not sp.enterprise_cap or (per_ent[ek] or 0) < sp.enterprise_cap)
           and (not q or u == nil or (uq and (per_union[u] or 0) < uq)) then
          beds[c] = beds[c] - 1
          per_ent[ek] = (per_ent[ek] or 0) + 1
          if u then per_union[u] = (per_union[u] or 0) + 1 end
          out[r.member_id] = c
          break
        end
      end
    end
  end
  return out
end

-- The published allocation: one row per applicant in draw order (the file
-- allocate writes, 'allocation.csv').
function S:allocation_rows()
  local d = db.program_draws:get(self.plan.id .. ':stay')
  if not d or not d.drawn_at then return nil end
  local refused = {}
  for _i, x in ipairs(d.refused or {}) do refused[x.member_id] = x end
  local rows = {}
  for i, t in ipairs(d.tiers) do
    local rank = 0
    for id in (t.winners or ''):gmatch('[^\n]+') do
      rank = rank + 1
      local mid = math.tointeger(tonumber(id))
      local e = db.program_entries:find('program,key', { self.plan.id, d.draw_id .. ':' .. mid })
      local first = e and not (e.extra and e.extra.moved_up) and e or nil
      local ch = {}
      for _j, c in ipairs(self:choices_of(mid)) do ch[#ch + 1] = c.place end
      local m = db.members:get(mid)
      rows[#rows + 1] = { tier = i, rank = rank, member_id = mid, enterprise_id = first and first.enterprise_id or m.enterprise_id,
                          union_id = first and first.union_id or m.union_id, choices = ch,
                          eligible = not (refused[mid] and refused[mid].code == 'not_eligible'),
                          batch = first and first.place or '' }
    end
  end
  return rows, d
end

function S:write_allocation(name)
  local rows = self:allocation_rows()
  local out = { { 'tier', 'rank', 'member_id', 'enterprise_id', 'union_id', 'choices', 'eligible', 'batch' } }
  for _i, r in ipairs(rows or {}) do
    out[#out + 1] = { r.tier, r.rank, r.member_id, r.enterprise_id, tostring(r.union_id or ''),
                      table.concat(r.choices, ' '), r.eligible and 1 or 0, r.batch }
  end
  local f = run.open(name, 'w')
  run.write_csv(f, out)
  f:close()
  return #out - 1
end

-- Verifies the allocation: (1) every tier's ranking re-drawn from the seed
-- and the published lists (the lottery plugin: program/draw.lua's
-- verify_draw), the ledger holding exactly the draw's places and moves from
-- the waiting list; (2) the placement re-run over the plan's beds, caps and
-- quotas gives every applicant the batch the ledger holds.
-- published: what someone holds: { record = the draw record (program.
-- read_draw_record), public = the value the lottery announced, file =
-- 'allocation.csv' }; for a draw from before gonghui-draw-v2 { seed = }.
-- --> ok, problems
function S:verify(published)
  published = published or {}
  local problems = {}
  local given = published.record or {}
  if published.public then given.public_value = published.public end
  if published.seed then given.seed = published.seed end
  local ok, why = self.P:verify_draw('stay', given)
  if not ok then problems[#problems + 1] = why end
  local rows, d = self:allocation_rows()
  if not rows then return false, { _('not drawn yet') } end
  if published.file then
    -- the published file's ranking must be the seed's, and its batches the placement's
    local pub = {}
    local n, err = run.read_csv(published.file, function(row, line)
      if line > 1 then
        local ch = {}
        for c in (row[6] or ''):gmatch('%S+') do ch[#ch + 1] = c end
        pub[#pub + 1] = { tier = math.tointeger(tonumber(row[1])), rank = math.tointeger(tonumber(row[2])),
                          member_id = math.tointeger(tonumber(row[3])), enterprise_id = math.tointeger(tonumber(row[4])),
                          union_id = math.tointeger(tonumber(row[5])), choices = ch, eligible = row[7] == '1',
                          batch = row[8] or '' }
      end
    end)
    if not n then return false, { err } end
    local L = lottery()
    local seed = given.seed or d.seed
    for i, t in ipairs(d.tiers) do
      local ids = {}
      for _i, r in ipairs(pub) do if r.tier == i then ids[#ids + 1] = tostring(r.member_id) end end
      if #ids > 0 then
        local text = L.canonical(table.concat(ids, '\n'))
        local want = L.draw(text, seed, d.draw_id .. '#' .. i, #ids)
        local k = 0
        for id in want:gmatch('[^\n]+') do
          k = k + 1
          local r
          for _j, x in ipairs(pub) do if x.tier == i and x.rank == k then r = x end end
          if not r or tostring(r.member_id) ~= id then
            problems[#problems + 1] = string.format(_('%s: tier %d rank %d is member %s, the seed draws %s'),
                                                    published.file, i, k, r and tostring(r.member_id) or '-', id)
            break
          end
        end
        if L.list_hash(text) ~= t.list_commitment then
          problems[#problems + 1] = string.format(_('%s: the entrants of tier %d are not the published list'),
                                                  published.file, i)
        end
      end
    end
    rows = pub
  end
  table.sort(rows, function(a, b) if a.tier ~= b.tier then return a.tier < b.tier end return a.rank < b.rank end)
  local placed = M.place(self.plan, rows)
  for _i, r in ipairs(rows) do
    local want = placed[r.member_id] or ''
    if want ~= r.batch then
      problems[#problems + 1] = string.format(_('member %d (tier %d, rank %d): the rules place them in %s, the allocation says %s'),
                                              r.member_id, r.tier, r.rank, want == '' and '-' or want,
                                              r.batch == '' and '-' or r.batch)
    end
  end
  return #problems == 0, problems
end

-- ---- sample data -------------------------------------------------------------------------

-- A year of activity on the sample registry (sample_data.lua): the year's
-- batches, applications from about 1 member in 12 of those offered places,
-- the seeded allocation, withdrawals that move the waiting list up,
-- attendance and scores, and the van's visits. Deterministic per seed: its
-- own random stream (the registry's streams are not touched).
function M.sample(opts)
  local seed, year = opts.seed, opts.year or 2025
  if not pcall(plugin.load, 'lottery') then return nil end   -- a build without the plugin: no draw, no sample
  local state = (seed * 2654435761 + 97531) % 4294967296
  local function rand(n)            -- a small LCG: the same numbers on every machine
    state = (state * 1103515245 + 12345) % 2147483648
    return n and (state % n + 1) or state / 2147483648
  end
  local nm = db.members:count()
  local nb = math.max(2, math.min(12, nm // 400))
  local sites = { { '安吉', '竹海康养、健康讲座' }, { '千岛湖', '湖区疗养、心理疏导' }, { '天台山', '登山健步、中医理疗' },
                  { '普陀山', '海岛休养、体检复查' }, { '莫干山', '森林康养、劳模座谈' }, { '雁荡山', '山地疗休、职业病防治讲座' } }
  local batches = {}
  for i = 1, nb do
    local month = 3 + (i - 1) * 8 // nb
    local day = 3 + (i * 7) % 20
    local from = string.format('%d-%02d-%02d', year, month, day)
    local s = sites[(i - 1) % #sites + 1]
    batches[i] = { batch = string.format('B%02d', i), title = string.format('第%d期 %s', i, s[1]), from = from,
                   to = dates.add_days(from, 4), beds = 20 + 5 * (i % 3), programme = s[2], cost_fen = 180000 + 20000 * (i % 3) }
  end
  local sp = {
    id = 'sanatorium-' .. year, title = year .. '年职工疗休养', year = year,
    apply = { from = year .. '-01-02', to = year .. '-02-20' }, choices = 3, exclusion_years = 3,
    enterprise_cap = 4, union_places = { ['*'] = 12 }, satisfied = 4,
    tiers = { { name = '省市级劳模工匠', levels = { 'national', 'provincial', 'city' } },
              { name = '会龄满5年的一线职工', groups = { 'front_line', 'new_form', 'skilled' }, member_years = 5 },
              { name = '其他申请人' } },
    batches = batches,
    checkup = { id = 'checkup-' .. year, title = year .. '年职工健康体检（流动体检车）' },
  }
  local self = M.define(sp, { file = 'sample_data.lua' })
  if db.program_entries:count{ program = sp.id } > 0 then return nil end   -- made before
  local at = function(d, h) return string.format('%s %02d:00:00', d, h or 9) end
  -- applications: drawn in one pass over the members, then entered
  -- CHUNK to a transaction (LMDB holds a transaction's pages in memory
  -- until it commits: a city's year in one was a peak of 1.3 GB at
  -- 1,000,000 members, for a database of 550 MB)
  local CHUNK = 5000
  local apps = {}
  for m in db.members:scan{ status = 'active' } do
    if rand() < 0.085 then
      local ch, seen = {}, {}
      for _i = 1, rand(3) do
        local b = batches[rand(nb)].batch
        if not seen[b] and #ch < 3 then seen[b] = true; ch[#ch + 1] = b end
      end
      local d = dates.add_days(sp.apply.from, rand(40))
      apps[#apps + 1] = { member = m.member_id, choices = ch, at = at(d, 8 + rand(9)) }
    end
  end
  local napp = 0
  for from = 1, #apps, CHUNK do
    db.atomic(function()
      for i = from, math.min(#apps, from + CHUNK - 1) do
        if self:apply(apps[i]) then napp = napp + 1 end
      end
    end)
  end
  apps = nil
  -- the draw: the seed committed before the list closed
  local dseed = string.format('gonghui-sample-%d-sanatorium-%d', seed, year)
  local d = legacy_allocate(self, dseed, at(sp.apply.from, 8), at(dates.add_days(sp.apply.to, 5), 10))
  -- withdrawals (one in twenty placed), two weeks before their batch: the waiting list moves up
  local moved = 0
  local placed = {}
  for _i, e in ipairs(self.P:entries('stay')) do placed[#placed + 1] = e end
  for _i, e in ipairs(placed) do
    if not e.reverses and rand() < 0.05 then
      local day = dates.add_days(self.plan.batch[e.place].from, -14)
      if day <= e.at:sub(1, 10) then day = dates.add_days(e.at:sub(1, 10), 1) end
      local r = self:withdraw(e.member_id, '本人工作安排冲突', { at = at(day) })
      if r and r.moved_up then moved = moved + 1 end
      -- a move up reads the draw's whole waiting list (49,529 members at
      -- 1,000,000): collected now, the garbage of a few does not pile up
      -- (the sample's Lua heap went from 64 to 119 MB here)
      if r then collectgarbage() end
    end
  end
  -- attendance and scores: most come, most are satisfied
  for _i, e in ipairs(self.P:entries('stay')) do
    if not e.reverses and not db.program_entries:find('reverses', e.entry_id) then
      local b = self.plan.batch[e.place]
      local present = rand() >= 0.03
      local score
      if present and rand() < 0.9 then score = rand() < 0.996 and (rand() < 0.85 and 5 or 4) or 3 end
      self:attend{ member = e.member_id, batch = e.place, present = present, score = score, at = at(b.to, 16) }
    end
  end
  -- the van: about one visit per 60 members, to the larger enterprises more often
  local ents = {}
  for e in db.enterprises:scan() do ents[#ents + 1] = e end
  local nv, nc = math.max(2, nm // 60), 0
  local VISITS = 200   -- visits to a transaction (about 7,000 check-ups)
  for first = 1, nv, VISITS do
    db.atomic(function()
      for i = first, math.min(nv, first + VISITS - 1) do
        local ent = ents[rand(#ents)]
        local day = dates.add_days(year .. '-01-06', (i - 1) * 350 // nv)
        local vid = string.format('V%03d', i)
        self:visit{ visit = vid, enterprise = ent.enterprise_id, day = day, place = ent.name, at = at(day, 8) }
        local n = 0
        for m in db.members:scan{ enterprise_id = ent.enterprise_id } do
          if m.status == 'active' and n < 60 and rand() < 0.35 then
            if self:checked{ member = m.member_id, visit = vid, at = at(day, 9 + rand(7)) } then n = n + 1 end
          end
        end
        nc = nc + n
      end
    end)
  end
  local rep = self:report()
  local t = rep.total
  return { applications = napp, placed = t.placed, waiting = rep.waiting, moved_up = moved, attended = t.attended,
           rate = rate(t), visits = nv, checked = nc, tiers = #d.tiers }
end

return M
