-- atomic.lua — db.atomic: results, rollback of records, indexes and
-- definitions, nested savepoints, reads of one's own writes.
local t = require 'testlib'

db.define('acct', { key = 'no', fields = { no = 'int', owner = 'string', bal = 'fen', town = 'string?' },
                    unique = { 'owner' }, index = { 'town', { 'town', 'bal' } } })
db.define('xfer', { fields = { from = 'int', to = 'int', amount = 'fen' }, index = { 'from' } })
local A, X = db.acct, db.xfer
for i = 1, 10 do A:insert{ no = i, owner = 'o' .. i, bal = 1000, town = i % 2 == 0 and 'e' or 'w' } end

local function has_coll(n)
  for _, x in ipairs(db.collections()) do if x == n then return true end end
  return false
end

t.case('results and arguments pass through', function()
  t.eq({ db.atomic(function(a, b) return a + b, 'x', nil, 4 end, 1, 2) }, { 3, 'x', nil, 4 })
  t.eq(select('#', db.atomic(function() return 1, nil, nil end)), 3)
  t.eq(select('#', db.atomic(function() end)), 0)
  t.eq(db.atomic(function() return A:insert{ no = 11, owner = 'o11', bal = 0 } end), 11)
  t.eq(A:get(11, 'owner'), 'o11')
  A:delete(11)
  t.raises(function() db.atomic('not a function') end, 'function')
  t.raises(function() db.atomic() end, 'function')
end)

t.case('reads inside see their own writes', function()
  db.atomic(function()
    A:insert{ no = 20, owner = 'o20', bal = 5, town = 'n' }
    t.eq(A:get(20, 'bal'), 5)
    t.eq(A:find('owner', 'o20', 'no'), 20)
    t.eq(A:count(), 11)
    t.eq(A:count{ town = 'n' }, 1)
    t.eq(t.keys(A, { index = 'town', eq = 'n' }), { 20 })
    A:update(20, { bal = 6 })
    t.eq(t.keys(A, { index = 'town,bal', eq = { 'n', 6 } }), { 20 })
    A:delete(20)
    t.eq(A:get(20), nil)
    t.eq(A:find('owner', 'o20'), nil)
    t.eq(A:count(), 10)
  end)
end)

t.case('an error rolls back records and indexes, and goes on', function()
  local before = t.snapshot()
  local err = t.raises(function()
    db.atomic(function()
      A:insert{ no = 30, owner = 'o30', bal = 1, town = 'n' }
      A:update(1, { bal = 0, town = 'moved' })
      A:delete(2)
      A:put{ no = 3, owner = 'o3-new', bal = 7 }
      X:insert{ from = 1, to = 3, amount = 1000 }
      for i = 100, 300 do X:insert{ from = i, to = i, amount = i } end
      error('boom in the middle')
    end)
  end, 'boom in the middle')
  t.ok(err:find('atomic.lua:%d+:'), 'the message keeps its position: ' .. err)
  t.eq(t.snapshot(), before)
  t.eq(A:get(30), nil)
  t.eq(A:find('owner', 'o30'), nil)
  t.eq(A:find('owner', 'o3-new'), nil)
  t.eq(A:find('owner', 'o3', 'no'), 3)
  t.eq(A:find('owner', 'o2', 'no'), 2)
  t.eq(t.keys(A, { index = 'town', eq = 'moved' }), {})
  t.eq(X:count(), 0)
end)

t.case('after a rollback, automatic keys start again where they were', function()
  -- store.h: the next automatic key is the last key + 1, or 1
  t.eq(X:count(), 0)
  pcall(db.atomic, function()
    for i = 1, 5 do X:insert{ from = i, to = i, amount = i } end
    error('undo')
  end)
  local k = X:insert{ from = 1, to = 2, amount = 3 }
  X:delete(k)
  t.eq(k, 1)
end)

t.case('a failing write inside rolls back the whole unit', function()
  local before = t.snapshot()
  t.raises_all(function()
    db.atomic(function()
      A:insert{ no = 31, owner = 'o31', bal = 1 }
      A:insert{ no = 32, owner = 'o1', bal = 1 } -- unique violation
    end)
  end, { "'owner'", '"o1"', 'no = 1' })
  t.eq(t.snapshot(), before)
end)

t.case('error values that are not strings pass through', function()
  local obj = { code = 42 }
  local ok, e = pcall(db.atomic, function() A:insert{ no = 33, owner = 'o33', bal = 1 }; error(obj) end)
  t.eq(ok, false)
  t.ok(rawequal(e, obj), 'the same error object')
  t.eq(A:get(33), nil)
  ok, e = pcall(db.atomic, function() error() end)
  t.eq(ok, false)
  t.eq(e, nil)
end)

t.case('an error rolls back definitions', function()
  local before = t.snapshot()
  t.raises(function()
    db.atomic(function()
      db.define('newcoll', { fields = { a = 'int' }, index = { 'a' } })
      db.newcoll:insert{ a = 1 }
      db.define('acct', { key = 'no', fields = { no = 'int', owner = 'string', bal = 'fen', town = 'string?',
                                                 note = 'string?' },
                          unique = { 'owner' }, index = { 'bal' } })       -- new field, index changes
      A:update(1, { note = 'hello' })
      t.eq(t.keys(A, { index = 'bal', to = 1000 }), { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10 })
      db.drop('xfer')
      error('undo all of it')
    end)
  end, 'undo all of it')
  t.eq(t.snapshot(), before)
  t.ok(not has_coll('newcoll'), 'newcoll is gone')
  t.ok(has_coll('xfer'), 'xfer is back')
  t.eq(A:schema(), before.acct.schema)
  -- the old definition is the one in force: 'note' is unknown again, the old indexes work
  t.raises_all(function() A:update(1, { note = 'x' }) end, { "'acct'", "'note'" })
  t.raises_all(function() return t.keys(A, { index = 'bal' }) end, { "'acct'", "'bal'" })
  t.eq(t.keys(A, { index = 'town', eq = 'e' }), { 2, 4, 6, 8, 10 })
  t.eq(t.keys(A, { index = 'town,bal', eq = { 'w', 1000 } }), { 1, 3, 5, 7, 9 })
  A:insert{ no = 40, owner = 'o40', bal = 1, town = 'e' }
  t.eq(t.keys(A, { index = 'town', eq = 'e' }), { 2, 4, 6, 8, 10, 40 })
  A:delete(40)
  t.raises_all(function() return db.newcoll:count() end, { 'newcoll' })
  local n = X:count()
  local k = X:insert{ from = 1, to = 2, amount = 3 }
  t.eq(X:count(), n + 1)
  X:delete(k)
end)

t.case('nested db.atomic is a savepoint rolled back alone under pcall', function()
  local before = t.snapshot()
  local r = db.atomic(function()
    A:update(1, { bal = 900 })
    local ok, e = pcall(db.atomic, function()
      A:update(1, { bal = 1 })
      A:insert{ no = 50, owner = 'o50', bal = 50, town = 'in' }
      db.define('inner', { fields = { a = 'int' } })
      error('inner fails')
    end)
    t.eq(ok, false)
    t.ok(tostring(e):find('inner fails', 1, true), e)
    -- the outer sees its own write, not the inner ones
    t.eq(A:get(1, 'bal'), 900)
    t.eq(A:get(50), nil)
    t.eq(A:find('owner', 'o50'), nil)
    t.eq(t.keys(A, { index = 'town', eq = 'in' }), {})
    t.ok(not has_coll('inner'))
    -- a savepoint that succeeds merges into the outer one
    local v = db.atomic(function()
      A:insert{ no = 51, owner = 'o51', bal = 51 }
      return 'inner result'
    end)
    t.eq(v, 'inner result')
    t.eq(A:get(51, 'bal'), 51)
    return 'outer result'
  end)
  t.eq(r, 'outer result')
  t.eq(A:get(1, 'bal'), 900)
  t.eq(A:get(51, 'bal'), 51)
  t.eq(A:get(50), nil)
  t.ok(not has_coll('inner'))
  A:update(1, { bal = 1000 })
  A:delete(51)
  t.eq(t.snapshot(), before)
end)

t.case('an outer error rolls back committed savepoints too', function()
  local before = t.snapshot()
  t.raises(function()
    db.atomic(function()
      db.atomic(function()
        A:insert{ no = 60, owner = 'o60', bal = 60 }
        db.atomic(function() A:insert{ no = 61, owner = 'o61', bal = 61 } end)
      end)
      t.eq(A:get(61, 'bal'), 61)
      error('outer fails')
    end)
  end, 'outer fails')
  t.eq(t.snapshot(), before)
end)

t.case('three levels, the middle one caught', function()
  local before = t.snapshot()
  db.atomic(function()
    A:insert{ no = 70, owner = 'o70', bal = 70 }
    pcall(db.atomic, function()
      A:insert{ no = 71, owner = 'o71', bal = 71 }
      db.atomic(function() A:insert{ no = 72, owner = 'o72', bal = 72 } end)
      error('middle fails')
    end)
    t.eq(A:get(71), nil)
    t.eq(A:get(72), nil)
    local ok = pcall(db.atomic, function()
      A:insert{ no = 73, owner = 'o1', bal = 73 } -- unique violation in a savepoint
    end)
    t.eq(ok, false)
    t.eq(A:get(73), nil)
  end)
  t.eq(A:get(70, 'bal'), 70)
  t.eq(A:get(71), nil)
  t.eq(A:get(72), nil)
  A:delete(70)
  t.eq(t.snapshot(), before)
end)

t.case('a failed write caught inside db.atomic leaves the rest intact', function()
  -- a refused write changes nothing, so the unit can go on
  db.atomic(function()
    A:insert{ no = 80, owner = 'o80', bal = 80 }
    local ok = pcall(A.insert, A, { no = 81, owner = 'o80', bal = 1 })
    t.eq(ok, false)
    ok = pcall(A.insert, A, { no = 82, owner = 'o82', bal = 1.5 })
    t.eq(ok, false)
    ok = pcall(A.update, A, 80, { no = 99 })
    t.eq(ok, false)
    A:insert{ no = 83, owner = 'o83', bal = 83 }
  end)
  t.eq(A:get(80, 'bal'), 80)
  t.eq(A:get(81), nil)
  t.eq(A:get(82), nil)
  t.eq(A:get(83, 'bal'), 83)
  t.eq(A:find('owner', 'o80', 'no'), 80)
  A:delete(80)
  A:delete(83)
end)

t.case('an error while a scan is open inside db.atomic', function()
  local before = t.snapshot()
  t.raises(function()
    db.atomic(function()
      for r in A:scan() do
        A:update(r.no, { bal = 0 })
        if r.no == 5 then error('stop at 5') end
      end
    end)
  end, 'stop at 5')
  t.eq(t.snapshot(), before)
  -- and a write afterwards works
  A:update(1, { bal = 999 })
  t.eq(A:get(1, 'bal'), 999)
  A:update(1, { bal = 1000 })
end)

t.case('writes outside db.atomic are each their own transaction', function()
  local ok = pcall(function()
    A:insert{ no = 90, owner = 'o90', bal = 90 }
    A:insert{ no = 91, owner = 'o90', bal = 91 } -- fails
  end)
  t.eq(ok, false)
  t.eq(A:get(90, 'bal'), 90, 'the first write stays')
  t.eq(A:get(91), nil)
  A:delete(90)
end)

t.case('a big unit: many writes in one db.atomic', function()
  for r in X:scan() do X:delete(r.id) end
  db.atomic(function()
    for i = 1, 20000 do X:insert{ from = i % 97, to = i, amount = i } end
  end)
  t.eq(X:count(), 20000)
  t.eq(X:count{ index = 'from', eq = 0 }, 20000 // 97)
  local before = X:count()
  t.raises(function()
    db.atomic(function()
      for i = 1, 20000 do X:insert{ from = 5, to = i, amount = i } end
      error('drop them all')
    end)
  end, 'drop them all')
  t.eq(X:count(), before)
  t.eq(X:count{ index = 'from', eq = 5 }, 20000 // 97 + (20000 % 97 >= 5 and 1 or 0))
end)

t.done()
