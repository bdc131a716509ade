-- aid.lua — hardship aid (困难职工帮扶), happiness baskets (幸福菜篮子) and
-- medical mutual aid (职工医疗互助): one file per household (一户一档) that
-- goes application -> home visit -> review -> public notice -> approval, a
-- ledger of every payment in integer fen with running totals that a check
-- proves, annual caps, medical claims, and reports in 人 / 人次 / 户次.
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
--   local chk = p:check()                       -- running totals == the ledger? caps kept?
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
--   1. aid_payments is the ledger: one row per payment, never changed.
--   2. aid_totals holds running totals per year: per household (payments
--      under a file: hardship aid), per type, per household and type, per
--      member and type. A payment's cap checks, its ledger row, its totals
--      and its event are one transaction, and gonghui lets one writer in at
--      a time, so two clerks paying at once cannot pass a cap together.
--   3. check() recomputes every total from the ledger and compares.
--   4. every step and every payment publishes an event (aid.household.<step
--      in the past tense>, aid.paid) whose payload carries what a year report
--      needs, so report_from_log() rebuilds the report from the log alone.
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
  no_file             = 'no such aid file',
  not_approved        = 'the file is not approved',
  not_verified        = 'the file is not verified for this year',
  before_approval     = 'dated before the approval',
  household_cap       = 'over the household annual cap',
  household_type_cap  = 'over the annual cap of this type per household',
  type_budget         = 'over the annual budget of this type',
  not_member          = 'not a member',
  duplicate           = 'duplicate claim',
  below_deductible    = 'nothing to pay',
  annual_limit        = 'the annual limit is used up',
  already             = 'already paid',
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
  -- the ledger: one row per payment, never changed
  db.define('aid_payments', {
    key = 'payment_id', auto = true,
    fields = { payment_id = 'int', year = 'int', date = 'date', type = 'string',
               household = 'string', member_id = 'int', file_id = 'int?', claim_id = 'int?',
               tier = 'string?', town = 'string', union_id = 'int?', amount_fen = 'fen',
               approver = 'string', run = 'string', note = 'string?' },
    index = { { 'year', 'household' }, { 'year', 'type' }, 'member_id', 'file_id', 'run' },
  })
  -- running totals, per year and scope: 'household' (payments under a file),
  -- 'type', 'household_type' (household|type), 'member_type' (member_id|type)
  db.define('aid_totals', {
    key = 'total_id',
    fields = { total_id = 'string', year = 'int', scope = 'string', subject = 'string',
               paid_fen = 'fen', n = 'int' },
    index = { { 'year', 'scope' } },
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
  -- references of payments entered from sheets: a sheet entered twice pays
  -- nothing twice
  db.define('aid_refs', {
    key = 'ref',
    fields = { ref = 'string', payment_id = 'int' },
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
    uerr('%s has no caps for %d (it has %s): add years[%d] before paying in %d',
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
    uerr("no aid type '%s' (the types: %s)", tostring(t), table.concat(names, ', '))
  end
  if claims and not tt.claims then uerr("type '%s' is not paid by claims (claims = true in the settings)", t) end
  if not claims and tt.claims then uerr("type '%s' is paid through claims (claim.lua), not as a payment to a file", t) end
  return tt
end

local function check_date(d, what)
  if d == nil then return dates.today() end
  if not dates.valid(d) then uerr("%s: expected a date YYYY-MM-DD, got '%s'", what, tostring(d)) end
  return d
end

local function check_by(by, what)
  if type(by) ~= 'string' or by:match('^%s*$') then
    uerr('%s: who does it? (by=NAME / approver=NAME), got %s', what, tostring(by))
  end
  return by
end

local function year_of(d) return math.tointeger(tonumber(d:sub(1, 4))) end

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
    uerr("tier must be deep (深度困难), relative (相对困难) or accident (意外致困), got '%s'", tostring(p.tier))
  end
  if type(p.reason) ~= 'string' or p.reason == '' then uerr('apply: reason (致困原因) is required') end
  if not (math.type(p.persons) == 'integer' and p.persons >= 1 and p.persons <= 50) then
    uerr('apply: persons (people in the household) must be a whole number from 1 to 50, got %s', tostring(p.persons))
  end
  local by = check_by(p.by, 'apply')
  local date = check_date(p.date, 'apply: date')
  return db.atomic(function()
    local m = get_member(p.member)
    if not m then uerr('apply: no member %s', tostring(p.member)) end
    if m.status == 'left' then uerr('apply: member %d (%s) has left the union', m.member_id, registry.mask_name(m.name)) end
    local household = m.household or ('m' .. m.member_id)
    local old = db.aid_files:find('household', household)
    if old then
      uerr('household %s already has file %d (state %s): one file per household (一户一档)%s',
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
    uerr("no step '%s' (the steps: %s)", tostring(step), table.concat(M.STEP_ORDER, ', '))
  end
  local by = check_by(opts.by, step)
  local date = check_date(opts.date, step .. ': date')
  return db.atomic(function()
    local f = find_file(file)
    if not f then uerr('%s: no aid file %s', step, tostring(file)) end
    local allowed = false
    for _, s in ipairs(rule.from) do if s == f.state then allowed = true end end
    if not allowed then
      uerr("%s is '%s' (%s): cannot %s (%s) — allowed only from %s; the next step is %s",
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
        uerr('%s: the public notice (公示) began on %s and lasts %d days: approve on %s or later',
             file_name(f), f.notice_from, self.cfg.notice_days, ends)
      end
      change.approved, change.verified_year = date, year
    elseif step == 'reverify' then
      if year <= (f.verified_year or 0) then
        uerr('%s is already verified for %d: reverify with a date in a later year', file_name(f), f.verified_year)
      end
      if date < f.approved then uerr('%s: %s is before the approval on %s', file_name(f), date, f.approved) end
      change.verified_year = year
    elseif step == 'close' then
      if not M.CLOSE_REASONS[opts.reason] then
        uerr('%s: close needs reason=recovered (脱困), retired (退休), moved (迁出), died (去世) or rejected (不予认定), got %s',
             file_name(f), tostring(opts.reason))
      end
      change.closed, change.close_reason = date, opts.reason
      extra.reason = opts.reason
    elseif step == 'reopen' then
      if opts.tier ~= nil and not M.TIERS[opts.tier] then
        uerr("tier must be deep, relative or accident, got '%s'", tostring(opts.tier))
      end
      if opts.persons ~= nil and not (math.type(opts.persons) == 'integer' and opts.persons >= 1) then
        uerr('reopen: persons must be a whole number >= 1, got %s', tostring(opts.persons))
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

-- ---- the ledger ---------------------------------------------------------------------------

local function total_id(year, scope, subject) return year .. '|' .. scope .. '|' .. subject end

local function total(year, scope, subject)
  local t = db.aid_totals:get(total_id(year, scope, subject))
  return t and t.paid_fen or 0
end

local function add_total(year, scope, subject, fen)
  local id = total_id(year, scope, subject)
  local t = db.aid_totals:get(id)
  if t then
    db.aid_totals:update(id, { paid_fen = t.paid_fen + fen, n = t.n + 1 })
  else
    db.aid_totals:insert{ total_id = id, year = year, scope = scope, subject = subject,
                          paid_fen = fen, n = 1 }
  end
end

-- the scopes a payment counts in: { scope, subject } pairs
local function scopes_of(p)
  local s = {
    { 'type', p.type },
    { 'household_type', p.household .. '|' .. p.type },
    { 'member_type', p.member_id .. '|' .. p.type },
  }
  if p.file_id then s[#s + 1] = { 'household', p.household } end
  return s
end

-- The aid on the program framework (program.lua): program 'aid', one kind per
-- aid type, every payment also a framework ledger entry (key = its payment
-- id) whose standard event (program.entry) the year report counts. 户次 is
-- per kind and day (household_times = 'day'), the aid's own count: one
-- household aided by one type on one day is one 户次. The window is every
-- year the settings may name (2000 .. 2200): the caps are per year, not the
-- window. A change of the types after the first entry raises the plan's
-- version, declared as a change of the settings file.
M.PROGRAM = 'aid'
local function plan_of(self)
  local names = {}
  for name in pairs(self.cfg.types) do names[#names + 1] = name end
  table.sort(names)
  local kinds = {}
  for i, name in ipairs(names) do kinds[i] = { kind = name, title = self.cfg.types[name].title, unit = 'fen' } end
  return { id = M.PROGRAM, title = '困难帮扶与医疗互助', window = { from = '2000-01-01', to = '2200-12-31' },
           kinds = kinds, units = { '人', '人次', '户次', 'fen' }, household_times = 'day' }
end

function ledger(self)
  if self.ledger then return self.ledger end
  local plan = plan_of(self)
  local ok, P = pcall(program.define, plan, { file = self.cfg.source or 'caps.lua' })
  if not ok then
    local old = db.programs:get(M.PROGRAM)
    if not old or type(P) ~= 'string' or not P:find('first entry', 1, true) then error(P, 0) end
    plan.version = old.version + 1
    plan.changes = {}
    for v, why in pairs(old.changes or {}) do plan.changes[v] = why end
    plan.changes[plan.version] = 'the aid types changed in ' .. (self.cfg.source or 'caps.lua')
    P = program.define(plan, { file = self.cfg.source or 'caps.lua' })
  end
  self.ledger = P
  return P
end

-- Writes a payment (ledger row, totals, event; and the framework's entry)
-- inside the caller's transaction.
local function record_payment(self, p)
  local invoice = p.invoice
  p.invoice = nil
  p.run = run.uid
  p.payment_id = db.aid_payments:insert(p)
  local e, code, why = self.ledger:enter{ member = p.member_id, kind = p.type, fen = p.amount_fen,
                                          day = p.date,
                                          key = 'payment:' .. p.payment_id, town = p.town }
  if not e then error(string.format(gettext('aid: payment %d: the ledger refused its entry (%s): %s'),
                                    p.payment_id, tostring(code), tostring(why)), 0) end
  for _, s in ipairs(scopes_of(p)) do add_total(p.year, s[1], s[2], p.amount_fen) end
  bus.publish('aid.paid', {
    program = self.program, payment_id = p.payment_id, year = p.year, date = p.date,
    type = p.type, household = p.household, member_id = p.member_id, file_id = p.file_id,
    claim_id = p.claim_id, invoice = invoice, tier = p.tier, town = p.town,
    union_id = p.union_id, amount_fen = p.amount_fen, approver = p.approver, run = p.run,
  })
  return p
end

local function over(what, used, cap, amount)
  return string.format(gettext('%s: %s paid of %s; %s more would pass it by %s'), what, fmt.yuan(used),
                       y(cap), fmt.yuan(amount), y(used + amount - cap))
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
  if not (math.type(p.amount_fen) == 'integer' and p.amount_fen > 0) then
    uerr('pay: amount_fen must be whole fen > 0, got %s', tostring(p.amount_fen))
  end
  local approver = check_by(p.approver, 'pay')
  local date = check_date(p.date, 'pay: date')
  local year = year_of(date)
  local caps = self:caps(year)
  local tc = caps.types[p.type]
  local amount = p.amount_fen
  if p.ref ~= nil and (type(p.ref) ~= 'string' or p.ref == '') then
    uerr('pay: ref must be a non-empty string, got %s', tostring(p.ref))
  end
  ledger(self)
  return db.atomic(function()
    if p.ref then
      local old = db.aid_refs:get(p.ref)
      if old then
        local o = db.aid_payments:get(old.payment_id)
        return refuse('already', string.format(gettext('payment %d, %s yuan %s to household %s on %s (ref %s)'),
                      o.payment_id, fmt.yuan(o.amount_fen), o.type, o.household, o.date, p.ref))
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
    local title = self.cfg.types[p.type].title
    if tc.per_household then
      local used = total(year, 'household_type', f.household .. '|' .. p.type)
      if used + amount > tc.per_household then
        return refuse('household_type_cap', over(string.format(gettext('%s, %s (%s) in %d'), file_name(f), title,
                      p.type, year), used, tc.per_household, amount))
      end
    end
    local hcap = caps.household[f.tier]
    local used = total(year, 'household', f.household)
    if used + amount > hcap then
      return refuse('household_cap', over(string.format(gettext('%s, %s, all aid in %d'), file_name(f),
                    M.TIERS[f.tier], year), used, hcap, amount))
    end
    if tc.budget then
      local spent = total(year, 'type', p.type)
      if spent + amount > tc.budget then
        return refuse('type_budget', over(string.format(gettext('%s (%s) in %d, all households'), title, p.type, year),
                      spent, tc.budget, amount))
      end
    end
    local r = record_payment(self, {
      year = year, date = date, type = p.type, household = f.household, member_id = f.member_id,
      file_id = f.file_id, tier = f.tier, town = f.town, union_id = f.union_id,
      amount_fen = amount, approver = approver, note = p.note,
    })
    if p.ref then db.aid_refs:insert{ ref = p.ref, payment_id = r.payment_id } end
    return r
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
        if ctype then uerr('claim: more than one claims type: give type=') end
        ctype = name
      end
    end
    if not ctype then uerr('claim: the settings have no claims type (claims = true)') end
  end
  check_type(self, ctype, true)
  if type(c.invoice) ~= 'string' and math.type(c.invoice) ~= 'integer' then
    uerr('claim: invoice (the invoice number) is required, got %s', tostring(c.invoice))
  end
  local invoice = tostring(c.invoice):gsub('%s', ''):upper()
  if invoice == '' then uerr('claim: invoice (the invoice number) is required') end
  if not (math.type(c.expense_fen) == 'integer' and c.expense_fen > 0) then
    uerr('claim: expense_fen must be whole fen > 0, got %s', tostring(c.expense_fen))
  end
  local approver = check_by(c.approver, 'claim')
  local date = check_date(c.date, 'claim: date')
  local year = year_of(date)
  local tc = self:caps(year).types[ctype]
  ledger(self)
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
    local limited_by
    if tc.per_claim and payout > tc.per_claim then payout, limited_by = tc.per_claim, 'per_claim' end
    if tc.per_member then
      local used = total(year, 'member_type', m.member_id .. '|' .. ctype)
      local left = tc.per_member - used
      if left <= 0 then
        return refuse('annual_limit', string.format(gettext('member %d has received %s of %s in %d'),
                      m.member_id, fmt.yuan(used), y(tc.per_member), year))
      end
      if payout > left then payout, limited_by = left, 'annual_limit' end
    end
    if tc.budget then
      local spent = total(year, 'type', ctype)
      if spent + payout > tc.budget then
        return refuse('type_budget', over(string.format(gettext('%s (%s) in %d, all members'),
                      self.cfg.types[ctype].title, ctype, year), spent, tc.budget, payout))
      end
    end
    local cl = { member_id = m.member_id, invoice = invoice, hospital = c.hospital, date = date,
                 year = year, type = ctype, expense_fen = c.expense_fen, payout_fen = payout,
                 limited_by = limited_by, payment_id = 0, approver = approver }
    cl.claim_id = db.aid_claims:insert(cl)
    local pay = record_payment(self, {
      year = year, date = date, type = ctype, household = m.household or ('m' .. m.member_id),
      member_id = m.member_id, claim_id = cl.claim_id, town = m.town, union_id = m.union_id,
      amount_fen = payout, approver = approver, invoice = invoice,
      note = 'invoice ' .. invoice,
    })
    db.aid_claims:update(cl.claim_id, { payment_id = pay.payment_id })
    cl.payment_id = pay.payment_id
    return cl
  end)
end

-- ---- reports --------------------------------------------------------------------------------

-- Counts a list of payments (ledger rows or aid.paid payloads): per type
-- and in all, 人次 (payments), 人 (members), 户次 (household, type, date),
-- 户 (households) and the amount; with by = a payment field (town, tier,
-- union_id) also per value of it.
function M.summarize(payments, titles, by)
  local function group()
    return { person_times = 0, persons = 0, household_times = 0, households = 0, amount_fen = 0,
             _m = {}, _h = {}, _hd = {} }
  end
  local function add(g, p)
    g.person_times = g.person_times + 1
    g.amount_fen = g.amount_fen + p.amount_fen
    if not g._m[p.member_id] then g._m[p.member_id] = true; g.persons = g.persons + 1 end
    if not g._h[p.household] then g._h[p.household] = true; g.households = g.households + 1 end
    local hd = p.household .. '|' .. p.type .. '|' .. p.date
    if not g._hd[hd] then g._hd[hd] = true; g.household_times = g.household_times + 1 end
  end
  local total, types, groups = group(), {}, {}
  for _, p in ipairs(payments) do
    add(total, p)
    types[p.type] = types[p.type] or group()
    add(types[p.type], p)
    if by then
      local v = p[by] == nil and '' or tostring(p[by])
      groups[v] = groups[v] or group()
      add(groups[v], p)
    end
  end
  local function clean(g, extra)
    local out = { person_times = g.person_times, persons = g.persons,
                  household_times = g.household_times, households = g.households,
                  amount_fen = g.amount_fen }
    for k, v in pairs(extra or {}) do out[k] = v end
    return out
  end
  local rep = { types = {}, total = clean(total) }
  local names = {}
  for t in pairs(types) do names[#names + 1] = t end
  table.sort(names)
  for _, t in ipairs(names) do
    rep.types[#rep.types + 1] = clean(types[t], { type = t, title = titles and titles[t] or t })
  end
  if by then
    rep.by_field = by
    rep.by = {}
    local keys = {}
    for k in pairs(groups) do keys[#keys + 1] = k end
    table.sort(keys)
    for _, k in ipairs(keys) do rep.by[#rep.by + 1] = clean(groups[k], { value = k }) end
  end
  return rep
end

function P:titles()
  local t = {}
  for k, v in pairs(self.cfg.types) do t[k] = v.title end
  return t
end

-- The year's report from the ledger. opts.by: town, tier or union_id.
function P:report(year, opts)
  opts = opts or {}
  local list = db.aid_payments:list{ index = 'year,household', eq = { year } }
  local rep = M.summarize(list, self:titles(), opts.by)
  rep.year = year
  return rep
end

-- The same report rebuilt from the event log alone (aid.paid events of
-- this program and year): what a federation that only receives the log
-- would compute.
function P:report_from_log(year, opts)
  opts = opts or {}
  local list, from = {}, 1
  while true do
    local evs = bus.events{ from = from, topic = 'aid.paid', limit = 1000 }
    for _, ev in ipairs(evs) do
      local p = ev.payload
      if p.program == self.program and p.year == year then list[#list + 1] = p end
    end
    if #evs < 1000 then break end
    from = evs[#evs].seq + 1
  end
  local rep = M.summarize(list, self:titles(), opts.by)
  rep.year = year
  return rep
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

-- Recomputes every running total from the ledger (of one year, or all) and
-- compares with aid_totals; checks that claims and their payments agree and
-- that no total passes its cap. Returns { ok, problems = { text, ... },
-- payments = n, totals = n }.
function P:check(year)
  local expect, n = {}, 0
  local tiers_of = {}    -- year|household -> the highest household cap of its payments' tiers
  local scan = year and db.aid_payments:scan{ index = 'year,household', eq = { year } } or db.aid_payments:scan()
  local problems = {}
  local claimed = {}
  for p in scan do
    n = n + 1
    for _, s in ipairs(scopes_of(p)) do
      local id = total_id(p.year, s[1], s[2])
      local e = expect[id] or { year = p.year, scope = s[1], subject = s[2], paid_fen = 0, n = 0 }
      expect[id] = e
      e.paid_fen = e.paid_fen + p.amount_fen
      e.n = e.n + 1
    end
    if p.file_id and p.tier then
      local yc = self.cfg.years[p.year]
      local cap = yc and yc.household[p.tier]
      local k = p.year .. '|' .. p.household
      if cap and (tiers_of[k] == nil or cap > tiers_of[k]) then tiers_of[k] = cap end
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
  local function describe(t)
    local what = t.scope == 'household' and ('household ' .. t.subject)
      or t.scope == 'type' and ('type ' .. t.subject)
      or t.scope == 'household_type' and ('household|type ' .. t.subject)
      or ('member|type ' .. t.subject)
    return string.format('%d %s', t.year, what)
  end
  local stored = 0
  local tscan = year and db.aid_totals:scan{ index = 'year,scope', eq = { year } } or db.aid_totals:scan()
  for t in tscan do
    stored = stored + 1
    local e = expect[t.total_id]
    if not e then
      problems[#problems + 1] = string.format(gettext('%s: the running total says %s in %d payments, the ledger has none'),
                                              describe(t), y(t.paid_fen), t.n)
    elseif e.paid_fen ~= t.paid_fen or e.n ~= t.n then
      problems[#problems + 1] = string.format(gettext('%s: the running total says %s in %d payments, the ledger %s in %d'),
                                              describe(t), y(t.paid_fen), t.n, y(e.paid_fen), e.n)
    end
    expect[t.total_id] = nil
  end
  local ids = {}
  for id in pairs(expect) do ids[#ids + 1] = id end
  table.sort(ids)
  for _, id in ipairs(ids) do
    local e = expect[id]
    problems[#problems + 1] = string.format(gettext('%s: the ledger has %s in %d payments, there is no running total'),
                                            describe(e), y(e.paid_fen), e.n)
  end
  -- caps, from the ledger's own sums
  local sums = {}
  local scan2 = year and db.aid_payments:scan{ index = 'year,household', eq = { year } } or db.aid_payments:scan()
  for p in scan2 do
    for _, s in ipairs(scopes_of(p)) do
      local id = total_id(p.year, s[1], s[2])
      sums[id] = (sums[id] or 0) + p.amount_fen
    end
  end
  local over_cap = {}
  for id, sum in pairs(sums) do
    local yr, scope, subject = id:match('^(%d+)|([%w_]+)|(.*)$')
    yr = math.tointeger(tonumber(yr))
    local yc = self.cfg.years[yr]
    local cap
    if yc then
      if scope == 'household' then
        cap = tiers_of[yr .. '|' .. subject]
      elseif scope == 'type' then
        cap = yc.types[subject] and yc.types[subject].budget
      elseif scope == 'household_type' then
        local t = subject:match('|([^|]*)$')
        cap = yc.types[t] and yc.types[t].per_household
      elseif scope == 'member_type' then
        local t = subject:match('|([^|]*)$')
        cap = yc.types[t] and yc.types[t].per_member
      end
    end
    if cap and sum > cap then
      over_cap[#over_cap + 1] = string.format(gettext('%d %s %s: %s paid, over its cap of %s'), yr, scope, subject,
                                              fmt.yuan(sum), y(cap))
    end
  end
  table.sort(over_cap)
  for _, s in ipairs(over_cap) do problems[#problems + 1] = s end
  for r in db.aid_refs:scan() do
    if not db.aid_payments:get(r.payment_id, 'payment_id') then
      problems[#problems + 1] = string.format(gettext("ref '%s': its payment %d is not in the ledger"), r.ref, r.payment_id)
    end
  end
  return { ok = #problems == 0, problems = problems, payments = n, totals = stored }
end

-- Runs an entry script's work: an 'aid: ' error (bad input, a forbidden
-- step) ends the run with run.fail (exit code 1, the message without a
-- traceback); any other error goes on as it is.
-- Runs an entry script's work: an 'aid: ' error or a refusal ends the run
-- with its message (exit 1, no traceback): the framework's harness.
M.cli = program.cli

return M
