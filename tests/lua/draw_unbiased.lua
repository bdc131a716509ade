-- draw_unbiased.lua — issue 16, "a draw nobody can bias" (scripts/lib/
-- program/draw.lua, gonghui-draw-v2): grinding the organiser's seed no
-- longer chooses winners (it did under the seed alone: shown first); the
-- list closes at the host's clock before the public value is due; the
-- value is recorded once and the draw never runs again with another; late
-- entrants stay out; commitments come before the close; a record or a
-- stored row changed afterwards is found.
local t = require 'testlib'
local fx = require 'program_fixtures'
local program = require 'program'
local L = plugin.load 'lottery'
local registry = require 'registry'
local function idn(i)
  local body = string.format('33048219800101%03d', i)
  return body .. registry.id_check_char(body)
end

fx.load()
-- 30 more active members: 40 in all may enter
db.atomic(function()
  for i = 101, 130 do
    db.members:insert{ member_id = i, name = '会员' .. i, gender = 'M', birth_date = '1980-01-01',
                       town = '硖石街道', category = 'factory', status = 'active', union_id = 11,
                       employment_form = 'standard', enterprise_id = 1, join_date = '2010-01-01', id_number = idn(i), phone = string.format('139%08d', i) }
  end
end)

local function plan(id)
  return { id = id, title = '疗休养', year = 2025, window = { from = '2025-01-01', to = '2025-12-31' },
           kinds = { { kind = 'bed', title = '床位', stock = 3, per_member = 1 } },
           who = { where = { status = 'active' } } }
end
local SOURCE = '福彩3D 2025年第120期 开奖号码'
local TARGET = 105   -- the member the organiser wants to win
local function wins(winners, id) return ('\n' .. winners):find('\n' .. id .. '\n', 1, true) ~= nil end

t.case('grinding: under a seed alone a few tries choose the winner; with the public value they do not', function()
  local P = program.define(plan('grind'))
  local ids = {}
  for m in P:members('bed') do ids[#ids + 1] = m.member_id end
  local list = L.canonical(table.concat(ids, '\n'))
  t.eq(L.count(list), 40)
  -- the issue's attack on the old scheme: the list is known, so try seeds until TARGET wins
  local found
  for i = 1, 400 do
    local s = string.format('organiser-seed-%06d', i)
    if wins(L.draw(list, s, 'grind:bed#1', 3), TARGET) then found = i break end
  end
  t.ok(found and found < 400, 'a seed alone is ground in a few tries')
  -- now: the organiser grinds a seed against a guess of the public value...
  local lc = L.list_hash(list) .. '\n'
  local function seed_of(value, s) return L.derive_seed('grind:bed', lc, SOURCE, value, 'organiser=' .. s .. '\n') end
  local ground
  for i = 1, 400 do
    local s = string.format('organiser-seed-%06d', i)
    if wins(L.draw(list, seed_of('1 2 3', s), 'grind:bed#1', 3), TARGET) then ground = s break end
  end
  t.ok(ground, 'a seed that suits the guess')
  -- ...but the value is announced after the list closes: over 100 possible values, TARGET
  -- wins about as often as anyone (3 of 40 places: 7.5 %), not always
  local n = 0
  for v = 0, 99 do
    local value = string.format('%d %d %d', v // 100, v // 10 % 10, v % 10)
    if wins(L.draw(list, seed_of(value, ground), 'grind:bed#1', 3), TARGET) then n = n + 1 end
  end
  io.stderr:write('      the ground seed makes member ', TARGET, ' win under ', n, ' of 100 public values\n')
  t.ok(n < 30, 'grinding the seed does not carry over to the real value: ' .. n .. ' of 100')
  -- and the real draw follows the real value
  P:commit_draw('bed', L.seed_commit(ground))
  local after = t.host_after(2)
  local c = P:close_draw('bed', { public = SOURCE, after = after })
  t.eq(c.tiers[1].list_commitment .. '\n', lc, 'the closed list is the one ground against')
  t.wait_host(after)
  local d = P:draw('bed', { public = '7 0 4', seed = ground, at = '2025-05-01 10:00:00' })
  t.eq(d.tiers[1].winners, L.draw(list, seed_of('7 0 4', ground), 'grind:bed#1', 3))
  t.eq({ P:verify_draw('bed') }, { true })
end)

t.case('the list closes before the value is due, by the host clock; each step once', function()
  local P = program.define(plan('order'))
  local past = os.date('%Y-%m-%d %H:%M', run.host_time() - 3600)
  t.unchanged(function() P:close_draw('bed', { public = SOURCE, after = past }) end, { 'which is not after now' })
  t.unchanged(function() P:close_draw('bed', { public = SOURCE, after = '2025-02-30 20:00' }) end, { 'no such date' })
  t.unchanged(function() P:close_draw('bed', { after = t.host_after(60) }) end, { 'name the public value' })
  t.raises(function() P:draw('bed', { public = '1 2 3' }) end, 'close the entrant list first')
  local far = t.host_after(3600)
  local c = P:close_draw('bed', { public = SOURCE, after = far })
  t.ok(c.closed_at:match('^%d%d%d%d%-%d%d%-%d%dT%d%d:%d%d:%d%dZ$'), 'closed at the host clock, in UTC: ' .. c.closed_at)
  t.eq(P:close_draw('bed', { public = SOURCE }).closed_at, c.closed_at, 'closing again returns it')
  t.raises(function() P:close_draw('bed', { public = 'another lottery', after = far }) end, 'it cannot change')
  t.raises(function() P:commit_draw('bed', L.seed_commit('a-late-seed-16-chars-or-more')) end, 'too late to commit')
  t.raises(function() P:draw('bed', 'a-seed-of-sixteen-chars') end, 'is a draw nobody can bias')   -- no seed alone now
  -- a member who joins after the close is not in the list
  db.members:insert{ member_id = 140, name = '迟到', gender = 'F', birth_date = '1990-01-01', town = '许村镇',
                     category = 'factory', status = 'active', union_id = 21, employment_form = 'standard',
                     enterprise_id = 1, join_date = '2010-01-01', id_number = idn(140), phone = '13900000140' }
  t.ok(not ('\n' .. c.tiers[1].entrants):find('\n140\n', 1, true))
  t.eq(P:draw_row('bed').tiers[1].n, 40)
  -- the value is not known yet: refused, nothing recorded
  t.unchanged(function() P:draw('bed', { public = '1 2 3' }) end, { 'is not known before' })
  t.unchanged(function() P:enter_public('bed', '1 2 3') end, { 'is not known before' })
end)

t.case('the public value is recorded once: no draw again with another', function()
  local P = program.define(plan('once'))
  local after = t.host_after(2)
  P:close_draw('bed', { public = SOURCE, after = after })
  t.wait_host(after)
  P:enter_public('bed', '4 4 1')
  t.unchanged(function() P:enter_public('bed', '4 4 2') end, { "recorded at", "as '4 4 1'", "'4 4 2'" })
  t.unchanged(function() P:draw('bed', { public = '4 4 2' }) end, { 'cannot be replaced' })
  local d = P:draw('bed', { at = '2025-05-01 10:00:00' })   -- the recorded value
  t.eq(d.public_value, '4 4 1')
  t.raises(function() P:draw('bed', { public = '4 4 2' }) end, "was drawn with the public value '4 4 1'")
  t.eq({ P:verify_draw('bed') }, { true })
  -- a checker who saw another value announced is told
  local ok, why = P:verify_draw('bed', { public_value = '4 4 2' })
  t.ok(not ok and why:find('the seed is not the one', 1, true), why)
  -- the value as a checker types or pastes it: spaces (full-width too) are
  -- the draw's own normalising, not another value
  t.eq({ P:verify_draw('bed', { public_value = '  4\u{3000}4   1 ' }) }, { true })
end)

t.case('a record or a stored row changed afterwards is found', function()
  local P = program.define(plan('tamper'))
  P:commit_draw('bed', L.seed_commit('committee-seed-16-chars+'), { party = 'committee' })
  local after = t.host_after(2)
  P:close_draw('bed', { public = SOURCE, after = after })
  t.wait_host(after)
  t.raises(function() P:draw('bed', { public = '9 9 9' }) end, 'committee committed to a seed')
  t.raises(function() P:draw('bed', { public = '9 9 9', seeds = { committee = 'committee-seed-16-chars+', x = 'another-party-seed-16' } }) end,
           'x committed to no seed')
  P:draw('bed', { public = '9 9 9', seeds = { committee = 'committee-seed-16-chars+' }, at = '2025-05-01 10:00:00' })
  local rec = P:draw_record('bed')
  t.eq({ program.verify_draw_record(rec) }, { true })
  local text = require('program.draw').record_text(rec)
  local back = require('program.draw').parse_record(text)
  t.eq({ program.verify_draw_record(back) }, { true }, 'the text form reads back')
  -- the record's closing moved after the value was due
  local r2 = require('program.draw').parse_record(text:gsub('closed_at: [^\n]+', 'closed_at: ' .. rec.public_at))
  local ok, why = program.verify_draw_record(r2)
  t.ok(not ok and why:find('not before the public value was due', 1, true), why)
  -- a commitment dated after the close
  r2 = require('program.draw').parse_record(text:gsub('commitment%.committee%.at: [^\n]+', 'commitment.committee.at: 2099-01-01T00:00:00Z'))
  ok, why = program.verify_draw_record(r2)
  t.ok(not ok and why:find('was not made before the list closed', 1, true), why)
  -- an entrant added to the stored list, its commitment recomputed (someone with the
  -- database): the closing in the event log says otherwise
  local row = P:draw_row('bed')
  local tiers = row.tiers
  tiers[1].entrants = L.canonical(tiers[1].entrants .. '999\n')
  tiers[1].list_commitment = L.list_hash(tiers[1].entrants)
  tiers[1].n = tiers[1].n + 1
  tiers[1].winners = L.draw(tiers[1].entrants, L.derive_seed('tamper:bed', tiers[1].list_commitment .. '\n', SOURCE,
                                                             '9 9 9', 'committee=committee-seed-16-chars+\n'),
                            'tamper:bed#1', 3)
  local seed = L.derive_seed('tamper:bed', tiers[1].list_commitment .. '\n', SOURCE, '9 9 9',
                             'committee=committee-seed-16-chars+\n')
  db.program_draws:update('tamper:bed', { tiers = tiers, seed = seed })
  t.eq({ program.verify_draw_record(P:draw_record('bed')) }, { true }, 'consistent in itself...')
  ok, why = P:verify_draw('bed')
  t.ok(not ok and why:find('event log', 1, true), why)
end)

t.done()
