-- fixture.lua — the registry of the serve tests:
--
--   union 1 海宁市总工会 (federation)
--     union 2 硖石街道总工会 (town)      union 4 某快递企业工会 (enterprise, under 2)
--     union 3 许村镇总工会 (town)
--
-- params.members members (default 40): odd member_ids in union 4 (town 硖石),
-- even ones in union 3 (town 许村); every tenth is a factory worker (not
-- eligible for the drive), the rest couriers. ID numbers are
-- 330481 1990 01 01 + a 3-digit sequence + check character, so a test can
-- compute member k's ID number: id_of(k).
local registry = require 'registry'
registry.define_all()
local n = tonumber(params.members) or 40

local function id_of(k)
  local body = string.format('33048119900101%03d', k % 1000)
  body = body:sub(1, 17)
  return body .. registry.id_check_char(body)
end

db.atomic(function()
  db.unions:put{ union_id = 1, name = '海宁市总工会', level = 'federation' }
  db.unions:put{ union_id = 2, name = '硖石街道总工会', level = 'town', parent_id = 1, town = '硖石街道' }
  db.unions:put{ union_id = 3, name = '许村镇总工会', level = 'town', parent_id = 1, town = '许村镇' }
  db.unions:put{ union_id = 4, name = '某快递企业工会', level = 'enterprise', parent_id = 2, town = '硖石街道' }
  for k = 1, n do
    local odd = k % 2 == 1
    db.members:put{
      member_id = k, name = (odd and '张' or '李') .. '三' .. (k % 10 == 0 and '丰' or ''),
      id_number = id_of(k), phone = string.format('138%08d', k), gender = 'M',
      birth_date = '1990-01-01', enterprise_id = 1, town = odd and '硖石街道' or '许村镇',
      category = k % 10 == 0 and 'factory' or 'courier', join_date = '2015-01-01',
      status = 'active', union_id = odd and 4 or 3,
    }
  end
end)
print('fixture: ' .. n .. ' members')
