-- pii.lua — personal data declared in definitions (core/pii.c): the kinds a
-- definition declares win over the name-based guess, schema().pii lists
-- them, export.* masks what is hidden by default, the `pii` global masks
-- the way every program's public list does, and bad declarations are
-- refused naming the field and the value.
local t = require 'testlib'

t.case('declared kinds, the guess, and false', function()
  db.define('payees', {
    key = 'payee_id',
    fields = {
      payee_id = 'int',
      holder = { type = 'string', pii = 'name' },
      acct = { type = 'string', pii = 'bank' },
      cellphone = 'string',                      -- guessed: a phone
      hotline = { type = 'string', pii = 'phone' },
      tel = { type = 'string', pii = false },    -- the union's public number: not personal
      home = { type = 'string?', pii = 'address' },
      note = 'string?',
    },
  })
  local sc = db.payees:schema()
  t.eq(sc.pii, { holder = 'name', acct = 'bank', cellphone = 'phone', hotline = 'phone',
                 home = 'address' })
  -- the same definition again changes nothing; a changed declaration is a changed definition
  db.define('payees', {
    key = 'payee_id',
    fields = {
      payee_id = 'int', holder = { type = 'string', pii = 'name' },
      acct = { type = 'string', pii = 'bank' }, cellphone = 'string',
      hotline = { type = 'string', pii = 'phone' }, tel = { type = 'string', pii = false },
      home = { type = 'string?', pii = 'address' }, note = 'string?',
    },
  })
  t.eq(db.payees:schema().pii.acct, 'bank')
end)

t.case('a declaration that names no kind is refused, naming field and value', function()
  t.unchanged(function()
    db.define('bad', { key = 'k', fields = { k = 'int', x = { type = 'string', pii = 'idcard' } } })
  end, { "field 'x' declares pii = string \"idcard\"", "'id', 'phone', 'name', 'bank', 'address'" })
  t.unchanged(function()
    db.define('bad', { key = 'k', fields = { k = 'int', x = { type = 'string', pii = 3 } } })
  end, { "field 'x' declares pii = 3" })
end)

t.case('pii.mask and pii.kind', function()
  t.eq(pii.mask('张三明', 'name'), '张*明')
  t.eq(pii.mask('330481199001011236', 'id'), '330481********1236')
  t.eq(pii.mask(13800001111, 'phone'), '138****1111')
  t.eq(pii.mask(nil, 'phone'), nil)
  t.eq(pii.kind('身份证号码'), 'id')
  t.eq(pii.kind('name'), nil)
  t.eq(pii.hidden('bank'), true)
  t.eq(pii.hidden('name'), false)
  t.raises(function() pii.mask('x', 'passport') end, "unknown kind 'passport'")
  t.raises(function() pii.mask({}, 'id') end, 'string or number expected')
end)

t.case('export masks what the definition hides; pii = false stays whole', function()
  db.payees:insert{ payee_id = 1, holder = '张三明', acct = '6222021234567890123',
                    cellphone = '13800001111', hotline = '057382345678', tel = '0573-12345',
                    home = '浙江省嘉兴市南湖区建设街道1号' }
  export.csv(db.payees, 'payees.csv') -- a collection (or its rows): its definition's kinds
  local f = assert(io.open((run.out or '.') .. '/payees.csv'))
  local text = f:read('a')
  f:close()
  t.ok(text:find('6222***********0123', 1, true), 'bank account masked: ' .. text)
  t.ok(text:find('138****1111', 1, true), 'guessed phone masked')
  t.ok(text:find('057*****5678', 1, true), 'declared phone masked')
  t.ok(text:find('0573-12345', 1, true), 'pii = false shown whole')
  t.ok(text:find('张三明', 1, true), 'names are shown to clerks (masked in public lists)')
  t.ok(not text:find('6222021234567890123', 1, true), 'no whole bank account')
  -- plain tables carry no definition: the name-based guess
  export.csv({ { cellphone = '13800001111', acct = '6222021234567890123' } }, 'plain.csv')
  f = assert(io.open((run.out or '.') .. '/plain.csv'))
  text = f:read('a')
  f:close()
  t.ok(text:find('138****1111', 1, true) and text:find('6222021234567890123', 1, true), text)
end)

t.done()
