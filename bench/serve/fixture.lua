-- fixture.lua — the registry of the serve benchmark: the union tree of
-- tests/serve/fixture.lua and params.members couriers (default 100000),
-- half in town A (union 4, under 2), half in town B (union 3), each with a
-- unique, valid ID number; run.open('ids.txt') gets the ID numbers, one a
-- line, for wrk's scripts.
local registry = require 'registry'
registry.define_all()
local n = tonumber(params.members) or 100000

local function id_of(k)
  -- 330481 + a birth date (a day from 1960 on) + a 3-digit sequence
  local day = os.date('!%Y%m%d', -315619200 + (k // 1000) * 86400)
  local body = '330481' .. day .. string.format('%03d', k % 1000)
  return body .. registry.id_check_char(body)
end

db.atomic(function()
  db.unions:put{ union_id = 1, name = '海宁市总工会', level = 'federation' }
  db.unions:put{ union_id = 2, name = '硖石街道总工会', level = 'town', parent_id = 1, town = '硖石街道' }
  db.unions:put{ union_id = 3, name = '许村镇总工会', level = 'town', parent_id = 1, town = '许村镇' }
  db.unions:put{ union_id = 4, name = '某快递企业工会', level = 'enterprise', parent_id = 2, town = '硖石街道' }
end)
local f = run.open('ids.txt', 'w')
local k = 1
while k <= n do
  db.atomic(function()
    for j = k, math.min(k + 4999, n) do
      local odd = j % 2 == 1
      local idn = id_of(j)
      db.members:insert{
        member_id = j, name = (odd and '张' or '李') .. '三', id_number = idn,
        phone = string.format('138%08d', j), gender = 'M', birth_date = '1990-01-01',
        enterprise_id = 1, town = odd and '硖石街道' or '许村镇', category = 'courier',
        join_date = '2015-01-01', status = 'active', union_id = odd and 4 or 3,
      }
      f:write(idn, '\n')
    end
  end)
  k = k + 5000
end
f:close()
print('fixture: ' .. n .. ' members')
