-- retirement_honors.lua — scripts/lib/retirement.lua: statutory retirement
-- ages at the month boundaries of the 2025 rules, who is due in a period (on
-- the fixed registry of program_fixtures.lua), certificates issued once with
-- numbers per union and year, verification of valid, mistyped, unknown and
-- revoked numbers, delivery, events, stroke-order lists.
local t = require 'testlib'
local fx = require 'program_fixtures'
local retirement = require 'retirement'
local cal = plugin.load 'cal'
fx.load()
retirement.define_collections()

local function age(g, b, post)
  local r = retirement.age(g, b, post)
  return { r.date, retirement.age_text(r) }
end

t.case('men: 60 before 1965; +1 month per 4 months of birth from January 1965; 63 from September 1976', function()
  t.eq(age('M', '1964-12-31'), { '2024-12-31', '60岁' })
  t.eq(age('M', '1965-01-15'), { '2025-02-15', '60岁1个月' })
  t.eq(age('M', '1965-04-30'), { '2025-05-30', '60岁1个月' })
  t.eq(age('M', '1965-05-01'), { '2025-07-01', '60岁2个月' })
  t.eq(age('M', '1970-01-01'), { '2031-05-01', '61岁4个月' })
  t.eq(age('M', '1976-08-31'), { '2039-07-31', '62岁11个月' })
  t.eq(age('M', '1976-09-01'), { '2039-09-01', '63岁' })
  t.eq(age('M', '1990-06-15'), { '2053-06-15', '63岁' })
end)

t.case("women of 55 ('cadre'): +1 per 4 months from January 1970; 58 from September 1981", function()
  t.eq(age('F', '1969-12-31', 'cadre'), { '2024-12-31', '55岁' })
  t.eq(age('F', '1970-01-01', 'cadre'), { '2025-02-01', '55岁1个月' })
  t.eq(age('F', '1970-05-01', 'cadre'), { '2025-07-01', '55岁2个月' })
  t.eq(age('F', '1970-12-31', 'cadre'), { '2026-03-31', '55岁3个月' })
  t.eq(age('F', '1981-08-01', 'cadre'), { '2039-07-01', '57岁11个月' })
  t.eq(age('F', '1981-09-01', 'cadre'), { '2039-09-01', '58岁' })
end)

t.case("women of 50 ('worker'): +1 per 2 months from January 1975; 55 from November 1984", function()
  t.eq(age('F', '1974-12-31', 'worker'), { '2024-12-31', '50岁' })
  t.eq(age('F', '1975-01-31', 'worker'), { '2025-02-28', '50岁1个月' })   -- 31st -> month end
  t.eq(age('F', '1975-02-28', 'worker'), { '2025-03-28', '50岁1个月' })
  t.eq(age('F', '1975-03-01', 'worker'), { '2025-05-01', '50岁2个月' })
  t.eq(age('F', '1984-10-01', 'worker'), { '2039-09-01', '54岁11个月' })
  t.eq(age('F', '1984-11-01', 'worker'), { '2039-11-01', '55岁' })
end)

t.case('bad arguments are errors that say what is expected', function()
  t.raises(function() retirement.age('F', '1975-01-01') end, "post must be 'worker'")
  t.raises(function() retirement.age('X', '1975-01-01') end, "gender must be 'M' or 'F'")
  t.raises(function() retirement.age('M', '1975-02-30') end, 'expected a date')
end)

t.case('who is due in 2025: active members, by union subtree, in stroke order', function()
  local due = retirement.due('2025-01-01', '2025-12-31')
  local got = {}
  for _, r in ipairs(due) do got[#got + 1] = { r.member_id, r.name, r.retire_date, r.age, r.defaulted } end
  t.eq(got, { { 1, '王建国', '2025-02-15', '60岁1个月', false },
              { 5, '陈静', '2025-03-28', '50岁1个月', false } })
  t.eq(#retirement.due('2025-01-01', '2025-12-31', 2), 1)          -- 硖石: member 1 only
  t.eq(#retirement.due('2024-12-31', '2024-12-31'), 1)              -- member 8, the old rule
  t.eq(retirement.due('2026-01-01', '2026-12-31')[1].member_id, 7)  -- a cadre: 55岁3个月
end)

t.case('stroke order (cal.stroke_key): count, then first stroke, then the next characters', function()
  local names = { '陈静', '王建国', '丁一', '黄河', '李秀英', '张伟', '马丽', '王二' }
  table.sort(names, function(a, b) return cal.stroke_key(a) < cal.stroke_key(b) end)
  -- 丁 2 strokes, 马 3, 王 4 (王二 before 王建国: 二 2, 建 8), 李 7 (first stroke 横) before
  -- 张 and 陈 (7, 折; then 横 before 竖), 黄 11
  t.eq(names, { '丁一', '马丽', '王二', '王建国', '李秀英', '张伟', '陈静', '黄河' })
  t.eq({ cal.strokes('魏'), cal.stroke_order('魏'):sub(1, 3) }, { 17, '撇' })
end)

t.case('the due list is in stroke order, equal names by member_id', function()
  local due = retirement.due('2020-01-01', '2040-12-31')
  for i = 2, #due do
    local a, b = cal.stroke_key(due[i - 1].name), cal.stroke_key(due[i].name)
    t.ok(a < b or (a == b and due[i - 1].member_id < due[i].member_id), due[i - 1].name .. ' before ' .. due[i].name)
  end
  t.ok(#due >= 3, 'several members due')
end)

local A = '2025-03-01 10:00:00'
local c1, c5

t.case('certificates: numbered per union and year with a check character, once per member', function()
  local st
  c1, st = retirement.issue(1, 2, 2025, { at = A, retire_date = '2025-02-15' })
  t.eq({ c1.cert_no, st }, { '2025-0002-0001-' .. require('checkchar').mod11_2('202500020001'), 'issued' })
  c5 = retirement.issue(5, 2, 2025, { at = A })
  t.eq(c5.seq, 2)
  t.eq(retirement.issue(10, 3, 2025, { at = A }).seq, 1)            -- another union starts at 1
  t.eq(retirement.issue(12, 2, 2026, { at = A }).seq, 1)            -- another year too
  local again, st2 = retirement.issue(1, 2, 2025, { at = A })
  t.eq({ again.cert_no, st2 }, { c1.cert_no, 'already' })
  t.eq(db.certificates:count(), 4)
  local ev = bus.events{ topic = 'certificate.issued' }
  t.eq(#ev, 4)
  t.eq(ev[1].payload, { cert_no = c1.cert_no, kind = 'retirement', member_id = 1, union_id = 2, year = 2025 })
end)

t.case('verification: valid, typed with spaces, mistyped (every single digit), unknown, revoked', function()
  local v = retirement.verify(c1.cert_no)
  t.eq({ v.status, v.holder, v.id, v.union }, { 'valid', '王*国', fx.id(1):sub(1, 6) .. '********' .. fx.id(1):sub(-4), '硖石街道总工会' })
  t.eq(retirement.verify((c1.cert_no:gsub('%-', ' '))).status, 'valid')
  local digits = c1.cert_no:gsub('%-', '')
  for i = 1, 12 do
    for d = 0, 9 do
      local typo = digits:sub(1, i - 1) .. d .. digits:sub(i + 1)
      if typo ~= digits then t.eq(retirement.verify(typo).status, 'mistyped', typo) end
    end
  end
  local swapped = digits:sub(1, 3) .. digits:sub(5, 5) .. digits:sub(4, 4) .. digits:sub(6)  -- 2025 0 -> 2020 5
  t.eq(retirement.verify(swapped).status, 'mistyped')
  t.eq(retirement.verify('2025-0002-0099-' .. require('checkchar').mod11_2('202500020099')).status, 'unknown')
  t.eq(retirement.verify('hello').status, 'mistyped')
  t.eq(retirement.revoke(c5.cert_no, '重复申报', A), true)
  t.eq(retirement.revoke(c5.cert_no, '重复申报', A), false)
  local r = retirement.verify(c5.cert_no)
  t.eq({ r.status, r.reason }, { 'revoked', '重复申报' })
  t.raises(function() retirement.revoke(c1.cert_no) end, 'give the reason')
  t.eq(#bus.events{ topic = 'certificate.revoked' }, 1)
end)

t.case('delivery: ceremony or online, once; not for a revoked certificate', function()
  t.eq(retirement.deliver(c1.cert_no, 'ceremony', A), true)
  t.eq(retirement.deliver(c1.cert_no, 'online', A), false)
  t.eq(db.certificates:get(c1.cert_no).delivery, 'ceremony')
  t.raises(function() retirement.deliver(c5.cert_no, 'online') end, 'is revoked')
  t.raises(function() retirement.deliver(c1.cert_no, 'post') end, "'ceremony' or 'online'")
  t.eq(#bus.events{ topic = 'certificate.delivered' }, 1)
end)

t.case('a union past 9,999 certificates a year: 17-character numbers, still checked; old numbers unchanged', function()
  local cc = require 'checkchar'
  t.eq(retirement.number(2025, 2, 1), '2025-0002-0001-5')            -- the form every old number has
  t.eq(retirement.number(2025, 11, 1), '2025-0011-0001-6')
  t.eq(retirement.number(2025, 2, 9999), '2025-0002-9999-' .. cc.mod11_2('202500029999'))
  t.eq(retirement.number(2025, 11, 10000), '2025-000011-010000-1')   -- README's example
  t.eq(retirement.number(2025, 12345, 1), '2025-012345-000001-' .. cc.mod11_2('2025012345000001'))
  -- union 3 has issued 9,999 in 2027 (the last of them stands for all: the next
  -- sequence is the last one's plus one)
  db.certificates:insert{ cert_no = retirement.number(2027, 3, 9999), kind = 'fixture', member_id = 9,
                          union_id = 3, year = 2027, seq = 9999, issued_at = A, status = 'valid', delivery = 'pending' }
  local c, st = retirement.issue(2, 3, 2027, { at = A })
  t.eq({ c.cert_no, c.seq, st }, { '2027-000003-010000-' .. cc.mod11_2('2027000003010000'), 10000, 'issued' })
  t.eq(#c.cert_no, 20)
  t.eq(retirement.issue(4, 3, 2027, { at = A }).cert_no, '2027-000003-010001-' .. cc.mod11_2('2027000003010001'))
  local v = retirement.verify(c.cert_no)
  t.eq({ v.status, v.holder }, { 'valid', '李*英' })
  t.eq(retirement.verify((c.cert_no:gsub('%-', ''))).status, 'valid')          -- typed without dashes
  t.eq(retirement.verify((c.cert_no:gsub('%-', ' '))).status, 'valid')
  local digits = c.cert_no:gsub('%-', '')
  for i = 1, 16 do
    for d = 0, 9 do
      local typo = digits:sub(1, i - 1) .. d .. digits:sub(i + 1)
      if typo ~= digits then t.eq(retirement.verify(typo).status, 'mistyped', typo) end
    end
  end
  t.eq(retirement.verify(digits:sub(1, 16)).status, 'mistyped')                -- a digit left out
  t.eq(retirement.verify(digits .. '1').status, 'mistyped')
  -- the numbers issued before still verify, as they were
  t.eq({ retirement.verify(c1.cert_no).status, #c1.cert_no }, { 'valid', 16 })
  t.eq(retirement.verify((c1.cert_no:gsub('%-', ''))).status, 'valid')
  t.eq(retirement.verify(c5.cert_no).status, 'revoked')
  t.eq(retirement.deliver(c.cert_no, 'online', A), true)
end)

t.case('past 999,999 a union a year, or a union past 999,999: a refusal, nothing written', function()
  t.eq(retirement.number(2025, 2, 1000000), nil)
  t.eq(retirement.number(2025, 2, 999999), '2025-000002-999999-' .. require('checkchar').mod11_2('2025000002999999'))
  local no, why = retirement.number(2025, 1000000, 1)
  t.eq(no, nil); t.ok(why:find('1000000', 1, true), why)
  t.eq(select(2, retirement.number(20250, 2, 1)), 'the year of a certificate is a year of 4 digits, got 20250')
  db.certificates:insert{ cert_no = retirement.number(2028, 2, 999999), kind = 'fixture', member_id = 8,
                          union_id = 2, year = 2028, seq = 999999, issued_at = A, status = 'valid', delivery = 'pending' }
  local n, ev = db.certificates:count(), #bus.events{ topic = 'certificate.issued' }
  local c, st, why2 = retirement.issue(7, 2, 2028, { at = A })
  t.eq({ c, st }, { nil, 'full' })
  t.ok(why2:find('union 2 has numbered 999999 certificates in 2028', 1, true), why2)
  t.eq({ db.certificates:count(), #bus.events{ topic = 'certificate.issued' } }, { n, ev })
  t.eq(db.certificates:find('kind,member_id', { 'retirement', 7 }), nil)
end)

t.case('birth windows: every birth that retires in the period is inside one (day by day, every rule)', function()
  local dates = require 'dates'
  for _, p in ipairs{ { '2025-01-01', '2025-12-31' }, { '2031-01-01', '2031-12-31' }, { '2025-02-01', '2025-02-28' },
                      { '2024-12-31', '2024-12-31' }, { '2039-07-01', '2039-09-30' }, { '2020-01-01', '2040-12-31' } } do
    local from, to = p[1], p[2]
    local lo, hi = dates.add_months(from, -(63 * 12 + 1)), dates.add_months(to, -50 * 12)
    local ws = retirement.birth_windows(from, to, lo, hi)
    for i, w in ipairs(ws) do
      t.ok(w.from <= w.to and w.from >= lo and w.to <= hi, 'window inside the range')
      if i > 1 then t.ok(dates.day(ws[i - 1].to) + 1 < dates.day(w.from), 'windows disjoint, not adjacent') end
    end
    local j, missed = 1, 0
    for z = dates.day(lo), dates.day(hi) do
      local b = dates.iso(z)
      while ws[j] and ws[j].to < b do j = j + 1 end
      local inside = ws[j] ~= nil and ws[j].from <= b
      for _, r in ipairs{ { 'M' }, { 'F', 'cadre' }, { 'F', 'worker' } } do
        local d = retirement.age(r[1], b, r[2]).date
        if d >= from and d <= to and not inside then missed = missed + 1 end
      end
    end
    t.eq(missed, 0, from .. ' .. ' .. to)
  end
  -- a year's windows are about two years of births of the 14 scanned before
  local ws, days = retirement.birth_windows('2025-01-01', '2025-12-31', '1961-11-01', '1975-12-31'), 0
  for _, w in ipairs(ws) do days = days + dates.day(w.to) - dates.day(w.from) + 1 end
  t.ok(days < 2 * 366 + 62, days .. ' days of births')
end)

t.case('due() on a registry without the birth_date index (defined before it): the same lists', function()
  local periods = { { '2025-01-01', '2025-12-31' }, { '2024-12-31', '2024-12-31' }, { '2026-01-01', '2026-12-31' },
                    { '2020-01-01', '2040-12-31' }, { '2039-09-01', '2039-11-30' } }
  local function lists()
    local out = {}
    for _, p in ipairs(periods) do
      for _, u in ipairs{ false, 2, 3 } do
        for _, post in ipairs{ 'worker', 'cadre' } do
          out[#out + 1] = retirement.due(p[1], p[2], u or nil, { women_post = post })
        end
      end
    end
    return out
  end
  local with = lists()
  local s = db.members:schema()
  local index = {}
  for _, ix in ipairs(s.index) do
    if ix ~= 'birth_date' then
      local f = {}
      for name in ix:gmatch('[^,]+') do f[#f + 1] = name end
      index[#index + 1] = #f == 1 and f[1] or f
    end
  end
  db.define('members', { key = s.key, fields = s.fields, unique = s.unique, index = index, scope = s.scope })
  t.eq(#db.members:schema().index, #s.index - 1)
  local without = lists()
  require('registry').define_members()                 -- the first define builds it again
  t.eq(db.members:schema().index[#s.index], 'birth_date')
  t.eq(without, with)
  t.eq(lists(), with)
  t.ok(#with[1] > 0 and #with[7] > 0, 'some are due')
end)

t.case('issue_all: the numbers of issue() in turn, once per member; full stops it; an error stores nothing', function()
  local cc = require 'checkchar'
  local ev = #bus.events{ topic = 'certificate.issued' }
  local n, refused = retirement.issue_all({ { member_id = 1 }, { member_id = 3, retire_date = '2029-05-01' },
                                            { member_id = 6 } }, 3, 2029, { at = A })
  t.eq({ n, refused }, { { issued = 2, already = 1 }, nil })
  local c3 = db.certificates:find('kind,member_id', { 'retirement', 3 })
  t.eq({ c3.cert_no, c3.seq, c3.retire_date }, { '2029-0003-0001-' .. cc.mod11_2('202900030001'), 1, '2029-05-01' })
  t.eq(db.certificates:find('kind,member_id', { 'retirement', 6 }).cert_no, '2029-0003-0002-' .. cc.mod11_2('202900030002'))
  t.eq(#bus.events{ topic = 'certificate.issued' }, ev + 2)
  local e = db.program_entries:find('program,key', { 'retirement', c3.cert_no })
  t.eq({ e.member_id, e.day, e.union_id }, { 3, '2029-05-01', 3 })
  t.eq(retirement.issue(7, 3, 2029, { at = A }).seq, 3)               -- issue() goes on from there
  -- union 3's numbers for 2030 are used up: nothing more, and how many are left
  db.certificates:insert{ cert_no = retirement.number(2030, 3, 999999), kind = 'fixture', member_id = 12,
                          union_id = 3, year = 2030, seq = 999999, issued_at = A, status = 'valid', delivery = 'pending' }
  local n2, why, left = retirement.issue_all({ { member_id = 1 }, { member_id = 9 }, { member_id = 11 } }, 3, 2030, { at = A })
  t.eq({ n2, left }, { { issued = 0, already = 1 }, 2 })
  t.ok(why:find('union 3 has numbered 999999 certificates in 2030', 1, true), why)
  -- an error (no member 99) rolls back the certificate before it
  local count = db.certificates:count()
  t.raises(function() retirement.issue_all({ { member_id = 9 }, { member_id = 99 } }, 3, 2031, { at = A }) end, 'no member 99')
  t.eq({ db.certificates:count(), db.certificates:find('kind,member_id', { 'retirement', 9 }) }, { count, nil })
  t.raises(function() retirement.issue_all({ { member_id = 9 } }, 77, 2031, { at = A }) end, 'no union 77')
  t.eq(retirement.issue_all({}, 77, 2031), { issued = 0, already = 0 })   -- nobody on the list: nothing asked
end)

t.done()
