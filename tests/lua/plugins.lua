-- plugins.lua — native plugins from Lua (lua_plugin.c, plugin.c, ghffi.c)
-- with the test plugins of tests/plugins/ (GONGHUI_PLUGIN_PATH is set by
-- its ctest entry, lua_plugins, registered in tests/plugins/CMakeLists.txt).
-- Every refusal the issue lists, each with a clear message and nothing
-- left loaded; every type of the signature language; argument checks.
local t = require 'testlib'

local function loaded_names()
  local names = {}
  for _, p in ipairs(plugin.loaded()) do names[#names + 1] = p.name end
  table.sort(names)
  return table.concat(names, ',')
end

t.case('every type crosses: integers, floats, bool, str, bytes, void', function()
  local g = plugin.load 'good'
  t.eq(g.add(2, 3), 5)
  t.eq(math.type(g.add(2, 3)), 'integer')
  t.eq(g.add(math.maxinteger, 0), math.maxinteger)
  t.eq(g.add(-7, 2.0), -5, 'a float with an integer value is an integer')
  t.eq(g.neg32(2147483647), -2147483647)
  t.eq(g.neg32(-2147483648), -2147483648, 'INT32_MIN negated wraps')
  t.eq(g.id_u32(4294967295), 4294967295)
  t.eq(g.id_u64(math.maxinteger), math.maxinteger)
  t.eq(g.max_u64(), 18446744073709551615.0, 'u64 above 2^63-1 becomes a float')
  t.eq(g.half(3), 1.5)
  t.eq(g.half(-0.5), -0.25)
  t.eq(g.not_(false), true)
  t.eq(g.not_(true), false)
  t.eq(g.upper('abc 工会'), 'ABC 工会')
  t.eq(g.nothing('x'), nil, 'a NULL str is nil')
  t.eq(g.blen('a\0b\0'), 4, 'bytes carry NULs and their length')
  t.eq(g.rev('a\0bc'), 'cb\0a')
  t.eq(g.rev(''), '', 'empty bytes')
  t.eq(select('#', g.touch()), 0, 'void returns nothing')
  t.eq(g.mixed(1, 2, 3, 4, 5.5, true, 'abc', 'xy', 10), 1030.5, 'nine arguments of every type')
  t.eq(g.sum16(1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16), 136, '16 arguments')
end)

t.case('the same plugin twice is the same table; require finds it too', function()
  local a = plugin.load 'good'
  t.ok(plugin.load 'good' == a)
  t.ok(require 'good' == a, 'require')
  t.eq(package.loaded.good, a)
  local before = a.count()
  a.add(1, 1)
  t.eq(a.count(), before + 1, 'one copy of the plugin state')
end)

t.case('plugin.loaded lists names, versions and canonical signatures', function()
  plugin.load 'good'
  local info
  for _, p in ipairs(plugin.loaded()) do
    if p.name == 'good' then info = p end
  end
  t.ok(info, 'good is listed')
  t.eq(info.version, '1.2.3')
  t.eq(info.functions.add, 'i64(i64,i64)')
  t.eq(info.functions.nothing, 'str(str)', 'spaces dropped')
  t.eq(info.functions.count, 'i64()', '(void) is ()')
  t.eq(info.functions.checked, 'str(str,err)')
end)

t.case('error-out: the message becomes a Lua error naming plugin and function', function()
  local g = plugin.load 'good'
  t.eq(g.checked('fine'), 'ok fine')
  local msg = t.raises_all(function() return g.checked('bad') end,
                           { "good.checked: no good: 'bad'" })
  t.ok(msg:find('plugins.lua:%d+:'), 'the caller\'s line: ' .. msg)
  t.eq(g.checked('again'), 'ok again', 'the next call is clean')
end)

t.case('wrong number of arguments', function()
  local g = plugin.load 'good'
  t.raises_all(function() return g.add(1) end,
               { 'good.add: expects 2 arguments, got 1 (signature i64(i64,i64))' })
  t.raises_all(function() return g.add(1, 2, 3) end, { 'good.add: expects 2 arguments, got 3' })
  t.raises_all(function() return g.count(1) end, { 'good.count: expects 0 arguments, got 1' })
  t.raises_all(function() return g.checked() end,
               { 'good.checked: expects 1 argument, got 0 (signature str(str,err))' })
end)

t.case('wrong argument types name the argument and the type expected', function()
  local g = plugin.load 'good'
  t.raises_all(function() return g.add(1, 'x') end,
               { 'good.add: argument #2 expects i64, got string' })
  t.raises_all(function() return g.add(nil, 1) end, { 'argument #1 expects i64, got nil' })
  t.raises_all(function() return g.add(1.5, 1) end,
               { 'argument #1 expects i64, got 1.5 (not a whole number)' })
  t.raises_all(function() return g.neg32(2 ^ 31 | 0) end,
               { 'good.neg32: argument #1 expects i32, got 2147483648 (out of range)' })
  t.raises_all(function() return g.id_u32(-1) end, { 'argument #1 expects u32, got -1' })
  t.raises_all(function() return g.id_u64(-1) end, { 'argument #1 expects u64, got -1' })
  t.raises_all(function() return g.half('1') end,
               { 'good.half: argument #1 expects f64, got string' })
  t.raises_all(function() return g.not_(0) end, { 'good.not_: argument #1 expects bool, got number' })
  t.raises_all(function() return g.upper(12) end, { 'good.upper: argument #1 expects str, got number' })
  t.raises_all(function() return g.upper('a\0b') end,
               { 'argument #1 expects str, got a string with a NUL byte inside (use bytes)' })
  t.raises_all(function() return g.blen({}) end, { 'good.blen: argument #1 expects bytes, got table' })
  t.raises_all(function() return g.mixed(1, 2, 3, 4, 5, true, 'a', 'b', 'x') end,
               { 'good.mixed: argument #9 expects i64, got string' })
end)

t.case('a function the plugin does not have is an error, not nil', function()
  local g = plugin.load 'good'
  t.raises_all(function() return g.ad end, { "plugin 'good' has no function 'ad' (it has: add," })
end)

local refusals = {
  { 'nomain', "plugin 'nomain':", 'has no entry point gh_plugin_init' },
  { 'newer', "plugin 'newer' refused:", 'built for plugin API 2.0 and this gonghui provides API 1.4' },
  { 'newminor', "plugin 'newminor' refused:", 'built for plugin API 1.5, newer than' },
  { 'failinit', "plugin 'failinit' failed to start:", 'the licence file /etc/failinit.key is missing' },
  { 'silentfail', "plugin 'silentfail' failed to start:", 'gave no reason' },
  { 'dup', "plugin 'dup' refused:", "declares function 'one' twice" },
  { 'badsig', "plugin 'badsig' refused:", "function 'two': signature \"i64(str\": expected ',' or ')' at character 8" },
  { 'unktype', "plugin 'unktype' refused:", "unknown type 'int' at character 1", 'types: void bool' },
  { 'errnotlast', "plugin 'errnotlast' refused:", 'err must be the last argument' },
  { 'badname', "plugin 'badname' refused:", "function name 'no-dash' is not a name" },
  { 'badpattern', "plugin 'badpattern' refused:", 'subscribe:', 'award..issued' },
  { 'nobegin', "plugin 'nobegin' refused:", 'before calling gh_plugin_begin' },
  { 'wrongname', "plugin 'wrongname' refused:", "calls itself 'somethingelse'" },
}

for _, r in ipairs(refusals) do
  t.case('refused: ' .. r[1] .. ', nothing left loaded', function()
    local before = loaded_names()
    local subs = { table.unpack(r, 2) }
    t.raises_all(function() return plugin.load(r[1]) end, subs)
    t.eq(loaded_names(), before, 'no trace in plugin.loaded()')
    t.raises_all(function() return plugin.load(r[1]) end, subs, 'refused again, the same way')
    t.raises_all(function() return require(r[1]) end, subs, 'require says the same')
    t.eq(package.loaded[r[1]], nil, 'not in package.loaded')
  end)
end

t.case('names with a path in them are refused before any file is touched', function()
  for _, name in ipairs { '../good', 'so/good', '/tmp/good', 'good.so', '.', '', 'a b' } do
    t.raises_all(function() return plugin.load(name) end,
                 { "plugin '" .. name .. "': a plugin name is letters, digits, '_' and '-'",
                   'plugins load only from the plugin path' }, name)
  end
  t.raises(function() return plugin.load() end, 'string expected')
end)

t.case('a missing plugin lists where it looked; require falls back to modules', function()
  t.raises_all(function() return plugin.load 'nosuch' end,
               { "plugin 'nosuch' not found in the plugin path", "no file '", 'nosuch.so' })
  t.raises_all(function() return require 'nosuch' end, { "module 'nosuch' not found" })
end)

t.case('C event handlers run in the bus dispatch; their errors roll back', function()
  local g = plugin.load 'good'
  local n0 = g.events()
  bus.publish('award.issued', { member_id = 1 })
  t.eq(g.events(), n0 + 1, 'called once')
  -- the payload arrives as MessagePack: {member_id=1} is 0x81 0xa9 'member_id' 0x01
  t.eq(g.last_event(), 'award.issued:12:logged')
  bus.emit('award.signal', 'hi')
  t.eq(g.last_event(), 'award.signal:3:emitted', 'bus.emit too')
  bus.publish('member.joined', {})
  t.eq(g.events(), n0 + 2, 'other topics are not delivered')
  local last = bus.last()
  t.raises_all(function()
    db.atomic(function() bus.publish('award.refused', { member_id = 2 }) end)
  end, { "(plugin good, on 'award.*') failed: award refused by good" })
  t.eq(bus.last(), last, 'the event was rolled back')
  local info
  for _, p in ipairs(plugin.loaded()) do if p.name == 'good' then info = p end end
  t.eq(info.events, { 'award.*' })
end)

t.case('plugin memory goes through the host and is counted', function()
  local g = plugin.load 'good'
  local m0 = plugin.memory()
  t.ok(g.hold(1000000), 'allocated')
  t.ok(plugin.memory() >= m0 + 1000000, 'counted: ' .. plugin.memory())
  t.eq(g.hold(0), false, 'freed (hold(0) keeps nothing)')
  t.eq(plugin.memory(), m0)
  t.eq(g.hold(1 << 50), false, 'an allocation over the limit fails cleanly')
  g.hold(4096) -- kept until the state closes: the unload hook frees it
end)

t.case('plugin functions survive many calls (strings freed by the host)', function()
  local g = plugin.load 'good'
  local m0 = plugin.memory()
  for i = 1, 20000 do
    assert(g.upper('x' .. i) == 'X' .. i)
    assert(g.rev('ab') == 'ba')
    pcall(g.checked, 'bad')
  end
  t.eq(plugin.memory(), m0, 'no plugin memory kept')
end)

t.done()
