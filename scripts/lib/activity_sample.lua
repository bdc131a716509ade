-- activity_sample.lua — a year of activity on the sample registry, for
-- scripts/sample_data.lua (and so for `make demo`): the unions' founding
-- days, pre-shift talks in enterprises, public classes, sports matches,
-- performances, legal advice, mediation, job fairs with enterprises' posts,
-- services at the rest stations, the year's new unions and members (from
-- the registry) and the 新就业形态劳动者之星 selection.
--
--   require('activity_sample').fill{ seed = 2025, year = 2024, dir = run.dir }  --> summary table
--
-- Deterministic per seed: a random stream of its own (the registry's two
-- streams are left as they were, so the registry a seed gives is unchanged),
-- every list in key order, every time stamp from the session's day.
local activity = require 'activity'
local ub = require 'unionbuild'

local M = {}

-- A 64-bit LCG of its own; r() in [0, 1), r(n) in 1..n, r(a, b) in a..b.
local function stream(seed)
  local s = seed * 40503 + 977
  return function(a, b)
    s = s * 6364136223846793005 + 1442695040888963407
    local x = s >> 33
    if b then return a + x % (b - a + 1) end
    if a then return x % a + 1 end
    return x / 2147483648.0
  end
end

local function clamp(n, lo, hi) return math.max(lo, math.min(hi, n)) end

local OUTDOOR = { gig_delivery = true, courier = true, sanitation = true, construction = true, driver = true }
local CLASSES = { '职工心理健康讲座', '安全生产公开课', '劳动法律法规讲座', '职工子女暑期课堂', '技能提升公益课', '家庭教育讲座' }
local MATCHES = { '职工篮球赛', '职工羽毛球赛', '职工乒乓球赛', '职工拔河比赛', '职工健步走', '职工象棋比赛' }
local SHOWS = { '职工文艺汇演', '送文化进企业', '职工歌咏比赛', '新春联欢会' }
local SERVICES = { '义诊', '理发', '送清凉', '法律咨询进驿站', '健康体检' }

function M.fill(opts)
  local year, r = opts.year or 2024, stream(opts.seed or 2025)
  local n_members = db.members:count()
  local function day() return string.format('%d-%02d-%02d', year, r(12), r(28)) end
  local function at(d) return d .. ' 10:00:00' end
  local out = { sessions = 0, attendance = 0, unions = 0, joined = 0, stars = 0 }
  local function ok(x, code, why) if not x then error(string.format(gettext('sample activity: %s: %s'), tostring(code), tostring(why)), 0) end return x end

  -- the unions' founding days: federations long ago, enterprise and joint
  -- unions from 2005 on, about one in twelve in the year itself
  local unions = db.unions:list()
  db.atomic(function()
    for _i, u in ipairs(unions) do
      local f
      if u.level == 'enterprise' or u.level == 'joint' then
        f = r() < 1 / 12 and day() or string.format('%d-%02d-%02d', r(2005, year - 1), r(12), r(28))
      else
        f = string.format('%d-%02d-%02d', r(1950, 2010), r(12), r(28))
      end
      db.unions:update(u.union_id, { founded = f })
    end
  end)

  local A = activity.open(opts.dir .. '/activity/plan.lua', year)
  local ents = db.enterprises:list()
  local towns, town_union, district_of = {}, {}, {}
  for _i, u in ipairs(unions) do
    if u.level == 'town' then towns[#towns + 1] = u.town; town_union[u.town] = u.union_id; district_of[u.town] = u.parent_id end
  end
  -- A list of member ids packed 4 bytes an id in one string ({ s =, n = }):
  -- a city's towns and enterprises hold most of its members, which as Lua
  -- arrays were 30 MB at 1,000,000 members.
  local function packed(scan, want)
    local parts, buf, n = {}, {}, 0
    for m in scan do
      if want(m) then
        n = n + 1
        buf[#buf + 1] = m.member_id
        if #buf == 256 then parts[#parts + 1] = string.pack(('<I4'):rep(256), table.unpack(buf)); buf = {} end
      end
    end
    if #buf > 0 then parts[#parts + 1] = string.pack(('<I4'):rep(#buf), table.unpack(buf)) end
    return { s = table.concat(parts), n = n }
  end
  local function active(m) return m.status == 'active' end
  local staff = {}                -- enterprise -> its active members, in id order (read when needed)
  local function staff_of(e)
    if not staff[e] then staff[e] = packed(db.members:scan{ enterprise_id = e }, active) end
    return staff[e]
  end
  local in_town = {}              -- town -> active members (and the outdoor workers among them)
  local function town_members(t, outdoor)
    local key = t .. (outdoor and '|o' or '')
    if not in_town[key] then
      in_town[key] = packed(db.members:scan{ town = t, status = 'active' },
                            function(m) return not outdoor or OUTDOOR[m.category] end)
    end
    return in_town[key]
  end
  local function some(list, k)    -- k distinct members of list
    local picked, seen = {}, {}
    k = math.min(k, list.n)
    while #picked < k do
      local i = r(list.n)
      if not seen[i] then seen[i] = true; picked[#picked + 1] = (string.unpack('<I4', list.s, 4 * i - 3)) end
    end
    return picked
  end
  local seq = 0
  local function session(s, names)
    seq = seq + 1
    s.id = string.format('%s-%04d', s.prefix, seq)
    s.prefix = nil
    s.at = at(s.day)
    ok(A:session(s))
    out.sessions = out.sessions + 1
    for _i, m in ipairs(names or {}) do
      ok(A:attend{ session = s.id, member = m, at = s.at })
      out.attendance = out.attendance + 1
    end
    return s.id
  end

  db.atomic(function()
    -- pre-shift talks, in enterprises weighted by their size
    for _i = 1, clamp(n_members // 15, 12, 4000) do
      local m = db.members:get(r(n_members))
      local e = db.enterprises:get(m.enterprise_id)
      local d = day()
      if r() < 0.5 then
        session({ prefix = 'BQ', kind = 'talk', day = d, union = e.union_id, enterprise = e.enterprise_id,
                  place = '生产班组', title = '班前十分钟安全宣讲' }, some(staff_of(e.enterprise_id), r(3, 12)))
      else
        session{ prefix = 'BQ', kind = 'talk', day = d, union = e.union_id, enterprise = e.enterprise_id,
                 place = '生产班组', title = '班前十分钟安全宣讲', heads = r(8, 40) }
      end
    end
    -- public classes and legal advice by town unions; mediation of one worker's dispute
    for _i = 1, clamp(n_members // 150, 4, 400) do
      local t = towns[r(#towns)]
      session({ prefix = 'KT', kind = 'class', day = day(), union = town_union[t], place = t .. '职工服务中心',
                title = CLASSES[r(#CLASSES)], heads = r() < 0.5 and r(20, 60) or nil },
              r() < 0.5 and some(town_members(t), r(5, 15)) or nil)
    end
    for _i = 1, clamp(n_members // 100, 4, 1000) do
      local t = towns[r(#towns)]
      session({ prefix = 'FL', kind = 'legal_advice', day = day(), union = town_union[t], place = t .. '职工法律服务站',
                title = '法律咨询' }, some(town_members(t), r(1, 6)))
    end
    for _i = 1, clamp(n_members // 300, 2, 300) do
      local t = towns[r(#towns)]
      local who = some(town_members(t), 1)
      if #who == 1 then
        session({ prefix = 'TJ', kind = 'mediation', day = day(), union = town_union[t],
                  enterprise = db.members:get(who[1], 'enterprise_id'), place = t .. '劳动争议调解室',
                  title = '劳动争议调解' }, who)
      end
    end
    -- sports matches (towns) and performances (districts), counted by head
    for _i = 1, clamp(n_members // 100, 4, 1000) do
      local t = towns[r(#towns)]
      session{ prefix = 'TY', kind = 'match', day = day(), union = town_union[t], place = t .. '文体中心',
               title = MATCHES[r(#MATCHES)], heads = r(30, 120), fen = r(2000, 8000) * 100 }
    end
    for _i = 1, clamp(n_members // 400, 2, 100) do
      local t = towns[r(#towns)]
      session{ prefix = 'WY', kind = 'performance', day = day(), union = district_of[t], place = t .. '影剧院',
               title = SHOWS[r(#SHOWS)], heads = r(100, 500), fen = r(10000, 30000) * 100 }
    end
    -- job fairs: a district's, with its enterprises' posts
    for _i = 1, clamp(n_members // 1500, 1, 50) do
      local t = towns[r(#towns)]
      local d = day()
      local id = session{ prefix = 'ZP', kind = 'job_fair', day = d, union = district_of[t], place = t .. '人力资源市场',
                          title = '春风行动招聘会', heads = r(80, 300), fen = r(50, 200) * 100 }
      local seen = {}
      for _j = 1, math.min(r(5, 15), #ents) do
        local e = ents[r(#ents)]
        if not seen[e.enterprise_id] then
          seen[e.enterprise_id] = true
          ok(A:booth{ session = id, enterprise = e.enterprise_id, posts = r(3, 40), at = at(d) })
        end
      end
    end
    -- the rest stations' services, for the outdoor workers of their town
    for st in db.stations:scan() do
      for _j = 1, r(2, 6) do
        session({ prefix = 'YZ', kind = 'station_service', day = day(), union = st.host_union_id, place = st.station_id,
                  title = SERVICES[r(#SERVICES)], heads = r() < 0.5 and r(10, 40) or nil },
                r() < 0.5 and some(town_members(st.town, true), r(2, 10)) or nil)
      end
    end

    -- union building: the year's new unions and members, from the registry
    local U = ub.open(opts.dir .. '/unionbuild/plan.lua', year)
    local c = U:sync()
    out.unions = c.enterprise_union + c.joint_union
    out.joined = c.join + c.join_new_form
    -- the stars: each industry union nominates up to three of its platform workers
    local nominated = 0
    for _i, u in ipairs(unions) do
      if u.level == 'industry' then
        local l = packed(db.members:scan{ union_id = u.union_id },
                         function(m) return m.status == 'active' and m.employment_form == 'new_form' end)
        for _j, m in ipairs(some(l, 3)) do
          ok(U:nominate{ member = m, union = u.union_id, reason = '爱岗敬业，热心公益', at = year .. '-10-08 09:00:00' })
          -- votes end in the nominee's place in the list: no tie stops the sample
          ok(U:mark(m, { votes = r(0, 500) * 100 + nominated, score = r(60, 100) }))
          nominated = nominated + 1
        end
      end
    end
    if nominated > 0 then out.stars = #ok(U:select{ day = year .. '-11-20', at = year .. '-11-20 10:00:00' }).selected end
  end)
  return out
end

return M
