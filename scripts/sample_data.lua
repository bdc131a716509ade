-- sample_data.lua — makes a realistic, deterministic sample registry.
--
--   gonghui --db DIR run scripts/sample_data.lua members=5000 seed=2025 [activity=1]
--
-- N members and N/200 enterprises (at least one), the shape described in
-- BENCHMARKS.md: Chinese names, resident ID numbers with a valid check
-- character whose region code matches the member's town, birth date and
-- gender agreeing with the ID, skewed enterprise sizes, retirees past
-- retirement age. The same (members, seed) always gives the same data.
--
-- For the programs it also fills the union tree (a provincial federation,
-- district/county federations, town federations, enterprise unions for the
-- larger two thirds of the enterprises, joint unions for the rest, an
-- express-delivery industry union per district for platform workers), the
-- rest stations for outdoor workers (1-3 per town), and the members' union,
-- employment form (platform riders and couriers are mostly 新就业形态),
-- household (some members share one) and, for women, post type; the
-- enterprises' unified social credit codes, the stations' addresses, and a
-- few members' honorary titles (劳动模范, 工匠: member_titles). These come
-- from a second random stream, so the fields above stay what they were for
-- a seed.
-- The members are loaded 20,000 to a transaction (an error or Ctrl-C part
-- way leaves none of them; a process killed part way leaves those of the
-- chunks stored: make it again, into a new folder), the rest in one.

local registry = require 'registry'
local parse = require 'parse'
local dates = require 'dates'
local firm_names = require 'firm_names'

local N    = params.members or 5000
local SEED = params.seed or 2025
if math.type(N) ~= 'integer' or N < 1 then
  error(gettext('members must be a whole number of at least 1, got ') .. tostring(params.members))
end
if math.type(SEED) ~= 'integer' then
  error(gettext('seed must be a whole number, got ') .. tostring(params.seed))
end
math.randomseed(SEED)
local random = math.random

-- ---- reference tables ----------------------------------------------------

-- Common surnames with relative weights (Zhejiang-ish skew).
local SURNAMES = {
  {'王',72},{'李',70},{'张',68},{'刘',55},{'陈',60},{'杨',34},{'黄',25},{'赵',22},
  {'吴',24},{'周',22},{'徐',20},{'孙',16},{'马',14},{'朱',14},{'胡',13},{'郭',12},
  {'何',11},{'高',11},{'林',10},{'罗',9},{'郑',9},{'梁',8},{'谢',7},{'宋',7},
  {'唐',7},{'许',7},{'韩',6},{'冯',6},{'邓',6},{'曹',6},{'彭',5},{'曾',5},
  {'肖',5},{'田',5},{'董',5},{'袁',5},{'潘',5},{'于',4},{'蒋',4},{'蔡',4},
  {'余',4},{'杜',4},{'叶',4},{'程',4},{'苏',4},{'魏',4},{'吕',4},{'丁',4},
  {'任',3},{'沈',4},{'姚',3},{'卢',3},{'姜',3},{'崔',3},{'钟',3},{'谭',3},
  {'陆',3},{'汪',3},{'范',3},{'金',3},{'石',3},{'廖',2},{'贾',2},{'夏',2},
  {'方',3},{'邹',2},{'孟',2},{'熊',2},{'秦',2},{'邱',2},{'江',2},{'尹',2},
  {'薛',2},{'段',2},{'雷',2},{'侯',2},{'史',2},{'陶',2},{'顾',2},{'毛',2},
  {'龚',2},{'邵',2},{'钱',2},{'严',2},{'戴',2},{'应',1},{'楼',1},{'童',1},
  {'俞',1},{'屠',1},
}
local GIVEN_M = '伟刚勇毅俊峰强军平保东文辉力明永健世广志义兴良海山仁波宁贵福生龙元全国胜学祥才发武新利清飞彬富顺信子杰涛昌成康星光天达安岩中茂进林有坚和彪博诚先敬震振壮会思群豪心邦承乐绍功松善厚庆磊民友裕河哲江超浩亮政谦亨奇固之轮翰朗伯宏言若鸣朋斌梁栋维启克伦翔旭鹏泽晨辰士以建家致树炎德行时泰盛雄琛钧冠策腾楠榕风航弘'
local GIVEN_F = '秀娟英华慧巧美娜静淑惠珠翠雅芝玉萍红娥玲芬芳燕彩春菊兰凤洁梅琳素云莲真环雪荣爱妹霞香月莺媛艳瑞凡佳嘉琼勤珍贞莉桂娣叶璧璐娅琦晶妍茜秋珊莎锦黛青倩婷姣婉娴瑾颖露瑶怡婵雁蓓纨仪荷丹蓉眉君琴蕊薇菁梦岚苑婕馨瑗琰韵融园艺咏卿聪澜纯毓悦昭冰爽琬茗羽希宁欣飘育滢馥筠柔竹霭凝晓欢霄枫芸菲寒伊亚宜可姬舒影荔枝丽阳妮宝贝初程梵罡恒鸿桦骅剑娇纪宽灵玛媚琪晴容睿烁堂唯威韦雯苇萱阅彦宇雨洋忠宗曼紫逸贤蝶菡绿蓝儿烟'

-- Zhejiang county-level regions: ID region code, weight, city (for
-- enterprise names), towns/streets. A member's town is in the region of
-- the ID number.
local REGIONS = {
  {'330481', 16, '海宁', {'硖石街道', '许村镇', '长安镇'}, '海宁市'},
  {'330903',  8, '舟山', {'沈家门街道', '六横镇'}, '舟山市普陀区'},
  {'331083', 12, '玉环', {'玉城街道', '楚门镇', '坎门街道'}, '玉环市'},   -- 台州
  {'330702', 10, '金华', {'江南街道'}, '金华市婺城区'},
  {'330703',  8, '金华', {'多湖街道', '东孝街道'}, '金华市金东区'},
  {'330521',  9, '德清', {'武康街道', '新市镇'}, '德清县'},               -- 湖州
  {'330212', 18, '宁波', {'钟公庙街道'}, '宁波市鄞州区'},
  {'330206', 11, '宁波', {'新碶街道'}, '宁波市北仑区'},
  {'330211',  8, '宁波', {'招宝山街道'}, '宁波市镇海区'},
}

-- Working-age categories and weights; 'retiree' comes from age below.
local CATEGORIES = {
  {'factory',38},{'gig_delivery',9},{'courier',6},{'sanitation',4},{'construction',10},
  {'driver',6},{'office',14},{'teacher',6},{'medical',5},
}
local PHONE_PREFIXES = {}
for _, p in ipairs{130,131,132,133,134,135,136,137,138,139,150,151,152,153,155,156,157,158,159,
                   170,171,173,175,176,177,178,180,181,182,183,184,185,186,187,188,189,
                   191,193,195,196,197,198,199} do
  PHONE_PREFIXES[#PHONE_PREFIXES + 1] = tostring(p)
end

-- Employment forms per category: { form, weight }, ... (registry.EMPLOYMENT_FORMS).
local FORMS = {
  gig_delivery = { {'new_form', 92}, {'flexible', 8} },
  courier      = { {'new_form', 55}, {'standard', 35}, {'dispatch', 10} },
  driver       = { {'standard', 55}, {'new_form', 35}, {'flexible', 10} },   -- 网约车, 货运平台
  construction = { {'standard', 45}, {'dispatch', 40}, {'flexible', 15} },
  factory      = { {'standard', 85}, {'dispatch', 15} },
  sanitation   = { {'standard', 60}, {'dispatch', 40} },
}
-- Rest-station hosts: { short name for the station, the organisation }.
local HOSTS = {
  { '工行爱心驿站', '工商银行%s支行' }, { '农行暖心驿站', '农业银行%s支行' },
  { '建行劳动者港湾', '建设银行%s支行' }, { '邮政驿站', '中国邮政%s营业所' },
  { '石化易捷驿站', '中国石化%s加油站' }, { '环卫工人之家', '%s环境卫生管理所' },
  { '工会驿站', '%s总工会' },
}

-- ---- helpers -------------------------------------------------------------

local function chars(s)
  local t = {}
  for ch in s:gmatch(utf8.charpattern) do t[#t + 1] = ch end
  return t
end
GIVEN_M, GIVEN_F = chars(GIVEN_M), chars(GIVEN_F)

-- The second random stream (a 64-bit LCG, high bits) for the fields added
-- for the programs. rand2() in [0, 1), rand2(n) in 1..n.
local rs = SEED * 2654435761 + 12345
local function rand2(n)
  rs = rs * 6364136223846793005 + 1442695040888963407   -- wraps around, as it should
  local x = rs >> 33
  if n then return x % n + 1 end
  return x / 2147483648.0
end
local function pick2(list)          -- list of { value, weight }
  local total = 0
  for _, x in ipairs(list) do total = total + x[2] end
  local r = rand2() * total
  for _, x in ipairs(list) do
    r = r - x[2]
    if r < 0 then return x[1] end
  end
  return list[#list][1]
end

-- Weighted choice: cum[] is the running total of weights; returns an index.
local function cumulate(list, weight)
  local cum, total = {}, 0
  for i, x in ipairs(list) do total = total + weight(x); cum[i] = total end
  return cum
end
local function pick(cum)
  local x = random() * cum[#cum]
  local lo, hi = 1, #cum              -- first i with cum[i] > x
  while lo < hi do
    local mid = (lo + hi) // 2
    if cum[mid] > x then hi = mid else lo = mid + 1 end
  end
  return lo
end

-- Days since 1970-01-01 <-> (y, m, d)
local days_from_civil, civil_from_days = dates.from_civil, dates.civil
local iso_memo = {}
local function iso(z)               -- day number -> 'YYYY-MM-DD'
  local s = iso_memo[z]
  if not s then
    s = string.format('%04d-%02d-%02d', civil_from_days(z))
    iso_memo[z] = s
  end
  return s
end
local function add_years(z, n)      -- Feb 29 + n years -> Feb 28
  local y, m, d = civil_from_days(z)
  if m == 2 and d == 29 then d = 28 end
  return days_from_civil(y + n, m, d)
end

local BIRTH_LO  = days_from_civil(1960, 1, 1)
local BIRTH_HI  = days_from_civil(2004, 12, 31)
local BULGE_LO  = days_from_civil(1970, 1, 1)
local BULGE_HI  = days_from_civil(1995, 7, 1)
local JOIN_MIN  = days_from_civil(2000, 1, 1)
local AS_OF     = days_from_civil(2024, 12, 31)   -- the registry's "today"

-- ---- refuse to add to an existing registry ---------------------------------

registry.define_all()
registry.define_titles()
if db.members:count() > 0 or db.enterprises:count() > 0 or db.unions:count() > 0 or db.stations:count() > 0 then
  error(string.format(gettext('this database already holds %d members, %d enterprises, %d unions and %d stations; ')
    .. 'sample_data.lua only fills an empty registry: use a new --db directory',
    db.members:count(), db.enterprises:count(), db.unions:count(), db.stations:count()))
end

-- ---- generate --------------------------------------------------------------

-- Towns weighted by their region's weight, shared among its towns.
local TOWNS = {}
for _, r in ipairs(REGIONS) do
  for _, t in ipairs(r[4]) do
    TOWNS[#TOWNS + 1] = { name = t, region = r, weight = r[2] / #r[4] }
  end
end
local town_cum    = cumulate(TOWNS, function(t) return t.weight end)
local surname_cum = cumulate(SURNAMES, function(s) return s[2] end)
local cat_cum     = cumulate(CATEGORIES, function(c) return c[2] end)

-- Enterprises: Zipf-like sizes (1/rank^0.9) over a shuffled order of ids,
-- so a few employ many members and most employ a few. Each sits in a town.
local n_ent = math.max(1, N // 200)
local ent_order, ent_town = {}, {}
for i = 1, n_ent do ent_order[i] = i; ent_town[i] = TOWNS[pick(town_cum)] end
for i = n_ent, 2, -1 do
  local j = random(i)
  ent_order[i], ent_order[j] = ent_order[j], ent_order[i]
end
local ent_cum = {}
do
  local total = 0
  for r = 1, n_ent do total = total + 1 / r ^ 0.9; ent_cum[r] = total end
end

-- ---- the union tree: ids first (members need them), names at the end -------

local unions = {}                   -- records, in id order
local function add_union(u) u.union_id = #unions + 1; unions[u.union_id] = u; return u.union_id end
local ROOT = add_union{ name = '浙江省总工会', level = 'federation' }
local region_union, industry_union, town_union, joint_union = {}, {}, {}, {}
for _, r in ipairs(REGIONS) do
  region_union[r] = add_union{ name = r[5] .. '总工会', level = 'district', parent_id = ROOT }
end
for _, t in ipairs(TOWNS) do
  town_union[t] = add_union{ name = t.name .. '总工会', level = 'town', parent_id = region_union[t.region],
                             town = t.name }
end
for _, r in ipairs(REGIONS) do      -- platform riders and couriers join these (新就业形态)
  industry_union[r] = add_union{ name = r[5] .. '快递物流行业工会', level = 'industry',
                                 parent_id = region_union[r] }
end
-- The larger two thirds of the enterprises (by their rank in the size law)
-- get their own union (named after the enterprise once it has a name); the
-- smallest third share their town's joint union (联合工会).
local ent_union = {}
for r = 1, n_ent do
  local ent = ent_order[r]
  local town = ent_town[ent]
  if r <= math.max(1, n_ent * 2 // 3) then
    ent_union[ent] = add_union{ level = 'enterprise', parent_id = town_union[town], town = town.name,
                                enterprise = ent }
  else
    if not joint_union[town] then
      joint_union[town] = add_union{ name = town.name .. '联合工会', level = 'joint',
                                     parent_id = town_union[town], town = town.name }
    end
    ent_union[ent] = joint_union[town]
  end
end

-- 统一社会信用代码 (GB 32100-2015) of an enterprise registered in region:
-- '9' (industry and commerce) '1' (an enterprise), the region code, an
-- organisation code of 8 digits and its GB 11714 check character, then the
-- MOD 31 check character.
local function credit_code(region)
  -- the check characters are core/parse.c's (parse.credit_complete), as import checks them
  return (assert(parse.credit_complete(string.format('91%s%08d', region, rand2(99999999)))))
end

-- Honorary titles (registry member_titles): model workers (劳动模范) of the
-- city or county, the province, rarely the nation, and craftsmen (工匠).
local titles = {}
local function city_of(region) return region[5]:match('^(.-市)') or region[5] end
local function honours(m, region)
  if m.status == 'left' then return end
  local r = rand2()
  local from = math.max(2005, tonumber(m.birth_date:sub(1, 4)) + 25, tonumber(m.join_date:sub(1, 4)))
  if from > 2024 then return end                -- titles go to members of 25 and over
  if r < 0.004 then
    local lvl = rand2()
    local year = from + rand2(2025 - from) - 1
    local title, level
    if lvl < 0.05 then title, level = '全国劳动模范', 'national'
    elseif lvl < 0.30 then title, level = '浙江省劳动模范', 'provincial'
    else
      title = city_of(region) .. '劳动模范'
      level = title:find('县') and 'county' or 'city'
    end
    titles[#titles + 1] = { member_id = m.member_id, kind = 'model_worker', title = title, level = level,
                            awarded = year .. '-04-28' }
  elseif r < 0.007 then
    titles[#titles + 1] = { member_id = m.member_id, kind = 'craftsman', title = city_of(region) .. '工匠',
                            level = 'city', awarded = (math.max(from, 2017) + rand2(2025 - math.max(from, 2017)) - 1) .. '-05-01' }
  end
end

local recent_by_town = {}           -- town -> the households of the last members made there (to share one)

-- The fields added for the programs, from the second stream.
local function program_fields(m, ent)
  local forms = FORMS[m.category]
  m.employment_form = forms and pick2(forms) or 'standard'
  if m.employment_form == 'new_form' then
    m.union_id = industry_union[ent_town[ent].region]
  else
    m.union_id = ent_union[ent]
  end
  -- about one member in five shares the household of an earlier member of the same town
  local recent = recent_by_town[m.town]
  if not recent then recent = {}; recent_by_town[m.town] = recent end
  if #recent > 0 and rand2() < 0.2 then
    m.household = recent[rand2(#recent)]
  else
    m.household = 'H' .. m.member_id
  end
  recent[#recent % 50 + 1] = m.household
  if m.gender == 'F' then
    local office = m.category == 'office' or m.category == 'teacher' or m.category == 'medical'
    m.post_type = rand2() < (office and 0.8 or 0.1) and 'cadre' or 'worker'
  end
  honours(m, ent_town[ent].region)
  return m
end

local function pick_birth()
  while true do   -- 1960..2004 with a bulge in 1970..1995
    local z = BIRTH_LO + random(0, BIRTH_HI - BIRTH_LO)
    if (z >= BULGE_LO and z <= BULGE_HI) or random() < 0.6 then return z end
  end
end

local ent_size = {}
local towns_seen, n_towns = {}, 0

local function make_member(member_id)
  local male = random() < 0.55
  -- Most members live in their enterprise's town, the rest anywhere.
  local ent = ent_order[pick(ent_cum)]
  ent_size[ent] = (ent_size[ent] or 0) + 1
  local town = random() < 0.7 and ent_town[ent] or TOWNS[pick(town_cum)]
  local region = town.region
  local birth = pick_birth()
  local birth_s = iso(birth)
  -- ID: region(6) birth(8) sequence(3, odd = male) check(1); unique body:
  -- one the members stored so far do not have (the registry's unique index
  -- is asked, not a set of a city's bodies in memory)
  local prefix = region[1] .. birth_s:gsub('-', '')
  local id_number
  repeat
    local body = prefix .. string.format('%03d', random(0, 499) * 2 + (male and 1 or 0))
    id_number = body .. registry.id_check_char(body)
  until not db.members:find('id_number', id_number)

  local given = male and GIVEN_M or GIVEN_F
  local name = SURNAMES[pick(surname_cum)][1] .. given[random(#given)]
  if random() < 0.7 then name = name .. given[random(#given)] end
  local phone = PHONE_PREFIXES[random(#PHONE_PREFIXES)] .. string.format('%08d', random(0, 99999999))

  -- Past retirement age (60 men, 55 women) by AS_OF: mostly retired.
  local category, status, retire
  local due = add_years(birth, male and 60 or 55)
  if due <= AS_OF and random() < 0.85 then
    category, status, retire = 'retiree', 'retired', due
  else
    category = CATEGORIES[pick(cat_cum)][1]
    status = random() < 0.9 and 'active' or 'left'
  end
  -- Joined the union at 18 or later, not before 2000, before retiring.
  local lo = math.max(JOIN_MIN, add_years(birth, 18))
  local hi = retire and math.max(lo, retire - 1) or AS_OF
  local join = lo + random(0, hi - lo)

  if not towns_seen[town.name] then towns_seen[town.name] = true; n_towns = n_towns + 1 end

  return program_fields({
    member_id = member_id, name = name, id_number = id_number, phone = phone,
    gender = male and 'M' or 'F', birth_date = birth_s, enterprise_id = ent,
    town = town.name, category = category, join_date = iso(join), status = status,
    retire_date = retire and iso(retire) or nil,
  }, ent)
end

-- An enterprise's name uses its region's city: 宁波恒达纺织有限公司
-- (scripts/lib/firm_names.lua: unique up to 3,000,000 members).
local function make_enterprise(ent, name_of)
  local town = ent_town[ent]
  local name = name_of(town.region[3], town.region[5])
  return { enterprise_id = ent, name = name, town = town.name, size = ent_size[ent] or 0,
           union_id = ent_union[ent], credit_code = credit_code(town.region[1]) }
end

-- Rest stations: 1-3 per town (more where more members live), hosted by
-- banks, post offices, petrol stations, sanitation offices, town unions.
local ROADS = { '人民', '解放', '文化', '建设', '工人', '新华', '中山', '和平', '长安', '海洲', '学林', '东山' }
local function make_stations()
  local out = {}
  for _, t in ipairs(TOWNS) do
    local short = t.name:gsub('街道$', ''):gsub('镇$', '')
    local n = math.min(3, 1 + math.floor(t.weight / 4))
    local used = {}
    for _ = 1, n do
      local h
      repeat h = HOSTS[rand2(#HOSTS)] until not used[h]
      used[h] = true
      local org = h[2]:find('总工会') and string.format(h[2], t.name)
                  or string.format(h[2], t.region[3] .. short)
      out[#out + 1] = { station_id = string.format('ST%02d', #out + 1), name = short .. h[1],
                        town = t.name, host_org = org, host_union_id = town_union[t],
                        address = string.format('%s%s路%d号', t.name, ROADS[rand2(#ROADS)], rand2(300)) }
    end
  end
  return out
end

local stations = make_stations()
-- The members are loaded (db.members:load: index entries sorted and
-- appended as each transaction commits, not put one by one into random
-- places of the indexes), CHUNK to a transaction: LMDB keeps the pages a
-- transaction writes in memory until it commits, and keeps a freed page for
-- its next transactions, never giving it back, so the largest transaction's
-- pages stay in the heap to the end.
local CHUNK = 20000
local made = 0
db.members:load(function()
  if made == N then return nil end
  made = made + 1
  return make_member(made)
end, { chunk = CHUNK })
db.atomic(function()
  local name_of = firm_names.namer(random)
  for ent = 1, n_ent do
    local e = make_enterprise(ent, name_of)
    db.enterprises:insert(e)
    local u = unions[ent_union[ent]]
    if u.level == 'enterprise' then u.name = e.name .. '工会'; u.enterprise = nil end
  end
  for _, u in ipairs(unions) do db.unions:insert(u) end
  for _, st in ipairs(stations) do db.stations:insert(st) end
  for _, t in ipairs(titles) do db.member_titles:insert(t) end
end)

print(string.format(gettext('sample data: %d members, %d enterprises in %d towns, %d unions, %d rest stations, %d member titles (seed %d)'),
                    N, n_ent, n_towns, #unions, #stations, #titles, SEED))

-- A year of activity (2024, the registry's last year) for the activity
-- register, union building and the ten-things report: the unions' founding
-- days, sessions and who came, the year's new unions and members, the stars
-- (scripts/lib/activity_sample.lua; a random stream of its own, so the
-- registry above is what it was for a seed). Only with activity=1 (make demo
-- asks for it), so the other programs' chapters, which start from a sample
-- without it, show the entry numbers and event counts they show.
if params.activity == 1 then
  local a = require('activity_sample').fill{ seed = SEED, year = 2024, dir = run.dir }
  print(string.format(gettext('sample activity 2024: %d sessions, %d people at them by name, %d new unions, %d members joined, %d stars'),
                      a.sessions, a.attendance, a.unions, a.joined, a.stars))
end

-- A year (2025) of the workers' sanatorium and the check-up van
-- (scripts/lib/sanatorium.lua), from its own random stream: the registry
-- above is the same for a seed with or without it. Only with activity=1,
-- as the activity above.
local san = params.activity == 1 and require('sanatorium').sample{ seed = SEED, year = 2025 }
if san then
  print(string.format(gettext('sanatorium 2025: %d applications, %d placed (%d moved up from the waiting list, %d waiting), satisfaction %s; check-up van: %d visits, %d workers checked'),
                      san.applications, san.placed, san.moved_up, san.waiting, san.rate, san.visits, san.checked))
end
