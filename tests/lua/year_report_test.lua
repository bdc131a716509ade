-- year_report.lua — the year report (scripts/lib/year_report.lua) over a
-- year of real program activity on the fixed registry of
-- program_fixtures.lua: a framework campaign's entries, aid payments, market sales, a
-- contest's title and a retirement certificate, made with each program's
-- own library. Every figure is counted by hand below; the report rebuilt
-- from the log must equal the one from the records, and a record changed
-- behind a program's back must show as a named difference.
local t = require 'testlib'
local fx = require 'program_fixtures'
local program = require 'program'
local afx = require 'aid_fixture'
local mf = require 'market_fixtures'
local contest = require 'contest'
local retirement = require 'retirement'
local yr = require 'year_report'

fx.load()

-- a campaign on the framework: 3 gifts (200.00 each) and a souvenir (50.00) to members 1, 2
-- (household H1) and 3
local c = program.define{
  id = 'c1', title = '春节送温暖', window = { from = '2025-01-10', to = '2025-02-12' },
  who = { where = { status = 'active' } }, units = { '人', '人次', '户次', '场次', 'fen' },
  kinds = {
    { kind = 'gift', title = '慰问礼包', value_fen = 20000, stock = 5, per_member = 1 },
    { kind = 'souvenir', title = '纪念品', value_fen = 5000, places = { ST01 = 3 }, per_member = 1 },
  },
}
local AT = '2025-01-20 09:00:00'
for _, m in ipairs{ 1, 2, 3 } do assert(c:enter{ member = m, kind = 'gift', at = AT }) end
local souvenir = assert(c:enter{ member = 3, kind = 'souvenir', at = AT, place = 'ST01' })

-- aid: two payments to member 4's household H4 (许村镇): 1,000.00 and 500.00
local p = afx.open()
local f = afx.approved(p, 4, 'deep')
assert(p:pay{ file = f.file_id, type = 'temporary', amount_fen = 100000, approver = '王主席',
              date = '2025-03-01' })
assert(p:pay{ file = f.file_id, type = 'basket', amount_fen = 50000, approver = '王主席',
              date = '2025-03-05' })

-- market: one day; member 3 gets 1.99 off, member 5 gets 1.23 off, a cash sale
local mk = mf.load()
mk:assign('2025-05-10', 'A01', 'V01')
mk:assign('2025-05-10', 'A02', 'V02')
local D = '2025-05-10'
assert(mk:sell{ date = D, vendor = 'V01', product = 'P01', amount_fen = 1999, member_id = 3, at = D .. ' 09:00:00' })
assert(mk:sell{ date = D, vendor = 'V02', product = 'P03', amount_fen = 2345, ref = 'R1', at = D .. ' 09:10:00' })
assert(mk:sell{ date = D, vendor = 'V01', product = 'P01', amount_fen = 1234, member_id = 5, at = D .. ' 09:20:00' })

-- contest: two contestants, the best gets the title
contest.define_collections()
contest.setup({
  id = 'k1', title = '技能大赛·电工', year = 2025, trade = '电工', union_id = 1,
  titles = { top = 1 },
  aspects = { { code = 'A1', kind = 'measurement', title = '接线', max = 10 } },
  judges = { { judge = 'J1', name = '沈国强', organisation = '嘉兴技师学院' } },
}, '2025-06-01 09:00:00')
contest.enter('k1', 9, { at = '2025-06-01 09:00:00' })
contest.enter('k1', 10, { at = '2025-06-01 09:00:00' })
contest.mark('k1', 1, 'A1', 'yes', { at = '2025-06-01 10:00:00' })
contest.mark('k1', 2, 'A1', 'no', { at = '2025-06-01 10:00:00' })
contest.lock('k1', '2025-06-01 12:00:00')
contest.award_titles('k1', { at = '2025-06-02 09:00:00' })

-- retirement: member 12's certificate
retirement.define_collections()
assert(retirement.issue(12, 12, 2025, { at = '2025-07-01 09:00:00' }))

-- a third payment, on the last day of the year
assert(p:pay{ file = f.file_id, type = 'basket', amount_fen = 10000, approver = '王主席',
              date = '2025-12-31' })

local function cell(x)
  return { x.sessions, x.persons, x.person_times, x.household_times, x.money_fen }
end

t.case('by program: sessions, persons, person-times, household-times, money — counted by hand', function()
  local rep = yr.build(2025)
  t.eq(rep.diffs, {}, 'the log and the records agree')
  local P = rep.log.program
  t.eq(cell(P['春节送温暖']), { 1, 3, 4, 3, 65000 })   -- 户次 per kind: gift H1 m3, souvenir m3
  t.eq(cell(P['困难帮扶与医疗互助']), { 0, 1, 3, 3, 160000 })
  t.eq(cell(P['共富集市']), { 1, 2, 2, 0, 322 })             -- the cash sale: a session, no person
  t.eq(cell(P['职工技能竞赛']), { 1, 1, 1, 0, 0 })
  t.eq(cell(P['光荣退休']), { 0, 1, 1, 0, 0 })
  t.eq(cell(rep.log.total), { 3, 7, 11, 6, 225322 })         -- persons 1, 2, 3, 4, 5, 9, 12
end)

t.case('by town and enterprise, from the fact or the member', function()
  local rep = yr.build(2025)
  local T, E = rep.log.town, rep.log.enterprise
  -- towns: an award's and a title's from the member, a payment's from its file,
  -- a sale's from its vendor (V01 许村镇, V02 长安镇)
  t.eq(cell(T['硖石街道']), { 1, 3, 4, 3, 65000 })     -- the campaign's four entries
  t.eq(cell(T['许村镇']), { 1, 3, 5, 3, 160322 })      -- H4's aid; sales at V01 to 3 and 5
  t.eq(cell(T['长安镇']), { 2, 2, 2, 0, 0 })           -- the cash sale's day, 9's title, 12's certificate
  -- enterprises: the member's; a sale without a member has none
  t.eq(cell(E[1]), { 1, 2, 2, 1, 40000 })              -- members 1 and 2 (one household, one kind)
  t.eq(cell(E[2]), { 3, 4, 8, 5, 185322 })             -- members 3, 4, 5, 9
  t.eq(cell(E[3]), { 0, 1, 1, 0, 0 })                  -- member 12
  t.eq(cell(E['(无)']), { 1, 0, 0, 0, 0 })
  t.eq(rep.enterprise_names[2], '海宁恒达物流有限公司')
  local rows = yr.rows(rep, 'enterprise')
  t.eq(rows[1].name, '海宁恒达物流有限公司', 'enterprises by person-times')
end)

t.case('the report rebuilt twice is the same; replay = false only reads new events', function()
  local a = yr.build(2025)
  local b = yr.build(2025)
  t.eq(cell(b.log.total), cell(a.log.total))
  local n = db.year_facts:count()
  assert(p:pay{ file = f.file_id, type = 'basket', amount_fen = 100, approver = '王主席', date = '2025-04-01' })
  local d = yr.build(2025, { replay = false })
  t.eq(db.year_facts:count(), n + 1)
  t.eq(d.log.total.money_fen, a.log.total.money_fen + 100)
  t.eq(d.diffs, {})
end)

t.case('a record changed behind the programs back is a named difference', function()
  db.program_entries:update(souvenir.entry_id, { fen = 6000 })
  local rep = yr.build(2025)
  t.ok(#rep.diffs > 0)
  t.ok(table.concat(rep.diffs, '\n'):find('program 春节送温暖: money_fen 65000 (log) vs 66000 (records)', 1, true),
       table.concat(rep.diffs, '\n'))
  local text = yr.format(rep)
  t.ok(text:find('DISAGREE', 1, true))
  db.program_entries:update(souvenir.entry_id, { fen = 5000 })
  t.eq(yr.build(2025).diffs, {})
end)

t.case('the text summary and the workbook', function()
  local rep = yr.build(2025)
  local text = yr.format(rep)
  t.ok(text:find('2025年 为职工办实事', 1, true), text)
  t.ok(text:find('agree on every figure', 1, true), text)
  yr.xlsx(rep, 'year.xlsx')
  local fh = io.open('year.xlsx', 'rb')
  t.ok(fh and fh:read(2) == 'PK', 'a zip file')
  if fh then fh:close() end
end)

t.case('the workbook starts with the sheet 项目, as documented', function()
  yr.xlsx(yr.build(2025), 'year2.xlsx')
  local x = plugin.load 'xlsx'
  -- 驿站: the souvenir was given at station ST01 (a framework entry's place)
  t.eq(x.sheets('year2.xlsx'), '项目\t镇街\t企业\t驿站\t核对')
end)

t.case('the workbook writes a negative amount as it is (-1.50, not -2.50)', function()
  local rep = yr.build(2025)
  rep.log.total.money_fen = -150   -- corrections can outweigh a year's entries
  yr.xlsx(rep, 'year3.xlsx')
  local x = plugin.load 'xlsx'
  local h = x.read_open('year3.xlsx', '项目')
  local total
  while true do
    local b = x.read_row(h)
    if not b then break end
    local _row, n, pos = string.unpack('<I4I4', b)
    local cells = {}
    for i = 1, n do cells[i], pos = string.unpack('<s4', b, pos) end
    if cells[1] == '合计' then total = cells[n] end
  end
  x.read_close(h)
  t.ok(total and tonumber(total) == -1.5, 'the total row: ' .. tostring(total))
end)

t.case('a voided market sale counts in neither the log nor the records', function()
  local before = cell(yr.build(2025).log.program['共富集市'])
  local s = assert(mk:sell{ date = D, vendor = 'V01', product = 'P01', amount_fen = 500, member_id = 5,
                            at = D .. ' 11:00:00' })
  t.eq(yr.build(2025, { replay = false }).log.program['共富集市'].person_times, before[3] + 1)
  assert(mk:void(s.sale_id, 'entered by mistake'))
  t.eq(cell(yr.build(2025, { replay = false }).log.program['共富集市']), before,
       'brought up to date: the void takes the sale out')
  local rep = yr.build(2025)
  t.eq(cell(rep.log.program['共富集市']), before, 'the log replayed: as before the sale')
  t.eq(cell(rep.records.program['共富集市']), before, 'the records: as before the sale')
  t.eq(rep.diffs, {})
end)

t.case('household keys: one integer for a registry household, equal only when the key text is', function()
  local of, of_text = yr.household_keys()
  t.eq(math.type(of('c1', 'gift', nil, 'H1')), 'integer')
  t.eq(of('c1', 'gift', nil, 'H1'), of('c1', 'gift', nil, 'H1'))
  t.eq(math.type(of('aid', 'basket', '2025-03-05', 'm12')), 'integer')
  local seen, texts = {}, {}
  for _, k in ipairs{ { 'c1', 'gift', nil, 'H1' }, { 'c1', 'gift', nil, 'm1' }, { 'c1', 'gift', nil, 'h1' },
                      { 'c1', 'gift', nil, 'H10' }, { 'c1', 'souvenir', nil, 'H1' }, { 'c2', 'gift', nil, 'H1' },
                      { 'c1', 'gift', '2025-03-05', 'H1' }, { 'c1', 'gift', '2025-03-06', 'H1' },
                      { 'c1', 'gift', nil, 'H01' }, { 'c1', 'gift', nil, 'H001' }, { 'c1', 'gift', nil, '张家' },
                      { 'c1', 'gift', nil, 'H12345678901234' }, { 'c1', 'gift', nil, 'H1|x' } } do
    local key = of(k[1], k[2], k[3], k[4])
    t.ok(not seen[key], 'distinct: ' .. k[1] .. ' ' .. k[2] .. ' ' .. tostring(k[3]) .. ' ' .. k[4])
    seen[key] = true
  end
  -- leading zeros, names and numbers too long to pack keep their text
  t.eq(of('c1', 'gift', nil, 'H007'), 'c1|gift|H007')
  t.eq(math.type(of('c1', 'gift', nil, 'z99999999')), 'integer', 'a letter and 8 digits: packed')
  t.ok(of('c1', 'gift', nil, 'z99999999') ~= of('c1', 'gift', nil, 'Z99999999'))
  t.eq(of('c1', 'gift', nil, 'H123456789'), 'c1|gift|H123456789', '9 digits: the text')
  t.eq(of('c1', 'gift', '2025-01-02', '张家'), 'c1|gift|张家|2025-01-02')
  -- the log's keys: equal exactly when the texts are
  for _, s in ipairs{ 'c1|gift|H1', 'c1|gift|H1|', 'c1|gift|H1|2025-03-05', 'c1|gift|H12x', 'c1|gift|H1|x|y',
                      'c1|gift|H1|x', 'c1|gift|m1', 'c1|gif|tH1', 'c1|gift|H007', 'c1||H1', '|gift|H1',
                      'c1|gift|H1|2025-03-05|' } do
    local key = of_text(s)
    t.ok(texts[key] == nil, 'distinct: ' .. s .. ' and ' .. tostring(texts[key]))
    texts[key] = s
    t.eq(of_text(s), key, 'the same text, the same key: ' .. s)
  end
  t.eq(math.type(of_text('c1|gift|H1|2025-03-05')), 'integer')
  t.eq(of_text('c1|gift|H12x'), 'c1|gift|H12x')
end)

t.case("the household of one: of_one's key is of's key of the name 'm' .. member id, made without the name", function()
  local of, _, of_one = yr.household_keys()
  local ids = { 1, 2, 9, 10, 11, 35, 36, 99, 100, 101, 1000, 123456, 1000000, 9999999, 10000000, 12345678,
                99999999, 100000000, 123456789, 0, -1, -42, 7.5, 2^53 }
  for _, day in ipairs{ false, '2025-03-05' } do
    for _, prog in ipairs{ 'c1', 'aid' } do
      for _, id in ipairs(ids) do
        local want = of(prog, 'gift', day or nil, 'm' .. id)
        t.eq(of_one(prog, 'gift', day or nil, id), want, prog .. ' ' .. tostring(day) .. ' ' .. tostring(id))
      end
    end
  end
  t.eq(math.type(of_one('c1', 'gift', nil, 99999999)), 'integer', 'm and 8 digits: packed')
  t.eq(of_one('c1', 'gift', nil, 100000000), 'c1|gift|m100000000', '9 digits: the text')
  t.eq(of_one('c1', 'gift', nil, -1), 'c1|gift|m-1')
  t.ok(of_one('c1', 'gift', nil, 12) ~= of('c1', 'gift', nil, 'H12'))
  t.ok(of_one('c1', 'gift', nil, 12) ~= of('c1', 'gift', nil, 'M12'), "the m's case apart")
end)

t.case('a member first counted in the town of their entry, then in their own: the log and the records agree; a collection every entry changes no figure', function()
  local before = yr.build(2025)
  -- member 5's entries so far are market sales (the vendor's town); now a gift (the member's town)
  assert(c:enter{ member = 5, kind = 'gift', at = AT })
  local rep = yr.build(2025)
  t.eq(rep.diffs, {})
  t.eq(rep.log.total.persons, before.log.total.persons, 'member 5 was counted before')
  t.eq(rep.log.total.person_times, before.log.total.person_times + 1)
  local every = yr.GC_EVERY
  yr.GC_EVERY = 1
  local again = yr.build(2025)
  yr.GC_EVERY = every
  t.eq(yr.figures(again.log), yr.figures(rep.log))
  t.eq(yr.figures(again.records), yr.figures(rep.records))
end)

t.case('bad years are refused', function()
  t.raises(function() yr.build('2025') end, 'year must be a year like 2025, got 2025')
  t.raises(function() yr.build(99999) end, 'year must be a year')
end)

t.done()
