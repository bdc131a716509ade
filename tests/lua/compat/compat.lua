#!/usr/bin/env lua5.4
-- compat.lua — what a Lua programmer expects of Lua 5.4, run both by stock
-- lua5.4 and by `gonghui run` (tests/cli/lua_compat.sh compares the two
-- outputs line by line): the behaviours the sandbox has no reason to change.
-- The first line above is itself one of them (a #! line is skipped).
-- A line's text must not depend on the interpreter: where a figure
-- differs by design (the C stack depth left to nested coroutines), only a
-- bound is printed.
local function show(name, ...)
  local t = table.pack(...)
  for i = 1, t.n do t[i] = tostring(t[i]) end
  print(name .. ': ' .. table.concat(t, ' '))
end

-- os.date with no argument is the date in the default format (%c)
show('os.date()', type(os.date()), #os.date() > 0, os.date() == os.date('%c', os.time()) or os.date() == os.date('%c'))
show('os.date("!*t")', type(os.date('!*t')), math.type(os.date('*t').year))

-- yield inside xpcall, as inside pcall
local co = coroutine.wrap(function(a)
  local ok, v = pcall(function() return coroutine.yield(a + 1) end)
  local ok2, w = xpcall(function(x) return coroutine.yield(x * 10) + 1 end, debug.traceback, v)
  return ok, ok2, w
end)
show('yield in pcall/xpcall', co(1), co(5), co(41))
local co2 = coroutine.create(function()
  return xpcall(function() coroutine.yield('y'); error('late', 0) end, function(m) return 'handled ' .. m end)
end)
show('xpcall handler after a yield', coroutine.resume(co2))
show('xpcall handler after a yield', coroutine.resume(co2))

-- coroutine.wrap closes to-be-closed variables when the coroutine fails
local closed = {}
local w = coroutine.wrap(function()
  local a <close> = setmetatable({}, { __close = function(_, e) closed[#closed + 1] = 'a:' .. tostring(e):match('boom') end })
  local b <close> = setmetatable({}, { __close = function() closed[#closed + 1] = 'b' end })
  coroutine.yield(1)
  error('boom')
end)
w()
local ok, e = pcall(w)
show('wrap closes on error', ok, tostring(e):match('boom$'), table.concat(closed, ','))
local r = coroutine.create(function()
  local c <close> = setmetatable({}, { __close = function() closed[#closed + 1] = 'c' end })
  error('bang')
end)
show('resume keeps them for close', coroutine.resume(r) == false, #closed, coroutine.close(r), #closed)

-- nested coroutines: as deep as the C stack allows (stock 5.4.4: 197)
local depth = 0
local function nest()
  depth = depth + 1
  local ok2, err = coroutine.resume(coroutine.create(nest))
  if not ok2 then error(err, 0) end
end
local okd, errd = pcall(nest)
show('nested coroutines', okd, depth >= 180, tostring(errd):match('C stack overflow') or errd)
io.stderr:write('nested coroutine depth: ', depth, '\n')
local wd = 0
local function wnest()
  wd = wd + 1
  coroutine.wrap(wnest)()
end
pcall(wnest)
show('nested wraps', wd >= 180)

-- the standard libraries, by require
show('require std', require 'string' == string, require 'table' == table, require 'math' == math,
     require 'utf8' == utf8, require 'coroutine' == coroutine, require 'os' == os, require 'io' == io,
     require '_G' == _G, package.loaded.string == string, package.loaded._G == _G)
show('utf8 is the library', utf8.char(20250, 21592), utf8.len('会员'))

-- warn exists; its messages go to stderr (compared there by the test)
show('warn', type(warn))
warn('@on')
warn('compat ', 'warning')
warn('@off')
warn('not shown')

-- argument errors name the function
local function msg(f, ...)
  local _, m = pcall(f, ...)
  return (tostring(m):gsub('^[^:]*:%d+: ', ''))
end
local names = {
  msg(string.rep), msg(string.rep, 'x', 'y'), msg(string.format, '%d', 'x'), msg(os.date, '%Ez'),
  msg(os.time, { year = 2025 }), msg(setmetatable, 1), msg(load, 1), msg(select, 0),
  msg(coroutine.resume, 1), msg(coroutine.wrap, 1), msg(xpcall), msg(io.open, 'x', 'rz'),
  msg(math.randomseed, 'x'), msg(table.concat, { {} }), msg(utf8.char, -1), msg(string.char, 256),
}
local unnamed = 0
for _, m in ipairs(names) do
  if m:find("to '?'", 1, true) then unnamed = unnamed + 1; io.stderr:write('unnamed: ', m, '\n') end
end
show('argument errors naming ?', unnamed)
show('string.rep error', msg(string.rep))
show('string.char error', msg(string.char, 256))
show('string.format error', msg(string.format, '%d', 'x'))
show('select error', msg(select, 0))
show('table.concat error', msg(table.concat, { {} }))

-- plain Lua that the sandbox leaves alone
show('integers', math.maxinteger, math.mininteger, 7 // 2, 7.0 // 2, 3 % -2, 1 / 0, math.tointeger(3.0))
show('string.format', string.format('%q', 'a\0b\n'), string.format('%5.1f|%-5d|%x', 3.14159, 42, 255))
show('string.pack', #string.pack('<i4d', 1, 2.5), string.unpack('<i4', string.pack('<i4', -7)))
show('goto and integer for', (function() local s = 0 for i = 1, 3 do if i == 2 then goto c end s = s + i ::c:: end return s end)())
show('table.move/unpack', table.concat(table.move({ 1, 2, 3 }, 1, 3, 2, {}), ',', 2, 4), select('#', table.unpack({ 1, nil, 3 }, 1, 3)))
show('load with env', load('return x', 'c', 't', { x = 42 })())
show('metamethods', setmetatable({}, { __index = function(_, k) return k .. '!' end }).hi, #setmetatable({}, { __len = function() return 9 end }))
show('utf8.codes', (function() local t = {} for p, c in utf8.codes('工会') do t[#t + 1] = p .. ':' .. c end return table.concat(t, ' ') end)())
show('gsub/gmatch', ('a1b22c333'):gsub('%d+', function(d) return #d end), (function() local n = 0 for _ in ('x y z'):gmatch('%a') do n = n + 1 end return n end)())
show('pcall error objects', select(2, pcall(error, { code = 7 })).code, select(2, pcall(error)))
show('tostring(nil, true)', tostring(nil), tostring(true), math.type(1), math.type(1.0))
show('coroutine.running', select(2, coroutine.running()), coroutine.isyieldable())
show('close in a block', (function() local log = {} do local _ <close> = setmetatable({}, { __close = function() log[#log + 1] = 'closed' end }) log[#log + 1] = 'body' end return table.concat(log, ',') end)())
show('integer division by zero', (select(2, pcall(function() return 1 // 0 end)):gsub('^.-:%d+: ', '')))
-- the wrapped functions behave as the originals
show('os.time{...}', os.time{ year = 2025, month = 1, day = 29, hour = 12 } - os.time{ year = 2025, month = 1, day = 28, hour = 12 })
show('os.date(fmt, t)', os.date('!%Y-%m-%d %H:%M:%S', 86400 * 365), os.date('!*t', 0).year, os.date('!%j', 86400 * 40))
show('os.difftime', os.difftime(10, 4), type(os.clock()))
show('load(function)', load(coroutine.wrap(function() coroutine.yield('return ') coroutine.yield('6 * 7') end))())
show('load syntax error', select(2, load('x = ', '=chunk')))
show('load mode b refused', (load('return 1', 'c', 'b')))
show('io.write returns the file', io.write('') == io.stdout)
show('select negative', select(-1, 'a', 'b', 'c'))
show('math', math.floor(-3.5), math.ceil(-3.5), math.fmod(-7, 3), math.abs(math.mininteger), math.ult(1, -1))
show('tostring -0.0', tostring(-0.0), 0.1 + 0.2 == 0.3, 2^53 == 2^53 + 1, 7 // 0.0)
show('string coercion', '10' + 5, 10 .. 20, math.type('10' * 1), (select(2, pcall(function() return 'a' + 1 end)):gsub('^.-:%d+: ', '')))
show('table.sort bad order', (select(2, pcall(table.sort, { 3, 1, 2, 5, 4, 7, 6, 9, 8, 10, 11, 12, 13, 14, 15, 16 }, function() return true end)) or ''):match('invalid order function') ~= nil)
show('error levels', select(2, pcall(function() local function f() error('lvl', 2) end f() end)):match(':%d+: lvl$') ~= nil, select(2, pcall(error, 'plain', 0)))
show('varargs', (function(...) return select('#', ...), ... end)(nil, nil))
show('closures', (function() local t = {} for i = 1, 3 do t[i] = function() return i end end return t[1]() + t[3]() end)())
show('integer overflow wraps', math.maxinteger + 1 == math.mininteger, 1 << 63 == math.mininteger)
show('string.format %a %g %i', string.format('%g %g %i %5.2s|', 1e20, 0.1, 3, 'abc'))
show('utf8 errors', pcall(utf8.codepoint, '\xff'), utf8.len('\xe4\xb8'))
show('coroutine.status', coroutine.status(coroutine.create(print)), (function() local c c = coroutine.create(function() return coroutine.status(c) end) return select(2, coroutine.resume(c)) end)())
show('close on error', (function() local log = {} pcall(function() local _ <close> = setmetatable({}, { __close = function(_, e) log[#log + 1] = tostring(e):match('oops') end }) error('oops') end) return log[1] end)())
show('goto continue', (function() local n = 0 for i = 1, 5 do if i % 2 == 0 then goto continue end n = n + i ::continue:: end return n end)())
show('string.rep with sep', ('ab'):rep(3, ','), ('x'):rep(0), ('x'):rep(-1))
show('string.byte/char', ('工'):byte(1, -1), string.char(72, 105))
show('tonumber bases', tonumber('ff', 16), tonumber('z', 36), tonumber('8', 8), tonumber(' 0x10 '), tonumber('1e1'))
show('next after a change', pcall(next, {}, 'nokey'))
print('end')
