-- aid_backfill.lua — a database made the old way: aid's caps counted in
-- aid_totals, sheet refs in aid_refs, payments 1-3 from before aid stood on
-- the framework (no ledger entry) and payment 4 from the first framework
-- version (an entry keyed 'payment:4', no tier, a plan with no limits). The
-- first aid.open moves it onto the framework once: every payment gets its
-- entry, the ref becomes the entry's key, the old collections are dropped,
-- the totals rebuilt; then the caps hold over the old payments, the sheet row
-- is not paid twice, the check is clean and the year report counts them all.
local t = require 'testlib'
local aid = require 'aid'
local afx = require 'aid_fixture'
local program = require 'program'
local fx = require 'program_fixtures'

fx.load()
aid.define_collections()
local REF = 'sheet|1|basket|32800|2025-03-05|'

-- the old state, written as the old code wrote it
db.atomic(function()
  db.define('aid_totals', {
    key = 'total_id',
    fields = { total_id = 'string', year = 'int', scope = 'string', subject = 'string', paid_fen = 'fen', n = 'int' },
    index = { { 'year', 'scope' } },
  })
  db.define('aid_refs', { key = 'ref', fields = { ref = 'string', payment_id = 'int' } })
  local hist = { { step = 'approve', to = 'approved', date = '2025-02-10', by = '王主席' } }
  db.aid_files:insert{ household = 'H1', member_id = 1, tier = 'deep', state = 'approved', town = '硖石街道',
                       union_id = 11, persons = 3, reason = '重病', opened = '2025-02-01', notice_from = '2025-02-05',
                       approved = '2025-02-10', verified_year = 2025, history = hist }
  db.aid_files:insert{ household = 'H4', member_id = 4, tier = 'relative', state = 'approved', town = '许村镇',
                       union_id = 21, persons = 2, reason = '重病', opened = '2025-02-01', notice_from = '2025-02-05',
                       approved = '2025-02-10', verified_year = 2025, history = hist }
  local function pay(p)
    p.run, p.approver, p.year = 'old-run', '王主席', 2025
    return db.aid_payments:insert(p)
  end
  pay{ date = '2025-03-01', type = 'temporary', household = 'H1', member_id = 1, file_id = 1, tier = 'deep',
       town = '硖石街道', union_id = 11, amount_fen = 300000 }
  local p2 = pay{ date = '2025-03-05', type = 'basket', household = 'H1', member_id = 1, file_id = 1, tier = 'deep',
                  town = '硖石街道', union_id = 11, amount_fen = 32800 }
  db.aid_refs:insert{ ref = REF, payment_id = p2 }
  local c = db.aid_claims:insert{ member_id = 5, invoice = 'INV-1', date = '2025-04-01', year = 2025, type = 'medical',
                                  expense_fen = 300000, payout_fen = 120000, payment_id = 3, approver = '医疗互助办' }
  pay{ date = '2025-04-01', type = 'medical', household = 'H4', member_id = 5, claim_id = c, town = '许村镇',
       union_id = 21, amount_fen = 120000, note = 'invoice INV-1' }
  for _, r in ipairs{ { '2025|household|H1', 'household', 'H1', 332800, 2 }, { '2025|type|temporary', 'type', 'temporary', 300000, 1 } } do
    db.aid_totals:insert{ total_id = r[1], year = 2025, scope = r[2], subject = r[3], paid_fen = r[4], n = r[5] }
  end
end)
-- payment 4: the first framework version's way (a plan of kinds only, an entry keyed 'payment:4')
local old = program.define({ id = 'aid', title = '困难帮扶与医疗互助', window = { from = '2000-01-01', to = '2200-12-31' },
  kinds = { { kind = 'basket', title = '幸福菜篮子', unit = 'fen' }, { kind = 'medical', title = '职工医疗互助', unit = 'fen' },
            { kind = 'temporary', title = '临时救助', unit = 'fen' } },
  units = { '人', '人次', '户次', 'fen' }, household_times = 'day' }, { file = 'caps.lua' })
db.atomic(function()
  local pid = db.aid_payments:insert{ year = 2025, date = '2025-03-02', type = 'temporary', household = 'H4', member_id = 4,
    file_id = 2, tier = 'relative', town = '许村镇', union_id = 21, amount_fen = 200000, approver = '王主席', run = 'old-run' }
  assert(old:enter{ member = 4, kind = 'temporary', fen = 200000, day = '2025-03-02', key = 'payment:' .. pid, town = '许村镇' })
end)
t.eq(#db.program_entries:list(), 1)

local p = afx.open()

t.case('the first open moves the old payments onto the framework ledger, once', function()
  t.eq(p.backfilled, 4)
  local names = {}
  for _, n in ipairs(db.collections()) do names[n] = true end
  t.eq({ names.aid_totals, names.aid_refs }, { nil, nil })
  local entries = {}
  for x in db.aid_payments:scan() do
    local e = db.program_entries:get(x.entry_id)
    t.eq({ e.program, e.kind, e.member_id, e.fen, e.day }, { 'aid', x.type, x.member_id, x.amount_fen, x.date },
         'payment ' .. x.payment_id)
    entries[x.payment_id] = e
  end
  t.eq(entries[2].key, REF)                    -- the sheet ref is the entry's idempotency key
  t.eq({ entries[1].tier, entries[4].tier, entries[3].tier }, { 1, 2, nil })   -- the file's tier; a claim has none
  t.eq(entries[4].key, 'payment:4')
  t.eq(p:check(), { ok = true, problems = {}, payments = 4, totals = 9 })
  t.eq(db.program_totals:get('aid|household:2025|H1').fen, 332800)
  -- idempotent: opening again finds nothing to move
  local before = t.snapshot()
  t.eq(aid.open(afx.config()).backfilled, 0)
  t.eq(t.snapshot(), before)
end)

t.case('the caps count the old payments; the old sheet row is not paid twice', function()
  local before = t.snapshot()
  local r, code, msg = p:pay{ file = 1, type = 'temporary', amount_fen = 100001, approver = 'a', date = '2025-05-01' }
  t.eq({ r, code, msg }, { nil, 'household_type_cap', 'over the annual cap of this type per household: household H1 '
        .. '(file 1), 临时救助 (temporary) in 2025: 3,000.00 paid of 4,000.00 yuan; 1,000.01 more would pass it by 0.01 yuan' })
  r, code, msg = p:pay{ file = 1, type = 'basket', amount_fen = 32800, approver = 'a', date = '2025-03-05', ref = REF }
  t.eq({ r, code, msg }, { nil, 'already', 'already paid: payment 2, 328.00 yuan basket to household H1 on 2025-03-05 (ref '
        .. REF .. ')' })
  t.eq(t.snapshot(), before)
  t.ok(p:pay{ file = 1, type = 'temporary', amount_fen = 100000, approver = 'a', date = '2025-05-01' })
  t.eq(p:check().ok, true)
end)

t.case('the reports and the year report count the old payments through the standard events', function()
  local rep = p:report(2025)
  t.eq({ rep.total.person_times, rep.total.amount_fen }, { 5, 752800 })
  t.eq(p:report_from_log(2025), rep)
  local yr = require('year_report').build(2025)
  t.eq(yr.diffs, {})
  local c = yr.log.program['困难帮扶与医疗互助']
  t.eq({ c.person_times, c.persons, c.money_fen }, { 5, 3, 752800 })
end)

t.done()
