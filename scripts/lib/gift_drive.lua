-- gift_drive.lua — the Spring Festival gift drive (春节送温暖) for outdoor
-- workers, on the program framework (program.lua): stations get quotas of
-- each item, eligible workers claim at a station with their ID number, the
-- report shows issued and remaining per station and item (issued + remaining
-- == quota, always) and who received what per worker category.
--
-- The program's scripts are in scripts/gift_drive/ (setup, claim, claims
-- from a sheet, report); this module is their shared part, here in
-- scripts/lib so the tests can require it too. What it adds to the
-- framework: the drive's spec (drive.lua) as a plan, stations that must exist
-- and be open, and the per-station report.
--
-- The drive is a plan in the framework's one dialect (scripts/gift_drive/drive.lua):
--
--   local gift_drive = require 'gift_drive'
--   local d = gift_drive.define{
--     id = 'spring-2025', title = '2025年春节送温暖', window = { from = '2025-01-10', to = '2025-02-12' },
--     who = { where = { category = { 'sanitation', 'courier' }, status = 'active' } },  -- default: outdoor workers
--     kinds = {
--       { kind = 'gift-package', title = '新春礼包', value_fen = 20000, stock = 500,
--         places = { ST01 = 300, ST02 = 200 } },          -- quotas per station; once per member
--     },
--     stations = { ... },                                  -- for setup.lua (not part of the plan)
--     -- version = 2, changes = { [2] = 'ST01 quota raised' }   -- a change after the first claim
--   }
--   d:claim('ST01', '330481199001081234', 'gift-package')   --> award | nil, code, message
--   print(gift_drive.format(d:report()))
local program = require 'program'
local registry = require 'registry'
local fmt = require 'fmt'

local M = {}
local D = {}
D.__index = D

M.OUTDOOR = { 'sanitation', 'courier', 'gig_delivery', 'construction', 'driver' }

-- A station's claim sheet: its columns by label (or the English names).
M.FIELDS = {
  { 'place', '驿站', also = { 'station' } },
  { 'id_number', '身份证号', 'id' },
  { 'kind', '物品', also = { 'item' } },
  { 'at', '时间', 'datetime', optional = true, also = { 'time' } },
}

-- The plan of a drive: its stations left out, outdoor workers by default,
-- each item once per member, every quota at a station of the registry.
function M.plan(drive)
  local plan = {}
  for k, v in pairs(drive) do if k ~= 'stations' and k ~= 'file' then plan[k] = v end end
  plan.who = plan.who or { where = { category = M.OUTDOOR, status = 'active' } }
  plan.fields = plan.fields or M.FIELDS
  plan.kinds = {}
  for i, k in ipairs(drive.kinds or {}) do
    local kk = {}
    for f, v in pairs(k) do kk[f] = v end
    if kk.per_member == nil then kk.per_member = 1 end
    if type(kk.places) ~= 'table' then
      error(string.format(gettext("plan %s: key 'kinds[%d].places': the quotas per station { ST01 = n, ... } are missing"),
                          drive.file or 'drive.lua', i), 0)
    end
    plan.kinds[i] = kk
  end
  return plan
end

function M.define(drive)
  registry.define_all()
  local plan = M.plan(drive)
  for i, k in ipairs(plan.kinds) do
    for st in pairs(k.places) do
      if not db.stations:get(st, 'station_id') then
        error(string.format(gettext("plan %s: key 'kinds[%d].places.%s': station '%s' is not in the stations collection"),
                            drive.file or 'drive.lua', i, tostring(st), tostring(st)), 0)
      end
    end
  end
  local P = program.define(plan, { file = drive.file or 'drive.lua' })
  return setmetatable({ P = P, id = P.id, drive = drive }, D)
end

-- A claim at a station by ID number. Returns the award (the ledger entry, with
-- award_id), or nil, a code (bad_id, no_station, closed_station and the
-- framework's codes) and a message.
function D:claim(station_id, id_number, item, opts)
  opts = opts or {}
  if type(id_number) ~= 'string' then
    return nil, 'bad_id', string.format(gettext('not a valid ID number (18 characters, check character): %s'), tostring(id_number))
  end
  return db.atomic(function()
    local st = db.stations:get(station_id)
    if not st then return nil, 'no_station', string.format(gettext('no station %s'), tostring(station_id)) end
    if st.open == false then return nil, 'closed_station', string.format(gettext('station %s is closed'), station_id) end
    local m, code, why = program.member(id_number)
    if not m then return nil, code, why end
    local e
    e, code, why = self.P:enter{ member = m, kind = item, place = station_id, at = opts.at, category = m.category }
    if e then e.award_id = e.entry_id end
    return e, code, why
  end)
end

-- Enters a station's claim sheet (columns 驿站/station, 身份证号/id_number,
-- 物品/item, 时间/time): each row as a claim, refusals in FILE.refusals.csv.
-- Returns the framework's summary (program.sheet_summary, program.finish).
function D:claims(file)
  return self.P:enter_sheet(file, { each = function(e)
    local st = db.stations:get(e.place)
    if not st then return nil, gettext('no station ') .. tostring(e.place) end
    if st.open == false then return nil, string.format(gettext('station %s is closed'), e.place) end
    local m = program.member(e.id_number)
    if m then e.category = m.category end
    return true
  end })
end

-- The report: per station and item (quota, issued, remaining), per station
-- and worker category (issued), the drive's 人次/人/户次, and ok when every
-- running total agrees with the ledger.
function D:report()
  local rep = self.P:report()
  local p = self.P.plan
  local out = { campaign = p.id, title = p.title, starts = p.window.from, ends = p.window.to,
                stations = {}, categories = {}, ok = rep.ok, problems = rep.problems,
                total = { person_times = rep.total.person_times, persons = rep.total.persons,
                          household_times = rep.total.household_times, households = rep.total.households,
                          qty = rep.total.qty, value_fen = rep.total.fen } }
  local issued = {}
  for t in db.program_totals:scan{ program = self.id } do issued[t.tkey] = t.qty end
  for _, k in ipairs(p.kinds) do
    local places = {}
    for st in pairs(k.places or {}) do places[#places + 1] = st end
    table.sort(places)
    for _, st in ipairs(places) do
      local n = issued[self.id .. '|quota:' .. k.kind .. '|' .. st] or 0
      out.stations[#out.stations + 1] = { station = st, name = db.stations:get(st, 'name') or '?', item = k.kind,
                                          title = k.title ~= k.kind and k.title or nil, quota = k.places[st],
                                          issued = n, remaining = k.places[st] - n }
    end
  end
  local n, reversed = {}, {}
  local entries = self.P:entries()
  for _, e in ipairs(entries) do if e.reverses then reversed[e.reverses] = true; reversed[e.entry_id] = true end end
  for _, e in ipairs(entries) do
    if not reversed[e.entry_id] then
      local k = (e.place or '') .. '\0' .. e.kind .. '\0' .. (e.extra and e.extra.category or '?')
      n[k] = (n[k] or 0) + 1
    end
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
  local lines = { fmt.heading(rep.title, rep.campaign, rep.starts, rep.ends), '' }
  local rows = {}
  for _, s in ipairs(rep.stations) do
    rows[#rows + 1] = { s.station, s.name, s.title or s.item, s.quota, s.issued, s.remaining }
  end
  lines[#lines + 1] = fmt.table({ gettext('station'), gettext('name'), gettext('item'), gettext('quota'), gettext('issued'), gettext('remaining') }, rows,
                                { right = { 4, 5, 6 } })
  lines[#lines + 1] = ''
  rows = {}
  for _, c in ipairs(rep.categories) do rows[#rows + 1] = { c.station, c.item, c.category, c.issued } end
  lines[#lines + 1] = fmt.table({ gettext('station'), gettext('item'), gettext('worker category'), gettext('issued') }, rows, { right = { 4 } })
  lines[#lines + 1] = ''
  local t = rep.total
  lines[#lines + 1] = string.format(gettext('issued: %d 人次 to %d 人 (%d 户次); value %s yuan'),
                                    t.person_times, t.persons, t.household_times, fmt.yuan(t.value_fen))
  if not rep.ok then
    lines[#lines + 1] = string.format(gettext('PROBLEMS: %s'), table.concat(rep.problems, '; '))
  end
  return table.concat(lines, '\n')
end

return M
