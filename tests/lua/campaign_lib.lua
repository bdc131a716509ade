-- campaign_lib.lua — scripts/lib/campaign.lua on the fixed registry of
-- program_fixtures.lua: eligibility (index query + rule), the date window,
-- stock per pool, once per (campaign, member, item), refusals, events,
-- rollback, re-runs, the report's 人次/人/户次 against stock.
local t = require 'testlib'
local fx = require 'program_fixtures'
local campaign = require 'campaign'
fx.load()

local OUTDOOR = { 'sanitation', 'courier', 'gig_delivery', 'construction', 'driver' }
local function spec(over)
  local s = {
    id = 'c1', title = '测试活动', starts = '2025-01-10', ends = '2025-02-12',
    where = { category = OUTDOOR, status = 'active' },
    eligible = function(m)
      if m.birth_date <= '1965-01-01' then return false, 'born before 1965' end
      return true
    end,
    items = {
      { item = 'gift', title = '慰问礼包', value_fen = 20000, stock = 5 },
      { item = 'souvenir', title = '纪念品', value_fen = 5000, stock = { ST01 = 3, ST02 = 2 } },
    },
  }
  for k, v in pairs(over or {}) do s[k] = v end
  return s
end
local AT = { at = '2025-01-20 09:00:00' }
local function at(pool) return { at = '2025-01-20 09:00:00', pool = pool } end

local c = campaign.define(spec())

local function n_events() return #bus.events{ topic = 'award.issued' } end

t.case('define stores the campaign and its stock; defining again changes nothing', function()
  t.eq(db.campaigns:get('c1').title, '测试活动')
  t.eq(t.keys(db.campaign_stock, nil, 'stock'), { 5, 3, 2 })
  local before = t.snapshot()
  campaign.define(spec())
  t.eq(t.snapshot(), before)
end)

t.case('eligibility: the index query and the rule, with reasons', function()
  t.eq({ c:is_eligible(db.members:get(1)) }, { true })
  t.eq({ c:is_eligible(db.members:get(8)) }, { false, 'born before 1965' })
  t.eq({ c:is_eligible(db.members:get(7)) }, { false, 'category = office' })
  t.eq({ c:is_eligible(db.members:get(6)) }, { false, 'status = left' })
end)

t.case('refusals are results, not errors, and change nothing', function()
  local before = t.snapshot()
  local function r(...) local a, code = ...; return { a, code } end
  t.eq(r(c:issue(8, 'gift', AT)), { nil, 'not_eligible' })
  t.eq(r(c:issue(99, 'gift', AT)), { nil, 'not_found' })
  t.eq(r(c:issue(1, 'gift', { at = '2025-02-13 00:00:00' })), { nil, 'closed' })
  t.eq(r(c:issue(1, 'gift', { at = '2025-01-09 23:59:59' })), { nil, 'closed' })
  t.eq(r(c:issue(1, 'souvenir', at('ST09'))), { nil, 'no_stock' })
  t.eq(r(c:issue(1, 'souvenir', AT)), { nil, 'no_stock' })     -- souvenirs only at stations
  t.eq(r(c:claim('330481199001011234', 'gift', AT)), { nil, 'not_found' })
  t.eq(t.snapshot(), before)
  t.eq(n_events(), 0)
  t.raises_all(function() c:issue(1, 'hat', AT) end, { "campaign 'c1' has no item 'hat'", 'gift, souvenir' })
end)

t.case('issue_all: in member order until the stock runs out; a re-run issues nothing', function()
  t.eq(c:issue_all('gift', AT), { issued = 5, out_of_stock = 3, not_eligible = 1 })
  t.eq(t.keys(db.campaign_awards, nil, 'member_id'), { 1, 2, 3, 4, 5 })
  t.eq(n_events(), 5)
  t.eq(c:issue_all('gift', AT), { issued = 0, already = 5, out_of_stock = 3, not_eligible = 1 })
  t.eq(db.campaign_awards:count(), 5)
  t.eq(n_events(), 5)
end)

t.case('station pools: claims by ID number, per-pool stock, once per member and item', function()
  t.eq(c:claim(fx.id(10), 'souvenir', at('ST01')).pool, 'ST01')
  t.ok(c:claim(fx.id(11), 'souvenir', at('ST01')))
  t.ok(c:issue(1, 'souvenir', at('ST01')))
  local a, code, msg = c:issue(2, 'souvenir', at('ST01'))
  t.eq({ a, code, msg }, { nil, 'out_of_stock', 'out of stock: souvenir at ST01: 3 of 3 issued' })
  t.ok(c:issue(2, 'souvenir', at('ST02')))
  a, code = c:issue(1, 'souvenir', at('ST02'))          -- has one from ST01 already
  t.eq({ a, code }, { nil, 'already' })
  t.ok(c:issue(4, 'souvenir', at('ST02')))
  a, code = c:issue(5, 'souvenir', at('ST02'))
  t.eq({ a, code }, { nil, 'out_of_stock' })
  t.eq(n_events(), 10)
end)

t.case('the events carry the award', function()
  local ev = bus.events{ topic = 'award.issued' }
  local last = ev[#ev].payload
  t.eq(last, { award_id = 10, campaign = 'c1', member_id = 4, item = 'souvenir', pool = 'ST02',
               qty = 1, value_fen = 5000, at = '2025-01-20 09:00:00' })
end)

t.case('an award inside a failed transaction leaves no award, stock or event', function()
  local before = t.snapshot()
  local ev = n_events()
  c:set_stock('gift', '', 6)
  local snap6 = t.snapshot()
  t.raises(function()
    db.atomic(function()
      t.ok(c:issue(9, 'gift', AT))
      error('the counter closed')
    end)
  end, 'the counter closed')
  t.eq(t.snapshot(), snap6)
  t.eq(n_events(), ev)
  c:set_stock('gift', '', 5)
  t.eq(t.snapshot(), before)
end)

t.case('the stock cannot be set below what was issued', function()
  t.unchanged(function() c:set_stock('souvenir', 'ST01', 2) end,
              { "cannot set the stock of 'souvenir' at ST01 to 2: 3 already issued" })
  t.unchanged(function() campaign.define(spec{ items = { { item = 'gift', stock = 4 } } }) end,
              { "cannot set the stock of 'gift' to 4: 5 already issued" })
  t.unchanged(function() c:set_stock('gift', '', -1) end, { 'whole number >= 0' })
end)

t.case('the report: stock, issued, remaining; 人次, 人, 户次; by town', function()
  local rep = c:report{ by = 'town' }
  t.eq(rep.stock, {
    { item = 'gift', pool = '', title = '慰问礼包', stock = 5, issued = 5, remaining = 0 },
    { item = 'souvenir', pool = 'ST01', title = '纪念品', stock = 3, issued = 3, remaining = 0 },
    { item = 'souvenir', pool = 'ST02', title = '纪念品', stock = 2, issued = 2, remaining = 0 },
  })
  t.eq(rep.items, {
    { item = 'gift', person_times = 5, qty = 5, household_times = 3, value_fen = 100000 },
    { item = 'souvenir', person_times = 5, qty = 5, household_times = 4, value_fen = 25000 },
  })
  t.eq(rep.total, { person_times = 10, persons = 7, household_times = 7, households = 5,
                    qty = 10, value_fen = 125000 })
  t.eq(rep.by, { { value = '硖石街道', person_times = 7, persons = 5 },
                 { value = '许村镇', person_times = 3, persons = 2 } })
  t.eq(rep.ok, true)
  local text = campaign.format_report(rep)
  t.ok(text:find('issued: 10 人次 to 7 人 (7 户次, 5 households); value 1,250.00 yuan', 1, true), text)
  t.ok(text:find('total               10      10          0', 1, true), text)
end)

t.case('the report finds a stock row that disagrees with the awards', function()
  t.raises(function() db.atomic(function()
    local s = db.campaign_stock:find('campaign,item,pool', { 'c1', 'gift', '' })
    db.campaign_stock:update(s.stock_id, { issued = 4 })
    local rep = c:report()
    t.eq(rep.ok, false)
    t.eq(rep.problems, { 'gift at (campaign): the stock says 4 issued, the awards 5' })
    error('undo')
  end) end, 'undo')
  t.eq(c:report().ok, true)
end)

t.case('campaign.open reads a defined campaign back for reports', function()
  local o = campaign.open('c1')
  t.eq(o:report().total.person_times, 10)
  t.raises(function() campaign.open('nope') end, "no campaign 'nope'")
end)

t.case('bad definitions are refused', function()
  t.raises(function() campaign.define(spec{ ends = '2025-01-01' }) end, 'is before starts')
  t.raises(function() campaign.define(spec{ starts = '2025-02-30' }) end, 'expected a date')
  t.raises(function() campaign.define(spec{ eligible = 'yes' }) end, 'eligible must be a function')
end)

t.case('an item with its own days and conditions (a day benefit for couriers only)', function()
  local d = campaign.define{
    id = 'c2', title = '每日惠', starts = '2025-01-01', ends = '2025-02-12', where = { status = 'active' },
    items = {
      { item = 'laba', title = '腊八粥', starts = '2025-01-07', ends = '2025-01-07',
        where = { category = 'courier' }, eligible = function(m) return m.member_id ~= 11, 'not 11' end,
        stock = 5 },
    },
  }
  local function r(...) local a, code, why = ...; return { a and a.member_id, code, why } end
  t.eq(r(d:issue(3, 'laba', { at = '2025-01-06 23:59:59' })),
       { nil, 'closed', 'outside the campaign dates: laba: 2025-01-06 is not within 2025-01-07' })
  t.eq(r(d:issue(1, 'laba', { at = '2025-01-07 08:00:00' })),
       { nil, 'not_eligible', 'not eligible: laba: category = sanitation' })
  t.eq(r(d:issue(11, 'laba', { at = '2025-01-07 08:00:00' })), { nil, 'not_eligible', 'not eligible: laba: not 11' })
  t.eq(r(d:issue(3, 'laba', { at = '2025-01-07 08:00:00' })), { 3 })
  t.eq({ d:is_eligible(db.members:get(1)) }, { true }, 'the campaign alone')
  t.raises(function()
    campaign.define{ id = 'c3', title = 'x', starts = '2025-01-01', ends = '2025-01-31',
                     items = { { item = 'late', starts = '2025-01-20', ends = '2025-02-02', stock = 1 } } }
  end, "item 'late' runs 2025%-01%-20 .. 2025%-02%-02, which is not within the campaign")
end)

t.done()
