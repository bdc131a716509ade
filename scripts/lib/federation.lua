-- federation.lua — federations ship their event logs through NATS JetStream,
-- and a higher level (a city, the province) counts them all (issue 20;
-- README "Beyond one machine"). `gonghui federation ...` runs these through
-- scripts/federation/fed_cli.lua; the transport is the `nats` plugin.
--
--   local fed = require 'federation'
--   fed.ship{ as = 'haining', nats = 'nats://h1:4222,nats://h2:4222', follow = true }
--   fed.receive{ nats = ..., follow = true }       -- at the city or the province
--   fed.add('haining') / fed.remove('haining')     -- the federations received
--   fed.declare('member.joined', { fields = { 'town' } })   -- what else leaves
--   fed.report(2025)                               -- the year report, by federation
--   fed.ten(2025, lines)                           -- the ten-things report, by federation
--
-- SHIPPING (at each federation). The durable consumer 'federation-ship'
-- (bus.consumer: `gonghui events consumers` shows its lag, and bus.trim
-- keeps every event it has not shipped) reads the log after its cursor, a
-- batch at a time; each event of a declared topic is turned into what may
-- leave (below) and published asynchronously to the stream GH_<name>,
-- subject gh.<name>.<topic>, with Nats-Msg-Id '<name>:<seq>'. Only when
-- JetStream has acked every message of the batch does the cursor move past
-- it (one transaction with the shipper's own tally). Killed at any moment:
-- the next run publishes the unacked rest again under the same ids; the
-- stream drops those it has (within its duplicate window, 10 minutes by
-- default) and the receiver skips any it already stored. Neither lost nor
-- counted twice.
--
-- WHAT LEAVES, per topic (fed.TOPICS, and fed.declare for more):
--   view = 'fact'   the year report's fact of the event (year_report.lua:
--                   program, label, year, units, money, town, station) with the
--                   member as a keyed pseudonym (HMAC-SHA256 under the
--                   province's key of the member's ID number, else of
--                   '<federation>:<member_id>') and the household likewise;
--                   local ids (sessions, entries) carry the federation's name.
--   fields = {...}  these payload fields only; keys = {...} of them go as
--                   pseudonyms (an ID number's like the facts' member, so the
--                   same person is one key province-wide; others prefixed
--                   with the federation); an ID number, phone or bank account
--                   (pii.kind) is refused unless keys or raw = {...} lists it.
-- Topics not declared do not leave at all.
--
-- RECEIVING (at the higher level). For each federation added, a durable
-- pull consumer (recv_<level>) on its stream; each fetched batch is stored
-- in one transaction: fed_events (key '<federation>/<seq>', so a message
-- delivered twice finds its key taken and is skipped) and fed_state (count,
-- last sequence); the messages are acked after the commit. Killed before
-- the ack: JetStream delivers them again after the ack wait, and they are
-- skipped. A message whose body names another federation than its stream,
-- or that does not decode, is not stored (counted as refused).
local yr = require 'year_report'
local fmt = require 'fmt'

local M = {}

M.SHIP_CONSUMER = 'federation-ship'
M.PREFIX = 'gh'
M.WIRE = 'GH1'   -- the body's format and version (M.encode)

-- The topics that leave a federation unless declared otherwise: the
-- program events the year report counts, as facts.
M.TOPICS = {
  ['program.entry'] = { view = 'fact' },
  ['award.issued'] = { view = 'fact' },
}

local function fail(msg, level)
  error(msg, (level or 1) + 1)
end

-- ---- names --------------------------------------------------------------------------

-- A federation's name: 1 to 32 of a-z 0-9 _ - (it is part of NATS subjects
-- and stream names, which allow no dots, spaces or wildcards).
function M.check_name(name, what)
  if type(name) ~= 'string' or not name:match('^[a-z0-9_-]+$') or #name > 32 then
    fail(string.format(_('%s: a federation name is 1 to 32 lowercase letters, digits, _ or - (like haining), got %s'),
                       what or 'federation', tostring(name)), 2)
  end
  return name
end

function M.stream_of(name) return 'GH_' .. name end
function M.subject_of(name, topic) return M.PREFIX .. '.' .. name .. '.' .. topic end

-- ---- the wire format ----------------------------------------------------------------
-- A body is 'GH1' and one value: s string, i integer, n float, T/F booleans,
-- m a map (count, then key and value each a value, keys sorted), little-endian.

local pack, unpack = string.pack, string.unpack

local function enc(v, out, depth)
  local t = math.type(v) or type(v)
  if t == 'string' then out[#out + 1] = 's' .. pack('<s4', v)
  elseif t == 'integer' then out[#out + 1] = 'i' .. pack('<i8', v)
  elseif t == 'float' then out[#out + 1] = 'n' .. pack('<d', v)
  elseif t == 'boolean' then out[#out + 1] = v and 'T' or 'F'
  elseif t == 'table' then
    if depth > 16 then fail(_('federation: a value nests too deep to ship')) end
    local keys = {}
    for k in pairs(v) do
      if type(k) ~= 'string' and math.type(k) ~= 'integer' then
        fail(string.format(_('federation: a payload key must be a string or an integer, got %s'), type(k)))
      end
      keys[#keys + 1] = k
    end
    table.sort(keys, function(a, b)
      if type(a) == type(b) then return a < b end
      return type(a) == 'number'
    end)
    out[#out + 1] = 'm' .. pack('<I4', #keys)
    for _i, k in ipairs(keys) do
      enc(k, out, depth + 1)
      enc(v[k], out, depth + 1)
    end
  else
    fail(string.format(_('federation: a %s value cannot be shipped'), t))
  end
end

function M.encode(v)
  local out = { M.WIRE }
  enc(v, out, 0)
  return table.concat(out)
end

local function dec(s, pos, depth)
  local tag = s:sub(pos, pos)
  pos = pos + 1
  if tag == 's' then return unpack('<s4', s, pos)
  elseif tag == 'i' then return unpack('<i8', s, pos)
  elseif tag == 'n' then return unpack('<d', s, pos)
  elseif tag == 'T' then return true, pos
  elseif tag == 'F' then return false, pos
  elseif tag == 'm' then
    if depth > 16 then error(_('nested too deep')) end
    local n
    n, pos = unpack('<I4', s, pos)
    if n > #s - pos + 1 then error(_('a count larger than the message')) end
    local t = {}
    for _i = 1, n do
      local k, v
      k, pos = dec(s, pos, depth + 1)
      v, pos = dec(s, pos, depth + 1)
      if type(k) ~= 'string' and math.type(k) ~= 'integer' then error(_('a bad key')) end
      t[k] = v
    end
    return t, pos
  end
  error(string.format(_('unknown tag %q at byte %d'), tag, pos - 1))
end

-- The value of a body, or nil and why.
function M.decode(s)
  if type(s) ~= 'string' or s:sub(1, #M.WIRE) ~= M.WIRE then
    return nil, string.format(_('not a gonghui federation message (%s)'), M.WIRE)
  end
  local ok, v, pos = pcall(dec, s, #M.WIRE + 1, 0)
  if not ok then return nil, tostring(v) end
  if pos ~= #s + 1 then return nil, _('bytes after the value') end
  return v
end

-- ---- what leaves ----------------------------------------------------------------------

local function define_ship()
  db.define('fed_ship', {
    key = 'id',
    fields = { id = 'string', name = 'string', shipped = 'int', last_seq = 'int', updated = 'int' },
  })
  db.define('fed_topics', {
    key = 'topic',
    fields = { topic = 'string', view = 'string', fields = 'any?', keys = 'any?', raw = 'any?' },
  })
end

local function set_of(list)
  local s = {}
  for _i, x in ipairs(list or {}) do s[x] = true end
  return s
end

-- Declares what of `topic` leaves this federation (stored: the shipper reads
-- it at its start). decl: { view = 'fact' } or { fields = {...}, keys = {...},
-- raw = {...} }, or false to stop shipping the topic.
function M.declare(topic, decl)
  define_ship()
  if type(topic) ~= 'string' or topic == '' then fail(_('federation.declare: a topic, like member.joined'), 2) end
  if decl == false then
    db.fed_topics:put{ topic = topic, view = 'none' }
    return
  end
  if type(decl) ~= 'table' then fail(_('federation.declare: a declaration table, like { fields = { "town" } }'), 2) end
  if decl.view == 'fact' then
    db.fed_topics:put{ topic = topic, view = 'fact' }
    return
  end
  if type(decl.fields) ~= 'table' or #decl.fields == 0 then
    fail(string.format(_("federation.declare('%s'): give view = 'fact' or fields = { ... } (the payload fields that may leave)"), topic), 2)
  end
  local raw, keys = set_of(decl.raw), set_of(decl.keys)
  for _i, f in ipairs(decl.fields) do
    local kind = pii.kind(f)
    if kind and pii.hidden(kind) and not raw[f] and not keys[f] then
      fail(string.format(_("federation.declare('%s'): field %s holds personal data (%s); list it in keys = { ... } to ship a pseudonym, or in raw = { ... } to ship it whole"),
                         topic, f, kind), 2)
    end
  end
  for f in pairs(keys) do
    if not set_of(decl.fields)[f] then
      fail(string.format(_("federation.declare('%s'): keys names %s, which is not in fields"), topic, f), 2)
    end
  end
  db.fed_topics:put{ topic = topic, view = 'fields', fields = decl.fields, keys = decl.keys, raw = decl.raw }
end

-- The declarations in force: the defaults, then the stored ones.
function M.topics()
  define_ship()
  local t = {}
  for k, v in pairs(M.TOPICS) do t[k] = v end
  for r in db.fed_topics:scan() do
    if r.view == 'none' then t[r.topic] = nil
    elseif r.view == 'fact' then t[r.topic] = { view = 'fact' }
    else t[r.topic] = { view = 'fields', fields = r.fields, keys = set_of(r.keys) } end
  end
  return t
end

-- The member's pseudonym: of the ID number when the registry has one (the
-- same worker in two federations is one person at the province), else of
-- the federation's own member id.
local function member_key(name, cache, id)
  if id == nil then return nil end
  local k = cache['pk:' .. tostring(id)]
  if k then return k end
  local m = cache.members ~= false and db.members and db.members:get(id)
  local idn = m and m.id_number
  k = pii.pseudonym(idn and ('id:' .. idn) or (name .. ':' .. tostring(id)))
  cache['pk:' .. tostring(id)] = k
  return k
end

local function has_members()
  for _i, n in ipairs(db.collections()) do
    if n == 'members' then return true end
  end
  return false
end

-- What of event ev leaves federation `name` under declaration d (nil: nothing).
function M.view(name, d, ev, cache)
  if d.view == 'fact' then
    local f = yr.fact_of_event(ev, cache)
    if not f or not f.year then return nil end
    local out = { program = f.program, label = f.label, year = f.year, money_fen = f.money_fen or 0,
                  town = f.town, station = f.station }
    out.member = member_key(name, cache, f.member_id)
    if f.household ~= nil then out.household = pii.pseudonym(name .. '|' .. tostring(f.household)) end
    if f.session ~= nil then out.session = name .. ':' .. f.session end
    if f.entry ~= nil then out.entry = name .. ':' .. f.entry end
    if f.reverses ~= nil then out.reverses = name .. ':' .. f.reverses end
    if f.enterprise_id ~= nil then out.enterprise = name .. ':' .. tostring(f.enterprise_id) end
    -- the entry the event stands for (the payload is compact: program.entry_of_event)
    local x = ev.topic == 'program.entry' and type(ev.payload) == 'table' and require('program').entry_of_event(ev.payload)
    if x and type(x.program) == 'string' then
      -- what the ten-things report counts (ten_things.lua's fact), ids made
      -- the federation's own
      local session = x.session ~= x.program and x.session or nil
      out.ten = { program = x.program, kind = x.kind, day = tostring(x.day), heads = x.heads or 0,
                  qty = x.qty or 0, fen = x.fen or 0,
                  session = session ~= nil and (name .. ':' .. x.program .. ':' .. tostring(session)) or nil,
                  enterprise = x.enterprise_id ~= nil and (name .. ':' .. tostring(x.enterprise_id)) or nil,
                  entry = name .. ':' .. x.program .. ':' .. tostring(x.entry_id),
                  reverses = x.reverses ~= nil and (name .. ':' .. x.program .. ':' .. tostring(x.reverses)) or nil }
    end
    return out
  end
  local p = ev.payload
  if type(p) ~= 'table' then return nil end
  local out = {}
  for _i, f in ipairs(d.fields) do
    local v = p[f]
    if v ~= nil and d.keys[f] then
      -- an ID number names the person province-wide (as the facts' member
      -- does); anything else is the federation's own
      v = pii.pseudonym(pii.kind(f) == 'id' and ('id:' .. tostring(v)) or (name .. '|' .. tostring(v)))
    end
    out[f] = v
  end
  return out
end

-- ---- connections ----------------------------------------------------------------------

-- "key=value" lines for nats.connect from the options (o.nats: servers,
-- comma-separated; creds; tls_ca; tls_cert and tls_key; tls). setup(nats, h),
-- if given, runs on the new connection; when it fails the connection is
-- closed before the error goes on (a shipper retrying a stream NATS cannot
-- make yet, a cluster still electing its leader, held one connection a try
-- until the plugin's 16 were gone: fed_cluster under load).
function M.connect(o, who, setup)
  local ok, nats = pcall(require, 'nats')
  if not ok then
    fail(_('federation: the nats plugin is not there (gonghui was built without libnats: install libnats-dev and build again)'), 2)
  end
  local lines = { 'servers=' .. (o.nats or 'nats://127.0.0.1:4222'), 'name=gonghui ' .. (who or '') }
  for _i, k in ipairs{ 'creds', 'tls_ca', 'tls_cert', 'tls_key' } do
    if o[k] then lines[#lines + 1] = k .. '=' .. o[k] end
  end
  if o.tls then lines[#lines + 1] = 'tls=1' end
  local h = nats.connect(table.concat(lines, '\n'))
  if setup then
    local ok, e = pcall(setup, nats, h)
    if not ok then
      nats.close(h)
      error(e, 0)
    end
  end
  return nats, h
end

local function say(...)
  io.stderr:write(string.format(...), '\n')
end

-- ---- shipping -----------------------------------------------------------------------------

local function ship_cursor()
  for _i, c in ipairs(bus.consumers()) do
    if c.name == M.SHIP_CONSUMER then return c.cursor end
  end
  return 0
end

-- This database's federation name: given once (o.as), then kept.
local function ship_name(o)
  define_ship()
  local r = db.fed_ship:get('self')
  if r and o.as and r.name ~= o.as then
    fail(string.format(_('federation ship: this database ships as %s, not %s (one database is one federation)'), r.name, o.as), 2)
  end
  if not r then
    if not o.as then fail(_('federation ship: give --as NAME, the federation this database is (like haining)'), 2) end
    M.check_name(o.as, 'federation ship --as')
    r = { id = 'self', name = o.as, shipped = 0, last_seq = 0, updated = 0 }
    db.fed_ship:put(r)
  end
  return r.name
end

-- The loop of ship and receive: connect() --> nats, h (again after a
-- failure); pass() moves one batch and returns how much it moved and how
-- long to wait (ms) when that was nothing. Without o.follow an error is
-- raised and a pass that moved nothing ends the loop; with o.follow it runs
-- for ever: a failed connect waits 500 ms, a failed pass drops what it
-- fetched unacked, closes the connection (saying `retry`, a format taking
-- the error) and waits 200 ms. A pass may return a third value, true when
-- it moved nothing but knows more is there (a pull consumer that NATS has
-- not yet filled): the loop then waits and goes on even without o.follow. Nothing is lost: a pass moves its cursor
-- only after the acks.
-- NATS's "k=v\n" info lines as a table (numbers as integers)
local function kv(s)
  local t = {}
  for k, v in (s or ''):gmatch('([%w_]+)=([^\n]*)') do t[k] = math.tointeger(tonumber(v)) or v end
  return t
end

local function run_loop(o, connect, pass, retry)
  local nats, h
  while true do
    if not h then
      local ok, e = pcall(function() nats, h = connect() end)
      if not ok then
        if not o.follow then error(e, 0) end
        say('%s', tostring(e))
        nats = nats or require 'nats'
        nats.sleep(500)
        goto continue
      end
    end
    do
      local ok, got, idle, more = pcall(pass)
      if not ok then
        nats.drop_held(h)
        if not o.follow then error(got, 0) end
        say(retry, tostring(got))
        nats.close(h)
        h = nil
        nats.sleep(200)
      elseif got == 0 then
        if not o.follow and not more then break end
        nats.sleep(idle)
      end
    end
    ::continue::
  end
  if h then nats.close(h) end
end

-- Ships the log after the cursor; with o.follow, for ever. Returns events
-- read, messages published.
function M.ship(o)
  o = o or {}
  local name = ship_name(o)
  local topics = M.topics()
  bus.consumer(M.SHIP_CONSUMER, '**', function()
    error(_('federation-ship is run by gonghui federation ship, not by gonghui events run'))
  end)
  local nats, h
  local batch = o.batch or 1000
  local cache = { members = has_members() }
  local read, published = 0, 0
  local function connect()
    nats, h = M.connect(o, 'ship ' .. name, function(n, c)
      n.stream(c, M.stream_of(name), M.subject_of(name, '>'), o.replicas or 1, (o.dup_window or 600) * 1000)
    end)
    return nats, h
  end
  local function one_batch()
    local from = ship_cursor() + 1
    local evs = bus.events{ from = from, limit = batch }
    if #evs == 0 then return 0 end
    local n = 0
    for _i, ev in ipairs(evs) do
      local d = topics[ev.topic]
      local body = d and M.view(name, d, ev, cache)
      if body ~= nil then
        local msg = M.encode{ fed = name, seq = ev.seq, topic = ev.topic, time = ev.time,
                              view = d.view, body = body }
        nats.publish(h, M.subject_of(name, ev.topic), name .. ':' .. ev.seq, msg)
        n = n + 1
      end
    end
    if n > 0 then nats.complete(h, o.ack_timeout or 30000) end
    local last = evs[#evs].seq
    -- only now, after every ack: the cursor and the tally, one transaction
    db.atomic(function()
      bus.replay(M.SHIP_CONSUMER, last + 1)
      local r = db.fed_ship:get('self')
      r.shipped = r.shipped + n
      if n > 0 then r.last_seq = last end
      r.updated = os.time()
      db.fed_ship:put(r)
    end)
    read, published = read + #evs, published + n
    return #evs
  end
  run_loop(o, connect, function() return one_batch(), o.poll or 200 end,
           _('federation ship: %s (trying again; nothing is lost)'))
  return read, published
end

-- ---- receiving --------------------------------------------------------------------------------

local function define_recv()
  db.define('fed_sources', {
    key = 'name',
    fields = { name = 'string', title = 'string?', added = 'int', removed = 'int?' },
  })
  db.define('fed_events', {
    key = 'id',
    fields = { id = 'string', federation = 'string', seq = 'int', topic = 'string', time = 'int',
               view = 'string', year = 'int?', body = 'any' },
    index = { 'federation', 'year' },
  })
  db.define('fed_state', {
    key = 'name',
    fields = { name = 'string', received = 'int', last_seq = 'int', duplicates = 'int',
               refused = 'int', updated = 'int' },
  })
end

function M.key_of(name, seq)
  return string.format('%s/%012d', name, seq)
end

function M.add(name, title)
  define_recv()
  M.check_name(name, 'federation add')
  local r = db.fed_sources:get(name)
  db.fed_sources:put{ name = name, title = title or (r and r.title), added = r and r.added or os.time() }
  return not r or r.removed ~= nil
end

-- Stops receiving `name` (its events stay unless purge). With a connection,
-- its durable consumer is deleted too.
function M.remove(name, purge, nats, h, durable)
  define_recv()
  local r = db.fed_sources:get(name)
  if not r then
    fail(string.format(_('federation remove: %s is not a federation received here (gonghui federation status lists them)'), name), 2)
  end
  local n = 0
  db.atomic(function()
    r.removed = os.time()
    db.fed_sources:put(r)
    if purge then
      local ids = {}
      for e in db.fed_events:scan{ federation = name } do ids[#ids + 1] = e.id end
      for _i, id in ipairs(ids) do db.fed_events:delete(id) end
      n = #ids
      db.fed_state:delete(name)
    end
  end)
  if nats then nats.delete_consumer(h, M.stream_of(name), durable) end
  return n
end

function M.sources(all)
  define_recv()
  local out = {}
  for r in db.fed_sources:scan() do
    if all or r.removed == nil then out[#out + 1] = r:totable() end
  end
  return out
end

-- Messages of a fetch (nats.fetch's packing).
local function unpack_msgs(s)
  local out, pos = {}, 1
  while pos <= #s do
    local m = {}
    m.subject, m.id, m.data, m.stream_seq, m.delivered, pos = unpack('<s4s4s4I8I8', s, pos)
    out[#out + 1] = m
  end
  return out
end

-- Stores one fetched batch of federation `name` in one transaction.
-- Returns stored, duplicates, refused.
local function store_batch(name, msgs)
  local stored, dups, refused = 0, 0, 0
  db.atomic(function()
    local r = db.fed_state:get(name)
    local st = { name = name, received = r and r.received or 0, last_seq = r and r.last_seq or 0,
                 duplicates = r and r.duplicates or 0, refused = r and r.refused or 0 }
    for _i, m in ipairs(msgs) do
      local v, why = M.decode(m.data)
      if v and (v.fed ~= name or math.type(v.seq) ~= 'integer' or type(v.topic) ~= 'string'
                or m.id ~= name .. ':' .. v.seq) then
        v, why = nil, _('names another federation or sequence than its stream and id')
      end
      if not v then
        refused = refused + 1
        say(_('federation receive: %s message %s refused: %s'), name, m.id, why)
      else
        local id = M.key_of(name, v.seq)
        if db.fed_events:get(id) then
          dups = dups + 1
        else
          local body = v.body
          db.fed_events:insert{ id = id, federation = name, seq = v.seq, topic = v.topic,
                                time = math.type(v.time) == 'integer' and v.time or 0,
                                view = tostring(v.view), body = body,
                                year = type(body) == 'table' and math.type(body.year) == 'integer' and body.year or nil }
          stored = stored + 1
          if v.seq > st.last_seq then st.last_seq = v.seq end
        end
      end
    end
    st.received = st.received + stored
    st.duplicates = st.duplicates + dups
    st.refused = st.refused + refused
    st.updated = os.time()
    db.fed_state:put(st)
  end)
  return stored, dups, refused
end

function M.durable(o)
  local level = o.level or 'up'
  M.check_name(level, 'federation receive --level')
  return 'recv_' .. level
end

-- Receives every added federation's new events; with o.follow, for ever.
-- Returns stored, duplicates, refused.
function M.receive(o)
  o = o or {}
  define_recv()
  local durable = M.durable(o)
  local nats, h
  local total = { 0, 0, 0 }
  -- each fetch takes what its stream has now (an empty one waits `wait`
  -- ms: short, so that 90 streams, most of them drained, cost little); a
  -- pass that found nothing anywhere waits `poll` ms (follow) or ends
  local batch, wait, poll = o.batch or 1000, o.wait or 20, o.poll or 200
  local ack_wait = (o.ack_wait or 30) * 1000
  local quiet = {}
  run_loop(o, function()
    nats, h = M.connect(o, 'receive ' .. durable)
    return nats, h
  end, function()
    local srcs = M.sources()
    local got = 0
    for _i, src in ipairs(srcs) do
      local name = src.name
      local ok, e = pcall(function()
        local packed = nats.fetch(h, M.stream_of(name), durable, M.subject_of(name, '>'), batch, wait, ack_wait)
        if #packed > 0 then
          local msgs = unpack_msgs(packed)
          local a, b, c = store_batch(name, msgs)
          nats.ack(h)   -- after the commit: a crash before it means a redelivery, skipped
          total[1], total[2], total[3] = total[1] + a, total[2] + b, total[3] + c
          got = got + #msgs
        end
      end)
      if not ok then
        nats.drop_held(h)
        -- a federation that has shipped nothing yet has no stream: the others go on
        if not tostring(e):find('stream not found', 1, true) then error(e, 0) end
        if not quiet[name] then
          say(_('federation receive: %s has shipped nothing yet (no stream %s)'), name, M.stream_of(name))
          quiet[name] = true
        end
      end
    end
    -- a fetch that found nothing in `wait` ms does not mean the stream is
    -- drained: a consumer just made (the first receive, or after replay)
    -- or a loaded server may be slower than that. Without follow, receive
    -- ends only when NATS says nothing is left for this consumer (neither
    -- pending nor delivered unacked, which come again after ack_wait).
    local more = false
    if got == 0 and not o.follow then
      for _i, src in ipairs(srcs) do
        local ok, left = pcall(function()
          local ci = kv(nats.consumer_info(h, M.stream_of(src.name), durable))
          if ci.pending then return ci.pending + (ci.ack_pending or 0) end
          return kv(nats.stream_info(h, M.stream_of(src.name))).msgs or 0   -- no consumer yet
        end)
        if ok and left > 0 then more = true; break end
      end
    end
    return got, #srcs == 0 and 1000 or (more and wait or poll), more
  end, _('federation receive: %s (trying again; nothing is lost)'))
  return total[1], total[2], total[3]
end

-- Forget what was received of `name` from sequence `from` on, so that the
-- next receive stores it again from the stream (the durable consumer is
-- deleted: it starts again at the stream's beginning; what is kept is
-- skipped as received).
function M.replay_received(name, from, nats, h, durable)
  define_recv()
  if not db.fed_sources:get(name) then
    fail(string.format(_('federation replay: %s is not a federation received here (gonghui federation status lists them)'), name), 2)
  end
  local n = 0
  db.atomic(function()
    local ids = {}
    for e in db.fed_events:scan{ federation = name } do
      if e.seq >= from then ids[#ids + 1] = e.id end
    end
    for _i, id in ipairs(ids) do db.fed_events:delete(id) end
    n = #ids
    local st = db.fed_state:get(name)
    if st then
      local last = 0
      for e in db.fed_events:scan{ federation = name } do if e.seq > last then last = e.seq end end
      st.received = st.received - n
      st.last_seq = last
      db.fed_state:put(st)
    end
  end)
  if nats then nats.delete_consumer(h, M.stream_of(name), durable) end
  return n
end

-- ---- status -------------------------------------------------------------------------------------

-- { ship = {...} | nil, sources = { {...}, ... } }; with a connection, what
-- NATS has too (the stream's last message, the receiver's pending).
function M.status(nats, h, durable)
  local out = { sources = {} }
  local names = {}
  for _i, n in ipairs(db.collections()) do names[n] = true end
  if names.fed_ship then
    local r = db.fed_ship:get('self')
    if r then
      local cur = ship_cursor()
      out.ship = { name = r.name, cursor = cur, last = bus.last(), lag = bus.last() - cur,
                   shipped = r.shipped, last_seq = r.last_seq, updated = r.updated }
      if nats then
        local id = nats.last_msg_id(h, M.stream_of(r.name), M.subject_of(r.name, '>'))
        out.ship.in_stream = math.tointeger(tonumber(id:match(':(%d+)$') or ''))
      end
    end
  end
  if names.fed_sources then
    for r in db.fed_sources:scan() do
      local st = names.fed_state and db.fed_state:get(r.name)
      local s = { name = r.name, title = r.title, removed = r.removed ~= nil,
                  received = st and st.received or 0, last_seq = st and st.last_seq or 0,
                  duplicates = st and st.duplicates or 0, refused = st and st.refused or 0,
                  updated = st and st.updated }
      if nats and not s.removed then
        local ok, e = pcall(function()
          local id = nats.last_msg_id(h, M.stream_of(r.name), M.subject_of(r.name, '>'))
          s.shipped_seq = math.tointeger(tonumber(id:match(':(%d+)$') or ''))
          local ci = kv(nats.consumer_info(h, M.stream_of(r.name), durable))
          local si = kv(nats.stream_info(h, M.stream_of(r.name)))
          s.pending = ci.pending or si.msgs
          s.ack_pending = ci.ack_pending
        end)
        if not ok then s.problem = tostring(e) end
      end
      out.sources[#out.sources + 1] = s
    end
  end
  return out
end

function M.format_status(st)
  local lines = {}
  if st.ship then
    local s = st.ship
    lines[#lines + 1] = string.format(_('shipping as %s: cursor %d of %d (lag %d), %d messages shipped, last sequence shipped %d%s'),
      s.name, s.cursor, s.last, s.lag, s.shipped, s.last_seq,
      s.in_stream and string.format(_(', the stream has up to %d'), s.in_stream) or '')
  end
  if #st.sources > 0 then
    local rows = {}
    for _i, s in ipairs(st.sources) do
      rows[#rows + 1] = { s.name .. (s.removed and _(' (removed)') or ''), s.received, s.last_seq,
                          s.shipped_seq or '-', s.pending or '-', s.duplicates, s.refused,
                          s.problem or '' }
    end
    if #lines > 0 then lines[#lines + 1] = '' end
    lines[#lines + 1] = fmt.table({ _('federation'), _('received'), _('last seq'), _('shipped seq'),
                                    _('lag'), _('duplicates'), _('refused'), '' }, rows,
                                  { right = { 2, 3, 4, 5, 6, 7 } })
  end
  if #lines == 0 then
    lines[1] = _('this database neither ships nor receives (gonghui federation ship --as NAME, or federation add NAME)')
  end
  return table.concat(lines, '\n')
end

-- ---- the report across federations ------------------------------------------------------

-- The facts of `year` received, as year_report counts them: member and
-- household are the pseudonyms (distinct per province), entries and
-- sessions carry their federation.
function M.facts(year, name)
  define_recv()
  local out = {}
  for e in db.fed_events:scan{ year = year } do
    if e.view == 'fact' and (name == nil or e.federation == name) then
      local b = e.body
      out[#out + 1] = { program = b.program, label = b.label, year = b.year, member_id = b.member,
                        household = b.household, money_fen = b.money_fen or 0, session = b.session,
                        town = b.town, enterprise_id = b.enterprise, station = b.station,
                        entry = b.entry, reverses = b.reverses, federation = e.federation }
    end
  end
  return out
end

-- { year, total = cell, federation = { [name] = cell }, program = {...}, names = {...} }
function M.report(year)
  local facts = M.facts(year)
  local all = yr.count(facts)
  local by = {}
  for _i, f in ipairs(facts) do
    by[f.federation] = by[f.federation] or {}
    table.insert(by[f.federation], f)
  end
  local feds, names = {}, {}
  for name, list in pairs(by) do
    feds[name] = yr.count(list)
    names[#names + 1] = name
  end
  for _i, s in ipairs(M.sources(true)) do
    if not feds[s.name] then feds[s.name] = yr.count({}); names[#names + 1] = s.name end
  end
  table.sort(names)
  return { year = year, total = all.total, all = all, federation = feds, names = names }
end

-- The ten-things report across the federations: each line counted per
-- federation and in all (a person once), by ten_things.lua's own rules.
-- lines: as ten_things.build takes them. { year, lines, names, federation =
-- { [name] = counted }, all = counted }
function M.ten(year, lines)
  define_recv()
  local ten = require 'ten_things'
  local by, all, names = {}, {}, {}
  for _i, s in ipairs(M.sources(true)) do by[s.name] = {}; names[#names + 1] = s.name end
  for e in db.fed_events:scan{ year = year } do
    local t = e.view == 'fact' and e.body.ten
    if type(t) == 'table' and tostring(t.day):sub(1, 4) == tostring(year) then
      local f = { program = t.program, kind = t.kind, day = t.day, member_id = e.body.member,
                  heads = t.heads or 0, qty = t.qty or 0, fen = t.fen or 0, session = t.session,
                  enterprise_id = t.enterprise, station = e.body.station, entry = t.entry,
                  reverses = t.reverses }
      if not by[e.federation] then by[e.federation] = {}; names[#names + 1] = e.federation end
      table.insert(by[e.federation], f)
      all[#all + 1] = f
    end
  end
  table.sort(names)
  local out = { year = year, lines = lines, names = names, federation = {}, all = ten.count(lines, all) }
  for _i, n in ipairs(names) do out.federation[n] = ten.count(lines, by[n]) end
  return out
end

function M.format_ten(rep)
  local ten = require 'ten_things'
  local out = { string.format(_('%d年%s — across %d federations (ten things)'), rep.year, rep.lines.title or '',
                              #rep.names) }
  for i, l in ipairs(rep.lines.lines) do
    local c = rep.all.lines[i]
    if c.cell.entries > 0 or not l.optional then
      out[#out + 1] = ''
      out[#out + 1] = string.format('%d. %s：%s', i, l.title, ten.says(l, c))
      local rows = {}
      for _i, n in ipairs(rep.names) do
        local x = rep.federation[n].lines[i].cell
        rows[#rows + 1] = { n, x.sessions, x.enterprises, x.person_times, x.persons, fmt.yuan(x.fen) }
      end
      local x = c.cell
      rows[#rows + 1] = { _('all (persons once)'), x.sessions, x.enterprises, x.person_times, x.persons, fmt.yuan(x.fen) }
      out[#out + 1] = fmt.table({ _('federation'), _('sessions'), _('enterprises'), _('person-times'), _('persons'),
                                  _('yuan') }, rows, { right = { 2, 3, 4, 5, 6 } })
    end
  end
  return table.concat(out, '\n')
end

local function cells(c)
  return { c.sessions, c.persons, c.person_times, c.household_times, fmt.yuan(c.money_fen) }
end

function M.format_report(rep)
  local head = { '联合会 federation', '场次 sessions', '人 persons', '人次 person-times',
                 '户次 household-times', '金额(元) yuan' }
  local rows = {}
  for _i, n in ipairs(rep.names) do
    local r = cells(rep.federation[n].total)
    table.insert(r, 1, n)
    rows[#rows + 1] = r
  end
  local t = cells(rep.total)
  table.insert(t, 1, _('all (persons once)'))
  rows[#rows + 1] = t
  local out = { string.format(_('%d年 为职工办实事 — year report %d across %d federations'), rep.year, rep.year, #rep.names),
                '', fmt.table(head, rows, { right = { 2, 3, 4, 5, 6 } }) }
  local prow = {}
  for _i, r in ipairs(yr.rows({ log = rep.all, enterprise_names = {} }, 'program')) do
    local c = cells(r.cell)
    table.insert(c, 1, r.name)
    prow[#prow + 1] = c
  end
  if #prow > 0 then
    local ph = { '项目 program' }
    for i = 2, #head do ph[#ph + 1] = head[i] end
    out[#out + 1] = ''
    out[#out + 1] = fmt.table(ph, prow, { right = { 2, 3, 4, 5, 6 } })
  end
  return table.concat(out, '\n')
end

return M
