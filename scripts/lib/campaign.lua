-- campaign.lua — what every distribution program needs: a campaign with a
-- date window, who is eligible, items with stock, awards issued at most once,
-- an event per award, and a report against stock.
--
--   local campaign = require 'campaign'
--   local c = campaign.define{
--     id = 'spring-2025', title = '2025年春节送温暖', starts = '2025-01-10', ends = '2025-02-12',
--     where    = { category = { 'courier', 'sanitation' }, status = 'active' },  -- members, as in scan
--     eligible = function(m) return m.birth_date >= '1960-01-01', 'too old' end,  -- optional rule
--     items = {
--       { item = 'gift-package', title = '慰问礼包', value_fen = 20000, stock = 500 },
--       { item = 'souvenir', title = '纪念品', stock = { ['ST01'] = 300, ['ST02'] = 700 } },
--       -- an item may have its own days and its own conditions, on top of the campaign's:
--       { item = 'laba-porridge', title = '腊八粥', starts = '2025-01-07', ends = '2025-01-07',
--         where = { category = 'sanitation' }, eligible = function(m) ... end, stock = 300 },
--     },
--   }
--   local award, code, why = c:issue(member_id, 'gift-package')     -- from the whole-campaign stock
--   local award, code, why = c:issue(member_id, 'souvenir', { pool = 'ST01' })
--   c:claim('330481199001081234', 'souvenir', { pool = 'ST01' })      -- by ID number
--   c:issue_all('gift-package')          -- every eligible member, in batches; safe to re-run
--   local rep = c:report{ by = 'town' }   -- stock/issued/remaining per item and pool; 人次/人/户次
--   print(campaign.format_report(rep))
--
-- Guarantees, all kept by the database rather than by the script's care:
--   * at most one award per (campaign, member, item): a unique index on
--     campaign_awards, so re-running a program never issues twice;
--   * stock never goes negative: the check and the decrement happen in one
--     db.atomic, and gonghui lets one writer at a time in, so two processes
--     claiming from the same stock at once cannot both take the last unit;
--   * every award publishes 'award.issued' in the same transaction: no award
--     without its event, no event without its award.
--
-- A refusal (not eligible, already issued, out of stock, outside the date
-- window) is not an error: issue() returns nil, a code and a message, so a
-- counter clerk's loop goes on. Misuse (an unknown item or campaign, bad
-- arguments) raises an error.
--
-- Counting units (计数单位): 人次 person-times = awards (one member receiving
-- two items counts twice); 人 = distinct members; 户次 household-times = for
-- each item, the distinct households that received it, summed over items
-- (members.household; a member without one is a household of one).
local dates = require 'dates'
local registry = require 'registry'

local M = {}
local C = {}
C.__index = C

M.REFUSALS = {
  not_found    = 'no such member',
  not_eligible = 'not eligible',
  already      = 'already issued',
  out_of_stock = 'out of stock',
  no_stock     = 'no stock of this item at this pool',
  closed       = 'outside the campaign dates',
}

function M.define_collections()
  registry.define_members()
  db.define('campaigns', {
    key    = 'campaign_id',
    fields = { campaign_id = 'string', title = 'string', starts = 'date', ends = 'date',
               union_id = 'int?', note = 'string?' },
  })
  -- One row per (campaign, item, pool): pool '' is the campaign-wide stock,
  -- any other pool is a place's quota (a station, a town).
  db.define('campaign_stock', {
    key    = 'stock_id', auto = true,
    fields = { stock_id = 'int', campaign = 'string', item = 'string', pool = 'string',
               title = 'string?', value_fen = 'fen?', stock = 'int', issued = 'int' },
    unique = { { 'campaign', 'item', 'pool' } },
  })
  db.define('campaign_awards', {
    key    = 'award_id', auto = true,
    fields = { award_id = 'int', campaign = 'string', member_id = 'int', item = 'string',
               pool = 'string', qty = 'int', value_fen = 'fen', at = 'string',
               household = 'string', run = 'string?', note = 'string?', extra = 'any?' },
    unique = { { 'campaign', 'member_id', 'item' } },
    index  = { { 'campaign', 'item', 'pool' }, { 'campaign', 'pool' }, 'member_id' },
  })
end

local function check_string(v, what)
  if type(v) ~= 'string' or v == '' then
    error(gettext('campaign: ') .. what .. ' must be a non-empty string, got ' .. tostring(v), 3)
  end
end

-- Sets the stock of (campaign, item, pool) to n; refuses less than issued.
local function set_stock(cid, item, pool, n, title, value_fen)
  if math.type(n) ~= 'integer' or n < 0 then
    error(string.format(gettext("campaign '%s': the stock of '%s' must be a whole number >= 0, got %s"),
                        cid, item, tostring(n)), 3)
  end
  local row = db.campaign_stock:find('campaign,item,pool', { cid, item, pool })
  if not row then
    db.campaign_stock:insert{ campaign = cid, item = item, pool = pool, stock = n, issued = 0,
                              title = title, value_fen = value_fen }
  elseif row.stock ~= n or row.title ~= title or row.value_fen ~= value_fen then
    if n < row.issued then
      error(string.format(gettext("campaign '%s': cannot set the stock of '%s'%s to %d: %d already issued"),
                          cid, item, pool ~= '' and (' at ' .. pool) or '', n, row.issued), 3)
    end
    db.campaign_stock:update(row.stock_id, { stock = n, title = title or db.null,
                                             value_fen = value_fen or db.null })
  end
end

-- Defines (or re-opens) a campaign. Safe to run again: the campaign record
-- and the stock are set to what spec says (a stock below what was already
-- issued is refused); awards are never touched.
function M.define(spec)
  M.define_collections()
  check_string(spec.id, 'id')
  check_string(spec.title, 'title')
  dates.parse(spec.starts)
  dates.parse(spec.ends)
  if spec.ends < spec.starts then
    error(gettext("campaign '") .. spec.id .. "': ends (" .. spec.ends .. ') is before starts (' .. spec.starts .. ')', 2)
  end
  if spec.eligible ~= nil and type(spec.eligible) ~= 'function' then
    error(gettext("campaign '") .. spec.id .. "': eligible must be a function(member) -> true|false[, reason]", 2)
  end
  if spec.where ~= nil and type(spec.where) ~= 'table' then
    error(gettext("campaign '") .. spec.id .. "': where must be a table of member conditions, as in scan{...}", 2)
  end
  local self = setmetatable({ id = spec.id, title = spec.title, starts = spec.starts,
                              ends = spec.ends, where = spec.where or {},
                              rule = spec.eligible, items = {} }, C)
  db.atomic(function()
    local rec = { campaign_id = spec.id, title = spec.title, starts = spec.starts,
                  ends = spec.ends, union_id = spec.union_id, note = spec.note }
    local old = db.campaigns:get(spec.id)
    local same = old ~= nil
    for k, v in pairs(rec) do if old and old[k] ~= v then same = false end end
    if old then for k in pairs(old) do if rec[k] == nil then same = false end end end
    if not same then db.campaigns:put(rec) end
    for _, it in ipairs(spec.items or {}) do
      check_string(it.item, 'an item name')
      if it.starts ~= nil or it.ends ~= nil then
        local a, b = it.starts or spec.starts, it.ends or spec.ends
        dates.parse(a)
        dates.parse(b)
        if b < a or a < spec.starts or b > spec.ends then
          error(string.format(gettext("campaign '%s': item '%s' runs %s .. %s, which is not within the ")
                              .. 'campaign (%s .. %s)', spec.id, it.item, a, b, spec.starts, spec.ends), 3)
        end
      end
      if it.where ~= nil and type(it.where) ~= 'table' then
        error(gettext("campaign '") .. spec.id .. "': item '" .. it.item .. "': where must be a table of member conditions", 3)
      end
      if it.eligible ~= nil and type(it.eligible) ~= 'function' then
        error(gettext("campaign '") .. spec.id .. "': item '" .. it.item .. "': eligible must be a function(member)", 3)
      end
      self.items[it.item] = { title = it.title, value_fen = it.value_fen or 0, starts = it.starts,
                              ends = it.ends, where = it.where, rule = it.eligible }
      if type(it.stock) == 'table' then
        local pools = {}
        for pool in pairs(it.stock) do pools[#pools + 1] = pool end
        table.sort(pools)
        for _, pool in ipairs(pools) do
          check_string(pool, 'a pool name')
          set_stock(spec.id, it.item, pool, it.stock[pool], it.title, it.value_fen)
        end
      elseif it.stock ~= nil then
        set_stock(spec.id, it.item, '', it.stock, it.title, it.value_fen)
      end
    end
  end)
  return self
end

function C:set_stock(item, pool, n)
  local it = self.items[item]
  if not it then error(gettext("campaign '") .. self.id .. "' has no item '" .. tostring(item) .. "'", 2) end
  db.atomic(set_stock, self.id, item, pool or '', n, it.title, it.value_fen)
end

-- Does one member record meet a scan condition table? (Same forms as scan:
-- value, list of values, {from=, to=}.)
local function meets(m, where)
  for field, want in pairs(where) do
    local v = m[field]
    if type(want) == 'table' then
      if want.from ~= nil or want.to ~= nil then
        if v == nil or (want.from ~= nil and v < want.from) or (want.to ~= nil and v > want.to) then
          return false, field
        end
      else
        local found = false
        for _, w in ipairs(want) do if v == w then found = true; break end end
        if not found then return false, field end
      end
    elseif v ~= want then
      return false, field
    end
  end
  return true
end

-- true, or false and a reason. With item, that item's own conditions too.
function C:is_eligible(m, item)
  local ok, field = meets(m, self.where)
  if not ok then return false, field .. ' = ' .. tostring(m[field]) end
  if self.rule then
    local yes, why = self.rule(m)
    if not yes then return false, why or 'the campaign rule says no' end
  end
  local it = item and self.items[item]
  if it and it.where then
    ok, field = meets(m, it.where)
    if not ok then return false, item .. ': ' .. field .. ' = ' .. tostring(m[field]) end
  end
  if it and it.rule then
    local yes, why = it.rule(m)
    if not yes then return false, item .. ': ' .. (why or "the item's rule says no") end
  end
  return true
end

local function refuse(code, detail)
  return nil, code, M.REFUSALS[code] .. (detail and (': ' .. detail) or '')
end

-- The work of issue(), inside a transaction. m is a member table or row.
local function issue_txn(self, m, item, opts)
  local at = opts.at or dates.now()
  local day = at:sub(1, 10)
  if day < self.starts or day > self.ends then
    return refuse('closed', string.format(gettext('%s is not within %s .. %s'), day, self.starts, self.ends))
  end
  local it = self.items[item]
  if it.starts or it.ends then
    local a, b = it.starts or self.starts, it.ends or self.ends
    if day < a or day > b then
      return refuse('closed', string.format(gettext('%s: %s is not within %s'), item, day,
                                            a == b and a or (a .. ' .. ' .. b)))
    end
  end
  local yes, why = self:is_eligible(m, item)
  if not yes then return refuse('not_eligible', why) end
  local pool = opts.pool or ''
  local prior = db.campaign_awards:find('campaign,member_id,item', { self.id, m.member_id, item })
  if prior then
    return refuse('already', string.format(gettext('award %d at %s%s'), prior.award_id, prior.at,
                                           prior.pool ~= '' and (', ' .. prior.pool) or ''))
  end
  local st = db.campaign_stock:find('campaign,item,pool', { self.id, item, pool })
  if not st then return refuse('no_stock', item .. (pool ~= '' and (' at ' .. pool) or '')) end
  local qty = opts.qty or 1
  if st.issued + qty > st.stock then
    return refuse('out_of_stock', string.format(gettext('%s%s: %d of %d issued'), item,
                  pool ~= '' and (' at ' .. pool) or '', st.issued, st.stock))
  end
  db.campaign_stock:update(st.stock_id, { issued = st.issued + qty })
  local a = {
    campaign = self.id, member_id = m.member_id, item = item, pool = pool, qty = qty,
    value_fen = (opts.value_fen or st.value_fen or 0) * qty, at = at,
    household = m.household or ('m' .. m.member_id), run = run.uid,
    note = opts.note, extra = opts.extra,
  }
  a.award_id = db.campaign_awards:insert(a)
  bus.publish('award.issued', {
    award_id = a.award_id, campaign = self.id, member_id = a.member_id, item = item,
    pool = pool, qty = qty, value_fen = a.value_fen, at = at,
  })
  return a
end

local function check_item(self, item)
  if self.items[item] == nil then
    local names = {}
    for k in pairs(self.items) do names[#names + 1] = k end
    table.sort(names)
    error(string.format(gettext("campaign '%s' has no item '%s' (its items: %s)"), self.id,
                        tostring(item), table.concat(names, ', ')), 3)
  end
end

-- Issues item to a member (a member_id, or a member record). opts: pool
-- (default '' = the campaign-wide stock), qty (1), at ('YYYY-MM-DD HH:MM:SS',
-- default now), value_fen, note, extra (any table, kept with the award).
-- Returns the award, or nil, code, message (see M.REFUSALS).
function C:issue(member, item, opts)
  check_item(self, item)
  opts = opts or {}
  return db.atomic(function()
    local m = member
    if type(member) == 'number' then
      m = db.members:get(member)
      if not m then return refuse('not_found', 'member_id ' .. member) end
    end
    return issue_txn(self, m, item, opts)
  end)
end

-- The same, the member found by ID number (a claim at a counter).
function C:claim(id_number, item, opts)
  check_item(self, item)
  opts = opts or {}
  if type(id_number) ~= 'string' then
    error(gettext('claim: expects an ID number as a string, got ') .. tostring(id_number), 2)
  end
  id_number = id_number:upper()
  return db.atomic(function()
    local m = db.members:find('id_number', id_number)
    if not m then return refuse('not_found', 'ID number ' .. pii.mask(id_number, 'id')) end
    return issue_txn(self, m, item, opts)
  end)
end

-- Issues item to every eligible member (members matching `where`, then the
-- rule), batch members per transaction (default 500). Safe to re-run: those
-- who have it are counted as `already`. Returns counts by outcome:
-- { issued =, already =, not_eligible =, out_of_stock =, ... }.
function C:issue_all(item, opts)
  check_item(self, item)
  opts = opts or {}
  local batch = opts.batch or 500
  local ids = {}
  for m in db.members:scan(self.where) do ids[#ids + 1] = m.member_id end
  local counts = { issued = 0 }
  local i = 1
  while i <= #ids do
    db.atomic(function()
      for j = i, math.min(i + batch - 1, #ids) do
        local m = db.members:get(ids[j])
        local a, code = issue_txn(self, m, item, opts)
        local k = a and 'issued' or code
        counts[k] = (counts[k] or 0) + 1
      end
    end)
    i = i + batch
  end
  return counts
end

-- The awards of this campaign, as a list of tables (optionally of one item).
function C:awards(item)
  if item then
    return db.campaign_awards:list{ index = 'campaign,item,pool', eq = { self.id, item } }
  end
  return db.campaign_awards:list{ index = 'campaign,item,pool', eq = { self.id } }
end

-- The report: per (item, pool) stock, issued, remaining; per item and in all
-- 人次, 人, 户次 and value; with opts.by = 'town' (any member field) the
-- awards per value of that field. Also checks that every stock row's issued
-- count equals its awards (ok = false and problems listed if not).
function C:report(opts)
  opts = opts or {}
  local rep = { campaign = self.id, title = self.title, starts = self.starts, ends = self.ends,
                stock = {}, items = {}, total = {}, problems = {} }
  local counted = {}          -- item .. '\0' .. pool -> qty from the awards
  local persons, households = {}, {}
  local by = opts.by and {} or nil
  local total = { person_times = 0, value_fen = 0, qty = 0 }
  local per_item = {}
  for a in db.campaign_awards:scan{ index = 'campaign,item,pool', eq = { self.id } } do
    local k = a.item .. '\0' .. a.pool
    counted[k] = (counted[k] or 0) + a.qty
    local it = per_item[a.item]
    if not it then
      it = { person_times = 0, qty = 0, value_fen = 0, hh = {}, households = 0 }
      per_item[a.item] = it
    end
    it.person_times = it.person_times + 1
    it.qty = it.qty + a.qty
    it.value_fen = it.value_fen + a.value_fen
    if not it.hh[a.household] then it.hh[a.household] = true; it.households = it.households + 1 end
    persons[a.member_id] = true
    households[a.household] = true
    total.person_times = total.person_times + 1
    total.qty = total.qty + a.qty
    total.value_fen = total.value_fen + a.value_fen
    if by then
      local v = db.members:get(a.member_id, opts.by)
      v = v == nil and '' or tostring(v)
      local g = by[v] or { person_times = 0, persons = {}, n_persons = 0 }
      by[v] = g
      g.person_times = g.person_times + 1
      if not g.persons[a.member_id] then g.persons[a.member_id] = true; g.n_persons = g.n_persons + 1 end
    end
  end
  for s in db.campaign_stock:scan{ index = 'campaign,item,pool', eq = { self.id } } do
    local k = s.item .. '\0' .. s.pool
    local row = { item = s.item, pool = s.pool, title = s.title, stock = s.stock,
                  issued = s.issued, remaining = s.stock - s.issued }
    rep.stock[#rep.stock + 1] = row
    if (counted[k] or 0) ~= s.issued then
      rep.problems[#rep.problems + 1] = string.format(gettext('%s at %s: the stock says %d issued, the awards %d'),
        s.item, s.pool == '' and '(campaign)' or s.pool, s.issued, counted[k] or 0)
    end
    if row.remaining < 0 then
      rep.problems[#rep.problems + 1] = string.format(gettext('%s at %s: remaining is negative (%d)'),
        s.item, s.pool, row.remaining)
    end
    counted[k] = nil
  end
  for k, n in pairs(counted) do
    rep.problems[#rep.problems + 1] = string.format(gettext('%d awarded with no stock row: %s'), n, (k:gsub('%z', ' at ')))
  end
  table.sort(rep.problems)
  local n_persons, n_hh = 0, 0
  for _ in pairs(persons) do n_persons = n_persons + 1 end
  for _ in pairs(households) do n_hh = n_hh + 1 end
  local hh_times = 0
  local names = {}
  for item in pairs(per_item) do names[#names + 1] = item end
  table.sort(names)
  for _, item in ipairs(names) do
    local it = per_item[item]
    hh_times = hh_times + it.households
    rep.items[#rep.items + 1] = { item = item, person_times = it.person_times, qty = it.qty,
                                  household_times = it.households, value_fen = it.value_fen }
  end
  rep.total = { person_times = total.person_times, persons = n_persons,
                household_times = hh_times, households = n_hh,
                qty = total.qty, value_fen = total.value_fen }
  if by then
    rep.by_field = opts.by
    rep.by = {}
    local keys = {}
    for v in pairs(by) do keys[#keys + 1] = v end
    table.sort(keys)
    for _, v in ipairs(keys) do
      rep.by[#rep.by + 1] = { value = v, person_times = by[v].person_times, persons = by[v].n_persons }
    end
  end
  rep.ok = #rep.problems == 0
  return rep
end

-- The report as text for a clerk.
function M.format_report(rep)
  local fmt = require 'fmt'
  local out = {}
  out[#out + 1] = string.format('%s (%s), %s .. %s', rep.title, rep.campaign, rep.starts, rep.ends)
  out[#out + 1] = ''
  local rows = {}
  local st, is, re = 0, 0, 0
  for _, s in ipairs(rep.stock) do
    rows[#rows + 1] = { s.title or s.item, s.pool == '' and '(all)' or s.pool, s.stock, s.issued, s.remaining }
    st, is, re = st + s.stock, is + s.issued, re + s.remaining
  end
  rows[#rows + 1] = { 'total', '', st, is, re }
  out[#out + 1] = fmt.table({ 'item', 'pool', 'stock', 'issued', 'remaining' }, rows,
                            { right = { 3, 4, 5 } })
  out[#out + 1] = ''
  local t = rep.total
  out[#out + 1] = string.format(gettext('issued: %d 人次 to %d 人 (%d 户次, %d households); value %s yuan'),
                                t.person_times, t.persons, t.household_times, t.households,
                                fmt.yuan(t.value_fen))
  if rep.by then
    out[#out + 1] = ''
    local r2 = {}
    for _, g in ipairs(rep.by) do r2[#r2 + 1] = { g.value, g.person_times, g.persons } end
    out[#out + 1] = fmt.table({ rep.by_field, '人次', '人' }, r2, { right = { 2, 3 } })
  end
  if not rep.ok then
    out[#out + 1] = ''
    out[#out + 1] = 'PROBLEMS (the stock and the awards disagree):'
    for _, p in ipairs(rep.problems) do out[#out + 1] = '  ' .. p end
  end
  return table.concat(out, '\n')
end

-- Opens a defined campaign by id without redefining it (for reports and
-- verification scripts). Items come from its stock rows; no rule.
function M.open(id)
  M.define_collections()
  local c = db.campaigns:get(id)
  if not c then error(gettext("no campaign '") .. tostring(id) .. "'", 2) end
  local self = setmetatable({ id = id, title = c.title, starts = c.starts, ends = c.ends,
                              where = {}, items = {} }, C)
  for s in db.campaign_stock:scan{ index = 'campaign,item,pool', eq = { id } } do
    self.items[s.item] = { title = s.title, value_fen = s.value_fen or 0 }
  end
  return self
end

return M
