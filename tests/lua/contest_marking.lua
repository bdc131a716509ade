-- contest_marking.lua — scripts/lib/contest.lua on a fixed dataset whose
-- every total and rank was worked out by hand (the table below): scheme
-- versions until the first mark, judges never from a contestant's
-- enterprise, measurement and judgement marks, spread flags, locking and the
-- change log, ranking with shared ranks (1, 2, 2, 4, ...) and a declared
-- tie-break order, titles once each, certificates and their verification.
local t = require 'testlib'
local fx = require 'program_fixtures'
local contest = require 'contest'
local checkchar = require 'checkchar'
fx.load()
contest.define_collections()

local AT = '2025-05-10 09:00:00'
local ID = 'cnc-2025'

local EXTRA_JUDGE     -- J4, once assigned (the judge-conflict case)

local function spec(changes)
  local s = {
    id = ID, title = '2025年海宁市职工技能大赛·数控车工', year = 2025, trade = '数控车工', union_id = 1,
    spread = 1, tie_break = { 'B1', 'A1' },
    titles = { top = 3 },
    aspects = {
      { code = 'A1', kind = 'measurement', title = '外圆 Φ40', max = '10.00', nominal = '40.000',
        minus = '0.025', plus = '0', unit = 'mm' },
      { code = 'A2', kind = 'measurement', title = '无毛刺', max = 5 },
      { code = 'B1', kind = 'judgement', title = '表面质量', max = '9.00' },
      { code = 'B2', kind = 'judgement', title = '工艺规范', max = 6.0 },
    },
    judges = {
      { judge = 'J1', name = '沈国强', organisation = '嘉兴技师学院' },
      { judge = 'J2', name = '钱伟', enterprise_id = 4 },
      { judge = 'J3', name = '孙丽', organisation = '海宁职业高级中学' },
    },
  }
  if EXTRA_JUDGE then s.judges[4] = EXTRA_JUDGE end
  for k, v in pairs(changes or {}) do s[k] = v end
  return s
end

t.case('setup: version 1, the same spec again changes nothing, a revised scheme is version 2', function()
  local c, what = contest.setup(spec(), AT)
  t.eq({ c.version, what, c.title_rule }, { 1, 'new', { title = '操作技术能手', top = 3 } })
  t.eq(db.contest_judges:count(), 3)
  t.eq(select(2, contest.setup(spec(), AT)), 'same')
  -- a judge no longer in the file (and who has not scored) is taken off
  contest.assign_judge(ID, { judge = 'J9', name = '吴临时', organisation = '海宁技师学院' }, AT)
  local _, _, notes = contest.setup(spec(), AT)
  t.eq(notes, { 'judge J9 (吴临时) is no longer listed: taken off the contest' })
  t.eq(db.contest_judges:count(), 3)
  local s = spec()
  s.aspects[1].plus = '0.005'
  c, what = contest.setup(s, AT)
  t.eq({ c.version, what }, { 2, 'revised' })
  t.eq(contest.scheme(ID, 1).status, 'superseded')
  t.eq(contest.scheme(ID, 2).max_total, 3000)
  -- back to the first scheme: version 3, the one marked below
  c, what = contest.setup(spec(), AT)
  t.eq({ c.version, what }, { 3, 'revised' })
  local list = contest.aspects(ID, 3)
  t.eq({ list[1].nominal, list[1].minus, list[1].plus, list[2].max, list[4].max },
       { 40000000, 25000, 0, 500, 600 })
end)

t.case('bad schemes are refused with what and where, and nothing is stored', function()
  local function bad(changes, subs) t.unchanged(function() contest.setup(spec(changes), AT) end, subs) end
  bad({ tie_break = { 'B9' } }, { "contest 'cnc-2025'", 'tie_break names aspect B9' })
  bad({ spread = 4 }, { 'spread must be a whole number 0-3' })
  bad({ titles = {} }, { 'titles needs top = N' })
  bad({ year = 25 }, { 'year must be a year like 2025' })
  local s = spec().aspects
  s[3] = { code = 'B1', kind = 'judgement', title = '表面质量', max = '9.001' }
  bad({ aspects = s }, { 'aspect B1: max', '9.001 has more than 2 decimal places' })
  s[3] = { code = 'B1', kind = 'opinion', title = '表面质量', max = 9 }
  bad({ aspects = s }, { "aspect B1: kind must be 'measurement' or 'judgement'" })
  s[3] = { code = 'A1', kind = 'judgement', title = '表面质量', max = 9 }
  bad({ aspects = s }, { 'aspect A1 appears twice' })
  s[3] = { code = 'B1', kind = 'judgement', title = '表面质量', max = 9, nominal = 3 }
  bad({ aspects = s }, { 'a judgement aspect has no nominal value' })
  s[3] = { code = 'B1', kind = 'measurement', title = '表面质量', max = 9, tolerance = '0.1' }
  bad({ aspects = s }, { 'a tolerance needs a nominal value' })
end)

-- bibs 1..6: members 1, 2, 3, 4, 10, 11 (enterprises 1, 1, 2, 2, 1, 2)
local ENTRANTS = { 1, 2, 3, 4, 10, 11 }

t.case('contestants: by ID number or member id, bibs in order, once each', function()
  for i, m in ipairs(ENTRANTS) do
    local e, st = contest.enter(ID, i % 2 == 1 and fx.id(m) or m, { at = AT })
    t.eq({ e.bib, e.member_id, st }, { i, m, 'entered' })
  end
  t.eq(select(2, contest.enter(ID, fx.id(3))), 'already')
  t.unchanged(function() contest.enter(ID, 99) end, { 'no member with member_id 99' })
  t.unchanged(function() contest.enter(ID, '330481199001011235') end, { 'not a valid ID number', 'check character' })
  t.unchanged(function() contest.enter(ID, 12, { bib = 2 }) end, { 'bib 2 is already 李秀英' })
end)

t.case('judge conflict: a judge from a contestant\'s enterprise is refused, naming judge, contestant, enterprise', function()
  -- J5 works at enterprise 2, where 张伟 (bib 3) and 刘洋 (bib 4) work
  t.unchanged(function() contest.assign_judge(ID, { judge = 'J5', name = '周强', enterprise_id = 2 }, AT) end,
    { 'judge J5 (周强)', '海宁恒达物流有限公司 (enterprise 2)', 'contestant 张伟 (bib 3)' })
  -- a judge who is a member brings the enterprise from the registry: 赵敏 is at enterprise 3
  local j, st = contest.assign_judge(ID, { judge = 'J4', id_number = fx.id(7) }, AT)
  t.eq({ j.name, j.enterprise_id, j.member_id, st }, { '赵敏', 3, 7, 'assigned' })
  EXTRA_JUDGE = { judge = 'J4', id_number = fx.id(7) }
  -- now nobody from enterprise 3 may enter: 黄河 (member 8) is refused
  t.unchanged(function() contest.enter(ID, 8) end,
    { 'contestant 黄河', '海宁华星纺织有限公司 (enterprise 3)', 'judge J4 (赵敏)' })
  -- and J2 cannot be moved to enterprise 1
  t.unchanged(function() contest.assign_judge(ID, { judge = 'J2', name = '钱伟', enterprise_id = 1 }) end,
    { 'judge J2 (钱伟)', 'contestant 王建国 (bib 1)' })
end)

-- The marks, and by hand (hundredths):
--   A1 10.00 if 39.975 <= x <= 40.000 else 0;  A2 5.00 if yes;
--   B1 max 9.00: 100 per score point;  B2 max 6.00: 600 * sum / 9 rounded half up
--   (6 -> 400, 5 -> 333, 8 -> 533, 9 -> 600)
--   bib  A1              A2        B1            B2                total  rank
--   1    39.990  1000   yes 500   3,3,2  800    3,3,3  600          2900   1
--   2    39.990  1000   yes 500   2,3,2  700    2,2,2  400          2600   2   } equal on total, B1, A1:
--   3    40.000  1000   yes 500   3,2,2  700    3,2,1  400 flagged  2600   2   } a shared rank
--   4    39.980  1000   no    0   2,2,2  600    3,3,2  533          2133   4   } equal totals: B1 decides
--   5    39.975  1000   yes 500   1,1,1  300    2,2,1  333          2133   5   }
--   6    40.030     0   yes 500   3,3,3  900    3,3,3  600          2000   6
local MARKS = {
  { '39.990', 'yes', 'J1:3 J2:3 J3:2', 'J1:3 J2:3 J3:3' },
  { '39.990', 'yes', 'J1:2 J2:3 J3:2', 'J1:2 J2:2 J3:2' },
  { '40.000', 'yes', 'J1:3 J2:2 J3:2', 'J1:3 J2:2 J3:1' },
  { '39.98',  'no',  'J1:2 J2:2 J3:2', 'J1:3 J2:3 J4:2' },
  { 39.975,   true,  'J1:2 J2:1 J3:0', 'J1:2 J2:2 J3:1' },   -- B1 re-scored below (spread 2)
  { '40.030', 'yes', { J1 = 3, J2 = 3, J3 = 3 }, 'J1:3 J2:3 J3:3' },
}
local CODES = { 'A1', 'A2', 'B1', 'B2' }

t.case('the first mark freezes the scheme: a changed scheme is refused from then on', function()
  local s, st = contest.mark(ID, 1, 'A1', MARKS[1][1], { at = AT })
  t.eq({ s.mark, s.version, st }, { 1000, 3, 'marked' })
  local c = db.contests:get(ID)
  t.eq({ c.frozen_version, c.frozen_at, contest.scheme(ID, 3).status }, { 3, AT, 'frozen' })
  local changed = spec()
  changed.aspects[3].max = '10.00'
  t.unchanged(function() contest.setup(changed, AT) end,
    { "contest 'cnc-2025': the marking scheme is frozen (version 3", 'cannot change once marking has started' })
  t.eq(select(2, contest.setup(spec(), AT)), 'same')      -- the same scheme is fine
  t.eq(#bus.events{ topic = 'contest.scheme.frozen' }, 1)
end)

t.case('marking the fixed dataset: tolerance edges, yes/no, judges\' averages, a spread flag', function()
  for bib, row in ipairs(MARKS) do
    for i, code in ipairs(CODES) do contest.mark(ID, bib, code, row[i], { at = AT }) end
  end
  local function mark(bib, code) return db.contest_scores:find('contest,bib,aspect', { ID, bib, code }) end
  t.eq({ mark(3, 'A1').mark, mark(5, 'A1').mark, mark(6, 'A1').mark }, { 1000, 1000, 0 })   -- 40.000 and 39.975 in
  t.eq({ mark(4, 'A2').mark, mark(5, 'A2').mark }, { 0, 500 })
  t.eq({ mark(4, 'B2').mark, mark(5, 'B2').mark }, { 533, 333 })
  t.eq({ mark(3, 'B2').flagged, mark(3, 'B2').mark }, { true, 400 })
  t.eq({ mark(5, 'B1').flagged, mark(5, 'B1').mark }, { true, 300 })
  t.eq(mark(4, 'A1').measured, 39980000)
  t.eq(contest.input_text(mark(4, 'B2')), 'J1:3 J2:3 J4:2')
  t.eq(#bus.events{ topic = 'contest.marked', limit = 100 }, 24)
  t.eq(#bus.events{ topic = 'contest.flagged' }, 2)
end)

t.case('bad marks are refused with where and what, and nothing is stored', function()
  local function bad(bib, code, input, subs) t.unchanged(function() contest.mark(ID, bib, code, input) end, subs) end
  bad(9, 'A1', '40', { "contest 'cnc-2025' has no contestant with bib 9" })
  bad(1, 'C1', '40', { 'has no aspect C1 (its aspects: A1, A2, B1, B2)' })
  bad(1, 'A1', '40,01', { "contest 'cnc-2025', bib 1, aspect A1", 'expected a number like 12.5' })
  bad(1, 'A2', 'maybe', { 'write yes or no' })
  bad(1, 'B1', 'J1:3 J2:3', { 'needs the scores of three judges, got 2' })
  bad(1, 'B1', 'J1:3 J2:4 J3:3', { 'judge J2 scored 4: scores are 0, 1, 2 or 3' })
  bad(1, 'B1', 'J1:3 J2:3 J9:3', { "judge J9 is not assigned to contest 'cnc-2025'" })
  bad(1, 'B1', '3 3 3', { "written 'J1:2 J2:3 J3:2'" })
  -- a judge whose enterprise was edited by hand to a contestant's is still refused when scoring
  local j = db.contest_judges:find('contest,judge', { ID, 'J2' })
  db.contest_judges:update(j.judge_id, { enterprise_id = 1 })
  bad(1, 'B1', 'J1:3 J2:3 J3:3', { 'judge J2 (钱伟) is from 海宁环境卫生有限公司 (enterprise 1)', 'contestant 王建国' })
  db.contest_judges:update(j.judge_id, { enterprise_id = 4 })
end)

t.case('lock: refused while flags are open; re-scoring and accepting clear them', function()
  t.unchanged(function() contest.lock(ID, AT) end,
    { 'cannot be locked: 2 judgement(s) flagged', 'bib 3: B2 (J1:3 J2:2 J3:1)', 'bib 5: B1 (J1:2 J2:1 J3:0)' })
  -- bib 5's judges score B1 again: a change before the lock needs no reason, and is recorded
  local s, st = contest.mark(ID, 5, 'B1', 'J1:1 J2:1 J3:1', { at = AT })
  t.eq({ s.mark, s.flagged, st }, { 300, false, 'changed' })
  local ch = contest.changes(ID, 5)
  t.eq({ #ch, ch[1].old, ch[1].new, ch[1].old_mark, ch[1].new_mark, ch[1].after_lock, ch[1].reason },
       { 1, 'J1:2 J2:1 J3:0', 'J1:1 J2:1 J3:1', 300, 300, false, nil })
  t.eq(select(2, contest.mark(ID, 5, 'B1', 'J3:1 J1:1 J2:1')), 'same')    -- same scores, in another order
  t.raises(function() contest.accept(ID, 3, 'B2', '') end, 'needs a reason')
  t.eq(contest.accept(ID, 3, 'B2', '裁判长复核：工艺路线确有分歧', AT), true)
  t.eq(contest.accept(ID, 3, 'B2', 'again', AT), false)
end)

t.case('ranking: hand-checked totals; 1, 2, 2, 4 with a shared rank; B1 breaks the 21.33 tie', function()
  local rows = contest.ranking(ID)
  local got = {}
  for i, r in ipairs(rows) do got[i] = { r.rank, r.bib, r.total } end
  t.eq(got, { { 1, 1, 2900 }, { 2, 2, 2600 }, { 2, 3, 2600 }, { 4, 4, 2133 }, { 5, 5, 2133 }, { 6, 6, 2000 } })
  t.eq(rows[1].marks, { A1 = 1000, A2 = 500, B1 = 800, B2 = 600 })
  -- the declared order matters: with A2 first, bib 5 (A2 5.00) goes before bib 4 (A2 0)
  local other = spec{ id = 'cnc-2025-b', tie_break = { 'A2', 'B1' }, judges = {} }
  EXTRA_JUDGE = nil
  contest.setup(other, AT)
  EXTRA_JUDGE = { judge = 'J4', id_number = fx.id(7) }
  for _, e in ipairs(db.contest_entries:list{ index = 'contest,bib', eq = { ID } }) do
    contest.enter('cnc-2025-b', e.member_id, { bib = e.bib, at = AT })
  end
  for _, j in ipairs(spec().judges) do contest.assign_judge('cnc-2025-b', j, AT) end
  contest.assign_judge('cnc-2025-b', { judge = 'J4', id_number = fx.id(7) }, AT)
  for s in db.contest_scores:scan{ contest = ID } do
    contest.mark('cnc-2025-b', s.bib, s.aspect, contest.input_text(s), { at = AT })
  end
  got = {}
  for i, r in ipairs(contest.ranking('cnc-2025-b')) do got[i] = { r.rank, r.bib } end
  t.eq(got, { { 1, 1 }, { 2, 2 }, { 2, 3 }, { 4, 5 }, { 5, 4 }, { 6, 6 } })
  -- unmarked contestants come last, without a rank
  contest.enter('cnc-2025-b', 9, { at = AT })
  local last = contest.ranking('cnc-2025-b')[7]
  t.eq({ last.rank, last.member_id, last.complete }, { nil, 9, false })
  t.unchanged(function() contest.lock('cnc-2025-b') end, { 'cannot be locked: 4 mark(s) missing: bib 7: A1; bib 7: A2' })
end)

t.case('a contestant who withdraws: no rank, no marks, and the lock no longer waits', function()
  t.unchanged(function() contest.withdraw('cnc-2025-b', 7, '') end, { 'a withdrawal needs a reason' })
  t.unchanged(function() contest.withdraw('cnc-2025-b', 8, '未到场') end, { 'has no contestant with bib 8' })
  t.eq(contest.withdraw('cnc-2025-b', 7, '未到场', AT), true)
  t.eq(contest.withdraw('cnc-2025-b', 7, '未到场', AT), false)
  local last = contest.ranking('cnc-2025-b')[7]
  t.eq({ last.rank, last.bib, last.withdrawn }, { nil, 7, '未到场' })
  t.unchanged(function() contest.mark('cnc-2025-b', 7, 'A1', '40') end, { 'bib 7 (周涛) has withdrawn (未到场): no marks' })
  t.eq(contest.accept('cnc-2025-b', 3, 'B2', '同主赛场复议结论', AT), true)
  t.eq(contest.lock('cnc-2025-b', AT), true)
  t.eq(bus.events{ topic = 'contest.locked' }[1].payload.entries, 6)
  t.eq(#bus.events{ topic = 'contest.withdrawn' }, 1)
  t.unchanged(function() contest.withdraw('cnc-2025-b', 1, '弃权', AT) end, { 'is locked', 'can no longer withdraw' })
end)

t.case('a judge who has scored stays on the record when left out of the file', function()
  local s = spec{ id = 'cnc-2025-b', tie_break = { 'A2', 'B1' } }
  s.judges[4] = nil
  local _, what, notes = contest.setup(s, AT)
  t.eq(what, 'same')
  t.eq(#notes, 1)
  t.ok(notes[1]:find("judge J4 (赵敏) has scored (bib 4, B2) and stays on the contest's record, although no longer listed", 1, true), notes[1])
  t.ok(db.contest_judges:find('contest,judge', { 'cnc-2025-b', 'J4' }))
  t.unchanged(function() contest.unassign_judge('cnc-2025-b', 'J7') end, { "contest 'cnc-2025-b' has no judge J7" })
end)

t.case('titles wait for the lock; the lock is once; then titles by rule with certificates', function()
  t.unchanged(function() contest.award_titles(ID, { at = AT }) end, { 'is not locked yet' })
  t.eq(contest.lock(ID, AT), true)
  t.eq(contest.lock(ID, AT), false)
  t.eq(#bus.events{ topic = 'contest.locked' }, 2)
  t.unchanged(function() contest.enter(ID, 12) end, { 'is locked', 'no new contestants' })
  local r = contest.award_titles(ID, { at = AT })
  local got = {}
  for i, x in ipairs(r.issued) do got[i] = { x.bib, x.rank, x.total, x.cert_no } end
  t.eq(got, { { 1, 1, 2900, 'JN2025-0001-' .. checkchar.mod11_2('20250001') },
              { 2, 2, 2600, 'JN2025-0002-' .. checkchar.mod11_2('20250002') },
              { 3, 2, 2600, 'JN2025-0003-' .. checkchar.mod11_2('20250003') } })
  t.eq(#bus.events{ topic = 'title.awarded' }, 3)
  local h = require('registry').has_title(1, 'other', '2025-06-01')
  t.eq({ h.title, h.awarded, h.note }, { '2025年海宁市职工技能大赛·数控车工 操作技术能手', '2025-05-10', 'certificate ' .. got[1][4] })
  t.eq(#bus.events{ topic = 'certificate.issued' }, 3)
end)

t.case('re-running the titles step issues nothing twice', function()
  local before = t.snapshot()
  local r = contest.award_titles(ID, { at = '2025-05-11 10:00:00' })
  t.eq({ #r.issued, r.already, #r.no_longer }, { 0, 3, 0 })
  t.eq(t.snapshot(), before)
end)

t.case('after the lock a change needs a reason; with one it is recorded and published', function()
  t.unchanged(function() contest.mark(ID, 3, 'A1', '40.010', { at = AT }) end,
    { "contest 'cnc-2025', bib 3, aspect A1", 'locked (since 2025-05-10 09:00:00)', 'needs a reason' })
  t.unchanged(function() contest.mark(ID, 3, 'A1', '40.010', { reason = '' }) end, { 'needs a reason' })
  local s, st = contest.mark(ID, 3, 'A1', '40.010', { reason = '仲裁复测：实测 40.010', at = '2025-05-12 14:00:00' })
  t.eq({ s.mark, st }, { 0, 'changed' })
  local ch = contest.changes(ID, 3)
  t.eq({ #ch, ch[1].old, ch[1].new, ch[1].old_mark, ch[1].new_mark, ch[1].reason, ch[1].after_lock },
       { 1, '40', '40.01', 1000, 0, '仲裁复测：实测 40.010', true })
  local ev = bus.events{ topic = 'contest.mark.changed' }
  t.eq(ev[#ev].payload.reason, '仲裁复测：实测 40.010')
  -- bib 3 falls to 16.00, bib 4 moves up to rank 3: a new title; bib 3's is reported, not revoked
  local r = contest.award_titles(ID, { at = '2025-05-12 15:00:00' })
  t.eq({ #r.issued, r.issued[1].bib, r.issued[1].rank, r.already, #r.no_longer, r.no_longer[1].bib },
       { 1, 4, 3, 2, 1, 3 })
  t.eq(r.issued[1].cert_no:sub(1, 11), 'JN2025-0004')
end)

t.case('titles list: masked ID numbers, in certificate order', function()
  local list = contest.titles{ year = 2025 }
  t.eq(#list, 4)
  t.eq({ list[1].name, list[1].id, list[1].enterprise, list[1].rank, list[1].total },
       { '王建国', fx.id(1):sub(1, 6) .. '********' .. fx.id(1):sub(-4), '海宁环境卫生有限公司', 1, 2900 })
  t.eq(#contest.titles{ contest = 'cnc-2025-b' }, 0)   -- locked, but no titles awarded there
end)

t.case('certificates: valid, typed loosely, every mistyped digit, unknown, revoked', function()
  local no = 'JN2025-0001-' .. checkchar.mod11_2('20250001')
  local v = contest.verify(no)
  t.eq({ v.status, v.holder, v.rank, v.title }, { 'valid', '王*国', 1, '操作技术能手' })
  t.eq(contest.verify(no:lower():gsub('%-', ' ')).status, 'valid')
  t.eq(contest.verify(no:sub(3)).status, 'valid')                        -- without JN
  local digits = '20250001'
  for i = 1, 8 do
    for d = 0, 9 do
      local typo = digits:sub(1, i - 1) .. d .. digits:sub(i + 1)
      if typo ~= digits then t.eq(contest.verify(typo .. no:sub(-1)).status, 'mistyped', typo) end
    end
  end
  t.eq(contest.verify('JN2025-0010-' .. checkchar.mod11_2('20250010')).status, 'unknown')
  t.eq(contest.verify('JN2025').status, 'mistyped')
  t.eq(contest.revoke(no, '冒名顶替', '2025-06-15 10:00:00'), true)
  t.eq(contest.revoke(no, '冒名顶替', AT), false)
  local r = contest.verify(no)
  t.eq({ r.status, r.reason }, { 'revoked', '冒名顶替' })
  t.eq(require('registry').has_title(1, 'other', '2025-07-01'), nil)          -- revoked in the registry too
  t.eq(require('registry').has_title(1, 'other', '2025-06-01') ~= nil, true)   -- held before the revocation
  t.raises(function() contest.revoke(no) end, 'give the reason')
  t.eq(#bus.events{ topic = 'certificate.revoked' }, 1)
end)

t.case('threshold rules: min_total alone, and with top', function()
  local row = { rank = 4, total = 2133 }
  t.eq(contest.qualifies({ min_total = 2133 }, row), true)
  t.eq(contest.qualifies({ min_total = 2134 }, row), false)
  t.eq(contest.qualifies({ top = 4, min_total = 2150 }, row), false)
  t.eq(contest.qualifies({ top = 3 }, row), false)
  t.eq(contest.qualifies({ top = 3 }, { total = 3000 }), false)       -- incomplete: no rank
  t.raises(function() contest.setup(spec{ id = 'x', titles = { min_total = '80.005' } }) end, 'more than 2 decimal places')
end)

t.case('decimals: exact integers from text, numbers and floats', function()
  t.eq(contest.decimal('12.5', 2, 'x'), 1250)
  t.eq(contest.decimal('-0.025', 6, 'x'), -25000)
  t.eq(contest.decimal(7, 2, 'x'), 700)
  t.eq(contest.decimal(0.1, 2, 'x'), 10)
  t.eq(contest.decimal('.5', 2, 'x'), 50)
  t.raises(function() contest.decimal('.', 2, 'x') end, 'expected a number')
  t.raises(function() contest.decimal('1e3', 2, 'x') end, 'expected a number')
  t.eq({ contest.show(2133), contest.show(-5), contest.show(40010000, 6, true), contest.show(40000000, 6, true) },
       { '21.33', '-0.05', '40.01', '40' })
end)

t.case('a year past 9,999 certificates: 15-character numbers, still checked; old numbers unchanged', function()
  t.eq(contest.cert_number(2025, 1), 'JN2025-0001-' .. checkchar.mod11_2('20250001'))    -- the form every old number has
  t.eq(contest.cert_number(2025, 9999), 'JN2025-9999-' .. checkchar.mod11_2('20259999'))
  t.eq(contest.cert_number(2025, 10000), 'JN2025-010000-3')                              -- README's example
  t.eq(contest.cert_number(2025, 999999), 'JN2025-999999-' .. checkchar.mod11_2('2025999999'))
  local no, why = contest.cert_number(2025, 1000000)
  t.eq(no, nil); t.ok(why:find('2025 already has 999999 contest certificates', 1, true), why)
  t.eq(select(2, contest.cert_number(20250, 1)), 'the year of a certificate is a year of 4 digits, got 20250')
  -- the year's 999,999th certificate is issued: the titles of cnc-2025-b are refused, nothing stored
  local full = { cert_no = contest.cert_number(2025, 999999), year = 2025, seq = 999999, contest = 'fixture',
                 member_id = 1, title = 'fixture', issued_at = AT, status = 'valid' }
  db.contest_certificates:insert(full)
  t.unchanged(function() contest.award_titles('cnc-2025-b', { at = AT }) end,
    { "contest 'cnc-2025-b': 2025 already has 999999 contest certificates", 'no title of this run is awarded' })
  t.eq(db.contest_titles:count{ contest = 'cnc-2025-b' }, 0)
  db.contest_certificates:delete(full.cert_no)
  -- the year's 9,998th: the next is 9,999 (13 characters), then 10,000 and 10,001 (15)
  db.contest_certificates:insert{ cert_no = contest.cert_number(2025, 9998), year = 2025, seq = 9998,
    contest = 'fixture', member_id = 1, title = 'fixture', issued_at = AT, status = 'valid' }
  local r = contest.award_titles('cnc-2025-b', { at = AT })
  t.ok(#r.issued >= 3, #r.issued)
  t.eq({ r.issued[1].cert_no, r.issued[2].cert_no, r.issued[3].cert_no },
       { 'JN2025-9999-' .. checkchar.mod11_2('20259999'), 'JN2025-010000-3',
         'JN2025-010001-' .. checkchar.mod11_2('2025010001') })
  local wide = r.issued[2].cert_no
  t.eq(#wide, 15)
  t.eq(db.contest_certificates:get(wide).seq, 10000)
  t.eq(contest.verify(wide).status, 'valid')
  t.eq(contest.verify((wide:lower():gsub('%-', ' '))).status, 'valid')          -- typed loosely
  t.eq(contest.verify(wide:sub(3)).status, 'valid')                             -- without JN
  local digits = '2025010000'
  for i = 1, #digits do
    for d = 0, 9 do
      local typo = digits:sub(1, i - 1) .. d .. digits:sub(i + 1)
      if typo ~= digits then t.eq(contest.verify(typo .. '3').status, 'mistyped', typo) end
    end
  end
  t.eq(contest.verify('JN2025-01000-3').status, 'mistyped')                    -- a digit left out
  t.eq(contest.verify('JN2025-0100000-3').status, 'mistyped')                  -- one too many
  -- the numbers issued before still verify, as they were
  local old = 'JN2025-0002-' .. checkchar.mod11_2('20250002')
  t.eq({ contest.verify(old).status, #old }, { 'valid', 13 })
  t.eq(contest.verify('JN2025-0001-' .. checkchar.mod11_2('20250001')).status, 'revoked')
end)

t.done()
