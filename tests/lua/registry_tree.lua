-- registry_tree.lua — scripts/lib/registry.lua: the shared collections
-- (members with union, employment form, household, post type; enterprises;
-- unions as a tree; rest stations) and the tree helpers, on the fixed
-- registry of program_fixtures.lua.
local t = require 'testlib'
local fx = require 'program_fixtures'
local registry = require 'registry'
fx.load()

t.case('the four collections exist and defining them again changes nothing', function()
  local before = t.snapshot()
  registry.define_all()
  t.eq(t.snapshot(), before)
  t.eq({ db.members:count(), db.enterprises:count(), db.unions:count(), db.stations:count() }, { 12, 4, 6, 2 })
end)

t.case('the fixture ID numbers are valid and agree with birth date and gender', function()
  for i, r in ipairs(fx.MEMBERS) do
    local id = fx.id(i)
    t.ok(registry.valid_id(id), id)
    t.eq(id:sub(7, 14), (r[4]:gsub('-', '')))
    t.eq(tonumber(id:sub(17, 17)) % 2 == 1, r[3] == 'M')
  end
end)

t.case('valid_id checks the birth date as well as the check character', function()
  t.ok(registry.valid_id('330481199001081234'))
  local ok, why = registry.valid_id('330481199001011234')
  t.eq(ok, false)
  t.ok(why:find('wrong check character', 1, true), why)
  -- right check characters, impossible birth dates
  for _, d in ipairs{ '19900230', '19901301', '18991231', '20990101', '19900100' } do
    local id17 = '330481' .. d .. '123'
    local id = id17 .. registry.id_check_char(id17)
    ok, why = registry.valid_id(id)
    t.eq(ok, false, id)
    t.ok(why and why:find('impossible birth date', 1, true), why)
  end
  t.eq(registry.valid_id('33048119900108123'), false)
  t.eq(registry.valid_id(330481199001081234), false)
end)

t.case('unified social credit codes (GB 32100): both check characters', function()
  t.ok(registry.valid_credit_code('91350100M000100Y43'))   -- the standard's own example
  local ok, why = registry.valid_credit_code('91350100M000100Y44')
  t.eq(ok, false)
  t.ok(why:find('wrong check character', 1, true), why)
  ok, why = registry.valid_credit_code('91350100M000100Y33')
  t.ok(not ok and why:find('organisation-code check character', 1, true), why)
  ok, why = registry.valid_credit_code('91350100M0001O0Y43')
  t.ok(not ok and why:find("character 14 ('O')", 1, true), why)
  ok, why = registry.valid_credit_code('9135010')
  t.ok(not ok and why:find('has 7 characters', 1, true), why)
  t.raises(function() registry.put_enterprise{ enterprise_id = 9, name = 'x', town = 'y', credit_code = '91350100M000100Y44' } end,
           "enterprise 9: credit_code %(统一社会信用代码%) '91350100M000100Y44' has a wrong check character")
  t.eq(db.enterprises:get(9), nil)
  registry.put_enterprise{ enterprise_id = 9, name = 'x', town = 'y', credit_code = '91350100m000100y43' }
  t.eq(db.enterprises:get(9, 'credit_code'), '91350100M000100Y43')
  db.enterprises:delete(9)
end)

t.case('the union tree: children, subtree, path, members', function()
  t.eq(registry.union_children(1), { 2, 3, 21 })
  t.eq(registry.union_subtree(1), { 1, 2, 11, 3, 12, 21 })
  t.eq(registry.union_subtree(3), { 3, 12 })
  t.eq(registry.union_path(11), { 11, 2, 1 })
  t.eq(registry.union_members(12), { 6, 7, 8, 12 })
  t.eq(registry.union_members(2, true), { 1, 2, 10 })
  t.eq(#registry.union_members(1, true), 12)
  t.raises(function() registry.union_subtree(99) end, 'union 99 does not exist')
  t.raises(function() registry.union_path(99) end, 'union 99 does not exist')
end)

t.case('a joint union covers several enterprises', function()
  t.eq(t.keys(db.enterprises, { union_id = 12 }), { 3, 4 })
end)

t.case('gig workers are members: employment forms and counts', function()
  t.eq(db.members:count_by('employment_form'),
       { standard = 6, new_form = 4, dispatch = 1, flexible = 1 })
  t.ok(registry.EMPLOYMENT_FORMS.new_form)
end)

t.case('a cycle in the tree is reported, not looped on', function()
  t.raises(function()
    db.atomic(function()
      db.unions:update(1, { parent_id = 11 })
      local ok, err = pcall(registry.union_path, 11)
      error(err)
    end)
  end, 'cycle')
  t.eq(db.unions:get(1).parent_id, nil)
end)

t.case('rest stations by town', function()
  t.eq(t.keys(db.stations, { town = '许村镇' }), { 'ST02' })
  t.eq(db.stations:get('ST01').host_org, '工商银行硖石支行')
end)

t.done()
