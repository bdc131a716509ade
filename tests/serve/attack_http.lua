-- attack_http.lua — served as /api/attack/... by the serve tests: handlers
-- that try to see or change what their account's scope hides, and to pass
-- the limits. Every one must fail (or see only its own union's subtree).
local routes = {}
local function R(method, path, fn, write)
  routes[#routes + 1] = { method = method, path = path, handler = fn, write = write }
end

local function unions_of(rows)
  local seen, out = {}, {}
  for _, m in ipairs(rows) do
    if not seen[m.union_id] then seen[m.union_id] = true; out[#out + 1] = m.union_id end
  end
  table.sort(out)
  return out
end

-- reads: every way of looking
R('GET', '/look', function(req)
  local scanned = {}
  for m in db.members:scan() do scanned[#scanned + 1] = { union_id = m.union_id } end
  local by = db.members:count_by('union_id')
  local by_list = {}
  for k, v in pairs(by) do by_list[#by_list + 1] = k end
  table.sort(by_list)
  local listed = db.members:list{ index = 'union_id', eq = 3 }
  local found = db.members:find('union_id', 3)
  return {
    scan = unions_of(scanned), count = db.members:count(),
    count_filtered = db.members:count{ union_id = 3 },
    count_by = by_list, list_union3 = #listed, find_union3 = found ~= nil,
    get2 = db.members:get(2) ~= nil, get1 = db.members:get(1) ~= nil,
    get2_field = db.members:get(2, 'name'),
    stations = (function() local n = 0 for _ in db.stations:scan() do n = n + 1 end return n end)(),
  }
end)

R('GET', '/meta', function(req)
  local out = {}
  out.db_meta = type(getmetatable(db))
  out.accounts = pcall(function() return db._accounts:get('admin') end)
  out.runs = pcall(function() return db._runs:count() end)
  local mt = getmetatable(db)
  out.db_field = type(mt) == 'table' and type(rawget(mt, '__db')) or 'none'
  return out
end)

-- writes outside the scope: each must be refused naming the union
R('POST', '/insert_other', function(req)
  db.members:insert{ member_id = 9001, name = '王五', id_number = '330481199001019001', phone = '13800000000',
    gender = 'M', birth_date = '1990-01-01', enterprise_id = 1, town = '许村镇', category = 'courier',
    join_date = '2015-01-01', status = 'active', union_id = 3 }
  return { ok = true }
end, true)
R('POST', '/insert_no_union', function(req)
  db.members:insert{ member_id = 9002, name = '王六', id_number = '330481199001019002', phone = '13800000000',
    gender = 'M', birth_date = '1990-01-01', enterprise_id = 1, town = '许村镇', category = 'courier',
    join_date = '2015-01-01', status = 'active' }
  return { ok = true }
end, true)
R('POST', '/update_other', function(req) return { ok = db.members:update(2, { name = '改名' }) } end, true)
R('POST', '/move_out', function(req) return { ok = db.members:update(1, { union_id = 3 }) } end, true)
R('POST', '/delete_other', function(req) return { ok = db.members:delete(2) } end, true)
R('POST', '/put_over', function(req)
  local m = db.members:get(1)
  local t = {}
  for k, v in pairs(m) do t[k] = v end
  t.member_id = 2 -- replace member 2 (of union 3) with a record of our own union
  t.id_number = '330481199001019003'
  return { ok = db.members:put(t) }
end, true)
R('POST', '/prepared_other', function(req)
  local ins = db.members:prepare_insert({ name = '赵七', phone = '13800000000', gender = 'M',
    birth_date = '1990-01-01', enterprise_id = 1, town = '许村镇', category = 'courier',
    join_date = '2015-01-01', status = 'active', union_id = 3 }, 'member_id', 'id_number')
  return { ok = ins(9004, '330481199001019004') }
end, true)
-- insert_select (core/lua_select.c): every record it would make is checked as
-- one insert's; a record outside the scope refuses the whole call
R('POST', '/select_other', function(req)
  return { n = db.enterprises:insert_select{ from = db.members, set = { union_id = 3 },
                                             take = { enterprise_id = 'member_id', name = 'name', town = 'town' } } }
end, true)
-- ... and the scan sees only the scope's members: each record made is the scope's
R('POST', '/select_scoped', function(req)
  local n, last = db.enterprises:insert_select{ from = db.members, where = { category = 'courier' },
    take = { enterprise_id = 'member_id', name = 'name', town = 'town', union_id = 'union_id' } }
  local seen, unions = 0, {}
  for e in db.enterprises:scan() do seen = seen + 1; unions[e.union_id] = true; db.enterprises:delete(e.enterprise_id) end
  return { n = n, last = last, seen = seen, other = unions[3] or false }
end, true)
R('GET', '/enterprise_count', function(req) return { n = db.enterprises:count() } end)
R('POST', '/pcall_then_write', function(req)
  -- a refusal caught by pcall must not let a later write through or widen anything
  -- (an update of a hidden record finds none: nil)
  local ok, r = pcall(db.members.update, db.members, 2, { name = '改名' })
  local ok2 = pcall(db.members.insert, db.members, { member_id = 9005, name = '赵九', union_id = 3 })
  return { caught = (not ok or r == nil) and not ok2, get2 = db.members:get(2) ~= nil }
end, true)
R('POST', '/define', function(req)
  db.define('members', { key = 'member_id', fields = { member_id = 'int', name = 'string' } })
  return { ok = true }
end, true)
R('POST', '/drop', function(req) db.drop('members'); return { ok = true } end, true)
R('GET', '/write_in_get', function(req) return { ok = db.members:update(1, { name = '改名' }) } end)
R('GET', '/atomic_in_get', function(req)
  return { ok = db.atomic(function() return db.stations:count() end) }
end)
R('POST', '/own_write', function(req)
  return { ok = db.members:update(1, { phone = req.body.phone }) }
end, true)
R('POST', '/fail_after_write', function(req)
  db.members:update(1, { phone = '13999999999' })
  error('the handler failed after writing')
end, true)

-- a taken key or unique field tells nothing of the record that holds it
local function new_member(id_number, member_id)
  return { member_id = member_id, name = '王八', id_number = id_number, phone = '13800000000',
    gender = 'M', birth_date = '1990-01-01', enterprise_id = 1, town = '硖石街道',
    category = 'courier', join_date = '2015-01-01', status = 'active', union_id = 4 }
end
R('POST', '/insert_taken', function(req)
  -- body: { id_number = ..., member_id = ... }: a clash with a hidden or a visible member
  local ok, err = pcall(db.members.insert, db.members, new_member(req.body.id_number, req.body.member_id))
  return { ok = ok, message = not ok and tostring(err):gsub('^.-: collection', 'collection') or nil }
end, true)

-- the event log: read as records are, and no consumer bookkeeping
R('GET', '/bus_events', function(req)
  local out = {}
  for _, e in ipairs(bus.events{ topic = req.query.topic }) do
    local x = type(e.payload) == 'table' and e.payload or {}
    -- the framework's compact entries are arrays: read by name as every reader does
    if e.topic == 'program.entry' then x = require('program').entry_of_event(x) end
    out[#out + 1] = { topic = e.topic, member_id = x.member_id, union_id = x.union_id, program = x.program }
  end
  return { events = out, dead = #bus.dead() }
end)
-- an entry of tests/serve/entries.lua's program (its event is a compact array)
R('POST', '/program_enter', function(req)
  local P = require('program').define(require 'scope_plan')
  local e, code = P:enter{ member = req.body.member, kind = 'visit', at = '2025-03-02 09:00:00' }
  return { ok = e ~= nil, code = code }
end, true)
R('POST', '/bus_run', function(req) return { n = bus.run('year_report') } end, true)
R('POST', '/bus_trim', function(req) return { n = bus.trim() } end, true)
R('POST', '/bus_publish', function(req)
  local seq = bus.publish('attack.note', req.body)
  -- the request's run, and the one its event carries in the log
  return { seq = seq, run = run.uid, logged_run = bus.events{ from = seq, limit = 1 }[1].run }
end, true)

-- limits
R('GET', '/loop', function(req) while true do end end)
R('GET', '/pcall_loop', function(req)
  for _ = 1, 100 do pcall(function() while true do end end) end
  return { escaped = true }
end)
R('GET', '/hog', function(req)
  local t = {}
  for i = 1, 1e9 do t[i] = ('x'):rep(1000) .. i end
  return { n = #t }
end)
R('GET', '/slow', function(req)
  local t0 = os.clock()
  while os.clock() - t0 < tonumber(req.query.secs or '1') do end
  return { ok = true, slept = req.query.secs }
end)
R('GET', '/echo', function(req) return { body = req.body, query = req.query, account = req.account } end)
R('POST', '/echo', function(req) return { body = req.body } end, true)
R('GET', '/status', function(req) return 418, { teapot = true } end)
R('GET', '/bad_result', function(req) return { f = function() end } end)

return routes
