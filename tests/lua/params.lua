-- params.lua — name=value parameters of `gonghui run` arrive in `params`;
-- a number written as Lua prints it becomes that number; other text stays text. (run_one.sh passes the line below to `run`.)
-- params: year=2025 rate=1.5 neg=-3 name=李娜 code=007x empty= expr=a=b big=9007199254740993 zip=007 card=9558801234567890123 price=12.50 sci=1e3
local t = require 'testlib'

t.case('params', function()
  t.eq(type(params), 'table')
  t.eq(params.year, 2025)
  t.eq(math.type(params.year), 'integer')
  t.eq(params.rate, 1.5)
  t.eq(math.type(params.rate), 'float')
  t.eq(params.neg, -3)
  t.eq(params.name, '李娜')
  t.eq(params.code, '007x')
  t.eq(params.empty, '')
  t.eq(params.expr, 'a=b')
  t.eq(params.big, 9007199254740993)
  t.eq(math.type(params.big), 'integer')
  t.eq(params.missing, nil)
  -- text that would not print back as written keeps its text
  t.eq(params.zip, '007')
  t.eq(params.card, "9558801234567890123")
  t.eq(params.price, '12.50')
  t.eq(params.sci, '1e3')
  local n = 0
  for _ in pairs(params) do n = n + 1 end
  t.eq(n, 12)
end)

t.case('params are usable as keys and values', function()
  db.define('years', { key = 'year', fields = { year = 'int', who = 'string' } })
  db.years:insert{ year = params.year, who = params.name }
  t.eq(db.years:get(2025, 'who'), '李娜')
end)

t.done()
