-- bench/w9/year.lua — W9's year: a year (2025) of activity from every
-- program a federation runs, about `per` (default 10) entries per member of
-- the sample registry (scripts/sample_data.lua), entered through the
-- framework (scripts/lib/program.lua), so each entry is a ledger row and a
-- program.entry event, as the shipped programs make them. Not timed: the
-- bench times the two reports over it (bench/w9/report.lua).
--
--   gonghui --db DIR run --timeout 0 bench/w9/year.lua [per=10] [seed=2025] [chunk=5000] [resume=1]
--
-- A chunk is a transaction, made at a member's end; resume=1 goes on from
-- where a stopped run left (the members after the last one with entries:
-- the draws before it are made again, not entered).
--
-- The programs are the shipped ones' shapes, each with its title and the
-- units its report counts: the gift drive (items at rest stations: 人 人次
-- 户次 fen, the 驿站 dimension), hardship aid (cash, 户次 per day), the
-- farmers' market (discounts, a session per market day, some sales voided:
-- reversing entries), the New-Year daily benefits, activities (sessions with
-- people by name, and head counts without names), the sanatorium, the skills
-- contest and the retirement honours. Each member gets a deterministic
-- number of entries of each (mean shares below), on days of 2025.
local program = require 'program'
local PER = params.per or 10
local SEED = params.seed or 2025
local CHUNK = params.chunk or 5000
local YEAR = 2025
math.randomseed(SEED)
local random = math.random
local W = { from = YEAR .. '-01-01', to = YEAR .. '-12-31' }
local ALL = { '场次', '人', '人次', '户次', 'fen' }

-- { plan, mean entries per member (of PER = 10), make(e, m) fills the entry }
local function month_day() return string.format('%d-%02d-%02d', YEAR, random(1, 12), random(1, 28)) end
local stations = {}
for s in db.stations:scan() do stations[#stations + 1] = s.station_id end
local PROGRAMS = {
  { { id = 'w9-gift', title = '春节送温暖', year = YEAR, window = W, union = 1,
      kinds = { { kind = 'gift', title = '新春礼包', value_fen = 20000 } }, units = { '人', '人次', '户次', 'fen' } },
    0.5, function(e) e.kind = 'gift'; e.place = #stations > 0 and stations[random(#stations)] or nil
         e.day = string.format('%d-01-%02d', YEAR, random(10, 28)) end },
  { { id = 'w9-aid', title = '困难帮扶', year = YEAR, window = W, union = 1, household_times = 'day',
      kinds = { { kind = 'temporary', title = '临时救助', unit = 'fen' } }, units = { '人', '人次', '户次', 'fen' } },
    0.2, function(e) e.kind = 'temporary'; e.fen = random(50, 300) * 100; e.day = month_day() end },
  { { id = 'w9-market', title = '共富集市', year = YEAR, window = W, union = 1,
      kinds = { { kind = 'sale', title = '集市让利', unit = 'fen' } }, units = ALL,
      session = function(e) return 'market-' .. tostring(e.day) end },
    2.5, function(e) e.kind = 'sale'; e.fen = random(1, 2000); e.day = string.format('%d-%02d-%02d', YEAR, random(1, 12), 6) end },
  { { id = 'w9-newyear', title = '新春每日惠', year = YEAR, window = W, union = 1,
      kinds = { { kind = 'benefit', title = '每日惠', unit = 'fen' } }, units = { '人', '人次', 'fen' } },
    2.5, function(e) e.kind = 'benefit'; e.fen = random(5, 20) * 100; e.day = string.format('%d-02-%02d', YEAR, random(1, 28)) end },
  { { id = 'w9-activity', title = '职工活动', year = YEAR, window = W, union = 1,
      kinds = { { kind = 'attend', title = '参加活动' } }, units = { '场次', '人', '人次' } },
    3.5, function(e) e.kind = 'attend'; e.day = month_day(); e.session = 'S' .. random(1, 4000) end },
  { { id = 'w9-sanatorium', title = '职工疗休养', year = YEAR, window = W, union = 1,
      kinds = { { kind = 'stay', title = '疗休养', value_fen = 150000 } }, units = { '人', '人次', 'fen' } },
    0.3, function(e) e.kind = 'stay'; e.day = month_day() end },
  { { id = 'w9-contest', title = '职工技能竞赛', year = YEAR, window = W, union = 1,
      kinds = { { kind = 'entrant', title = '参赛' } }, units = { '场次', '人', '人次' } },
    0.4, function(e) e.kind = 'entrant'; e.day = month_day(); e.session = 'trade-' .. random(1, 30) end },
  { { id = 'w9-retirement', title = '光荣退休', year = YEAR, window = W, union = 1,
      kinds = { { kind = 'certificate', title = '光荣退休荣誉证书', per_member = 1 } }, units = { '人', '人次' } },
    0.1, function(e) e.kind = 'certificate'; e.day = month_day() end },
}
local total_mean = 0
for _, p in ipairs(PROGRAMS) do total_mean = total_mean + p[2] end
local Ps = {}
for i, p in ipairs(PROGRAMS) do Ps[i] = program.define(p[1]) end
-- an activity's head count without names: one a session, about 30 people
local ACT = Ps[5]

local ids, hhs = {}, {}
for m in db.members:scan() do
  if m.status ~= 'left' then ids[#ids + 1] = m.member_id; hhs[m.member_id] = m.household or ('m' .. m.member_id) end
end
local entered, reversed, heads = 0, 0, 0
local pending = {}
-- A chunk is entered a program at a time with P:backfill (the ledger row and
-- its standard event, as P:enter makes them, without P:enter's lookups,
-- checks and savepoint per entry: the plans here have no limit an entry could
-- pass), then the voided sales reversed with P:reverse. A chunk a transaction.
local function flush()
  if #pending == 0 then return end
  local batch = pending
  pending = {}
  db.atomic(function()
    local by = {}
    for _, x in ipairs(batch) do
      local l = by[x[1]]
      if not l then l = { rows = {}, void = {} }; by[x[1]] = l end
      l.rows[#l.rows + 1] = x[2]
      l.void[#l.rows] = x[3]
    end
    for _, P in ipairs(Ps) do
      local l = by[P]
      if l then
        local got = P:backfill(l.rows)
        entered = entered + #got
        for i, id in ipairs(got) do
          if l.void[i] then P:reverse(id, '退货', { at = l.rows[i].at }); reversed = reversed + 1 end
        end
      end
    end
  end)
end
local after = 0   -- resume=1: members up to this one have their entries
if params.resume then
  program.define_collections()
  for e in db.program_entries:scan{ reverse = true, limit = 2 * CHUNK } do
    if e.member_id and e.member_id > after then after = e.member_id end
  end
  print(string.format('W9 year: resuming after member %d', after)) -- i18n: ok (bench)
end
for _, mid in ipairs(ids) do
  for i, p in ipairs(PROGRAMS) do
    -- entries of this program for this member: its mean share of PER, as a
    -- whole part and a chance of one more
    local mean = p[2] * PER / total_mean
    local n = math.floor(mean)
    if random() < mean - n then n = n + 1 end
    if p[1].kinds[1].per_member then n = math.min(n, 1) end
    for _ = 1, n do
      local e = { member_id = mid, household = hhs[mid], run = run.uid, fen = p[1].kinds[1].value_fen }
      p[3](e)
      e.at = e.day .. ' 10:00:00'
      pending[#pending + 1] = { Ps[i], e, i == 3 and random() < 0.002 }
    end
  end
  if mid <= after then pending = {} end
  if #pending >= CHUNK then flush() end
end
for s = 1, 4000 do     -- the activities' head counts
  pending[#pending + 1] = { ACT, { kind = 'attend', heads = random(10, 60), session = 'S' .. s,
                                   day = month_day(), at = YEAR .. '-06-01 10:00:00', run = run.uid } }
  heads = heads + 1
end
flush()
print(string.format('W9 year %d: %d members, %d entries (%d head counts), %d reversed', -- i18n: ok (bench)
                    YEAR, #ids, entered, heads, reversed))
