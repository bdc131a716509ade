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

-- The member's town and enterprise, cached per build.
local function member_info(cache, id)
  if id == nil then return {} end
  local m = cache[id]
  if m == nil then
    local members = collection('members')
    local r = members and members:get(id)
    m = r and { town = r.town, enterprise_id = r.enterprise_id } or {}
    cache[id] = m
  end
  return m
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
  return cache[key]
end

local function station_info(cache, place)
  if place == nil then return nil end
  local key = 'station:' .. place
  if cache[key] == nil then
    local st = collection('stations')
    cache[key] = st and st:get(place, 'station_id') and place or false
  end
  return cache[key] or nil
end

function FACT.entry(x, cache)
  local m = member_info(cache, x.member_id)
  local p = program_info(cache, x.program)
  local u = p.u
  local person = (u['人'] or u['人次']) and x.member_id or nil
  local heads = u['人次'] and x.heads and x.heads > 0 and x.heads or nil
  return { program = 'program:' .. x.program, label = p.title, year = year_of(x.day),
           -- 户次 as the framework counts it: per kind (and day, when the plan says
           -- household_times = 'day'), the distinct households
           member_id = person, household = u['户次'] and x.household
             and (x.program .. '|' .. x.kind .. '|' .. x.household .. (p.by_day and ('|' .. tostring(x.day)) or '')) or nil,
           money_fen = u.fen and (x.fen or 0) or 0,
           session = u['场次'] and ('program:' .. x.program .. ':' .. (x.session or x.program)) or nil,
           town = x.town or m.town, enterprise_id = x.enterprise_id or m.enterprise_id,
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
  db.atomic(function()
    for f in db.year_facts:scan() do db.year_facts:delete(f.seq) end
  end)
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

local function new_cell()
  return { sessions = 0, persons = 0, person_times = 0, household_times = 0, money_fen = 0,
           _s = {}, _p = {}, _h = {} }
end

local function count_into(cell, f)
  if f.heads then cell.person_times = cell.person_times + f.heads end   -- counted, not named
  if f.member_id ~= nil then
    cell.person_times = cell.person_times + 1
    if not cell._p[f.member_id] then cell._p[f.member_id] = true; cell.persons = cell.persons + 1 end
  end
  if f.household ~= nil and not cell._h[f.household] then   -- distinct per program, kind and household
    cell._h[f.household] = true
    cell.household_times = cell.household_times + 1
  end
  cell.money_fen = cell.money_fen + (f.money_fen or 0)
  if f.session ~= nil and not cell._s[f.session] then
    cell._s[f.session] = true
    cell.sessions = cell.sessions + 1
  end
end

M.MEASURES = { 'sessions', 'persons', 'person_times', 'household_times', 'money_fen' }

-- A count being made: returns the count (below) and add(f), which counts
-- one fact unless `reversed` (a set of entry keys: reversals and the
-- entries they reverse) holds its entry. Facts are counted as they come,
-- with no list of them and no table made per fact: a year of a city's
-- entries is counted in the memory of its distinct members and households.
function M.counter(reversed)
  reversed = reversed or {}
  local t = { total = new_cell(), program = {}, town = {}, enterprise = {}, station = {}, rank = {} }
  local tp, tt, te, ts, rank = t.program, t.town, t.enterprise, t.station, t.rank
  local total = t.total
  local function add(f)
    local entry = f.entry
    if entry and reversed[entry] then return end
    count_into(total, f)
    local label = f.label
    local c = tp[label]
    if not c then c = new_cell(); tp[label] = c end
    count_into(c, f)
    local k = f.town or '(未知)'
    c = tt[k]
    if not c then c = new_cell(); tt[k] = c end
    count_into(c, f)
    k = f.enterprise_id
    if k == nil then k = '(无)' end
    c = te[k]
    if not c then c = new_cell(); te[k] = c end
    count_into(c, f)
    k = f.station
    if k ~= nil then
      c = ts[k]
      if not c then c = new_cell(); ts[k] = c end
      count_into(c, f)
    end
    if rank[label] == nil then
      local program = f.program
      local order = (LABEL[program] and 0 or program:match('^program:') and 1 or 100)
      for _, p in ipairs(M.PROGRAMS) do if p.program == program or p.label == label then order = p.order end end
      rank[label] = order
    end
  end
  return t, add
end

-- Counts facts: { total = cell, program = { [label] = cell }, town = {...},
-- enterprise = {...}, order = { program = {labels...} } }.
function M.count(facts)
  local reversed = {}
  for _, f in ipairs(facts) do
    if f.reverses then reversed[f.reverses] = true; reversed[f.entry] = true end
  end
  local t, add = M.counter(reversed)
  for _, f in ipairs(facts) do add(f) end
  return t
end

-- The count of a year from the log's facts (year_facts, as rebuild() or
-- update() left them), read twice in key order: the reversals, then the facts.
function M.count_log(year)
  local reversed = {}
  for f in db.year_facts:scan{ year = year } do
    local r = f.reverses
    if r then reversed[r] = true; reversed[f.entry] = true end
  end
  local t, add = M.counter(reversed)
  M.facts_from_log(year, add)
  return t
end

-- The count of a year from the records (the ledger): the reversals found
-- by their index, then every entry once.
function M.count_records(year)
  local reversed = {}
  local c = collection('program_entries')
  if c then
    for r in c:scan{ index = 'reverses' } do
      reversed[r.program .. ':' .. r.reverses] = true
      reversed[r.program .. ':' .. r.entry_id] = true
    end
  end
  local t, add = M.counter(reversed)
  M.facts_from_records(year, add)
  return t
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
