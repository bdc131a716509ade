-- market_sales.lua — scripts/lib/market.lua on the fixed market of
-- market_fixtures.lua: sales with the benefit code (10% off, floored to the
-- fen, at most 20.00 yuan a member a day), a member meeting the cap in the
-- middle of a sale (a partial discount), then none; every refusal leaving the
-- database as it was; the reports by vendor, product, town, endorsed or not,
-- day, and 人/人次, each figure checked by hand; the same report rebuilt from
-- the event log; a vendors' sheet entered from CSV, and entered again.
local t = require 'testlib'
local mf = require 'market_fixtures'
local market = require 'market'
local fx = require 'program_fixtures'
local mk = mf.load()

mk:assign('2025-05-10', 'A01', 'V01')
mk:assign('2025-05-10', 'A02', 'V02')
mk:assign('2025-05-10', 'A03', 'V03')
mk:assign('2025-05-17', 'A01', 'V02')
mk:assign('2025-05-17', 'A02', 'V01')
market.endorse('P01', 7, '2025-04-20')
market.endorse('P03', 8, '2025-04-20')   -- 8's title is revoked on 2025-05-15

local D1, D2 = '2025-05-10', '2025-05-17'
-- sale, date, vendor, product, amount_fen (or qty), member; then expected
-- discount, paid, endorsed, capped, and the member's discounts that day after
local SALES = {
  { 1, D1, 'V01', 'P01', { amount_fen = 1999 }, 3,           199, 1800, true, false, 199 },  -- 199.9 floored
  { 2, D1, 'V01', 'P02', { qty = 3 }, 3,                     300, 2700, false, false, 499 }, -- 3 x 10.00
  { 3, D1, 'V02', 'P03', { amount_fen = 15005 }, 3,         1500, 13505, true, false, 1999 }, -- 1500.5 floored
  { 4, D1, 'V03', 'P04', { amount_fen = 1000 }, 3,             1, 999, false, true, 2000 },   -- 100 due, 1 left
  { 5, D1, 'V03', 'P04', { amount_fen = 500 }, 3,              0, 500, false, true, 2000 },   -- cap met
  { 6, D1, 'V01', 'P01', { amount_fen = 5 }, 'id4',            0, 5, true, false, 0 },        -- 0.5 floored
  { 7, D1, 'V02', 'P03', { amount_fen = 2345, ref = 'R7' }, nil, 0, 2345, true, nil, nil },   -- cash
  { 8, D1, 'V01', 'P01', { amount_fen = 1234 }, 'id5',       123, 1111, true, false, 123 },
  { 9, D2, 'V02', 'P03', { amount_fen = 1000 }, 3,           100, 900, false, false, 100 },   -- a new day; title revoked
  { 10, D2, 'V01', 'P01', { qty = 1 }, 4,                     80, 720, true, false, 80 },     -- 1 x 8.00
}

t.case('sales: the discount floored to the fen, up to the cap, partial at the cap, then none', function()
  for _, c in ipairs(SALES) do
    local s = { date = c[2], vendor = c[3], product = c[4], at = c[2] .. ' 09:00:00' }
    for k, v in pairs(c[5]) do s[k] = v end
    if type(c[6]) == 'number' then s.member_id = c[6]
    elseif c[6] then s.id_number = fx.id(tonumber(c[6]:sub(3))) end
    local sale, code, msg = mk:sell(s)
    t.ok(sale, 'sale ' .. c[1] .. ': ' .. tostring(code) .. ' ' .. tostring(msg))
    t.eq({ sale.sale_id, sale.discount_fen, sale.paid_fen, sale.endorsed, sale.capped, sale.amount_fen - sale.paid_fen },
         { c[1], c[7], c[8], c[9], c[10], c[7] }, 'sale ' .. c[1])
    if sale.member_id then
      t.eq(mk:given(sale.member_id, c[2]), c[11], 'given after sale ' .. c[1])
      t.eq(sale.pay, 'code')
    else
      t.eq(sale.pay, 'other')
    end
  end
  t.eq(mk:given(3, D1), 2000, 'member 3 got exactly the cap on the first day')
end)

t.case('the rule itself: floors, the cap left, never below 0', function()
  -- the rule: rounded down to the fen; the cap is the ledger's limit (the sales above)
  t.eq({ mk:discount(1999), mk:discount(9), mk:discount(100000), mk:discount(1000) }, { 199, 0, 10000, 100 })
  local m15 = setmetatable({ percent = 15, cap_fen = 3000 }, getmetatable(mk))
  t.eq({ m15:discount(333), m15:discount(20001) }, { 49, 3000 })   -- 49.95 and 3000.15 floored
end)

t.case('refusals: each with its code, the database unchanged', function()
  local before = t.snapshot()
  local function refused(s, code, text)
    s.date = s.date or D1
    local sale, c, msg = mk:sell(s)
    t.eq(sale, nil, code)
    t.eq(c, code)
    t.ok(msg:find(text, 1, true), code .. ': ' .. tostring(msg))
  end
  refused({ vendor = 'V09', product = 'P01', amount_fen = 100 }, 'no_vendor', 'no such vendor: V09')
  refused({ vendor = 'V01', product = 'P03', amount_fen = 100 }, 'no_product', 'no such product of this vendor: P03 of V01')
  refused({ date = '2025-05-11', vendor = 'V01', product = 'P01', amount_fen = 100 }, 'not_market_day', 'not a market day: xs 2025-05-11')
  refused({ date = '2025-05-32', vendor = 'V01', product = 'P01', amount_fen = 100 }, 'not_market_day', '2025-05-32 is not a date')
  refused({ date = D2, vendor = 'V03', product = 'P04', amount_fen = 100 }, 'no_booth', 'the vendor has no booth that day: V03 on 2025-05-17')
  refused({ vendor = 'V01', product = 'P01', amount_fen = 0 }, 'bad_amount', 'not a whole number of fen above 0: 0')
  refused({ vendor = 'V01', product = 'P01', amount_fen = 12.5 }, 'bad_amount', '12.5')
  refused({ vendor = 'V01', product = 'P01', qty = 2.5 }, 'bad_amount', 'no amount (and no whole qty with a product price)')
  refused({ vendor = 'V01', product = 'P01', amount_fen = 100, member_id = 6 }, 'not_member', 'no longer a member: member 6')
  refused({ vendor = 'V01', product = 'P01', amount_fen = 100, member_id = 99 }, 'not_found', 'no such member: no member with member_id 99')
  local bad = fx.id(4):sub(1, 17) .. (fx.id(4):sub(18) == '0' and '1' or '0')
  refused({ vendor = 'V01', product = 'P01', amount_fen = 100, id_number = bad }, 'bad_id',
          'not a valid ID number (18 characters, the last a check character): ' .. bad:sub(1, 6) .. '********' .. bad:sub(15))
  local body = '33048119800101999'
  refused({ vendor = 'V01', product = 'P01', amount_fen = 100, id_number = body .. require('registry').id_check_char(body) },
          'not_found', 'ID number 330481********')
  refused({ vendor = 'V02', product = 'P03', amount_fen = 2345, ref = 'R7' }, 'already', 'V02 2025-05-10 receipt R7')
  t.eq(t.snapshot(), before)
end)

local EXPECTED = {
  market = 'xs',
  vendors = {
    { vendor = 'V01', town = '许村镇', sales = 5, amount_fen = 7038, discount_fen = 702, paid_fen = 6336 },
    { vendor = 'V02', town = '长安镇', sales = 3, amount_fen = 18350, discount_fen = 1600, paid_fen = 16750 },
    { vendor = 'V03', town = '硖石街道', sales = 2, amount_fen = 1500, discount_fen = 1, paid_fen = 1499 },
  },
  products = {
    { product = 'P01', vendor = 'V01', endorsed_sales = 4, sales = 4, amount_fen = 4038, discount_fen = 402, paid_fen = 3636 },
    { product = 'P02', vendor = 'V01', endorsed_sales = 0, sales = 1, amount_fen = 3000, discount_fen = 300, paid_fen = 2700 },
    { product = 'P03', vendor = 'V02', endorsed_sales = 2, sales = 3, amount_fen = 18350, discount_fen = 1600, paid_fen = 16750 },
    { product = 'P04', vendor = 'V03', endorsed_sales = 0, sales = 2, amount_fen = 1500, discount_fen = 1, paid_fen = 1499 },
  },
  towns = {   -- bytewise order of the UTF-8: 硖 E7, 许 E8, 长 E9
    { town = '硖石街道', vendors = 1, sales = 2, amount_fen = 1500, discount_fen = 1, paid_fen = 1499 },
    { town = '许村镇', vendors = 1, sales = 5, amount_fen = 7038, discount_fen = 702, paid_fen = 6336 },
    { town = '长安镇', vendors = 1, sales = 3, amount_fen = 18350, discount_fen = 1600, paid_fen = 16750 },
  },
  endorsed = {
    { endorsed = true, products = 2, sales = 6, amount_fen = 21388, discount_fen = 1902, paid_fen = 19486 },
    { endorsed = false, products = 3, sales = 4, amount_fen = 5500, discount_fen = 401, paid_fen = 5099 },
  },
  days = {
    { date = D1, code_sales = 7, sales = 8, amount_fen = 25088, discount_fen = 2123, paid_fen = 22965 },
    { date = D2, code_sales = 2, sales = 2, amount_fen = 1800, discount_fen = 180, paid_fen = 1620 },
  },
  -- 人 = members 3, 4, 5; 人次 = member-days (3 and 4 came on both days)
  code = { sales = 9, amount_fen = 24543, discount_fen = 2303, capped = 2, persons = 3, person_times = 5 },
  total = { sales = 10, amount_fen = 26888, discount_fen = 2303, paid_fen = 24585 },
  problems = {},
  ok = true,
}

t.case('the report: by vendor, product, town, endorsed or not, day; 人/人次; exact', function()
  t.eq(mk:report(), EXPECTED)
  local may10 = mk:report{ from = D1, to = D1 }
  t.eq(may10.total, { sales = 8, amount_fen = 25088, discount_fen = 2123, paid_fen = 22965 })
  t.eq(may10.code, { sales = 7, amount_fen = 22743, discount_fen = 2123, capped = 2, persons = 3, person_times = 3 })
end)

t.case('events: one market.sale per sale; the report rebuilt from the log is the same', function()
  local evs = bus.events{ topic = 'market.sale', limit = 100 }
  t.eq(#evs, 10)
  t.eq(evs[4].payload, { sale_id = 4, market = 'xs', date = D1, vendor = 'V03', town = '硖石街道', product = 'P04',
                         endorsed = false, amount_fen = 1000, discount_fen = 1, paid_fen = 999, pay = 'code',
                         member = 3, capped = true, cap_fen = 2000 })
  t.eq(evs[7].payload.member, nil)
  t.eq(mk:report_events(), EXPECTED)
  t.eq(mk:report_events{ from = D2 }, mk:report{ from = D2 })
end)

t.case('the report finds a sale over the cap it was made under', function()
  local ok = pcall(db.atomic, function()
    db.market_sales:update(9, { discount_fen = 2001 })
    local rep = mk:report()
    t.eq(rep.ok, false)
    t.eq(rep.problems, { 'member 3 on 2025-05-17: 2001 fen of discount by sale 9, over the cap of 2000' })
    error('undo')
  end)
  t.eq(ok, false)
  t.eq(mk:report(), EXPECTED)
end)

t.case('the report as text and as tables for CSV', function()
  local text = market.format(mk:report())
  for _, want in ipairs({ '硖石共富集市 (xs)', 'V02     长安绿源蔬菜合作社  合作社  长安镇', '183.50',
                          'endorsed by model workers', '79.5%', 'total: 10 sales, 268.88 yuan, discount 23.03 yuan, paid 245.85 yuan',
                          'benefit code (惠工码): 9 sales to 3 人 in 5 人次 (member-days); amount 245.43 yuan, discount 23.03 yuan; 2 sales met the daily cap' }) do
    t.ok(text:find(want, 1, true), 'the text has ' .. want .. '\n' .. text)
  end
  local tb = market.tables(mk:report())
  t.eq(tb.vendors[2], { 'V01', '许村张家果园', 'farmer', '许村镇', 5, 7038, 702, 6336 })
  t.eq(tb.code, { { 'code_sales', 'persons', 'person_times', 'amount_fen', 'discount_fen', 'capped_sales' },
                  { 9, 3, 5, 24543, 2303, 2 } })
  t.eq(tb.endorsed[3], { 'no', 3, 4, 5500, 401, 5099 })
end)

t.case("a vendors' sheet from CSV: entered, refusals by line, entered again: nothing twice", function()
  mk:assign('2025-05-24', 'A01', 'V01')
  mk:assign('2025-05-24', 'A02', 'V03')
  local f = run.open('sheet.csv', 'w')
  run.write_csv(f, {
    { '序号', '摊主编号', '产品编号', '数量', '金额', '身份证号', '#备注' },
    { '1', 'V01', 'P01', '2', '16.00', fx.id(10), '' },      -- member 10: 160 fen off
    { '2', 'V01', 'P02', '', '19.99', fx.id(10), '' },       -- 199 more
    { '3', 'V03', 'P04', '10', '', '', '' },                 -- cash, 10 x 1.50
    { '4', 'V03', 'P04', '', '1.505', '', 'three decimals' },
    { '5', 'V02', 'P03', '', '3.50', '', 'no booth' },
    { '', '', '', '', '', '', '' },
    { '6', 'V01', 'P02', '', '200', fx.id(10), '' },         -- 2000 due, 1641 left
  })
  f:close()
  local r = mk:import_sheet('sheet.csv', { date = '2025-05-24' })
  t.eq({ r.rows, r.entered, r.already, r.encoding }, { 6, 4, 0, 'UTF-8 with BOM' })
  t.eq(r.refused, {
    { line = 5, code = 'bad_amount', message = "the amount is not a whole number of fen above 0: amount '1.505' has more than two decimals (a fen is 0.01 yuan)" },
    { line = 6, code = 'no_booth', message = 'the vendor has no booth that day: V02 on 2025-05-24' },
  })
  local day = mk:report{ from = '2025-05-24', to = '2025-05-24' }
  t.eq(day.total, { sales = 4, amount_fen = 1600 + 1999 + 1500 + 20000, discount_fen = 2000, paid_fen = 23099 })
  t.eq(mk:given(10, '2025-05-24'), 2000)
  local last = db.market_sales:find('market,date,vendor_id,ref', { 'xs', '2025-05-24', 'V01', '6' })
  t.eq({ last.discount_fen, last.capped, last.source }, { 1641, true, 'sheet.csv:8' })
  t.eq(db.market_sales:find('market,date,vendor_id,ref', { 'xs', '2025-05-24', 'V03', '3' }, 'amount_fen'), 1500)
  local again = mk:import_sheet('sheet.csv', { date = '2025-05-24' })
  t.eq({ again.rows, again.entered, again.already, #again.refused }, { 6, 0, 4, 2 })
  t.eq(mk:report{ from = '2025-05-24', to = '2025-05-24' }, day)
end)

t.case('a sheet is one transaction: an unexpected error on a row stores none of it', function()
  local f = run.open('boom.csv', 'w')
  run.write_csv(f, { { 'no', 'vendor', 'product', 'amount' }, { 'X1', 'V01', 'P01', '1' }, { 'X2', 'V01', 'P02', '2' },
                     { 'X3', 'V03', 'P04', '3' } })
  f:close()
  local h = bus.on('market.sale', function(ev) if ev.payload.product == 'P04' then error('a handler fails') end end)
  t.unchanged(function() mk:import_sheet('boom.csv', { date = '2025-05-24' }) end, { 'a handler fails' })
  bus.off(h)
  local r = mk:import_sheet('boom.csv', { date = '2025-05-24' })
  t.eq({ r.rows, r.entered, r.already, #r.refused }, { 3, 3, 0, 0 })
  for _, ref in ipairs({ 'X1', 'X2', 'X3' }) do   -- voided, so the cases after see the day as it was
    local v = ref == 'X3' and 'V03' or 'V01'
    assert(mk:void(db.market_sales:find('market,date,vendor_id,ref', { 'xs', '2025-05-24', v, ref }, 'sale_id'), 'test'))
  end
end)

t.case('a sheet with a column it does not know, or without one it needs, enters nothing', function()
  local f = run.open('bad.csv', 'w')
  run.write_csv(f, { { '日期', '摊主编号', '产品编号', '价格' }, { '2025-05-24', 'V01', 'P01', '3' } })
  f:close()
  t.unchanged(function() mk:import_sheet('bad.csv') end,
              { "bad.csv:1: column 4 '价格' is not a column of a sales sheet" })
  f = run.open('bad2.csv', 'w')
  run.write_csv(f, { { '产品编号', '金额' }, { 'P01', '3' } })
  f:close()
  t.unchanged(function() mk:import_sheet('bad2.csv') end, { 'bad2.csv:1: no date column' })
  t.unchanged(function() mk:import_sheet('bad2.csv', { date = '2025-05-24' }) end, { 'bad2.csv:1: no vendor column' })
  t.unchanged(function() mk:import_sheet('none.csv') end, { 'cannot open none.csv' })
end)

t.case('a sale voided: out of every report, its discount back to the cap, its receipt free again', function()
  local before = mk:report()
  t.eq(mk:given(3, D1), 2000)
  local v = mk:void(3, 'amount was 150.50, not 150.05')   -- 15005 fen, 1500 off, member 3 on 05-10
  t.eq({ v.sale_id, v.discount_fen, v.void_reason }, { 3, 1500, 'amount was 150.50, not 150.05' })
  t.eq(mk:given(3, D1), 500)
  t.eq({ mk:void(3, 'again') }, { nil, 'already_voided', 'sale 3 was voided at ' .. v.voided .. ': amount was 150.50, not 150.05' })
  t.eq({ mk:void(999, 'x') }, { nil, 'no_sale', 'no sale 999 in market xs' })
  t.raises(function() mk:void(4) end, 'give the reason')
  local after = mk:report()
  t.eq(after.total, { sales = before.total.sales - 1, amount_fen = before.total.amount_fen - 15005,
                      discount_fen = before.total.discount_fen - 1500, paid_fen = before.total.paid_fen - 13505 })
  t.eq(after.vendors[2], { vendor = 'V02', town = '长安镇', sales = 2, amount_fen = 3345, discount_fen = 100, paid_fen = 3245 })
  -- the corrected sale: the discount the cap now leaves (500 given, 1505 due, 1500 left)
  local s = assert(mk:sell{ date = D1, vendor = 'V02', product = 'P03', amount_fen = 15050, member_id = 3 })
  t.eq({ s.discount_fen, s.capped }, { 1500, true })
  t.eq(mk:given(3, D1), 2000)
  -- a voided receipt number can be entered again
  t.eq(mk:sell{ date = D1, vendor = 'V02', product = 'P03', amount_fen = 2345, ref = 'R7' }, nil)
  mk:void(7, 'wrong product')
  t.eq(db.market_sales:get(7, 'voided_ref'), 'R7')
  t.ok(mk:sell{ date = D1, vendor = 'V02', product = 'P03', amount_fen = 2354, ref = 'R7' })
  t.eq(#bus.events{ topic = 'market.sale_voided' }, 5)
  local rep = mk:report()
  t.eq(rep.ok, true)
  t.eq(mk:report_events(), rep)
end)

t.done()
