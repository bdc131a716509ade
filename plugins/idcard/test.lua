-- plugins/idcard/test.lua — the idcard plugin through Lua (ctest: plugin_idcard).
-- Found in the build's plugin folder, as scripts find it.
local idcard = require 'idcard'
local t = require 'testlib' -- tests/lua/testlib.lua (run_one.sh gives plugin tests its folder)
local case, eq, raises = t.case, t.eq, t.raises_all

-- GB 11643-1999's own example, and numbers made with the algorithm
local example = '11010519491231002X'

case("the standard's example validates", function()
  eq(idcard.valid(example), true, 'valid')
  eq(idcard.problem(example), nil, 'no problem')
  eq(idcard.check_char('11010519491231002'), 'X', 'check character X stands for 10')
  eq(idcard.check_char(example), 'X', 'from 18 characters too')
  eq(idcard.valid('11010519491231002x'), true, 'a lower-case x is accepted')
end)

case('check characters: ISO 7064 MOD 11-2 over every digit position', function()
  local base = '33048119900307001'
  local c = idcard.check_char(base)
  eq(idcard.valid(base .. c), true, 'its own check character')
  for i = 1, 17 do -- changing any one digit changes the check character
    local d = tonumber(base:sub(i, i))
    local other = base:sub(1, i - 1) .. ((d + 1) % 10) .. base:sub(i + 1)
    if other:sub(1, 2) == '33' and other:sub(7, 14) == '19900307' then
      eq(idcard.valid(other .. c), false, 'digit ' .. i .. ' changed')
    end
  end
  local wrong = c == '1' and '2' or '1'
  local why = idcard.problem(base .. wrong)
  assert(why:find('wrong check character', 1, true), why)
  assert(why:find('the first 17 digits give ' .. c, 1, true), why)
end)

case('birth date, gender, region and province', function()
  eq(idcard.birth(example), '1949-12-31', 'birth')
  eq(idcard.gender(example), 'female', '002: even is a woman')
  local man = '33048119900307001' .. idcard.check_char('33048119900307001')
  eq(idcard.gender(man), 'male', '001: odd is a man')
  eq(idcard.region(man), '330481', 'region code')
  eq(idcard.province(man), '浙江', 'province')
  eq(idcard.province(example), '北京', 'province')
end)

case('impossible dates and unknown provinces are not valid', function()
  local function with(first17) return first17 .. idcard.check_char(first17) end
  eq(idcard.valid(with('33048119900230001')), false, 'February 30')
  eq(idcard.valid(with('33048120000229001')), true, '2000-02-29 (leap)')
  eq(idcard.valid(with('33048119000229001')), false, '1900-02-29 (not leap)')
  eq(idcard.valid(with('33048129990101001')), false, 'a birth date in the future')
  assert(idcard.problem(with('33048119901301001')):find('impossible birth date (1990-13-01', 1, true))
  eq(idcard.valid(with('99048119900307001')), false, 'province 99')
  assert(idcard.problem(with('99048119900307001')):find('no province', 1, true))
  raises(function() return idcard.birth('3304811990130100') end, 'idcard.birth:')
end)

case('15-digit numbers: refused as they are, upgraded to 18', function()
  local old = '110105491231002'
  eq(idcard.valid(old), false, '15 digits are not enough')
  assert(idcard.problem(old):find('15 digits', 1, true))
  eq(idcard.upgrade(old), example, 'the upgrade gives the 18-character number')
  eq(idcard.birth(old), '1949-12-31', 'birth of a 15-digit number')
  eq(idcard.gender(old), 'female')
  raises(function() return idcard.upgrade(example) end, "is not a first-generation number")
  raises(function() return idcard.check_char(old) end, 'upgrade it first')
end)

case('Excel damage is recognised and explained', function()
  local sci = idcard.excel_damage('3.30481E+17')
  assert(sci and sci:find('scientific', 1, true) == nil and sci:find('Excel turned', 1, true), sci)
  eq(idcard.valid('3.30481E+17'), false)
  assert(idcard.problem('3.30481E+17'):find('format the column as Text', 1, true))
  assert(idcard.excel_damage('330481199003070011.0'):find('decimal part', 1, true))
  -- Excel keeps 15 significant digits: the last three become 000
  local good = '33048119900307001' .. idcard.check_char('33048119900307001')
  local zeroed = good:sub(1, 15) .. '000'
  if zeroed ~= good then
    assert(idcard.excel_damage(zeroed):find('ends in 000', 1, true))
    assert(idcard.problem(zeroed):find('Excel kept only its first 15 digits', 1, true))
  end
  eq(idcard.excel_damage(good), nil, 'a good number is not damaged')
  eq(idcard.excel_damage(example), nil)
  eq(idcard.excel_damage('abc'), nil, 'not a number at all is not Excel damage')
end)

case('malformed input: length, characters', function()
  eq(idcard.valid(''), false)
  eq(idcard.valid('1101051949123100'), false)
  eq(idcard.valid('11010519491231002Y'), false)
  eq(idcard.valid('11010519491231002X1'), false)
  assert(idcard.problem('1101051949123100'):find('has 16 characters', 1, true))
  assert(idcard.problem('1101051949123100AX'):find('17 digits followed by a digit or X', 1, true))
end)

case('masking for display', function()
  eq(idcard.mask(example), '110105********002X')
  eq(idcard.mask('123'), '***', 'short values are hidden whole')
end)

case('argument checks name the plugin and function', function()
  raises(function() return idcard.valid(110105) end, 'idcard.valid: argument #1 expects str, got number')
  raises(function() return idcard.birth() end, 'idcard.birth: expects 1 argument, got 0')
end)

t.done()
