-- program_fixtures.lua — a small fixed registry for the program tests
-- (registry_*, campaign_*, gift_drive_*, retirement_*): unions, enterprises,
-- stations and twelve members whose every field is chosen by hand.
--
--   local fx = require 'program_fixtures'
--   fx.load()            -- defines the registry and stores the records (once)
--   fx.id(3)             -- member 3's ID number
local registry = require 'registry'
local M = {}

-- member_id, name, gender, birth, town, category, status, household, union, form, post
M.MEMBERS = {
  { 1, '王建国', 'M', '1965-01-15', '硖石街道', 'sanitation',   'active', 'H1', 11, 'standard', nil },
  { 2, '李秀英', 'F', '1970-03-02', '硖石街道', 'sanitation',   'active', 'H1', 11, 'standard', 'worker' },
  { 3, '张伟',   'M', '1988-07-20', '硖石街道', 'courier',      'active', nil,  21, 'new_form', nil },
  { 4, '刘洋',   'M', '1992-11-30', '许村镇',   'gig_delivery', 'active', 'H4', 21, 'new_form', nil },
  { 5, '陈静',   'F', '1975-02-28', '许村镇',   'gig_delivery', 'active', 'H4', 21, 'new_form', 'worker' },
  { 6, '杨帆',   'M', '1980-05-05', '许村镇',   'construction', 'left',   nil,  12, 'dispatch', nil },
  { 7, '赵敏',   'F', '1970-12-31', '长安镇',   'office',       'active', nil,  12, 'standard', 'cadre' },
  { 8, '黄河',   'M', '1964-12-31', '长安镇',   'driver',       'active', nil,  12, 'standard', nil },
  { 9, '周涛',   'M', '1976-09-01', '长安镇',   'driver',       'active', nil,  21, 'flexible', nil },
  { 10, '吴芳',  'F', '1984-11-01', '硖石街道', 'sanitation',   'active', nil,  11, 'standard', 'worker' },
  { 11, '丁一',  'M', '1999-01-01', '硖石街道', 'courier',      'active', nil,  21, 'new_form', nil },
  { 12, '马丽',  'F', '1972-06-10', '长安镇',   'factory',      'retired', nil, 12, 'standard', 'worker' },
}

-- ID number of member i: region 330481, birth date, sequence 10i (+1 for men).
function M.id(i)
  local r = M.MEMBERS[i]
  local body = '330481' .. r[4]:gsub('-', '') .. string.format('%03d', i * 10 + (r[3] == 'M' and 1 or 0))
  return body .. registry.id_check_char(body)
end

M.UNIONS = {
  { union_id = 1,  name = '海宁市总工会', level = 'federation' },
  { union_id = 2,  name = '硖石街道总工会', level = 'town', parent_id = 1, town = '硖石街道' },
  { union_id = 3,  name = '许村镇总工会', level = 'town', parent_id = 1, town = '许村镇' },
  { union_id = 11, name = '海宁环卫公司工会', level = 'enterprise', parent_id = 2, town = '硖石街道' },
  { union_id = 12, name = '长安镇联合工会', level = 'joint', parent_id = 3, town = '长安镇' },
  { union_id = 21, name = '海宁快递物流行业工会', level = 'industry', parent_id = 1 },
}

M.ENTERPRISES = {
  { enterprise_id = 1, name = '海宁环境卫生有限公司', town = '硖石街道', union_id = 11 },
  { enterprise_id = 2, name = '海宁恒达物流有限公司', town = '许村镇', union_id = 21 },
  { enterprise_id = 3, name = '海宁华星纺织有限公司', town = '长安镇', union_id = 12 },
  { enterprise_id = 4, name = '海宁永盛五金有限公司', town = '长安镇', union_id = 12 },
}
local ENT_OF_UNION = { [11] = 1, [21] = 2, [12] = 3 }

M.STATIONS = {
  { station_id = 'ST01', name = '硖石工行驿站', town = '硖石街道', host_org = '工商银行硖石支行', host_union_id = 2 },
  { station_id = 'ST02', name = '许村邮政驿站', town = '许村镇', host_org = '中国邮政许村营业所', host_union_id = 3 },
}

function M.load()
  registry.define_all()
  if db.members:count() > 0 then return end
  db.atomic(function()
    for _, u in ipairs(M.UNIONS) do db.unions:insert(u) end
    for _, e in ipairs(M.ENTERPRISES) do db.enterprises:insert(e) end
    for _, s in ipairs(M.STATIONS) do db.stations:insert(s) end
    for i, r in ipairs(M.MEMBERS) do
      db.members:insert{
        member_id = r[1], name = r[2], gender = r[3], birth_date = r[4], town = r[5],
        category = r[6], status = r[7], household = r[8], union_id = r[9],
        employment_form = r[10], post_type = r[11], id_number = M.id(i),
        phone = string.format('138%08d', i), enterprise_id = ENT_OF_UNION[r[9]] or 2,
        join_date = '2010-01-01',
      }
    end
  end)
end

return M
