-- aid_ledger.lua — scripts/lib/aid.lua, the money: payments to approved
-- files and every cap (per household and type, per household by tier, the
-- type's budget), medical claims (deductible, rate, per-claim and annual
-- limits, duplicate invoices), refusals that write nothing, the check that
-- the running totals agree with the ledger (and finds a tampered total, a
-- tampered payment, a missing total, a total over its cap), and the reports
-- in 人/人次/户次 from the ledger and from the event log, on fixed data
-- whose every figure was worked out by hand (aid_fixture.lua has the caps).
local t = require 'testlib'
-- a refusal's value and message (its third value, the bare reason, left out)
local function r2(v, msg) return { v, msg } end
local aid = require 'aid'
local afx = require 'aid_fixture'

local p = afx.open()
local F1 = afx.approved(p, 1, 'deep').file_id        -- H1, 硖石街道: household cap 6,000
local F2 = afx.approved(p, 4, 'relative').file_id    -- H4, 许村镇: 3,000
local F3 = afx.approved(p, 7, 'accident').file_id    -- m7, 长安镇: 4,000

local function pay(file, ty, fen, date)
  local r, code, msg = p:pay{ file = file, type = ty, amount_fen = fen, approver = '王主席', date = date }
  return r and 'ok' or code, msg
end

-- file, type, fen, date, expected
local PAYMENTS = {
  { F1, 'temporary', 300000, '2025-03-01', 'ok' },
  { F1, 'temporary', 100000, '2025-04-01', 'ok' },                 -- H1 temporary 4,000 = its cap
  { F1, 'temporary', 1, '2025-04-02', 'household_type_cap' },       -- 0.01 more
  { F1, 'basket', 32800, '2025-03-05', 'ok' },
  { F1, 'basket', 32800, '2025-04-05', 'ok' },
  { F1, 'basket', 32800, '2025-05-05', 'ok' },                      -- H1 basket 984
  { F1, 'basket', 10000, '2025-06-05', 'household_type_cap' },      -- 1,084 > 1,000
  { F2, 'temporary', 250000, '2025-03-01', 'ok' },
  { F2, 'basket', 32800, '2025-03-05', 'ok' },                      -- H4: 2,828
  { F2, 'basket', 20000, '2025-04-05', 'household_cap' },           -- 3,028 > 3,000 (relative)
  { F2, 'basket', 17200, '2025-04-05', 'ok' },                      -- H4: 3,000 exactly
  { F3, 'temporary', 400000, '2025-03-02', 'type_budget' },         -- temporary 6,500 + 4,000 > 10,000
  { F3, 'temporary', 350000, '2025-03-02', 'ok' },                  -- temporary 10,000 exactly
  { F3, 'basket', 1601, '2025-03-06', 'type_budget' },              -- basket 1,484 + 16.01 > 1,500
  { F3, 'basket', 1600, '2025-03-06', 'ok' },                       -- basket 1,500 exactly
  { F3, 'basket', 1, '2025-02-09', 'before_approval' },
  { 99, 'basket', 100, '2025-03-06', 'no_file' },
}

t.case('payments: every cap, refused at the first fen over, exact fits pass', function()
  for i, c in ipairs(PAYMENTS) do
    t.eq((pay(c[1], c[2], c[3], c[4])), c[5], 'payment ' .. i)
  end
  t.eq(db.aid_payments:count(), 10)
  t.eq(db.aid_payments:get(1), { payment_id = 1, year = 2025, date = '2025-03-01', type = 'temporary',
    household = 'H1', member_id = 1, file_id = F1, tier = 'deep', town = '硖石街道', union_id = 11,
    amount_fen = 300000, approver = '王主席', run = run.uid, entry_id = 1 })
end)

t.case('refusal messages name the file, the cap and the amounts; nothing written', function()
  local before = t.snapshot()
  local _, msg = pay(F1, 'temporary', 1, '2025-04-02')
  t.eq(msg, 'over the annual cap of this type per household: household H1 (file 1), 临时救助 (temporary) in 2025: 4,000.00 paid of 4,000.00 yuan; 0.01 more would pass it by 0.01 yuan')
  _, msg = pay(F2, 'basket', 20000, '2025-04-05')
  t.eq(msg, 'over the household annual cap: household H4 (file 2), 相对困难, all aid in 2025: 3,000.00 paid of 3,000.00 yuan; 200.00 more would pass it by 200.00 yuan')
  _, msg = pay(F3, 'temporary', 1, '2025-05-01')
  t.eq(msg, 'over the annual budget of this type: 临时救助 (temporary) in 2025, all households: 10,000.00 paid of 10,000.00 yuan; 0.01 more would pass it by 0.01 yuan')
  t.eq(t.snapshot(), before)
end)

t.case('bad payments are errors, nothing written', function()
  local function bad(args, msg)
    args.approver = args.approver == nil and 'a' or args.approver or nil
    t.unchanged(function() p:pay(args) end, { msg })
  end
  bad({ file = F1, type = 'festival', amount_fen = 100 }, "aid: no aid type 'festival' (the types: basket, medical, temporary)")
  bad({ file = F1, type = 'medical', amount_fen = 100 }, "aid: type 'medical' is paid through claims (claim.lua), not as a payment to a file")
  bad({ file = F1, type = 'basket', amount_fen = 100.5 }, 'aid: pay: amount_fen must be whole fen > 0, got 100.5')
  bad({ file = F1, type = 'basket', amount_fen = 0 }, 'aid: pay: amount_fen must be whole fen > 0, got 0')
  bad({ file = F1, type = 'basket', amount_fen = 100, approver = false }, 'aid: pay: who does it?')
  bad({ file = F1, type = 'basket', amount_fen = 100, date = '2027-01-05' },
      'aid: test caps has no caps for 2027 (it has 2025, 2026): add years[2027] before paying in 2027')
end)

local MEDICAL = {
  -- member, invoice, expense fen, date, expected, payout fen, limited_by
  { 5, 'INV-001', 300000, '2025-04-01', 'ok', 120000 },             -- (3,000 - 1,000) x 60%
  { 5, ' inv-001', 300000, '2025-04-02', 'duplicate' },             -- same member, same invoice
  { 2, 'INV-001', 1200000, '2025-04-01', 'ok', 500000, 'per_claim' }, -- 6,600 -> 5,000 a claim
  { 2, 'INV-002', 600000, '2025-04-01', 'ok', 300000 },             -- 3,000: 8,000 in the year, exactly
  { 2, 'INV-003', 200000, '2025-04-20', 'annual_limit' },
  { 5, 'INV-002', 80000, '2025-04-20', 'below_deductible' },
  { 6, 'INV-7', 500000, '2025-04-20', 'not_member' },               -- left the union
  { 8, 'INV-9', 100100, '2025-05-01', 'ok', 60 },                   -- 1.00 over the deductible: 0.60
  { 9, 'INV-1', 110000, '2025-05-01', 'type_budget' },              -- 9,200.60 + 60 > 9,200.60
}

t.case('medical claims: rate, deductible, per-claim and annual limits, duplicates, budget', function()
  for i, c in ipairs(MEDICAL) do
    local r, code = p:claim{ member = c[1], invoice = c[2], expense_fen = c[3], date = c[4], approver = '医疗互助办' }
    t.eq(r and 'ok' or code, c[5], 'claim ' .. i)
    if r then t.eq({ r.payout_fen, r.limited_by }, { c[6], c[7] }, 'claim ' .. i) end
  end
  t.eq(db.aid_claims:count(), 4)
  local c3 = db.aid_claims:get(2)
  local pay3 = db.aid_payments:get(c3.payment_id)
  t.eq({ pay3.type, pay3.member_id, pay3.household, pay3.amount_fen, pay3.claim_id, pay3.file_id, pay3.note },
       { 'medical', 2, 'H1', 500000, 2, nil, 'invoice INV-001' })
end)

t.case('a duplicate claim and a spent limit are refused with the reason, nothing written', function()
  local before = t.snapshot()
  local r, code, msg = p:claim{ member = 5, invoice = 'inv-001', expense_fen = 999999, approver = 'a', date = '2025-06-01' }
  t.eq({ r, code, msg }, { nil, 'duplicate', 'duplicate claim: member 5 claimed invoice INV-001 on 2025-04-01 (claim 1, paid 1,200.00 yuan)' })
  r, code, msg = p:claim{ member = 2, invoice = 'X', expense_fen = 999999, approver = 'a', date = '2025-06-01' }
  t.eq(msg, 'the annual limit is used up: member 2 has received 8,000.00 of 8,000.00 yuan in 2025')
  -- by ID number too
  r, code = p:claim{ member = require('program_fixtures').id(5), invoice = 'INV-001', expense_fen = 300000, approver = 'a', date = '2025-06-01' }
  t.eq(code, 'duplicate')
  t.eq(t.snapshot(), before)
  t.unchanged(function() p:claim{ member = 5, invoice = '  ', expense_fen = 1, approver = 'a' } end,
              { 'aid: claim: invoice (the invoice number) is required' })
  t.unchanged(function() p:claim{ member = 5, invoice = 'Z', expense_fen = 1, approver = 'a', type = 'basket' } end,
              { "aid: type 'basket' is not paid by claims" })
end)

local ALL = 2070060    -- 4,984 + 3,000 + 3,516 + 9,200.60 yuan

t.case('the check: every running total agrees with the ledger, no cap passed', function()
  local r = p:check()
  -- the framework's running totals of the caps: per household and type (3 + 3),
  -- per household (3), per type (3), per member for medical (3)
  t.eq(r, { ok = true, problems = {}, payments = 14, totals = 15 })
  t.eq(p:check(2025), r)
  t.eq(p:check(2026), { ok = true, problems = {}, payments = 0, totals = 0 })
  local sum = 0
  for x in db.aid_payments:scan() do sum = sum + x.amount_fen end
  t.eq(sum, ALL)
  local function total(k) return db.program_totals:get('aid|' .. k).fen end
  t.eq(total('household:2025|H1'), 498400)
  t.eq(total('household:2025|H4'), 300000)   -- medical is outside the household cap
  t.eq(total('household:basket:2025|H4'), 50000)
  t.eq(total('budget:medical:2025'), 920060)
  t.eq(total('member:medical:2025|2'), 800000)
  for _, name in ipairs(db.collections()) do t.ok(name ~= 'aid_totals' and name ~= 'aid_refs', name) end
end)

local function tampered(fn)
  local r
  t.raises(function()
    db.atomic(function()
      fn()
      r = p:check()
      error('undo the tampering')
    end)
  end, 'undo the tampering')
  return r
end

t.case('the check finds a tampered total, a tampered entry, a lost total, a claim that disagrees with its payment', function()
  local r = tampered(function() db.program_totals:update('aid|household:2025|H1', { fen = 498401 }) end)
  t.eq(r.ok, false)
  t.eq(r.problems, { 'aid|household:2025|H1: fen 498401 (totals) vs 498400 (ledger)' })
  local e8 = db.aid_payments:get(8).entry_id      -- F2's 172.00 basket -> 16.00
  r = tampered(function() db.program_entries:update(e8, { fen = 1600 }) end)
  t.eq(r.problems, {
    'aid|budget:basket:2025: fen 150000 (totals) vs 134400 (ledger)',
    'aid|household:2025|H4: fen 300000 (totals) vs 284400 (ledger)',
    'aid|household:basket:2025|H4: fen 50000 (totals) vs 34400 (ledger)',
    'payment 8 (172.00 yuan basket, member 4, 2025-04-05) and ledger entry ' .. e8
      .. ' (16.00 yuan basket, member 4, 2025-04-05) disagree',
  })
  r = tampered(function() db.program_totals:delete('aid|budget:temporary:2025') end)
  t.eq(r.problems, { 'aid|budget:temporary:2025: no totals row, the ledger has count 4, fen 1000000' })
  r = tampered(function() db.aid_claims:update(1, { payout_fen = 1 }) end)
  t.eq(r.problems, { 'payment 11 (1,200.00 yuan) and claim 1 (payment 11, payout 0.01 yuan) disagree' })
  t.eq(p:check().ok, true)     -- rolled back: all agree again
end)

t.case('a cap lowered after paying: a budget below what is paid is refused; a household over its cap is found', function()
  local cfg = afx.config()
  cfg.years[2025].types.basket.budget = 140000
  t.unchanged(function() aid.open(cfg) end,
              { "plan test caps: key 'years[2025].types.basket.budget': 140000 is less than the 150000 already given" })
  cfg = afx.config()
  cfg.years[2025].household.relative = 290000
  local r = aid.open(cfg):check()
  t.eq(r.problems, { "aid|household:2025|H4: 3,000.00 yuan given, over limit 'household:2025' "
                     .. '(per household, at most 2,900.00 yuan)' })
  t.eq(aid.open(afx.config()):check().ok, true)   -- the caps as they were: declared again, all agree
end)

local EXPECTED = {
  year = 2025,
  types = {
    { type = 'basket', title = '幸福菜篮子', person_times = 6, persons = 3, household_times = 6, households = 3, amount_fen = 150000 },
    { type = 'medical', title = '职工医疗互助', person_times = 4, persons = 3, household_times = 3, households = 3, amount_fen = 920060 },
    { type = 'temporary', title = '临时救助', person_times = 4, persons = 3, household_times = 4, households = 3, amount_fen = 1000000 },
  },
  total = { person_times = 14, persons = 6, household_times = 13, households = 4, amount_fen = ALL },
  by_field = 'town',
  by = {
    { value = '硖石街道', person_times = 7, persons = 2, household_times = 6, households = 1, amount_fen = 1298400 },
    { value = '许村镇', person_times = 4, persons = 2, household_times = 4, households = 1, amount_fen = 420000 },
    { value = '长安镇', person_times = 3, persons = 2, household_times = 3, households = 2, amount_fen = 351660 },
  },
}

t.case('the report: 人次, 人, 户次, 户 and yuan per type and per town, exact', function()
  local rep = p:report(2025, { by = 'town' })
  t.eq(rep, EXPECTED)
  local text = aid.format_report(rep)
  t.ok(text:find('4 户 / 13 户次, 6 人 / 14 人次, 20,700.60 yuan', 1, true), text)
  t.ok(text:find('幸福菜篮子 (basket)      3     6   3     6   1,500.00', 1, true), text)
  t.ok(text:find('长安镇     2     3   2     3   3,516.60', 1, true), text)
  local tiers = p:report(2025, { by = 'tier' }).by
  t.eq(tiers[1], { value = '', person_times = 4, persons = 3, household_times = 3, households = 3, amount_fen = 920060 })
  t.eq(#tiers, 4)
end)

t.case('the report rebuilt from the event log alone (program.entry) is the same', function()
  t.eq(#bus.events{ topic = 'program.entry' }, 14)
  t.eq(p:report_from_log(2025, { by = 'town' }), EXPECTED)
  t.eq(p:report_from_log(2025, { by = 'tier' }), p:report(2025, { by = 'tier' }))
  t.eq(p:report_from_log(2025, { by = 'union_id' }), p:report(2025, { by = 'union_id' }))
  local ev = bus.events{ topic = 'program.entry', limit = 1 }[1]
  t.eq(ev.payload, { program = 'aid', entry_id = 1, kind = 'temporary', household = 'H1', member_id = 1,
                     fen = 300000, day = '2025-03-01', town = '硖石街道', tier = 1 })
end)

t.case('every payment is a framework ledger entry: its report agrees with the aid report', function()
  local P = require('program').open('aid')
  local rep = P:report()
  t.eq(#P:entries(), 14)
  t.eq({ rep.total.person_times, rep.total.persons, rep.total.household_times, rep.total.households,
         rep.total.fen }, { 14, 6, 13, 4, EXPECTED.total.amount_fen })   -- 户次: per type and day, as aid counts
  t.eq(rep.ok, true)
end)

t.case('a new year: pay only after re-verification; the year caps start again', function()
  t.eq((pay(F1, 'temporary', 400000, '2026-02-01')), 'not_verified')
  p:step(F1, 'reverify', { by = '复核组', date = '2026-01-20' })
  t.eq((pay(F1, 'temporary', 400000, '2026-02-01')), 'ok')
  t.eq((pay(F1, 'temporary', 1, '2026-02-01')), 'household_type_cap')
  -- a late entry for the year before still counts in that year
  t.eq((pay(F1, 'temporary', 1, '2025-12-31')), 'household_type_cap')
  t.eq(p:check(2026), { ok = true, problems = {}, payments = 1, totals = 3 })
  t.eq(p:report(2025, { by = 'town' }), EXPECTED)
  -- a closed file is not paid
  p:step(F3, 'close', { by = '王主席', date = '2026-03-01', reason = 'died' })
  local code, msg = pay(F3, 'basket', 100, '2026-03-02')
  t.eq({ code, msg }, { 'not_approved', "the file is not approved: household m7 (file 3) is 'closed' (已销档); the next step is reopen" })
  t.eq(p:check().ok, true)
end)

t.case('parse.yuan: what a clerk types, to fen; anything else refused with the reason', function()
  local parse = require 'parse'
  local good = { { 3000, 300000 }, { 3000.5, 300050 }, { 0.07, 7 }, { 1234567.89, 123456789 },
                 { '3,000.50', 300050 }, { '1,234,567.8', 123456780 }, { '¥12.05', 1205 },
                 { '100元', 10000 }, { ' 42 ', 4200 }, { '-5.1', -510 }, { '-5', -500 } }
  for _, g in ipairs(good) do t.eq(parse.yuan(g[1]), g[2], tostring(g[1])) end
  t.eq(r2(parse.yuan(3000.505)), { nil, '3000.505 has more than two decimals (a fen is 0.01 yuan)' })
  t.eq(r2(parse.yuan('12.345')), { nil, "'12.345' has more than two decimals (a fen is 0.01 yuan)" })
  t.eq(r2(parse.yuan('12.')), { nil, "'12.' ends in a decimal point: write the fen (12.50) or none (12)" })
  for _, b in ipairs{ '1,2', '12,34,567', ',123', '.5', 'abc', '' } do
    t.eq(r2(parse.yuan(b)), { nil, "'" .. b .. "' is not an amount in yuan (3000, 3,000.50, ¥12.05, -5)" }, b)
  end
  t.eq(r2(parse.yuan('92233720368547758.08')), { nil, "'92233720368547758.08' is too large for an amount" })
  t.eq(r2(parse.yuan(true)), { nil, 'true is not an amount in yuan (3000, 3,000.50, ¥12.05, -5)' })
end)

t.case('a payment with a ref is made once: the ref is its ledger entry\'s key', function()
  local args = { file = F1, type = 'basket', amount_fen = 10000, approver = 'a', date = '2026-03-05', ref = 'sheet|H1|basket|10000|2026-03-05|' }
  local r = p:pay(args)
  t.ok(r, 'the first payment with the ref')
  local before = t.snapshot()
  local again, code, msg = p:pay(args)
  t.eq({ again, code, msg }, { nil, 'already', 'already paid: payment ' .. r.payment_id
        .. ', 100.00 yuan basket to household H1 on 2026-03-05 (ref sheet|H1|basket|10000|2026-03-05|)' })
  t.eq(t.snapshot(), before)
  args.ref = ''
  t.unchanged(function() p:pay(args) end, { 'aid: pay: ref must be a non-empty string, got ' })
  t.eq(p:check().ok, true)
  -- the ref is the idempotency key of the payment's framework entry
  t.eq(db.program_entries:find('program,key', { 'aid', 'sheet|H1|basket|10000|2026-03-05|' }).entry_id, r.entry_id)
end)

t.done()
