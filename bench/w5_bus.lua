-- bench/w5_bus.lua — W5: the event bus.
--
--   gonghui --db DIR run bench/w5_bus.lua mode=inprocess|durable|catchup [n=1000000] [batch=10000]
--   lua5.4 bench/w5_bus.lua mode=plain [n=1000000]      (also runs under gonghui run)
--
-- mode=inprocess  n x bus.emit('member.paid', id) to 3 subscribers registered
--                 with bus.on, doing what the C baseline's dispatch handlers do:
--                 count; add the amount (20000 fen); hash the member id
--                 (h = (h ~ id) * 1099511628211, from 1469598103934665603).
--                 Nothing is stored.
-- mode=durable    n x bus.publish('member.paid', id), `batch` events per
--                 db.atomic (one commit, one fsync each).
-- mode=catchup    a durable consumer (bus.consumer) from the start of the log
--                 the durable mode left, bus.run in batches of `batch`; the
--                 handler counts and sums the payloads (no writes besides the
--                 cursor).
-- mode=plain      the same three handlers called by a plain Lua loop over a
--                 list of functions: what Lua itself manages, no bus.
-- mode=inprocess_batch  the same three subscribers as batch handlers
--                 (bus.on(..., { batch = true })), n events sent as
--                 bus.emit_many of `batch` ids at a time.
-- mode=durable_batch    n events stored with bus.publish_many, `batch` per
--                 call (each call one transaction).
--
-- Prints "TIME w5 SECONDS events=N" (the loop's os.clock, CPU seconds) and
-- "cnt N sum S h HEX" (inprocess, plain: the C baseline prints the same
-- three values) or the check of what was stored; fails if the counts are off.

local P = rawget(_G, 'params')
if not P then -- plain lua5.4: name=value arguments
  P = {}
  for _, a in ipairs(rawget(_G, 'arg') or {}) do
    local k, v = a:match('^([%w_]+)=(.*)$')
    if k then P[k] = tonumber(v) or v end
  end
end
local mode = P.mode or 'inprocess'
local N = P.n or 1000000
local BATCH = P.batch or 10000
local AMOUNT = 20000

local function report(t0, extra)
  local dt = os.clock() - t0
  print(('TIME w5 %.6f events=%d'):format(dt, N))
  if extra then print(extra) end
  io.stderr:write(('w5 %s: %d events in %.3f s CPU = %.2f M events/s\n'):format(mode, N, dt, N / dt / 1e6))
end

local function check(cond, msg)
  if not cond then error('W5 (' .. mode .. '): ' .. msg, 2) end
end

if mode == 'inprocess' or mode == 'plain' then
  local cnt, sum, h = 0, 0, 1469598103934665603
  local function h_count(id) cnt = cnt + 1 end
  local function h_sum(id) sum = sum + AMOUNT end
  local function h_hash(id) h = (h ~ id) * 1099511628211 end
  local t0
  if mode == 'inprocess' then
    bus.on('member.paid', h_count)
    bus.on('member.paid', h_sum)
    bus.on('member.*', h_hash)
    local emit = bus.emit
    t0 = os.clock()
    for i = 1, N do emit('member.paid', i) end
  else
    local subs = { h_count, h_sum, h_hash }
    local function publish(topic, payload)
      for j = 1, #subs do subs[j](payload, topic) end
    end
    t0 = os.clock()
    for i = 1, N do publish('member.paid', i) end
  end
  report(t0, ('cnt %d sum %d h %x'):format(cnt, sum, h))
  check(cnt == N and sum == N * AMOUNT, 'counted ' .. cnt .. ', summed ' .. sum)
elseif mode == 'inprocess_batch' then
  local cnt, sum, h = 0, 0, 1469598103934665603
  bus.on('member.paid', function(ids) cnt = cnt + #ids end, { batch = true })
  bus.on('member.paid', function(ids) sum = sum + #ids * AMOUNT end, { batch = true })
  bus.on('member.*', function(ids)
    for i = 1, #ids do h = (h ~ ids[i]) * 1099511628211 end
  end, { batch = true })
  local emit_many, ids = bus.emit_many, {}
  local t0 = os.clock()
  local i = 0
  while i < N do
    local k = math.min(BATCH, N - i)
    for j = 1, k do ids[j] = i + j end
    for j = k + 1, #ids do ids[j] = nil end
    emit_many('member.paid', ids)
    i = i + k
  end
  report(t0, ('cnt %d sum %d h %x'):format(cnt, sum, h))
  check(cnt == N and sum == N * AMOUNT, 'counted ' .. cnt .. ', summed ' .. sum)
elseif mode == 'durable_batch' then
  local publish_many, ids = bus.publish_many, {}
  local first = bus.last() + 1
  local t0 = os.clock()
  local i = 0
  while i < N do
    local k = math.min(BATCH, N - i)
    for j = 1, k do ids[j] = i + j end
    for j = k + 1, #ids do ids[j] = nil end
    publish_many('member.paid', ids)
    i = i + k
  end
  report(t0, ('published %d, seq %d..%d'):format(N, first, bus.last()))
  check(bus.last() - first + 1 == N, 'the log grew by ' .. (bus.last() - first + 1))
elseif mode == 'durable' then
  local publish = bus.publish
  local first = bus.last() + 1
  local t0 = os.clock()
  local i = 0
  while i < N do
    local upto = math.min(i + BATCH, N)
    db.atomic(function()
      for id = i + 1, upto do publish('member.paid', id) end
    end)
    i = upto
  end
  report(t0, ('published %d, seq %d..%d'):format(N, first, bus.last()))
  check(bus.last() - first + 1 == N, 'the log grew by ' .. (bus.last() - first + 1))
elseif mode == 'catchup' then
  local cnt, sum = 0, 0
  bus.consumer('w5_catchup', 'member.*', function(ev)
    cnt = cnt + 1
    sum = sum + ev.payload
  end)
  local t0 = os.clock()
  local handled, parked = bus.run('w5_catchup', { batch = BATCH })
  report(t0, ('handled %d parked %d sum %d'):format(handled, parked, sum))
  check(handled == N and cnt == N and parked == 0, 'handled ' .. handled .. ' of ' .. N)
  check(sum == N * (N + 1) // 2, 'the payloads add up to ' .. sum)
else
  error(('mode must be inprocess, durable, catchup or plain, got %q'):format(tostring(mode)))
end
