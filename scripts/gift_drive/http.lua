-- http.lua — the gift drive's endpoints for `gonghui serve`, used by the
-- counter page in www/. The same rules as claim.lua and report.lua: the
-- claim goes through gift_drive's d:claim, nothing is decided twice.
--
--   GET  /api/gift_drive/stations          the stations this account may see
--   GET  /api/gift_drive/member?id=ID      the member (masked) and what they may claim
--   POST /api/gift_drive/claim             {"id": ID, "item": ITEM[, "station": ST]}
--   GET  /api/gift_drive/today[?station=]  today's claims (masked)
--   GET  /api/gift_drive/report            issued and remaining per station
--
-- The server runs every handler with the account's scope: members and
-- stations of other unions do not exist for it (members, enterprises and
-- stations declare their scope field in registry.lua). A station operator
-- claims only at the station of its account.
local gift_drive = require 'gift_drive'
local program = require 'program'
local registry = require 'registry'
local drive = require 'drive'

local d = gift_drive.define(drive) -- at load, once: defines and checks the plan
local mask_name = program.mask_name

local function member_view(m)
  return { member_id = m.member_id, name = mask_name(m.name), id_number = registry.mask_id(m.id_number),
           category = m.category, town = m.town, status = m.status }
end

local function refusal(status, code, message)
  return status, { ok = false, code = code, message = message }
end

-- The station of a request: an operator's own; else the one asked for.
local function station_of(req, asked)
  if req.account.role == 'operator' then return req.account.station end
  return asked
end

local items_by_id = {}
for _, k in ipairs(drive.kinds) do items_by_id[k.kind] = k end

-- The member's entries of this drive, per kind (reversed ones left out).
local function entries_of(m)
  local got, reversed = {}, {}
  local list = db.program_entries:list{ index = 'program,member_id', eq = { d.id, m.member_id } }
  for _, e in ipairs(list) do if e.reverses then reversed[e.reverses] = true end end
  for _, e in ipairs(list) do
    if not e.reverses and not reversed[e.entry_id] then got[e.kind] = e end
  end
  return got
end

-- What is left of kind at station st.
local function remaining(kind, st)
  local k = items_by_id[kind]
  local quota = k and k.places and k.places[st]
  if not quota then return 0 end
  local t = db.program_totals:get(d.id .. '|quota:' .. kind .. '|' .. st)
  return quota - (t and t.qty or 0)
end

local function today() return os.date('%Y-%m-%d') end

local routes = {}

routes[#routes + 1] = { method = 'GET', path = '/stations', handler = function(req)
  local out = {}
  for s in db.stations:scan() do
    out[#out + 1] = { station_id = s.station_id, name = s.name, town = s.town, open = s.open ~= false }
  end
  return { ok = true, stations = out, campaign = d.id, title = drive.title,
           items = (function()
             local l = {}
             for _, k in ipairs(drive.kinds) do l[#l + 1] = { item = k.kind, title = k.title, value_fen = k.value_fen } end
             return l
           end)() }
end }

routes[#routes + 1] = { method = 'GET', path = '/member', handler = function(req)
  -- the framework's lookup: the check character verified, the number masked in the message
  local m, code, why = program.member(tostring(req.query.id or ''))
  if not m then return refusal(code == 'not_found' and 404 or 400, code, why) end
  local station = station_of(req, req.query.station)
  local items, got = {}, entries_of(m)
  for _, k in ipairs(drive.kinds) do
    local row = { item = k.kind, title = k.title, value_fen = k.value_fen }
    local yes, why = d.P:eligible(m, k.kind)
    if got[k.kind] then
      row.status, row.at, row.station = 'already', program.entry_at(got[k.kind]), got[k.kind].place
    elseif not yes then
      row.status, row.reason = 'not_eligible', why
    else
      row.remaining = station and remaining(k.kind, station) or 0
      row.status = row.remaining > 0 and 'may' or 'out_of_stock'
    end
    items[#items + 1] = row
  end
  return { ok = true, member = member_view(m), items = items }
end }

routes[#routes + 1] = { method = 'POST', path = '/claim', write = true,
                        roles = { 'admin', 'clerk', 'operator' }, handler = function(req)
  local b = req.body or {}
  if type(b.id) ~= 'string' then return refusal(400, 'bad_request', 'the claim needs "id" (an ID number)') end
  local item = b.item or 'gift-package'
  if not items_by_id[item] then return refusal(400, 'bad_item', 'no item ' .. tostring(item)) end
  local station = station_of(req, b.station)
  if type(station) ~= 'string' then return refusal(400, 'bad_request', 'the claim needs "station"') end
  if not db.stations:get(station, 'station_id') then
    return refusal(403, 'no_station', string.format(gettext("station %s is not one of this account's"), station))
  end
  local a, code, msg = d:claim(station, b.id, item)
  if not a then
    local status = (code == 'bad_id' and 400) or (code == 'not_found' and 404) or 409
    return refusal(status, code, msg)
  end
  local m = db.members:get(a.member_id)
  return { ok = true, award = { award_id = a.award_id, item = a.kind, title = items_by_id[item].title,
                                station = a.place, at = a.at, member = member_view(m) } }
end }

routes[#routes + 1] = { method = 'GET', path = '/today', handler = function(req)
  local day = req.query.day or today()
  local stations = {}
  local only = station_of(req, req.query.station)
  if only then
    if db.stations:get(only, 'station_id') then stations[1] = only end
  else
    for s in db.stations:scan() do stations[#stations + 1] = s.station_id end
  end
  local out, want = {}, {}
  for _, st in ipairs(stations) do want[st] = true end
  for e in db.program_entries:scan{ index = 'program,kind', eq = { d.id } } do
    if e.day == day and want[e.place] and not e.reverses then
      local m = db.members:get(e.member_id)
      out[#out + 1] = { award_id = e.entry_id, item = e.kind, title = items_by_id[e.kind] and items_by_id[e.kind].title,
                        station = e.place, at = program.entry_at(e), member = m and member_view(m) or { member_id = e.member_id } }
    end
  end
  table.sort(out, function(x, y) return x.award_id > y.award_id end)
  return { ok = true, day = day, claims = out }
end }

routes[#routes + 1] = { method = 'GET', path = '/report', handler = function(req)
  local rep = d:report()
  local seen, rows, cats = {}, {}, {}
  for s in db.stations:scan() do seen[s.station_id] = s.name end
  for _, r in ipairs(rep.stations) do
    if seen[r.station] then
      rows[#rows + 1] = { station = r.station, name = seen[r.station], item = r.item, title = r.title,
                          quota = r.quota, issued = r.issued, remaining = r.remaining }
    end
  end
  for _, c in ipairs(rep.categories) do
    if seen[c.station] then cats[#cats + 1] = c end
  end
  return { ok = rep.ok, campaign = rep.campaign, title = rep.title, starts = rep.starts, ends = rep.ends,
           stations = rows, categories = cats }
end }

return routes
