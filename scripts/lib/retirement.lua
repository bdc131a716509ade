-- retirement.lua — glorious-retirement honors (光荣退休): who reaches the
-- statutory retirement age when, honor certificates issued once with
-- verifiable numbers, revocation, delivery, the honor list in stroke order
-- (the cal plugin's stroke_key).
--
-- The program's scripts are in scripts/retirement/; this module is their
-- shared part (in scripts/lib so the tests can require it too).
--
-- STATUTORY RETIREMENT AGE — 全国人民代表大会常务委员会关于实施渐进式延迟
-- 法定退休年龄的决定 (13 September 2024), in force from 1 January 2025:
--   * men, old age 60: born January 1965 or later retire one month later
--     for every 4 months of birth (Jan-Apr 1965 +1 month, May-Aug 1965 +2,
--     ...), at most 36 months: 63 from births of September 1976 on;
--   * women whose old age was 55 (managerial and technical posts, 'cadre'):
--     from January 1970, one month per 4 months of birth, at most 36
--     months: 58 from births of September 1981 on;
--   * women whose old age was 50 (other posts, 'worker'): from January 1975,
--     one month per 2 months of birth, at most 60 months: 55 from births of
--     November 1984 on;
--   * earlier births keep the old ages 60 / 55 / 50.
-- The retirement date is the day the new age is reached (birth date plus
-- the age in months; a 31st becomes the month's last day). The law's
-- voluntary early or late retirement (弹性退休, up to 3 years) and special
-- posts (特殊工种) are not modelled: such members need a date set by hand.
-- A woman's post type is members.post_type ('worker' or 'cadre'); when it is
-- absent the caller's default applies (retirement.age's `post` argument).
local dates = require 'dates'
local registry = require 'registry'
local checkchar = require 'checkchar'
local program = require 'program'
local cal = plugin.load 'cal'   -- stroke order of names (姓氏笔画)

local M = {}

-- rule = { base years, first birth month affected (y*12+m-1), months of birth per month of delay, max delay }
local RULES = {
  M      = { 60, 1965 * 12, 4, 36 },
  cadre  = { 55, 1970 * 12, 4, 36 },
  worker = { 50, 1975 * 12, 2, 60 },
}

-- The statutory retirement of someone born on birth_date ('YYYY-MM-DD') of
-- gender 'M'/'F' (for women, post 'worker' or 'cadre'). Returns
-- { date = 'YYYY-MM-DD', years =, months =, delay = months, base = years }.
function M.age(gender, birth_date, post)
  local y, m = dates.parse(birth_date)
  local rule
  if gender == 'M' then
    rule = RULES.M
  elseif gender == 'F' then
    rule = RULES[post or '']
    if not rule then
      error(gettext("retirement age of a woman: post must be 'worker' (old age 50) or 'cadre' (old age 55), got ")
            .. tostring(post), 2)
    end
  else
    error(gettext("gender must be 'M' or 'F', got ") .. tostring(gender), 2)
  end
  local base, first, per, max = rule[1], rule[2], rule[3], rule[4]
  local k = y * 12 + (m - 1) - first
  local delay = k < 0 and 0 or math.min(max, k // per + 1)
  local total = base * 12 + delay
  return { date = dates.add_months(birth_date, total), years = total // 12, months = total % 12,
           delay = delay, base = base }
end

-- The age as people write it: '60岁', '61岁4个月'.
function M.age_text(r)
  return r.months == 0 and (r.years .. '岁') or string.format('%d岁%d个月', r.years, r.months)
end

-- The birth dates that can reach retirement age from `from` to `to` (dates),
-- within [lo, hi]: a list of disjoint { from, to } intervals in date order.
-- The delay is the same for a whole month of births, so the retirement dates
-- of a month's births run from its first day's to its last day's: a month is
-- in when that span meets the period under any of the rules (for every
-- rule's births: a woman's post is known only from her record).
local function birth_windows(from, to, lo, hi)
  local ly, lm = dates.parse(lo)
  local hy, hm = dates.parse(hi)
  local rules = { { 'M' }, { 'F', 'cadre' }, { 'F', 'worker' } }
  local out = {}
  for k = ly * 12 + lm - 1, hy * 12 + hm - 1 do
    local y, m = k // 12, k % 12 + 1
    local first = string.format('%04d-%02d-01', y, m)
    local last = string.format('%04d-%02d-%02d', y, m, dates.days_in_month(y, m))
    local meets = false
    for _, r in ipairs(rules) do
      if M.age(r[1], last, r[2]).date >= from and M.age(r[1], first, r[2]).date <= to then meets = true; break end
    end
    if meets then
      if first < lo then first = lo end
      if last > hi then last = hi end
      local w = out[#out]
      if w and dates.add_days(w.to, 1) == first then w.to = last else out[#out + 1] = { from = first, to = last } end
    end
  end
  return out
end
M.birth_windows = birth_windows

local function has_index(coll, name)
  for _, ix in ipairs(coll:schema().index or {}) do
    if ix == name then return true end
  end
  return false
end

-- Members who reach retirement age from `from` to `to` (dates, inclusive),
-- active, in union `union_id` and every union under it (all when nil).
-- opts.women_post: the post of a woman without members.post_type (default
-- 'worker'). Returns a list of { member_id, name, gender, birth_date,
-- retire_date, age, defaulted }, in stroke order of the names.
--
-- With the registry's index on birth_date it reads only the members born
-- in the months that can retire in the period (about 2 years of births in
-- a year's 45: W8 at 3,000,000 members); a database whose members have no
-- such index (defined before it, and not defined since) is scanned whole.
function M.due(from, to, union_id, opts)
  opts = opts or {}
  dates.parse(from); dates.parse(to)
  -- nobody retires before 50 or after 63 years and a month
  local lo, hi = dates.add_months(from, -(63 * 12 + 1)), dates.add_months(to, -50 * 12)
  -- The union tree is checked here against a set, not passed to the scan as
  -- a list: the scan tries a list's values one by one, and a city's tree has
  -- thousands of unions (W8 at 1M: 3,384 unions, 5,900 instructions a member).
  local under
  if union_id then
    under = {}
    for _, u in ipairs(registry.union_subtree(union_id)) do under[u] = true end
  end
  local out = {}
  local function take(m)
    if under and not under[m.union_id] then return end
    local post = m.post_type
    local defaulted = m.gender == 'F' and post == nil
    if defaulted then post = opts.women_post or 'worker' end
    local r = M.age(m.gender, m.birth_date, post)
    if r.date >= from and r.date <= to then
      out[#out + 1] = { member_id = m.member_id, name = m.name, gender = m.gender,
                        birth_date = m.birth_date, retire_date = r.date, age = M.age_text(r),
                        union_id = m.union_id, defaulted = defaulted }
    end
  end
  if lo <= hi and has_index(db.members, 'birth_date') then
    for _, w in ipairs(birth_windows(from, to, lo, hi)) do
      for m in db.members:scan{ index = 'birth_date', from = w.from, to = w.to, status = 'active' } do take(m) end
    end
  else
    for m in db.members:scan{ status = 'active', birth_date = { from = lo, to = hi } } do take(m) end
  end
  -- surname strokes, then the next characters; equal names by member_id
  for _, r in ipairs(out) do r.key = cal.stroke_key(r.name) end
  table.sort(out, function(a, b)
    if a.key ~= b.key then return a.key < b.key end
    return a.member_id < b.member_id
  end)
  for _, r in ipairs(out) do r.key = nil end
  return out
end

-- ---- certificates -----------------------------------------------------------

-- The honors as a program of the framework: each certificate is a ledger
-- entry (its number the key) in the certificate's transaction, so the year
-- report counts it (人, 人次) through the standard event; a revocation
-- reverses it.
M.PLAN = {
  id = 'retirement', title = '光荣退休', window = { from = '1949-10-01', to = '2099-12-31' },
  kinds = { { kind = 'certificate', title = '光荣退休荣誉证书', per_member = 1 } },
  units = { '人', '人次' },
}
local P
local function prog()
  P = P or program.define(M.PLAN, { file = 'retirement.lua' })
  return P
end

function M.define_collections()
  registry.define_all()
  prog()
  db.define('certificates', {
    key    = 'cert_no',
    fields = { cert_no = 'string', kind = 'string', member_id = 'int', union_id = 'int',
               year = 'int', seq = 'int', issued_at = 'string', retire_date = 'date?',
               status = 'string',                  -- valid, revoked
               revoked_at = 'string?', revoke_reason = 'string?',
               delivery = 'string',                -- pending, ceremony, online
               delivered_at = 'string?' },
    unique = { { 'kind', 'member_id' }, { 'union_id', 'year', 'seq' } },
    index  = { 'member_id', 'status' },
  })
end

-- Certificate number: year (4 digits), issuing union, sequence within that
-- union and year, MOD 11-2 check character over the digits. Two widths, told
-- apart by their length:
--   * 13 characters, 2025-0011-0001-6: union and sequence up to 9,999 each;
--     every number issued before the wide form existed has this form, and a
--     union that fits it still gets it, so old numbers stay what they were;
--   * 17 characters, 2025-000011-010000-1: union or sequence past 9,999, up
--     to 999,999 each: a city's federation issuing every certificate itself
--     (a city of 3,000,000 members sees about 40,000 retirements a year).
-- Past that, number() refuses (nil, why) and issue() with it. The widths
-- and the check are checkchar.certificate's (the contest's numbers too).
M.NARROW, M.WIDE = checkchar.NARROW, checkchar.WIDE

function M.number(year, union_id, seq)
  local digits, over = checkchar.certificate(year, { union_id, seq })
  if over == 0 then
    return nil, string.format(gettext('the year of a certificate is a year of 4 digits, got %s'), tostring(year))
  elseif over == 1 then
    return nil, string.format(gettext('union %d cannot number certificates: certificate numbers hold union numbers up to 999999; issue them from the union above it (issue.lua union=ID)'), union_id)
  elseif over == 2 then
    return nil, string.format(gettext('union %d has numbered 999999 certificates in %d, the most a certificate number holds for one union in a year; issue the rest from the unions under it (issue.lua union=ID)'), union_id, year)
  end
  return M.format(digits)
end

-- 13 or 17 characters without dashes -> the number with its dashes.
function M.format(d)
  if #d == 13 then
    return string.format('%s-%s-%s-%s', d:sub(1, 4), d:sub(5, 8), d:sub(9, 12), d:sub(13))
  end
  return string.format('%s-%s-%s-%s', d:sub(1, 4), d:sub(5, 10), d:sub(11, 16), d:sub(17))
end

-- '2025 0011 0001 6', '202500110001x', '2025000011010000 1' ... -> the
-- number with its dashes, or nil.
function M.normalize(s)
  local d = tostring(s):upper():gsub('[%s%-]', '')
  if not d:match('^%d+[%dX]$') or (#d ~= 13 and #d ~= 17) then return nil end
  return M.format(d)
end

-- The next sequence of union_id's certificates in year (the last one's plus one).
local function next_seq(union_id, year)
  for c in db.certificates:scan{ index = 'union_id,year,seq', eq = { union_id, year }, reverse = true, limit = 1 } do
    return c.seq + 1
  end
  return 1
end

-- Certificate kind of member m (its record) from union_id in year, with the
-- union's next sequence seq, in the caller's transaction and without a
-- savepoint of its own (a refusal writes nothing, an error aborts the
-- caller's whole transaction). Returns as issue() does.
local function write_cert(kind, m, union_id, year, opts, seq)
  local no, why = M.number(year, union_id, seq)
  if not no then return nil, 'full', why end
  local member_id = m.member_id
  local c = { cert_no = no, kind = kind, member_id = member_id,
              union_id = union_id, year = year, seq = seq, issued_at = opts.at or dates.now(),
              retire_date = opts.retire_date, status = 'valid', delivery = 'pending' }
  db.certificates:insert(c)
  bus.publish('certificate.issued', { cert_no = c.cert_no, kind = kind, member_id = member_id,
                                      union_id = union_id, year = year })
  if kind == 'retirement' then
    local day = c.retire_date and c.retire_date:sub(1, 4) == tostring(year) and c.retire_date
                or string.format('%04d-12-31', year)
    local e, _, why2 = prog():enter_in{ member = m, kind = 'certificate', key = c.cert_no, day = day,
                                        at = c.issued_at, union = union_id }
    if not e then error(string.format(gettext('retirement: the certificate %s could not be entered: %s'), c.cert_no, why2), 0) end
  end
  return c, 'issued'
end

-- The certificate member_id already has, or nil and the member's record
-- (an error when there is no such member).
local function prior_or_member(kind, member_id)
  local prior = db.certificates:find('kind,member_id', { kind, member_id })
  if prior then return prior end
  local m = db.members:get(member_id)
  if not m then error(gettext('no member ') .. tostring(member_id), 0) end
  return nil, m
end

local function union_exists(union_id)
  if not db.unions:get(union_id, 'union_id') then error(gettext('no union ') .. tostring(union_id), 0) end
end

-- Issues the honor certificate of member_id from union_id in year (once per
-- member: a second call returns the first certificate and 'already').
-- Publishes certificate.issued. Returns the certificate, and 'issued' or
-- 'already'; or nil, 'full', why when the union's numbers for the year are
-- used up (nothing written).
function M.issue(member_id, union_id, year, opts)
  opts = opts or {}
  local kind = opts.kind or 'retirement'
  return db.atomic(function()
    local prior, m = prior_or_member(kind, member_id)
    if prior then return prior, 'already' end
    union_exists(union_id)
    return write_cert(kind, m, union_id, year, opts, next_seq(union_id, year))
  end)
end

-- issue() for each { member_id =, retire_date = } of list (due()'s), in its
-- order, in one transaction: the numbers, the events and what is stored
-- are those of issue() called for each in turn, without its savepoint a
-- certificate (an error stores none of them). Stops at the first 'full':
-- what was issued stays. Returns { issued =, already = }, and when stopped
-- the refusal and how many of the list are left.
function M.issue_all(list, union_id, year, opts)
  opts = opts or {}
  local kind = opts.kind or 'retirement'
  local n = { issued = 0, already = 0 }
  local refused, left
  db.atomic(function()
    local seq   -- the union's next sequence: asked once, then counted here
    for i, r in ipairs(list) do
      local prior, m = prior_or_member(kind, r.member_id)
      local st, why = 'already', nil
      if not prior then
        if not seq then union_exists(union_id); seq = next_seq(union_id, year) end
        st, why = select(2, write_cert(kind, m, union_id, year, { at = opts.at, retire_date = r.retire_date }, seq))
        if st == 'full' then
          refused, left = why, #list - i + 1
          break
        end
        seq = seq + 1
      end
      n[st] = n[st] + 1
    end
  end)
  return n, refused, left
end

-- Checks a certificate number as typed. Returns a table: { status =
-- 'valid' | 'revoked' | 'mistyped' | 'unknown', cert_no, holder (masked
-- name), id (masked ID number), issued_at, reason }.
function M.verify(s)
  local no = M.normalize(s)
  if not no or not checkchar.valid((no:gsub('%-', ''))) then
    return { status = 'mistyped', input = tostring(s) }
  end
  local c = db.certificates:get(no)
  if not c then return { status = 'unknown', cert_no = no } end
  local m = db.members:get(c.member_id) or {}
  return { status = c.status, cert_no = no, holder = m.name and registry.mask_name(m.name),
           id = m.id_number and registry.mask_id(m.id_number), issued_at = c.issued_at,
           kind = c.kind, union = db.unions:get(c.union_id, 'name'), reason = c.revoke_reason }
end

function M.revoke(cert_no, reason, at)
  if type(reason) ~= 'string' or reason == '' then error(gettext('revoke: give the reason'), 2) end
  local no = M.normalize(cert_no) or cert_no
  return db.atomic(function()
    local c = db.certificates:get(no)
    if not c then error(gettext('no certificate ') .. tostring(cert_no), 0) end
    if c.status == 'revoked' then return false end
    at = at or dates.now()
    db.certificates:update(no, { status = 'revoked', revoked_at = at, revoke_reason = reason })
    bus.publish('certificate.revoked', { cert_no = no, member_id = c.member_id, reason = reason })
    local e = db.program_entries:find('program,key', { M.PLAN.id, no })
    if e then prog():reverse(e.entry_id, reason, { at = at }) end
    return true
  end)
end

-- how: 'ceremony' (handed over at the ceremony) or 'online' (electronic).
function M.deliver(cert_no, how, at)
  if how ~= 'ceremony' and how ~= 'online' then
    error(gettext("deliver: how is 'ceremony' or 'online', got ") .. tostring(how), 2)
  end
  local no = M.normalize(cert_no) or cert_no
  return db.atomic(function()
    local c = db.certificates:get(no)
    if not c then error(gettext('no certificate ') .. tostring(cert_no), 0) end
    if c.status ~= 'valid' then error(string.format(gettext('certificate %s is revoked'), no), 0) end
    if c.delivery ~= 'pending' then return false end
    db.certificates:update(no, { delivery = how, delivered_at = at or dates.now() })
    bus.publish('certificate.delivered', { cert_no = no, member_id = c.member_id, how = how })
    return true
  end)
end

return M
