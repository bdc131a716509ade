-- test.lua — the example plugin from a script: gonghui --plugins . run test.lua
local hello = require 'hello'
assert(hello.greet('工会') == '你好, 工会', hello.greet('工会'))
assert(hello.share(10000, 3) == 3333)
local ok, err = pcall(hello.share, 100, 0)
assert(not ok and err:find('hello.share: people must be 1 or more'), tostring(err))
print('hello plugin: ok')
