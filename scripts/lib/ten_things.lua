-- ten_things.lua — the "ten things" report (为职工办十件实事): one page per
-- year and organiser union that states each line of the list (sessions,
-- enterprises, 人次, people, money) from the records, never typed in, as
-- text and as an xlsx workbook with charts; rebuilt from the event log and
-- compared with the records, figure by figure.
--
--   local ten = require 'ten_things'
--   local rep = ten.build{ year = 2024, union = 3?, lines = require('ten_things.lines') }
--   print(ten.format(rep))          -- the page, and whether the log and the records agree
--   ten.xlsx(rep, 'ten-2024.xlsx')  -- sheets 十件实事 (charts), 活动类型, 月度 (a line chart), 核对
--
-- THE LINES are data (scripts/ten_things/lines.lua): each names programs on
-- the framework (an id, or the prefix of ids like activity-2024, or a list of
-- them) and their
-- kinds, and a sentence whose {placeholders} are filled from the counts:
--   sessions      场次: distinct sessions (an entry's `session`)
--   enterprises   distinct enterprises named by the entries themselves (where a
--                 talk was held, who offered posts, what a joint union covers)
--   person_times  人次: entries with a member, plus head counts (heads)
--   persons       人: distinct members
--   yuan / fen    money (the entries' fen)
--   qty           the entries' quantities (a job fair's posts)
--   entries       entries (a new union is one)
--   stations      distinct rest stations where entries took place
-- {measure:kind} counts one kind of the line only.
--
-- TWO ROADS: the facts are read from the records (program_entries) and,
-- independently, from the event log (every program.entry event, read from
-- the first one kept); both are counted by the same code and every figure is
-- compared. A reversed entry counts on neither road, nor does its reversal.
--
-- THE PAGE'S UNION: an entry counts for union U when its organiser union (the
-- entry's union_id, else its program's union) is U or under U
-- (registry.union_subtree). No union: the whole database.
local _ = gettext
local fmt = require 'fmt'
local bit_add = require('bitset').add
local registry = require 'registry'

local M = {}

M.MEASURES = { 'sessions', 'enterprises', 'person_times', 'persons', 'fen', 'qty', 'entries', 'stations' }

local function has(name)
  for _i, n in ipairs(db.collections()) do if n == name then return true end end
  return false
end

-- Does program id belong to a line's program (the id itself, or id-...; a
-- line may name several)?
local function of_line(id, prefix)
  if type(prefix) == 'table' then
    for _i, p in ipairs(prefix) do if id == p or id:sub(1, #p + 1) == p .. '-' then return true end end
    return false
  end
  return id == prefix or id:sub(1, #prefix + 1) == prefix .. '-'
end

-- ---- facts ---------------------------------------------------------------------------

-- A fact of an entry (a ledger row or an event's payload): what the lines count.
local function fact(x, info)
  local session = x.session
  if session == x.program then session = nil end     -- the framework's default session: the program
  return { program = x.program, kind = x.kind, day = x.day, member_id = x.member_id, heads = x.heads or 0,
           qty = x.qty or 0, fen = x.fen or 0, session = session and (x.program .. ':' .. session) or nil,
           enterprise_id = x.enterprise_id, union_id = x.union_id or info.union_id,
           station = x.place and info.stations[x.place] and x.place or nil,
           entry = x.program .. ':' .. tostring(x.entry_id),
           reverses = x.reverses and (x.program .. ':' .. tostring(x.reverses)) or nil }
end

-- What both roads share: the programs of the lines, their unions, the
-- stations, and the page's unions.
local function context(opts)
  local ctx = { programs = {}, stations = {}, year = opts.year }
  if has('programs') then
    for p in db.programs:scan() do
      for _i, l in ipairs(opts.lines.lines) do
        if of_line(p.program_id, l.program) then ctx.programs[p.program_id] = { union_id = p.union_id } end
      end
    end
  end
  if has('stations') then for s in db.stations:scan() do ctx.stations[s.station_id] = true end end
  if opts.union then
    ctx.under = {}
    for _i, id in ipairs(registry.union_subtree(opts.union)) do ctx.under[id] = true end
  end
  return ctx
end

local function keep(ctx, f)
  if f.day:sub(1, 4) ~= tostring(ctx.year) then return false end
  if ctx.under and not (f.union_id and ctx.under[f.union_id]) then return false end
  return true
end

-- The facts are handed to fn one at a time, none kept: a city's year
-- (100,000 facts at 1,000,000 members) was two lists of tables, 75 MB.
local function from_records(ctx, fn)
  local ids = {}
  for id in pairs(ctx.programs) do ids[#ids + 1] = id end
  table.sort(ids)
  for _i, id in ipairs(ids) do
    local info = { union_id = ctx.programs[id].union_id, stations = ctx.stations }
    for r in db.program_entries:scan{ index = 'program,kind', eq = { id } } do
      local f = fact(r, info)
      if keep(ctx, f) then fn(f) end
    end
  end
end

-- returns the number of events read
local function from_log(ctx, fn)
  local n, from = 0, 1
  while true do
    local page = bus.events{ from = from, topic = 'program.entry', limit = 5000 }
    if #page == 0 then break end
    for _i, ev in ipairs(page) do
      n = n + 1
      -- the event's entry, defaults put back (the payload is compact: program.lua)
      local x = type(ev.payload) == 'table' and require('program').entry_of_event(ev.payload)
      local p = x and ctx.programs[x.program]
      if p then
        local f = fact(x, { union_id = p.union_id, stations = ctx.stations })
        if keep(ctx, f) then fn(f) end
      end
    end
    from = page[#page].seq + 1
  end
  return n
end

-- ---- counting --------------------------------------------------------------------------

local function cell()
  return { sessions = 0, enterprises = 0, person_times = 0, persons = 0, fen = 0, qty = 0, entries = 0,
           stations = 0, _s = {}, _e = {}, _p = {}, _st = {} }
end

-- persons are bits of integers (a word per 64 member ids), not a table
-- entry per member in each of the page's cells
local function add(c, f)
  c.entries = c.entries + 1
  local id = f.member_id
  c.person_times = c.person_times + (id and 1 or 0) + f.heads
  c.fen = c.fen + f.fen
  c.qty = c.qty + f.qty
  local function once(set, k, field)
    if k ~= nil and not set[k] then set[k] = true; c[field] = c[field] + 1 end
  end
  once(c._s, f.session, 'sessions')
  once(c._e, f.enterprise_id, 'enterprises')
  if math.type(id) == 'integer' then
    if bit_add(c._p, id) then c.persons = c.persons + 1 end
  else
    once(c._p, id ~= nil and ('m' .. tostring(id)) or nil, 'persons')
  end
  once(c._st, f.station, 'stations')
end

-- Counts facts into the lines: { lines = { { cell, kinds = { [kind] = cell } } }, total, months }.
-- facts: a list, or a function that calls its argument with each fact
-- (called twice: the reversals, then the count).
function M.count(lines, facts)
  local each = facts
  if type(facts) ~= 'function' then each = function(fn) for _i, f in ipairs(facts) do fn(f) end end end
  local reversed = {}
  each(function(f)
    if f.reverses then reversed[f.reverses] = true; reversed[f.entry] = true end
  end)
  local out = { lines = {}, total = cell(), months = {} }
  local want = {}
  for i, l in ipairs(lines.lines) do
    out.lines[i] = { cell = cell(), kinds = {} }
    for _i, k in ipairs(l.kinds or {}) do out.lines[i].kinds[k] = cell() end
    want[i] = {}
    for _i, k in ipairs(l.kinds or {}) do want[i][k] = true end
  end
  each(function(f)
    if not reversed[f.entry] then
      local counted = false
      for i, l in ipairs(lines.lines) do
        if of_line(f.program, l.program) and (not l.kinds or want[i][f.kind]) then
          add(out.lines[i].cell, f)
          if out.lines[i].kinds[f.kind] then add(out.lines[i].kinds[f.kind], f) end
          counted = true
        end
      end
      if counted then
        add(out.total, f)
        local m = f.day:sub(1, 7)
        out.months[m] = out.months[m] or cell()
        add(out.months[m], f)
      end
    end
  end)
  return out
end

-- Every figure that differs: { 'line 3 职工文体活动: sessions 4 (log) vs 5 (records)', ... }.
function M.compare(lines, a, b)
  local diffs = {}
  local function cmp(where, x, y)
    for _i, k in ipairs(M.MEASURES) do
      if x[k] ~= y[k] then
        diffs[#diffs + 1] = string.format(_('%s: %s %s (log) vs %s (records)'), where, k, x[k], y[k])
      end
    end
  end
  for i, l in ipairs(lines.lines) do
    local where = string.format(_('line %d %s'), i, l.title)
    cmp(where, a.lines[i].cell, b.lines[i].cell)
    for _i, k in ipairs(l.kinds or {}) do cmp(where .. ' (' .. k .. ')', a.lines[i].kinds[k], b.lines[i].kinds[k]) end
  end
  cmp(_('total'), a.total, b.total)
  local ms = {}
  for m in pairs(a.months) do ms[m] = true end
  for m in pairs(b.months) do ms[m] = true end
  local list = {}
  for m in pairs(ms) do list[#list + 1] = m end
  table.sort(list)
  for _i, m in ipairs(list) do cmp(m, a.months[m] or cell(), b.months[m] or cell()) end
  return diffs
end

-- ---- the statements -----------------------------------------------------------------------

local function commas(n)
  local s = tostring(n)
  local neg = s:sub(1, 1) == '-'
  if neg then s = s:sub(2) end
  s = s:reverse():gsub('(%d%d%d)', '%1,'):reverse():gsub('^,', '')
  return (neg and '-' or '') .. s
end
M.commas = commas

-- The line's sentence with its figures: '{sessions}' -> '356', '{yuan}' -> '1,234.50'.
function M.says(l, counted)
  return (l.says:gsub('{([%w_]+):?([%w_]*)}', function(measure, kind)
    local c = counted.cell
    if kind ~= '' then c = counted.kinds[kind] end
    if not c then error(string.format(_("ten things: line '%s': {%s:%s} names a kind the line does not count"),
                                      l.title, measure, kind), 0) end
    if measure == 'yuan' then return fmt.yuan(c.fen) end
    if c[measure] == nil then
      error(string.format(_("ten things: line '%s': {%s} is not a measure (%s, yuan)"), l.title, measure,
                          table.concat(M.MEASURES, ', ')), 0)
    end
    return commas(c[measure])
  end))
end

local NUM = { '一', '二', '三', '四', '五', '六', '七', '八', '九', '十' }
local function cn(i)
  if i <= 10 then return NUM[i] end
  if i < 20 then return '十' .. NUM[i - 10] end
  return NUM[i // 10] .. '十' .. (i % 10 > 0 and NUM[i % 10] or '')
end

-- ---- build ------------------------------------------------------------------------------

-- opts: year (integer), union (a union_id; nil: everything), lines (the lines table).
function M.build(opts)
  if math.type(opts.year) ~= 'integer' or opts.year < 1900 or opts.year > 9999 then
    error(_('ten things: year must be a year like 2024, got ') .. tostring(opts.year), 2)
  end
  local lines = opts.lines
  if type(lines) ~= 'table' or type(lines.lines) ~= 'table' then
    error(_('ten things: lines is { title =, lines = { { title =, program =, kinds =, says = }, ... } }'), 2)
  end
  for i, l in ipairs(lines.lines) do
    if type(l.title) ~= 'string' or (type(l.program) ~= 'string' and type(l.program) ~= 'table')
       or type(l.says) ~= 'string' then
      error(string.format(_('ten things: line %d needs a title, a program and what it says'), i), 2)
    end
  end
  registry.define_all()
  local union
  if opts.union ~= nil then
    union = db.unions:get(opts.union)
    if not union then error(string.format(_('ten things: no union %s'), tostring(opts.union)), 2) end
  end
  local ctx = context{ year = opts.year, union = opts.union, lines = lines }
  local rec = M.count(lines, function(fn) from_records(ctx, fn) end)
  local events
  local log = M.count(lines, function(fn) events = from_log(ctx, fn) end)
  -- an optional line shows when a program of it exists
  local shown = {}
  for i, l in ipairs(lines.lines) do
    local any = false
    for id in pairs(ctx.programs) do if of_line(id, l.program) then any = true end end
    shown[i] = any or not l.optional
  end
  local programs = {}
  for id in pairs(ctx.programs) do programs[#programs + 1] = id end
  table.sort(programs)
  return { year = opts.year, union = union, lines = lines, records = rec, log = log, shown = shown,
           diffs = M.compare(lines, log, rec), events = events, programs = programs }
end

-- The page's lines: { { no = '一', title, says, cell, kinds }, ... } (shown lines only).
function M.rows(rep)
  local out = {}
  for i, l in ipairs(rep.lines.lines) do
    if rep.shown[i] then
      local c = rep.records.lines[i]
      out[#out + 1] = { no = #out + 1, cn = cn(#out + 1), title = l.title, says = M.says(l, c), cell = c.cell,
                        line = l, index = i }
    end
  end
  return out
end

local function heading(rep)
  local who = rep.union and rep.union.name or ''
  return string.format(_('%s%d年%s (ten things)'), who, rep.year, rep.lines.title or '')
end

function M.format(rep)
  local out = {}
  local function put(s) out[#out + 1] = s end
  put(heading(rep))
  put(string.format(_('(counted from the records of %s; no figure is typed in)'),
                    #rep.programs > 0 and table.concat(rep.programs, ', ') or _('no program yet')))
  put('')
  local rows = M.rows(rep)
  for _i, r in ipairs(rows) do put(string.format('%s、%s：%s。', r.cn, r.title, r.says)) end
  put('')
  local t = {}
  for _i, r in ipairs(rows) do
    local c = r.cell
    t[#t + 1] = { r.no, r.title, commas(c.sessions), commas(c.enterprises), commas(c.person_times),
                  commas(c.persons), fmt.yuan(c.fen) }
  end
  local c = rep.records.total
  t[#t + 1] = { '', _('total'), commas(c.sessions), commas(c.enterprises), commas(c.person_times),
                commas(c.persons), fmt.yuan(c.fen) }
  put(fmt.table({ _('No.'), _('item'), _('sessions'), _('enterprises'), _('person-times'), _('persons'),
                  _('yuan') }, t, { right = { 1, 3, 4, 5, 6, 7 } }))
  put('')
  for _i, line in ipairs(require('year_report').agreement(rep.diffs, rep.events)) do put(line) end
  return table.concat(out, '\n')
end

-- The workbook: the lines with two charts, the kinds, the months with a line
-- chart, and the check.
function M.xlsx(rep, path)
  local x = plugin.load 'xlsx'
  local h = x.open(path)
  local yuan = fmt.plain_yuan
  local HEAD = { _('sessions'), _('enterprises'), _('person-times'), _('persons'), _('yuan') }
  local function cells(c) return { c.sessions, c.enterprises, c.person_times, c.persons, yuan(c.fen) } end
  -- 1. the lines
  x.sheet(h, _('ten things'))
  local head = { _('No.'), _('item') }
  for _i, s in ipairs(HEAD) do head[#head + 1] = s end
  head[#head + 1] = _('what was done')
  x.header(h, table.concat(head, '\t'))
  x.money(h, '7')
  local rows = M.rows(rep)
  for _i, r in ipairs(rows) do
    local row = { r.no, r.title }
    for _j, v in ipairs(cells(r.cell)) do row[#row + 1] = v end
    row[#row + 1] = r.says
    x.row(h, table.concat(row, '\t'))
  end
  if #rows > 0 then
    x.chart(h, 'column', string.format(_('%d: person-times by item'), rep.year), '2:5')
    x.chart(h, 'bar', string.format(_('%d: sessions by item'), rep.year), '2:3')
  end
  local tot = { '', _('total') }
  for _j, v in ipairs(cells(rep.records.total)) do tot[#tot + 1] = v end
  x.row(h, table.concat(tot, '\t'))
  -- 2. by kind
  x.sheet(h, _('kinds'))
  head = { _('item'), _('kind') }
  for _i, s in ipairs(HEAD) do head[#head + 1] = s end
  head[#head + 1] = _('quantity')
  x.header(h, table.concat(head, '\t'))
  x.money(h, '7')
  local n = 0
  for _i, r in ipairs(rows) do
    for _j, k in ipairs(r.line.kinds or {}) do
      local c = rep.records.lines[r.index].kinds[k]
      local row = { r.title, k }
      for _m, v in ipairs(cells(c)) do row[#row + 1] = v end
      row[#row + 1] = c.qty
      x.row(h, table.concat(row, '\t'))
      n = n + 1
    end
  end
  if n > 0 then x.chart(h, 'column', string.format(_('%d: person-times by kind'), rep.year), '2:5') end
  -- 3. by month
  x.sheet(h, _('months'))
  x.header(h, table.concat({ _('month'), _('sessions'), _('person-times'), _('persons') }, '\t'))
  local months = {}
  for m in pairs(rep.records.months) do months[#months + 1] = m end
  table.sort(months)
  for _i, m in ipairs(months) do
    local c = rep.records.months[m]
    x.row(h, table.concat({ m, c.sessions, c.person_times, c.persons }, '\t'))
  end
  if #months > 0 then x.chart(h, 'line', string.format(_('%d: sessions and person-times by month'), rep.year), '1:2,3') end
  -- 4. the check
  x.sheet(h, _('check'))
  x.header(h, table.concat({ _('check'), _('result') }, '\t'))
  if #rep.diffs == 0 then
    x.row(h, string.format(_('the event log (%d events) = the records'), rep.events) .. '\t' .. _('agree'))
  else
    for _i, d in ipairs(rep.diffs) do x.row(h, d .. '\t' .. _('DIFFERS')) end
  end
  x.close(h)
end

return M
