-- market.lua — the co-prosperity farmers' market (共富集市): vendors
-- (farmers and co-operatives, by town) sell their products at booths on
-- market days; model workers (劳模) endorse products; members who pay with
-- the union benefit code (工会惠工码) get a discount up to a daily cap;
-- reports of sales by vendor, product and town, endorsed versus other, and
-- the discounts given with the persons served (人/人次).
--
-- The program's scripts are in scripts/market/ (setup, title, endorse,
-- booth, sell, sales from a sheet, void, report); this module is their shared
-- part, here in scripts/lib so the tests can require it too.
--
--   local market = require 'market'
--   local mk = market.define{
--     id = 'xs-2025', title = '硖石共富集市', town = '硖石街道',
--     starts = '2025-05-01', ends = '2025-12-31',
--     discount = { percent = 10, cap_fen = 2000 },   -- 10% off, at most 20.00 yuan a member a day
--     booths = { 'A01', 'A02' }, days = { '2025-05-03' }, weekdays = { 6 },   -- 6 = Saturday
--     vendors = { { vendor_id = 'V01', name = '...', kind = 'farmer', town = '许村镇' } },
--     products = { { product_id = 'P01', vendor_id = 'V01', name = '...', unit = '斤', price_fen = 350 } },
--   }
--   mk:assign('2025-05-03', 'A01', 'V01')             -- a booth for a day (error if taken)
--   market.endorse('P01', 42, '2025-04-20')           -- error unless member 42 is a model worker
--   local sale, code, why = mk:sell{ date = '2025-05-03', vendor = 'V01', product = 'P01',
--                                    amount_fen = 1999, member_id = 42 }   -- or id_number = '...'
--   mk:void(sale.sale_id, 'entered twice')             -- out of the reports, discount back to the cap
--   print(market.format(mk:report{ from = '2025-05-01', to = '2025-05-31' }))
--
-- THE DISCOUNT RULE (per market: discount.percent, discount.cap_fen).
--   A sale paid with the benefit code names the member. Its full discount is
--   floor(amount_fen * percent / 100): rounded down to the fen, so the union
--   never gives more than the rate (1999 fen at 10% -> 199 fen). The member's
--   discounts in this market on this day may not pass cap_fen: the discount
--   applied is min(full discount, cap_fen - discounts already given to this
--   member in this market that day), never below 0. A sale that meets the
--   cap part-way gets the part that is left (capped = true); after that the
--   member pays the full price (discount 0, capped = true). paid_fen =
--   amount_fen - discount_fen. The cap is per market: a member at two
--   markets on one day has a cap at each. The reading of what was already
--   given and the writing of the sale are one db.atomic, and gonghui lets one
--   writer in at a time, so two counters selling to the same member at the
--   same moment cannot pass the cap between them.
--
-- Who may pay with the code: a member of the registry (by member_id, or by
-- ID number, checked for its check character) whose status is not 'left'.
--
-- ENDORSEMENTS. market.endorse(product, member, date) needs the member to
-- hold a title of kind 'model_worker' (劳动模范/先进工作者) on that date
-- (registry.member_titles, not revoked). A sale is endorsed when, on its
-- date, its product has an endorsement dated on or before it whose endorser
-- still holds the title. The flag is stored with the sale (and its event):
-- a report of last year does not change when a title is revoked today.
--
-- EVENTS. Every sale publishes 'market.sale' in its own transaction with
-- { sale_id, market, date, vendor, town, product, endorsed, qty, amount_fen,
-- discount_fen, paid_fen, pay, member, capped, cap_fen }; a sale voided
-- (entered by mistake: mk:void) publishes 'market.sale_voided' { sale_id,
-- market, date, reason }. mk:report_events() builds the same report from
-- the log alone. An endorsement publishes 'market.endorsed'.
--
-- VOIDING. A sale entered by mistake is voided, not deleted: it stays with
-- the time and reason, counts in no report, and its discount no longer
-- counts toward the member's cap that day (the member may use it again).
--
-- Refusals of a sale (no such vendor, no booth that day, not a market day, an
-- unknown member, an amount that is not whole fen, a receipt entered twice)
-- are not errors: sell() returns nil, a code and a message, so a sheet's
-- other rows go on. A booth already taken, an endorsement by someone who is
-- not a model worker, an unknown product are errors (an admin's plan to fix)
-- that name what and leave the database as it was.
local dates = require 'dates'
local parse = require 'parse'
local registry = require 'registry'
local program = require 'program'

local M = {}
local K = {}
K.__index = K

M.KINDS = { farmer = '农户', coop = '合作社' }
M.PAY = { code = '惠工码', other = '其他' }

M.REFUSALS = {
  not_market_day = N_('not a market day'),
  no_vendor      = N_('no such vendor'),
  no_product     = N_('no such product of this vendor'),
  no_booth       = N_('the vendor has no booth that day'),
  bad_amount     = N_('the amount is not a whole number of fen above 0'),
  bad_id         = N_('not a valid ID number'),
  not_found      = N_('no such member'),
  not_member     = N_('no longer a member'),
  already        = N_('this receipt is already entered'),
}

function M.define_collections()
  registry.define_members()
  registry.define_titles()
  db.define('market_vendors', {
    key    = 'vendor_id',
    fields = { vendor_id = 'string', name = 'string', kind = 'string', town = 'string',
               phone = 'string?', credit_code = 'string?', note = 'string?' },
    index  = { 'town' },
  })
  db.define('market_products', {
    key    = 'product_id',
    fields = { product_id = 'string', vendor_id = 'string', name = 'string',
               unit = 'string?', price_fen = 'fen?', category = 'string?' },
    index  = { 'vendor_id' },
  })
  db.define('markets', {
    key    = 'market_id',
    fields = { market_id = 'string', title = 'string', town = 'string', place = 'string?',
               starts = 'date', ends = 'date', percent = 'int', cap_fen = 'fen', note = 'string?' },
  })
  db.define('market_days', {
    key    = 'day_id', auto = true,
    fields = { day_id = 'int', market = 'string', date = 'date' },
    unique = { { 'market', 'date' } },
  })
  db.define('market_booths', {
    key    = 'booth_no', auto = true,
    fields = { booth_no = 'int', market = 'string', booth = 'string', name = 'string?' },
    unique = { { 'market', 'booth' } },
  })
  -- who holds which booth on which day: one holder per booth and day
  db.define('market_bookings', {
    key    = 'booking_id', auto = true,
    fields = { booking_id = 'int', market = 'string', date = 'date', booth = 'string',
               vendor_id = 'string', at = 'string' },
    unique = { { 'market', 'date', 'booth' } },
    index  = { { 'market', 'date', 'vendor_id' }, 'vendor_id' },
  })
  db.define('market_endorsements', {
    key    = 'endorsement_id', auto = true,
    fields = { endorsement_id = 'int', product_id = 'string', member_id = 'int', since = 'date',
               title = 'string', note = 'string?' },
    unique = { { 'product_id', 'member_id' } },
    index  = { 'member_id' },
  })
  db.define('market_sales', {
    key    = 'sale_id', auto = true,
    fields = { sale_id = 'int', market = 'string', date = 'date', at = 'string',
               vendor_id = 'string', town = 'string', product_id = 'string', endorsed = 'bool',
               qty = 'number?', amount_fen = 'fen', discount_fen = 'fen', paid_fen = 'fen',
               pay = 'string', member_id = 'int?', cap_fen = 'fen?', capped = 'bool?',
               ref = 'string?', source = 'string?', run = 'string?',
               -- when and why it was voided; its receipt number moves to voided_ref
               -- so that the corrected sale can be entered under it
               voided = 'string?', void_reason = 'string?', voided_ref = 'string?',
               entry_id = 'int?' },   -- its entry in the framework's ledger (program_entries)
    unique = { { 'market', 'date', 'vendor_id', 'ref' } },
    index  = { { 'market', 'date' }, { 'market', 'member_id', 'date' }, 'vendor_id', 'product_id' },
  })
end

local function fail(fmt, ...)
  error(string.format(fmt, ...), 0)
end

local function check_string(v, what)
  if type(v) ~= 'string' or v == '' then fail(gettext('market: %s must be a non-empty string, got %s'), what, tostring(v)) end
end

-- Monday = 1 ... Sunday = 7 (1970-01-01 was a Thursday).
function M.weekday(date) return (dates.day(date) + 3) % 7 + 1 end

local function put_if_changed(coll, rec)
  local key = coll:schema().key
  local old = coll:get(rec[key])
  if old then
    local same = true
    for k, v in pairs(rec) do if old[k] ~= v then same = false end end
    for k in pairs(old) do if rec[k] == nil then same = false end end
    if same then return end
  end
  coll:put(rec)
end

local function put_vendor(v)
  check_string(v.vendor_id, 'vendor_id')
  if not M.KINDS[v.kind] then
    fail(gettext("market: vendor %s: kind must be 'farmer' (农户) or 'coop' (合作社), got %s"), v.vendor_id, tostring(v.kind))
  end
  if v.credit_code ~= nil then
    local ok, why = registry.valid_credit_code(v.credit_code)
    if not ok then
      fail(gettext("market: vendor %s: credit_code (统一社会信用代码) '%s' %s"), v.vendor_id, tostring(v.credit_code), why)
    end
  end
  put_if_changed(db.market_vendors, v)
end

local function put_product(p)
  check_string(p.product_id, 'product_id')
  if not db.market_vendors:get(p.vendor_id or '', 'vendor_id') then
    fail(gettext("market: product %s: no vendor '%s' (add the vendor first)"), p.product_id, tostring(p.vendor_id))
  end
  put_if_changed(db.market_products, p)
end

-- Stores (or updates) a vendor: { vendor_id, name, kind = 'farmer'|'coop', town, ... }.
function M.put_vendor(v)
  M.define_collections()
  db.atomic(put_vendor, v)
end

-- Stores (or updates) a product: { product_id, vendor_id, name, unit, price_fen }.
function M.put_product(p)
  M.define_collections()
  db.atomic(put_product, p)
end

-- Defines (or re-opens) a market from spec (see the top of this file).
-- Safe to run again: the market record is set to spec; booths, days,
-- vendors and products are added or updated, never removed.
function M.define(spec)
  M.define_collections()
  check_string(spec.id, 'id')
  check_string(spec.title, 'title')
  check_string(spec.town, 'town')
  dates.parse(spec.starts)
  dates.parse(spec.ends)
  if spec.ends < spec.starts then
    fail(gettext("market '%s': ends (%s) is before starts (%s)"), spec.id, spec.ends, spec.starts)
  end
  local d = spec.discount or {}
  if math.type(d.percent) ~= 'integer' or d.percent < 0 or d.percent > 100 then
    fail(gettext("market '%s': discount.percent must be a whole number 0..100, got %s"), spec.id, tostring(d.percent))
  end
  if math.type(d.cap_fen) ~= 'integer' or d.cap_fen < 0 then
    fail(gettext("market '%s': discount.cap_fen must be whole fen >= 0, got %s"), spec.id, tostring(d.cap_fen))
  end
  local days = {}
  for _, day in ipairs(spec.days or {}) do
    if not dates.valid(day) then fail(gettext("market '%s': days: '%s' is not a date (YYYY-MM-DD)"), spec.id, tostring(day)) end
    days[day] = true
  end
  if spec.weekdays then
    local want = {}
    for _, w in ipairs(spec.weekdays) do
      if math.type(w) ~= 'integer' or w < 1 or w > 7 then
        fail(gettext("market '%s': weekdays are 1 (Monday) .. 7 (Sunday), got %s"), spec.id, tostring(w))
      end
      want[w] = true
    end
    for z = dates.day(spec.starts), dates.day(spec.ends) do
      if want[(z + 3) % 7 + 1] then days[dates.iso(z)] = true end
    end
  end
  for day in pairs(days) do
    if day < spec.starts or day > spec.ends then
      fail(gettext("market '%s': market day %s is outside %s .. %s"), spec.id, day, spec.starts, spec.ends)
    end
  end
  db.atomic(function()
    put_if_changed(db.markets, { market_id = spec.id, title = spec.title, town = spec.town,
                                 place = spec.place, starts = spec.starts, ends = spec.ends,
                                 percent = d.percent, cap_fen = d.cap_fen, note = spec.note })
    for _, b in ipairs(spec.booths or {}) do
      local code, name = b, nil
      if type(b) == 'table' then code, name = b.booth, b.name end
      check_string(code, 'a booth')
      local old = db.market_booths:find('market,booth', { spec.id, code })
      if not old then
        db.market_booths:insert{ market = spec.id, booth = code, name = name }
      elseif old.name ~= name then
        db.market_booths:update(old.booth_no, { name = name or db.null })
      end
    end
    local list = {}
    for day in pairs(days) do list[#list + 1] = day end
    table.sort(list)
    for _, day in ipairs(list) do
      if not db.market_days:find('market,date', { spec.id, day }) then
        db.market_days:insert{ market = spec.id, date = day }
      end
    end
    for _, v in ipairs(spec.vendors or {}) do put_vendor(v) end
    for _, p in ipairs(spec.products or {}) do put_product(p) end
  end)
  return M.open(spec.id)
end

-- The market's discounts as a program of the framework (program.lua): every
-- sale is a ledger entry of program 'market-<id>' (fen = the discount the
-- union gives; a cash sale 0), the daily cap is its limit per member and day
-- (clip: the part that is left; to_zero: past it the member pays full price),
-- a void reverses the entry, and the year report counts the market through
-- the standard program.entry event: 人, 人次, 场次 (market days), fen.
-- A changed cap or window after the first sale raises the plan's version with
-- the change written down (before it, the plan is simply replaced).
local function plan_of(row, version, changes)
  return { id = 'market-' .. row.market_id, title = '共富集市', window = { from = row.starts, to = row.ends },
           kinds = { { kind = 'sale', title = '集市消费 (惠工码优惠)' } },
           limits = { { per = { 'member', 'day' }, max_fen = row.cap_fen, clip = true, to_zero = true,
                        name = 'daily_cap', code = 'daily_cap' } },
           units = { '人', '人次', '场次', 'fen' }, version = version or 1, changes = changes }
end

local function program_of(row)
  program.define_collections()
  local old = db.programs:get('market-' .. row.market_id)
  if not old then return program.define(plan_of(row)) end
  local plan = plan_of(row, old.version, old.changes)
  local sold = false
  for _ in db.program_entries:scan{ index = 'program,kind', eq = { old.program_id }, limit = 1 } do sold = true end
  if sold and require('program.plan').check(plan).hash ~= old.canonical then
    local changes = {}
    for k, v in pairs(old.changes or {}) do changes[k] = v end
    changes[old.version + 1] = string.format(gettext('setup: the daily cap %d fen, the market %s .. %s'), row.cap_fen,
                                             row.starts, row.ends)
    plan = plan_of(row, old.version + 1, changes)
  end
  return program.define(plan)
end

-- Opens a stored market by id.
function M.open(id)
  M.define_collections()
  local m = db.markets:get(id)
  if not m then fail(gettext("market: no market '%s' (run setup.lua first)"), tostring(id)) end
  return setmetatable({ id = id, title = m.title, town = m.town, starts = m.starts, ends = m.ends,
                        percent = m.percent, cap_fen = m.cap_fen, P = program_of(m) }, K)
end

function K:is_day(date)
  return db.market_days:find('market,date', { self.id, date }) ~= nil
end

-- The market days, in order.
function K:days()
  local out = {}
  for d in db.market_days:scan{ index = 'market,date', eq = { self.id } } do out[#out + 1] = d.date end
  return out
end

-- Gives booth to vendor on date. Raises (the database unchanged) when the
-- day is not a market day, the booth or vendor is unknown, or another
-- vendor holds the booth that day. Giving a vendor the booth it already
-- holds does nothing. Returns the booking.
function K:assign(date, booth, vendor_id)
  return db.atomic(function()
    if not self:is_day(date) then
      fail(gettext("market '%s': %s is not a market day (market days are set in the plan)"), self.id, tostring(date))
    end
    if not db.market_booths:find('market,booth', { self.id, booth }) then
      fail(gettext("market '%s': no booth '%s'"), self.id, tostring(booth))
    end
    local v = db.market_vendors:get(vendor_id)
    if not v then fail(gettext("market '%s': no vendor '%s'"), self.id, tostring(vendor_id)) end
    local b = db.market_bookings:find('market,date,booth', { self.id, date, booth })
    if b then
      if b.vendor_id == vendor_id then return b end
      fail(gettext("market '%s': booth %s on %s is already taken by %s %s (booked %s); free it first ")
           .. '(booth.lua date=%s booth=%s free=1) or choose another booth',
           self.id, booth, date, b.vendor_id, db.market_vendors:get(b.vendor_id, 'name') or '?',
           b.at, date, booth)
    end
    local rec = { market = self.id, date = date, booth = booth, vendor_id = vendor_id, at = dates.now() }
    rec.booking_id = db.market_bookings:insert(rec)
    return rec
  end)
end

-- Frees booth on date; true if it was taken. Refused once its holder has
-- sales that day on no other booth (the sales would lose their booth).
function K:free(date, booth)
  return db.atomic(function()
    local b = db.market_bookings:find('market,date,booth', { self.id, date, booth })
    if not b then return false end
    local others = 0
    for _ in db.market_bookings:scan{ index = 'market,date,vendor_id', eq = { self.id, date, b.vendor_id } } do
      others = others + 1
    end
    if others == 1 then
      for s in db.market_sales:scan{ index = 'market,date', eq = { self.id, date } } do
        if s.vendor_id == b.vendor_id and not s.voided then
          fail(gettext("market '%s': booth %s on %s cannot be freed: its holder %s has sales that day (sale %d)"),
               self.id, booth, date, b.vendor_id, s.sale_id)
        end
      end
    end
    db.market_bookings:delete(b.booking_id)
    return true
  end)
end

-- The bookings of a day: { { booth, vendor_id, name, town }, ... } by booth.
function K:bookings(date)
  local out = {}
  for b in db.market_booths:scan{ index = 'market,booth', eq = { self.id } } do
    local bk = db.market_bookings:find('market,date,booth', { self.id, date, b.booth })
    local v = bk and db.market_vendors:get(bk.vendor_id)
    out[#out + 1] = { booth = b.booth, vendor_id = bk and bk.vendor_id, name = v and v.name, town = v and v.town }
  end
  return out
end

-- Endorses product by a model worker (member_id) from date (default today).
-- Raises unless the member holds a 'model_worker' title on that date.
-- Endorsing again does nothing. Returns the endorsement.
function M.endorse(product_id, member_id, date, note)
  M.define_collections()
  date = date or dates.today()
  dates.parse(date)
  return db.atomic(function()
    local p = db.market_products:get(product_id)
    if not p then fail(gettext("market: no product '%s'"), tostring(product_id)) end
    local m = db.members:get(member_id)
    if not m then fail(gettext('market: no member %s'), tostring(member_id)) end
    local t = registry.has_title(member_id, 'model_worker', date)
    if not t then
      fail(gettext('market: member %d %s holds no model-worker title (劳动模范/先进工作者) on %s, so cannot ')
           .. 'endorse %s %s; titles are in member_titles (title.lua)',
           member_id, registry.mask_name(m.name), date, product_id, p.name)
    end
    local old = db.market_endorsements:find('product_id,member_id', { product_id, member_id })
    if old then return old end
    local e = { product_id = product_id, member_id = member_id, since = date, title = t.title, note = note }
    e.endorsement_id = db.market_endorsements:insert(e)
    bus.publish('market.endorsed', { endorsement_id = e.endorsement_id, product = product_id,
                                     vendor = p.vendor_id, member = member_id, title = t.title, since = date })
    return e
  end)
end

-- Is product endorsed on date? (an endorsement from on or before date by
-- someone holding a model-worker title on date)
function M.endorsed(product_id, date)
  for e in db.market_endorsements:scan{ index = 'product_id,member_id', eq = { product_id } } do
    if e.since <= date and registry.has_title(e.member_id, 'model_worker', date) then return true end
  end
  return false
end

local refuse = program.refuser(M.REFUSALS)

-- The member for a benefit-code payment: by member_id or ID number (the
-- framework's lookup: the check character, then the registry).
local function find_member(s)
  local m, code, why = program.member(s.member_id or s.id_number)
  if not m then return refuse(code == 'bad_input' and 'not_found' or code, why) end
  return m
end

-- Discounts given to member in this market on date (the ledger's entries,
-- reversals negative).
function K:given(member_id, date)
  local sum = 0
  for e in db.program_entries:scan{ index = 'program,member_id', eq = { self.P.id, member_id } } do
    if e.day == date then sum = sum + e.fen end
  end
  return sum
end

-- The full discount of amount_fen: rounded down to the fen (the cap is the
-- ledger's limit, applied when the sale is entered).
function K:discount(amount_fen)
  return amount_fen * self.percent // 100
end

-- Records a sale. s = { date (default today), vendor, product, amount_fen
-- (or qty, a whole number, times the product's price), qty, member_id or
-- id_number (pays with the benefit code), ref (the vendor's receipt
-- number: entering it twice is refused), at, source }. Returns the sale, or
-- nil, a code and a message (M.REFUSALS).
function K:sell(s)
  if type(s) ~= 'table' then error(gettext('sell expects a table { vendor =, product =, amount_fen =, ... }'), 2) end
  local date = s.date or dates.today()
  if not dates.valid(date) then return refuse('not_market_day', string.format(gettext('%s is not a date'), tostring(date))) end
  local sale, code, why = db.atomic(function()
    local m0 = db.markets:get(self.id)   -- the rule as stored now (setup may have changed it)
    if m0.percent ~= self.percent or m0.cap_fen ~= self.cap_fen then
      self.percent, self.cap_fen, self.P = m0.percent, m0.cap_fen, program_of(m0)
    end
    if not self:is_day(date) then return refuse('not_market_day', self.id .. ' ' .. date) end
    local v = db.market_vendors:get(s.vendor or '')
    if not v then return refuse('no_vendor', tostring(s.vendor)) end
    local p = db.market_products:get(s.product or '')
    if not p or p.vendor_id ~= v.vendor_id then
      return refuse('no_product', string.format(gettext('%s of %s'), tostring(s.product), v.vendor_id))
    end
    local booked = false
    for _ in db.market_bookings:scan{ index = 'market,date,vendor_id', eq = { self.id, date, v.vendor_id } } do
      booked = true
      break
    end
    if not booked then
      return refuse('no_booth', string.format(gettext('%s on %s'), v.vendor_id, date))
    end
    local amount = s.amount_fen
    if amount == nil and math.type(s.qty) == 'integer' and p.price_fen then amount = s.qty * p.price_fen end
    if math.type(amount) ~= 'integer' or amount <= 0 then
      return refuse('bad_amount', amount == nil and 'no amount (and no whole qty with a product price)'
                                  or tostring(amount))
    end
    if s.ref ~= nil and db.market_sales:find('market,date,vendor_id,ref', { self.id, date, v.vendor_id, tostring(s.ref) }) then
      return refuse('already', string.format(gettext('%s %s receipt %s'), v.vendor_id, date, tostring(s.ref)))
    end
    local rec = { market = self.id, date = date, at = s.at or (date .. ' ' .. dates.now():sub(12)),
                  vendor_id = v.vendor_id, town = v.town, product_id = p.product_id,
                  endorsed = M.endorsed(p.product_id, date), qty = s.qty, amount_fen = amount,
                  discount_fen = 0, paid_fen = amount, pay = 'other',
                  ref = s.ref ~= nil and tostring(s.ref) or nil, source = s.source, run = run.uid }
    local m
    if s.member_id ~= nil or s.id_number ~= nil then
      local c, w
      m, c, w = find_member(s)
      if not m then return nil, c, w end
      if m.status == 'left' then return refuse('not_member', string.format(gettext('member %s'), m.member_id)) end
      rec.pay, rec.member_id, rec.cap_fen = 'code', m.member_id, self.cap_fen
    end
    -- the discount through the ledger: the daily cap is its limit
    local e, c, w = self.P:enter{ member = m, kind = 'sale', fen = m and self:discount(amount) or 0, day = date,
                                  at = rec.at, town = v.town, place = v.vendor_id,
                                  session = 'market:' .. self.id .. ':' .. date }
    if not e then return nil, c, w end
    rec.entry_id = e.entry_id
    if m then
      rec.discount_fen, rec.paid_fen, rec.capped = e.fen, amount - e.fen, e.capped == true
    end
    rec.sale_id = db.market_sales:insert(rec)
    bus.publish('market.sale', {
      sale_id = rec.sale_id, market = self.id, date = date, vendor = rec.vendor_id, town = rec.town,
      product = rec.product_id, endorsed = rec.endorsed, qty = rec.qty, amount_fen = amount,
      discount_fen = rec.discount_fen, paid_fen = rec.paid_fen, pay = rec.pay, member = rec.member_id,
      capped = rec.capped, cap_fen = rec.cap_fen,
    })
    return rec
  end)
  return sale, code, why
end

-- Voids sale_id (entered by mistake) with a reason. Returns the sale, or
-- nil, a code ('no_sale', 'already_voided') and a message.
function K:void(sale_id, reason)
  if type(reason) ~= 'string' or reason == '' then
    error(gettext('void: give the reason (why the sale is voided)'), 2)
  end
  return db.atomic(function()
    local s = db.market_sales:get(sale_id)
    if not s or s.market ~= self.id then
      return nil, 'no_sale', string.format(gettext('no sale %s in market %s'), tostring(sale_id), self.id)
    end
    if s.voided then
      return nil, 'already_voided', string.format(gettext('sale %d was voided at %s: %s'), sale_id, s.voided, s.void_reason)
    end
    local at = dates.now()
    if s.entry_id then self.P:reverse(s.entry_id, 'void: ' .. reason, { at = at }) end
    db.market_sales:update(sale_id, { voided = at, void_reason = reason, ref = db.null, voided_ref = s.ref })
    bus.publish('market.sale_voided', { sale_id = sale_id, market = self.id, date = s.date, reason = reason })
    s.voided, s.void_reason, s.voided_ref, s.ref = at, reason, s.ref, nil
    return s
  end)
end

-- ---- vendors' daily sheets -------------------------------------------------------

-- The columns of a sales sheet (the first row names them; English or
-- Chinese; a column named '#...' is skipped):
M.SHEET_COLUMNS = {
  date       = { 'date', '日期', '集日' },
  vendor     = { 'vendor', 'vendor_id', '摊主编号', '摊主' },
  product    = { 'product', 'product_id', '产品编号', '产品' },
  qty        = { 'qty', '数量' },
  amount     = { 'amount', '金额', '金额(元)', '金额（元）' },            -- yuan, at most 2 decimals
  amount_fen = { 'amount_fen', '金额(分)', '金额（分）' },                -- whole fen
  member_id  = { 'member_id', '会员编号' },
  id_number  = { 'id_number', '身份证号', '身份证号码', '身份证' },
  ref        = { 'no', 'ref', '单号', '序号', '小票号' },
}
local COLUMN_OF = {}
for field, names in pairs(M.SHEET_COLUMNS) do
  for _, n in ipairs(names) do COLUMN_OF[n] = field end
end

-- Enters a vendors' sheet of sales (CSV from Excel: UTF-8 or GB18030, see
-- run.read_csv), in one transaction. defaults.date / defaults.vendor
-- fill a column the sheet does not have (a vendor's own sheet of one day).
-- Raises (nothing entered) when the file cannot be read or its header has a
-- column it does not know or lacks one it needs. Returns
-- { rows =, entered =, already =, refused = { { line =, code =, message = }, ... },
--   encoding = }.
function K:import_sheet(path, defaults)
  defaults = defaults or {}
  local col, out = nil, { rows = 0, entered = 0, already = 0, refused = {} }
  local sales = {}
  local ok, enc = run.read_csv(path, function(row, line)
    if not col then
      col = {}
      local have = {}
      for i, name in ipairs(row) do
        local n = name:gsub('^%s+', ''):gsub('%s+$', '')
        if n ~= '' and n:sub(1, 1) ~= '#' then
          local f = COLUMN_OF[n] or COLUMN_OF[n:lower()]
          if not f then
            local known = {}
            for field in pairs(M.SHEET_COLUMNS) do known[#known + 1] = field end
            table.sort(known)
            fail(gettext("%s:%d: column %d '%s' is not a column of a sales sheet (columns: %s, or their ")
                 .. 'Chinese names; start a column name with # to skip it)', path, line, i, n,
                 table.concat(known, ', '))
          end
          if have[f] then fail(gettext("%s:%d: columns %d and %d are both '%s'"), path, line, have[f], i, f) end
          have[f], col[i] = i, f
        end
      end
      for _, need in ipairs({ 'product' }) do
        if not have[need] then fail(gettext('%s:%d: no %s column (%s)'), path, line, need, table.concat(M.SHEET_COLUMNS[need], ', ')) end
      end
      if not have.date and not defaults.date then
        fail(gettext('%s:%d: no date column: add one (日期) or give the date (date=YYYY-MM-DD)'), path, line)
      end
      if not have.vendor and not defaults.vendor then
        fail(gettext('%s:%d: no vendor column: add one (摊主编号) or give the vendor (vendor=V01)'), path, line)
      end
      if not have.amount and not have.amount_fen and not have.qty then
        fail(gettext('%s:%d: no amount column (金额, in yuan) and no qty column'), path, line)
      end
      return
    end
    local r = {}
    for i, f in pairs(col) do
      local v = row[i]
      if v ~= nil then v = v:gsub('^%s+', ''):gsub('%s+$', '') end
      if v ~= nil and v ~= '' then r[f] = v end
    end
    if next(r) == nil then return end    -- a row of empty cells
    sales[#sales + 1] = { line = line, r = r }
  end)
  if not ok then fail('%s', enc) end
  -- One transaction for the sheet (each row a savepoint inside it): a
  -- refused row returns and the others go on; an unexpected error stores
  -- none of it. Much faster than a durable commit per row, and re-entering
  -- the sheet after such an error enters each row once all the same.
  db.atomic(function()
    out = { rows = 0, entered = 0, already = 0, refused = {}, encoding = enc }  -- (afresh if redone)
    for _, it in ipairs(sales) do
      local r, line = it.r, it.line
      out.rows = out.rows + 1
      local s = { date = r.date or defaults.date, vendor = r.vendor or defaults.vendor, product = r.product,
                  ref = r.ref, source = path .. ':' .. line }
      local code, msg
      if r.date and not dates.valid(r.date) then
        code, msg = 'not_market_day', 'date ' .. r.date .. ' is not a date (YYYY-MM-DD)'
      end
      if r.qty then
        s.qty = math.tointeger(tonumber(r.qty)) or tonumber(r.qty)
        if not s.qty then code, msg = 'bad_amount', 'qty ' .. r.qty .. ' is not a number' end
      end
      if r.amount then
        local why
        s.amount_fen, why = parse.yuan(r.amount)
        if not s.amount_fen then code, msg = 'bad_amount', 'amount ' .. why end
      elseif r.amount_fen then
        s.amount_fen = math.tointeger(tonumber(r.amount_fen))
        if not s.amount_fen then code, msg = 'bad_amount', 'amount_fen ' .. r.amount_fen .. ' is not whole fen' end
      end
      if r.member_id then
        s.member_id = math.tointeger(tonumber(r.member_id))
        if not s.member_id then code, msg = 'not_found', 'member_id ' .. r.member_id end
      elseif r.id_number then
        s.id_number = r.id_number
      end
      local sale
      if code then
        msg = M.REFUSALS[code] .. ': ' .. msg
      else
        sale, code, msg = self:sell(s)
      end
      if sale then
        out.entered = out.entered + 1
      elseif code == 'already' then
        out.already = out.already + 1
      else
        out.refused[#out.refused + 1] = { line = line, code = code, message = msg }
      end
    end
  end)
  return out
end

-- ---- reports ------------------------------------------------------------------

local function sorted_keys(t)
  local ks = {}
  for k in pairs(t) do ks[#ks + 1] = k end
  table.sort(ks, function(a, b)
    if type(a) ~= type(b) then return tostring(a) < tostring(b) end
    return a < b
  end)
  return ks
end

-- Builds the report from sale-like tables { market, date, vendor, town,
-- product, endorsed, amount_fen, discount_fen, paid_fen, pay, member,
-- cap_fen } (sales rows mapped to these names, or 'market.sale' payloads).
local function build(market_id, from, to, each)
  local rep = { market = market_id, from = from, to = to, vendors = {}, products = {}, towns = {},
                endorsed = {}, days = {}, problems = {} }
  local V, P, T, E, D = {}, {}, {}, {}, {}
  local persons, member_days, given = {}, {}, {}
  local code = { sales = 0, amount_fen = 0, discount_fen = 0, capped = 0, person_times = 0, persons = 0 }
  local total = { sales = 0, amount_fen = 0, discount_fen = 0, paid_fen = 0 }
  local function add(g, s)
    g.sales = g.sales + 1
    g.amount_fen = g.amount_fen + s.amount_fen
    g.discount_fen = g.discount_fen + s.discount_fen
    g.paid_fen = g.paid_fen + s.paid_fen
  end
  local function group(t, k, init)
    local g = t[k]
    if not g then
      g = init
      g.sales, g.amount_fen, g.discount_fen, g.paid_fen = 0, 0, 0, 0
      t[k] = g
    end
    return g
  end
  each(function(s)
    if s.market ~= market_id or (from and s.date < from) or (to and s.date > to) then return end
    add(total, s)
    add(group(V, s.vendor, { vendor = s.vendor, town = s.town }), s)
    local p = group(P, s.product, { product = s.product, vendor = s.vendor, endorsed_sales = 0 })
    add(p, s)
    if s.endorsed then p.endorsed_sales = p.endorsed_sales + 1 end
    local t = group(T, s.town, { town = s.town, vendor_set = {}, vendors = 0 })
    add(t, s)
    if not t.vendor_set[s.vendor] then t.vendor_set[s.vendor] = true; t.vendors = t.vendors + 1 end
    local e = group(E, s.endorsed and 1 or 2, { endorsed = s.endorsed, product_set = {}, products = 0 })
    add(e, s)
    if not e.product_set[s.product] then e.product_set[s.product] = true; e.products = e.products + 1 end
    local d = group(D, s.date, { date = s.date, code_sales = 0 })
    add(d, s)
    if s.pay == 'code' then
      d.code_sales = d.code_sales + 1
      code.sales = code.sales + 1
      code.amount_fen = code.amount_fen + s.amount_fen
      code.discount_fen = code.discount_fen + s.discount_fen
      if s.capped then code.capped = code.capped + 1 end
      if not persons[s.member] then persons[s.member] = true; code.persons = code.persons + 1 end
      local md = s.member .. '\0' .. s.date
      if not member_days[md] then member_days[md] = true; code.person_times = code.person_times + 1 end
      -- each sale checked against the cap it was made under, with every
      -- discount before it that day (sales come in the order they were made)
      given[md] = (given[md] or 0) + s.discount_fen
      if s.cap_fen and given[md] > s.cap_fen then
        rep.problems[#rep.problems + 1] = string.format(
          'member %d on %s: %d fen of discount by sale %s, over the cap of %d',
          s.member, s.date, given[md], tostring(s.sale_id), s.cap_fen)
      end
    end
  end)
  for _, k in ipairs(sorted_keys(V)) do rep.vendors[#rep.vendors + 1] = V[k] end
  for _, k in ipairs(sorted_keys(P)) do rep.products[#rep.products + 1] = P[k] end
  for _, k in ipairs(sorted_keys(T)) do T[k].vendor_set = nil; rep.towns[#rep.towns + 1] = T[k] end
  for _, k in ipairs(sorted_keys(E)) do E[k].product_set = nil; rep.endorsed[#rep.endorsed + 1] = E[k] end
  for _, k in ipairs(sorted_keys(D)) do rep.days[#rep.days + 1] = D[k] end
  rep.code, rep.total = code, total
  rep.ok = #rep.problems == 0
  return rep
end

-- The report of this market's sales (opts.from, opts.to: dates, inclusive).
function K:report(opts)
  opts = opts or {}
  return build(self.id, opts.from, opts.to, function(add)
    local scan = { index = 'market,date', eq = { self.id } }
    for s in db.market_sales:scan(scan) do
      if not s.voided then add({ sale_id = s.sale_id, market = s.market, date = s.date, vendor = s.vendor_id, town = s.town,
            product = s.product_id, endorsed = s.endorsed, amount_fen = s.amount_fen,
            discount_fen = s.discount_fen, paid_fen = s.paid_fen, pay = s.pay,
            member = s.member_id, capped = s.capped, cap_fen = s.cap_fen }) end
    end
  end)
end

-- The same report from the event log alone ('market.sale' events), as a
-- year report is rebuilt after the sales were archived.
function K:report_events(opts)
  opts = opts or {}
  -- the sales first (a voided sale may come long after it was made), then
  -- in the order they were made
  local sales, voided, from = {}, {}, 0
  while true do
    local evs = bus.events{ from = from + 1, topic = 'market.*', limit = 1000 }
    if #evs == 0 then break end
    for _, ev in ipairs(evs) do
      if ev.topic == 'market.sale' and ev.payload.market == self.id then
        sales[#sales + 1] = ev.payload
      elseif ev.topic == 'market.sale_voided' and ev.payload.market == self.id then
        voided[ev.payload.sale_id] = true
      end
      from = ev.seq
    end
  end
  return build(self.id, opts.from, opts.to, function(add)
    for _, p in ipairs(sales) do
      if not voided[p.sale_id] then add(p) end
    end
  end)
end

-- The report as text for a clerk: tables by vendor, product, town, endorsed
-- or not, day; the benefit code's 人/人次 and discounts.
function M.format(rep)
  local fmt = require 'fmt'
  local y = fmt.yuan
  local mk = db.markets:get(rep.market)
  local out = { string.format('%s (%s)%s', mk and mk.title or rep.market, rep.market,
                              (rep.from or rep.to) and string.format(', %s .. %s', rep.from or '', rep.to or '') or '') }
  local function tbl(title, headers, rows, right)
    out[#out + 1] = ''
    out[#out + 1] = title
    out[#out + 1] = fmt.table(headers, rows, { right = right })
  end
  local money = { gettext('sales'), gettext('amount'), gettext('discount'), gettext('paid') }
  local function cols(g) return g.sales, y(g.amount_fen), y(g.discount_fen), y(g.paid_fen) end
  local rows = {}
  for _, g in ipairs(rep.vendors) do
    local v = db.market_vendors:get(g.vendor)
    rows[#rows + 1] = { g.vendor, v and v.name or '?', v and M.KINDS[v.kind] or '', g.town, cols(g) }
  end
  tbl(gettext('By vendor'), { gettext('vendor'), gettext('name'), gettext('kind'), gettext('town'), table.unpack(money) }, rows, { 5, 6, 7, 8 })
  rows = {}
  for _, g in ipairs(rep.products) do
    local p = db.market_products:get(g.product)
    rows[#rows + 1] = { g.product, p and p.name or '?', g.vendor, g.endorsed_sales, cols(g) }
  end
  tbl(gettext('By product'), { gettext('product'), gettext('name'), gettext('vendor'), gettext('endorsed sales'), table.unpack(money) }, rows,
      { 4, 5, 6, 7, 8 })
  rows = {}
  for _, g in ipairs(rep.towns) do rows[#rows + 1] = { g.town, g.vendors, cols(g) } end
  tbl(gettext('By town'), { gettext('town'), gettext('vendors'), table.unpack(money) }, rows, { 2, 3, 4, 5, 6 })
  rows = {}
  for _, g in ipairs(rep.endorsed) do
    local share = rep.total.amount_fen > 0 and string.format('%.1f%%', 100 * g.amount_fen / rep.total.amount_fen) or ''
    rows[#rows + 1] = { g.endorsed and gettext('endorsed by model workers') or gettext('other'), g.products, cols(g) }
    rows[#rows][#rows[#rows] + 1] = share
  end
  tbl(gettext('Endorsed by model workers versus other'),
      { gettext('group'), gettext('products'), gettext('sales'), gettext('amount'), gettext('discount'),
        gettext('paid'), gettext('share of amount') }, rows,
      { 2, 3, 4, 5, 6, 7 })
  rows = {}
  for _, g in ipairs(rep.days) do rows[#rows + 1] = { g.date, g.code_sales, cols(g) } end
  tbl(gettext('By day'), { gettext('date'), gettext('code sales'), table.unpack(money) }, rows, { 2, 3, 4, 5, 6 })
  local t, c = rep.total, rep.code
  out[#out + 1] = ''
  out[#out + 1] = string.format(gettext('total: %d sales, %s yuan, discount %s yuan, paid %s yuan'),
                                t.sales, y(t.amount_fen), y(t.discount_fen), y(t.paid_fen))
  out[#out + 1] = string.format(gettext('benefit code (惠工码): %d sales to %d 人 in %d 人次 (member-days); ')
                                .. 'amount %s yuan, discount %s yuan; %d sales met the daily cap',
                                c.sales, c.persons, c.person_times, y(c.amount_fen), y(c.discount_fen), c.capped)
  if not rep.ok then
    out[#out + 1] = string.format(gettext('PROBLEMS: %s'), table.concat(rep.problems, '; '))
  end
  return table.concat(out, '\n')
end

-- The report's tables as rows for CSV files: { name = { header, row, ... } }.
function M.tables(rep)
  local function money(g) return g.sales, g.amount_fen, g.discount_fen, g.paid_fen end
  local t = {
    vendors = { { 'vendor', 'name', 'kind', 'town', 'sales', 'amount_fen', 'discount_fen', 'paid_fen' } },
    products = { { 'product', 'name', 'vendor', 'endorsed_sales', 'sales', 'amount_fen', 'discount_fen', 'paid_fen' } },
    towns = { { 'town', 'vendors', 'sales', 'amount_fen', 'discount_fen', 'paid_fen' } },
    endorsed = { { 'endorsed', 'products', 'sales', 'amount_fen', 'discount_fen', 'paid_fen' } },
    days = { { 'date', 'code_sales', 'sales', 'amount_fen', 'discount_fen', 'paid_fen' } },
    code = { { 'code_sales', 'persons', 'person_times', 'amount_fen', 'discount_fen', 'capped_sales' } },
  }
  for _, g in ipairs(rep.vendors) do
    local v = db.market_vendors:get(g.vendor) or {}
    t.vendors[#t.vendors + 1] = { g.vendor, v.name or '', v.kind or '', g.town, money(g) }
  end
  for _, g in ipairs(rep.products) do
    t.products[#t.products + 1] = { g.product, db.market_products:get(g.product, 'name') or '', g.vendor, g.endorsed_sales, money(g) }
  end
  for _, g in ipairs(rep.towns) do t.towns[#t.towns + 1] = { g.town, g.vendors, money(g) } end
  for _, g in ipairs(rep.endorsed) do t.endorsed[#t.endorsed + 1] = { g.endorsed and 'yes' or 'no', g.products, money(g) } end
  for _, g in ipairs(rep.days) do t.days[#t.days + 1] = { g.date, g.code_sales, money(g) } end
  local c = rep.code
  t.code[2] = { c.sales, c.persons, c.person_times, c.amount_fen, c.discount_fen, c.capped }
  return t
end

return M
