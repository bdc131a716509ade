-- plugin_records.lua — records read and written by a native plugin (API 1.1:
-- gh_api.get/put/del/scan/now) with the test plugin tests/plugins/records.c.
-- A plugin's record write is the script's own db call at that point: the
-- same checks, the same transaction (db.atomic, the publishing transaction
-- of a C handler), the same change events.
local t = require 'testlib'
local r = plugin.load 'records'

db.define('counters', { fields = { id = 'string', n = 'int', note = 'string?' }, key = 'id',
                        unique = { 'note' }, events = true })

t.case('get, put, update, delete from C', function()
  t.eq(r.get_n('a'), -1, 'no record: get returns 0')
  t.eq(r.bump('a', 5), 5)
  t.eq(r.bump('a', 2), 7)
  t.eq(db.counters:get('a').n, 7, 'the script reads what the plugin wrote')
  r.write('counters', 'b', 10, 0)                -- insert
  t.eq(db.counters:get('b').n, 10)
  r.write('counters', 'b', 11, 1)                -- put: replaces
  t.eq(db.counters:get('b').n, 11)
  db.counters:update('b', { note = 'kept' })
  r.write('counters', 'b', 12, 2)                -- update: only n changes
  t.eq(db.counters:get('b').n, 12)
  t.eq(db.counters:get('b').note, 'kept', 'update leaves other fields')
  t.eq(r.del('b'), true)
  t.eq(r.del('b'), false, 'deleting what is not there')
  t.eq(db.counters:get('b'), nil)
end)

t.case('records as JSON text', function()
  db.counters:put{ id = 'j', n = 3, note = '工会 "会员"' }
  local j = r.get_json('counters', 'j')
  t.ok(j:find('"id":"j"', 1, true), j)
  t.ok(j:find('"n":3', 1, true), j)
  t.ok(j:find('"note":"工会 \\"会员\\""', 1, true), j)
  t.eq(r.get_json('counters', 'nobody'), nil)
end)

t.case('refusals: the message of the store, naming field and value, and nothing written', function()
  local function refused(fn, pattern)
    local before = t.snapshot()
    t.raises(fn, pattern)
    t.eq(t.deep_equal(t.snapshot(), before, 'db'), true, 'the database is as it was')
  end
  refused(function() r.write('counters', 'a', 1, 0) end,
          "records.write: insert 'counters': collection 'counters': a record with id = \"a\" already exists")
  refused(function() r.write('counters', 'zz', 1, 2) end,
          "records.write: update 'counters': collection 'counters': there is no record with id = \"zz\" to update")
  refused(function() r.write('nosuch', 'a', 1, 0) end,
          "records.write: insert 'nosuch': no collection named 'nosuch'")
  refused(function() r.write('counters', 'x', 1, 7) end, 'records.write: put: unknown mode 7')
  refused(function() r.bad_key() end,
          "records.bad_key: get: the key for 'counters' is not one well%-formed MessagePack value")
  refused(function() r.system_coll() end,
          "records.system_coll: get: collection '_runs' is gonghui's own")
  refused(function() r.write_bare('counters', 'q', 0) end,
          "records.write_bare: insert 'counters': collection 'counters': required field 'n' is missing")
  t.eq(r.without_err(), -1, 'no err: refused, nothing to report on')
  db.counters:put{ id = 'u1', n = 1, note = 'same' }
  refused(function()
    db.atomic(function()
      r.write('counters', 'u1', 2, 2)
      r.write('counters', 'u2', 1, 0)
      db.counters:update('u2', { note = 'same' })
    end)
  end, "note = \"same\" is already taken")
  refused(function()
    db.atomic(function()
      db.counters:put{ id = 'u3', n = 1 }
      r.write('counters', 'u3', 9, 0)
    end)
  end, "records.write: insert 'counters': collection 'counters': a record with id = \"u3\" already exists")
end)

t.case('after a failed routine the call fails with the first message, later routines refused', function()
  db.counters:delete('dup')
  t.raises(function() r.after_failure() end,
           "records.after_failure: insert 'counters': collection 'counters': a record with id = \"dup\" already exists")
  t.eq(db.counters:get('dup').n, 1, 'outside db.atomic the first insert was its own write')
  db.counters:delete('dup')
  local before = t.snapshot()
  t.raises(function() db.atomic(function() r.after_failure() end) end, 'already exists')
  t.eq(t.deep_equal(t.snapshot(), before, 'db'), true, 'inside db.atomic the whole unit rolls back')
end)

t.case('scans: specs, early stop, JSON, writes from the callback', function()
  for _, id in ipairs{ 'a', 'b', 'j', 'u1', 'dup' } do db.counters:delete(id) end
  for i = 1, 5 do db.counters:put{ id = 's' .. i, n = i } end
  t.eq(r.total(0, 0), 15 * 1000 + 5, 'every record')
  t.eq(r.total(4, 0), 9 * 1000 + 2, 'n >= 4: a field condition from the spec')
  t.eq(r.total(0, 2), 3 * 1000 + 2, 'the callback stops the scan after two')
  t.ok(r.scan_json('counters'):find('"id":"s1"', 1, true))
  t.eq(r.bump_all(), 5)
  t.eq(r.total(0, 0), 20 * 1000 + 5, 'each record bumped once from inside the scan')
end)

t.case('a plugin write is in the caller transaction: db.atomic rolls it back', function()
  db.counters:put{ id = 'tx', n = 0 }
  t.raises(function()
    db.atomic(function()
      r.bump('tx', 5)
      t.eq(db.counters:get('tx').n, 5, 'visible inside the unit')
      error('give up')
    end)
  end, 'give up')
  t.eq(db.counters:get('tx').n, 0, 'rolled back with the unit')
end)

t.case('plugin writes publish change events like the script own', function()
  local seen = {}
  bus.on('counters.*', function(ev) seen[#seen + 1] = ev.topic end)
  db.counters:delete('ev')
  r.bump('ev', 1)
  r.bump('ev', 1)
  r.del('ev')
  t.eq(table.concat(seen, ','), 'counters.inserted,counters.updated,counters.deleted')
end)

t.case('a C handler writes in the publishing transaction', function()
  db.counters:delete('sales')
  bus.publish('sale.made', { amount = 30 })
  bus.publish('sale.made', { amount = 12 })
  t.eq(db.counters:get('sales').n, 42)
  t.raises(function()
    db.atomic(function()
      bus.publish('sale.made', { amount = 100 })
      error('the sale is void')
    end)
  end, 'the sale is void')
  t.eq(db.counters:get('sales').n, 42, 'the handler write rolled back with the publish')
  t.raises(function() bus.publish('sale.made', { amount = -1 }) end,
           "bus handler for 'sale.made' %(plugin records, on 'sale.%*'%) failed: negative amount %-1")
  t.eq(db.counters:get('sales').n, 42)
end)

t.case('the run clock', function()
  local a, b = os.time(), r.now()
  t.ok(math.abs(a - b) <= 1, ('now() %d against os.time() %d'):format(b, a))
  local c = r.now_noerr()
  t.ok(math.abs(a - c) <= 1, 'now(NULL) inside a call is that call clock')
end)

t.done()
