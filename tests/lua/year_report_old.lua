-- year_report_old.lua — a database made before the framework: a campaign of
-- the old campaign library (campaigns, campaign_stock, campaign_awards and
-- their award.issued events). The year report moves it onto the framework's
-- ledger once (program/migrate.lua) and counts it through the one road, the
-- standard program.entry events, agreeing with the records; a second report
-- moves nothing again. Then aid payments of before the framework (aid_totals,
-- no entries), which no aid script has opened yet: the report moves them too.
local t = require 'testlib'
local fx = require 'program_fixtures'
local yr = require 'year_report'

fx.load()
db.atomic(function()
  db.define('campaigns', { key = 'campaign_id', fields = { campaign_id = 'string', title = 'string', starts = 'date',
                                                           ends = 'date', union_id = 'int?', note = 'string?' } })
  db.define('campaign_stock', {
    key = 'stock_id', auto = true,
    fields = { stock_id = 'int', campaign = 'string', item = 'string', pool = 'string', title = 'string?',
               value_fen = 'fen?', stock = 'int', issued = 'int' },
    unique = { { 'campaign', 'item', 'pool' } },
  })
  db.define('campaign_awards', {
    key = 'award_id', auto = true,
    fields = { award_id = 'int', campaign = 'string', member_id = 'int', item = 'string', pool = 'string', qty = 'int',
               value_fen = 'fen', at = 'string', household = 'string', run = 'string?', note = 'string?', extra = 'any?' },
    unique = { { 'campaign', 'member_id', 'item' } },
    index = { { 'campaign', 'item', 'pool' }, { 'campaign', 'pool' }, 'member_id' },
  })
  db.campaigns:insert{ campaign_id = 'spring-2025', title = '春节送温暖', starts = '2025-01-10', ends = '2025-02-12', union_id = 1 }
  db.campaign_stock:insert{ campaign = 'spring-2025', item = 'gift', pool = '', title = '年货礼包', value_fen = 20000,
                            stock = 10, issued = 3 }
  -- members 1 and 2 share household H1; member 4 is H4
  for _, a in ipairs{ { 1, 'H1', 'ST01', '2025-01-20 09:00:00' }, { 2, 'H1', 'ST01', '2025-01-21 09:00:00' },
                      { 4, 'H4', '', '2025-02-01 10:00:00' } } do
    local id = db.campaign_awards:insert{ campaign = 'spring-2025', member_id = a[1], item = 'gift', pool = a[3], qty = 1,
                                          value_fen = 20000, at = a[4], household = a[2], run = 'old' }
    bus.publish('award.issued', { campaign = 'spring-2025', award_id = id, member_id = a[1], item = 'gift',
                                  value_fen = 20000, at = a[4], household = a[2] })
  end
end)

t.case('the old campaign is moved onto the ledger and counted through program.entry', function()
  local rep = yr.build(2025)
  t.eq(rep.diffs, {})
  local c = rep.log.program['春节送温暖 (spring-2025)']
  -- 1 场次, 3 人, 3 人次, 2 户次 (H1 and H4 received the gift), 600.00 yuan
  t.eq({ c.sessions, c.persons, c.person_times, c.household_times, c.money_fen }, { 1, 3, 3, 2, 60000 })
  t.eq(rep.log.station.ST01.person_times, 2)
  local P = require('program').open('campaign.spring-2025')
  t.eq(#P:entries(), 3)
  t.eq(P:entries()[1].key, 'award:1')
  t.eq(#bus.events{ topic = 'program.entry' }, 3)
end)

t.case('a second report moves nothing again and counts the same', function()
  local before = db.program_entries:count()
  local rep = yr.build(2025)
  t.eq(db.program_entries:count(), before)
  t.eq(#bus.events{ topic = 'program.entry' }, 3)
  t.eq(rep.diffs, {})
  t.eq(rep.log.total.person_times, 3)
end)

t.case('old aid payments are moved by the report itself, and aid opens over them', function()
  local aid = require 'aid'
  aid.define_collections()
  db.atomic(function()
    db.define('aid_totals', { key = 'total_id', fields = { total_id = 'string', year = 'int', scope = 'string',
                                                           subject = 'string', paid_fen = 'fen', n = 'int' } })
    db.aid_files:insert{ household = 'H4', member_id = 4, tier = 'relative', state = 'approved', town = '许村镇',
                         union_id = 21, persons = 2, reason = '重病', opened = '2025-02-01', approved = '2025-02-10',
                         verified_year = 2025, history = {} }
    for _, d in ipairs{ '2025-03-01', '2025-04-01' } do
      db.aid_payments:insert{ year = 2025, date = d, type = 'basket', household = 'H4', member_id = 4, file_id = 1,
                              tier = 'relative', town = '许村镇', union_id = 21, amount_fen = 50000, approver = '王主席',
                              run = 'old' }
    end
  end)
  local rep = yr.build(2025)
  t.eq(rep.diffs, {})
  local c = rep.log.program['困难帮扶与医疗互助']
  t.eq({ c.persons, c.person_times, c.household_times, c.money_fen }, { 1, 2, 2, 100000 })
  t.eq(db.aid_payments:get(1).entry_id ~= nil, true)
  -- the first aid script declares the settings' plan over the moved entries: the caps count them
  local p = require('aid_fixture').open()
  t.eq(p.backfilled, 0)
  local r, code = p:pay{ file = 1, type = 'basket', amount_fen = 1, approver = 'a', date = '2025-05-01' }
  t.eq({ r, code }, { nil, 'household_type_cap' })     -- 1,000.00 of basket per household already paid
  t.eq(p:check().ok, true)
  t.eq(yr.build(2025).diffs, {})
end)

t.done()
