-- gift_drive.lua — the Spring Festival gift drive (春节送温暖) for outdoor
-- workers, on the campaign library: stations get quotas of each item,
-- eligible workers claim at a station with their ID number, the report shows
-- issued and remaining per station and item (issued + remaining == quota,
-- always) and who received what per worker category.
--
-- The program's scripts are in scripts/gift_drive/ (setup, claim, claims
-- from a sheet, report); this module is their shared part, here in
-- scripts/lib so the tests can require it too.
--
--   local gift_drive = require 'gift_drive'
--   local d = gift_drive.define{
--     id = 'spring-2025', title = '2025年春节送温暖', starts = '2025-01-10', ends = '2025-02-12',
--     categories = { 'sanitation', 'courier', 'gig_delivery', 'construction', 'driver' },
--     items = {
--       { item = 'gift-package', title = '新春礼包', value_fen = 20000, total = 500,
--         quotas = { ST01 = 300, ST02 = 200 } },
--     },
--   }
--   d:claim('ST01', '330481199001011234', 'gift-package')   --> award | nil, code, message
--   print(gift_drive.format(d:report()))
local campaign = require 'campaign'
local registry = require 'registry'

local M = {}
local D = {}
D.__index = D

M.OUTDOOR = { 'sanitation', 'courier', 'gig_delivery', 'construction', 'driver' }

function M.define(spec)
  registry.define_all()
  local cats = spec.categories or M.OUTDOOR
  if type(cats) ~= 'table' or #cats == 0 then
    error('gift drive: categories must be a list of member categories', 2)
  end
  local items = {}
  for _, it in ipairs(spec.items or {}) do
    if type(it.quotas) ~= 'table' then
      error("gift drive: item '" .. tostring(it.item) .. "' needs quotas = { STATION = n, ... }", 2)
    end
    local sum, stations = 0, {}
    for st, n in pairs(it.quotas) do
      if not db.stations:get(st, 'station_id') then
        error("gift drive: item '" .. it.item .. "' has a quota at station '" .. tostring(st)
              .. "', which is not in the stations collection", 2)
      end
      if math.type(n) ~= 'integer' or n < 0 then
        error("gift drive: the quota of '" .. it.item .. "' at " .. st .. ' must be a whole number >= 0', 2)
      end
      sum = sum + n
      stations[#stations + 1] = st
    end
    if it.total and sum > it.total then
      error(string.format("gift drive: the quotas of '%s' add up to %d, more than the %d there are",
                          it.item, sum, it.total), 2)
    end
    items[#items + 1] = { item = it.item, title = it.title, value_fen = it.value_fen, stock = it.quotas }
  end
  local c = campaign.define{
    id = spec.id, title = spec.title, starts = spec.starts, ends = spec.ends,
    union_id = spec.union_id, where = { category = cats, status = 'active' },
    eligible = spec.eligible, items = items,
  }
  return setmetatable({ c = c, id = spec.id, categories = cats, spec = spec }, D)
end

-- A claim at a station by ID number. Returns the award, or nil, a code
-- (bad_id, closed_station and the campaign's codes) and a message.
function D:claim(station_id, id_number, item, opts)
  opts = opts or {}
  if type(id_number) ~= 'string' or not registry.valid_id(id_number:upper()) then
    return nil, 'bad_id', 'not a valid ID number (18 characters, check character): ' .. tostring(id_number)
  end
  id_number = id_number:upper()
  return db.atomic(function()
    local st = db.stations:get(station_id)
    if not st then return nil, 'no_station', 'no station ' .. tostring(station_id) end
    if st.open == false then return nil, 'closed_station', 'station ' .. station_id .. ' is closed' end
    local m = db.members:find('id_number', id_number)
    if not m then
      return nil, 'not_found', 'no member with ID number ' .. registry.mask_id(id_number)
    end
    return self.c:issue(m, item, { pool = station_id, at = opts.at,
                                   extra = { category = m.category, town = m.town } })
  end)
end

-- The report: per station and item (quota, issued, remaining), per station
-- and worker category (issued), the campaign's 人次/人/户次, and ok when
-- every stock row agrees with its awards.
function D:report()
  local rep = self.c:report()
  local out = { campaign = rep.campaign, title = rep.title, starts = rep.starts, ends = rep.ends,
                stations = {}, categories = {}, total = rep.total, items = rep.items,
                ok = rep.ok, problems = rep.problems }
  for _, s in ipairs(rep.stock) do
    out.stations[#out.stations + 1] = {
      station = s.pool, name = db.stations:get(s.pool, 'name') or '?', item = s.item,
      title = s.title, quota = s.stock, issued = s.issued, remaining = s.remaining,
    }
    if s.issued + s.remaining ~= s.stock then out.ok = false end
  end
  local n = {}
  for a in db.campaign_awards:scan{ index = 'campaign,item,pool', eq = { self.id } } do
    local cat = a.extra and a.extra.category or '?'
    local k = a.pool .. '\0' .. a.item .. '\0' .. cat
    n[k] = (n[k] or 0) + 1
  end
  local keys = {}
  for k in pairs(n) do keys[#keys + 1] = k end
  table.sort(keys)
  for _, k in ipairs(keys) do
    local pool, item, cat = k:match('^(.-)%z(.-)%z(.*)$')
    out.categories[#out.categories + 1] = { station = pool, item = item, category = cat, issued = n[k] }
  end
  return out
end

function M.format(rep)
  local fmt = require 'fmt'
  local lines = { string.format('%s (%s), %s .. %s', rep.title, rep.campaign, rep.starts, rep.ends), '' }
  local rows = {}
  for _, s in ipairs(rep.stations) do
    rows[#rows + 1] = { s.station, s.name, s.title or s.item, s.quota, s.issued, s.remaining }
  end
  lines[#lines + 1] = fmt.table({ 'station', 'name', 'item', 'quota', 'issued', 'remaining' }, rows,
                                { right = { 4, 5, 6 } })
  lines[#lines + 1] = ''
  rows = {}
  for _, c in ipairs(rep.categories) do rows[#rows + 1] = { c.station, c.item, c.category, c.issued } end
  lines[#lines + 1] = fmt.table({ 'station', 'item', 'worker category', 'issued' }, rows, { right = { 4 } })
  lines[#lines + 1] = ''
  local t = rep.total
  lines[#lines + 1] = string.format('issued: %d 人次 to %d 人 (%d 户次); value %s yuan',
                                    t.person_times, t.persons, t.household_times, fmt.yuan(t.value_fen))
  if not rep.ok then
    lines[#lines + 1] = 'PROBLEMS: ' .. table.concat(rep.problems, '; ')
  end
  return table.concat(lines, '\n')
end

return M
