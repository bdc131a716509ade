-- program/draw.lua — allocation of scarce places (sanatorium beds, contest
-- places, red envelopes, movie tickets): draws within priority tiers that
-- nobody can bias, the organiser included (gonghui-draw-v2; README "Draws
-- nobody can bias", the lottery plugin's derive_seed).
--
--   P:commit_draw('bed', commitment [, { party = 'committee' }])  -- optional, before the list closes
--   P:close_draw('bed', { public = 'SOURCE', after = 'YYYY-MM-DD HH:MM' })
--        -- the entrants per tier fixed and committed (their SHA-256), at the host's clock; the
--        -- public value named: what it will be (a lottery's result of a stated date ...) and
--        -- when it is known, which must be after the list closes
--   P:draw('bed', { public = 'the value, once known', seeds = { committee = '...' }, k = 20 })
--        -- the public value recorded (once: never another), the seed derived, winners entered
--   P:verify_draw('bed' [, published])      --> true | false, why
--   P:draw_record('bed')                    --> the published record (a table)
--   P:write_draw_record('bed', 'FILE.txt')  -- the record as text, for the notice board
--   program.read_draw_record('FILE.txt')    --> the record table (verify_draw takes it)
--   program.read_seed(FILE)                 --> a party's seed from its file (seed_file=)
--   P:draw_row('bed')                       --> the stored row (made if new)   since v1.3
--   P:draw('stay', { public = ..., k = n, choices = function(member_id, tier) return { { place = 'B01',
--          day = ... }, ... } end })        -- preferences: each winner, in draw order, gets the first
--                                           -- choice the ledger accepts; the rest are the waiting list
--   P:waiting_list('stay'), P:move_up('stay', { place = 'B01' })   -- the waiting list   since v1.4
--
-- Why nobody can choose the result. The entrants of a program are often
-- known in advance ("every eligible member"), so a seed chosen by one
-- party, even committed before the list closed, can be ground: try seeds
-- until the wanted members win (the issue found one in 9 tries). Here:
--   1. the list closes first: each tier's canonical list and its SHA-256
--      are stored with the host's clock (run.host_time, never --now) and
--      published (event program.draw.closed);
--   2. the seed comes from a public value named when the list closes and
--      known only after it (RFC 3797: e.g. the welfare lottery's numbers of
--      a stated draw date), mixed with the list hashes and the seeds that
--      parties committed to before the list closed (lottery.derive_seed);
--   3. the public value is recorded once and for all: a draw cannot be run
--      again with another one, and the host clock refuses it before its time;
--   4. anyone recomputes everything from the published record (verify_draw,
--      or `python3 plugins/lottery/lottery_check.py verify-record FILE`),
--      and compares its public value with the one the world saw.
-- A party that committed a seed and keeps it back stops the draw (visibly):
-- give the commitment to someone other than the organiser, or rely on the
-- public value alone.
--
-- Tiers (plan.who.tiers) are drawn in order: tier 1's entrants first, up to
-- k; what is left goes to tier 2, and so on. Each tier is one lottery draw
-- whose prize is 'PROGRAM:KIND#TIER' over that tier's canonical list.
-- Entrants are the eligible members (P:members(kind)) that have no entry of
-- the kind yet, or opts.entrants (member ids). k defaults to the kind's
-- stock. Winners the ledger refuses (a limit) are kept in `refused`.
-- With opts.choices (preferences, since v1.4) each winner is tried with each of
-- their choices in order (a choice is a table of entry fields: place, day,
-- ...); one refused in every choice is kept in `refused` with its tier, rank
-- and choices: in draw order, that list is the waiting list, and
-- P:move_up(kind, match) gives a freed place to the first on it whose choice
-- matches and whom the ledger accepts (entry field moved_up = true). A
-- draw of every entrant (k = their number) is a ranking of all of them.
--
-- Legacy (before gonghui-draw-v2, kept for the programs not moved yet):
-- P:draw(kind, SEED_STRING, opts) draws with the organiser's seed alone
-- (committed with P:commit_draw(kind, sha256) before, or published at the
-- draw), which its holder can grind when the entrants are known in advance;
-- P:verify_draw recomputes such a draw but cannot show it unbiased.
local _ = gettext
local dates = require 'dates'

local M = {}
local SCHEME = 'gonghui-draw-v2'
local host_time = run and run.host_time   -- taken at load: the host's clock, not --now

local function lottery() return plugin.load 'lottery' end

local function define()
  db.define('program_draws', {
    key = 'draw_id',
    fields = { draw_id = 'string', program = 'string', kind = 'string', seed_commitment = 'string?',
               tiers = 'any?', seed = 'string?', k = 'int?', committed_at = 'string?',
               published_at = 'string?', drawn_at = 'string?', refused = 'any?', run = 'string?',
               scheme = 'string?', commitments = 'any?', public_source = 'string?', public_after = 'string?',
               closed_at = 'string?', closed_seq = 'int?', public_value = 'string?', public_at = 'string?',
               reveals = 'any?' },
    index = { 'program' },
  })
end

-- ---- times: the host's clock, written in UTC ('2026-02-12T13:30:00Z') -------------------

local function utc(t) return os.date('!%Y-%m-%dT%H:%M:%SZ', t) end

local function host_now()
  if not host_time then error(_('the draw needs the host clock (run.host_time): run it with gonghui run'), 3) end
  return host_time()
end

-- 'YYYY-MM-DD HH:MM[:SS]' in local time (the host's zone) -> seconds since 1970, or nil, why.
local function parse_local(s)
  if type(s) ~= 'string' then return nil, _('give a date and time YYYY-MM-DD HH:MM') end
  local y, mo, d, h, mi, sec = s:match('^(%d%d%d%d)%-(%d%d)%-(%d%d)[ T](%d%d):(%d%d):?(%d*)$')
  if not y or #sec == 1 or #sec > 2 then return nil, _('give a date and time YYYY-MM-DD HH:MM') end
  local f = { year = tonumber(y), month = tonumber(mo), day = tonumber(d), hour = tonumber(h),
              min = tonumber(mi), sec = tonumber(sec ~= '' and sec or '0') }
  local t = os.time({ year = f.year, month = f.month, day = f.day, hour = f.hour, min = f.min, sec = f.sec })
  local back = os.date('*t', t)   -- (os.time normalises its table: 02-30 becomes 03-02, so compare with f)
  if back.year ~= f.year or back.month ~= f.month or back.day ~= f.day or back.hour ~= f.hour or back.min ~= f.min
     or back.sec ~= f.sec then
    return nil, _('there is no such date and time')
  end
  return t
end

-- 'YYYY-MM-DDTHH:MM:SSZ' -> seconds since 1970.
local function parse_utc(s)
  local y, mo, d, h, mi, sec = tostring(s):match('^(%d%d%d%d)%-(%d%d)%-(%d%d)T(%d%d):(%d%d):(%d%d)Z$')
  if not y then return nil end
  local f = { year = tonumber(y), month = tonumber(mo), day = tonumber(d), hour = tonumber(h),
              min = tonumber(mi), sec = tonumber(sec) }
  local t = os.time(f)   -- as if local: correct by the zone's offset at t
  local u = os.date('!*t', t)
  u.isdst = false
  return t + (t - os.time(u))
end

-- A public value or its source as entered: trimmed, inner white space one space.
local function norm_text(s)
  if type(s) ~= 'string' then return nil end
  s = s:gsub('\u{3000}', ' '):gsub('^%s+', ''):gsub('%s+$', ''):gsub('%s+', ' ')
  if s == '' or s:find('%c') or not utf8.len(s) then return nil end
  return s
end

local function party_ok(p)
  return type(p) == 'string' and p ~= '' and not p:find('[%c%s:=]') and utf8.len(p) ~= nil
end

-- ---- the published record ------------------------------------------------------------------

-- The record of a draw: everything anyone needs to recompute it (see M.record_text).
local function record_of(r)
  local rec = { scheme = r.scheme, draw = r.draw_id, closed_at = r.closed_at, public_source = r.public_source,
                public_after = r.public_after, public_value = r.public_value, public_at = r.public_at,
                seed = r.seed, k = r.k, drawn_at = r.drawn_at, commitments = {}, reveals = {}, tiers = {} }
  for i, c in ipairs(r.commitments or {}) do
    rec.commitments[i] = { party = c.party, commitment = c.commitment, at = c.at }
  end
  for p, s in pairs(r.reveals or {}) do rec.reveals[p] = s end
  for i, t in ipairs(r.tiers or {}) do
    rec.tiers[i] = { name = t.name, n = t.n, list_commitment = t.list_commitment, entrants = t.entrants or '',
                     k = t.k, winners = t.winners }
  end
  return rec
end

local function words(s) return (s or ''):gsub('\n$', ''):gsub('\n', ' ') end
local function lines(s) return s == '' and '' or (s:gsub(' ', '\n') .. '\n') end

-- The record as text, "key: value" lines (README "Draws nobody can bias"; lottery_check.py
-- verify-record reads it). Entrants and winners are ids separated by one space.
function M.record_text(rec)
  local out = { '# gonghui draw record: python3 lottery_check.py verify-record FILE recomputes it',
                'scheme: ' .. rec.scheme, 'draw: ' .. rec.draw, 'closed_at: ' .. rec.closed_at,
                'public_source: ' .. rec.public_source, 'public_after: ' .. rec.public_after }
  for _i, c in ipairs(rec.commitments) do
    out[#out + 1] = 'commitment.' .. c.party .. ': ' .. c.commitment
    out[#out + 1] = 'commitment.' .. c.party .. '.at: ' .. c.at
  end
  out[#out + 1] = 'tiers: ' .. #rec.tiers   -- i18n: ok (the record file format)
  for i, t in ipairs(rec.tiers) do
    local p = 'tier.' .. i .. '.'
    out[#out + 1] = p .. 'name: ' .. t.name   -- i18n: ok (the record file format)
    out[#out + 1] = p .. 'n: ' .. t.n
    out[#out + 1] = p .. 'list_commitment: ' .. (t.list_commitment or '-')
    out[#out + 1] = p .. 'entrants: ' .. words(t.entrants)   -- i18n: ok (the record file format)
  end
  if rec.public_value then
    out[#out + 1] = 'public_value: ' .. rec.public_value
    out[#out + 1] = 'public_at: ' .. rec.public_at
  end
  if rec.seed then
    local ps = {}
    for p in pairs(rec.reveals) do ps[#ps + 1] = p end
    table.sort(ps)
    for _i, p in ipairs(ps) do out[#out + 1] = 'reveal.' .. p .. ': ' .. rec.reveals[p] end
    out[#out + 1] = 'seed: ' .. rec.seed   -- i18n: ok (the record file format)
    out[#out + 1] = 'k: ' .. rec.k
    for i, t in ipairs(rec.tiers) do
      out[#out + 1] = 'tier.' .. i .. '.k: ' .. t.k
      out[#out + 1] = 'tier.' .. i .. '.winners: ' .. words(t.winners)
    end
    out[#out + 1] = 'drawn_at: ' .. rec.drawn_at
  end
  return table.concat(out, '\n') .. '\n'
end

-- The record of a text (M.record_text's), or nil, why.
function M.parse_record(text)
  local kv, order = {}, {}
  local n = 0
  for line in (text .. '\n'):gmatch('([^\n]*)\n') do
    n = n + 1
    line = line:gsub('\r$', '')
    if line ~= '' and not line:match('^#') then
      local k, v = line:match('^([^:]+): ?(.*)$')
      if not k then return nil, string.format(_('line %d is not "key: value": %s'), n, line:sub(1, 60)) end
      if kv[k] then return nil, string.format(_('line %d: %s is given twice'), n, k) end
      kv[k] = v
      order[#order + 1] = k
    end
  end
  if kv.scheme ~= SCHEME then
    return nil, string.format(_('not a %s draw record (scheme: %s)'), SCHEME, tostring(kv.scheme))
  end
  local rec = { scheme = kv.scheme, draw = kv.draw, closed_at = kv.closed_at, public_source = kv.public_source,
                public_after = kv.public_after, public_value = kv.public_value, public_at = kv.public_at,
                seed = kv.seed, k = math.tointeger(tonumber(kv.k)), drawn_at = kv.drawn_at,
                commitments = {}, reveals = {}, tiers = {} }
  for _i, k in ipairs(order) do
    local p = k:match('^commitment%.(.+)$')
    if p and not p:match('%.at$') then
      rec.commitments[#rec.commitments + 1] = { party = p, commitment = kv[k], at = kv[k .. '.at'] }
    end
    p = k:match('^reveal%.(.+)$')
    if p then rec.reveals[p] = kv[k] end
  end
  for i = 1, math.tointeger(tonumber(kv.tiers)) or 0 do
    local p = 'tier.' .. i .. '.'
    local lc = kv[p .. 'list_commitment']
    rec.tiers[i] = { name = kv[p .. 'name'], n = math.tointeger(tonumber(kv[p .. 'n'])),
                     list_commitment = lc ~= '-' and lc or nil, entrants = lines(kv[p .. 'entrants'] or ''),
                     k = math.tointeger(tonumber(kv[p .. 'k'])),
                     winners = kv[p .. 'winners'] and lines(kv[p .. 'winners']) }
  end
  return rec
end

local function lists_of(rec)
  local t = {}
  for i, x in ipairs(rec.tiers) do t[i] = (x.list_commitment or '-') .. '\n' end
  return table.concat(t)
end

local function reveals_text(reveals)
  local ps = {}
  for p in pairs(reveals) do ps[#ps + 1] = p end
  table.sort(ps)
  local t = {}
  for i, p in ipairs(ps) do t[i] = p .. '=' .. reveals[p] .. '\n' end
  return table.concat(t)
end

-- Checks a record on its own (nothing from the database): true, or false and why.
function M.verify_record(rec)
  local L = lottery()
  if rec.scheme ~= SCHEME then return false, string.format(_('not a %s draw record'), SCHEME) end
  local closed = parse_utc(rec.closed_at)
  local after = parse_utc(rec.public_after)
  if not closed or not after then return false, _('the record has no closing time or no public value time') end
  for _i, c in ipairs(rec.commitments) do
    local at = parse_utc(c.at)
    if not at or at > closed then
      return false, string.format(_("%s's seed commitment (%s) was not made before the list closed (%s)"),
                                  c.party, tostring(c.at), rec.closed_at)
    end
  end
  if closed >= after then
    return false, string.format(_('the list closed at %s, not before the public value was due (%s): it could be known'),
                                rec.closed_at, rec.public_after)
  end
  for i, t in ipairs(rec.tiers) do
    local n = t.entrants ~= '' and L.count(t.entrants) or 0
    if (n > 0 or t.list_commitment) and (n == 0 or L.list_hash(t.entrants) ~= t.list_commitment) then
      return false, string.format(_('tier %d (%s): the entrant list does not match the list commitment: its SHA-256 is %s, the commitment published when the list closed is %s (an entrant was added, removed or changed)'),
                                  i, t.name, n > 0 and L.list_hash(t.entrants) or '-', tostring(t.list_commitment))
    end
    if n ~= t.n then return false, string.format(_('tier %d: the list has %d entrants, the record says %s'), i, n, tostring(t.n)) end
  end
  if not rec.seed then return true end   -- closed, not drawn yet: so far so good
  local at = parse_utc(rec.public_at)
  if not rec.public_value or not at or at < after then
    return false, string.format(_('the public value was entered at %s, before it was due (%s)'),
                                tostring(rec.public_at), rec.public_after)
  end
  for _i, c in ipairs(rec.commitments) do
    local s = rec.reveals[c.party]
    if not s then return false, string.format(_("%s's seed is not revealed"), c.party) end
    if L.seed_commit(s) ~= c.commitment then
      return false, string.format(_("%s's revealed seed does not match the seed commitment: its SHA-256 is %s, the commitment made before the list closed is %s"),
                                  c.party, L.seed_commit(s), c.commitment)
    end
  end
  for p in pairs(rec.reveals) do
    local found = false
    for _i, c in ipairs(rec.commitments) do found = found or c.party == p end
    if not found then return false, string.format(_('a seed of %s is revealed that was never committed to'), p) end
  end
  local seed = L.derive_seed(rec.draw, lists_of(rec), rec.public_source, rec.public_value, reveals_text(rec.reveals))
  if seed ~= rec.seed then
    return false, string.format(_('the seed is not the one the lists, the public value and the reveals give: they give %s, the record says %s'),
                                seed, tostring(rec.seed))
  end
  local left = rec.k or 0
  for i, t in ipairs(rec.tiers) do
    local kk = math.min(left, t.n)
    if t.k ~= kk then return false, string.format(_('tier %d: %s drawn, but %d places were left for its %d entrants'), i, tostring(t.k), left, t.n) end
    local won = kk > 0 and L.draw(t.entrants, seed, rec.draw .. '#' .. i, kk) or ''
    if won ~= t.winners then
      local a, b = won:gmatch('[^\n]+'), (t.winners or ''):gmatch('[^\n]+')
      for j = 1, kk + 1 do
        local x, y = a(), b()
        if x ~= y then
          return false, string.format(_('tier %d (%s): winner %d does not match: the draw gives %s, the record says %s'),
                                      i, t.name, j, tostring(x), tostring(y))
        end
      end
    end
    left = left - kk
  end
  return true
end

-- The first field where two records differ, or nil.
local function differ(a, b)
  for _i, f in ipairs{ 'draw', 'closed_at', 'public_source', 'public_after', 'public_value', 'seed', 'k' } do
    if a[f] ~= b[f] then return f, a[f], b[f] end
  end
  for i, t in ipairs(a.tiers) do
    local u = b.tiers[i] or {}
    for _i, f in ipairs{ 'list_commitment', 'entrants', 'winners' } do
      if t[f] ~= u[f] then return 'tier.' .. i .. '.' .. f, t[f], u[f] end
    end
  end
  if #a.tiers ~= #b.tiers then return 'tiers', #a.tiers, #b.tiers end
end

-- Enters winner mid (tier i, rank) in the ledger: with opts.choices, the
-- first choice the ledger accepts; one refused in every choice goes on the
-- waiting list (refused).
local function enter_winner(self, kind, r, opts, i, rank, mid, refused)
  local tries = opts.choices and opts.choices(mid, i) or { {} }
  local e, code, why
  for _j, c in ipairs(tries) do
    local en = { member = mid, kind = kind, at = opts.at, tier = i, key = r.draw_id .. ':' .. mid, draw_rank = rank }
    for f, v in pairs(c) do en[f] = v end
    e, code, why = self:enter(en)
    if e or code == 'not_eligible' or code == 'already' or code == 'duplicate' then break end
  end
  if not e then
    refused[#refused + 1] = { member_id = mid, code = code, why = why, tier = i, rank = rank,
                              choices = opts.choices and tries or nil }
  end
end

-- Draws every tier of row r with `seed` (tier 1 first, up to k places, what
-- is left to the next), entering each winner (enter_winner): the one home of
-- the draw itself, for v2 and legacy draws alike. --> tiers (with k and
-- winners), refused.
local function draw_tiers(self, kind, r, seed, k, opts)
  local L = lottery()
  local left, refused, tiers = k, {}, r.tiers
  for i, t in ipairs(tiers) do
    local kk = math.min(left, t.n)
    t.k, t.winners = kk, ''
    if kk > 0 then
      t.winners = L.draw(t.entrants, seed, r.draw_id .. '#' .. i, kk)
      local rank = 0
      for id in t.winners:gmatch('[^\n]+') do
        rank = rank + 1
        enter_winner(self, kind, r, opts, i, rank, math.tointeger(tonumber(id)), refused)
      end
    end
    left = left - kk
  end
  return tiers, refused
end

-- The ledger's entries of a drawn kind against its winners: exactly the
-- winners less those refused, plus those moved up from the waiting list.
local function check_entries(self, kind, r)
  local want = {}
  for _i, t in ipairs(r.tiers) do
    for id in (t.winners or ''):gmatch('[^\n]+') do want[math.tointeger(tonumber(id))] = true end
  end
  local waiting = {}
  for _i, x in ipairs(r.refused or {}) do want[x.member_id] = nil; waiting[x.member_id] = true end
  -- a place moved up from the waiting list is an entry of a member on it   since v1.4
  for e in db.program_entries:scan{ index = 'program,kind', eq = { self.id, kind } } do
    if e.key == r.draw_id .. ':' .. tostring(e.member_id) and waiting[e.member_id] and e.extra
       and e.extra.moved_up then
      want[e.member_id] = true
    end
  end
  local n = 0
  for e in db.program_entries:scan{ index = 'program,kind', eq = { self.id, kind } } do
    if e.key and e.key:sub(1, #r.draw_id + 1) == r.draw_id .. ':' and not e.reverses then
      if not want[e.member_id] then
        return false, string.format(_('member %s has entry %d but is not a winner'), tostring(e.member_id), e.entry_id)
      end
      n = n + 1
    end
  end
  local w = 0
  for _i in pairs(want) do w = w + 1 end
  if n ~= w then return false, string.format(_('%d winners but %d entries'), w, n) end
  return true
end

function M.attach(program, P)
  -- A party's seed from its file (seed_file=: a seed never goes in the
  -- parameters, which the run record keeps); a final newline is not part of
  -- it. The one home of reading a seed file (newyear's commit and draw, the
  -- sanatorium's desk). --> the seed; an unreadable file ends the run.
  function program.read_seed(file)
    local f, err = io.open(file, 'rb')
    if not f then run.fail('seed_file=: ' .. tostring(err)) end
    local s = f:read('a'):gsub('\r?\n$', '')
    f:close()
    return s
  end

  local function row_of(self, kind)
    define()
    if not self.plan.kind[kind] then error(string.format(_("program '%s' has no kind '%s'"), self.id, tostring(kind)), 3) end
    local id = self.id .. ':' .. kind
    local r = db.program_draws:get(id)
    if not r then
      db.program_draws:insert{ draw_id = id, program = self.id, kind = kind, scheme = SCHEME }
      r = db.program_draws:get(id)
    end
    return r
  end

  program.read_draw_record = function(name)
    local f, err = io.open(name, 'rb')
    if not f then error(string.format(_('the draw record %s cannot be read: %s'), name, tostring(err)), 2) end
    local text = f:read('a')
    f:close()
    local rec, why = M.parse_record(text)
    if not rec then error(string.format(_('the draw record %s: %s'), name, why), 2) end
    return rec
  end
  program.verify_draw_record = M.verify_record

  -- The stored row of the draw of kind (made if new): commitments, tiers, winners.  since v1.3
  function P:draw_row(kind)
    return db.atomic(row_of, self, kind)
  end

  -- A party's seed commitment (lottery.seed_commit(seed)), before the list closes.
  function P:commit_draw(kind, commitment, opts)
    opts = opts or {}
    local party = opts.party or 'organiser'
    if type(commitment) ~= 'string' or not commitment:match('^%x+$') or #commitment ~= 64 then
      error(_('commit_draw: the seed commitment is 64 hex digits (lottery.seed_commit(seed))'), 2)
    end
    if not party_ok(party) then
      error(string.format(_("commit_draw: the party '%s' is a name without spaces, ':' or '='"), tostring(party)), 2)
    end
    commitment = commitment:lower()
    return db.atomic(function()
      local r = row_of(self, kind)
      local cs = r.commitments or {}
      for _i, c in ipairs(cs) do
        if c.party == party then
          if c.commitment == commitment then return r end
          error(string.format(_("the draw '%s' already has %s's seed commitment %s (since %s): it cannot change"),
                              r.draw_id, party, c.commitment, c.at), 0)
        end
      end
      if r.closed_at or r.published_at then
        error(string.format(_("the entrants of '%s' are closed: too late to commit a seed"), r.draw_id), 0)
      end
      local at = utc(host_now())
      cs[#cs + 1] = { party = party, commitment = commitment, at = at }
      -- (committed_at: the run's clock, as shown to clerks; what verification trusts is the
      -- host's time in commitments[].at)
      db.program_draws:update(r.draw_id, { commitments = cs, seed_commitment = r.seed_commitment or commitment,
                                           committed_at = r.committed_at or opts.at or dates.now() })
      bus.publish('program.draw.committed', { draw = r.draw_id, party = party, commitment = commitment, at = at })
      return db.program_draws:get(r.draw_id)
    end)
  end

  -- The lists a draw publishes when it closes (legacy and v2 alike): each
  -- tier's entrants in canonical text and that text's SHA-256.
  -- --> { { name =, entrants =, n =, list_commitment = }, ... }
  function P:draw_lists(kind, opts)
    local L = lottery()
    local out = {}
    for i, t in ipairs(self:draw_entrants(kind, opts)) do
      local text = #t.ids > 0 and L.canonical(table.concat(t.ids, '\n')) or ''
      out[i] = { name = t.name, entrants = text, n = #t.ids, list_commitment = #t.ids > 0 and L.list_hash(text) or nil }
    end
    return out
  end

  -- The entrants of each tier: { { name, ids = { member_id, ... } }, ... }.
  function P:draw_entrants(kind, opts)
    opts = opts or {}
    local tiers = {}
    local names = self.plan.who.tiers
    for i = 1, math.max(#names, 1) do tiers[i] = { name = names[i] and names[i].name or 'all', ids = {} } end
    local had = {}
    for e in db.program_entries:scan{ index = 'program,kind', eq = { self.id, kind } } do
      if e.member_id then had[e.member_id] = (had[e.member_id] or 0) + (e.reverses and -1 or 1) end
    end
    local function add(m)
      if (had[m.member_id] or 0) > 0 then return end
      local t = #names > 0 and self:tier(m) or 1
      if t then table.insert(tiers[t].ids, m.member_id) end
    end
    if opts.entrants then
      for _i, id in ipairs(opts.entrants) do
        local m = db.members:get(id)
        if m and self:eligible(m, kind) then add(m) end
      end
    else
      for m in self:members(kind) do add(m) end
    end
    return tiers
  end

  -- ---- legacy: the organiser's seed alone (before gonghui-draw-v2) -------------------------

  local function legacy_publish(self, kind, opts)
    return db.atomic(function()
      local r = row_of(self, kind)
      if r.published_at then return r end
      local out = self:draw_lists(kind, opts)
      db.program_draws:update(r.draw_id, { tiers = out, published_at = opts.at or dates.now(), run = run.uid,
                                           scheme = 'gonghui-lottery-v1' })
      bus.publish('program.draw.published', { draw = r.draw_id, tiers = out, seed_commitment = r.seed_commitment })
      return db.program_draws:get(r.draw_id)
    end)
  end

  local function legacy_draw(self, kind, seed, opts)
    opts = opts or {}
    if #seed < 16 then error(_('draw: the seed is a string of at least 16 characters'), 3) end
    local L = lottery()
    local r = db.atomic(row_of, self, kind)
    if r.closed_at then
      error(string.format(_("'%s' is a draw nobody can bias (its list closed at %s): draw it with { public = VALUE }"),
                          r.draw_id, r.closed_at), 3)
    end
    if r.drawn_at then
      if r.seed ~= seed then error(string.format(_("'%s' was drawn with another seed"), r.draw_id), 3) end
      return r
    end
    if not r.seed_commitment then r = self:commit_draw(kind, L.seed_commit(seed)) end
    if L.seed_commit(seed) ~= r.seed_commitment then
      error(string.format(_("this seed is not the one committed to for '%s': its SHA-256 is %s, the commitment %s"),
                          r.draw_id, L.seed_commit(seed), r.seed_commitment), 3)
    end
    if not r.published_at then r = legacy_publish(self, kind, opts) end
    local k = opts.k or self.plan.kind[kind].stock
    if math.type(k) ~= 'integer' or k < 0 then error(_('draw: give k (how many places), or a stock for the kind'), 3) end
    return db.atomic(function()
      local tiers, refused = draw_tiers(self, kind, r, seed, k, opts)
      db.program_draws:update(r.draw_id, { seed = seed, k = k, tiers = tiers, drawn_at = opts.at or dates.now(),
                                           refused = #refused > 0 and refused or db.null, run = run.uid })
      bus.publish('program.draw.drawn', { draw = r.draw_id, k = k, seed = seed })
      return db.program_draws:get(r.draw_id)
    end)
  end

  local function legacy_verify(self, kind, r, pub)
    pub = pub or {}
    for i, t in ipairs(r.tiers) do
      local p = (pub.tiers or {})[i] or {}
      if t.k > 0 then
        local ok, err = pcall(lottery().verify, p.entrants or t.entrants, pub.seed or r.seed,
                              pub.seed_commitment or r.seed_commitment, p.list_commitment or t.list_commitment,
                              r.draw_id .. '#' .. i, t.k, p.winners or t.winners)
        if not ok then
          return false, string.format(_('tier %d (%s): %s'), i, t.name, (tostring(err):gsub('^lottery%.verify: ', '')))
        end
      end
    end
    return check_entries(self, kind, r)
  end

  -- Closes the entrant list: each tier's canonical list and its SHA-256,
  -- at the host's clock, with the public value named (opts.public: what it
  -- is and where it is announced; opts.after: 'YYYY-MM-DD HH:MM', local
  -- time, when it is known, which must be later than now). Once closed it
  -- never changes: closing again returns it as it is.
  function P:close_draw(kind, opts)
    opts = opts or {}
    return db.atomic(function()
      local r = row_of(self, kind)
      local source = opts.public ~= nil and norm_text(opts.public)
      if r.closed_at then
        if opts.public ~= nil and source ~= r.public_source then
          error(string.format(_("the entrants of '%s' were closed at %s with the public value '%s': it cannot change"),
                              r.draw_id, r.closed_at, r.public_source), 0)
        end
        return r
      end
      if r.published_at then
        error(string.format(_("'%s' was published by an older gonghui without a public value: it cannot be drawn so that nobody can bias it; start a new draw"), r.draw_id), 0)
      end
      if not source then
        error(string.format(_("close_draw '%s': name the public value the seed will come from (public = 'e.g. 中国福利彩票双色球 2026-02-12 开奖号码'): one line of text, known only after the list closes"), r.draw_id), 0)
      end
      local after, why = parse_local(opts.after)
      if not after then
        error(string.format(_("close_draw '%s': after = %s: %s (when the public value is known, local time)"),
                            r.draw_id, tostring(opts.after), why), 0)
      end
      local out = self:draw_lists(kind, opts)
      local now = host_now()
      if now >= after then
        error(string.format(_("close_draw '%s': the public value is known from %s, which is not after now (%s, the host's clock): name one that nobody knows yet"),
                            r.draw_id, os.date('%Y-%m-%d %H:%M:%S', after), os.date('%Y-%m-%d %H:%M:%S', now)), 0)
      end
      local closed = utc(now)
      local seq = bus.publish('program.draw.closed', {
        draw = r.draw_id, closed_at = closed, public_source = source, public_after = utc(after),
        lists = (function() local l = {} for i, t in ipairs(out) do l[i] = t.list_commitment or '-' end return l end)(),
        commitments = r.commitments or {} })
      db.program_draws:update(r.draw_id, { tiers = out, published_at = closed, closed_at = closed, closed_seq = seq,
                                           public_source = source, public_after = utc(after), scheme = SCHEME,
                                           run = run.uid })
      return db.program_draws:get(r.draw_id)
    end)
  end
  -- publish_draw: close_draw with a public value; without one, the legacy publication
  function P:publish_draw(kind, opts)
    if opts and opts.public then return self:close_draw(kind, opts) end
    return legacy_publish(self, kind, opts or {})
  end

  -- Records the public value (once; not before it is due by the host's clock).
  function P:enter_public(kind, value)
    local v = norm_text(value)
    return db.atomic(function()
      local r = row_of(self, kind)
      if not r.closed_at then
        error(string.format(_("'%s': close the entrant list first (close_draw), naming the public value"), r.draw_id), 0)
      end
      if not v then
        error(string.format(_("'%s': give the public value (%s) as one line of text"), r.draw_id, r.public_source), 0)
      end
      if r.public_value then
        if r.public_value == v then return r end
        error(string.format(_("'%s': the public value was recorded at %s as '%s'; it cannot be replaced by '%s' (a draw is not run again with another value)"),
                            r.draw_id, r.public_at, r.public_value, v), 0)
      end
      local now = host_now()
      if now < parse_utc(r.public_after) then
        error(string.format(_("'%s': the public value (%s) is not known before %s (now %s, the host's clock)"),
                            r.draw_id, r.public_source, os.date('%Y-%m-%d %H:%M:%S', parse_utc(r.public_after)),
                            os.date('%Y-%m-%d %H:%M:%S', now)), 0)
      end
      db.program_draws:update(r.draw_id, { public_value = v, public_at = utc(now) })
      bus.publish('program.draw.public', { draw = r.draw_id, public_value = v, at = utc(now) })
      return db.program_draws:get(r.draw_id)
    end)
  end

  function P:draw(kind, opts, legacy_opts)
    if type(opts) == 'string' then return legacy_draw(self, kind, opts, legacy_opts) end   -- a seed alone
    if type(opts) ~= 'table' and opts ~= nil then
      error(string.format(_("draw '%s': a draw takes { public = VALUE [, seed = SEED] } since %s: close the list first with close_draw(kind, { public =, after = })"),
                          tostring(kind), SCHEME), 2)
    end
    opts = opts or {}
    local L = lottery()
    local r = db.atomic(row_of, self, kind)
    if not r.closed_at then
      error(string.format(_("'%s': close the entrant list first (close_draw), naming the public value"), r.draw_id), 2)
    end
    local seeds = opts.seeds or {}
    if opts.seed then
      local only = (r.commitments or {})[1]
      if not only or #r.commitments > 1 then
        error(string.format(_("'%s': seed = is the seed of the one party that committed one; give seeds = { party = seed }"), r.draw_id), 2)
      end
      seeds = { [only.party] = opts.seed }
    end
    if r.drawn_at then
      local v = opts.public and norm_text(opts.public)
      if v and v ~= r.public_value then
        error(string.format(_("'%s' was drawn with the public value '%s': it cannot be drawn again with '%s'"), r.draw_id, r.public_value, v), 2)
      end
      for p, s in pairs(seeds) do
        if (r.reveals or {})[p] ~= s then error(string.format(_("'%s' was drawn with another seed of %s"), r.draw_id, p), 2) end
      end
      return r
    end
    local reveals = {}
    for _i, c in ipairs(r.commitments or {}) do
      local s = seeds[c.party]
      if type(s) ~= 'string' then
        error(string.format(_("'%s': %s committed to a seed before the list closed: give it (seeds = { %s = ... })"), r.draw_id, c.party, c.party), 2)
      end
      if L.seed_commit(s) ~= c.commitment then
        error(string.format(_("this seed is not the one %s committed to for '%s': its SHA-256 is %s, the commitment %s"),
                            c.party, r.draw_id, L.seed_commit(s), c.commitment), 2)
      end
      if s:find('[\n=%z]') then error(string.format(_("%s's seed has a newline, '=' or NUL"), c.party), 2) end
      reveals[c.party] = s
    end
    for p in pairs(seeds) do
      if not reveals[p] then error(string.format(_("'%s': %s committed to no seed before the list closed"), r.draw_id, p), 2) end
    end
    -- the seeds check out: now the public value, in its own commit (kept whatever follows)
    if opts.public ~= nil then r = self:enter_public(kind, opts.public) end   -- its own commit: kept
    if not r.public_value then
      error(string.format(_("'%s': give the public value (%s), known from %s"), r.draw_id, r.public_source, r.public_after), 2)
    end
    local rec = record_of(r)
    local seed = L.derive_seed(r.draw_id, lists_of(rec), r.public_source, r.public_value, reveals_text(reveals))
    local k = opts.k or self.plan.kind[kind].stock
    if math.type(k) ~= 'integer' or k < 0 then error(_('draw: give k (how many places), or a stock for the kind'), 2) end
    return db.atomic(function()
      local tiers, refused = draw_tiers(self, kind, r, seed, k, opts)
      local drawn = utc(host_now())
      db.program_draws:update(r.draw_id, { seed = seed, k = k, tiers = tiers, drawn_at = drawn, reveals = reveals,
                                           refused = #refused > 0 and refused or db.null, run = run.uid })
      bus.publish('program.draw.drawn', { draw = r.draw_id, k = k, seed = seed, public_value = r.public_value })
      return db.program_draws:get(r.draw_id)
    end)
  end

  -- The published record of a closed (or drawn) draw.
  function P:draw_record(kind)
    define()
    local r = db.program_draws:get(self.id .. ':' .. kind)
    if not r or not r.closed_at then return nil, string.format(_("'%s:%s' is not closed yet"), self.id, kind) end
    return record_of(r)
  end

  function P:write_draw_record(kind, name)
    local rec, why = self:draw_record(kind)
    if not rec then error(why, 2) end
    local f = run.open(name, 'w')
    f:write(M.record_text(rec))
    f:close()
    return rec
  end

  -- Recomputes the draw from its record and checks the database agrees:
  -- the closing event in the log, the ledger's entries (exactly the winners
  -- less those refused). pub: a record someone holds (program.
  -- read_draw_record), or some of its fields ({ public_value = 'what the
  -- lottery announced' }, tiers = { { entrants = ... } }), checked in place
  -- of the stored ones and compared with them.
  function P:verify_draw(kind, pub)
    define()
    local r = db.program_draws:get(self.id .. ':' .. kind)
    if not r or not r.drawn_at then return false, "'" .. self.id .. ':' .. kind .. "' is not drawn yet" end
    if not r.closed_at then return legacy_verify(self, kind, r, pub) end
    local stored = record_of(r)
    local rec = record_of(r)
    for f, v in pairs(pub or {}) do
      if f == 'tiers' then
        for i, t in pairs(v) do for g, x in pairs(t) do if rec.tiers[i] then rec.tiers[i][g] = x end end end
      elseif f == 'reveals' then
        for p, s in pairs(v) do rec.reveals[p] = s end
      elseif f == 'public_value' or f == 'public_source' then
        -- as draw and close_draw take it: trimmed, white space one space
        rec[f] = norm_text(type(v) == 'number' and tostring(v) or v) or v
      elseif f ~= 'commitments' then
        rec[f] = v
      end
    end
    local ok, why = M.verify_record(rec)
    if not ok then return false, why end
    local f, a, b = differ(rec, stored)
    if f then
      return false, string.format(_("the published %s ('%s') is not the database's ('%s')"), f,
                                  tostring(a):sub(1, 80), tostring(b):sub(1, 80))
    end
    -- the closing as the log published it
    if r.closed_seq then
      local ev = bus.events{ from = r.closed_seq, limit = 1 }[1]
      local p = ev and ev.seq == r.closed_seq and ev.payload
      if p then
        local lists = {}
        for i, t in ipairs(stored.tiers) do lists[i] = t.list_commitment or '-' end
        if p.draw ~= r.draw_id or p.closed_at ~= r.closed_at or p.public_source ~= r.public_source
           or p.public_after ~= r.public_after or table.concat(p.lists or {}, ',') ~= table.concat(lists, ',') then
          return false, string.format(_("the draw's stored record differs from its closing as the event log published it (event %d)"), r.closed_seq)
        end
      end
    end
    return check_entries(self, kind, r)
  end

  -- The waiting list of a drawn kind: who the draw refused, in draw order
  -- (tier, then rank), each { member_id, tier, rank, code, why, choices,
  -- entry = the entry they have since moved up to, if any }.  since v1.4
  function P:waiting_list(kind)
    define()
    local r = db.program_draws:get(self.id .. ':' .. kind)
    if not r or not r.drawn_at then return {} end
    local out = {}
    for _i, x in ipairs(r.refused or {}) do
      local e = db.program_entries:find('program,key', { self.id, r.draw_id .. ':' .. x.member_id })
      local w = {}
      for k, v in pairs(x) do w[k] = v end
      w.entry = e and e.entry_id or nil
      out[#out + 1] = w
    end
    return out
  end

  -- A freed place goes to the first member on the waiting list who has a
  -- choice matching `match` (its fields equal: { place = 'B01' }), has no
  -- entry from the draw yet, and whom the ledger accepts now (every limit
  -- and rule checked in the same transaction). --> entry, or nil, 'none', why.  since v1.4
  function P:move_up(kind, match, opts)
    opts = opts or {}
    return db.atomic(function()
      define()
      local r = db.program_draws:get(self.id .. ':' .. kind)
      if not r or not r.drawn_at then
        return nil, 'none', string.format(_("'%s:%s' is not drawn yet"), self.id, kind)
      end
      local passed = 0
      for _i, x in ipairs(r.refused or {}) do
        local key = r.draw_id .. ':' .. x.member_id
        if not db.program_entries:find('program,key', { self.id, key }) then
          for _j, c in ipairs(x.choices or { {} }) do
            local fits = true
            for f, v in pairs(match or {}) do if c[f] ~= v then fits = false end end
            if fits then
              local en = { member = x.member_id, kind = kind, at = opts.at, tier = x.tier, key = key,
                           draw_rank = x.rank, moved_up = true, note = opts.note }
              for f, v in pairs(c) do en[f] = v end
              local e = self:enter(en)
              if e then return e end
              passed = passed + 1
              break
            end
          end
        end
      end
      return nil, 'none', string.format(gettext('nobody on the waiting list can take it (%d who chose it refused now)'),
                                        passed)
    end)
  end
end

return M
