-- unionbuild.lua — union building (工会组建与会员发展) on the program
-- framework: the year's new enterprise unions and joint unions (and the
-- enterprises a joint union covers), the members who joined (of them
-- new-employment-form workers), and the 新就业形态劳动者之星 selection:
-- nominations by unions, a quota, a vote or a panel, the list published
-- with names masked.
--
--   local ub = require 'unionbuild'
--   local U = ub.open('scripts/unionbuild/plan.lua', 2024)   -- or ub.open(plan_table)
--   U:sync()                     --> { enterprise_union = n, joint_union = n, joint_covers = n, join = n,
--                                --     join_new_form = n, already = n }   from the registry
--   U:nominate{ member = ref, union = id|name, reason = '...' }   --> nomination | nil, code, why
--   U:mark(member, { votes = 120 } | { score = 92 })              --> nomination | nil, code, why
--   U:select()                   --> { selected = {...}, entered = n } | nil, code, why
--   U:nominations()              --> list, in rank order
--   U:sheet('nominations' | 'votes', file)   --> the framework's sheet summary
--
-- THE RECORDS: the registry says when a union was founded (unions.founded)
-- and when a member joined (members.join_date, employment_form); sync()
-- enters each as an entry of the framework ledger (program unionbuild-YEAR):
-- a new union with no member (key U:id, its union, its enterprise), each
-- enterprise a joint union covers (key C:union:enterprise), each member who
-- joined (key J:member; kind join_new_form for 新就业形态, else join).
-- Run again, it enters only what is new. Stars are entries of kind star
-- (key STAR:member), at most the kind's stock (the quota) a year; the
-- nominations, votes and scores are in star_nominations.
local _ = gettext
local program = require 'program'
local registry = require 'registry'
local activity = require 'activity'
local yearly = require 'yearly'
local dates = require 'dates'

local M = {}
local U = {}
U.__index = U

local refuse = program.refuser(yearly.REFUSALS)

M.SHEETS = {
  nominations = { { 'id_number', '身份证号', 'id' }, { 'union', '推荐工会' }, { 'reason', '主要事迹', optional = true } },
  votes = { { 'id_number', '身份证号', 'id' }, { 'votes', '票数', 'int', optional = true },
            { 'score', '评分', 'int', optional = true } },
}

function M.open(plan, year)
  registry.define_all()
  local P = yearly.define(plan, year)
  db.define('star_nominations', {
    key = 'nomination_id', auto = true,
    fields = { nomination_id = 'int', program = 'string', member_id = 'int', union_id = 'int',
               reason = 'string?', at = 'string', votes = 'int?', score = 'int?', status = 'string' },
    unique = { { 'program', 'member_id' } },
    index = { { 'program', 'union_id' } },
  })
  local star = (P.plan.raw.extra or {}).star or {}
  return setmetatable({ P = P, plan = P.plan, id = P.id, star = { per_union = star.per_union or 3,
                                                                    by = star.by or 'votes' } }, U)
end

-- ---- the registry's year --------------------------------------------------------------

function U:sync()
  local w = self.plan.window
  local counts = { enterprise_union = 0, joint_union = 0, joint_covers = 0, join = 0, join_new_form = 0,
                   already = 0, refused = 0 }
  local function tally(r, code, kind)
    if r then counts[kind] = counts[kind] + 1
    elseif code == 'already' then counts.already = counts.already + 1
    else counts.refused = counts.refused + 1 end
  end
  db.atomic(function()
    for u in db.unions:scan() do
      if u.founded and u.founded >= w.from and u.founded <= w.to
         and (u.level == 'enterprise' or u.level == 'joint') then
        local ents = db.enterprises:list{ union_id = u.union_id }
        local kind = u.level == 'joint' and 'joint_union' or 'enterprise_union'
        local r, code = self.P:enter{ kind = kind, key = 'U:' .. u.union_id, day = u.founded, union = u.union_id,
                                      town = u.town, enterprise_id = kind == 'enterprise_union' and ents[1]
                                        and ents[1].enterprise_id or nil, note = u.name }
        tally(r, code, kind)
        if kind == 'joint_union' then
          for _i, e in ipairs(ents) do
            r, code = self.P:enter{ kind = 'joint_covers', key = 'C:' .. u.union_id .. ':' .. e.enterprise_id,
                                    day = u.founded, union = u.union_id, town = e.town, enterprise_id = e.enterprise_id }
            tally(r, code, 'joint_covers')
          end
        end
      end
    end
    for m in db.members:scan{ join_date = { from = w.from, to = w.to } } do
      local kind = m.employment_form == 'new_form' and 'join_new_form' or 'join'
      local r, code = self.P:enter{ kind = kind, member = m, key = 'J:' .. m.member_id, day = m.join_date,
                                    union = m.union_id, enterprise_id = m.enterprise_id }
      tally(r, code, kind)
    end
  end)
  return counts
end

-- ---- the star selection ------------------------------------------------------------------

function U:nominate(n)
  local m, code, why = program.member(n.member or n.id_number)
  if not m then return refuse(code, why) end
  if m.employment_form ~= 'new_form' then
    return refuse('not_eligible', string.format(_('%s is not a new-employment-form worker (employment form: %s)'),
                                                program.mask_name(m.name), tostring(m.employment_form)))
  end
  if m.status ~= 'active' then
    return refuse('not_eligible', string.format(_('%s is not an active member (%s)'), program.mask_name(m.name), m.status))
  end
  local u, uwhy = activity.union_of(n.union)
  if not u then return refuse('unknown', uwhy) end
  local under = false
  for _i, id in ipairs(registry.union_subtree(u.union_id)) do if id == m.union_id then under = true end end
  if not under then
    return refuse('not_eligible', string.format(_('%s belongs to no union under %s: a union nominates its own members'),
                                                program.mask_name(m.name), u.name))
  end
  return db.atomic(function()
    local prior = db.star_nominations:find('program,member_id', { self.id, m.member_id })
    if prior then
      return refuse('already', string.format(_('%s was nominated on %s'), program.mask_name(m.name), prior.at))
    end
    local n_union = #db.star_nominations:list{ index = 'program,union_id', eq = { self.id, u.union_id } }
    if n_union >= self.star.per_union then
      return refuse('limit', string.format(_('%s has made its %d nominations'), u.name, self.star.per_union))
    end
    local rec = { program = self.id, member_id = m.member_id, union_id = u.union_id, reason = n.reason,
                  at = n.at or dates.now(), status = 'nominated' }
    rec.nomination_id = db.star_nominations:insert(rec)
    return rec
  end)
end

-- Records a nominee's votes or the panel's score (before the selection).
function U:mark(ref, marks)
  local m, code, why = program.member(ref)
  if not m then return refuse(code, why) end
  return db.atomic(function()
    local n = db.star_nominations:find('program,member_id', { self.id, m.member_id })
    if not n then return refuse('unknown', string.format(_('%s was not nominated'), program.mask_name(m.name))) end
    if n.status ~= 'nominated' then
      return refuse('closed', _('the selection is made: votes and scores are closed'))
    end
    local upd = {}
    for _i, f in ipairs{ 'votes', 'score' } do
      local v = marks[f]
      if v ~= nil then
        if math.type(v) ~= 'integer' or v < 0 then
          return refuse('bad_input', string.format(_('%s is a whole number >= 0, got %s'), f, tostring(v)))
        end
        upd[f] = v
      end
    end
    if next(upd) == nil then return refuse('bad_input', _('give votes or a score')) end
    db.star_nominations:update(n.nomination_id, upd)
    local r = n.totable and n:totable() or n
    for k, v in pairs(upd) do r[k] = v end
    return r
  end)
end

-- The nominations in rank order: the measure (votes or score) first, then the other.
function U:nominations()
  local list = db.star_nominations:list{ index = 'program,union_id', eq = { self.id } }
  local out = {}
  for i, n in ipairs(list) do out[i] = n.totable and n:totable() or n end
  local a, b = self.star.by, self.star.by == 'votes' and 'score' or 'votes'
  table.sort(out, function(x, y)
    if (x[a] or -1) ~= (y[a] or -1) then return (x[a] or -1) > (y[a] or -1) end
    if (x[b] or -1) ~= (y[b] or -1) then return (x[b] or -1) > (y[b] or -1) end
    return x.nomination_id < y.nomination_id
  end)
  return out
end

-- Selects the quota's best by votes (or score); a tie across the quota's
-- line is refused (the panel breaks it), not decided by the order of entry.
function U:select(opts)
  opts = opts or {}
  local quota = self.plan.kind.star.stock or math.huge
  local list = self:nominations()
  local by, other = self.star.by, self.star.by == 'votes' and 'score' or 'votes'
  for _i, n in ipairs(list) do
    if n[by] == nil then
      local m = db.members:get(n.member_id)
      return refuse('bad_input', string.format(_('%s has no %s yet'), program.mask_name(m.name), by))
    end
  end
  local k = math.min(quota, #list)
  if k < #list and list[k][by] == list[k + 1][by] and (list[k][other] or -1) == (list[k + 1][other] or -1) then
    local names = {}
    for _i, n in ipairs(list) do
      if n[by] == list[k][by] then names[#names + 1] = program.mask_name(db.members:get(n.member_id, 'name')) end
    end
    return refuse('limit', string.format(_('a tie at place %d (%s %d: %s): break it with the panel\'s score or a second vote'),
                                         k, by, list[k][by], table.concat(names, ', ')))
  end
  -- the day of the selection: today, or the year's last day once it is over
  local today = dates.today()
  local day = opts.day or (today < self.plan.window.to and today or self.plan.window.to)
  local out = { selected = {}, entered = 0 }
  db.atomic(function()
    for i, n in ipairs(list) do
      local chosen = i <= k
      if chosen then
        local r, code, why = self.P:enter{ kind = 'star', member = n.member_id, key = 'STAR:' .. n.member_id,
                                           union = n.union_id, day = day, at = opts.at }
        if r then out.entered = out.entered + 1
        elseif code ~= 'already' then error(string.format(_('star %d: %s'), n.member_id, why), 0) end
        out.selected[#out.selected + 1] = n
      end
      db.star_nominations:update(n.nomination_id, { status = chosen and 'selected' or 'not_selected' })
    end
  end)
  return out
end

function U:sheet(which, file)
  local fields = M.SHEETS[which]
  if not fields then error(string.format(_("no sheet '%s' (nominations or votes)"), tostring(which)), 2) end
  return self.P:enter_sheet(file, { fields = fields, enter = function(e)
    local r, code, why
    if which == 'nominations' then
      r, code, why = self:nominate{ member = e.id_number, union = e.union, reason = e.reason }
    else
      r, code, why = self:mark(e.id_number, { votes = e.votes, score = e.score })
    end
    if r then r.fen = 0 end
    return r, code, why
  end })
end

return M
