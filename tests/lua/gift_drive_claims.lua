-- gift_drive_claims.lua — scripts/lib/gift_drive.lua on the fixed registry
-- of program_fixtures.lua: quotas per station, claims by ID number, every
-- refusal, the report per station and item (issued + remaining == quota)
-- and per worker category, 人次/人/户次, re-entering claims.
local t = require 'testlib'
local fx = require 'program_fixtures'
local gift_drive = require 'gift_drive'
fx.load()

local function spec(kinds)
  return { id = 'sf', title = '春节送温暖', window = { from = '2025-01-10', to = '2025-02-12' },
           kinds = kinds or {
             { kind = 'gift', title = '新春礼包', value_fen = 20000, stock = 4, places = { ST01 = 2, ST02 = 2 } },
             { kind = 'souvenir', title = '纪念品', value_fen = 3000, stock = 10, places = { ST01 = 3, ST02 = 3 } },
           } }
end
local d = gift_drive.define(spec())
local AT = { at = '2025-01-20 10:00:00' }
local function claim(st, who, item)
  local id = type(who) == 'number' and fx.id(who) or who
  local a, code = d:claim(st, id, item, AT)
  return a and 'ok' or code
end

local CLAIMS = {
  { 'ST01', 1, 'gift', 'ok' },
  { 'ST01', 2, 'gift', 'ok' },
  { 'ST01', 3, 'gift', 'out_of_stock' },
  { 'ST02', 3, 'gift', 'ok' },
  { 'ST02', 1, 'gift', 'already' },
  { 'ST02', 7, 'gift', 'not_eligible' },        -- office worker
  { 'ST02', 6, 'gift', 'not_eligible' },        -- left the union
  { 'ST02', 12, 'gift', 'not_eligible' },       -- retired
  { 'ST09', 4, 'gift', 'no_station' },
  { 'ST02', 4, 'souvenir', 'ok' },
  { 'ST02', 5, 'souvenir', 'ok' },
}

t.case('claims at stations: issued, already, out of stock, not eligible, no station', function()
  for i, c in ipairs(CLAIMS) do
    t.eq(claim(c[1], c[2], c[3]), c[4], 'claim ' .. i)
  end
end)

t.case('a mistyped ID number and an unknown one are refused', function()
  local id = fx.id(9)
  local wrong = id:sub(1, 16) .. ((tonumber(id:sub(17, 17)) + 2) % 10) .. id:sub(18)
  t.eq(claim('ST02', wrong, 'gift'), 'bad_id')
  local body = '33048119800101999'
  local stranger = body .. require('registry').id_check_char(body)
  t.eq(claim('ST02', stranger, 'gift'), 'not_found')
  t.eq({ d:claim('ST02', 12345, 'gift', AT) }, { nil, 'bad_id', 'not a valid ID number (18 characters, check character): 12345' })
end)

t.case('a closed station takes no claims', function()
  t.raises(function()
    db.atomic(function()
      db.stations:update('ST02', { open = false })
      t.eq(claim('ST02', 9, 'gift'), 'closed_station')
      error('undo')
    end)
  end, 'undo')
end)

local EXPECTED_STATIONS = {
  { station = 'ST01', name = '硖石工行驿站', item = 'gift', title = '新春礼包', quota = 2, issued = 2, remaining = 0 },
  { station = 'ST02', name = '许村邮政驿站', item = 'gift', title = '新春礼包', quota = 2, issued = 1, remaining = 1 },
  { station = 'ST01', name = '硖石工行驿站', item = 'souvenir', title = '纪念品', quota = 3, issued = 0, remaining = 3 },
  { station = 'ST02', name = '许村邮政驿站', item = 'souvenir', title = '纪念品', quota = 3, issued = 2, remaining = 1 },
}

t.case('the report: per station and item, per worker category, 人次/人/户次', function()
  local rep = d:report()
  t.eq(rep.stations, EXPECTED_STATIONS)
  for _, s in ipairs(rep.stations) do t.eq(s.issued + s.remaining, s.quota) end
  t.eq(rep.categories, {
    { station = 'ST01', item = 'gift', category = 'sanitation', issued = 2 },
    { station = 'ST02', item = 'gift', category = 'courier', issued = 1 },
    { station = 'ST02', item = 'souvenir', category = 'gig_delivery', issued = 2 },
  })
  t.eq(rep.total, { person_times = 5, persons = 5, household_times = 3, households = 3,
                    qty = 5, value_fen = 66000 })
  t.eq(rep.ok, true)
  local text = gift_drive.format(rep)
  t.ok(text:find('ST02     许村邮政驿站  新春礼包      2       1          1', 1, true), text)
  t.ok(text:find('issued: 5 人次 to 5 人 (3 户次); value 660.00 yuan', 1, true), text)
end)

t.case('entering the same claims again issues nothing; defining again changes nothing', function()
  local before = t.snapshot()
  local n = #bus.events{ topic = 'program.entry' }
  d = gift_drive.define(spec())
  for _, c in ipairs(CLAIMS) do
    local r = claim(c[1], c[2], c[3])
    t.ok(r ~= 'ok', 'claim of member ' .. c[2] .. ' issued again')
  end
  t.eq(t.snapshot(), before)
  t.eq(#bus.events{ topic = 'program.entry' }, n)
end)

t.case('quotas: a station not in the registry, more than the total, below what was issued', function()
  t.unchanged(function() gift_drive.define(spec{ { kind = 'gift', stock = 4, places = { ST01 = 2, ST07 = 2 } } }) end,
              { "key 'kinds[1].places.ST07': station 'ST07' is not in the stations collection" })
  t.unchanged(function() gift_drive.define(spec{ { kind = 'gift', stock = 3, places = { ST01 = 2, ST02 = 2 } } }) end,
              { "the quotas of 'gift' add up to 4, more than the 3 there are" })
  t.unchanged(function() gift_drive.define(spec{ { kind = 'gift', stock = 4, places = { ST01 = 1, ST02 = 2 } } }) end,
              { "key 'kinds[1].places.ST01': 1 is less than the 2 already given" })
  -- a change after the first claim must be declared (plan versions)
  t.unchanged(function()
    gift_drive.define(spec{ { kind = 'gift', title = '新春礼包', value_fen = 20000, stock = 4, places = { ST01 = 2, ST02 = 1 } },
                            { kind = 'souvenir', title = '纪念品', value_fen = 3000, stock = 10, places = { ST01 = 3, ST02 = 3 } } })
  end, { "key 'kinds[1].places.ST02' changed (2 -> 1) after the program's first entry", 'version = 2' })
end)

t.case('a quota raised later: the station issues again', function()
  local s = spec{
    { kind = 'gift', title = '新春礼包', value_fen = 20000, stock = 5, places = { ST01 = 3, ST02 = 2 } },
    { kind = 'souvenir', title = '纪念品', value_fen = 3000, stock = 10, places = { ST01 = 3, ST02 = 3 } } }
  s.version, s.changes = 2, { [2] = 'one more gift package for ST01' }
  d = gift_drive.define(s)
  t.eq(claim('ST01', 10, 'gift'), 'ok')
  t.eq(claim('ST01', 11, 'gift'), 'out_of_stock')
  local rep = d:report()
  t.eq({ rep.stations[1].quota, rep.stations[1].issued, rep.stations[1].remaining }, { 3, 3, 0 })
  t.eq(rep.ok, true)
end)

t.done()
