-- demo.lua — 春节送温暖: the Spring Festival gift drive for outdoor workers.
--
--   gonghui --db DIR run scripts/sample_data.lua     (once, to make a registry)
--   gonghui --db DIR run scripts/demo.lua
--
-- Every active outdoor worker (delivery riders, couriers, sanitation,
-- construction workers, drivers) gets one gift package. Awards are kept in
-- the `awards` collection with a unique (campaign, member_id), so running
-- the program again issues nothing twice.

local registry = require 'registry'

local CAMPAIGN   = 'spring-2025'
local FESTIVAL   = '2025-01-29'          -- 春节 2025, for ages
local GIFT       = 'gift-package'
local GIFT_FEN   = 20000                 -- 200.00 yuan
local OUTDOOR    = { 'gig_delivery', 'courier', 'sanitation', 'construction', 'driver' }
local ELIGIBLE   = { category = OUTDOOR, status = 'active' }

registry.define_members()
db.define('awards', {                    -- automatic key `id`
  fields = { campaign = 'string', member_id = 'int', item = 'string', amount_fen = 'fen' },
  unique = { { 'campaign', 'member_id' } },
})
if db.members:count() == 0 then
  error('the registry has no members yet: run scripts/sample_data.lua first')
end

-- ---- how many are eligible, per town --------------------------------------

local eligible_by_town = db.members:count_by('town', ELIGIBLE)

-- ---- issue the awards -------------------------------------------------------

local issued, already = 0, 0
local fen_by_town = {}
local youngest, oldest

db.atomic(function()
  for m in db.members:scan(ELIGIBLE) do
    local fen = db.awards:find('campaign,member_id', { CAMPAIGN, m.member_id }, 'amount_fen')
    if fen then
      already = already + 1
    else
      db.awards:insert{ campaign = CAMPAIGN, member_id = m.member_id,
                        item = GIFT, amount_fen = GIFT_FEN }
      fen, issued = GIFT_FEN, issued + 1
    end
    fen_by_town[m.town] = (fen_by_town[m.town] or 0) + fen
    -- first in member_id order wins a tie
    if not youngest or m.birth_date > youngest.birth_date then youngest = m:totable() end
    if not oldest   or m.birth_date < oldest.birth_date   then oldest   = m:totable() end
  end
end)

-- ---- report -----------------------------------------------------------------

-- 1234567 fen -> "12,345.67"
local function yuan(fen)
  local int = tostring(fen // 100):reverse():gsub('(%d%d%d)', '%1,'):reverse():gsub('^,', '')
  return string.format('%s.%02d', int, fen % 100)
end

-- Pads to a display width: Chinese characters take two columns.
local function width(s)
  local w = 0
  for _, cp in utf8.codes(s) do w = w + (cp >= 0x1100 and 2 or 1) end
  return w
end
local function left(s, n)  return s .. string.rep(' ', n - width(s)) end
local function right(s, n) return string.rep(' ', n - width(s)) .. s end

local function age(birth_date)
  local y = tonumber(birth_date:sub(1, 4))
  return tonumber(FESTIVAL:sub(1, 4)) - y - (birth_date:sub(6) > FESTIVAL:sub(6) and 1 or 0)
end

local function who(m)
  return string.format('%s (%s, age %d, %s, %s, %s)', registry.mask_name(m.name),
    m.gender, age(m.birth_date), registry.mask_id(m.id_number), m.town, m.category)
end

local towns = {}
for town in pairs(eligible_by_town) do towns[#towns + 1] = town end
table.sort(towns, function(a, b)
  if eligible_by_town[a] ~= eligible_by_town[b] then
    return eligible_by_town[a] > eligible_by_town[b]
  end
  return a < b
end)

print(string.format('春节送温暖 Spring Festival gift drive %s: one %s (%s yuan) per active outdoor worker',
                    CAMPAIGN, GIFT, yuan(GIFT_FEN)))
print('outdoor categories: ' .. table.concat(OUTDOOR, ', '))
print()
local rule = string.rep('-', 14 + 10 + 16)
print(left('town', 14) .. right('eligible', 10) .. right('amount (yuan)', 16))
print(rule)
local total_n, total_fen = 0, 0
for _, town in ipairs(towns) do
  local n, fen = eligible_by_town[town], fen_by_town[town] or 0
  total_n, total_fen = total_n + n, total_fen + fen
  print(left(town, 14) .. right(tostring(n), 10) .. right(yuan(fen), 16))
end
print(rule)
print(left('total', 14) .. right(tostring(total_n), 10) .. right(yuan(total_fen), 16))
print()
print(string.format('new awards issued: %d (%d already issued before)', issued, already))
if youngest then
  print('youngest eligible: ' .. who(youngest))
  print('oldest eligible:   ' .. who(oldest))
end
