-- activity.lua — the activity register (职工活动登记) on the program
-- framework: sessions of declared kinds (pre-shift talks, public classes,
-- sports matches, performances, legal advice, mediation, job fairs, rest-
-- station services) with their date, place, organiser union and enterprise,
-- and who came: by name (签到: 人次 and 人) or by head count (人数: 人次).
-- The "ten things" report (ten_things.lua) counts them; so does the year
-- report, through the framework's standard event.
--
--   local activity = require 'activity'
--   local A = activity.open('scripts/activity/plan.lua', 2024)   -- the plan of a year, on the framework
--   local A = activity.open(plan)             -- or a plan table (tests)
--   A:session{ id = 'BQ-0001', kind = 'talk' | '班前十分钟', day = '2024-03-01', place = '车间',
--              union = 12 | '某某公司工会', enterprise = 7 | '某某有限公司' | credit code,
--              title = '安全生产', heads = 30?, fen = 50000? }   --> entry | nil, code, why
--   A:attend{ session = 'BQ-0001', member = ID number | member_id }  --> entry | nil, code, why
--   A:booth{ session = 'ZP-01', enterprise = ..., posts = 12 }     --> entry (a job fair's posts)
--   A:cancel('BQ-0001', reason)               --> n entries reversed (the session and who came)
--   A:sheet('sessions' | 'attendance' | 'booths', file)  --> the framework's sheet summary
--   A:get('BQ-0001')                          --> the session's entry, or nil
--
-- THE RECORDS are the framework's ledger (program_entries of program
-- activity-YEAR): a session is one entry with no member, its key 'S:ID',
-- its session ID, kind, day, place, town, organiser union (union_id),
-- enterprise, head count (heads) and cost (fen); each person who came is an
-- entry of the session's kind with the member, key 'A:ID:member' (once per
-- session); each enterprise at a job fair an entry of kind job_post with
-- its posts as qty, key 'P:ID:enterprise'. Keys make every sheet safe to
-- enter twice. Corrections are reversals (cancel), never edits.
local _ = gettext
local program = require 'program'
local registry = require 'registry'
local yearly = require 'yearly'

local M = {}
local A = {}
A.__index = A

M.SHEETS = {
  sessions = {
    { 'id', '活动编号' }, { 'kind', '类型' }, { 'day', '日期', 'date' }, { 'place', '地点', optional = true },
    { 'union', '主办工会' }, { 'enterprise', '企业', optional = true }, { 'title', '主题', optional = true },
    { 'heads', '人数', 'int', optional = true }, { 'fen', '经费', 'yuan', optional = true },
  },
  attendance = { { 'session', '活动编号' }, { 'id_number', '身份证号', 'id' } },
  booths = { { 'session', '活动编号' }, { 'enterprise', '企业' }, { 'posts', '岗位数', 'int' } },
}

-- The framework's refusals, and 'unknown': a union, enterprise or session
-- that is not registered.
local refuse = program.refuser(yearly.REFUSALS)

-- The program of `year` from a plan file that returns function(year) -> plan
-- (scripts/activity/plan.lua), or a plan table.
function M.open(plan, year)
  registry.define_all()
  local P = yearly.define(plan, year)
  return setmetatable({ P = P, plan = P.plan, id = P.id, names = {} }, A)
end

-- ---- lookups: a kind by code or title, a union by id or name, an enterprise
-- by id, credit code or name -----------------------------------------------------------

function A:kind_of(x)
  if self.plan.kind[x] then return x end
  for _i, k in ipairs(self.plan.kinds) do if k.title == x then return k.kind end end
  local names = {}
  for _i, k in ipairs(self.plan.kinds) do names[#names + 1] = k.title .. ' (' .. k.kind .. ')' end
  return nil, string.format(_("'%s' is not a kind of activity (the kinds: %s)"), tostring(x), table.concat(names, ', '))
end

local function int_of(x)
  if math.type(x) == 'integer' then return x end
  if type(x) == 'string' and x:match('^%d+$') then return math.tointeger(tonumber(x)) end
end

function M.union_of(x)
  local id = int_of(x)
  local u = id and db.unions:get(id) or (type(x) == 'string' and db.unions:find('name', x))
  if not u then return nil, string.format(_("no union '%s' (give its union_id or its name as registered)"), tostring(x)) end
  return u
end

function A:enterprise_of(x)
  local id = int_of(x)
  if id then
    local e = db.enterprises:get(id)
    if e then return e end
  elseif type(x) == 'string' then
    if not self.ent_names then        -- name and credit code -> id, read once
      self.ent_names = {}
      for e in db.enterprises:scan() do
        self.ent_names[e.name] = e.enterprise_id
        if e.credit_code then self.ent_names[e.credit_code] = e.enterprise_id end
      end
    end
    local k = self.ent_names[x] or self.ent_names[x:upper()]
    if k then return db.enterprises:get(k) end
  end
  return nil, string.format(_("no enterprise '%s' (give its enterprise_id, credit code or name as registered)"), tostring(x))
end

-- The session's entry (standing: not reversed), or nil.
function A:get(id)
  local r = db.program_entries:find('program,key', { self.id, 'S:' .. tostring(id) })
  if not r or db.program_entries:find('reverses', r.entry_id) then return nil end
  return r.totable and r:totable() or r
end

-- ---- entering ---------------------------------------------------------------------------

function A:session(s)
  if type(s.id) ~= 'string' and math.type(s.id) ~= 'integer' then
    return refuse('bad_input', _('a session needs its number (活动编号)'))
  end
  local id = tostring(s.id)
  local kind, why = self:kind_of(s.kind)
  if not kind then return refuse('bad_input', why) end
  if kind == 'job_post' then return refuse('bad_input', _("job posts are entered with the job fair's booths, not as a session")) end
  if s.union == nil then return refuse('bad_input', _('a session needs its organiser union (主办工会)')) end
  local u, uwhy = M.union_of(s.union)
  if not u then return refuse('unknown', uwhy) end
  local ent
  if s.enterprise ~= nil and s.enterprise ~= '' then
    local e, ewhy = self:enterprise_of(s.enterprise)
    if not e then return refuse('unknown', ewhy) end
    ent = e
  end
  local st = s.place and db.stations:get(s.place)
  if kind == 'station_service' and not st then
    return refuse('bad_input', string.format(_("a station service takes place at a rest station: '%s' is no station_id"),
                                             tostring(s.place)))
  end
  local town = st and st.town or ent and ent.town or u.town
  -- the same number again is the same session (already entered); a number
  -- reused for another session is refused, not taken for the first
  local prior = self:get(id)
  if prior and (prior.kind ~= kind or (s.day and prior.day ~= s.day) or prior.union_id ~= u.union_id) then
    return refuse('duplicate', string.format(_('session %s was entered as %s on %s by %s (entry %d): give this one another number'),
                                             id, self.plan.kind[prior.kind].title, prior.day,
                                             db.unions:get(prior.union_id, 'name') or '?', prior.entry_id))
  end
  return self.P:enter{ kind = kind, key = 'S:' .. id, session = id, day = s.day, place = s.place,
                       town = town, union = u.union_id, enterprise_id = ent and ent.enterprise_id,
                       heads = s.heads or 0, fen = s.fen or 0, note = s.title, at = s.at }
end

function A:attend(a)
  local sid = tostring(a.session)
  local s = self:get(sid)
  if not s then return refuse('unknown', string.format(_('no session %s in %s (enter the session first)'), sid, self.id)) end
  local m, code, why = program.member(a.member or a.id_number)
  if not m then return refuse(code, why) end
  return self.P:enter{ kind = s.kind, member = m, key = 'A:' .. sid .. ':' .. m.member_id, session = sid,
                       day = s.day, place = s.place, town = s.town, union = s.union_id,
                       enterprise_id = s.enterprise_id, at = a.at }
end

function A:booth(b)
  local sid = tostring(b.session)
  local s = self:get(sid)
  if not s then return refuse('unknown', string.format(_('no session %s in %s (enter the session first)'), sid, self.id)) end
  if s.kind ~= 'job_fair' then
    return refuse('bad_input', string.format(_('session %s is a %s, not a job fair'), sid, self.plan.kind[s.kind].title))
  end
  local e, why = self:enterprise_of(b.enterprise)
  if not e then return refuse('unknown', why) end
  return self.P:enter{ kind = 'job_post', key = 'P:' .. sid .. ':' .. e.enterprise_id, session = sid, day = s.day,
                       place = s.place, town = s.town, union = s.union_id, enterprise_id = e.enterprise_id,
                       qty = b.posts, at = b.at }
end

-- Reverses a session and every entry under it; returns how many.
function A:cancel(id, reason)
  id = tostring(id)
  local s = self:get(id)
  if not s then error(string.format(_('no session %s in %s'), id, self.id), 0) end
  local list = {}
  for _i, kind in ipairs{ s.kind, 'job_post' } do
    for r in db.program_entries:scan{ index = 'program,kind', eq = { self.id, kind } } do
      if r.session == id and not r.reverses and not db.program_entries:find('reverses', r.entry_id) then
        list[#list + 1] = r.entry_id
      end
    end
  end
  db.atomic(function()
    for _i, e in ipairs(list) do assert(self.P:reverse(e, reason)) end
  end)
  return #list
end

-- A sheet through the framework's sheet helper (columns by label, cells as
-- import reads them, a savepoint per row, FILE.refusals.csv, re-entry safe).
function A:sheet(which, file, opts)
  local fields = M.SHEETS[which]
  if not fields then error(string.format(_("no sheet '%s' (sessions, attendance or booths)"), tostring(which)), 2) end
  local enter = ({ sessions = A.session, attendance = A.attend, booths = A.booth })[which]
  opts = opts or {}
  return self.P:enter_sheet(file, { fields = fields, refusals = opts.refusals, enter = function(e)
    if which == 'attendance' then e.member = e.id_number end
    return enter(self, e)
  end })
end

return M
