-- contest.lua — workers' skills contests (职工技能大赛): marking schemes
-- versioned until the first mark, contestants and judges, marks of two
-- kinds, spread flags, locking with an audit trail, ranking with shared
-- ranks and a declared tie-break, titles by rule and verifiable certificates.
--
-- The program's scripts are in scripts/contest/ (setup, enter, mark, lock,
-- ranking, titles, list, verify, revoke); this module is their shared part,
-- in scripts/lib so the tests can require it too.
--
--   local contest = require 'contest'
--   contest.setup(spec)                      -- contest, scheme (a new version while unmarked), judges
--   contest.enter('cnc-2025', '330481...')   -- a contestant (member by ID number or member_id) -> entry
--   contest.mark('cnc-2025', 3, 'A1', '39.990')            -- measurement against the tolerance
--   contest.mark('cnc-2025', 3, 'A3', 'yes')               -- measurement without a nominal: met or not
--   contest.mark('cnc-2025', 3, 'B1', 'J1:2 J2:3 J4:2')    -- judgement: three judges, 0-3 each
--   contest.mark('cnc-2025', 3, 'A1', '40.000', { reason = '复核' })   -- after the lock: a reason
--   contest.lock('cnc-2025')
--   contest.ranking('cnc-2025')              -- rows with rank, total, marks
--   contest.award_titles('cnc-2025')         -- titles and certificates, once each
--   contest.verify('JN2025-0001-2')
--
-- MARKS are kept as integers in hundredths (1234 = 12.34 marks), so totals
-- are exact sums. Measured values are kept as integers in millionths of
-- their unit (40.012 mm = 40012000).
--
--   * measurement aspect with a nominal value: the full mark when the
--     measured value lies within nominal - minus .. nominal + plus (both
--     ends included), else 0;
--   * measurement aspect without a nominal (a yes/no check: "no visible
--     cracks"): the full mark when met, else 0;
--   * judgement aspect: three judges each score 0, 1, 2 or 3; the mark is
--     max × (s1 + s2 + s3) / 9, rounded half up to a hundredth — the average
--     score as a share of 3, as in WorldSkills judgement marking. When the
--     highest and lowest of the three scores differ by more than the
--     scheme's spread (default 1) the mark is flagged for reconciliation:
--     the judges score again (a new mark.lua line), or the chief judge
--     accepts the scores with a reason (contest.accept).
--
-- LIFE CYCLE of a contest:
--
--    setup ──> (scheme versions 1, 2, ... while nothing is marked)
--      │  first mark: the current version is frozen; the scheme can no longer change
--      v
--    marking ──> lock (every contestant has every mark, no open flags)
--                  │  changes still possible, each with a reason, each recorded
--                  v
--                locked ──> award_titles (once per contestant; re-running issues nothing twice)
--
-- Every change of a mark, before or after the lock, is a row of
-- contest_score_changes (old and new input and mark, reason, time, run).
--
-- JUDGES are assigned per contest and are never from a contestant's own
-- enterprise: assigning such a judge, entering such a contestant, or a
-- judgement naming such a judge is refused with both names and the
-- enterprise.
--
-- RANKING: totals from high to low; equal totals are told apart by the
-- marks of the scheme's tie_break aspects, in the declared order (higher
-- first); contestants equal on all of these share a rank and the next rank
-- is skipped (1, 2, 2, 4). Contestants missing a mark are listed after the
-- others without a rank; contestants who withdrew (did not come, fell ill)
-- are listed last, without a rank, and never block the lock.
--
-- TITLES: the rule is top = N (rank N or better: ties at the cut all
-- qualify), min_total = marks (a threshold), or both. Each title is also
-- written to the registry's member_titles (kind 'other', '<contest title>
-- 操作技术能手'), and revoking the certificate marks it revoked there. Certificates are
-- numbered per contest year: JN2025-0001-2 (year, sequence in that year
-- over all contests, ISO 7064 MOD 11-2 check character); from the 10,000th
-- of a year JN2025-010000-X (6 digits, up to 999,999; see cert_number).
--
-- Events: contest.scheme.frozen, contest.marked, contest.mark.changed,
-- contest.flagged, contest.flag.accepted, contest.withdrawn, contest.locked, title.awarded,
-- certificate.issued, certificate.revoked.
local dates = require 'dates'
local registry = require 'registry'
local checkchar = require 'checkchar'

local M = {}

M.DEFAULT_TITLE = '操作技术能手'
M.KINDS = { measurement = '测量', judgement = '评价' }

function M.define_collections()
  registry.define_all()
  registry.define_titles()      -- a title awarded here is also a member title of the registry
  db.define('contests', {
    key    = 'contest_id',
    fields = { contest_id = 'string', title = 'string', year = 'int', trade = 'string?',
               union_id = 'int?',
               version = 'int',                    -- the current scheme version
               frozen_version = 'int?',            -- set by the first mark
               frozen_at = 'string?',
               locked_at = 'string?',
               title_rule = 'any',                 -- { title =, top =, min_total = (hundredths) }
               created_at = 'string' },
    index  = { 'year' },
  })
  -- One row per scheme version of a contest.
  db.define('contest_schemes', {
    key    = 'scheme_id', auto = true,
    fields = { scheme_id = 'int', contest = 'string', version = 'int',
               status = 'string',                  -- draft, frozen, superseded
               spread = 'int', tie_break = 'any', max_total = 'int',
               fingerprint = 'string', created_at = 'string' },
    unique = { { 'contest', 'version' } },
  })
  db.define('contest_aspects', {
    key    = 'aspect_id', auto = true,
    fields = { aspect_id = 'int', contest = 'string', version = 'int', seq = 'int',
               code = 'string', kind = 'string', title = 'string',
               max = 'int',                        -- hundredths of a mark
               nominal = 'int?', minus = 'int?', plus = 'int?',   -- millionths of unit
               unit = 'string?' },
    unique = { { 'contest', 'version', 'code' }, { 'contest', 'version', 'seq' } },
  })
  db.define('contest_entries', {
    key    = 'entry_id', auto = true,
    fields = { entry_id = 'int', contest = 'string', bib = 'int', member_id = 'int',
               enterprise_id = 'int',              -- at entry time
               entered_at = 'string',
               withdrawn = 'string?', withdrawn_at = 'string?' },   -- the reason a contestant left
    unique = { { 'contest', 'bib' }, { 'contest', 'member_id' } },
    index  = { 'member_id' },
  })
  db.define('contest_judges', {
    key    = 'judge_id', auto = true,
    fields = { judge_id = 'int', contest = 'string', judge = 'string', name = 'string',
               enterprise_id = 'int?',             -- absent: not from an enterprise (a college, an expert)
               organisation = 'string?', member_id = 'int?', assigned_at = 'string' },
    unique = { { 'contest', 'judge' } },
  })
  db.define('contest_scores', {
    key    = 'score_id', auto = true,
    fields = { score_id = 'int', contest = 'string', bib = 'int', aspect = 'string',
               version = 'int', kind = 'string',
               measured = 'int?', met = 'bool?',   -- measurement input
               judges = 'any?',                    -- judgement input: { {judge, score}, ... }
               mark = 'int',                       -- hundredths
               flagged = 'bool', accepted = 'string?',   -- the reason a flag was accepted
               at = 'string', run = 'string?' },
    unique = { { 'contest', 'bib', 'aspect' } },
  })
  db.define('contest_score_changes', {
    key    = 'change_id', auto = true,
    fields = { change_id = 'int', contest = 'string', bib = 'int', aspect = 'string',
               old = 'string', new = 'string',     -- the inputs as text
               old_mark = 'int', new_mark = 'int',
               reason = 'string?', after_lock = 'bool', at = 'string', run = 'string?' },
    index  = { { 'contest', 'bib' } },
  })
  db.define('contest_titles', {
    key    = 'title_id', auto = true,
    fields = { title_id = 'int', contest = 'string', member_id = 'int', bib = 'int',
               title = 'string', rank = 'int', total = 'int', cert_no = 'string',
               awarded_at = 'string', run = 'string?' },
    unique = { { 'contest', 'member_id' } },
    index  = { 'member_id' },
  })
  db.define('contest_certificates', {
    key    = 'cert_no',
    fields = { cert_no = 'string', year = 'int', seq = 'int', contest = 'string',
               member_id = 'int', title = 'string', issued_at = 'string',
               status = 'string',                  -- valid, revoked
               revoked_at = 'string?', revoke_reason = 'string?' },
    unique = { { 'year', 'seq' }, { 'contest', 'member_id' } },
  })
end

-- ---- numbers ----------------------------------------------------------------

-- A decimal (an integer, a string '12.5', or a float with few decimals) as an
-- integer in units of 10^-places. Errors name `what`.
local function pow10(n) return math.tointeger(10 ^ n) end

function M.decimal(v, places, what)
  local scale = pow10(places)
  if math.type(v) == 'integer' then return v * scale end
  local s
  if math.type(v) == 'float' then
    s = string.format('%.' .. places .. 'f', v)
    if tonumber(s) ~= v then
      error(string.format(gettext('%s: %s has more than %d decimal places'), what, tostring(v), places), 0)
    end
  else
    s = tostring(v):gsub('^%s+', ''):gsub('%s+$', '')
  end
  local sign, int, frac = s:match('^([+-]?)(%d*)%.?(%d*)$')
  if not sign or (int == '' and frac == '') then
    error(string.format(gettext('%s: expected a number like 12.5, got %q'), what, tostring(v)), 0)
  end
  if #frac > places then
    error(string.format(gettext('%s: %s has more than %d decimal places'), what, s, places), 0)
  end
  local n = tonumber(int == '' and '0' or int) * scale + (frac == '' and 0 or
            tonumber(frac) * pow10(places - #frac))
  return sign == '-' and -n or n
end

-- An integer in units of 10^-places as text: fixed places (marks: '12.30'),
-- or trimmed = true for measured values ('40.01').
function M.show(n, places, trimmed)
  places = places or 2
  local scale = pow10(places)
  local a = math.abs(n)
  local s = string.format('%s%d.%0' .. places .. 'd', n < 0 and '-' or '', a // scale, a % scale)
  if trimmed then s = s:gsub('0+$', ''):gsub('%.$', '') end
  return s
end
local function marks(h) return M.show(h, 2) end
local function measure(u) return M.show(u, 6, true) end
M.marks = marks

-- ---- small helpers ----------------------------------------------------------

local function fail(fmt, ...) error(string.format(fmt, ...), 0) end

local function need_contest(id)
  local c = db.contests:get(id)
  if not c then fail(gettext("no contest '%s' (run setup.lua with its file first)"), tostring(id)) end
  return c
end

local function enterprise_name(id)
  return id and (db.enterprises:get(id, 'name') or ('enterprise ' .. id)) or '?'
end

local function member_name(member_id)
  return db.members:get(member_id, 'name') or ('member ' .. member_id)
end

-- The aspects of a contest's scheme version, in order, and a map by code.
function M.aspects(contest_id, version)
  local list, by = {}, {}
  for a in db.contest_aspects:scan{ index = 'contest,version,seq', eq = { contest_id, version } } do
    local t = a:totable()
    list[#list + 1] = t
    by[t.code] = t
  end
  return list, by
end

function M.scheme(contest_id, version)
  return db.contest_schemes:find('contest,version', { contest_id, version })
end

-- ---- setup: the contest, its scheme, its judges -----------------------------

-- Checks a spec's aspects; returns the aspect rows (without contest/version),
-- the tie-break list, the spread, the maximum total and a fingerprint.
local function parse_scheme(spec)
  local id = spec.id
  if type(spec.aspects) ~= 'table' or #spec.aspects == 0 then
    fail(gettext("contest '%s': aspects must be a list of { code =, kind =, title =, max = ... }"), id)
  end
  local rows, seen, total = {}, {}, 0
  for i, a in ipairs(spec.aspects) do
    local where = string.format(gettext("contest '%s': aspect #%d"), id, i)
    if type(a.code) ~= 'string' or not a.code:match('^[%w_%-%.]+$') then
      fail(gettext('%s: code must be letters, digits, _ - or . (like A1), got %s'), where, tostring(a.code))
    end
    where = string.format(gettext("contest '%s': aspect %s"), id, a.code)
    if seen[a.code] then fail(gettext('%s appears twice'), where) end
    seen[a.code] = true
    if not M.KINDS[a.kind] then
      fail(gettext("%s: kind must be 'measurement' or 'judgement', got %s"), where, tostring(a.kind))
    end
    if type(a.title) ~= 'string' or a.title == '' then fail(gettext('%s: give it a title'), where) end
    local max = M.decimal(a.max, 2, where .. ': max')
    if max <= 0 then fail(gettext('%s: max must be more than 0, got %s'), where, tostring(a.max)) end
    local r = { seq = i, code = a.code, kind = a.kind, title = a.title, max = max, unit = a.unit }
    if a.kind == 'measurement' and a.nominal ~= nil then
      r.nominal = M.decimal(a.nominal, 6, where .. ': nominal')
      if a.tolerance ~= nil then
        if a.minus ~= nil or a.plus ~= nil then fail(gettext('%s: give tolerance, or minus and plus, not both'), where) end
        r.minus = M.decimal(a.tolerance, 6, where .. ': tolerance')
        r.plus = r.minus
      else
        r.minus = M.decimal(a.minus or 0, 6, where .. ': minus')
        r.plus = M.decimal(a.plus or 0, 6, where .. ': plus')
      end
      if r.minus < 0 or r.plus < 0 then fail(gettext('%s: tolerances are written as positive numbers'), where) end
    elseif a.nominal == nil and (a.tolerance ~= nil or a.minus ~= nil or a.plus ~= nil) then
      fail(gettext('%s: a tolerance needs a nominal value'), where)
    elseif a.kind == 'judgement' and a.nominal ~= nil then
      fail(gettext('%s: a judgement aspect has no nominal value'), where)
    end
    total = total + max
    rows[i] = r
  end
  local tie = spec.tie_break or {}
  if type(tie) ~= 'table' then fail(gettext("contest '%s': tie_break must be a list of aspect codes"), id) end
  for _, code in ipairs(tie) do
    if not seen[code] then
      fail(gettext("contest '%s': tie_break names aspect %s, which the scheme does not have"), id, tostring(code))
    end
  end
  local spread = spec.spread or 1
  if math.type(spread) ~= 'integer' or spread < 0 or spread > 3 then
    fail(gettext("contest '%s': spread must be a whole number 0-3 (judges' scores further apart are flagged), got %s"),
         id, tostring(spread))
  end
  local parts = { 'spread=' .. spread, 'tie=' .. table.concat(tie, ',') }
  for _, r in ipairs(rows) do
    parts[#parts + 1] = table.concat({ r.code, r.kind, r.title, r.max, tostring(r.nominal),
                                       tostring(r.minus), tostring(r.plus), tostring(r.unit) }, '|')
  end
  return rows, tie, spread, total, table.concat(parts, '\n')
end

local function parse_title_rule(spec)
  local t = spec.titles or {}
  if type(t) ~= 'table' then fail(gettext("contest '%s': titles must be a table { top =, min_total =, title = }"), spec.id) end
  local rule = { title = t.title or M.DEFAULT_TITLE }
  if t.top ~= nil then
    if math.type(t.top) ~= 'integer' or t.top < 1 then
      fail(gettext("contest '%s': titles.top must be a whole number >= 1, got %s"), spec.id, tostring(t.top))
    end
    rule.top = t.top
  end
  if t.min_total ~= nil then rule.min_total = M.decimal(t.min_total, 2, "contest '" .. spec.id .. "': titles.min_total") end
  if not rule.top and not rule.min_total then
    fail(gettext("contest '%s': titles needs top = N (the first N ranks), min_total = marks, or both"), spec.id)
  end
  return rule
end

local function same_rule(a, b)
  return a.title == b.title and a.top == b.top and a.min_total == b.min_total
end

-- Refuses a judge of the same enterprise as a contestant of the contest.
local function check_judge_conflict(contest_id, j)
  if not j.enterprise_id then return end
  for e in db.contest_entries:scan{ index = 'contest,bib', eq = { contest_id } } do
    if e.enterprise_id == j.enterprise_id then
      fail(gettext("contest '%s': judge %s (%s) is from %s (enterprise %d), the enterprise of contestant %s (bib %d): ")
           .. 'a judge never judges a contest with a contestant from their own enterprise; assign another judge',
           contest_id, j.judge, j.name, enterprise_name(j.enterprise_id), j.enterprise_id,
           member_name(e.member_id), e.bib)
    end
  end
end

-- Assigns (or updates) a judge of a contest: j = { judge = 'J1', name =,
-- enterprise_id =, organisation =, id_number = (a member: name and
-- enterprise from the registry) }.
function M.assign_judge(contest_id, j, at)
  return db.atomic(function()
    need_contest(contest_id)
    if type(j) ~= 'table' or type(j.judge) ~= 'string' or j.judge == '' then
      fail(gettext("contest '%s': a judge needs judge = 'J1' (a code unique in the contest)"), contest_id)
    end
    local r = { contest = contest_id, judge = j.judge, name = j.name, enterprise_id = j.enterprise_id,
                organisation = j.organisation }
    if j.id_number then
      local m, _, why = require('program').member(tostring(j.id_number))
      if not m then fail(gettext("contest '%s': judge %s: %s"), contest_id, j.judge, why) end
      r.member_id, r.name = m.member_id, r.name or m.name
      r.enterprise_id = r.enterprise_id or m.enterprise_id
    end
    if type(r.name) ~= 'string' or r.name == '' then fail(gettext("contest '%s': judge %s needs a name"), contest_id, j.judge) end
    if r.enterprise_id ~= nil and math.type(r.enterprise_id) ~= 'integer' then
      fail(gettext("contest '%s': judge %s: enterprise_id must be a whole number, got %s"), contest_id, j.judge,
           tostring(r.enterprise_id))
    end
    check_judge_conflict(contest_id, r)
    local old = db.contest_judges:find('contest,judge', { contest_id, j.judge })
    if old then
      if old.name == r.name and old.enterprise_id == r.enterprise_id and old.organisation == r.organisation
         and old.member_id == r.member_id then
        return old, 'same'
      end
      db.contest_judges:update(old.judge_id, { name = r.name, enterprise_id = r.enterprise_id or db.null,
        organisation = r.organisation or db.null, member_id = r.member_id or db.null })
      return db.contest_judges:get(old.judge_id), 'updated'
    end
    r.assigned_at = at or dates.now()
    r.judge_id = db.contest_judges:insert(r)
    return r, 'assigned'
  end)
end

-- Takes a judge off a contest (replaced before marking, or by mistake).
-- Refused once the judge has scored in it: those scores are the record.
function M.unassign_judge(contest_id, code)
  return db.atomic(function()
    need_contest(contest_id)
    local j = db.contest_judges:find('contest,judge', { contest_id, code })
    if not j then fail(gettext("contest '%s' has no judge %s"), contest_id, tostring(code)) end
    for sc in db.contest_scores:scan{ contest = contest_id, kind = 'judgement' } do
      for _, p in ipairs(sc.judges) do
        if p[1] == code then
          fail(gettext("contest '%s': judge %s (%s) has scored (bib %d, %s) and stays on the contest's record"),
               contest_id, code, j.name, sc.bib, sc.aspect)
        end
      end
    end
    db.contest_judges:delete(j.judge_id)
    return true
  end)
end

-- Makes or updates a contest from its spec (see scripts/contest/example.lua).
-- A changed scheme becomes a new version while nothing is marked; once the
-- first mark froze a version, a different scheme is refused. The judges
-- become those of spec.judges: new ones are assigned, and one no longer
-- listed is taken off unless they have scored (then a note says so).
-- Returns the contest record, what happened to the scheme ('new', 'same' or
-- 'revised') and a list of notes.
function M.setup(spec, at)
  M.define_collections()
  if type(spec) ~= 'table' then error(gettext('contest.setup expects the contest table'), 2) end
  if type(spec.id) ~= 'string' or not spec.id:match('^[%w_%-%.]+$') then
    fail(gettext('contest: id must be letters, digits, _ - or . (like cnc-2025), got %s'), tostring(spec.id))
  end
  if type(spec.title) ~= 'string' or spec.title == '' then fail(gettext("contest '%s': give it a title"), spec.id) end
  if math.type(spec.year) ~= 'integer' or spec.year < 2000 or spec.year > 2999 then
    fail(gettext("contest '%s': year must be a year like 2025, got %s"), spec.id, tostring(spec.year))
  end
  local rows, tie, spread, total, fp = parse_scheme(spec)
  local rule = parse_title_rule(spec)
  at = at or dates.now()
  return db.atomic(function()
    local c = db.contests:get(spec.id)
    local what
    if not c then
      db.contests:insert{ contest_id = spec.id, title = spec.title, year = spec.year, trade = spec.trade,
                          union_id = spec.union_id, version = 1, title_rule = rule, created_at = at }
      what = 'new'
    else
      local cur = M.scheme(spec.id, c.version)
      if cur.fingerprint == fp then
        what = 'same'
      elseif c.frozen_version then
        fail(gettext("contest '%s': the marking scheme is frozen (version %d, since the first mark at %s): ")
             .. 'it cannot change once marking has started', spec.id, c.frozen_version, c.frozen_at)
      else
        db.contest_schemes:update(cur.scheme_id, { status = 'superseded' })
        db.contests:update(spec.id, { version = c.version + 1 })
        what = 'revised'
      end
      if c.year ~= spec.year and db.contest_titles:count{ contest = spec.id } > 0 then
        fail(gettext("contest '%s': the year cannot change after titles were awarded"), spec.id)
      end
      if not same_rule(c.title_rule, rule) and db.contest_titles:count{ contest = spec.id } > 0 then
        fail(gettext("contest '%s': the title rule cannot change after titles were awarded"), spec.id)
      end
      if c.title ~= spec.title or c.year ~= spec.year or c.trade ~= spec.trade or c.union_id ~= spec.union_id
         or not same_rule(c.title_rule, rule) then
        db.contests:update(spec.id, { title = spec.title, year = spec.year, trade = spec.trade or db.null,
                                      union_id = spec.union_id or db.null, title_rule = rule })
      end
    end
    if what ~= 'same' then
      local v = db.contests:get(spec.id, 'version')
      db.contest_schemes:insert{ contest = spec.id, version = v, status = 'draft', spread = spread,
                                 tie_break = tie, max_total = total, fingerprint = fp, created_at = at }
      for _, r in ipairs(rows) do
        r.contest, r.version = spec.id, v
        db.contest_aspects:insert(r)
      end
    end
    local listed, notes = {}, {}
    for _, j in ipairs(spec.judges or {}) do
      M.assign_judge(spec.id, j, at)
      listed[j.judge] = true
    end
    for _, j in ipairs(db.contest_judges:list{ index = 'contest,judge', eq = { spec.id } }) do
      if not listed[j.judge] then
        local ok, err = pcall(M.unassign_judge, spec.id, j.judge)
        notes[#notes + 1] = ok and string.format(gettext('judge %s (%s) is no longer listed: taken off the contest'), j.judge, j.name)
                            or (err .. ', although no longer listed')
      end
    end
    return db.contests:get(spec.id), what, notes
  end)
end

-- ---- contestants ------------------------------------------------------------

-- Enters a member (member_id, or an ID number) in a contest, with a bib
-- number (default: the next free one). Returns the entry and 'entered' or
-- 'already'.
function M.enter(contest_id, who, opts)
  opts = opts or {}
  return db.atomic(function()
    local c = need_contest(contest_id)
    local m, _, why = require('program').member(math.type(who) == 'integer' and who or tostring(who))
    if not m then fail(gettext("contest '%s': %s"), contest_id, why) end
    local prior = db.contest_entries:find('contest,member_id', { contest_id, m.member_id })
    if prior then return prior, 'already' end
    if c.locked_at then fail(gettext("contest '%s' is locked (since %s): no new contestants"), contest_id, c.locked_at) end
    for j in db.contest_judges:scan{ index = 'contest,judge', eq = { contest_id } } do
      if j.enterprise_id == m.enterprise_id then
        fail(gettext("contest '%s': contestant %s is from %s (enterprise %d), the enterprise of judge %s (%s): ")
             .. 'a judge never judges a contestant from their own enterprise; replace the judge in the contest file first',
             contest_id, m.name, enterprise_name(m.enterprise_id), m.enterprise_id, j.judge, j.name)
      end
    end
    local bib = opts.bib
    if bib == nil then
      bib = 1
      for e in db.contest_entries:scan{ index = 'contest,bib', eq = { contest_id }, reverse = true, limit = 1 } do
        bib = e.bib + 1
      end
    elseif math.type(bib) ~= 'integer' or bib < 1 then
      fail(gettext("contest '%s': bib must be a whole number >= 1, got %s"), contest_id, tostring(bib))
    else
      local other = db.contest_entries:find('contest,bib', { contest_id, bib })
      if other then
        fail(gettext("contest '%s': bib %d is already %s's"), contest_id, bib, member_name(other.member_id))
      end
    end
    local e = { contest = contest_id, bib = bib, member_id = m.member_id, enterprise_id = m.enterprise_id,
                entered_at = opts.at or dates.now() }
    e.entry_id = db.contest_entries:insert(e)
    return e, 'entered'
  end)
end

-- A contestant withdraws before the lock (did not come, fell ill, was
-- disqualified), with the reason: kept on the list without a rank, their
-- marks kept but not counted, and the lock no longer waits for them.
-- Returns true, or false when they had withdrawn already.
function M.withdraw(contest_id, bib, reason, at)
  if type(reason) ~= 'string' or reason == '' then
    fail(gettext("contest '%s', bib %s: a withdrawal needs a reason"), contest_id, tostring(bib))
  end
  return db.atomic(function()
    local c = need_contest(contest_id)
    if math.type(bib) ~= 'integer' then bib = math.tointeger(tonumber(bib)) or bib end
    local e = db.contest_entries:find('contest,bib', { contest_id, bib })
    if not e then fail(gettext("contest '%s' has no contestant with bib %s"), contest_id, tostring(bib)) end
    if e.withdrawn then return false end
    if c.locked_at then
      fail(gettext("contest '%s' is locked (since %s): a contestant can no longer withdraw"), contest_id, c.locked_at)
    end
    at = at or dates.now()
    db.contest_entries:update(e.entry_id, { withdrawn = reason, withdrawn_at = at })
    bus.publish('contest.withdrawn', { contest = contest_id, bib = bib, member_id = e.member_id,
                                       reason = reason, at = at })
    return true
  end)
end

-- ---- marks ------------------------------------------------------------------

-- "J1:2 J2:3 J4:2" (or a table { J1 = 2, ... }) -> sorted { {judge, score}, ... }
local function parse_judgement(where, input)
  local list = {}
  if type(input) == 'table' then
    for k, v in pairs(input) do list[#list + 1] = { tostring(k), v } end
  else
    local s = tostring(input)
    for part in s:gmatch('[^%s,;]+') do
      local j, v = part:match('^([^:=]+)[:=](.*)$')
      if not j then fail(gettext("%s: judgement scores are written 'J1:2 J2:3 J3:2' (judge:score), got %q"), where, s) end
      list[#list + 1] = { j, math.tointeger(tonumber(v)) or v }
    end
  end
  table.sort(list, function(a, b) return a[1] < b[1] end)
  if #list ~= 3 then fail(gettext('%s: a judgement needs the scores of three judges, got %d'), where, #list) end
  for i, p in ipairs(list) do
    if math.type(p[2]) ~= 'integer' or p[2] < 0 or p[2] > 3 then
      fail(gettext('%s: judge %s scored %s: scores are 0, 1, 2 or 3'), where, p[1], tostring(p[2]))
    end
    if i > 1 and list[i - 1][1] == p[1] then fail(gettext('%s: judge %s scored twice'), where, p[1]) end
  end
  return list
end

local function input_text(s)
  if s.judges then
    local parts = {}
    for i, p in ipairs(s.judges) do parts[i] = p[1] .. ':' .. p[2] end
    return table.concat(parts, ' ')
  elseif s.measured then
    return measure(s.measured)
  elseif s.met ~= nil then
    return s.met and 'yes' or 'no'
  end
  return ''
end
M.input_text = input_text

local YES = { yes = true, y = true, ['1'] = true, ['true'] = true, ['是'] = true, ['合格'] = true }
local NO = { no = true, n = true, ['0'] = true, ['false'] = true, ['否'] = true, ['不合格'] = true }

-- The score fields (measured/met/judges, mark, flagged) of input for aspect a.
local function score_of(c, e, a, input, spread, where)
  local s = {}
  if a.kind == 'judgement' then
    s.judges = parse_judgement(where, input)
    local sum, lo, hi = 0, 3, 0
    for _, p in ipairs(s.judges) do
      local j = db.contest_judges:find('contest,judge', { c.contest_id, p[1] })
      if not j then
        fail(gettext("%s: judge %s is not assigned to contest '%s'"), where, p[1], c.contest_id)
      end
      if j.enterprise_id and j.enterprise_id == e.enterprise_id then
        fail(gettext('%s: judge %s (%s) is from %s (enterprise %d), the enterprise of contestant %s: ')
             .. 'a judge never scores a contestant from their own enterprise', where, j.judge, j.name,
             enterprise_name(j.enterprise_id), j.enterprise_id, member_name(e.member_id))
      end
      sum = sum + p[2]
      lo, hi = math.min(lo, p[2]), math.max(hi, p[2])
    end
    s.mark = (2 * a.max * sum + 9) // 18          -- max * sum / 9, rounded half up
    s.flagged = hi - lo > spread
  elseif a.nominal then
    s.measured = M.decimal(input, 6, where)
    local ok = s.measured >= a.nominal - a.minus and s.measured <= a.nominal + a.plus
    s.mark = ok and a.max or 0
    s.flagged = false
  else
    local k = type(input) == 'boolean' and tostring(input) or tostring(input):lower()
    if YES[k] then s.met = true elseif NO[k] then s.met = false
    else fail(gettext("%s: this measurement is met or not: write yes or no, got %q"), where, tostring(input)) end
    s.mark = s.met and a.max or 0
    s.flagged = false
  end
  return s
end

-- Enters (or changes) the mark of contestant `bib` on aspect `code`.
-- input: a measured value ('39.990'), yes/no, or judges' scores
-- ('J1:2 J2:3 J3:2'). opts: reason (required once the contest is locked),
-- at. Returns the score record and 'marked', 'changed' or 'same'.
function M.mark(contest_id, bib, code, input, opts)
  opts = opts or {}
  local at = opts.at or dates.now()
  return db.atomic(function()
    local c = need_contest(contest_id)
    if math.type(bib) ~= 'integer' then bib = math.tointeger(tonumber(bib)) or bib end
    local e = db.contest_entries:find('contest,bib', { contest_id, bib })
    if not e then fail(gettext("contest '%s' has no contestant with bib %s"), contest_id, tostring(bib)) end
    if e.withdrawn then
      fail(gettext("contest '%s': bib %d (%s) has withdrawn (%s): no marks"), contest_id, bib, member_name(e.member_id), e.withdrawn)
    end
    local version = c.frozen_version or c.version
    local list, by = M.aspects(contest_id, version)
    local a = by[code]
    if not a then
      local codes = {}
      for i, x in ipairs(list) do codes[i] = x.code end
      fail(gettext("contest '%s' has no aspect %s (its aspects: %s)"), contest_id, tostring(code), table.concat(codes, ', '))
    end
    local where = string.format(gettext("contest '%s', bib %d, aspect %s"), contest_id, bib, code)
    local scheme = M.scheme(contest_id, version)
    local s = score_of(c, e, a, input, scheme.spread, where)
    if not c.frozen_version then
      db.contests:update(contest_id, { frozen_version = version, frozen_at = at })
      db.contest_schemes:update(scheme.scheme_id, { status = 'frozen' })
      bus.publish('contest.scheme.frozen', { contest = contest_id, version = version, at = at })
    end
    local old = db.contest_scores:find('contest,bib,aspect', { contest_id, bib, code })
    local payload = { contest = contest_id, bib = bib, member_id = e.member_id, aspect = code,
                      mark = s.mark, flagged = s.flagged, at = at }
    if old then
      local before, after = input_text(old), input_text(s)
      if before == after then return old, 'same' end
      local reason = opts.reason
      if reason ~= nil and (type(reason) ~= 'string' or reason == '') then reason = nil end
      if c.locked_at and not reason then
        fail(gettext("%s: the contest's marks are locked (since %s): a change needs a reason (reason=...)"), where, c.locked_at)
      end
      db.contest_score_changes:insert{ contest = contest_id, bib = bib, aspect = code, old = before, new = after,
        old_mark = old.mark, new_mark = s.mark, reason = reason, after_lock = c.locked_at ~= nil, at = at,
        run = run.uid }
      db.contest_scores:update(old.score_id, { measured = s.measured or db.null, met = s.met == nil and db.null or s.met,
        judges = s.judges or db.null, mark = s.mark, flagged = s.flagged, accepted = db.null, at = at, run = run.uid })
      payload.old_mark, payload.reason = old.mark, reason
      bus.publish('contest.mark.changed', payload)
      if s.flagged then bus.publish('contest.flagged', payload) end
      return db.contest_scores:get(old.score_id), 'changed'
    end
    if c.locked_at then fail(gettext("%s: the contest's marks are locked (since %s): no new marks"), where, c.locked_at) end
    s.contest, s.bib, s.aspect, s.version, s.kind, s.at, s.run = contest_id, bib, code, version, a.kind, at, run.uid
    s.score_id = db.contest_scores:insert(s)
    bus.publish('contest.marked', payload)
    if s.flagged then bus.publish('contest.flagged', payload) end
    return s, 'marked'
  end)
end

-- The chief judge accepts a flagged judgement as scored, with a reason.
function M.accept(contest_id, bib, code, reason, at)
  if type(reason) ~= 'string' or reason == '' then
    fail(gettext("contest '%s', bib %s, aspect %s: accepting a flagged mark needs a reason"), contest_id, tostring(bib), tostring(code))
  end
  return db.atomic(function()
    need_contest(contest_id)
    local s = db.contest_scores:find('contest,bib,aspect', { contest_id, bib, code })
    if not s then fail(gettext("contest '%s', bib %s, aspect %s: not marked yet"), contest_id, tostring(bib), tostring(code)) end
    if not s.flagged then return false end
    db.contest_scores:update(s.score_id, { flagged = false, accepted = reason })
    bus.publish('contest.flag.accepted', { contest = contest_id, bib = bib, aspect = code, reason = reason,
                                           at = at or dates.now() })
    return true
  end)
end

-- Marks still missing and flags still open: { missing = { 'bib 3: A1', ... }, flagged = { ... } }.
function M.open_items(contest_id)
  local c = need_contest(contest_id)
  local list = M.aspects(contest_id, c.frozen_version or c.version)
  local out = { missing = {}, flagged = {}, entries = 0 }
  for e in db.contest_entries:scan{ index = 'contest,bib', eq = { contest_id } } do
    if e.withdrawn then goto next end
    out.entries = out.entries + 1
    for _, a in ipairs(list) do
      local s = db.contest_scores:find('contest,bib,aspect', { contest_id, e.bib, a.code })
      if not s then
        out.missing[#out.missing + 1] = string.format(gettext('bib %d: %s'), e.bib, a.code)
      elseif s.flagged then
        out.flagged[#out.flagged + 1] = string.format(gettext('bib %d: %s (%s)'), e.bib, a.code, input_text(s))
      end
    end
    ::next::
  end
  return out
end

local function first(list, n)
  local out = {}
  for i = 1, math.min(n, #list) do out[i] = list[i] end
  return table.concat(out, '; ') .. (#list > n and string.format(gettext('; and %d more'), #list - n) or '')
end

-- Locks the marks: refused while a contestant misses a mark or a flag is open.
-- Returns true, or false when it was locked already.
function M.lock(contest_id, at)
  return db.atomic(function()
    local c = need_contest(contest_id)
    if c.locked_at then return false end
    local o = M.open_items(contest_id)
    if o.entries == 0 then fail(gettext("contest '%s' has no contestants: nothing to lock"), contest_id) end
    if #o.missing > 0 then
      fail(gettext("contest '%s' cannot be locked: %d mark(s) missing: %s"), contest_id, #o.missing, first(o.missing, 8))
    end
    if #o.flagged > 0 then
      fail(gettext("contest '%s' cannot be locked: %d judgement(s) flagged for reconciliation (scores further apart ")
           .. 'than the spread; score again, or accept with a reason): %s', contest_id, #o.flagged, first(o.flagged, 8))
    end
    at = at or dates.now()
    db.contests:update(contest_id, { locked_at = at })
    bus.publish('contest.locked', { contest = contest_id, at = at, entries = o.entries })
    return true
  end)
end

-- ---- ranking ----------------------------------------------------------------

-- The ranking: a list of { rank (nil when incomplete), bib, member_id, name,
-- enterprise_id, total (hundredths), marks = { code = hundredths }, complete,
-- flagged (count), withdrawn (the reason) }, ranked first, then incomplete
-- ones by bib, then those who withdrew.
function M.ranking(contest_id)
  local c = need_contest(contest_id)
  local version = c.frozen_version or c.version
  local list = M.aspects(contest_id, version)
  local scheme = M.scheme(contest_id, version)
  local rows = {}
  for e in db.contest_entries:scan{ index = 'contest,bib', eq = { contest_id } } do
    local r = { bib = e.bib, member_id = e.member_id, name = member_name(e.member_id),
                enterprise_id = e.enterprise_id, total = 0, marks = {}, complete = true, flagged = 0,
                withdrawn = e.withdrawn }
    for _, a in ipairs(list) do
      local s = db.contest_scores:find('contest,bib,aspect', { contest_id, e.bib, a.code })
      if s then
        r.marks[a.code] = s.mark
        r.total = r.total + s.mark
        if s.flagged then r.flagged = r.flagged + 1 end
      else
        r.complete = false
      end
    end
    if r.withdrawn then r.complete = false end
    rows[#rows + 1] = r
  end
  local tie = scheme.tie_break
  -- 0 when a and b are equal on the total and every tie-break aspect
  local function cmp(a, b)
    if a.total ~= b.total then return a.total > b.total and -1 or 1 end
    for _, code in ipairs(tie) do
      local x, y = a.marks[code] or 0, b.marks[code] or 0
      if x ~= y then return x > y and -1 or 1 end
    end
    return 0
  end
  table.sort(rows, function(a, b)
    if a.complete ~= b.complete then return a.complete end
    if (a.withdrawn == nil) ~= (b.withdrawn == nil) then return a.withdrawn == nil end
    if a.complete then
      local k = cmp(a, b)
      if k ~= 0 then return k < 0 end
    end
    return a.bib < b.bib
  end)
  for i, r in ipairs(rows) do
    if r.complete then
      local prev = rows[i - 1]
      r.rank = (prev and prev.complete and cmp(prev, r) == 0) and prev.rank or i
    end
  end
  return rows, { contest = c, aspects = list, scheme = scheme }
end

-- ---- titles and certificates ------------------------------------------------

-- Titles as a program of the framework (program.lua): one ledger entry per
-- title, its certificate number the key, the contest its session (场次).
M.TITLES_PLAN = {
  id = 'contest', title = '职工技能竞赛', window = { from = '1949-10-01', to = '2099-12-31' },
  kinds = { { kind = 'title', title = '技能竞赛称号' } },
  units = { '人', '人次', '场次' },
}
local titles_P
local function titles_program()
  titles_P = titles_P or require('program').define(M.TITLES_PLAN, { file = 'contest.lua' })
  return titles_P
end

-- Certificate number: JN, the year, the sequence in that year over all
-- contests, and the MOD 11-2 check character over the digits; the widths are
-- checkchar.certificate's (retirement's numbers follow the same rule), told
-- apart by their length:
--   * JN2025-0001-2 (13 characters): sequences up to 9,999, the form every
--     number issued before the wide form existed has; a year that fits still
--     gets it, so old numbers stay what they were;
--   * JN2025-010000-X (15 characters): the 10,000th certificate of a year
--     and on, up to 999,999 (a city's contests in one year).
-- Past that, (nil, why): award_titles refuses and stores nothing.
function M.cert_number(year, seq)
  local digits, over = checkchar.certificate(year, { seq })
  if over == 0 then
    return nil, string.format(gettext('the year of a certificate is a year of 4 digits, got %s'), tostring(year))
  elseif over then
    return nil, string.format(gettext('%d already has 999999 contest certificates, the most a certificate number holds in a year; no title of this run is awarded'), year)
  end
  return M.format(digits)
end

-- 9 or 11 digits (the check character last) -> the number with JN and dashes.
function M.format(d)
  return string.format('JN%s-%s-%s', d:sub(1, 4), d:sub(5, -2), d:sub(-1))
end

-- 'jn 2025 0001 2', '202500012', 'JN2025010000 X' ... -> 'JN2025-0001-2',
-- 'JN2025-010000-X', or nil.
function M.normalize(s)
  local d = tostring(s):upper():gsub('[%s%-]', ''):gsub('^JN', '')
  if (#d ~= 9 and #d ~= 11) or not d:match('^%d+[%dX]$') then return nil end
  return M.format(d)
end

-- Does ranking row r qualify under rule?
function M.qualifies(rule, r)
  return r.rank ~= nil and (rule.top == nil or r.rank <= rule.top)
         and (rule.min_total == nil or r.total >= rule.min_total)
end

-- Awards the contest's titles by its rule to everyone who qualifies and has
-- none yet, each with a certificate (title.awarded, certificate.issued).
-- Only a locked contest. Returns { issued = {titles}, already = n,
-- no_longer = { titles whose holders no longer qualify after a later change } }.
function M.award_titles(contest_id, opts)
  opts = opts or {}
  local at = opts.at or dates.now()
  return db.atomic(function()
    local c = need_contest(contest_id)
    if not c.locked_at then
      fail(gettext("contest '%s' is not locked yet: lock the marks (lock.lua) before awarding titles"), contest_id)
    end
    local rows = M.ranking(contest_id)
    local rule = c.title_rule
    local out = { issued = {}, already = 0, no_longer = {} }
    local qualified = {}
    for _, r in ipairs(rows) do
      if M.qualifies(rule, r) then
        qualified[r.member_id] = true
        if db.contest_titles:find('contest,member_id', { contest_id, r.member_id }) then
          out.already = out.already + 1
        else
          local seq = 1
          for x in db.contest_certificates:scan{ index = 'year,seq', eq = { c.year }, reverse = true, limit = 1 } do
            seq = x.seq + 1
          end
          local no, full = M.cert_number(c.year, seq)
          if not no then fail(gettext("contest '%s': %s"), contest_id, full) end
          local t = { contest = contest_id, member_id = r.member_id, bib = r.bib, title = rule.title,
                      rank = r.rank, total = r.total, cert_no = no, awarded_at = at, run = run.uid }
          t.title_id = db.contest_titles:insert(t)
          db.contest_certificates:insert{ cert_no = no, year = c.year, seq = seq, contest = contest_id,
            member_id = r.member_id, title = rule.title, issued_at = at, status = 'valid' }
          -- the registry's record of the member's honours (member_titles), kind 'other'
          local honour = c.title .. ' ' .. rule.title
          if not db.member_titles:find('member_id,title', { r.member_id, honour }) then
            db.member_titles:insert{ member_id = r.member_id, kind = 'other', title = honour,
                                     awarded = at:sub(1, 10), note = 'certificate ' .. no }
          end
          bus.publish('title.awarded', { contest = contest_id, member_id = r.member_id, title = rule.title,
                                         rank = r.rank, total = r.total, cert_no = no })
          -- the title in the framework's ledger: the year report counts it (人, 人次; 场次 per contest)
          local day = at:sub(1, 4) == tostring(c.year) and at:sub(1, 10) or string.format('%04d-12-31', c.year)
          local e, _, why = titles_program():enter{ member = r.member_id, kind = 'title', key = no, day = day,
                                                    at = at, session = contest_id, contest_title = rule.title }
          if not e then fail(gettext('the title of member %d could not be entered: %s'), r.member_id, why) end
          bus.publish('certificate.issued', { cert_no = no, kind = 'contest', contest = contest_id,
                                              member_id = r.member_id, year = c.year })
          out.issued[#out.issued + 1] = t
        end
      end
    end
    for t in db.contest_titles:scan{ contest = contest_id } do
      if not qualified[t.member_id] then out.no_longer[#out.no_longer + 1] = t:totable() end
    end
    return out
  end)
end

-- The titles of a contest (contest = id) or of a year (year = 2025), in
-- certificate order: { cert_no, status, contest, contest_title, member_id,
-- name, id (masked), enterprise, rank, total, title }.
function M.titles(filter)
  local cond = {}
  if filter.contest then cond.contest = filter.contest end
  if filter.year then cond.year = filter.year end
  local out = {}
  for x in db.contest_certificates:scan(cond) do
    local t = db.contest_titles:find('contest,member_id', { x.contest, x.member_id })
    local m = db.members:get(x.member_id) or {}
    out[#out + 1] = { cert_no = x.cert_no, status = x.status, contest = x.contest,
                      contest_title = db.contests:get(x.contest, 'title'), member_id = x.member_id,
                      name = m.name, id = m.id_number and registry.mask_id(m.id_number),
                      enterprise = enterprise_name(m.enterprise_id), rank = t and t.rank,
                      total = t and t.total, title = x.title, seq = x.seq, year = x.year }
  end
  table.sort(out, function(a, b) if a.year ~= b.year then return a.year < b.year end return a.seq < b.seq end)
  return out
end

-- A certificate's status as people read it, in the message language.
M.STATUS = { valid = N_('valid'), revoked = N_('revoked'), mistyped = N_('mistyped'), unknown = N_('unknown') }
function M.status_text(s) return M.STATUS[s] and gettext(M.STATUS[s]) or tostring(s) end

-- Checks a certificate number as typed: { status = 'valid' | 'revoked' |
-- 'mistyped' | 'unknown', cert_no, holder (masked), id (masked), title,
-- contest, rank, reason }.
function M.verify(s)
  local no = M.normalize(s)
  if not no or not checkchar.valid((no:gsub('^JN', ''):gsub('%-', ''))) then
    return { status = 'mistyped', input = tostring(s) }
  end
  local x = db.contest_certificates:get(no)
  if not x then return { status = 'unknown', cert_no = no } end
  local m = db.members:get(x.member_id) or {}
  local t = db.contest_titles:find('contest,member_id', { x.contest, x.member_id })
  return { status = x.status, cert_no = no, holder = m.name and registry.mask_name(m.name),
           id = m.id_number and registry.mask_id(m.id_number), title = x.title,
           contest = db.contests:get(x.contest, 'title'), rank = t and t.rank, issued_at = x.issued_at,
           reason = x.revoke_reason }
end

-- Revokes a certificate (the title stays on record; the number stays taken).
function M.revoke(cert_no, reason, at)
  if type(reason) ~= 'string' or reason == '' then fail(gettext('revoke: give the reason (reason=...)')) end
  local no = M.normalize(cert_no) or tostring(cert_no)
  return db.atomic(function()
    local x = db.contest_certificates:get(no)
    if not x then fail(gettext('no contest certificate %s'), no) end
    if x.status == 'revoked' then return false end
    at = at or dates.now()
    db.contest_certificates:update(no, { status = 'revoked', revoked_at = at, revoke_reason = reason })
    local honour = db.member_titles:find('member_id,title',
      { x.member_id, (db.contests:get(x.contest, 'title') or '') .. ' ' .. x.title })
    if honour and not honour.revoked then db.member_titles:update(honour.title_id, { revoked = at:sub(1, 10) }) end
    bus.publish('certificate.revoked', { cert_no = no, kind = 'contest', member_id = x.member_id, reason = reason })
    return true
  end)
end

-- The change log of a contest (optionally of one bib), oldest first.
function M.changes(contest_id, bib)
  local eq = bib and { contest_id, bib } or { contest_id }
  local out = db.contest_score_changes:list{ index = 'contest,bib', eq = eq }
  table.sort(out, function(a, b) return a.change_id < b.change_id end)
  return out
end

-- ---- for the clerk's scripts (scripts/contest/) -----------------------------

-- Reads a contest file (see scripts/contest/example.lua): a Lua file that
-- returns the contest table. It runs with no globals: data only.
function M.load_spec(path)
  local f, why = io.open(path, 'r')
  if not f then fail(gettext('cannot read the contest file %s: %s'), path, tostring(why)) end
  local text = f:read('a')
  f:close()
  local chunk, err = load(text, '@' .. path, 't', {})
  if not chunk then fail('%s', err) end
  local ok, spec = pcall(chunk)
  if not ok then fail('%s', tostring(spec)) end
  if type(spec) ~= 'table' then fail(gettext('%s must return the contest table ({ id = ..., aspects = ... })'), path) end
  return spec
end

-- Calls fn(...); a refusal ends the run with 'refused: message' on stderr
-- and exit code 1, without a traceback: program.try (its one home).
function M.try(fn, ...)
  return require('program').try(fn, ...)
end

-- Ends the run with the usage line unless every name in `names` is among params.
function M.need(names, usage)
  for _, n in ipairs(names) do
    if params[n] == nil then run.fail(string.format(gettext('usage: %s'), usage)) end
  end
end

-- Reads a clerk's sheet with run.read_csv (as `gonghui import` reads: a byte
-- order mark, GB18030 from Excel, quoting). A first row whose first cell is
-- not a number is a header; empty rows and rows starting with # are
-- skipped. Calls fn(cells, line) per row; returns the number of rows.
-- The whole sheet is one transaction (one write to disk, not one per
-- line): fn should pcall each line's step, whose own db.atomic is then a
-- savepoint, so a refused line leaves nothing and the others are stored
-- together. A sheet that cannot be read to its end stores nothing.
-- reset(), when given, is called before the sheet is gone through: if the
-- transaction has to be redone (the database map grew), fn sees every line
-- again, so counts kept outside start from zero there; print after sheet()
-- returns, not from fn.
function M.sheet(path, fn, reset)
  local n = 0
  local ok, err
  db.atomic(function()
    n = 0
    if reset then reset() end
    ok, err = run.read_csv(path, function(row, line)
      local first = (row[1] or ''):gsub('^%s+', '')
      local empty = true
      for _, c in ipairs(row) do if c:match('%S') then empty = false end end
      if empty or first:match('^#') or (n == 0 and not first:match('^%d')) then return end
      n = n + 1
      local cells = {}
      for i, c in ipairs(row) do cells[i] = c:gsub('^%s+', ''):gsub('%s+$', '') end
      fn(cells, line)
    end)
    if not ok then run.fail(string.format(gettext('cannot read the sheet %s: %s'), path, tostring(err))) end
  end)
  return n
end

return M
