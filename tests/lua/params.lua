-- params.lua — name=value parameters of `gonghui run` arrive in `params`;
-- numbers become numbers. (run_one.sh passes the line below to `run`.)
-- params: year=2025 rate=1.5 neg=-3 name=李娜 code=007x empty= expr=a=b big=9007199254740993
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
  local n = 0
  for _ in pairs(params) do n = n + 1 end
  t.eq(n, 8)
end)

t.case('params are usable as keys and values', function()
  db.define('years', { key = 'year', fields = { year = 'int', who = 'string' } })
  db.years:insert{ year = params.year, who = params.name }
  t.eq(db.years:get(2025, 'who'), '李娜')
end)

t.done()
