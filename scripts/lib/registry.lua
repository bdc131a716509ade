-- registry.lua — the shared member registry: collection definitions and
-- resident-ID helpers used by every program.
--
--   local registry = require 'registry'
--   registry.define_members()       -- members (see ../shared BENCHMARKS.md)
--   registry.define_enterprises()   -- enterprises
--   registry.valid_id('33048119900101123X')  --> true / false
--
-- Defining is idempotent: db.define with the same definition does nothing.

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
    },
    unique = { 'id_number' },
    index  = { 'enterprise_id', 'category', { 'town', 'status' } },
  })
end

-- enterprises: employers of members (members.enterprise_id).
function registry.define_enterprises()
  db.define('enterprises', {
    key    = 'enterprise_id',
    fields = {
      enterprise_id = 'int',
      name          = 'string',
      town          = 'string',
      size          = 'int?',     -- number of employees, when known
    },
  })
end

-- Resident ID check character: ISO 7064 MOD 11-2 (GB 11643-1999): the
-- digits weighted 7,9,10,5,8,4,2,1,6,3,7,9,10,5,8,4,2, summed, mod 11,
-- picks one of "10X98765432".
local CHECK = {}
for r = 0, 10 do CHECK[r] = ('10X98765432'):sub(r + 1, r + 1) end

-- The check character ('0'-'9' or 'X') for a string of 17 digits.
function registry.id_check_char(first17)
  if type(first17) ~= 'string' or #first17 ~= 17 or first17:find('%D') then
    error('id_check_char expects a string of 17 digits, got ' .. tostring(first17), 2)
  end
  local a, b, c, d, e, f, g, h, i, j, k, l, m, n, o, p, q = first17:byte(1, 17)
  local sum = a*7 + b*9 + c*10 + d*5 + e*8 + f*4 + g*2 + h*1 + i*6
            + j*3 + k*7 + l*9 + m*10 + n*5 + o*8 + p*4 + q*2
  return CHECK[(sum - 48 * 100) % 11]   -- bytes are '0' (48) + digit; weights sum to 100
end

-- true when id is 17 digits followed by its correct check character.
function registry.valid_id(id)
  if type(id) ~= 'string' or #id ~= 18 or id:sub(1, 17):find('%D') then
    return false
  end
  return registry.id_check_char(id:sub(1, 17)) == id:sub(18)
end

-- Display masks for personal data: '张三丰' -> '张**', ID -> '330481********1234'.
function registry.mask_name(name)
  local first = name:match(utf8.charpattern) or ''
  local rest = (utf8.len(name) or #name) - (first == '' and 0 or 1)
  return first .. string.rep('*', math.max(rest, 1))
end

function registry.mask_id(id)
  return id:sub(1, 6) .. string.rep('*', #id - 10) .. id:sub(-4)
end

return registry
