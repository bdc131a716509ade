-- newyear_campaign.lua — scripts/lib/newyear.lua on the fixed registry of
-- program_fixtures.lua: the window from the cal plugin for several years,
-- day benefits on their day with quotas, duty gifts in the holiday, ticket
-- subsidies and benefit-code discounts never past a cap or a budget, the
-- quiz, the two draws (commitments first, verification accepts the real
-- draw and rejects a tampered list, seed or winner list), the report.
local t = require 'testlib'
local fx = require 'program_fixtures'
local newyear = require 'newyear'
local lottery = plugin.load 'lottery'
fx.load()

local SEED = 'ny2026-notary-seed-7f3c9a1e'
local SEED2 = 'ny2026-movie-seed-0b41d2c8'
-- the winners, checked by hand with plugins/lottery/lottery_check.py (Python, hashlib only):
-- the seed is derive_seed('ny:red-envelope', [the list's SHA-256], PUBLIC, VALUE,
-- { organiser = SEED }) = f8550f87...6154d4, then draw(1 10 11 2 3 4 5 7 8 9, seed,
-- 'ny:red-envelope#1', 5) -> 2 4 7 11 8 (the prize is the framework's draw: PROGRAM:KIND#TIER)
local PINNED_RED = '2\n4\n7\n11\n8\n'
local PINNED_RED_AWARDS = { '2:1:8800', '4:2:8800', '7:3:8800', '11:4:8800', '8:5:8800' }
local PINNED_MOVIE = '1\n2\n'  -- of 1, 2, 4, no party seed: derive_seed(...) = 7b067f61...5ebc, ny:movie-ticket#1, 2
-- the entries, counted by hand: laba 3, garden party 3, duty gifts 2, subsidies 4 (1,000 yuan),
-- discounts 7 (120 yuan), red envelopes 5, movie tickets 2 = 26 人次 (qty 1 each) to members
-- 1-4, 7, 8, 9, 11 (8 人); value 24 + 300 + 1,000 + 120 + 440 + 80 = 1,964 yuan. 户次: the distinct
-- households of each kind, summed over the kinds (the framework's count, as the year report's:
-- red envelopes H1 H4 7 11 8 = 5, movie tickets H1 = 1)
local PINNED_TOTAL = { person_times = 26, persons = 8, household_times = 17, households = 7,
                       qty = 26, value_fen = 196400 }

local PLAN = {
  id = 'ny', title = '新春每日惠', year = 2026, where = { status = 'active' },
  days = {
    { day = 'new_year', item = 'garden-party', title = '元旦游园会', stock = 3 },
    { day = 'laba', item = 'laba-porridge', title = '腊八粥', value_fen = 800, quotas = { ST01 = 2, ST02 = 1 } },
    { day = 'lantern', item = 'lantern', title = '元宵灯谜', stock = 10 },
  },
  red_envelopes = { item = 'red-envelope', title = '现金红包', count = 5, value_fen = 8800 },
  quiz = { item = 'movie-ticket', title = '电影票', count = 2, value_fen = 4000, min_correct = 2,
           questions = { { id = 'q1', answer = 'B' }, { id = 'q2', answer = 'C' }, { id = 'q3', answer = 'A' } } },
  duty_gift = { item = 'duty-gift', title = '坚守岗位礼包', count = 2, value_fen = 15000,
                where = { employment_form = 'new_form' } },
  ticket_subsidy = { title = '返岗车票补贴', budget_fen = 100000, cap_fen = 30000 },
  discount = { title = '惠工码优惠', rate_percent = 20, per_use_fen = 2000, per_member_fen = 5000,
               daily_budget_fen = 3000 },
}

local function r(...)
  local a, code = ...
  if a then return 'ok' end
  return code
end

t.case('the window and the festivals come from the lunar calendar, for several years', function()
  local got = {}
  for y = 2022, 2030 do
    local a, b = newyear.window(y)
    got[#got + 1] = table.concat({ y, a, b, newyear.day(y, 'laba'), newyear.day(y, 'eve'),
                                   newyear.day(y, 'spring_festival'), newyear.day(y, 'lantern') }, ' ')
  end
  t.eq(got, {
    '2022 2022-01-01 2022-03-02 2022-01-10 2022-01-31 2022-02-01 2022-02-15',
    '2023 2023-01-01 2023-02-19 2022-12-30 2023-01-21 2023-01-22 2023-02-05',
    '2024 2024-01-01 2024-03-09 2024-01-18 2024-02-09 2024-02-10 2024-02-24',
    '2025 2025-01-01 2025-02-27 2025-01-07 2025-01-28 2025-01-29 2025-02-12',
    '2026 2026-01-01 2026-03-18 2026-01-26 2026-02-16 2026-02-17 2026-03-03',
    '2027 2027-01-01 2027-03-07 2027-01-15 2027-02-05 2027-02-06 2027-02-20',
    '2028 2028-01-01 2028-02-24 2028-01-04 2028-01-25 2028-01-26 2028-02-09',
    '2029 2029-01-01 2029-03-14 2029-01-22 2029-02-12 2029-02-13 2029-02-27',
    '2030 2030-01-01 2030-03-03 2030-01-11 2030-02-02 2030-02-03 2030-02-17',
  })
  t.eq(newyear.day(2026, 'lunar:1-7'), '2026-02-23', '正月初七')
  t.eq(newyear.day(2026, 'xiaonian'), '2026-02-10', '小年 (腊月廿三), the default')
  t.eq(newyear.day(2026, 'xiaonian', 24), '2026-02-11', '小年 of the south (腊月廿四)')
  t.raises(function() newyear.day(2026, 'qingming') end, "unknown day 'qingming'")
end)

t.case('小年 is a setting of the plan: 23 (default), 24 or 25', function()
  local function plan(xn)
    return { id = 'xn' .. tostring(xn), title = 'x', year = 2026, xiaonian = xn,
             days = { { day = 'xiaonian', item = 'couplets', stock = 1 } } }
  end
  t.eq(newyear.define(plan(nil)).days[1].day, '2026-02-10')
  t.eq(newyear.define(plan(24)).days[1].day, '2026-02-11')
  t.unchanged(function() newyear.define(plan(22)) end, { 'xiaonian (小年) must be 23' })
end)

t.case('a plan whose day falls outside the window is refused, nothing stored', function()
  local plan = { id = 'ny23', title = 'x', year = 2023,
                 days = { { day = 'laba', item = 'laba-porridge', stock = 1 } } }
  t.unchanged(function() newyear.define(plan) end,
              { "day 'laba' of laba-porridge of 2023 is 2022-12-30, outside the window 2023-01-01 .. 2023-02-19" })
end)

local ny = newyear.define(PLAN)
local function stock(item, pool) return ny:stock(item, pool) end
local function entry(member_id, kind)
  for e in db.program_entries:scan{ index = 'program,member_id', eq = { 'ny', member_id } } do
    if e.kind == kind then return e end
  end
end

t.case('define: the calendar of day benefits, stock per item, a discount item per day', function()
  t.eq(ny.starts .. ' .. ' .. ny.ends, '2026-01-01 .. 2026-03-18')
  local cal = {}
  for _, d in ipairs(ny.days) do cal[#cal + 1] = d.day .. ' ' .. d.item end
  t.eq(cal, { '2026-01-01 garden-party', '2026-01-26 laba-porridge', '2026-03-03 lantern' })
  t.eq(stock('laba-porridge', 'ST01'), { 2, 0 })
  t.eq(stock('red-envelope'), { 5, 0 })
  t.eq(stock('ticket-subsidy'), { 100000, 0 })
  t.eq(stock('code-discount', '2026-01-01'), { 3000, 0 })
  t.eq(stock('code-discount', '2026-03-18'), { 3000, 0 })
  t.eq(#ny:stock_rows(true), 31 + 28 + 18 + 8)
  local before = t.snapshot()
  newyear.define(PLAN)
  t.eq(t.snapshot(), before, 'defining again changes nothing')
end)

t.case('day benefits: only on their day, quotas per station, once per member', function()
  local function claim(who, item, at, pool) return r(ny:claim(who, item, { at = at, pool = pool })) end
  t.eq({
    claim(1, 'laba-porridge', '2026-01-25 09:00:00', 'ST01'),
    claim(1, 'laba-porridge', '2026-01-26 09:00:00', 'ST01'),
    claim(fx.id(2), 'laba-porridge', '2026-01-26 09:05:00', 'ST01'),
    claim(3, 'laba-porridge', '2026-01-26 09:10:00', 'ST01'),
    claim(3, 'laba-porridge', '2026-01-26 09:11:00', 'ST02'),
    claim(1, 'laba-porridge', '2026-01-26 10:00:00', 'ST02'),
    claim(4, 'laba-porridge', '2026-01-26 10:00:00', 'ST02'),
    claim(6, 'garden-party', '2026-01-01 10:00:00'),
    claim(12, 'garden-party', '2026-01-01 10:00:00'),
    claim(1, 'garden-party', '2026-01-01 10:00:00'),
    claim(2, 'garden-party', '2026-01-01 10:00:00'),
    claim(3, 'garden-party', '2026-01-01 10:00:00'),
    claim(4, 'garden-party', '2026-01-01 10:00:00'),
    claim(5, 'garden-party', '2026-01-02 10:00:00'),
    claim(5, 'laba-porridge', '2026-01-26 10:00:00', 'ST09'),
    claim('33048119800101999X', 'garden-party', '2026-01-01 10:00:00'),
    claim(5, 'red-envelope', '2026-01-26 10:00:00'),
  }, { 'closed', 'ok', 'ok', 'out_of_stock', 'ok', 'already', 'out_of_stock', 'not_eligible',
       'not_eligible', 'ok', 'ok', 'ok', 'out_of_stock', 'closed', 'no_station', 'bad_id', 'drawn' })
  t.eq(stock('laba-porridge', 'ST01'), { 2, 2 })
  t.eq(stock('laba-porridge', 'ST02'), { 1, 1 })
  t.eq(stock('garden-party'), { 3, 3 })
end)

t.case('duty gifts: gig workers at a station from 除夕 to 初七, stock 2', function()
  local function claim(who, at) return r(ny:claim(who, 'duty-gift', { at = at, pool = 'ST01' })) end
  t.eq({ claim(3, '2026-02-15 20:00:00'), claim(3, '2026-02-16 20:00:00'), claim(1, '2026-02-17 08:00:00'),
         claim(4, '2026-02-24 08:00:00'), claim(4, '2026-02-23 08:00:00'), claim(11, '2026-02-20 08:00:00') },
       { 'closed', 'ok', 'not_eligible', 'closed', 'ok', 'out_of_stock' })
  -- the stock is the program's (no quotas): the station is kept as the entry's place
  t.eq(stock('duty-gift'), { 2, 2 })
  t.eq(entry(4, 'duty-gift').place, 'ST01')
end)

t.case('ticket subsidies: the ticket up to the cap, once per member, out of the budget', function()
  local AT = { at = '2026-02-25 09:00:00' }
  local out = {}
  local function sub(who, fen, at)
    local a, code = ny:subsidy(who, fen, at or AT)
    out[#out + 1] = a and a.fen or code
  end
  sub(1, 12000, { at = '2026-02-16 09:00:00' })  -- before 春节: closed
  sub(1, 12000)
  sub(2, 45000)                                  -- capped at 300 yuan
  sub(1, 8000)                                   -- once per member
  sub(3, 30000)
  sub(4, 30000)                                  -- 72,000 + 30,000 > 100,000: the budget
  sub(4, 28000)
  sub(5, 0)
  sub(6, 1000)                                   -- left the union
  t.eq(out, { 'closed', 12000, 30000, 'already', 30000, 'out_of_stock', 28000, 'bad_amount', 'not_eligible' })
  t.eq(stock('ticket-subsidy'), { 100000, 100000 })
  local a = entry(2, 'ticket-subsidy')
  t.eq({ a.qty, a.fen, a.extra.ticket_fen, a.capped }, { 1, 30000, 45000, true })
end)

t.case('benefit-code discounts: per use, per member, per day budget', function()
  local out = {}
  local function dis(who, bill, day)
    local a, code = ny:discount(who, bill, { at = day .. ' 12:00:00', merchant = '万家超市' })
    out[#out + 1] = a and a.fen or code
  end
  dis(1, 5000, '2026-01-05')   -- 20%: 10 yuan
  dis(1, 5000, '2026-01-05')   -- once a day
  dis(2, 10000, '2026-01-05')  -- 20 yuan: the day's 30 yuan are gone
  dis(3, 500, '2026-01-05')    -- 1 yuan more than the day's budget
  dis(1, 50000, '2026-01-06')  -- 100 yuan cut to 20 per use
  dis(1, 50000, '2026-01-07')  -- 20
  dis(1, 50000, '2026-01-08')  -- 50 yuan per member reached
  dis(2, 4, '2026-01-08')      -- 0.8 fen: nothing
  dis(2, 50000, '2025-12-31')
  dis(9, 7777, '2026-03-18')   -- the last day: 15.55 yuan
  t.eq(out, { 1000, 'already', 2000, 'out_of_stock', 2000, 2000, 'cap_reached', 'bad_amount', 'closed', 1555 })
  t.eq(ny:discount_used(1), 5000)
  t.eq(stock('code-discount', '2026-01-05'), { 3000, 3000 })
  -- a member near the cap gets what is left: member 9 has 15.55, 34.45 left
  dis(9, 50000, '2026-03-17')
  dis(9, 50000, '2026-03-16')
  dis(9, 50000, '2026-03-15')
  t.eq({ out[11], out[12], out[13] }, { 2000, 1445, 'cap_reached' })
  local cut
  for e in db.program_entries:scan{ index = 'program,member_id', eq = { 'ny', 9 } } do
    if e.day == '2026-03-16' then cut = e.extra.cut_by end
  end
  t.eq(cut, 'per_member')
end)

t.case('the quiz: answers recorded once, right ones counted, unknown questions refused', function()
  local AT = { at = '2026-02-01 10:00:00' }
  local out = {}
  local function ans(who, q, a) out[#out + 1] = r(ny:answer(who, q, a, AT)) end
  ans(1, 'q1', 'B') ans(1, 'q2', 'C')
  ans(2, 'q1', 'B') ans(2, 'q2', 'x') ans(2, 'q3', 'A')
  ans(3, 'q1', 'A')
  ans(4, 'q1', ' b ') ans(4, 'q2', 'c') ans(4, 'q3', 'a')
  ans(5, 'q1', 'B')
  ans(6, 'q1', 'B') ans(6, 'q2', 'C')           -- left the union: answers kept, no entry
  ans(1, 'q1', 'A')
  ans(1, 'q9', 'A')
  t.eq(out, { 'ok', 'ok', 'ok', 'ok', 'ok', 'ok', 'ok', 'ok', 'ok', 'ok', 'ok', 'ok', 'already', 'no_question' })
  t.eq(ny:entrants('movie-ticket'), { 1, 2, 4 })
  t.eq(#bus.events{ topic = 'newyear.answer' }, 12)
end)

local red
local DRAW_AT = '2026-02-20 10:00:00'
local PUBLIC = '中国福利彩票双色球 2026年2月12日开奖号码'
local VALUE = '03 07 12 19 25 31 09'
local function drawing(extra)
  local o = { public = VALUE, seed = SEED, at = DRAW_AT }
  for k, v in pairs(extra or {}) do o[k] = v end
  return o
end
t.case('the red-envelope draw: the list closes naming a public value, then the draw from it', function()
  local after = t.host_after(2)
  t.raises(function() ny:publish('red-envelope') end, 'name the public value the seed of ny:red%-envelope will come from')
  t.raises(function() ny:commit('red-envelope', 'abc') end, 'must be a SHA%-256 in hex')
  t.raises(function() ny:draw('red-envelope', drawing()) end, 'publish the entrant list')
  ny:commit('red-envelope', lottery.seed_commit(SEED):upper())
  t.raises(function() ny:commit('red-envelope', lottery.seed_commit(SEED .. 'x')) end,
           'already has the seed commitment')
  local p = ny:publish('red-envelope', { public = PUBLIC, after = after })
  t.eq(p.entrants, '1\n10\n11\n2\n3\n4\n5\n7\n8\n9\n', 'the active members, in the canonical (bytewise) order')
  t.eq({ p.n, p.list_commitment, p.seed_commitment }, { 10, lottery.list_hash(p.entrants), lottery.seed_commit(SEED) })
  t.eq(ny:publish('red-envelope').published_at, p.published_at, 'publishing again changes nothing')
  t.unchanged(function() ny:draw('red-envelope', drawing()) end, { 'is not known before' })
  t.wait_host(after)
  t.unchanged(function() ny:draw('red-envelope', drawing{ seed = SEED .. 'x' }) end, { 'this seed is not the one' })
  t.unchanged(function() ny:draw('red-envelope', drawing{ at = '2026-03-19 10:00:00' }) end,
              { 'the draw is held within the campaign (2026-01-01 .. 2026-03-18), not on 2026-03-19' })
  red = ny:draw('red-envelope', drawing())
  t.eq({ red.k, red.winners, red.refused }, { 5, PINNED_RED, nil })
  t.eq(red.winners, lottery.draw(p.entrants, red.seed, 'ny:red-envelope#1', 5), 'the plugin\'s draw, prize = program:kind#tier')
  t.eq(red.seed, lottery.derive_seed('ny:red-envelope', p.list_commitment .. '\n', PUBLIC, VALUE,
                                     'organiser=' .. SEED .. '\n'), 'the seed: the list, the public value, the reveal')
  local won, seen = {}, {}
  for a in db.program_entries:scan{ index = 'program,kind', eq = { 'ny', 'red-envelope' } } do
    t.ok(not seen[a.member_id], 'each member wins at most once')
    won[#won + 1] = a.member_id .. ':' .. a.extra.draw_rank .. ':' .. a.fen
    seen[a.member_id] = true
  end
  t.eq(won, PINNED_RED_AWARDS)
  t.eq(stock('red-envelope'), { 5, 5 })
  local before = t.snapshot()
  t.eq(ny:draw('red-envelope', drawing()).drawn_at, red.drawn_at, 'drawing again returns the draw')
  t.eq(t.snapshot(), before, 'and changes nothing')
  t.raises(function() ny:draw('red-envelope', drawing{ seed = SEED .. 'y' }) end, 'was drawn with another seed')
  t.raises(function() ny:draw('red-envelope', drawing{ public = '01 02 03 04 05 06 07' }) end,
           'was drawn with the public value')
end)

t.case('verification accepts the real draw and rejects a tampered list, seed, value or winners', function()
  t.eq({ ny:verify('red-envelope') }, { true })
  local function v(pub) local ok, why = ny:verify('red-envelope', pub) return ok and 'ok' or why end
  t.ok(v{ entrants = red.entrants .. '12\n' }:find('the entrant list does not match the list commitment', 1, true))
  t.ok(v{ entrants = red.entrants:gsub('^1\n', '') }:find('the entrant list does not match', 1, true))
  t.ok(v{ seed = SEED2 }:find('revealed seed does not match the seed commitment', 1, true))
  t.ok(v{ public_value = '01 02 03 04 05 06 07' }:find('the seed is not the one', 1, true))
  -- a list that matches a commitment made afresh does not give these winners
  local other = red.entrants .. '12\n'
  t.ok(v{ entrants = other, list_commitment = lottery.list_hash(other) }:find('the list has 11 entrants, the record says 10', 1, true))
  local w = {}
  for id in red.winners:gmatch('[^\n]+') do w[#w + 1] = id end
  w[1], w[2] = w[2], w[1]
  t.ok(v{ winners = table.concat(w, '\n') .. '\n' }:find('winner 1 does not match', 1, true))
  -- an award to someone who did not win (rolled back afterwards)
  t.raises(function()
    db.atomic(function()
      local loser
      for _, id in ipairs { 1, 2, 3, 4, 5, 7, 8, 9, 10, 11 } do
        if not entry(id, 'red-envelope') then loser = id break end
      end
      db.program_entries:insert{ program = 'ny', member_id = loser, kind = 'red-envelope', qty = 1, fen = 8800,
                                 day = '2026-02-20', at = '2026-02-20 10:00:00', key = 'ny:red-envelope:' .. loser }
      t.ok(v{}:find('member ' .. loser .. ' has entry', 1, true))
      error('undo')
    end)
  end, 'undo')
  t.eq({ ny:verify('red-envelope') }, { true })
end)

t.case('the movie-ticket draw: entrants from the quiz; the quiz closes when its list is published', function()
  local after = t.host_after(2)
  local p = ny:publish('movie-ticket', { public = PUBLIC, after = after })
  t.eq({ p.entrants, p.n }, { '1\n2\n4\n', 3 })
  t.eq(r(ny:answer(5, 'q2', 'C', { at = '2026-02-19 10:00:00' })), 'closed')
  t.wait_host(after)
  local d = ny:draw('movie-ticket', { public = VALUE, at = DRAW_AT })
  t.eq({ d.k, d.winners }, { 2, PINNED_MOVIE })
  t.eq({ ny:verify('movie-ticket') }, { true })
end)

t.case('the report: every stock, budget and cap holds; it finds one that does not', function()
  local rep = ny:report()
  t.eq({ rep.ok, rep.problems }, { true, {} })
  t.eq(rep.campaign.total, PINNED_TOTAL)
  t.eq(rep.quiz, { answers = 12, correct = 10, members = 6 })  -- right: 2 + 2 + 0 + 3 + 1 + 2
  t.eq(#bus.events{ topic = 'program.entry' }, rep.campaign.total.person_times)
  t.ok(newyear.format(rep, ny):find('caps checked', 1, true))
  t.raises(function()
    db.atomic(function()
      -- behind the program's back: a subsidy raised, a fourth garden-party ticket
      db.program_entries:update(entry(1, 'ticket-subsidy').entry_id, { fen = 40000 })
      db.program_entries:insert{ program = 'ny', member_id = 9, kind = 'garden-party', qty = 1, fen = 0,
                                 day = '2026-01-01', at = '2026-01-01 10:00:00' }
      local p = ny:report().problems
      t.ok(#p >= 3, t.show(p))
      local all = table.concat(p, '\n')
      t.ok(all:find('over the cap of 300.00', 1, true), all)
      t.ok(all:find('garden-party at : 4 issued of 3', 1, true), all)
      t.ok(newyear.format(ny:report(), ny):find('PROBLEMS', 1, true))
      error('undo')
    end)
  end, 'undo')
end)

t.done()
