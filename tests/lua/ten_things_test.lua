-- ten_things_test.lua — the activity register (scripts/lib/activity.lua),
-- union building and the star selection (scripts/lib/unionbuild.lua) and
-- the "ten things" report (scripts/lib/ten_things.lua) on a fixed registry
-- (program_fixtures.lua) whose every figure is counted by hand below: the
-- page of the whole year and of one town union, equal from the records and
-- from the event log; refusals; a tampered record named.
-- params: --in @SRC@/scripts
local t = require 'testlib'
local fx = require 'program_fixtures'
local activity = require 'activity'
local ub = require 'unionbuild'
local ten = require 'ten_things'
local yr = require 'year_report'

fx.load()
local ROOT = run.dir .. '/../..'
-- the shipped plans and lines (read through --in: they are not in this folder)
local function chunk(path)
  local f = assert(io.open(ROOT .. '/scripts/' .. path))
  local text = f:read('a')
  f:close()
  return assert(load(text, '=' .. path))()
end
local LINES = chunk('ten_things/lines.lua')

-- the registry's union building in 2024: a new enterprise union (13) for a new
-- enterprise (5), the joint union 12 founded (covering enterprises 3 and 4),
-- three members joined (3 and 4 new-employment-form workers)
db.atomic(function()
  db.unions:insert{ union_id = 13, name = '海宁新能电池有限公司工会', level = 'enterprise', parent_id = 3,
                    town = '许村镇', founded = '2024-05-20' }
  db.unions:update(12, { founded = '2024-03-01' })
  db.unions:update(11, { founded = '2015-01-01' })
  db.enterprises:insert{ enterprise_id = 5, name = '海宁新能电池有限公司', town = '许村镇', union_id = 13 }
  db.members:update(3, { join_date = '2024-02-01' })
  db.members:update(4, { join_date = '2024-06-01' })
  db.members:update(7, { join_date = '2024-09-09' })
end)

local A = activity.open(chunk('activity/plan.lua'), 2024)

local function ok(r, code, why) if not r then error(tostring(code) .. ': ' .. tostring(why), 2) end return r end

t.case('sessions, attendance by name and by head, job fair posts', function()
  ok(A:session{ id = 'T1', kind = 'talk', day = '2024-03-05', union = 11, enterprise = 1, place = '一车间' })
  for _, m in ipairs{ 1, 2, 10 } do ok(A:attend{ session = 'T1', member = fx.id(m) }) end
  ok(A:session{ id = 'T2', kind = '班前十分钟', day = '2024-03-12', union = '海宁环卫公司工会',
                enterprise = '海宁环境卫生有限公司', heads = 20 })
  ok(A:attend{ session = 'T2', member = 1 })
  ok(A:session{ id = 'T3', kind = 'talk', day = '2024-04-01', union = 12, enterprise = 3, heads = 15, fen = 30000 })
  ok(A:session{ id = 'C1', kind = 'class', day = '2024-05-01', union = 2 })
  ok(A:attend{ session = 'C1', member = 3 }); ok(A:attend{ session = 'C1', member = 11 })
  ok(A:session{ id = 'M1', kind = 'match', day = '2024-06-01', union = 3, heads = 40 })
  ok(A:session{ id = 'P1', kind = 'performance', day = '2024-06-15', union = 1, heads = 100, fen = 500000 })
  ok(A:session{ id = 'L1', kind = 'legal_advice', day = '2024-07-01', union = 2 })
  ok(A:attend{ session = 'L1', member = 3 }); ok(A:attend{ session = 'L1', member = 4 })
  ok(A:session{ id = 'L2', kind = 'legal_advice', day = '2024-07-02', union = 3, heads = 5 })
  ok(A:session{ id = 'D1', kind = 'mediation', day = '2024-07-10', union = 3 })
  ok(A:attend{ session = 'D1', member = 6 })
  ok(A:session{ id = 'J1', kind = 'job_fair', day = '2024-08-01', union = 2, heads = 200 })
  ok(A:booth{ session = 'J1', enterprise = 1, posts = 10 })
  ok(A:booth{ session = 'J1', enterprise = 3, posts = 25 })
  ok(A:booth{ session = 'J1', enterprise = '海宁永盛五金有限公司', posts = 5 })
  ok(A:session{ id = 'S1', kind = 'station_service', day = '2024-09-01', place = 'ST01', union = 2, heads = 30,
                title = '义诊' })
  ok(A:session{ id = 'S2', kind = 'station_service', day = '2024-09-02', place = 'ST02', union = 3, title = '理发' })
  ok(A:attend{ session = 'S2', member = 4 }); ok(A:attend{ session = 'S2', member = 5 })
  ok(A:session{ id = 'S3', kind = 'station_service', day = '2024-10-01', place = 'ST01', union = 2, heads = 10 })
  -- a session entered by mistake, cancelled with who came: counted nowhere
  ok(A:session{ id = 'X1', kind = 'talk', day = '2024-10-02', union = 11, enterprise = 1, heads = 50, fen = 100 })
  ok(A:attend{ session = 'X1', member = 2 })
  t.eq(A:cancel('X1', '重复登记'), 2)
  t.eq(A:get('X1'), nil)
end)

t.case('refusals: entered once, unknown sessions, unions, kinds, places', function()
  local n = db.program_entries:count()
  local function refused(want, r, code, why) t.eq({ r, code }, { nil, want }, why) end
  refused('already', A:attend{ session = 'T1', member = 1 })
  refused('already', A:session{ id = 'T1', kind = 'talk', day = '2024-03-05', union = 11 })
  refused('duplicate', A:session{ id = 'T1', kind = 'class', day = '2024-03-05', union = 11 })
  refused('duplicate', A:session{ id = 'T1', kind = 'talk', day = '2024-03-06', union = 11 })
  refused('unknown', A:attend{ session = 'NOPE', member = 1 })
  refused('unknown', A:session{ id = 'Z1', kind = 'talk', day = '2024-03-05', union = '没有这个工会' })
  refused('bad_input', A:session{ id = 'Z1', kind = 'dance', day = '2024-03-05', union = 2 })
  refused('bad_input', A:session{ id = 'Z1', kind = 'station_service', day = '2024-03-05', union = 2, place = '广场' })
  refused('closed', A:session{ id = 'Z1', kind = 'talk', day = '2025-01-02', union = 2 })
  refused('bad_input', A:booth{ session = 'T1', enterprise = 1, posts = 3 })
  local bad = fx.id(1):sub(1, 17) .. (fx.id(1):sub(18) == '1' and '2' or '1')   -- a wrong check character
  refused('bad_id', A:attend{ session = 'T1', member = bad })
  t.eq(db.program_entries:count(), n)
end)

local U = ub.open(chunk('unionbuild/plan.lua'), 2024)

t.case('union building from the registry, once', function()
  local c = U:sync()
  t.eq({ c.enterprise_union, c.joint_union, c.joint_covers, c.join, c.join_new_form, c.already },
       { 1, 1, 2, 1, 2, 0 })
  c = U:sync()
  t.eq({ c.enterprise_union, c.join, c.join_new_form, c.already }, { 0, 0, 0, 7 })
end)

t.case('the star selection: nominations, the quota per union, votes, the list masked', function()
  ok(U:nominate{ member = fx.id(3), union = 21, reason = '骑手志愿服务' })
  ok(U:nominate{ member = 4, union = '海宁快递物流行业工会' })
  ok(U:nominate{ member = 5, union = 1 })          -- the federation nominates: member 5 is under it
  local r, code = U:nominate{ member = 9, union = 21 }
  t.eq({ r, code }, { nil, 'not_eligible' })      -- flexible employment, not new-form
  r, code = U:nominate{ member = 11, union = 2 }
  t.eq({ r, code }, { nil, 'not_eligible' })      -- not a member of union 2's subtree
  r, code = U:nominate{ member = 3, union = 21 }
  t.eq({ r, code }, { nil, 'already' })
  ok(U:nominate{ member = 11, union = 21 })
  db.atomic(function() db.members:update(1, { employment_form = 'new_form', union_id = 21 }) end)
  r, code = U:nominate{ member = 1, union = 21 }
  t.eq({ r, code }, { nil, 'limit' })             -- union 21 has made its 3
  r, code = U:select()
  t.eq({ r, code }, { nil, 'bad_input' })         -- no votes yet
  ok(U:mark(3, { votes = 50 })); ok(U:mark(4, { votes = 80 })); ok(U:mark(5, { votes = 80 }))
  ok(U:mark(11, { votes = 0 }))
  local s = ok(U:select{ day = '2024-12-01' })
  t.eq(s.entered, 4)
  t.eq(#U.P:public_list{ kind = 'star' }, 4)
  for _, row in ipairs(U.P:public_list{ kind = 'star' }) do
    t.ok(row['姓名']:find('*', 1, true), row['姓名'])
    t.ok(row['身份证号']:find('********', 1, true), row['身份证号'])
  end
  r, code = U:mark(3, { votes = 60 })
  t.eq({ r, code }, { nil, 'closed' })
  db.atomic(function() db.members:update(1, { employment_form = 'standard', union_id = 11 }) end)
end)

t.case('a tie across the quota is refused, the panel breaks it', function()
  local plan = chunk('unionbuild/plan.lua')(2024)
  plan.id = 'startie-2024'
  plan.kinds[6].stock = 2
  local V = ub.open(plan)
  ok(V:nominate{ member = 3, union = 21 }); ok(V:nominate{ member = 4, union = 21 }); ok(V:nominate{ member = 5, union = 21 })
  ok(V:mark(3, { votes = 50 })); ok(V:mark(4, { votes = 80 })); ok(V:mark(5, { votes = 50 }))
  local r, code, why = V:select{ day = '2024-12-01' }
  t.eq({ r, code }, { nil, 'limit' })
  t.ok(why:find('votes 50', 1, true), why)
  ok(V:mark(5, { score = 90 }))
  local s = ok(V:select{ day = '2024-12-01' })
  t.eq({ s.selected[1].member_id, s.selected[2].member_id }, { 4, 5 })
end)

-- hand counts of the year (scripts/ten_things/lines.lua, in order)
local WANT = {
  --  sessions enterprises 人次 人 fen
  { 3, 2, 39, 3, 30000 },       -- talks: T1 (3 named), T2 (20 + 1), T3 (15); enterprises 1, 3
  { 1, 0, 2, 2, 0 },            -- class C1
  { 2, 0, 140, 0, 500000 },     -- match M1 40, performance P1 100
  { 3, 0, 8, 3, 0 },            -- legal L1 (3, 4), L2 (5 heads), mediation D1 (6)
  { 1, 3, 200, 0, 0 },          -- job fair J1: 200 heads, enterprises 1, 3, 4
  { 3, 0, 42, 2, 0 },           -- stations S1 30, S2 (4, 5), S3 10
  { 0, 3, 0, 0, 0 },            -- unions: 13 (enterprise 5), 12 covering 3 and 4
  { 0, 2, 3, 3, 0 },            -- joined: 3, 4, 7 (enterprises 2, 2, 3)
  { 0, 0, 4, 4, 400000 },       -- stars: 3, 4, 5, 11
}

local function figures(c) return { c.sessions, c.enterprises, c.person_times, c.persons, c.fen } end

t.case('the page of the year: every line as counted by hand, log = records', function()
  local rep = ten.build{ year = 2024, lines = LINES }
  t.eq(#rep.diffs, 0, table.concat(rep.diffs, '; '))
  for i, w in ipairs(WANT) do t.eq(figures(rep.records.lines[i].cell), w, 'line ' .. i) end
  local says = {}
  for _, r in ipairs(ten.rows(rep)) do says[#says + 1] = r.says end
  t.eq(says[1], '在2家企业开展“班前十分钟”宣讲3场，职工参与39人次')
  t.eq(says[3], '举办体育比赛1场、文艺演出1场，职工参与140人次')
  t.eq(says[4], '为职工提供法律咨询7人次，调解劳动争议1件')
  t.eq(says[5], '举办招聘会1场，3家企业提供岗位40个，求职200人次')
  t.eq(says[6], '2个驿站开展义诊、理发等服务3场，服务户外劳动者42人次')
  t.eq(says[7], '新建企业工会1家、联合工会1家，联合工会覆盖企业2家')
  t.eq(says[8], '发展会员3人，其中新就业形态劳动者2人')
  t.eq(says[9], '评选“新就业形态劳动者之星”4名，奖励4,000.00元')
  t.eq(#ten.rows(rep), 9)          -- no sanatorium program: its optional line is not shown
  local text = ten.format(rep)
  t.ok(text:find(string.format(gettext('The event log (read again, %d events) and the records agree on every figure.'),
                              rep.events), 1, true), text)
  t.ok(text:find('一、班前十分钟安全宣讲：', 1, true), text)
end)

t.case("a town union's page counts its subtree only", function()
  local rep = ten.build{ year = 2024, union = 3, lines = LINES }
  t.eq(#rep.diffs, 0, table.concat(rep.diffs, '; '))
  local got = {}
  for i = 1, 9 do got[i] = figures(rep.records.lines[i].cell) end
  t.eq(got, {
    { 1, 1, 15, 0, 30000 },   -- T3 (union 12)
    { 0, 0, 0, 0, 0 },
    { 1, 0, 40, 0, 0 },       -- M1
    { 2, 0, 6, 1, 0 },        -- L2, D1
    { 0, 0, 0, 0, 0 },
    { 1, 0, 2, 2, 0 },        -- S2
    { 0, 3, 0, 0, 0 },        -- unions 13 and 12
    { 0, 1, 1, 1, 0 },        -- member 7 (union 12)
    { 0, 0, 0, 0, 0 },        -- the stars were nominated by 21 and 1
  })
  t.ok(ten.format(rep):find('许村镇总工会2024年', 1, true))
end)

t.case('the year report counts them too, log = records', function()
  local rep = yr.build(2024)
  t.eq(#rep.diffs, 0, table.concat(rep.diffs, '; '))
  local c = rep.log.program['2024年职工活动']
  t.eq({ c.sessions, c.person_times }, { 13, 39 + 2 + 140 + 8 + 200 + 42 })
end)

t.case('the workbook', function()
  local rep = ten.build{ year = 2024, lines = LINES }
  ten.xlsx(rep, 'ten.xlsx')
  local x = plugin.load 'xlsx'
  local _ = gettext
  t.eq(x.sheets('ten.xlsx'), table.concat({ _('ten things'), _('kinds'), _('months'), _('check') }, '\t'))
end)

t.case('an optional line shows once one of its programs exists', function()
  local program = require 'program'
  local C = program.define{ id = 'checkup-2024', title = '流动体检车', year = 2024, union = 2,
                            window = { from = '2024-01-01', to = '2024-12-31' },
                            kinds = { { kind = 'visit', title = '体检车进企业' } }, units = { '人', '人次', '场次' } }
  ok(C:enter{ kind = 'visit', heads = 12, session = 'V1', enterprise_id = 1, day = '2024-06-01' })
  ok(C:enter{ kind = 'visit', member = 1, session = 'V1', enterprise_id = 1, day = '2024-06-01' })
  local rep = ten.build{ year = 2024, lines = LINES }
  t.eq(#rep.diffs, 0, table.concat(rep.diffs, '; '))
  local rows = ten.rows(rep)
  t.eq(#rows, 10)
  t.eq(rows[10].says, '组织职工疗休养和健康体检13人次，服务职工1人')
end)

t.case('a record changed behind the programs\' backs is named', function()
  local e = A:get('T2')
  db.atomic(function() db.program_entries:update(e.entry_id, { heads = 25 }) end)
  local rep = ten.build{ year = 2024, lines = LINES }
  t.ok(#rep.diffs > 0)
  local want = string.format(gettext('%s: %s %s (log) vs %s (records)'),
                             string.format(gettext('line %d %s'), 1, '班前十分钟安全宣讲'), 'person_times', 39, 44)
  t.ok(table.concat(rep.diffs, '\n'):find(want, 1, true), table.concat(rep.diffs, '\n'))
end)

t.done()
