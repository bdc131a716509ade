-- sandbox_env.lua — the environment a script runs in (sandbox.c): what is
-- absent, what is guarded, what the host provides. Each case fails if the
-- protection it names is taken away.
local t = require 'testlib'

t.case('dangerous functions are absent', function()
  t.eq(os.execute, nil, 'os.execute')
  t.eq(os.exit, nil, 'os.exit')
  t.eq(os.remove, nil, 'os.remove')
  t.eq(os.rename, nil, 'os.rename')
  t.eq(os.getenv, nil, 'os.getenv')
  t.eq(io.popen, nil, 'io.popen')
  t.eq(io.output, nil, 'io.output')
  t.eq(package.loadlib, nil, 'package.loadlib')
  t.eq(package.searchers, nil, 'package.searchers')
  t.eq(string.dump, nil, 'string.dump')
  t.eq(debug.getinfo, nil, 'debug.getinfo')
  t.eq(debug.sethook, nil, 'debug.sethook')
  t.eq(debug.setmetatable, nil, 'debug.setmetatable')
  t.eq(debug.getregistry, nil, 'debug.getregistry')
  t.eq(type(debug.traceback), 'function', 'debug.traceback stays')
end)

t.case('an unknown global raises an error naming it', function()
  t.raises_all(function() return totl + 1 end, { "unknown global 'totl'" })
  t.raises_all(function() return dofilee end, { "'dofilee'" })
  -- assigning first is fine
  my_global = 5
  t.eq(my_global, 5)
  my_global = nil
  t.raises(function() setmetatable(_G, nil) end, 'protected metatable')
end)

t.case('load accepts source text only', function()
  local f = load('return 6 * 7')
  t.eq(f(), 42)
  local bytecode = '\27Lua\84\0\25\147\13\10\26\10\4\8\8\120\86\0\0'
  local fn, err = load(bytecode)
  t.eq(fn, nil, 'bytecode refused')
  t.ok(err:find('binary'), err)
  fn, err = load(bytecode, 'x', 'b')
  t.eq(fn, nil, 'mode b refused')
  fn, err = load(bytecode, 'x', 'bt')
  t.eq(fn, nil, 'mode bt refused')
  -- an environment given to load is used
  t.eq(load('return x', 'c', 't', { x = 9 })(), 9)
end)

t.case('the string metatable and library cannot be changed', function()
  t.eq(getmetatable(''), false, 'getmetatable of a string is protected')
  t.raises(function() string.upper = function() return 'pwned' end end, 'read%-only')
  t.raises(function() string.newfn = print end, 'read%-only')
  t.raises(function() rawset(string, 'upper', print) end, 'read%-only')
  t.eq(('abc'):upper(), 'ABC')
  -- the library still iterates
  local n = 0
  for _ in pairs(string) do n = n + 1 end
  t.ok(n > 10, 'pairs(string) lists the functions')
end)

t.case('__gc finalizers are refused (they run with hooks off)', function()
  t.raises(function() setmetatable({}, { __gc = function() while true do end end }) end, '__gc')
  t.eq(getmetatable(setmetatable({}, { __index = {} })).__gc, nil)
end)

t.case('string.rep is capped', function()
  t.raises(function() return string.rep('x', 1 << 40) end, 'over the limit')
  t.raises(function() return ('ab'):rep(1 << 30, ',') end, 'over the limit')
  t.eq(('ab'):rep(3, ','), 'ab,ab,ab')
end)

t.case('require and loadfile stay in the module folders', function()
  t.raises(function() require '../etc/passwd' end, 'module name')
  t.raises(function() require '/etc/passwd' end, 'module name')
  t.raises(function() require 'no.such.module' end, "module 'no.such.module' not found")
  package.path = '/etc/?'
  t.raises(function() require 'passwd' end, 'not found')
  local f, err = loadfile('/etc/passwd')
  t.eq(f, nil)
  t.ok(err:find('not in the script'), err)
  t.raises(function() dofile('/etc/hostname') end, 'not in the script')
  t.eq(require('testlib'), t, 'modules are cached')
end)

t.case('files are written only in the output folder', function()
  t.raises(function() io.open('/tmp/gonghui_sandbox_test', 'w') end, 'output folder')
  t.raises(function() io.open('../escape.txt', 'w') end, 'output folder')
  t.raises(function() run.open('../x') end, 'plain file name')
  local f = assert(run.open('report.txt'))
  f:write('ok')
  f:close()
  t.eq(io.open('report.txt'):read('a'), 'ok')
end)

t.case('math.random and the clock come from the host', function()
  t.eq(math.type(run.seed), 'integer')
  math.randomseed()              -- no argument: the run's seed again, not the clock
  local a = { math.random(1 << 30), math.random(1 << 30) }
  math.randomseed()
  t.eq({ math.random(1 << 30), math.random(1 << 30) }, a, 'randomseed() replays the run seed')
  -- the run clock starts at run.now and advances with the wall clock; how
  -- far it has got depends on the machine's load, so only its direction is checked
  local now = os.time()
  t.ok(now >= run.now and now - run.now < 3600, 'os.time() is the run clock')
  t.eq(os.date('%Y', 0) ~= nil, true)
  t.eq(os.date('%Y-%m-%d'), os.date('%Y-%m-%d', os.time()))
end)

t.case('system collections are out of reach', function()
  db.define('visible', { fields = { a = 'int' } })
  t.eq(db.collections(), { 'visible' }, 'only the script\'s own collections are listed')
  for _, n in ipairs(db.collections()) do t.ok(n:sub(1, 1) ~= '_', 'listed ' .. n) end
  t.raises(function() return db._runs:count() end, 'system collection')
  t.raises(function() db.drop('_runs') end, 'system collection')
  t.raises(function() db.define('_runs', { fields = { a = 'int' } }) end, "'_runs'")
end)

t.done()
