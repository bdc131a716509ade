-- program/draw.lua — allocation of scarce places (sanatorium beds, contest
-- places, movie tickets): seeded draws within priority tiers, replayable and
-- verifiable by anyone with the lottery plugin (see README, `lottery`).
--
--   P:commit_draw('bed', seed_commitment)   -- before the entrant list closes (optional)
--   P:publish_draw('bed')                   -- the entrants per tier, fixed, with their commitments
--   local d = P:draw('bed', seed, { k = 20 })  -- winners entered as ledger entries, one transaction
--   P:verify_draw('bed' [, published])      --> true | false, why
--   P:draw_row('bed')                       --> the stored row (made if new)   since v1.3
--   P:draw('stay', seed, { k = n, choices = function(member_id, tier) return { { place = 'B01', day = ... },
--          ... } end })                     -- preferences: each winner, in draw order, gets the first
--                                           -- choice the ledger accepts; the rest are the waiting list
--   P:move_up('stay', { place = 'B01' })    --> entry | nil, 'none', why: the first on the waiting list
--                                           -- who chose it and whom the ledger accepts now   since v1.4
--
-- Tiers (plan.who.tiers) are drawn in order: tier 1's entrants first, up to
-- k; what is left goes to tier 2, and so on. Each tier is one lottery draw
-- whose prize is 'PROGRAM:KIND#TIER' over that tier's canonical list, so the
-- result follows from the seed and the lists alone. Entrants are the eligible
-- members (P:members(kind)) that have no entry of the kind yet, or opts.entrants
-- (member ids). k defaults to the kind's stock. Without a commitment first,
-- draw() commits and publishes itself (replayable, verifiable, but the seed
-- was not committed before the list closed: say so when you publish it).
-- Winners the ledger refuses (a limit) are kept in `refused` with the reason.
-- With opts.choices (preferences, since v1.4) each winner is tried with each of
-- their choices in order (a choice is a table of entry fields: place, day,
-- ...); one refused in every choice is kept in `refused` with its tier, rank
-- and choices: in draw order, that list is the waiting list, and
-- P:move_up(kind, match) gives a freed place to the first on it whose choice
-- matches and whom the ledger accepts (entry field moved_up = true). A
-- draw of every entrant (k = their number) is a ranking of all of them.
local _ = gettext
local dates = require 'dates'

local M = {}

local function lottery() return plugin.load 'lottery' end

local function define()
  db.define('program_draws', {
    key = 'draw_id',
    fields = { draw_id = 'string', program = 'string', kind = 'string', seed_commitment = 'string?',
               tiers = 'any?', seed = 'string?', k = 'int?', committed_at = 'string?',
               published_at = 'string?', drawn_at = 'string?', refused = 'any?', run = 'string?' },
    index = { 'program' },
  })
end

function M.attach(_program, P)
  local function row_of(self, kind)
    define()
    if not self.plan.kind[kind] then error(string.format(gettext("program '%s' has no kind '%s'"), self.id, tostring(kind)), 3) end
    local id = self.id .. ':' .. kind
    local r = db.program_draws:get(id)
    if not r then
      db.program_draws:insert{ draw_id = id, program = self.id, kind = kind }
      r = db.program_draws:get(id)
    end
    return r
  end

  -- The stored row of the draw of kind (made if new): commitments, tiers, winners.  since v1.3
  function P:draw_row(kind)
    return db.atomic(row_of, self, kind)
  end

  function P:commit_draw(kind, commitment, opts)
    if type(commitment) ~= 'string' or not commitment:match('^%x+$') or #commitment ~= 64 then
      error(gettext('commit_draw: the seed commitment is 64 hex digits (lottery.seed_commit(seed))'), 2)
    end
    return db.atomic(function()
      local r = row_of(self, kind)
      if r.published_at then error(string.format(gettext("the entrants of '%s' are published: too late to commit"), r.draw_id), 0) end
      db.program_draws:update(r.draw_id, { seed_commitment = commitment:lower(),
                                           committed_at = (opts or {}).at or dates.now() })
      return db.program_draws:get(r.draw_id)
    end)
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

  function P:publish_draw(kind, opts)
    opts = opts or {}
    local L = lottery()
    return db.atomic(function()
      local r = row_of(self, kind)
      if r.published_at then return r end
      local out = {}
      for i, t in ipairs(self:draw_entrants(kind, opts)) do
        local text = #t.ids > 0 and L.canonical(table.concat(t.ids, '\n')) or ''
        out[i] = { name = t.name, entrants = text, n = #t.ids,
                   list_commitment = #t.ids > 0 and L.list_hash(text) or nil }
      end
      db.program_draws:update(r.draw_id, { tiers = out, published_at = opts.at or dates.now(), run = run.uid })
      bus.publish('program.draw.published', { draw = r.draw_id, tiers = out, seed_commitment = r.seed_commitment })
      return db.program_draws:get(r.draw_id)
    end)
  end

  function P:draw(kind, seed, opts)
    opts = opts or {}
    if type(seed) ~= 'string' or #seed < 16 then error(gettext('draw: the seed is a string of at least 16 characters'), 2) end
    local L = lottery()
    local r = db.atomic(row_of, self, kind)
    if r.drawn_at then
      if r.seed ~= seed then error(string.format(gettext("'%s' was drawn with another seed"), r.draw_id), 2) end
      return r
    end
    if not r.seed_commitment then r = self:commit_draw(kind, L.seed_commit(seed), opts) end
    if L.seed_commit(seed) ~= r.seed_commitment then
      error(string.format(gettext("this seed is not the one committed to for '%s': its SHA-256 is %s, the commitment %s"),
                          r.draw_id, L.seed_commit(seed), r.seed_commitment), 2)
    end
    if not r.published_at then r = self:publish_draw(kind, opts) end
    local k = opts.k or self.plan.kind[kind].stock
    if math.type(k) ~= 'integer' or k < 0 then error(gettext('draw: give k (how many places), or a stock for the kind'), 2) end
    return db.atomic(function()
      local left, refused, tiers = k, {}, r.tiers
      for i, t in ipairs(tiers) do
        local kk = math.min(left, t.n)
        t.k, t.winners = kk, ''
        if kk > 0 then
          t.winners = L.draw(t.entrants, seed, r.draw_id .. '#' .. i, kk)
          local rank = 0
          for id in t.winners:gmatch('[^\n]+') do
            rank = rank + 1
            local mid = math.tointeger(tonumber(id))
            local tries = opts.choices and opts.choices(mid, i) or { {} }
            local e, code, why
            for _j, c in ipairs(tries) do
              local en = { member = mid, kind = kind, at = opts.at, tier = i, key = r.draw_id .. ':' .. mid,
                           draw_rank = rank }
              for f, v in pairs(c) do en[f] = v end
              e, code, why = self:enter(en)
              if e or code == 'not_eligible' or code == 'already' or code == 'duplicate' then break end
            end
            if not e then
              refused[#refused + 1] = { member_id = mid, code = code, why = why, tier = i, rank = rank,
                                        choices = opts.choices and tries or nil }
            end
          end
        end
        left = left - kk
      end
      db.program_draws:update(r.draw_id, { seed = seed, k = k, tiers = tiers, drawn_at = opts.at or dates.now(),
                                           refused = #refused > 0 and refused or db.null, run = run.uid })
      bus.publish('program.draw.drawn', { draw = r.draw_id, k = k, seed = seed })
      return db.program_draws:get(r.draw_id)
    end)
  end

  -- Recomputes every tier's draw from the published data (pub: a copy someone
  -- holds: { seed =, seed_commitment =, tiers = { { entrants =, list_commitment =, winners = } } })
  -- and checks that the ledger's entries of the kind are exactly the winners.
  function P:verify_draw(kind, pub)
    define()
    local r = db.program_draws:get(self.id .. ':' .. kind)
    if not r or not r.drawn_at then return false, "'" .. self.id .. ':' .. kind .. "' is not drawn yet" end
    pub = pub or {}
    local want = {}
    for i, t in ipairs(r.tiers) do
      local p = (pub.tiers or {})[i] or {}
      if t.k > 0 then
        local ok, err = pcall(lottery().verify, p.entrants or t.entrants, pub.seed or r.seed,
                              pub.seed_commitment or r.seed_commitment, p.list_commitment or t.list_commitment,
                              r.draw_id .. '#' .. i, t.k, p.winners or t.winners)
        if not ok then return false, gettext('tier ') .. i .. ' (' .. t.name .. '): ' .. (tostring(err):gsub('^lottery%.verify: ', '')) end
      end
      for id in t.winners:gmatch('[^\n]+') do want[math.tointeger(tonumber(id))] = true end
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
          return false, string.format(gettext('member %d has entry %d but is not a winner'), e.member_id, e.entry_id)
        end
        n = n + 1
      end
    end
    local w = 0
    for _i in pairs(want) do w = w + 1 end
    if n ~= w then return false, string.format(gettext('%d winners but %d entries'), w, n) end
    return true
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
        return nil, 'none', string.format(gettext("'%s:%s' is not drawn yet"), self.id, kind)
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
