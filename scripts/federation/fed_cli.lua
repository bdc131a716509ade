-- fed_cli.lua — what `gonghui federation ...` runs (core/cli_fed.c turns
-- the command's options into these parameters; the logic is in
-- scripts/lib/federation.lua):
--
--   cmd=ship    as=NAME nats=URLS [follow=yes] [batch=N] [replicas=N] [dup_window=SECS]
--   cmd=receive nats=URLS [level=NAME] [follow=yes] [batch=N] [ack_wait=SECS]
--   cmd=add     name=NAME [title=TEXT]
--   cmd=remove  name=NAME [purge=yes] [nats=URLS level=NAME]
--   cmd=status  [nats=URLS level=NAME]
--   cmd=replay  from=SEQ|TIME                     (the shipper: ship again from there)
--   cmd=replay  name=NAME from=SEQ [nats=URLS]     (the receiver: receive NAME again from SEQ)
--   cmd=report  year=YYYY [ten=yes [lines=FILE.lua]]   (the year report, or the ten-things report)
-- and creds=FILE, tls_ca=FILE, tls_cert=FILE, tls_key=FILE, tls=yes for NATS.
local fed = require 'federation'

local p = params
local cmd = p.cmd
local function yes(v) return v == 'yes' or v == true end
local function opts()
  return { as = p.as and tostring(p.as), nats = p.nats, creds = p.creds, tls_ca = p.tls_ca,
           tls_cert = p.tls_cert, tls_key = p.tls_key, tls = yes(p.tls), follow = yes(p.follow),
           batch = p.batch, replicas = p.replicas, dup_window = p.dup_window, ack_wait = p.ack_wait,
           level = p.level, wait = p.wait }
end

if cmd == 'ship' then
  local read, published = fed.ship(opts())
  print(string.format(_('federation ship: %d events read, %d messages shipped and acked'), read, published))
elseif cmd == 'receive' then
  local o = opts()
  if #fed.sources() == 0 then
    run.fail(_('federation receive: no federation to receive yet (gonghui federation add NAME first)'))
  end
  local stored, dups, refused = fed.receive(o)
  print(string.format(_('federation receive: %d events stored, %d duplicates skipped, %d refused'), stored, dups, refused))
elseif cmd == 'add' then
  local new = fed.add(tostring(p.name), p.title)
  print(string.format(new and _('federation %s added: gonghui federation receive takes its events now')
                          or _('federation %s: already received here'), p.name))
elseif cmd == 'remove' then
  local nats, h
  if p.nats then nats, h = fed.connect(opts(), 'remove') end
  local n = fed.remove(tostring(p.name), yes(p.purge), nats, h, nats and fed.durable(opts()))
  print(string.format(_('federation %s removed: no longer received (%d events deleted)'), p.name, n))
elseif cmd == 'status' then
  local nats, h
  if p.nats then nats, h = fed.connect(opts(), 'status') end
  print(fed.format_status(fed.status(nats, h, nats and fed.durable(opts()))))
elseif cmd == 'replay' then
  if p.name then
    local from = math.tointeger(p.from)
    if not from or from < 1 then run.fail(_('federation replay NAME: --from takes a sequence number (1 or more)')) end
    local nats, h
    if p.nats then nats, h = fed.connect(opts(), 'replay') end
    local n = fed.replay_received(tostring(p.name), from, nats, h, nats and fed.durable(opts()))
    print(string.format(_('federation %s: %d events from %d on forgotten; the next receive takes them again'), p.name, n, from))
  else
    bus.consumer(fed.SHIP_CONSUMER, '**', function() end)
    local cur = bus.replay(fed.SHIP_CONSUMER, p.from)
    print(string.format(_('federation ship: the next ship starts after sequence %d'), cur))
  end
elseif cmd == 'report' then
  local year = math.tointeger(p.year)
  if not year then run.fail(_('federation report: --year takes a year like 2025')) end
  if p.ten == 'yes' then
    -- a data file: read as text from the folder gonghui federation lets this
    -- run read (--in), then loaded as text
    local file = p.lines or p.lines_default
    local f, err = io.open(file)
    local chunk
    if f then
      chunk, err = load(f:read('a'), '@' .. file, 't')
      f:close()
    end
    if not chunk then run.fail(_('federation report --ten: the lines: ') .. tostring(err)) end
    print(fed.format_ten(fed.ten(year, chunk())))
  else
    print(fed.format_report(fed.report(year)))
  end
else
  run.fail(_('federation: give cmd=ship, receive, add, remove, status, replay or report (gonghui help federation)'))
end
