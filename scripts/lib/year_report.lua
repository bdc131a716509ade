-- year_report.lua — the federation's year summary across every program
-- ("ten things for workers", 为职工办十件实事): sessions (场次), persons (人),
-- person-times (人次), household-times (户次) and money, by program, town and
-- enterprise.
--
--   local yr = require 'year_report'
--   local rep = yr.build(2025)               -- from the event log, replayed, and from the records
--   print(yr.format(rep))                    -- the text summary, and whether the two agree
--   yr.xlsx(rep, 'year-2025.xlsx')           -- a workbook with native charts
--
-- Every program stands on the framework (scripts/lib/program.lua), so there
-- is one kind of fact: an entry of the framework's ledger. Two roads to the
-- same figures:
--   * the log: the durable consumer 'year-report' turns each standard
--     program.entry event (whose program's stored plan gives its title and
--     units, so a program written later counts with no edit here) into one
--     fact, stored in `year_facts` under the event's sequence number;
--     build() clears the facts and replays the log from the start, so the
--     report is rebuilt from the log alone;
--   * the records: the same facts read from the ledger, program_entries.
-- A database made before the framework (the old campaigns' campaign_awards
-- and their award.issued events, aid's payments with no entry) is moved
-- onto the ledger once, before build() counts (program/migrate.lua).
-- Both are counted by the same code; build() compares every figure and
-- lists each one that differs (none, unless events were trimmed, lost, or
-- records changed behind the programs' backs). A market sale voided later
-- is a reversing entry: both leave the counts.
--
-- A fact: { program, label, year, member_id?, household?, money_fen,
-- session?, town?, enterprise_id?, station?, entry, reverses?, heads? }.
-- Counting rules (as the federation reports them): 人次 = facts with a
-- member, plus head counts (heads: an entry counting people whose names were
-- not taken); 人 = distinct members; 户次 = distinct households per program
-- and kind (and day, for a plan that says so); money = the union's outlay in fen (an award's
-- value, an aid payment, a market discount); 场次 = distinct sessions (a
-- campaign, a market day, a contest). Town: the fact's own (a payment's
-- file, a sale's vendor), else the member's; enterprise: the member's.
local fmt = require 'fmt'
local M = {}

M.CONSUMER = 'year-report'
M.EVENT = 'program.entry'   -- the one topic the report counts (program.lua's standard event)

-- Program labels, in the order reports list them.
M.PROGRAMS = {
  { program = 'program:aid', label = '困难帮扶与医疗互助' },   -- aid is on the framework (aid.lua)
  { program = 'market',     label = '共富集市' },   -- program:market-<id>, by its title
  -- programs on the framework (program.lua) keep their place by id
  { program = 'program:contest',    label = '职工技能竞赛' },
  { program = 'program:retirement', label = '光荣退休' },
}
local LABEL = {}
for i, p in ipairs(M.PROGRAMS) do LABEL[p.program] = p.label; p.order = i end

function M.define()
  db.define('year_facts', {
    key = 'seq',
    fields = { seq = 'int', program = 'string', label = 'string', year = 'int',
               member_id = 'int?', household = 'string?', money_fen = 'fen',
               session = 'string?', town = 'string?', enterprise_id = 'int?',
               station = 'string?', entry = 'string?', reverses = 'string?',
               source = 'string?',    -- 'sale:ID' for a market sale, so a void can find it
               heads = 'int?' },       -- a head count without names (人次, no 人)
    index = { 'year', 'source' },
  })
end

-- The collection `name` if the database has it, else nil. Found ones are
-- kept: the member, campaign and contest lookups of every fact ask again,
-- and listing the collections each time would cost a scan per fact.
local found = {}
local function collection(name)
  if found[name] then return found[name] end
  for _, n in ipairs(db.collections()) do
    if n == name then
      found[name] = db[name]
      return found[name]
    end
  end
end

local function year_of(s)
  return s and math.tointeger(tonumber(tostring(s):sub(1, 4)))
end

-- The member's town and enterprise (two values), cached per build: one
-- integer a member (the two as indexes into lists of the distinct towns and
-- enterprises), not a table. A city's year meets every member, so the cache
-- is emptied when it holds MEMBER_CACHE members (the log's events come a
-- member's entries near each other: at 3,000,000 members a full cache was
-- 64 MiB of the replay's heap).
M.MEMBER_CACHE = 1 << 18
local function member_info(cache, id)
  if id == nil then return nil, nil end
  local mc = cache['yr:members']
  if not mc then
    mc = { v = {}, n = 0, towns = {}, tidx = {}, ents = {}, eidx = {} }
    cache['yr:members'] = mc
  end
  local v = mc.v[id]
  if v == nil then
    if mc.n >= M.MEMBER_CACHE then mc.v, mc.n = {}, 0 end
    mc.n = mc.n + 1
    local members = collection('members')
    local r = members and members:get(id)
    local tw, en = r and r.town, r and r.enterprise_id
    local ti, ei = 0, 0
    if tw ~= nil then
      ti = mc.tidx[tw]
      if not ti then ti = #mc.towns + 1; mc.towns[ti] = tw; mc.tidx[tw] = ti end
    end
    if en ~= nil then
      ei = mc.eidx[en]
      if not ei then ei = #mc.ents + 1; mc.ents[ei] = en; mc.eidx[en] = ei end
    end
    v = ti < (1 << 24) and ei < (1 << 38) and (ti | (ei << 24)) or { tw, en }
    mc.v[id] = v
  end
  if math.type(v) == 'integer' then return mc.towns[v & 0xFFFFFF], mc.ents[v >> 24] end
  return v[1], v[2]
end

-- The member's town and enterprise, read (not kept).
local function member_town(id)
  local members = collection('members')
  local r = members and members:get(id)
  if r then return r.town, r.enterprise_id end
end

-- The fact of one entry (a program_entries row or a program.entry event's
-- payload, defaults put back); cache: lookups.
local FACT = {}

-- The framework's standard event (program.entry, scripts/lib/program.lua):
-- every program on the framework counts here by itself, under its title, in
-- the units its plan declares. A reversal carries `reverses`; counting leaves
-- out both it and the entry it reverses.
-- A program's title and units, from its stored plan (once per program).
local function program_info(cache, id)
  local pc = cache['yr:programs']
  if not pc then pc = {}; cache['yr:programs'] = pc end
  local got = pc[id]
  if got then return got end
  local key = 'program:' .. id
  if cache[key] == nil then
    local ps = collection('programs')
    local r = ps and ps:get(id)
    local units = r and r.units or { '人', '人次', '户次', 'fen' }
    local u = {}             -- the units as a set, made once per program, not per fact
    for _, name in ipairs(units) do u[name] = true end
    cache[key] = { title = r and r.title or id, units = units, u = u,
                   by_day = r and type(r.plan) == 'table' and r.plan.household_times == 'day' }
  end
  pc[id] = cache[key]
  return cache[key]
end

local function station_info(cache, place)
  if place == nil then return nil end
  local sc = cache['yr:stations']
  if not sc then sc = {}; cache['yr:stations'] = sc end
  local got = sc[place]
  if got == nil then
    local st = collection('stations')
    got = st and st:get(place, 'station_id') and place or false
    sc[place] = got
  end
  return got or nil
end

function FACT.entry(x, cache)
  local mtown, ment = member_info(cache, x.member_id)
  local p = program_info(cache, x.program)
  local u = p.u
  local person = (u['人'] or u['人次']) and x.member_id or nil
  local heads = u['人次'] and x.heads and x.heads > 0 and x.heads or nil
  local hh = require('program').household_of_entry(x)   -- (not stored for a household of one)
  return { program = 'program:' .. x.program, label = p.title, year = year_of(x.day),
           -- 户次 as the framework counts it: per kind (and day, when the plan says
           -- household_times = 'day'), the distinct households
           member_id = person, household = u['户次'] and hh
             and (x.program .. '|' .. x.kind .. '|' .. hh .. (p.by_day and ('|' .. tostring(x.day)) or '')) or nil,
           money_fen = u.fen and (x.fen or 0) or 0,
           session = u['场次'] and ('program:' .. x.program .. ':' .. (x.session or x.program)) or nil,
           town = x.town or mtown, enterprise_id = x.enterprise_id or ment,
           station = station_info(cache, x.place), entry = x.program .. ':' .. x.entry_id,
           reverses = x.reverses and (x.program .. ':' .. x.reverses) or nil, heads = heads }
end

-- Events -> facts (nil: not a program event the report counts).
local function fact_of_event(ev, cache)
  local t, x = ev.topic, ev.payload
  if type(x) ~= 'table' then return nil end
  if t == 'program.entry' then return FACT.entry(require('program').entry_of_event(x), cache) end
end

-- The federation shipper (scripts/lib/federation.lua) ships these facts,
-- with member keys pseudonymised, so a province counts by the same rules.
M.fact_of_event = fact_of_event

-- Records -> facts, for one year: each(f) is called with each fact (rows
-- made tables: the facts read fields records may lack, like an event
-- payload's); without each, the list of them.
function M.facts_from_records(year, each)
  local cache, out = {}, {}
  each = each or function(f) out[#out + 1] = f end
  local c = collection('program_entries')   -- the framework's ledger: the same fact as its event
  if c then
    for r in c:scan() do
      local f = FACT.entry(r:totable(), cache)
      if f.year == year then each(f) end
    end
  end
  return out
end

-- The consumer: one fact per counted event, stored under its sequence number.
local function install_consumer()
  local cache = {}
  bus.consumer(M.CONSUMER, '**', function(ev)
    local f = fact_of_event(ev, cache)
    if f and f.year then
      f.seq = ev.seq
      db.year_facts:put(f)
    end
  end)
end

-- Replays the whole log into year_facts (cleared first). Returns the number
-- of events read and the facts made.
-- The log is read a page of events at a time, a transaction a page, and
-- the consumer's cursor set to the end of the log in the transaction that
-- reads its last page (no writer can append in between), so update() goes
-- on from there. Not bus.run's way: that gives every event a savepoint of
-- its own (a nested LMDB transaction, whose begin zeroes the state of every
-- database handle: a third of the replay's instructions), which a rebuild,
-- all or nothing, does not need.
M.PAGE = 5000
function M.rebuild()
  M.define()
  install_consumer()
  -- cleared a page at a time: LMDB keeps a transaction's pages in memory
  -- until it commits (a city's facts are gigabytes)
  repeat
    local cleared = db.atomic(function()
      local seqs = {}
      for f in db.year_facts:scan{ limit = M.PAGE } do seqs[#seqs + 1] = f.seq end
      for _, seq in ipairs(seqs) do db.year_facts:delete(seq) end
      return #seqs
    end)
  until cleared < M.PAGE
  local cache, from, read, done = {}, 1, 0, false
  repeat
    -- (the page's outcome is kept only once its transaction committed: a
    -- unit redone after the map grew starts from the same `from`)
    local next_from, n, last = db.atomic(function()
      local evs = bus.events{ from = from, topic = M.EVENT, limit = M.PAGE }
      local to = from
      for _, ev in ipairs(evs) do
        local f = fact_of_event(ev, cache)
        if f and f.year then
          f.seq = ev.seq
          db.year_facts:put(f)
        end
        to = ev.seq + 1
      end
      if #evs < M.PAGE then
        bus.replay(M.CONSUMER, math.max(to, bus.last() + 1))
        return to, #evs, true
      end
      return to, #evs, false
    end)
    from, read, done = next_from, read + n, last
  until done
  return read, db.year_facts:count()
end

-- Brings year_facts up to date with the log without replaying it all.
function M.update()
  M.define()
  install_consumer()
  return bus.run(M.CONSUMER, { batch = 1000 })
end

function M.facts_from_log(year, each)
  local out = {}
  each = each or function(f) out[#out + 1] = f end
  for f in db.year_facts:scan{ year = year } do each(f) end
  return out
end

-- ---- counting ----------------------------------------------------------------------

-- 人, 户次 and 场次 count distinct things per cell (the total, each program,
-- town, enterprise and rest station); a city's year has millions of members
-- and households (27 million entries at 3,000,000 members), so a count keeps
-- no entry per member or household. It counts in key order instead:
--   * an entry of a member becomes a record of five integers (the member,
--     the entry's cells as numbers, its money, its household key, its
--     station, session, head count and whether it counts a person) in a
--     sorter (`require 'sorter'`, core/lua_sorter.c: sorted in a bounded
--     amount of memory, runs spilled to a temporary file); read back sorted,
--     a member's entries come together, so 人 is counted as the member
--     changes, with a stamp on each cell, and a member's town and enterprise
--     (when the entry has none of its own) are read from the registry once;
--   * each entry with a household key (program, kind, household, day: one
--     integer, see household_keys) becomes a record of a second sorter, read
--     back the same way for 户次;
--   * an entry without a member (a head count) is counted at once;
--   * a session has a number; each cell has a bitmap of its sessions.
-- Members that are not integer ids (a federation's pseudonyms) and
-- household keys kept as text get a negative number each, made once.
-- Memory: the two sorters' budgets (BUDGET each), the cells and the
-- sessions' bitmaps, whatever the size of the year.
local function new_cell()
  return { sessions = 0, persons = 0, person_times = 0, household_times = 0, money_fen = 0, _s = {} }
end

M.MEASURES = { 'sessions', 'persons', 'person_times', 'household_times', 'money_fen' }

-- Memory for each of a count's two sorters, in bytes (records held before a
-- sorted run is written to the temporary file). Small is not slower: a run
-- sorted in the caches costs less than the merge's few more runs (from the
-- records at 100,000 members: 24 MiB 4.6 s CPU and 35 MiB of heap, 1 MiB
-- 4.0 s and 8 MiB; 3,000,000 members make about 260 runs of 4 MiB).
M.BUDGET = 4 << 20

-- Sets bit i (an integer >= 0) of the bitmap bm; true if it was clear.
local mark = require('bitset').add

-- A household key as one integer, not a string: a city's year has millions
-- of them (1.27 million at 1,000,000 members), and no string made per
-- entry. The group (program, kind and, for household_times = 'day', the
-- day) gets a number; a household named as the registry names them (a
-- letter and a number without leading zeros: 'H123', or the household of
-- one, 'm' .. member_id) is its number and letter. Any other household, or
-- a number too big to pack, keeps the string key (the same count). Returns
-- of(program, kind, day|nil, household) for the records,
-- of_text('program|kind|household[|day]') for the log's facts, and
-- of_one(program, kind, day|nil, member_id) for the records' household of
-- one (format 2 stores none: program.household_of_entry names it 'm' ..
-- member_id): of's key of that name, without making the name; the keys of
-- one triple of functions are only compared with each other.
-- A household takes bits 0-47: the name read as a number in base 36 (a
-- letter and at most 8 digits: below 36^9 < 2^47; the letter's case apart),
-- shifted left once, and 1 for a small letter; the group the bits above.
local GROUP_SHIFT = 48
function M.household_keys()
  local groups, ngroups = {}, 0
  local function group(prog, kind, day)
    local a = groups[prog]
    if not a then a = {}; groups[prog] = a end
    local b = a[kind]
    if not b then b = {}; a[kind] = b end
    local g = b[day or false]
    if not g then
      ngroups = ngroups + 1
      g = ngroups
      b[day or false] = g
    end
    return g
  end
  local function of(prog, kind, day, h)
    local g = group(prog, kind, day)
    if g < (1 << (63 - GROUP_SHIFT)) and #h <= 9 and h:find('^%a[1-9]%d*$') then
      -- (tonumber in base 36 makes no string, as h:sub would for every entry)
      return (g << GROUP_SHIFT) | (tonumber(h, 36) << 1) | (h:byte(1) >= 97 and 1 or 0)
    end
    return prog .. '|' .. kind .. '|' .. h .. (day and ('|' .. day) or '')
  end
  local M_VALUE = tonumber('m', 36)
  local function of_one(prog, kind, day, mid)
    if math.type(mid) ~= 'integer' or mid < 1 or mid > 99999999 then
      return of(prog, kind, day, 'm' .. mid)   -- not a letter and at most 8 digits: as of has it
    end
    local g = group(prog, kind, day)
    if g >= (1 << (63 - GROUP_SHIFT)) then return of(prog, kind, day, 'm' .. mid) end
    -- 'm' .. mid read in base 36: its decimal digits as base-36 digits after the m's
    local v, p = 0, 1
    repeat v, p, mid = v + mid % 10 * p, p * 36, mid // 10 until mid == 0
    return (g << GROUP_SHIFT) | ((M_VALUE * p + v) << 1) | 1
  end
  local function of_text(s)
    -- the program and the kind end at the first two bars; then the
    -- household and, after a bar, the day
    local prog, kind, h = s:match('^([^|]*)|([^|]*)|(%a[1-9]%d*)$')
    local day
    if not prog then prog, kind, h, day = s:match('^([^|]*)|([^|]*)|(%a[1-9]%d*)|(.+)$') end
    if prog then return of(prog, kind, day, h) end
    return s
  end
  return of, of_text, of_one
end

-- The fields of a sorted record: the cells (town, enterprise, program
-- numbers; 0 for a town or enterprise: the member's, read from the
-- registry), and the rest (station number, whether the entry counts a
-- person, session number, head count).
local TN_BITS, EN_BITS = 24, 32
local TN_MASK, EN_MASK = (1 << TN_BITS) - 1, (1 << EN_BITS) - 1
local PN_SHIFT, PN_MAX = TN_BITS + EN_BITS, 127
local SN_BITS, SESS_BITS = 20, 21
local SN_MASK, SESS_MASK = (1 << SN_BITS) - 1, (1 << SESS_BITS) - 1
local PERSON_BIT, SESS_SHIFT, HEADS_SHIFT = 1 << SN_BITS, SN_BITS + 1, SN_BITS + 1 + SESS_BITS
local HEADS_MAX = (1 << (63 - HEADS_SHIFT)) - 1

-- A count being made: returns the count (below), add(f), which counts one
-- fact unless `reversed` (a set of entry keys: reversals and the entries
-- they reverse) holds its entry, put(...) (the same without a fact table:
-- count_log and count_records call it for each row; see put), and finish(),
-- which counts what the sorters hold: the count is whole once it returned.
-- member_home(id), when given, returns a member's town and enterprise in
-- the registry, for the entries put with a member but without their own.
function M.counter(reversed, member_home)
  reversed = reversed or {}
  local sorter = require 'sorter'
  local t = { total = new_cell(), program = {}, town = {}, enterprise = {}, station = {}, rank = {} }
  local tp, rank = t.program, t.rank
  local total = t.total
  -- cells by number, and their numbers by key, for program, town, enterprise, station
  local pcells, pnum = {}, {}
  local tcells, tnum = {}, {}
  local ecells, enum = {}, {}
  local scells, snum = {}, {}
  local function cell_num(dim, cells, num, k)
    local n = num[k]
    if not n then
      n = #cells + 1
      num[k] = n
      local c = new_cell()
      cells[n] = c
      t[dim][k] = c
    end
    return n
  end
  local function program_num(label, program)
    local n = pnum[label]
    if n then return n end
    local pc = new_cell(); tp[label] = pc
    local order = (LABEL[program] and 0 or program:match('^program:') and 1 or 100)
    for _, p in ipairs(M.PROGRAMS) do if p.program == program or p.label == label then order = p.order end end
    rank[label] = order
    n = #pcells + 1
    if n > PN_MAX then error(string.format(gettext('year report: more than %d programs in one count; count a year with fewer programs'), PN_MAX), 3) end
    pcells[n], pnum[label] = pc, n
    return n
  end
  local snums, nsess = {}, 0   -- [session key] = number
  local function session_in(c, sn)
    if mark(c._s, sn) then c.sessions = c.sessions + 1 end
  end
  local function sums(c, pt, fen)
    c.person_times, c.money_fen = c.person_times + pt, c.money_fen + fen
  end
  local members = sorter.new(5, M.BUDGET)   -- member, cells, fen, household, rest
  local holds = sorter.new(3, M.BUDGET)     -- household, cells, station
  local others, nothers = {}, 0             -- [pseudonym or text key] = its negative number
  local named = {}                          -- [negative number] = the member it stands for
  local function other(k)
    local n = others[k]
    if not n then nothers = nothers + 1; n = -nothers; others[k] = n; named[n] = k end
    return n
  end
  -- one fact: label, program (its key in M.PROGRAMS), person (member id or
  -- nil), household key, money in fen, session key, town and enterprise
  -- (keys; nil: '(未知)', '(无)'), station (nil: none), heads, and mid: the
  -- member whose registry town and enterprise stand in for the fact's own
  -- when it has none (records; nil: the fact's own, or the defaults)
  local function put(label, program, person, hk, fen, session, town, ent, station, heads, mid)
    local pn = program_num(label, program)
    local sn = station ~= nil and cell_num('station', scells, snum, station) or 0
    local ss = 0
    if session ~= nil then
      ss = snums[session]
      if not ss then nsess = nsess + 1; ss = nsess; snums[session] = ss end
    end
    fen = fen or 0
    heads = heads or 0
    local hc = 0
    if hk ~= nil then hc = math.type(hk) == 'integer' and hk or other(hk) end
    local key = person
    if key == nil then key = mid end
    if key == nil then   -- no member: counted at once
      local tn = cell_num('town', tcells, tnum, town or '(未知)')
      local en = cell_num('enterprise', ecells, enum, ent == nil and '(无)' or ent)
      local tc, ec, sc = tcells[tn], ecells[en], sn > 0 and scells[sn] or nil
      local pc = pcells[pn]
      sums(total, heads, fen); sums(pc, heads, fen); sums(tc, heads, fen); sums(ec, heads, fen)
      if sc then sums(sc, heads, fen) end
      if ss > 0 then
        session_in(total, ss); session_in(pc, ss); session_in(tc, ss); session_in(ec, ss)
        if sc then session_in(sc, ss) end
      end
      if hc ~= 0 then holds:add(hc, tn | (en << TN_BITS) | (pn << PN_SHIFT), sn) end
      return
    end
    if math.type(key) ~= 'integer' or key < 0 then key = other(key) end
    local tn = town ~= nil and cell_num('town', tcells, tnum, town) or mid == nil and cell_num('town', tcells, tnum, '(未知)') or 0
    local en = ent ~= nil and cell_num('enterprise', ecells, enum, ent) or mid == nil and cell_num('enterprise', ecells, enum, '(无)') or 0
    if tn > TN_MASK or en > EN_MASK or sn > SN_MASK or ss > SESS_MASK or heads > HEADS_MAX or heads < 0 then
      error(string.format(gettext('year report: %s: too many towns, enterprises, rest stations or sessions, or a head count above %d; count a smaller part of the year'), tostring(label), HEADS_MAX), 2)
    end
    members:add(key, tn | (en << TN_BITS) | (pn << PN_SHIFT), fen, hc,
                sn | (person ~= nil and PERSON_BIT or 0) | (ss << SESS_SHIFT) | (heads << HEADS_SHIFT))
  end
  local function add(f)
    local entry = f.entry
    if entry and reversed[entry] then return end
    put(f.label, f.program, f.member_id, f.household, f.money_fen, f.session, f.town, f.enterprise_id,
        f.station, f.heads)
  end
  local function finish()
    -- 人: a member's entries together; each cell stamped with the member's
    -- number when it counts them
    local cur, gen, looked, mt, me = nil, 0, false, nil, nil
    for key, cells, fen, hc, rest in members:sorted() do
      if key ~= cur then cur, gen, looked = key, gen + 1, false end
      local tn, en = cells & TN_MASK, (cells >> TN_BITS) & EN_MASK
      if tn == 0 or en == 0 then
        if not looked then
          looked = true
          if member_home then mt, me = member_home(key < 0 and named[key] or key) else mt, me = nil, nil end
        end
        if tn == 0 then tn = cell_num('town', tcells, tnum, mt or '(未知)') end
        if en == 0 then en = cell_num('enterprise', ecells, enum, me == nil and '(无)' or me) end
      end
      local pn, sn = cells >> PN_SHIFT, rest & SN_MASK
      local pc, tc, ec, sc = pcells[pn], tcells[tn], ecells[en], sn > 0 and scells[sn] or nil
      local person = rest & PERSON_BIT ~= 0
      local pt = (person and 1 or 0) + (rest >> HEADS_SHIFT)
      sums(total, pt, fen); sums(pc, pt, fen); sums(tc, pt, fen); sums(ec, pt, fen)
      if sc then sums(sc, pt, fen) end
      if person then
        if total._m ~= gen then total._m = gen; total.persons = total.persons + 1 end
        if pc._m ~= gen then pc._m = gen; pc.persons = pc.persons + 1 end
        if tc._m ~= gen then tc._m = gen; tc.persons = tc.persons + 1 end
        if ec._m ~= gen then ec._m = gen; ec.persons = ec.persons + 1 end
        if sc and sc._m ~= gen then sc._m = gen; sc.persons = sc.persons + 1 end
      end
      local ss = (rest >> SESS_SHIFT) & SESS_MASK
      if ss > 0 then
        session_in(total, ss); session_in(pc, ss); session_in(tc, ss); session_in(ec, ss)
        if sc then session_in(sc, ss) end
      end
      if hc ~= 0 then holds:add(hc, tn | (en << TN_BITS) | (pn << PN_SHIFT), sn) end
    end
    -- 户次: a household key's entries together
    cur, gen = nil, 0
    for hc, cells, sn in holds:sorted() do
      if hc ~= cur then cur, gen = hc, gen + 1; total.household_times = total.household_times + 1 end
      local pc, tc, ec = pcells[cells >> PN_SHIFT], tcells[cells & TN_MASK], ecells[(cells >> TN_BITS) & EN_MASK]
      if pc._h ~= gen then pc._h = gen; pc.household_times = pc.household_times + 1 end
      if tc._h ~= gen then tc._h = gen; tc.household_times = tc.household_times + 1 end
      if ec._h ~= gen then ec._h = gen; ec.household_times = ec.household_times + 1 end
      local sc = sn > 0 and scells[sn] or nil
      if sc and sc._h ~= gen then sc._h = gen; sc.household_times = sc.household_times + 1 end
    end
    for _, dim in ipairs{ pcells, tcells, ecells, scells } do
      for _, c in ipairs(dim) do c._m, c._h = nil, nil end
    end
    total._m, total._h = nil, nil
    return t
  end
  return t, add, put, finish
end

-- Counts facts: { total = cell, program = { [label] = cell }, town = {...},
-- enterprise = {...}, order = { program = {labels...} } }.
function M.count(facts)
  local reversed = {}
  for _, f in ipairs(facts) do
    if f.reverses then reversed[f.reverses] = true; reversed[f.entry] = true end
  end
  local _, add, _, finish = M.counter(reversed)
  for _, f in ipairs(facts) do add(f) end
  return finish()
end

-- A count reads a city's year (9 million entries at 1,000,000 members),
-- each entry leaving a few strings behind (its row's fields): the collector
-- left to itself lets that garbage grow before it finishes a cycle. A full
-- collection every GC_EVERY entries holds the garbage to about 20 MB (a
-- full collection costs about 10 ms at 1,000,000 members). 0: never.
M.GC_EVERY = 100000

-- The count of a year from the log's facts (year_facts, as rebuild() or
-- update() left them), read twice in key order: the reversals, then the facts.
-- Each fact's fields are read from its row (no table made of it).
function M.count_log(year)
  local reversed = {}
  for f in db.year_facts:scan{ year = year } do
    local r = f.reverses
    if r then reversed[r] = true; reversed[f.entry] = true end
  end
  local any = next(reversed) ~= nil
  local _, _, put, finish = M.counter(reversed)
  local _, hk_of = M.household_keys()
  local every, n = M.GC_EVERY, 0   -- (see GC_EVERY)
  for f in db.year_facts:scan{ year = year } do
    n = n + 1
    if n == every then n = 0; collectgarbage() end
    if not (any and reversed[f.entry]) then
      local hk = f.household
      put(f.label, f.program, f.member_id, hk and hk_of(hk), f.money_fen, f.session, f.town, f.enterprise_id,
          f.station, f.heads)
    end
  end
  return finish()
end

-- The count of a year from the records (the ledger): the reversals found
-- by their index, then every entry once, in key order, each read from its
-- row as FACT.entry reads it (no table made of it). An entry without its
-- own town or enterprise takes its member's from the registry, read once a
-- member when the count comes to them (members in order: no cache).
function M.count_records(year)
  local reversed = {}
  local c = collection('program_entries')
  local t, _, put, finish = M.counter(reversed, member_town)
  if not c then return t end
  for r in c:scan{ index = 'reverses' } do   -- entry ids are the ledger's: one number for all programs
    reversed[r.reverses] = true
    reversed[r.entry_id] = true
  end
  local any = next(reversed) ~= nil
  local lo, hi = string.format('%04d', year), string.format('%04d', year + 1)
  local cache = {}
  local hk_of, _, hk_of_one = M.household_keys()
  local sessions = {}   -- [program][session or false] = its key (made once, not per entry)
  local every, n = M.GC_EVERY, 0   -- (see GC_EVERY)
  for r in c:scan() do
    n = n + 1
    if n == every then n = 0; collectgarbage() end
    local day = r.day
    -- (the year of the day: its first four digits, as year_of reads them)
    if day and day >= lo and day < hi and year_of(day) == year and not (any and reversed[r.entry_id]) then
      local id, mid = r.program, r.member_id
      local p = program_info(cache, id)
      local u = p.u
      local hk, session, heads = nil, nil, nil
      if u['户次'] then
        local h = r.household   -- (absent: the household of one, program.household_of_entry's)
        if h then hk = hk_of(id, r.kind, p.by_day and tostring(day) or nil, h)
        elseif mid then hk = hk_of_one(id, r.kind, p.by_day and tostring(day) or nil, mid) end
      end
      if u['场次'] then
        local ps = sessions[id]
        if not ps then ps = {}; sessions[id] = ps end
        local sk = r.session or false
        session = ps[sk]
        if not session then session = 'program:' .. id .. ':' .. (sk or id); ps[sk] = session end
      end
      if u['人次'] then
        heads = r.heads
        if heads and heads <= 0 then heads = nil end
      end
      put(p.title, 'program:' .. id, (u['人'] or u['人次']) and mid or nil, hk, u.fen and (r.fen or 0) or 0,
          session, r.town, r.enterprise_id, station_info(cache, r.place), heads, mid)
    end
  end
  return finish()
end

-- Every figure that differs between two counts: { 'town 许村镇: persons 3 (log) vs 4 (records)', ... }
function M.compare(a, b)
  local diffs = {}
  local function cmp(where, x, y)
    for _, k in ipairs(M.MEASURES) do
      local u, v = x and x[k] or 0, y and y[k] or 0
      if u ~= v then diffs[#diffs + 1] = string.format(gettext('%s: %s %s (log) vs %s (records)'), where, k, u, v) end
    end
  end
  cmp('total', a.total, b.total)
  for _, dim in ipairs{ 'program', 'town', 'enterprise', 'station' } do
    local keys = {}
    for k in pairs(a[dim]) do keys[k] = true end
    for k in pairs(b[dim]) do keys[k] = true end
    local list = {}
    for k in pairs(keys) do list[#list + 1] = k end
    table.sort(list, function(x, y) return tostring(x) < tostring(y) end)
    for _, k in ipairs(list) do cmp(dim .. ' ' .. tostring(k), a[dim][k], b[dim][k]) end
  end
  return diffs
end

-- Every figure of a count as sorted lines 'dimension<TAB>key<TAB>sessions
-- persons person_times household_times money_fen': two counts agree when
-- their lines do (bench/w9 compares the log's and the records' this way).
function M.figures(t)
  local out = {}
  local function line(dim, k, c)
    out[#out + 1] = string.format('%s\t%s\t%d %d %d %d %d', dim, tostring(k), c.sessions, c.persons,
                                  c.person_times, c.household_times, c.money_fen)
  end
  line('total', '', t.total)
  for _, dim in ipairs{ 'program', 'town', 'enterprise', 'station' } do
    for k, c in pairs(t[dim]) do line(dim, k, c) end
  end
  table.sort(out)
  return out
end

-- The report of a year: rebuilt from the log (replay) and recounted from the
-- records. opts.replay = false: bring the facts up to date instead of a
-- whole replay.
function M.build(year, opts)
  opts = opts or {}
  if math.type(year) ~= 'integer' or year < 1900 or year > 9999 then
    error(gettext('year report: year must be a year like 2025, got ') .. tostring(year), 2)
  end
  local events
  -- a database made before the framework: its campaigns' awards become
  -- framework entries once (program/migrate.lua), so the one road counts them
  require('program.migrate').all()
  if opts.replay == false then M.update() else events = M.rebuild() end
  local log = M.count_log(year)
  local records = M.count_records(year)
  local names = {}
  local ents = collection('enterprises')
  if ents then
    for k in pairs(log.enterprise) do
      local e = math.type(k) == 'integer' and ents:get(k)
      if e then names[k] = e.name end
    end
  end
  return { year = year, log = log, records = records, diffs = M.compare(log, records),
           events = events, enterprise_names = names }
end

-- ---- output ------------------------------------------------------------------------

-- Column titles, translated where shown (N_ marks them for the catalog).
local HEAD = { N_('sessions'), N_('persons (人)'), N_('person-times (人次)'), N_('household-times (户次)'),
               N_('amount (yuan)') }

-- Rows of a dimension, ordered: programs in report order, others by person-times.
function M.rows(rep, dim)
  local t, rows = rep.log[dim], {}
  for k, c in pairs(t) do
    local name = k
    if dim == 'enterprise' and rep.enterprise_names[k] then name = rep.enterprise_names[k] end
    rows[#rows + 1] = { key = k, name = tostring(name), cell = c }
  end
  table.sort(rows, function(a, b)
    if dim == 'program' then
      local ra, rb = rep.log.rank[a.key] or 99, rep.log.rank[b.key] or 99
      if ra ~= rb then return ra < rb end
      return a.name < b.name
    end
    if a.cell.person_times ~= b.cell.person_times then return a.cell.person_times > b.cell.person_times end
    return a.name < b.name
  end)
  return rows
end

local function cells(c)
  return { c.sessions, c.persons, c.person_times, c.household_times, fmt.yuan(c.money_fen) }
end

function M.format(rep, opts)
  opts = opts or {}
  local out = {}
  local function add(s) out[#out + 1] = s end
  local t = rep.log.total
  add(string.format(gettext('%d年 为职工办实事 — year report %d'), rep.year, rep.year))
  add(string.format('%d 场次, %d 人, %d 人次, %d 户次, %s 元', t.sessions, t.persons, t.person_times,
                    t.household_times, fmt.yuan(t.money_fen)))
  for _, dim in ipairs{ { 'program', N_('program') }, { 'town', N_('town') }, { 'enterprise', N_('enterprise') },
                       { 'station', N_('station') } } do
    local rows = {}
    local list = M.rows(rep, dim[1])
    if dim[1] == 'station' and #list == 0 then goto skip end
    local limit = dim[1] == 'enterprise' and (opts.top or 10) or #list
    for i = 1, math.min(limit, #list) do
      local r = cells(list[i].cell)
      table.insert(r, 1, list[i].name)
      rows[#rows + 1] = r
    end
    local head = { gettext(dim[2]) }
    for _, h in ipairs(HEAD) do head[#head + 1] = gettext(h) end
    add('')
    add(fmt.table(head, rows, { right = { 2, 3, 4, 5, 6 } }))
    if #list > limit then add(string.format(gettext('(and %d more; the workbook has them all)'), #list - limit)) end
    ::skip::
  end
  add('')
  for _, line in ipairs(M.agreement(rep.diffs, rep.events)) do add(line) end
  return table.concat(out, '\n')
end

-- The check's lines, the one wording of this report and the ten-things
-- report (ten_things.lua): the log and the records agree (with the events
-- read again, when the log was replayed), or the figures that differ (the
-- first 20). --> { line, ... }
function M.agreement(diffs, events)
  if #diffs == 0 and events then
    return { string.format(gettext('The event log (read again, %d events) and the records agree on every figure.'),
                           events) }
  elseif #diffs == 0 then
    return { gettext('The event log and the records agree on every figure.') }
  end
  local out = { string.format(gettext('The event log and the records DISAGREE on %d figures:'), #diffs) }
  for i = 1, math.min(#diffs, 20) do out[#out + 1] = '  ' .. diffs[i] end
  return out
end

-- The workbook: one sheet per dimension with native charts, and the check.
function M.xlsx(rep, path)
  local x = plugin.load 'xlsx'
  local h = x.open(path)
  local function sheet(name, dim)
    x.sheet(h, name)
    local head = { name }
    for _, c in ipairs(HEAD) do head[#head + 1] = gettext(c) end
    x.header(h, table.concat(head, '\t'))
    local list = M.rows(rep, dim)
    for _, r in ipairs(list) do
      local c = r.cell
      x.row(h, table.concat({ r.name, c.sessions, c.persons, c.person_times, c.household_times,
                              fmt.plain_yuan(c.money_fen) }, '\t'))
    end
    return #list
  end
  local n = sheet('项目', 'program')
  if n > 0 then   -- the charts take the rows so far: before the total row
    x.chart(h, 'column', rep.year .. '年 各项目服务人次', '1:4')
    x.chart(h, 'pie', rep.year .. '年 各项目金额(元)', '1:6')
  end
  local t = rep.log.total
  x.row(h, table.concat({ '合计', t.sessions, t.persons, t.person_times, t.household_times,
                          fmt.plain_yuan(t.money_fen) }, '\t'))
  if sheet('镇街', 'town') > 0 then x.chart(h, 'column', rep.year .. '年 各镇街人次与人数', '1:3,4') end
  sheet('企业', 'enterprise')
  if next(rep.log.station) then sheet('驿站', 'station') end
  x.sheet(h, '核对')
  x.header(h, '核对 check\tresult')
  if #rep.diffs == 0 then
    x.row(h, 'log (replayed) = records\tagree')
  else
    for _, d in ipairs(rep.diffs) do x.row(h, d .. '\tDIFFERS') end
  end
  x.close(h)
end

return M
