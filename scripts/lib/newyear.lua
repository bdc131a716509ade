-- newyear.lua — the New-Year daily-benefit campaign (新春每日惠): a benefit
-- every day from New Year's Day to the last day of the first lunar month,
-- on the program framework (program.lua): the year's plan (scripts/newyear/
-- plan.lua) becomes a framework plan whose kinds and limits carry every cap,
-- every benefit is a ledger entry (one program.entry event each, counted by
-- the year report), and the draws are the framework's (program/draw.lua).
-- The program's scripts are in scripts/newyear/; this module is their shared
-- part, here in scripts/lib so the tests can require it too.
--
--   local newyear = require 'newyear'
--   newyear.window(2026)              --> '2026-01-01', '2026-03-18' (cal plugin)
--   newyear.day(2026, 'laba')         --> '2026-01-26'
--   local ny = newyear.define(plan)   -- the program (safe to re-run; a change after the first
--                                     -- entry needs version = N, changes = { [N] = why })
--   ny:claim(id_or_member, 'laba-porridge', { pool = 'ST01' })   --> entry | nil, code, why
--   ny:subsidy(member, ticket_fen, { ticket = 'G1234' })          -- capped per ticket, once a member
--   ny:discount(member, bill_fen, { merchant = '...' })           -- capped per use, member, day
--   ny:answer(member, 'q1', 'B')                                  -- quiz answers
--   ny:commit('red-envelope', seed_commitment)    -- optional: a notary's seed, before the list closes
--   ny:publish('red-envelope', { public = SOURCE, after = 'YYYY-MM-DD HH:MM' })
--                                                 -- entrants + list commitment fixed, the public value named
--   ny:draw('red-envelope', { public = VALUE [, seed = SEED] })
--                                                 -- winners entered in the ledger, one transaction
--   ny:verify('red-envelope' [, published])       --> true | false, why
--   ny:draw_of('red-envelope')                    --> the draw (prize, entrants, winners, ...)
--   ny:stock(item [, pool_or_day])                --> { stock, issued }
--   ny:report()                                   -- the report + caps checked
--
-- Benefits and their limits (each a kind of the framework plan):
--   * day benefits (plan.days): an item on one named day (元旦, 腊八, 除夕,
--     春节, 元宵, or any date / lunar day in the window), stock for the
--     campaign or quotas per station (places), once per member;
--   * red envelopes (plan.red_envelopes): drawn from the eligible members;
--     movie tickets (plan.quiz): drawn from the members with at least
--     min_correct right quiz answers. Both: the entrant list and its
--     commitment with a public value named, then the draw with that value
--     once known (program/draw.lua: the lottery prize is 'PROGRAM:ITEM#1');
--     anyone can verify it from the published data; k = min(count,
--     entrants); each member wins at most once;
--   * duty gifts (plan.duty_gift): gig workers who claim at a station
--     during the holiday (default 除夕 .. 正月初七);
--   * return-to-work ticket subsidies (plan.ticket_subsidy): one claim per
--     member, min(ticket, cap_fen) (a clipping limit per entry), out of
--     budget_fen (a limit on the kind);
--   * benefit-code discounts (plan.discount): once a day per member,
--     bill × rate_percent / 100 (rounded down to the fen), at most per_use_fen,
--     at most what is left of per_member_fen, out of daily_budget_fen: four
--     limits of the kind.
-- Quiz answers are this program's own records (newyear_quiz, event newyear.answer).
local program = require 'program'
local registry = require 'registry'
local dates = require 'dates'
local fmt = require 'fmt'

local M = {}
local N = {}
N.__index = N

local function cal() return plugin.load 'cal' end

function M.define_collections()
  program.define_collections()
  db.define('newyear_quiz', {
    key    = 'answer_id', auto = true,
    fields = { answer_id = 'int', campaign = 'string', member_id = 'int', question = 'string',
               answer = 'string', correct = 'bool', at = 'string' },
    unique = { { 'campaign', 'member_id', 'question' } },
  })
end

-- The window of year: New Year's Day to the last day of 正月.
function M.window(year)
  if math.type(year) ~= 'integer' then error(gettext('newyear: the year must be a whole number, got ') .. tostring(year), 2) end
  return string.format('%04d-01-01', year), cal().first_month_end(year)
end

-- A day of the plan: 'YYYY-MM-DD', or a name: new_year (元旦), laba (腊八),
-- xiaonian (小年: 腊月 xiaonian_day, default 23 = 廿三), eve (除夕),
-- spring_festival (春节), lantern (元宵), first_month_end, or 'lunar:M-D'
-- (M = 12: 腊月 before the Spring Festival; M = 1: 正月).
--
-- 小年 is 腊月廿三 in the north (and in most calendars), 廿四 in much of the
-- south (Zhejiang, Jiangsu, Shanghai; 海宁 keeps 廿四), 廿五 in parts of it:
-- a plan says which with `xiaonian = 24` (23, 24 or 25; default 23).
M.XIAONIAN = 23
function M.day(year, name, xiaonian_day)
  local c = cal()
  if type(name) ~= 'string' then error(gettext('newyear: a day must be a string, got ') .. tostring(name), 2) end
  if name:match('^%d%d%d%d%-%d%d%-%d%d$') then dates.parse(name) return name end
  if name == 'new_year' then return string.format('%04d-01-01', year) end
  if name == 'laba' then return c.laba(year) end
  if name == 'xiaonian' then return c.from_lunar(year - 1, 12, xiaonian_day or M.XIAONIAN, false) end
  if name == 'eve' then return dates.add_days(c.spring_festival(year), -1) end
  if name == 'spring_festival' then return c.spring_festival(year) end
  if name == 'lantern' then return c.from_lunar(year, 1, 15, false) end
  if name == 'first_month_end' then return c.first_month_end(year) end
  local lm, ld = name:match('^lunar:(%d+)%-(%d+)$')
  if lm == '12' then return c.from_lunar(year - 1, 12, tonumber(ld), false) end
  if lm == '1' then return c.from_lunar(year, 1, tonumber(ld), false) end
  error(gettext('newyear: ') .. string.format(gettext("unknown day '%s' (a date YYYY-MM-DD, new_year, laba, xiaonian, "
        .. 'eve, spring_festival, lantern, first_month_end, lunar:12-D or lunar:1-D)'), name), 2)
end

local function need(v, what, kind)
  if kind == 'int' and (math.type(v) ~= 'integer' or v < 0) then
    error(gettext('newyear plan: ') .. string.format(gettext('%s must be a whole number >= 0, got %s'), what, tostring(v)), 3)
  elseif kind == 'string' and (type(v) ~= 'string' or v == '') then
    error(gettext('newyear plan: ') .. string.format(gettext('%s must be a non-empty string, got %s'), what, tostring(v)), 3)
  end
  return v
end

-- Defines (or re-opens) the program of a plan (see scripts/newyear/plan.lua).
function M.define(plan)
  registry.define_all()   -- (the stations are read below; nothing else is stored before the checks)
  need(plan.id, 'id', 'string')
  local xn = plan.xiaonian
  if xn ~= nil and xn ~= 23 and xn ~= 24 and xn ~= 25 then
    error(gettext('newyear plan: xiaonian (小年) must be 23 (腊月廿三, the north), 24 (廿四, Zhejiang and much ')
          .. 'of the south) or 25, got ' .. tostring(xn), 2)
  end
  local function day_of(y, name) return M.day(y, name, xn) end
  local year = plan.year
  local starts, ends = M.window(year)
  local self = setmetatable({ plan = plan, id = plan.id, year = year, starts = starts, ends = ends,
                              days = {}, draws = {}, money = {} }, N)
  local kinds, limits = {}, {}
  local function in_window(what, d)
    if d < starts or d > ends then
      error(string.format(gettext('newyear plan: %s of %d is %s, outside the window %s .. %s (元旦 to the ')
                          .. 'end of 正月)', what, year, d, starts, ends), 3)
    end
    return d
  end
  for i, d in ipairs(plan.days or {}) do
    need(d.item, 'days[' .. i .. '].item', 'string')
    local day = in_window("day '" .. tostring(d.day) .. "' of " .. d.item, day_of(year, d.day))
    if d.quotas then
      for st, n in pairs(d.quotas) do
        if not db.stations:get(st, 'station_id') then
          error(gettext('newyear plan: ') .. string.format(gettext("'%s' has a quota at station '%s', which is not in "
                .. 'the stations collection'), d.item, tostring(st)), 2)
        end
        need(n, d.item .. ' quota at ' .. st, 'int')
      end
    else
      need(d.stock, d.item .. '.stock', 'int')
    end
    kinds[#kinds + 1] = { kind = d.item, title = d.title, value_fen = d.value_fen, where = d.where,
                          window = { from = day, to = day }, stock = not d.quotas and d.stock or nil,
                          places = d.quotas }
    self.days[#self.days + 1] = { day = day, name = d.day, item = d.item, title = d.title }
  end
  local r = plan.red_envelopes
  if r then
    need(r.count, 'red_envelopes.count', 'int')
    local item = r.item or 'red-envelope'
    kinds[#kinds + 1] = { kind = item, title = r.title, value_fen = r.value_fen, where = r.where,
                          stock = r.count }
    self.draws[item] = { kind = 'red', count = r.count }
  end
  local q = plan.quiz
  if q then
    need(q.count, 'quiz.count', 'int')
    self.questions = {}
    for i, x in ipairs(q.questions or {}) do
      need(x.id, 'quiz.questions[' .. i .. '].id', 'string')
      need(x.answer, 'quiz.questions[' .. i .. '].answer', 'string')
      self.questions[x.id] = x
    end
    self.min_correct = q.min_correct or #(q.questions or {})
    local item = q.item or 'movie-ticket'
    kinds[#kinds + 1] = { kind = item, title = q.title, value_fen = q.value_fen, stock = q.count }
    self.draws[item] = { kind = 'quiz', count = q.count }
  end
  local g = plan.duty_gift
  if g then
    need(g.count, 'duty_gift.count', 'int')
    local a = in_window('duty_gift.from', day_of(year, g.from or 'eve'))
    local b = in_window('duty_gift.to', day_of(year, g.to or 'lunar:1-7'))
    kinds[#kinds + 1] = { kind = g.item or 'duty-gift', title = g.title, value_fen = g.value_fen,
                          window = { from = a, to = b }, where = g.where, stock = g.count }
  end
  local t = plan.ticket_subsidy
  if t then
    need(t.budget_fen, 'ticket_subsidy.budget_fen', 'int')
    need(t.cap_fen, 'ticket_subsidy.cap_fen', 'int')
    local a = in_window('ticket_subsidy.from', day_of(year, t.from or 'spring_festival'))
    local b = in_window('ticket_subsidy.to', day_of(year, t.to or 'first_month_end'))
    local item = t.item or 'ticket-subsidy'
    self.subsidy_item, self.money[item] = item, t.budget_fen
    kinds[#kinds + 1] = { kind = item, title = t.title, unit = 'fen', window = { from = a, to = b },
                          where = t.where }
    limits[#limits + 1] = { per = 'entry', kind = item, max_fen = t.cap_fen, clip = true, name = 'cap:' .. item }
    limits[#limits + 1] = { per = {}, kind = item, max_fen = t.budget_fen, code = 'out_of_stock',
                            name = 'budget:' .. item }
  end
  local dc = plan.discount
  if dc then
    for _, k in ipairs { 'rate_percent', 'per_use_fen', 'per_member_fen', 'daily_budget_fen' } do
      need(dc[k], 'discount.' .. k, 'int')
    end
    if dc.rate_percent > 100 then error(gettext('newyear plan: discount.rate_percent is over 100'), 2) end
    local item = dc.item or 'code-discount'
    self.discount_item, self.money[item] = item, dc.daily_budget_fen
    kinds[#kinds + 1] = { kind = item, title = dc.title, unit = 'fen' }
    limits[#limits + 1] = { per = { 'member', 'day' }, kind = item, max_count = 1, code = 'already',
                            name = 'daily:' .. item }
    limits[#limits + 1] = { per = 'entry', kind = item, max_fen = dc.per_use_fen, clip = true, name = 'use:' .. item }
    limits[#limits + 1] = { per = 'member', kind = item, max_fen = dc.per_member_fen, clip = true,
                            code = 'cap_reached', name = 'member:' .. item }
    limits[#limits + 1] = { per = 'day', kind = item, max_fen = dc.daily_budget_fen, code = 'out_of_stock',
                            name = 'day:' .. item }
  end
  -- once per member (and asked before any stock: 'already' says more than 'none left')
  for i, k in ipairs(kinds) do
    if k.kind ~= self.discount_item then
      table.insert(limits, i, { per = 'member', kind = k.kind, max_count = 1, code = 'already', name = 'once:' .. k.kind })
    end
  end
  M.define_collections()
  local rule = plan.eligible and function(m) return plan.eligible(m) end or nil
  self.P = program.define({ id = plan.id, title = plan.title, union = plan.union_id, year = year,
                            window = { from = starts, to = ends }, kinds = kinds, limits = limits,
                            who = { where = plan.where or { status = 'active' }, rule = rule },
                            units = { '人', '人次', '户次', 'fen' },
                            version = plan.version, changes = plan.changes },
                          { file = plan.file or 'plan.lua' })
  table.sort(self.days, function(x, y) return x.day < y.day or (x.day == y.day and x.item < y.item) end)
  return self
end

-- The member of a member_id, an ID number, or a member record; nil, code,
-- why: the framework's lookup.
local member_of = program.member
M.member_of = member_of

-- An entry as the scripts show it: award_id is its entry_id.
local function award(e, ...)
  if e then e.award_id = e.entry_id end
  return e, ...
end

-- A day benefit, a duty gift (opts.pool: the station, kept as the entry's place), or any other item.
function N:claim(who, item, opts)
  opts = opts or {}
  local m, code, why = member_of(who)
  if not m then return nil, code, why end
  if self.draws[item] then
    return nil, 'drawn', item .. ' is won in the draw, not claimed'
  end
  if self.money[item] then
    return nil, 'amount', item .. ' needs an amount: subsidy.lua / discount.lua'
  end
  if opts.pool and not db.stations:get(opts.pool, 'station_id') then
    return nil, 'no_station', string.format(gettext('no station %s'), tostring(opts.pool))
  end
  return award(self.P:enter{ member = m, kind = item, place = opts.pool, at = opts.at, note = opts.note })
end

-- A return-to-work ticket subsidy: min(ticket_fen, cap_fen), once per member.
function N:subsidy(who, ticket_fen, opts)
  opts = opts or {}
  if not self.plan.ticket_subsidy then error(gettext('newyear: this plan has no ticket_subsidy'), 2) end
  if math.type(ticket_fen) ~= 'integer' or ticket_fen <= 0 then
    return nil, 'bad_amount', string.format(gettext('the ticket amount must be more than 0 fen, got %s'), tostring(ticket_fen))
  end
  local m, code, why = member_of(who)
  if not m then return nil, code, why end
  return award(self.P:enter{ member = m, kind = self.subsidy_item, fen = ticket_fen, at = opts.at,
                             note = opts.ticket, ticket_fen = ticket_fen })
end

-- What a member has had of the benefit-code discounts (fen).
function N:discount_used(member_id)
  local used = 0
  for e in db.program_entries:scan{ index = 'program,member_id', eq = { self.id, member_id } } do
    if e.kind == self.discount_item then used = used + e.fen end
  end
  return used
end

-- A benefit-code discount on a bill: once a day per member, capped per use,
-- per member (for the campaign) and per day (the day's budget).
function N:discount(who, bill_fen, opts)
  opts = opts or {}
  local dc = self.plan.discount
  if not dc then error(gettext('newyear: this plan has no discount'), 2) end
  if math.type(bill_fen) ~= 'integer' or bill_fen <= 0 then
    return nil, 'bad_amount', string.format(gettext('the bill must be more than 0 fen, got %s'), tostring(bill_fen))
  end
  local m, code, why = member_of(who)
  if not m then return nil, code, why end
  local raw = bill_fen * dc.rate_percent // 100
  if raw <= 0 then return nil, 'bad_amount', gettext('the bill is too small for a discount') end
  return db.atomic(function()
    local left = dc.per_member_fen - self:discount_used(m.member_id)
    local cut = raw > dc.per_use_fen and (left < dc.per_use_fen and 'per_member' or 'per_use')
                or (raw > left and 'per_member') or nil
    return award(self.P:enter{ member = m, kind = self.discount_item, fen = raw, at = opts.at,
                               note = opts.merchant, bill_fen = bill_fen, cut_by = cut })
  end)
end

-- ---- the quiz ------------------------------------------------------------------------------

local function quiz_draw(self)
  for item, d in pairs(self.draws) do
    if d.kind == 'quiz' then return item end
  end
end

local function norm(s) return (tostring(s):gsub('^%s+', ''):gsub('%s+$', ''):upper()) end

-- Records a member's answer to a question (the first answer counts).
-- Returns the record, or nil, code, why.
function N:answer(who, question, answer, opts)
  opts = opts or {}
  if not self.questions then error(gettext('newyear: this plan has no quiz'), 2) end
  local q = self.questions[question]
  if not q then
    local ids = {}
    for k in pairs(self.questions) do ids[#ids + 1] = k end
    table.sort(ids)
    return nil, 'no_question', string.format(gettext("no question '%s' (the questions: %s)"), tostring(question),
                                             table.concat(ids, ', '))
  end
  local m, code, why = member_of(who)
  if not m then return nil, code, why end
  local at = opts.at or dates.now()
  if at:sub(1, 10) < self.starts or at:sub(1, 10) > self.ends then
    return nil, 'closed', string.format(gettext('outside the campaign dates: %s is not within %s .. %s'),
                                        at:sub(1, 10), self.starts, self.ends)
  end
  return db.atomic(function()
    local d = self.P:draw_row(quiz_draw(self))
    if d.published_at then
      return nil, 'closed', string.format(gettext('the quiz closed when its entrant list was published (%s)'), d.published_at)
    end
    local prior = db.newyear_quiz:find('campaign,member_id,question', { self.id, m.member_id, question })
    if prior then
      return nil, 'already', string.format(gettext('member %d answered %s on %s'), m.member_id, question, prior.at)
    end
    local rec = { campaign = self.id, member_id = m.member_id, question = question,
                  answer = norm(answer), correct = norm(answer) == norm(q.answer), at = at }
    rec.answer_id = db.newyear_quiz:insert(rec)
    bus.publish('newyear.answer', { campaign = self.id, member_id = m.member_id, question = question,
                                    correct = rec.correct, at = at })
    return rec
  end)
end

-- ---- the draws (program/draw.lua) ---------------------------------------------------------

-- Calls the framework's draw function f: what it refuses on purpose (a
-- draw's rules) becomes a refusal of this program ('newyear: ...', which
-- M.refusing shows as a refusal line); a Lua error of a bug keeps its traceback.
local function framework(f, ...)
  local r = table.pack(pcall(f, ...))
  if r[1] then return table.unpack(r, 2, r.n) end
  local m = tostring(r[2])
  if m:find('attempt to ', 1, true) or m:find('\n', 1, true) then error(r[2], 0) end
  error(gettext('newyear: ') .. m:gsub('^[^\n]-:%d+: ', ''), 3)
end

-- The draw of item as the scripts show it: the framework's row, its one tier flattened.
local function view(self, item, r)
  local t = (r.tiers or {})[1] or {}
  return { draw_id = r.draw_id, prize = r.draw_id .. '#1', item = item, count = self.draws[item].count,
           seed_commitment = r.seed_commitment, committed_at = r.committed_at, commitments = r.commitments,
           published_at = r.closed_at, closed_at = r.closed_at, public_source = r.public_source,
           public_after = r.public_after, public_value = r.public_value, public_at = r.public_at,
           entrants = t.entrants, n = t.n, list_commitment = t.list_commitment, reveals = r.reveals,
           seed = r.seed, k = r.k, winners = t.winners, drawn_at = r.drawn_at, refused = r.refused }
end

local function draw_row(self, item)
  if not self.draws[item] then
    local names = {}
    for k in pairs(self.draws) do names[#names + 1] = k end
    table.sort(names)
    error(string.format(gettext("newyear: no draw '%s' (the draws: %s)"), tostring(item), table.concat(names, ', ')), 3)
  end
  return view(self, item, self.P:draw_row(item))
end

-- The draw of item (draw_id, prize, count, commitments, entrants, n, k, winners, times).
function N:draw_of(item) return draw_row(self, item) end

-- The member ids who may enter a draw now, sorted as numbers.
function N:entrants(item)
  draw_row(self, item)
  local ids = {}
  if self.draws[item].kind == 'red' then
    for m in self.P:members(item) do ids[#ids + 1] = m.member_id end
  else
    local right = {}
    for a in db.newyear_quiz:scan{ index = 'campaign,member_id,question', eq = { self.id } } do
      if a.correct then right[a.member_id] = (right[a.member_id] or 0) + 1 end
    end
    for id, n in pairs(right) do
      local m = db.members:get(id)
      if n >= self.min_correct and m and self.P:eligible(m, item) then ids[#ids + 1] = id end
    end
  end
  table.sort(ids)
  return ids
end

local function hex64(s)
  return type(s) == 'string' and #s == 64 and not s:find('[^0-9a-fA-F]')
end

-- Records a party's seed commitment (before the list closes; optional: the
-- public value alone makes the draw unbiased). opts.party, default 'organiser'.
function N:commit(item, commitment, opts)
  local row = draw_row(self, item)
  if not hex64(commitment) then
    error(gettext("newyear: the seed commitment must be a SHA-256 in hex (64 digits 0-9, a-f), got '")
          .. tostring(commitment) .. "'", 2)
  end
  local party = (opts or {}).party or 'organiser'
  commitment = commitment:lower()
  for _, c in ipairs(row.commitments or {}) do
    if c.party == party and c.commitment == commitment then return row end
    if c.party == party then
      error(string.format(gettext("newyear: the draw '%s' already has the seed commitment %s (since %s); ")
                          .. 'it cannot change', row.draw_id, c.commitment, c.at), 2)
    end
  end
  if row.closed_at then
    error(gettext("newyear: ") .. string.format(gettext("the draw '%s' is published: too late to commit a seed"), row.draw_id), 2)
  end
  return view(self, item, framework(self.P.commit_draw, self.P, item, commitment, { party = party }))
end

-- Closes and publishes the entrant list of a draw, naming the public value
-- the seed will come from (opts.public: what and where; opts.after:
-- 'YYYY-MM-DD HH:MM' when it is known, later than now). Returns the draw
-- (entrants: the canonical list, list_commitment, n). Once published it
-- never changes: a second call returns it as it is.
function N:publish(item, opts)
  opts = opts or {}
  local row = draw_row(self, item)
  if row.closed_at then return row end
  if not opts.public or not opts.after then
    error(gettext('newyear: ') .. string.format(gettext('name the public value the seed of %s will come from: public=... after="YYYY-MM-DD HH:MM" (e.g. the numbers of a lottery draw after the list closes)'), row.draw_id), 2)
  end
  local ids = self:entrants(item)
  if #ids == 0 then error(gettext("newyear: no one may enter the draw '") .. row.draw_id .. "'", 2) end
  return view(self, item, framework(self.P.close_draw, self.P, item,
                                    { entrants = ids, public = opts.public, after = opts.after }))
end

-- Draws a published draw with the public value (opts.public, once known;
-- opts.seed: the committed party's seed, if one committed) and enters the
-- winners in the ledger, all in one transaction. Returns the draw (winners,
-- k, refused: winners the ledger refused, with why). Drawing again returns
-- the stored result.
function N:draw(item, opts)
  opts = opts or {}
  if type(opts) ~= 'table' then
    error(gettext('newyear: draw(item, { public = VALUE [, seed = SEED] }): the seed alone lets its holder choose'), 2)
  end
  local row = draw_row(self, item)
  if row.drawn_at then
    if opts.seed and opts.seed ~= ((row.reveals or {})[(row.commitments or {})[1] and row.commitments[1].party or ''])
    then
      error(gettext("newyear: ") .. string.format(gettext("'%s' was drawn with another seed"), row.draw_id), 2)
    end
    if opts.public and opts.public ~= row.public_value then
      error(gettext("newyear: ") .. string.format(gettext("'%s' was drawn with the public value '%s', not '%s'"), row.draw_id,
                          row.public_value, opts.public), 2)
    end
    return row
  end
  if not row.closed_at then
    error(string.format(gettext("newyear: publish the entrant list of '%s' first (publish.lua draw=%s)"), row.draw_id, item), 2)
  end
  local at = opts.at or dates.now()
  if at:sub(1, 10) < self.starts or at:sub(1, 10) > self.ends then
    error(string.format(gettext("newyear: the draw is held within the campaign (%s .. %s), not on %s: the ")
                        .. 'prizes are entries of the program', self.starts, self.ends, at:sub(1, 10)), 2)
  end
  return view(self, item, framework(self.P.draw, self.P, item,
                                    { public = opts.public, seed = opts.seed, k = row.count, at = at }))
end

-- Verifies a drawn draw: the lottery plugin recomputes it from the
-- published data (pub overrides any of entrants, seed, list_commitment,
-- winners, public_value: a copy someone holds, or the value the lottery
-- announced), and the ledger's entries of the item must be exactly the
-- winners (less those refused). true, or false and why.
function N:verify(item, pub)
  local row = draw_row(self, item)
  pub = pub or {}
  local p = { public_value = pub.public_value,
              tiers = { { entrants = pub.entrants, list_commitment = pub.list_commitment, winners = pub.winners } } }
  if pub.seed then
    local c = (row.commitments or {})[1]
    p.reveals = { [c and c.party or 'organiser'] = pub.seed }
  end
  local ok, why = self.P:verify_draw(item, p)
  if not ok then return false, (why:gsub('^tier 1 %([^)]*%): ', '')) end
  return true
end

-- ---- the report ----------------------------------------------------------------------------

-- { stock, issued } of an item (of a station's quota, or of a day's discount budget).
function N:stock(item, at)
  for _, r in ipairs(self:stock_rows(true)) do
    if r.item == item and r.pool == (at or '') then return { r.stock, r.issued } end
  end
end

-- The stock rows: per kind (per station where it has quotas; per day for the
-- discount when days is true), stock and issued from the ledger.
function N:stock_rows(days)
  local qty, fen, at, dayfen = {}, {}, {}, {}
  for e in db.program_entries:scan{ index = 'program,kind', eq = { self.id } } do
    qty[e.kind] = (qty[e.kind] or 0) + e.qty
    fen[e.kind] = (fen[e.kind] or 0) + e.fen
    if e.place then at[e.kind .. '|' .. e.place] = (at[e.kind .. '|' .. e.place] or 0) + e.qty end
    dayfen[e.kind .. '|' .. e.day] = (dayfen[e.kind .. '|' .. e.day] or 0) + e.fen
  end
  local rows = {}
  for _, k in ipairs(self.P.plan.kinds) do
    local title = k.title ~= k.kind and k.title or nil
    if k.places then
      local st = {}
      for p in pairs(k.places) do st[#st + 1] = p end
      table.sort(st)
      for _, p in ipairs(st) do
        local n = at[k.kind .. '|' .. p] or 0
        rows[#rows + 1] = { item = k.kind, title = title, pool = p, stock = k.places[p], issued = n,
                            remaining = k.places[p] - n }
      end
    elseif k.kind == self.discount_item then
      local per, d, n = self.plan.discount.daily_budget_fen, self.starts, 0
      while d <= self.ends do
        local used = dayfen[k.kind .. '|' .. d] or 0
        if days then
          rows[#rows + 1] = { item = k.kind, title = title, pool = d, stock = per, issued = used,
                              remaining = per - used, yuan = true }
        end
        n = n + 1
        d = dates.add_days(d, 1)
      end
      if not days then
        local used = fen[k.kind] or 0
        rows[#rows + 1] = { item = k.kind, title = (title or 'discount') .. ' (' .. n .. ' days)', pool = '',
                            stock = per * n, issued = used, remaining = per * n - used, yuan = true }
      end
    elseif self.money[k.kind] then
      local used = fen[k.kind] or 0
      rows[#rows + 1] = { item = k.kind, title = title, pool = '', stock = self.money[k.kind], issued = used,
                          remaining = self.money[k.kind] - used, yuan = true }
    else
      local n = qty[k.kind] or 0
      rows[#rows + 1] = { item = k.kind, title = title, pool = '', stock = k.stock, issued = n,
                          remaining = k.stock - n }
    end
  end
  return rows
end

-- The program's report, the day benefits' calendar, the draws, the quiz,
-- and every cap checked against the ledger (problems; ok when none).
function N:report()
  local pr = self.P:report()
  local t = pr.total
  local rep = { campaign = self.id, title = self.plan.title, starts = self.starts, ends = self.ends,
                stock = self:stock_rows(),
                total = { person_times = t.person_times, persons = t.persons, household_times = t.household_times,
                          households = t.households, qty = t.qty, value_fen = t.fen } }
  local out = { campaign = rep, days = self.days, draws = {}, problems = {}, window = { self.starts, self.ends } }
  for _, p in ipairs(pr.problems) do out.problems[#out.problems + 1] = p end
  for _, s in ipairs(self:stock_rows(true)) do
    if s.issued > s.stock then
      out.problems[#out.problems + 1] = string.format(gettext('%s at %s: %d issued of %d'), s.item, s.pool, s.issued, s.stock)
    end
  end
  local names = {}
  for item in pairs(self.draws) do names[#names + 1] = item end
  table.sort(names)
  for _, item in ipairs(names) do
    local r = draw_row(self, item)
    local ok, why
    if r.drawn_at then
      ok, why = self:verify(item)
      if not ok then out.problems[#out.problems + 1] = r.draw_id .. ': ' .. why end
    end
    out.draws[#out.draws + 1] = { item = item, count = r.count, n = r.n, k = r.k,
                                  committed = r.committed_at, published = r.published_at,
                                  drawn = r.drawn_at, refused = r.refused and #r.refused or 0,
                                  verified = r.drawn_at and ok or nil }
  end
  local ts, dc = self.plan.ticket_subsidy, self.plan.discount
  local per_member = {}
  for e in db.program_entries:scan{ index = 'program,kind', eq = { self.id } } do
    if ts and e.kind == self.subsidy_item and e.fen > ts.cap_fen then
      out.problems[#out.problems + 1] = string.format(gettext('subsidy entry %d: %s yuan, over the cap of %s'),
                                                      e.entry_id, fmt.yuan(e.fen), fmt.yuan(ts.cap_fen))
    end
    if dc and e.kind == self.discount_item then
      if e.fen > dc.per_use_fen then
        out.problems[#out.problems + 1] = string.format(gettext('discount entry %d: %s yuan, over the cap per use'),
                                                        e.entry_id, fmt.yuan(e.fen))
      end
      per_member[e.member_id] = (per_member[e.member_id] or 0) + e.fen
    end
  end
  for id, sum in pairs(per_member) do
    if sum > dc.per_member_fen then
      out.problems[#out.problems + 1] = string.format(gettext('member %d: %s yuan of discounts, over the cap of %s'),
                                                      id, fmt.yuan(sum), fmt.yuan(dc.per_member_fen))
    end
  end
  if self.questions then
    local q = { answers = 0, correct = 0, members = 0 }
    local seen = {}
    for a in db.newyear_quiz:scan{ index = 'campaign,member_id,question', eq = { self.id } } do
      q.answers = q.answers + 1
      if a.correct then q.correct = q.correct + 1 end
      if not seen[a.member_id] then seen[a.member_id] = true; q.members = q.members + 1 end
    end
    out.quiz = q
  end
  table.sort(out.problems)
  out.ok = #out.problems == 0
  return out
end

-- Calls f(...) and returns what it returns. An error the library raises on
-- purpose (its message starts 'newyear', as every refusal of a plan, a
-- draw or a seed does) ends a `gonghui run` with 'refused: ...' on stderr
-- and exit code 1 instead of a traceback; so does a plan error of the
-- framework ('plan FILE: ...'); any other error (a bug) goes on with its traceback.
-- A refusal raised on purpose starts with the library's prefix, in English
-- or as the catalog translates it (新春：, 新春方案：); anything else is a bug
-- and keeps its traceback.
local function refusal(msg)
  if type(msg) ~= 'string' then return nil end
  local body = msg:match('^[^\n]-:%d+: (.*)$')
  -- the translated prefixes, taken from messages the catalog has ("newyear: '" less its quote)
  local prefixes = { 'newyear:', 'newyear ', gettext("newyear: '"):sub(1, -2), gettext('newyear: '),
                     gettext('newyear plan: ') }
  if not body then
    body = msg
    prefixes[#prefixes + 1] = 'plan '
  end
  for _, p in ipairs(prefixes) do
    if body:sub(1, #p) == p then return body end
  end
end

function M.refusing(f, ...)
  local r = table.pack(pcall(f, ...))
  if r[1] then return table.unpack(r, 2, r.n) end
  local msg = refusal(r[2])
  if msg then run.fail(string.format(gettext('refused: %s'), msg)) end
  error(r[2], 0)
end

-- The report as text: the stock table (amounts in fen shown in yuan, the
-- discount's days added up in one row), the draws, the quiz, the caps.
function M.format(rep)
  local c = rep.campaign
  local lines = { fmt.heading(c.title, c.campaign, c.starts, c.ends), '' }
  local rows = {}
  for _, st in ipairs(c.stock) do
    local y = st.yuan and fmt.yuan or tostring
    rows[#rows + 1] = { st.title or st.item, st.pool == '' and '(all)' or st.pool, y(st.stock), y(st.issued),
                        y(st.remaining), st.yuan and 'yuan' or '' }
  end
  lines[#lines + 1] = fmt.table({ gettext('item'), gettext('pool'), gettext('stock'), gettext('issued'), gettext('remaining'), gettext('unit') }, rows,
                                { right = { 3, 4, 5 } })
  lines[#lines + 1] = ''
  local t = c.total
  lines[#lines + 1] = string.format(gettext('issued: %d 人次 to %d 人 (%d 户次, %d households); value %s yuan'),
                                    t.person_times, t.persons, t.household_times, t.households, fmt.yuan(t.value_fen))
  lines[#lines + 1] = ''
  rows = {}
  for _, d in ipairs(rep.draws) do
    rows[#rows + 1] = { d.item, d.count, d.n or '', d.k or '', d.committed and 'yes' or 'no',
                        d.published and 'yes' or 'no', d.drawn and 'yes' or 'no',
                        d.drawn and (d.verified and 'ok' or 'FAILED') or '' }
  end
  lines[#lines + 1] = fmt.table({ gettext('draw'), gettext('prizes'), gettext('entrants'), gettext('winners'), gettext('seed committed'), gettext('list published'),
                                  gettext('drawn'), gettext('verified') }, rows, { right = { 2, 3, 4 } })
  if rep.quiz then
    lines[#lines + 1] = string.format(gettext('quiz: %d answers by %d members, %d right'), rep.quiz.answers,
                                      rep.quiz.members, rep.quiz.correct)
  end
  if not rep.ok then
    lines[#lines + 1] = ''
    lines[#lines + 1] = 'PROBLEMS:'
    for _, p in ipairs(rep.problems) do lines[#lines + 1] = '  ' .. p end
  else
    lines[#lines + 1] = 'caps checked: no stock, budget or per-member cap exceeded; every draw verifies'
  end
  return table.concat(lines, '\n')
end

return M
