-- registry.lua — the shared member registry: collection definitions and
-- resident-ID helpers used by every program.
--
--   local registry = require 'registry'
--   registry.define_members()       -- members (see ../shared BENCHMARKS.md, plus union,
--                                   --   employment form, household and post type)
--   registry.define_enterprises()   -- enterprises
--   registry.put_enterprise{ ... }  -- stores one, its credit code checked
--   registry.define_unions()        -- unions as a tree: federation -> district/town -> enterprise
--   registry.define_stations()      -- rest stations for outdoor workers (驿站)
--   registry.define_all()           -- all four
--   registry.define_titles()        -- honorary titles of members (劳动模范, ...); not in define_all
--   registry.has_title(42, 'model_worker', '2025-05-01')  --> the title record, or nil
--   registry.valid_id('33048119900109123X')  --> true (false and the reason: check character, birth date)
--   registry.valid_credit_code('91350100M000100Y43') --> true, or false and the reason
--   registry.union_subtree(1)       -- { 1, 2, 5, ... }: a union and every union under it
--
-- Defining is idempotent: db.define with the same definition does nothing.

local parse = require 'parse'
local registry = {}

-- members: one record per union member, keyed by member_id.
function registry.define_members()
  db.define('members', {
    key    = 'member_id',
    fields = {
      member_id     = 'int',
      name          = 'string',
      id_number     = 'string',   -- 18-character resident ID (GB 11643)
      phone         = 'string',   -- 11 digits
      gender        = 'string',   -- 'M' / 'F', agrees with the ID's 17th digit
      birth_date    = 'date',     -- agrees with the ID's digits 7-14
      enterprise_id = 'int',
      town          = 'string',
      category      = 'string',   -- factory, gig_delivery, courier, ..., retiree
      join_date     = 'date',
      status        = 'string',   -- active, retired, left
      retire_date   = 'date?',
      -- added for the programs (issue 8); optional, so older registries stay valid
      union_id        = 'int?',    -- the union the member belongs to (unions.union_id)
      employment_form = 'string?', -- see registry.EMPLOYMENT_FORMS
      household       = 'string?', -- household id, for 户次 counts (absent: a household of one)
      post_type       = 'string?', -- 'worker' or 'cadre' (women's statutory retirement age)
    },
    unique = { 'id_number' },
    -- birth_date: who reaches an age in a period (retirement.due) reads those
    -- born in its months, not every member; a registry defined before it gets
    -- it built from its records by the first define (issue 23)
    index  = { 'enterprise_id', 'category', { 'town', 'status' }, 'union_id', 'birth_date' },
    scope  = 'union_id',  -- gonghui serve: a clerk sees the members of its union's subtree
  })
end

-- Employment forms. Gig and platform workers (新就业形态劳动者) are members
-- too: delivery riders, couriers, ride-hailing and freight drivers.
registry.EMPLOYMENT_FORMS = {
  standard  = '劳动合同',     -- a labour contract with the enterprise
  dispatch  = '劳务派遣',     -- dispatched labour
  flexible  = '灵活就业',     -- self-employed, part-time
  new_form  = '新就业形态',   -- platform work: riders, couriers, online drivers
}

-- enterprises: employers of members (members.enterprise_id).
function registry.define_enterprises()
  db.define('enterprises', {
    key    = 'enterprise_id',
    fields = {
      enterprise_id = 'int',
      name          = 'string',
      town          = 'string',
      size          = 'int?',     -- number of employees, when known
      union_id      = 'int?',     -- the enterprise union, or the joint union covering it
      credit_code   = 'string?',  -- 统一社会信用代码
    },
    index = { 'union_id' },
    scope = 'union_id',
  })
end

-- Stores (or replaces) an enterprise, refusing a credit code that is not
-- one (GB 32100: registry.valid_credit_code); lower case is taken as upper.
function registry.put_enterprise(e)
  if type(e) ~= 'table' then error(gettext('put_enterprise expects a table, got ') .. type(e), 2) end
  if e.credit_code ~= nil then
    local code = type(e.credit_code) == 'string' and e.credit_code:upper() or e.credit_code
    local ok, why = registry.valid_credit_code(code)
    if not ok then
      error(string.format(gettext("enterprise %s: credit_code (统一社会信用代码) '%s' %s"), tostring(e.enterprise_id),
                          tostring(e.credit_code), why), 2)
    end
    e.credit_code = code
  end
  return db.enterprises:put(e)
end

-- unions: a tree. A federation (总工会) at the top, district and town
-- federations under it, enterprise unions under a town; a joint union
-- (联合工会) covers several enterprises (their enterprises.union_id all
-- point to it). parent_id is absent only at the root.
registry.UNION_LEVELS = {
  federation = '总工会', district = '区县总工会', town = '乡镇(街道)总工会',
  enterprise = '企业工会', joint = '联合工会', industry = '行业工会',
}
function registry.define_unions()
  db.define('unions', {
    key    = 'union_id',
    fields = {
      union_id  = 'int',
      name      = 'string',
      level     = 'string',   -- see registry.UNION_LEVELS
      parent_id = 'int?',
      town      = 'string?',
      founded   = 'date?',    -- the day it was founded (union building counts the year's new unions)
    },
    unique = { 'name' },
    index  = { 'parent_id', 'level' },
  })
end

-- stations: rest stations for outdoor workers (户外劳动者服务驿站), each in a
-- town and hosted by an organisation (a bank branch, a shop, a union).
function registry.define_stations()
  db.define('stations', {
    key    = 'station_id',
    fields = {
      station_id    = 'string',
      name          = 'string',
      town          = 'string',
      host_org      = 'string',   -- the organisation that hosts it
      host_union_id = 'int?',     -- the union responsible for it
      address       = 'string?',
      open          = 'bool?',    -- absent: open
    },
    index  = { 'town' },
    scope  = 'host_union_id',
  })
end

-- member_titles: honorary titles a member holds (荣誉称号), one record per
-- title awarded: a model worker (劳动模范, 劳模; kind 'model_worker') of
-- the nation, the province or the city, an advanced worker (先进工作者,
-- the same honour for public institutions; also kind 'model_worker'), a
-- craftsman (工匠). A separate collection rather than a field of members:
-- a member may hold several, each with its year, and a title can be
-- revoked (撤销) without touching the member record.
registry.TITLE_KINDS = {
  model_worker = '劳动模范/先进工作者 (劳模)',
  craftsman    = '工匠',
  other        = '其他荣誉',
}
function registry.define_titles()
  db.define('member_titles', {
    key    = 'title_id', auto = true,
    fields = {
      title_id  = 'int',
      member_id = 'int',
      kind      = 'string',   -- see registry.TITLE_KINDS
      title     = 'string',   -- as on the certificate: '全国劳动模范', '浙江省劳动模范', ...
      level     = 'string?',  -- national, provincial, city, county
      awarded   = 'date?',    -- the day it was conferred
      revoked   = 'date?',    -- the day it was revoked; absent: held
      note      = 'string?',
    },
    unique = { { 'member_id', 'title' } },
    index  = { { 'member_id', 'kind' }, 'kind' },
  })
end

-- The first title of `kind` that member_id holds on date (awarded on or
-- before it, or with no date, and not revoked by then), or nil.
function registry.has_title(member_id, kind, date)
  for t in db.member_titles:scan{ index = 'member_id,kind', eq = { member_id, kind } } do
    if (t.awarded == nil or date == nil or t.awarded <= date)
       and (t.revoked == nil or (date ~= nil and t.revoked > date)) then
      return t:totable()
    end
  end
  return nil
end

function registry.define_all()
  registry.define_members()
  registry.define_enterprises()
  registry.define_unions()
  registry.define_stations()
end

-- One field of the records of collection `coll` that `filter` selects, sorted.
local function sorted_field(coll, filter, field)
  local out = {}
  for r in db[coll]:scan(filter) do out[#out + 1] = r[field] end
  table.sort(out)
  return out
end

-- The unions directly under union id, in key order.
function registry.union_children(id)
  return sorted_field('unions', { parent_id = id }, 'union_id')
end

-- id and every union below it (depth first, children in key order).
function registry.union_subtree(id)
  if not db.unions:get(id, 'union_id') then
    error(string.format(gettext('union %s does not exist'), tostring(id)), 2)
  end
  local out, seen = {}, {}
  local function walk(u)
    if seen[u] then error(gettext('unions: the tree has a cycle through union ') .. u, 3) end
    seen[u] = true
    out[#out + 1] = u
    for _, c in ipairs(registry.union_children(u)) do walk(c) end
  end
  walk(id)
  return out
end

-- The chain from union id up to the root: { id, parent, ..., root }.
function registry.union_path(id)
  local out, seen = {}, {}
  local u = id
  while u do
    if seen[u] then error(gettext('unions: the tree has a cycle through union ') .. u, 2) end
    seen[u] = true
    local parent = db.unions:get(u, 'parent_id')
    if parent == nil and not db.unions:get(u, 'union_id') then
      error(string.format(gettext('union %s does not exist'), tostring(u)), 2)
    end
    out[#out + 1] = u
    u = parent
  end
  return out
end

-- The member ids of a union and (deep = true) of every union under it.
function registry.union_members(id, deep)
  return sorted_field('members', { union_id = deep and registry.union_subtree(id) or { id } }, 'member_id')
end

-- Resident ID numbers are read by parse.id (core/parse.c: the check
-- character, a real birth date not after the run's day); these two names
-- stay for the programs and fixtures that use them.

-- The check character ('0'-'9' or 'X') for a string of 17 digits.
function registry.id_check_char(first17)
  if type(first17) ~= 'string' or #first17 ~= 17 or first17:find('%D') then
    error(gettext('id_check_char expects a string of 17 digits, got ') .. tostring(first17), 2)
  end
  return parse.mod11_2(first17)
end

-- true when id is a valid ID number exactly as stored (an upper-case X).
function registry.valid_id(id)
  if type(id) ~= 'string' then return false, gettext('is not text') end
  local v, why = parse.id(id)
  if v == nil then return false, why end
  if v ~= id then return false, gettext('is not written as stored (18 characters, an upper-case X)') end
  return true
end

-- 统一社会信用代码 (GB 32100-2015): 18 characters from
-- 0-9 A-H J-N P-R T U W-Y (no I, O, S, V, Z): the registering authority
-- (1-9, A, N, Y), the kind, a 6-digit region code, the 9-character
-- organisation code (GB 11714: 8 characters and a MOD 11 check character,
-- a digit or X) and a MOD 31 check character. true, or false and the reason.
function registry.valid_credit_code(code)
  if type(code) ~= 'string' then return false, gettext('is not text') end
  local ok, _msg, why = parse.credit_code(code) -- core/parse.c: GB 32100 and GB 11714
  if ok then return true end
  return false, why
end

-- Display masks for personal data, by core/pii.c's rule (the `pii` global):
-- '张三丰' -> '张*丰', '王五' -> '王*', ID -> '330481********1234'.
function registry.mask_name(name)
  return pii.mask(name, 'name')
end

function registry.mask_id(id)
  return pii.mask(id, 'id')
end

return registry
