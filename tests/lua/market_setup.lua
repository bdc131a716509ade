-- market_setup.lua — scripts/lib/market.lua: the market plan (days from
-- weekdays, booths, vendors, products), re-running setup, booth bookings
-- without double-booking, endorsements only by model workers (titles held,
-- revoked, of another kind), and every refusal leaving the database as it was.
local t = require 'testlib'
local mf = require 'market_fixtures'
local market = require 'market'
local registry = require 'registry'
local fx = require 'program_fixtures'
local mk = mf.load()

t.case('the plan: Saturdays of May and June, booths, vendors, products', function()
  t.eq(mk:days(), { '2025-05-03', '2025-05-10', '2025-05-17', '2025-05-24', '2025-05-31',
                    '2025-06-07', '2025-06-14', '2025-06-21', '2025-06-28' })
  t.eq(market.weekday('2025-05-03'), 6)
  t.eq(market.weekday('2025-05-05'), 1)
  t.eq(market.weekday('2024-12-29'), 7)
  t.eq(t.keys(db.market_booths, nil, 'booth'), { 'A01', 'A02', 'A03' })
  t.eq(db.market_booths:find('market,booth', { 'xs', 'A03' }, 'name'), '东侧')
  t.eq(db.market_vendors:count(), 3)
  t.eq(db.market_products:count(), 4)
  t.eq({ mk.percent, mk.cap_fen, mk.town }, { 10, 2000, '硖石街道' })
end)

t.case('setup again changes nothing; a changed rule is stored', function()
  local before = t.snapshot()
  market.define(mf.PLAN)
  t.eq(t.snapshot(), before)
  local plan = {}
  for k, v in pairs(mf.PLAN) do plan[k] = v end
  plan.discount = { percent = 15, cap_fen = 3000 }
  local m2 = market.define(plan)
  t.eq({ m2.percent, m2.cap_fen }, { 15, 3000 })
  t.eq(db.programs:get('market-xs').plan.limits[1].max_fen, 3000, 'the ledger limit follows the cap')
  market.define(mf.PLAN)
  -- (the stored program's `defined` is the time of its last setup)
  local function undated(s) for _, r in ipairs(s.programs.records) do r.defined = nil end return s end
  t.eq(undated(t.snapshot()), undated(before))
end)

t.case('bad plans are refused and store nothing', function()
  local function with(k, v)
    local plan = {}
    for kk, vv in pairs(mf.PLAN) do plan[kk] = vv end
    plan[k] = v
    return plan
  end
  t.unchanged(function() market.define(with('discount', { percent = 110, cap_fen = 1 })) end,
              { 'discount.percent must be a whole number 0..100, got 110' })
  t.unchanged(function() market.define(with('discount', { percent = 10, cap_fen = 20.5 })) end,
              { 'discount.cap_fen must be whole fen >= 0, got 20.5' })
  t.unchanged(function() market.define(with('days', { '2025-07-05' })) end,
              { 'market day 2025-07-05 is outside 2025-05-01 .. 2025-06-30' })
  t.unchanged(function() market.define(with('weekdays', { 0 })) end, { 'weekdays are 1 (Monday) .. 7 (Sunday), got 0' })
  t.unchanged(function()
    market.define(with('vendors', { { vendor_id = 'V09', name = 'x', kind = 'shop', town = 'y' } }))
  end, { "vendor V09: kind must be 'farmer' (农户) or 'coop' (合作社), got shop" })
  t.unchanged(function()
    market.define(with('products', { { product_id = 'P09', vendor_id = 'V09', name = 'x' } }))
  end, { "product P09: no vendor 'V09' (add the vendor first)" })
  t.unchanged(function() market.open('nope') end, { "no market 'nope' (run setup.lua first)" })
end)

t.case('booths: one holder per booth and day, a clear error naming booth, day and holder', function()
  mk:assign('2025-05-10', 'A01', 'V01')
  mk:assign('2025-05-10', 'A02', 'V02')
  mk:assign('2025-05-10', 'A03', 'V03')
  mk:assign('2025-05-17', 'A01', 'V02')
  t.eq(mk:assign('2025-05-10', 'A01', 'V01').vendor_id, 'V01')     -- again: nothing new
  t.eq(db.market_bookings:count(), 4)
  t.unchanged(function() mk:assign('2025-05-10', 'A01', 'V02') end,
              { 'booth A01 on 2025-05-10 is already taken by V01 许村张家果园',
                'booth.lua date=2025-05-10 booth=A01 free=1' })
  t.unchanged(function() mk:assign('2025-05-11', 'A01', 'V02') end, { '2025-05-11 is not a market day' })
  t.unchanged(function() mk:assign('2025-05-17', 'B09', 'V02') end, { "no booth 'B09'" })
  t.unchanged(function() mk:assign('2025-05-17', 'A02', 'V09') end, { "no vendor 'V09'" })
  -- a vendor may hold two booths; freeing one, then taking it again
  mk:assign('2025-05-17', 'A02', 'V01')
  mk:assign('2025-05-17', 'A03', 'V01')
  t.eq(mk:free('2025-05-17', 'A03'), true)
  t.eq(mk:free('2025-05-17', 'A03'), false)
  t.eq(mk:bookings('2025-05-17'), {
    { booth = 'A01', vendor_id = 'V02', name = '长安绿源蔬菜合作社', town = '长安镇' },
    { booth = 'A02', vendor_id = 'V01', name = '许村张家果园', town = '许村镇' },
    { booth = 'A03' },
  })
end)

t.case('a booth whose holder has sales that day cannot be freed', function()
  local sale = mk:sell{ date = '2025-05-24', vendor = 'V03', product = 'P04', amount_fen = 100 }
  t.eq(sale, nil)   -- no booth yet
  mk:assign('2025-05-24', 'A01', 'V03')
  sale = assert(mk:sell{ date = '2025-05-24', vendor = 'V03', product = 'P04', amount_fen = 100 })
  t.unchanged(function() mk:free('2025-05-24', 'A01') end,
              { 'booth A01 on 2025-05-24 cannot be freed: its holder V03 has sales that day (sale ' .. sale.sale_id })
  -- (undo this case's sale so the other tests see no sales)
  db.atomic(function()
    db.market_sales:delete(sale.sale_id)
    db.market_bookings:delete(db.market_bookings:find('market,date,booth', { 'xs', '2025-05-24', 'A01' }, 'booking_id'))
  end)
end)

t.case('titles: held, revoked, of another kind', function()
  t.eq(registry.has_title(7, 'model_worker', '2025-05-10').title, '浙江省劳动模范')
  t.eq(registry.has_title(7, 'model_worker', '2020-01-01'), nil)          -- before it was awarded
  t.eq(registry.has_title(8, 'model_worker', '2025-05-14').title, '嘉兴市劳动模范')
  t.eq(registry.has_title(8, 'model_worker', '2025-05-15'), nil)          -- revoked that day
  t.eq(registry.has_title(9, 'model_worker', '2025-05-10'), nil)          -- a craftsman
  t.eq(registry.has_title(9, 'craftsman', '2025-05-10').title, '海宁工匠')
  t.eq(registry.has_title(1, 'model_worker', '2025-05-10'), nil)
  t.unchanged(function() db.member_titles:insert{ member_id = 7, kind = 'model_worker', title = '浙江省劳动模范' } end,
              { "unique index 'member_id,title'" })
end)

t.case('endorsements: only by a model worker holding the title; once per product and member', function()
  local e = market.endorse('P01', 7, '2025-04-20')
  t.eq({ e.product_id, e.member_id, e.since, e.title }, { 'P01', 7, '2025-04-20', '浙江省劳动模范' })
  market.endorse('P03', 8, '2025-04-20')
  t.eq(market.endorse('P01', 7, '2025-05-01').since, '2025-04-20')   -- again: the first stays
  t.eq(db.market_endorsements:count(), 2)
  local evs = bus.events{ topic = 'market.endorsed' }
  t.eq(#evs, 2)
  t.eq(evs[1].payload, { endorsement_id = 1, product = 'P01', vendor = 'V01', member = 7,
                         title = '浙江省劳动模范', since = '2025-04-20' })
  t.unchanged(function() market.endorse('P02', 9, '2025-05-01') end,
              { 'member 9 周* holds no model-worker title (劳动模范/先进工作者) on 2025-05-01, so cannot endorse P02 葡萄' })
  t.unchanged(function() market.endorse('P02', 1, '2025-05-01') end, { 'member 1 王*国 holds no model-worker title' })
  t.unchanged(function() market.endorse('P02', 8, '2025-05-20') end, { 'member 8 黄* holds no model-worker title' })
  t.unchanged(function() market.endorse('P09', 7) end, { "no product 'P09'" })
  t.unchanged(function() market.endorse('P02', 99) end, { 'no member 99' })
  t.unchanged(function() market.endorse('P02', 7, '2025-02-30') end, { "expected a date YYYY-MM-DD, got '2025-02-30'" })
end)

t.case('a sale is endorsed while an endorser holds the title', function()
  t.eq(market.endorsed('P01', '2025-04-19'), false)   -- before the endorsement
  t.eq(market.endorsed('P01', '2025-04-20'), true)
  t.eq(market.endorsed('P03', '2025-05-14'), true)
  t.eq(market.endorsed('P03', '2025-05-15'), false)   -- the endorser's title revoked
  t.eq(market.endorsed('P02', '2025-05-10'), false)
end)

t.case('parse.yuan: whole fen from yuan, exactly, or nil', function()
  local parse = require 'parse'
  local cases = { { 12.5, 1250 }, { '12.50', 1250 }, { 3, 300 }, { '¥1,234.05', 123405 }, { '￥0.07', 7 },
                  { ' 8 ', 800 }, { 0.1, 10 }, { 19.99, 1999 }, { 150.05, 15005 }, { '-3', -300 } }
  for _, c in ipairs(cases) do t.eq(parse.yuan(c[1]), c[2], tostring(c[1])) end
  for _, bad in ipairs({ 12.345, '12.345', '12.', 'abc', '', '1e3', true }) do
    t.eq(parse.yuan(bad), nil, tostring(bad))
  end
  t.eq(fx.id(3):len(), 18)
end)

t.case('a vendor with a credit code that is not one is refused; a right one is kept', function()
  local before = t.snapshot()
  t.raises(function()
    market.put_vendor{ vendor_id = 'V09', name = '硖石合作社', kind = 'coop', town = '硖石街道',
                       credit_code = '93330481MA2B1C2D3X' }
  end, "vendor V09: credit_code %(统一社会信用代码%) '93330481MA2B1C2D3X'")
  t.eq(t.snapshot(), before)
  market.put_vendor{ vendor_id = 'V09', name = '硖石合作社', kind = 'coop', town = '硖石街道',
                     credit_code = '91350100M000100Y43' }
  t.eq(db.market_vendors:get('V09', 'credit_code'), '91350100M000100Y43')
end)

t.done()
