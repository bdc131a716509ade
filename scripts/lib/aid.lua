-- aid.lua — hardship aid (困难职工帮扶), happiness baskets (幸福菜篮子) and
-- medical mutual aid (职工医疗互助): one file per household (一户一档) that
-- goes application -> home visit -> review -> public notice -> approval,
-- payments and medical claims on the program framework's ledger (program
-- 'aid'; the annual caps are its limits), and reports in 人 / 人次 / 户次.
--
-- The program's scripts are in scripts/aid/ (their settings in
-- scripts/aid/caps.lua); this module is their shared part, in scripts/lib so
-- the tests can require it too.
--
--   local aid = require 'aid'
--   local p = aid.open(require 'caps')         -- checks the settings, defines the collections
--   local f = p:apply{ member = 5, tier = 'deep', reason = '重病', persons = 3, by = '李干事' }
--   p:step(f.file_id, 'visit', { by = '李干事', date = '2025-02-01' })   -- then review, notice, approve
--   local pay, code, why = p:pay{ file = f.file_id, type = 'temporary', amount_fen = 300000,
--                                 approver = '王主席', date = '2025-03-01' }
--   local claim, code, why = p:claim{ member = 7, invoice = 'ZY2025-0001', expense_fen = 1250000,
--                                     approver = '医疗互助办', date = '2025-04-02' }
--   local rep = p:report(2025, { by = 'town' })   -- from the ledger; p:report_from_log(2025) from the events
--   local chk = p:check()                       -- the framework's totals == its ledger? caps kept?
--
-- THE FILE'S STATES (aid_files.state) and the steps between them:
--
--     apply          visit          review          notice           approve
--   ------> applied ------> visited ------> reviewed ------> noticed -------> approved --+
--              ^                                                              |  ^      | reverify
--              | reopen                                                       |  +------+ (next year)
--              |                         close (any state but closed)         v
--            closed <---------------------------------------------------------+
--
--   * approve needs the public notice (公示) to have lasted notice_days;
--   * approval verifies the file for the year of its date; each later year
--     needs a reverify (年度复核) with a date in that year before payments of
--     that year; a file that no longer qualifies is closed with a reason
--     (recovered 脱困, retired 退休, moved 迁出, died 去世, rejected 不予认定);
--   * a step from a state that does not allow it is an error naming the
--     household, the file, its state, the step and the step that comes next;
--     nothing is written.
--
-- INVARIANTS (kept by the database, inside db.atomic):
--   1. every payment is one entry of the framework's ledger (program_entries,
--      program 'aid', kind = the aid type, tier = the file's, key = a sheet
--      row's ref) and one row of aid_payments (file or claim, approver,
--      entry_id); neither is ever changed (but once, by the backfill below).
--   2. the caps of caps.lua are the plan's limits, per year (limit year = Y):
--      per household and type, per household by the file's tier (all aid
--      under a file), per type (budget); for claims per claim and per member
--      (clipping). The framework checks them in the payment's transaction,
--      and gonghui lets one writer in at a time, so two clerks paying at
--      once cannot pass a cap together.
--   3. check() is the framework's P:check() (every running total recomputed
--      from the ledger, no limit passed) plus payments == entries, claims ==
--      payments.
--   4. every step publishes aid.household.<step in the past tense>; every
--      payment the framework's program.entry, so report_from_log() and the
--      year report rebuild the figures from the log alone.
--
-- REFUSALS of a payment or a claim (a cap, a file not approved, a duplicate
-- invoice) are not errors: pay() and claim() return nil, a code and a
-- message (see M.REFUSALS). Bad input and forbidden steps raise errors whose
-- message starts with 'aid: '. M.cli(fn) runs an entry script's work and
-- turns both into run.fail (exit code 1, no traceback).
--
-- COUNTING (计数单位), as federations report: 人次 person-times = payments;
-- 人 persons = distinct members paid; 户次 household-times = distinct
-- (household, type, date): one household aided by one type on one day is
-- one 户次 however many of its members were paid; 户 households = distinct
-- households. Totals add the types' 户次.
local dates = require 'dates'
local registry = require 'registry'
local fmt = require 'fmt'
local program = require 'program'

local M = {}
local P = {}
P.__index = P

M.TIERS = { deep = '深度困难', relative = '相对困难', accident = '意外致困' }
M.STATES = { applied = '已申请', visited = '已走访', reviewed = '已审核', noticed = '公示中',
             approved = '已认定', closed = '已销档' }
M.CLOSE_REASONS = { recovered = '脱困', retired = '退休', moved = '迁出', died = '去世',
                    rejected = '不予认定' }

-- step -> the states it may start from, the state it leads to, its event
M.STEPS = {
  visit    = { from = { 'applied' }, to = 'visited', event = 'visited', title = '入户走访' },
  review   = { from = { 'visited' }, to = 'reviewed', event = 'reviewed', title = '审核' },
  notice   = { from = { 'reviewed' }, to = 'noticed', event = 'noticed', title = '公示' },
  approve  = { from = { 'noticed' }, to = 'approved', event = 'approved', title = '审批认定' },
  reverify = { from = { 'approved' }, to = 'approved', event = 'reverified', title = '年度复核' },
  close    = { from = { 'applied', 'visited', 'reviewed', 'noticed', 'approved' }, to = 'closed',
               event = 'closed', title = '销档' },
  reopen   = { from = { 'closed' }, to = 'applied', event = 'reopened', title = '重新申请' },
}
M.STEP_ORDER = { 'visit', 'review', 'notice', 'approve', 'reverify', 'close', 'reopen' }
local NEXT = { applied = 'visit', visited = 'review', reviewed = 'notice', noticed = 'approve',
               approved = 'pay, or reverify in a later year', closed = 'reopen' }

M.REFUSALS = {
  no_file             = N_('no such aid file'),
  not_approved        = N_('the file is not approved'),
  not_verified        = N_('the file is not verified for this year'),
  before_approval     = N_('dated before the approval'),
  household_cap       = N_('over the household annual cap'),
  household_type_cap  = N_('over the annual cap of this type per household'),
  type_budget         = N_('over the annual budget of this type'),
  not_member          = N_('not a member'),
  duplicate           = N_('duplicate claim'),
  below_deductible    = N_('nothing to pay'),
  annual_limit        = N_('the annual limit is used up'),
  already             = N_('already paid'),
}

local function uerr(fmtstr, ...)
  error(gettext('aid: ') .. string.format(fmtstr, ...), 0)
end

local refuse = program.refuser(M.REFUSALS)
local ledger   -- the aid's program on the framework (below)

local function y(fen) return fmt.yuan(fen) .. ' yuan' end

function M.define_collections()
  registry.define_members()
  -- one file per household (一户一档); household as in members.household, or
  -- 'm<member_id>' for a member without one
  db.define('aid_files', {
    key = 'file_id', auto = true,
    fields = { file_id = 'int', household = 'string', member_id = 'int', tier = 'string',
               state = 'string', town = 'string', union_id = 'int?', persons = 'int',
               reason = 'string', opened = 'date', notice_from = 'date?', approved = 'date?',
               verified_year = 'int?', closed = 'date?', close_reason = 'string?',
               history = 'any' },
    unique = { 'household' },
    index = { 'state', 'member_id', { 'town', 'state' } },
  })
  -- the payments: one row per payment (its file or claim, its approver),
  -- each pointing at its entry in the framework's ledger (program_entries,
  -- program 'aid'), which holds the money the caps count
  db.define('aid_payments', {
    key = 'payment_id', auto = true,
    fields = { payment_id = 'int', year = 'int', date = 'date', type = 'string',
               household = 'string', member_id = 'int', file_id = 'int?', claim_id = 'int?',
               tier = 'string?', town = 'string', union_id = 'int?', amount_fen = 'fen',
               approver = 'string', run = 'string', note = 'string?', entry_id = 'int?' },
    index = { { 'year', 'household' }, { 'year', 'type' }, 'member_id', 'file_id', 'run', 'entry_id' },
  })
  -- medical mutual-aid claims; a member claims an invoice once
  db.define('aid_claims', {
    key = 'claim_id', auto = true,
    fields = { claim_id = 'int', member_id = 'int', invoice = 'string', hospital = 'string?',
               date = 'date', year = 'int', type = 'string', expense_fen = 'fen',
               payout_fen = 'fen', limited_by = 'string?', payment_id = 'int',
               approver = 'string' },
    unique = { { 'member_id', 'invoice' } },
    index = { 'year' },
  })
end

-- ---- the settings (scripts/aid/caps.lua) ---------------------------------------------

local function is_fen(v) return math.type(v) == 'integer' and v >= 0 end

local CAP_FIELDS = { budget = true, per_household = true, per_member = true, per_claim = true,
                     deductible = true, rate = true }

local function check_config(cfg)
  local src = cfg.source or 'caps.lua'
  local function bad(where, what, v)
    error(string.format(gettext('aid: %s: %s %s, got %s'), src, where, what, tostring(v)), 0)
  end
  if type(cfg) ~= 'table' then bad('the settings', 'must be a table', cfg) end
  if not (math.type(cfg.notice_days) == 'integer' and cfg.notice_days >= 0) then
    bad('notice_days', 'must be a whole number of days >= 0', cfg.notice_days)
  end
  if type(cfg.types) ~= 'table' or next(cfg.types) == nil then
    bad('types', 'must list the aid types: { temporary = { title = ... }, ... }', cfg.types)
  end
  for name, t in pairs(cfg.types) do
    if type(name) ~= 'string' or not name:match('^[%a_][%w_]*$') then
      bad('types', 'names must be words (letters, digits, _)', name)
    end
    if type(t) ~= 'table' or type(t.title) ~= 'string' then
      bad('types.' .. name, 'needs a title', t)
    end
  end
  if type(cfg.years) ~= 'table' then bad('years', 'must map years to caps: { [2025] = {...} }', cfg.years) end
  for year, yc in pairs(cfg.years) do
    local w = 'years[' .. tostring(year) .. ']'
    if math.type(year) ~= 'integer' or year < 2000 or year > 2200 then bad('years', 'keys must be years', year) end
    if type(yc) ~= 'table' then bad(w, 'must be a table', yc) end
    if type(yc.household) ~= 'table' then bad(w .. '.household', 'must give the cap per tier', yc.household) end
    for tier in pairs(M.TIERS) do
      if not is_fen(yc.household[tier]) then
        bad(w .. '.household.' .. tier, 'must be whole fen >= 0', yc.household[tier])
      end
    end
    for tier in pairs(yc.household) do
      if not M.TIERS[tier] then bad(w .. '.household', 'has an unknown tier (deep, relative, accident)', tier) end
    end
    if type(yc.types) ~= 'table' then bad(w .. '.types', 'must give the caps of each type', yc.types) end
    for name in pairs(cfg.types) do
      if type(yc.types[name]) ~= 'table' then
        bad(w .. '.types.' .. name, 'is missing (every type needs its caps for the year, {} for none)', yc.types[name])
      end
    end
    for name, tc in pairs(yc.types) do
      local tw = w .. '.types.' .. tostring(name)
      if not cfg.types[name] then bad(tw, 'is not one of the types', name) end
      for k, v in pairs(tc) do
        if not CAP_FIELDS[k] then
          bad(tw, 'has an unknown field (budget, per_household, per_member, per_claim, deductible, rate)', k)
        end
        if not is_fen(v) then bad(tw .. '.' .. k, 'must be a whole number >= 0 (fen, or percent for rate)', v) end
      end
      if cfg.types[name].claims then
        if not tc.rate or tc.rate > 100 then bad(tw .. '.rate', 'must be the percent paid, 0 to 100', tc.rate) end
      elseif tc.rate or tc.deductible or tc.per_claim then
        bad(tw, 'rate, deductible and per_claim are for claim types (claims = true)', name)
      end
    end
  end
end

-- Checks the settings and defines the collections. cfg: notice_days, types
-- ({ name = { title =, claims = true for medical } }), years ({ [year] = {
-- household = { deep =, relative =, accident = } fen per household per
-- year, types = { name = { budget =, per_household =, per_member =,
-- per_claim =, deductible =, rate = } } } }), program (a name for events).
function M.open(cfg)
  check_config(cfg)
  M.define_collections()
  local self = setmetatable({ cfg = cfg, program = cfg.program or 'aid' }, P)
  ledger(self)   -- here, outside any payment's transaction (a sheet's row may roll back)
  return self
end

function P:caps(year)
  local yc = self.cfg.years[year]
  if not yc then
    local have = {}
    for k in pairs(self.cfg.years) do have[#have + 1] = k end
    table.sort(have)
    uerr(gettext('%s has no caps for %d (it has %s): add years[%d] before paying in %d'),
         self.cfg.source or 'caps.lua', year, #have > 0 and table.concat(have, ', ') or 'none', year, year)
  end
  return yc
end

local function check_type(self, t, claims)
  local tt = self.cfg.types[t]
  if not tt then
    local names = {}
    for k in pairs(self.cfg.types) do names[#names + 1] = k end
    table.sort(names)
    uerr(gettext("no aid type '%s' (the types: %s)"), tostring(t), table.concat(names, ', '))
  end
  if claims and not tt.claims then uerr(gettext("type '%s' is not paid by claims (claims = true in the settings)"), t) end
  if not claims and tt.claims then uerr(gettext("type '%s' is paid through claims (claim.lua), not as a payment to a file"), t) end
  return tt
end

local function check_date(d, what)
  if d == nil then return dates.today() end
  if not dates.valid(d) then uerr(gettext("%s: expected a date YYYY-MM-DD, got '%s'"), what, tostring(d)) end
  return d
end

local function check_by(by, what)
  if type(by) ~= 'string' or by:match('^%s*$') then
    uerr(gettext('%s: who does it? (by=NAME / approver=NAME), got %s'), what, tostring(by))
  end
  return by
end

local function year_of(d) return math.tointeger(tonumber(d:sub(1, 4))) end

-- What a payment and a claim both check, in this order: the sum (whole fen
-- > 0), who approves, the date (today if none). --> approver, date, its year
local function check_sum(fen, field, approver, date, what)
  if not (math.type(fen) == 'integer' and fen > 0) then
    uerr(gettext('%s: %s must be whole fen > 0, got %s'), what, field, tostring(fen))
  end
  local by = check_by(approver, what)
  local d = check_date(date, what .. ': date')
  return by, d, year_of(d)
end

local function file_name(f)
  return string.format(gettext('household %s (file %d)'), f.household, f.file_id)
end

-- ---- files and steps --------------------------------------------------------------------

local function event_payload(self, f, extra)
  local p = { program = self.program, file_id = f.file_id, household = f.household,
              member_id = f.member_id, town = f.town, union_id = f.union_id, tier = f.tier,
              persons = f.persons }
  for k, v in pairs(extra) do p[k] = v end
  return p
end

-- A member by member_id or ID number (the framework's lookup), or nil.
local function get_member(member)
  if type(member) ~= 'string' and math.type(member) ~= 'integer' then return nil end
  return (program.member(member))
end

-- Opens the file of a member's household. p: member (member_id or ID
-- number), tier, reason (致困原因), persons (people in the household), by,
-- date (default today), note. Returns the file. Errors: no such member, a
-- member who left, an unknown tier, a household that already has a file.
function P:apply(p)
  if not M.TIERS[p.tier] then
    uerr(gettext("tier must be deep (深度困难), relative (相对困难) or accident (意外致困), got '%s'"), tostring(p.tier))
  end
  if type(p.reason) ~= 'string' or p.reason == '' then uerr(gettext('apply: reason (致困原因) is required')) end
  if not (math.type(p.persons) == 'integer' and p.persons >= 1 and p.persons <= 50) then
    uerr(gettext('apply: persons (people in the household) must be a whole number from 1 to 50, got %s'), tostring(p.persons))
  end
  local by = check_by(p.by, 'apply')
  local date = check_date(p.date, 'apply: date')
  return db.atomic(function()
    local m = get_member(p.member)
    if not m then uerr(gettext('apply: no member %s'), tostring(p.member)) end
    if m.status == 'left' then uerr(gettext('apply: member %d (%s) has left the union'), m.member_id, registry.mask_name(m.name)) end
    local household = m.household or ('m' .. m.member_id)
    local old = db.aid_files:find('household', household)
    if old then
      uerr(gettext('household %s already has file %d (state %s): one file per household (一户一档)%s'),
           household, old.file_id, old.state, old.state == 'closed' and '; reopen it (step reopen)' or '')
    end
    local f = { household = household, member_id = m.member_id, tier = p.tier, state = 'applied',
                town = m.town, union_id = m.union_id, persons = p.persons, reason = p.reason,
                opened = date,
                history = { { step = 'apply', to = 'applied', date = date, by = by, note = p.note } } }
    f.file_id = db.aid_files:insert(f)
    bus.publish('aid.household.applied', event_payload(self, f, {
      step = 'apply', to = 'applied', date = date, by = by, reason = p.reason }))
    return f
  end)
end

local function find_file(file)
  local f
  if math.type(file) == 'integer' then
    f = db.aid_files:get(file)
  elseif type(file) == 'string' then
    f = db.aid_files:find('household', file)
  end
  return f
end

-- Moves a file one step (see the diagram above). opts: by (required),
-- date (default today), note; reason for close (see M.CLOSE_REASONS); tier,
-- persons, reason_text for reopen. Returns the file as it is after the
-- step. A step the state does not allow is an error and writes nothing.
function P:step(file, step, opts)
  opts = opts or {}
  local rule = M.STEPS[step]
  if not rule then
    uerr(gettext("no step '%s' (the steps: %s)"), tostring(step), table.concat(M.STEP_ORDER, ', '))
  end
  local by = check_by(opts.by, step)
  local date = check_date(opts.date, step .. ': date')
  return db.atomic(function()
    local f = find_file(file)
    if not f then uerr(gettext('%s: no aid file %s'), step, tostring(file)) end
    local allowed = false
    for _, s in ipairs(rule.from) do if s == f.state then allowed = true end end
    if not allowed then
      uerr(gettext("%s is '%s' (%s): cannot %s (%s) — allowed only from %s; the next step is %s"),
           file_name(f), f.state, M.STATES[f.state], step, rule.title,
           table.concat(rule.from, ' or '), NEXT[f.state])
    end
    local change = { state = rule.to }
    local extra = { step = step, from = f.state, to = rule.to, date = date, by = by }
    local year = year_of(date)
    if step == 'notice' then
      change.notice_from = date
    elseif step == 'approve' then
      local ends = dates.add_days(f.notice_from, self.cfg.notice_days)
      if date < ends then
        uerr(gettext('%s: the public notice (公示) began on %s and lasts %d days: approve on %s or later'),
             file_name(f), f.notice_from, self.cfg.notice_days, ends)
      end
      change.approved, change.verified_year = date, year
    elseif step == 'reverify' then
      if year <= (f.verified_year or 0) then
        uerr(gettext('%s is already verified for %d: reverify with a date in a later year'), file_name(f), f.verified_year)
      end
      if date < f.approved then uerr(gettext('%s: %s is before the approval on %s'), file_name(f), date, f.approved) end
      change.verified_year = year
    elseif step == 'close' then
      if not M.CLOSE_REASONS[opts.reason] then
        uerr(gettext('%s: close needs reason=recovered (脱困), retired (退休), moved (迁出), died (去世) or rejected (不予认定), got %s'),
             file_name(f), tostring(opts.reason))
      end
      change.closed, change.close_reason = date, opts.reason
      extra.reason = opts.reason
    elseif step == 'reopen' then
      if opts.tier ~= nil and not M.TIERS[opts.tier] then
        uerr(gettext("tier must be deep, relative or accident, got '%s'"), tostring(opts.tier))
      end
      if opts.persons ~= nil and not (math.type(opts.persons) == 'integer' and opts.persons >= 1) then
        uerr(gettext('reopen: persons must be a whole number >= 1, got %s'), tostring(opts.persons))
      end
      change.tier, change.persons = opts.tier or f.tier, opts.persons or f.persons
      change.reason = opts.reason_text or f.reason
      change.opened = date
      for _, k in ipairs{ 'notice_from', 'approved', 'verified_year', 'closed', 'close_reason' } do
        change[k] = db.null
      end
    end
    local h = f.history or {}
    h[#h + 1] = { step = step, from = f.state, to = rule.to, date = date, by = by, note = opts.note,
                  reason = opts.reason }
    change.history = h
    db.aid_files:update(f.file_id, change)
    f = db.aid_files:get(f.file_id)
    bus.publish('aid.household.' .. rule.event, event_payload(self, f, extra))
    return f
  end)
end

function P:file(file)
  return find_file(file)
end

-- ---- the ledger: the framework's ------------------------------------------------------------

-- The aid on the program framework (program.lua): program 'aid', one kind per
-- aid type, every payment a framework ledger entry (its tier the file's, its
-- key the sheet row's ref) and a payment row (aid_payments: file, claim,
-- approver) pointing at it. The caps of caps.lua are the plan's limits, one
-- set per year (limits with year = Y), checked by the framework in the
-- payment's transaction, with aid's own refusal messages. 户次 is per kind
-- and day (household_times = 'day'), the aid's own count: one household
-- aided by one type on one day is one 户次. The window is every year the
-- settings may name (2000 .. 2200): the caps are per year, not the window.
-- A change of the settings after the first entry raises the plan's version,
-- declared as a change of the settings file (the totals are rebuilt).
M.PROGRAM = 'aid'
M.TIER_ORDER = { 'deep', 'relative', 'accident' }

local function over(what, used, cap, amount)
  return string.format(gettext('%s: %s paid of %s; %s more would pass it by %s'), what, fmt.yuan(used),
                       y(cap), fmt.yuan(amount), y(used + amount - cap))
end

local function refusal_text(code, detail) return select(3, refuse(code, detail)) end

local function file_of_entry(e)
  return string.format(gettext('household %s (file %d)'), e.household, e.extra and e.extra.file_id or 0)
end

local function plan_of(self)
  local cfg = self.cfg
  local names, files = {}, {}
  for name in pairs(cfg.types) do names[#names + 1] = name end
  table.sort(names)
  local kinds = {}
  for i, name in ipairs(names) do
    kinds[i] = { kind = name, title = cfg.types[name].title, unit = 'fen' }
    if not cfg.types[name].claims then files[#files + 1] = name end
  end
  local years = {}
  for yr in pairs(cfg.years) do years[#years + 1] = yr end
  table.sort(years)
  -- the order is the order of the checks: a payment passing two caps gets
  -- the first one's refusal (per household and type, the household's cap
  -- for the year, the type's budget; for claims per claim, per member, budget)
  local limits = {}
  local function add(l) limits[#limits + 1] = l end
  for _, yr in ipairs(years) do
    local yc, w = cfg.years[yr], 'years[' .. yr .. ']'
    for _, name in ipairs(names) do
      local tc, title, tw = yc.types[name], cfg.types[name].title, w .. '.types.' .. name
      if tc.per_claim then
        add{ name = 'claim:' .. name .. ':' .. yr, per = 'entry', kind = name, year = yr,
             max_fen = tc.per_claim, clip = true, path = tw .. '.per_claim' }
      end
      if cfg.types[name].claims and tc.per_member then
        add{ name = 'member:' .. name .. ':' .. yr, per = 'member', kind = name, year = yr,
             max_fen = tc.per_member, clip = true, code = 'annual_limit', path = tw .. '.per_member',
             message = function(i)
               return refusal_text('annual_limit', string.format(gettext('member %d has received %s of %s in %d'),
                                   i.member_id, fmt.yuan(i.used), y(i.max), i.year))
             end }
      end
      if not cfg.types[name].claims and tc.per_household then
        add{ name = 'household:' .. name .. ':' .. yr, per = 'household', kind = name, year = yr,
             max_fen = tc.per_household, code = 'household_type_cap', path = tw .. '.per_household',
             message = function(i)
               return refusal_text('household_type_cap', over(string.format(gettext('%s, %s (%s) in %d'),
                                   file_of_entry(i.entry), title, name, i.year), i.used, i.max, i.fen))
             end }
      end
    end
    if #files > 0 then
      add{ name = 'household:' .. yr, per = 'household', kinds = files, year = yr, max_fen = yc.household,
           code = 'household_cap', path = w .. '.household',
           message = function(i)
             return refusal_text('household_cap', over(string.format(gettext('%s, %s, all aid in %d'),
                                 file_of_entry(i.entry), M.TIERS[i.tier], i.year), i.used, i.max, i.fen))
           end }
    end
    for _, name in ipairs(names) do
      local tc, title = yc.types[name], cfg.types[name].title
      local who = cfg.types[name].claims and gettext('%s (%s) in %d, all members')
                  or gettext('%s (%s) in %d, all households')
      if tc.budget then
        add{ name = 'budget:' .. name .. ':' .. yr, per = {}, kind = name, year = yr, max_fen = tc.budget,
             code = 'type_budget', path = w .. '.types.' .. name .. '.budget',
             message = function(i)
               return refusal_text('type_budget', over(string.format(who, title, name, i.year), i.used, i.max, i.fen))
             end }
      end
    end
  end
  local tiers = {}
  for i, t in ipairs(M.TIER_ORDER) do tiers[i] = { name = t } end
  return { id = M.PROGRAM, title = '困难帮扶与医疗互助', window = { from = '2000-01-01', to = '2200-12-31' },
           kinds = kinds, units = { '人', '人次', '户次', 'fen' }, household_times = 'day',
           who = { tiers = tiers }, limits = limits }
end

-- Databases made before the caps were framework limits keep their running
-- totals in aid_totals and their sheet refs in aid_refs, and their payments
-- may have no framework entry (made before aid stood on the framework) or
-- one keyed 'payment:ID' with no tier. Once, in one transaction: every
-- payment gets its entry (the ref as its key, the file's tier), the old
-- collections are dropped and the framework's totals rebuilt from the
-- ledger. Idempotent: a database with no aid_totals/aid_refs is left alone.
local function backfill(P)
  local have = {}
  for _, n in ipairs(db.collections()) do have[n] = true end
  if not have.aid_totals and not have.aid_refs then return 0 end
  local n = 0
  db.atomic(function()
    local refs = {}
    if have.aid_refs then for r in db.aid_refs:scan() do refs[r.payment_id] = r.ref end end
    local tier_ix = {}
    for i, t in ipairs(M.TIER_ORDER) do tier_ix[t] = i end
    local todo, link = {}, {}
    for p in db.aid_payments:scan() do
      if p.entry_id == nil then
        local old = db.program_entries:find('program,key', { M.PROGRAM, 'payment:' .. p.payment_id })
        if old then
          db.program_entries:update(old.entry_id, { key = refs[p.payment_id] or old.key, tier = tier_ix[p.tier],
                                                    extra = { file_id = p.file_id } })
          link[#link + 1] = { p.payment_id, old.entry_id }
        else
          todo[#todo + 1] = { payment_id = p.payment_id, kind = p.type, member_id = p.member_id,
                              household = p.household, fen = p.amount_fen, day = p.date, at = p.date .. ' 00:00:00',
                              key = refs[p.payment_id], run = p.run, town = p.town, tier = tier_ix[p.tier],
                              note = p.note, extra = p.file_id and { file_id = p.file_id } or nil }
        end
      end
    end
    local ids = P:backfill(todo)
    for i, r in ipairs(todo) do link[#link + 1] = { r.payment_id, ids[i] } end
    for _, l in ipairs(link) do db.aid_payments:update(l[1], { entry_id = l[2] }) end
    if have.aid_totals then db.drop('aid_totals') end
    if have.aid_refs then db.drop('aid_refs') end
    P:rebuild_totals()
    n = #link
  end)
  return n
end

function ledger(self)
  if self.ledger then return self.ledger end
  local plan = plan_of(self)
  local src = self.cfg.source or 'caps.lua'
  -- the stored version and its declared changes: the same settings define
  -- the same plan; changed ones a new version, declared as a change of the
  -- settings file (compared by the plan's fingerprint, not by a message,
  -- which a Chinese locale translates)
  program.define_collections()
  local old = db.programs:get(M.PROGRAM)
  if old then
    plan.version, plan.changes = old.version, {}
    for v, why in pairs(old.changes or {}) do plan.changes[v] = why end
    if require('program.plan').check(plan, src).hash ~= old.canonical then
      plan.version = old.version + 1
      plan.changes[plan.version] = 'the settings changed in ' .. src
    end
  end
  local P = program.define(plan, { file = src })
  self.ledger = P
  self.backfilled = backfill(P)
  return P
end
M.ledger = function(self) return ledger(self) end

-- The same move for a report that runs before any aid script opened the
-- database (the year report, through program/migrate.lua), without the
-- settings: the stored program 'aid', or one whose kinds are the payments'
-- types (the first aid.open then declares the settings' plan as a new
-- version and rebuilds the totals). Returns the payments moved.
function M.migrate()
  local have = {}
  for _, n in ipairs(db.collections()) do have[n] = true end
  if not have.aid_totals and not have.aid_refs then return 0 end
  program.define_collections()
  local P
  if db.programs:get(M.PROGRAM) then
    P = program.open(M.PROGRAM)
  else
    local types, kinds = {}, {}
    for p in db.aid_payments:scan() do
      if not types[p.type] then types[p.type] = true; kinds[#kinds + 1] = { kind = p.type, unit = 'fen' } end
    end
    if #kinds == 0 then kinds[1] = { kind = 'temporary', unit = 'fen' } end
    table.sort(kinds, function(a, b) return a.kind < b.kind end)
    local tiers = {}
    for i, t in ipairs(M.TIER_ORDER) do tiers[i] = { name = t } end
    P = program.define({ id = M.PROGRAM, title = '困难帮扶与医疗互助', window = { from = '2000-01-01', to = '2200-12-31' },
                         kinds = kinds, units = { '人', '人次', '户次', 'fen' }, household_times = 'day',
                         who = { tiers = tiers } }, { file = 'aid_payments' })
  end
  return backfill(P)
end

-- Writes the payment row of framework entry e inside the caller's transaction.
local function record_payment(self, p, e)
  p.run = run.uid
  p.entry_id = e.entry_id
  p.payment_id = db.aid_payments:insert(p)
  return p
end

-- Pays aid to an approved file. p: file (file_id or household), type (a
-- type without claims), amount_fen (> 0), approver, date (default today),
-- note, ref (a reference kept unique: a second payment with the same ref
-- is refused as 'already'). Returns the ledger row, or nil, code, message
-- (M.REFUSALS): the file is missing, not approved, not verified for the
-- year, or a cap would be passed (per household and type, per household,
-- the type's budget).
function P:pay(p)
  check_type(self, p.type, false)
  local approver, date, year = check_sum(p.amount_fen, 'amount_fen', p.approver, p.date, 'pay')
  self:caps(year)
  if p.ref ~= nil and (type(p.ref) ~= 'string' or p.ref == '') then
    uerr(gettext('pay: ref must be a non-empty string, got %s'), tostring(p.ref))
  end
  local L = ledger(self)
  return db.atomic(function()
    if p.ref then
      local old = db.program_entries:find('program,key', { M.PROGRAM, p.ref })
      if old then
        local o = db.aid_payments:find('entry_id', old.entry_id) or {}
        return refuse('already', string.format(gettext('payment %d, %s yuan %s to household %s on %s (ref %s)'),
                      o.payment_id or 0, fmt.yuan(old.fen), old.kind, program.household_of_entry(old), old.day, p.ref))
      end
    end
    local f = find_file(p.file)
    if not f then return refuse('no_file', tostring(p.file)) end
    if f.state ~= 'approved' then
      return refuse('not_approved', string.format(gettext("%s is '%s' (%s); the next step is %s"),
                    file_name(f), f.state, M.STATES[f.state], NEXT[f.state]))
    end
    if date < f.approved then
      return refuse('before_approval', string.format(gettext('%s was approved on %s; the payment is dated %s'),
                    file_name(f), f.approved, date))
    end
    if (f.verified_year or 0) < year then
      return refuse('not_verified', string.format(gettext('%s was last verified for %d: reverify it for %d first (年度复核)'),
                    file_name(f), f.verified_year or 0, year))
    end
    local e, code, why = L:enter{ member = f.member_id, kind = p.type, fen = p.amount_fen, day = date,
                                  key = p.ref, town = f.town, tier = f.tier, note = p.note,
                                  extra = { file_id = f.file_id } }
    if not e then return nil, code, why end
    return record_payment(self, {
      year = year, date = date, type = p.type, household = f.household, member_id = f.member_id,
      file_id = f.file_id, tier = f.tier, town = f.town, union_id = f.union_id,
      amount_fen = e.fen, approver = approver, note = p.note,
    }, e)
  end)
end

-- A medical mutual-aid claim. c: member (member_id or ID number), invoice
-- (the invoice number), expense_fen (the eligible expense), approver, date
-- (default today), hospital, type (default: the only claims type). The
-- payout is (expense - deductible) * rate / 100 (rounded down), at most
-- per_claim, at most what is left of per_member this year; it must fit in
-- the type's budget. Returns the claim (with payment_id and limited_by =
-- 'per_claim' / 'annual_limit' when a limit cut it), or nil, code, message:
-- not a member, duplicate (the member claimed this invoice before),
-- below_deductible, annual_limit (nothing left), type_budget.
function P:claim(c)
  local ctype = c.type
  if ctype == nil then
    for name, t in pairs(self.cfg.types) do
      if t.claims then
        if ctype then uerr(gettext('claim: more than one claims type: give type=')) end
        ctype = name
      end
    end
    if not ctype then uerr(gettext('claim: the settings have no claims type (claims = true)')) end
  end
  check_type(self, ctype, true)
  if type(c.invoice) ~= 'string' and math.type(c.invoice) ~= 'integer' then
    uerr(gettext('claim: invoice (the invoice number) is required, got %s'), tostring(c.invoice))
  end
  local invoice = tostring(c.invoice):gsub('%s', ''):upper()
  if invoice == '' then uerr(gettext('claim: invoice (the invoice number) is required')) end
  local approver, date, year = check_sum(c.expense_fen, 'expense_fen', c.approver, c.date, 'claim')
  local tc = self:caps(year).types[ctype]
  local L = ledger(self)
  return db.atomic(function()
    local m = get_member(c.member)
    if not m then return refuse('not_member', string.format(gettext('no member %s'), tostring(c.member))) end
    if m.status == 'left' then
      return refuse('not_member', string.format(gettext('member %d has left the union'), m.member_id))
    end
    local dup = db.aid_claims:find('member_id,invoice', { m.member_id, invoice })
    if dup then
      return refuse('duplicate', string.format(gettext('member %d claimed invoice %s on %s (claim %d, paid %s)'),
                    m.member_id, invoice, dup.date, dup.claim_id, y(dup.payout_fen)))
    end
    local payout = math.max(0, c.expense_fen - (tc.deductible or 0)) * tc.rate // 100
    if payout == 0 then
      return refuse('below_deductible', string.format(gettext('expense %s, deductible %s, rate %d%%'),
                    y(c.expense_fen), y(tc.deductible or 0), tc.rate))
    end
    local e, code, why = L:enter{ member = m, kind = ctype, fen = payout, day = date, town = m.town,
                                  note = 'invoice ' .. invoice }
    if not e then return nil, code, why end
    local limited_by = e.capped_by and (e.capped_by:match('^claim:') and 'per_claim' or 'annual_limit')
    local cl = { member_id = m.member_id, invoice = invoice, hospital = c.hospital, date = date,
                 year = year, type = ctype, expense_fen = c.expense_fen, payout_fen = e.fen,
                 limited_by = limited_by, payment_id = 0, approver = approver }
    cl.claim_id = db.aid_claims:insert(cl)
    local pay = record_payment(self, {
      year = year, date = date, type = ctype, household = m.household or ('m' .. m.member_id),
      member_id = m.member_id, claim_id = cl.claim_id, town = m.town, union_id = m.union_id,
      amount_fen = e.fen, approver = approver, note = 'invoice ' .. invoice,
    }, e)
    db.aid_claims:update(cl.claim_id, { payment_id = pay.payment_id })
    cl.payment_id = pay.payment_id
    return cl
  end)
end

-- ---- reports --------------------------------------------------------------------------------

function P:titles()
  local t = {}
  for k, v in pairs(self.cfg.types) do t[k] = v.title end
  return t
end

-- The year's report: the framework's report of program 'aid' (P:report,
-- entries dated in the year), per type and in all: 人次, 人, 户次 (household,
-- type, date), 户, yuan; with opts.by = town, tier or union_id also per value
-- (no tier: medical claims, ''). opts.from = 'log': from the program.entry
-- events alone (the same figures: a federation that receives only the log).
function P:report(year, opts)
  opts = opts or {}
  local r = ledger(self):report{ year = year, by = opts.by, from = opts.from }
  local function clean(c, extra)
    local out = { person_times = c.person_times, persons = c.persons, household_times = c.household_times,
                  households = c.households, amount_fen = c.fen }
    for k, v in pairs(extra or {}) do out[k] = v end
    return out
  end
  local rep = { year = year, types = {}, total = clean(r.total) }
  local list = {}
  for _, k in ipairs(r.kinds) do if k.cell.person_times > 0 then list[#list + 1] = k end end
  table.sort(list, function(a, b) return a.kind < b.kind end)
  for _, k in ipairs(list) do rep.types[#rep.types + 1] = clean(k.cell, { type = k.kind, title = k.title }) end
  if opts.by then
    rep.by_field, rep.by = opts.by, {}
    local keys = {}
    for k in pairs(r.by) do keys[#keys + 1] = k end
    table.sort(keys, function(a, b) return (a == '(none)' and '' or a) < (b == '(none)' and '' or b) end)
    for _, k in ipairs(keys) do rep.by[#rep.by + 1] = clean(r.by[k], { value = k == '(none)' and '' or k }) end
  end
  return rep
end

function P:report_from_log(year, opts)
  opts = opts or {}
  return self:report(year, { by = opts.by, from = 'log' })
end

function M.format_report(rep, tiers)
  local out = { string.format(gettext('Aid report %d (帮扶救助统计)'), rep.year), '' }
  local rows = {}
  local function row(name, g)
    return { name, g.households, g.household_times, g.persons, g.person_times, fmt.yuan(g.amount_fen) }
  end
  for _, t in ipairs(rep.types) do rows[#rows + 1] = row(t.title .. ' (' .. t.type .. ')', t) end
  rows[#rows + 1] = row(gettext('total'), rep.total)
  out[#out + 1] = fmt.table({ gettext('type'), '户', '户次', '人', '人次', gettext('yuan') }, rows,
                            { right = { 2, 3, 4, 5, 6 } })
  if rep.by then
    out[#out + 1] = ''
    rows = {}
    for _, g in ipairs(rep.by) do
      local name = g.value
      if rep.by_field == 'tier' then name = (tiers or M.TIERS)[g.value] or (g.value == '' and 'medical (no file)' or g.value) end
      rows[#rows + 1] = row(name, g)
    end
    out[#out + 1] = fmt.table({ gettext(rep.by_field), '户', '户次', '人', '人次', gettext('yuan') }, rows,
                              { right = { 2, 3, 4, 5, 6 } })
  end
  out[#out + 1] = ''
  local t = rep.total
  out[#out + 1] = string.format('%d 户 / %d 户次, %d 人 / %d 人次, %s yuan', t.households,
                                t.household_times, t.persons, t.person_times, fmt.yuan(t.amount_fen))
  return table.concat(out, '\n')
end

-- The files as they stand (在档): { { tier =, title =, applied =, visited =,
-- ..., closed =, persons = people in its open files }, ... } per tier, and
-- the totals as the last row (tier = 'total').
function P:file_counts()
  local rows, total = {}, { tier = 'total', title = '合计', persons = 0 }
  for _, st in pairs{ 'applied', 'visited', 'reviewed', 'noticed', 'approved', 'closed' } do total[st] = 0 end
  for _, tier in ipairs{ 'deep', 'relative', 'accident' } do
    local r = { tier = tier, title = M.TIERS[tier], persons = 0 }
    for st in pairs(M.STATES) do r[st] = 0 end
    rows[#rows + 1] = r
    rows[tier] = r
  end
  for f in db.aid_files:scan() do
    local r = rows[f.tier]
    r[f.state] = r[f.state] + 1
    total[f.state] = total[f.state] + 1
    if f.state ~= 'closed' then
      r.persons = r.persons + f.persons
      total.persons = total.persons + f.persons
    end
  end
  for _, tier in ipairs{ 'deep', 'relative', 'accident' } do rows[tier] = nil end
  rows[#rows + 1] = total
  return rows
end

function M.format_file_counts(rows)
  local t = {}
  for _, r in ipairs(rows) do
    t[#t + 1] = { r.title, r.applied + r.visited + r.reviewed + r.noticed, r.approved, r.closed, r.persons }
  end
  return fmt.table({ gettext('files'), gettext('in progress'), gettext('approved'), gettext('closed'), gettext('persons') }, t, { right = { 2, 3, 4, 5 } })
end

-- The public notice (公示): the files now in notice, names masked.
-- opts: town. Rows in file order.
function P:notice_list(opts)
  opts = opts or {}
  local rows = {}
  local where = opts.town and { town = opts.town, state = 'noticed' } or { state = 'noticed' }
  for f in db.aid_files:scan(where) do
    local name = db.members:get(f.member_id, 'name') or '?'
    rows[#rows + 1] = { file_id = f.file_id, name = registry.mask_name(name), town = f.town,
                        tier = f.tier, persons = f.persons, reason = f.reason,
                        from = f.notice_from, to = dates.add_days(f.notice_from, self.cfg.notice_days) }
  end
  table.sort(rows, function(a, b) return a.file_id < b.file_id end)
  return rows
end

function M.format_notice(rows)
  local out = { '困难职工帮扶公示 (public notice of hardship aid files)', '' }
  local t = {}
  for _, r in ipairs(rows) do
    t[#t + 1] = { r.file_id, r.name, r.town, M.TIERS[r.tier], r.persons, r.reason, r.from .. ' .. ' .. r.to }
  end
  out[#out + 1] = fmt.table({ gettext('file'), gettext('name'), gettext('town'), gettext('tier'), gettext('persons'), gettext('reason'), gettext('notice') }, t,
                            { right = { 1, 5 } })
  out[#out + 1] = ''
  out[#out + 1] = string.format(gettext('%d files in notice; objections to the union before the end date.'), #rows)
  return table.concat(out, '\n')
end

-- ---- the check ------------------------------------------------------------------------------

-- The check, through the framework: P:check() of program 'aid' (every
-- running total recomputed from the ledger, no limit passed: a cap lowered
-- after paying shows here), and aid's own records: every payment row and
-- its ledger entry agree, every claim and its payment. year: count that
-- year's payments and totals (the framework checks them all). Returns {
-- ok, problems = { text, ... }, payments = n, totals = n }.
function P:check(year)
  local L = ledger(self)
  local _, problems = L:check()
  local n = 0
  local claimed = {}
  local scan = year and db.aid_payments:scan{ index = 'year,household', eq = { year } } or db.aid_payments:scan()
  for p in scan do
    n = n + 1
    local e = p.entry_id and db.program_entries:get(p.entry_id)
    if not e or e.program ~= M.PROGRAM then
      problems[#problems + 1] = string.format(gettext('payment %d: its ledger entry %s does not exist'), p.payment_id,
                                              tostring(p.entry_id))
    elseif e.fen ~= p.amount_fen or e.kind ~= p.type or e.member_id ~= p.member_id or e.day ~= p.date then
      problems[#problems + 1] = string.format(gettext('payment %d (%s %s, member %d, %s) and ledger entry %d (%s %s, member %s, %s) disagree'),
        p.payment_id, y(p.amount_fen), p.type, p.member_id, p.date, e.entry_id, y(e.fen), e.kind,
        tostring(e.member_id), e.day)
    end
    if p.claim_id then
      local c = db.aid_claims:get(p.claim_id)
      if not c then
        problems[#problems + 1] = string.format(gettext('payment %d: its claim %d does not exist'), p.payment_id, p.claim_id)
      elseif c.payment_id ~= p.payment_id or c.payout_fen ~= p.amount_fen then
        problems[#problems + 1] = string.format(gettext('payment %d (%s) and claim %d (payment %d, payout %s) disagree'),
          p.payment_id, y(p.amount_fen), c.claim_id, c.payment_id, y(c.payout_fen))
      end
      claimed[p.claim_id] = true
    end
  end
  local cscan = year and db.aid_claims:scan{ year = year } or db.aid_claims:scan()
  for c in cscan do
    if not claimed[c.claim_id] then
      problems[#problems + 1] = string.format(gettext('claim %d (member %d, invoice %s) has no payment in the ledger'),
                                              c.claim_id, c.member_id, c.invoice)
    end
  end
  local totals = 0
  for t in db.program_totals:scan{ program = M.PROGRAM } do
    if not year or t.limit:sub(-5) == ':' .. year then totals = totals + 1 end
  end
  return { ok = #problems == 0, problems = problems, payments = n, totals = totals }
end

-- Runs an entry script's work: an 'aid: ' error (bad input, a forbidden
-- step) or a refusal ends the run with its message (exit 1, no traceback):
-- the framework's harness.
M.cli = program.cli

return M
