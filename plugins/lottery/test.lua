-- plugins/lottery/test.lua — the lottery plugin through Lua (ctest: plugin_lottery).
-- The independent re-implementation in Python is checked by test_python.sh.
local lottery = require 'lottery'
local t = require 'testlib' -- tests/lua/testlib.lua (run_one.sh gives plugin tests its folder)
local case, eq, raises = t.case, t.eq, t.raises_all
local function lines(s)
  local t = {}
  for x in s:gmatch('[^\n]+') do t[#t + 1] = x end
  return t
end

local SEED = 'abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq' -- FIPS 180-2's second SHA-256 example
local SEED_SHA = '248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1'

-- pinned results, computed once by plugins/lottery/lottery_check.py (the
-- Python re-implementation), so that a change to the algorithm fails here
local PINNED_RED = '1371\n1686\n1021\n2337\n1868\n'
local PINNED_COUNTS3 = '999 1002 999'
local PINNED_COUNTS5 = '405 432 389 413 361'

-- 200 member ids, given out of order
local ids = {}
for i = 200, 1, -1 do ids[#ids + 1] = tostring(1000 + i * 7) end
local ENTRANTS = table.concat(ids, '\n')

case('seed_commit is the SHA-256 of the seed (the FIPS 180-2 example)', function()
  eq(lottery.seed_commit(SEED), SEED_SHA, 'seed commitment')
  raises(function() return lottery.seed_commit('2025') end, 'the seed has 4 bytes; use at least 16')
end)

case('canonical form: sorted bytewise, one id per line, each ending in a newline', function()
  eq(lottery.canonical('b\na\n10\n9\n张三\nZ'), '10\n9\nZ\na\nb\n张三\n', 'bytewise order')
  eq(lottery.canonical('a\nb\n'), lottery.canonical('b\na'), 'a final newline is optional')
  eq(lottery.count(ENTRANTS), 200, 'count')
  -- the list hash is the SHA-256 of the canonical form (whose text is long enough to be a seed)
  local canon = lottery.canonical(ENTRANTS)
  eq(lottery.list_hash(ENTRANTS), lottery.seed_commit(canon), 'list hash = SHA-256(canonical)')
  eq(lottery.list_hash(canon), lottery.list_hash(ENTRANTS), 'order does not matter')
  eq(lottery.list_hash('c\na\nb\nd\ne\n'), '86dc03602dcf385217216784784a8ecf20e6400decc3208170b12fcb0afb6698',
     'pinned hash of a\\nb\\nc\\nd\\ne\\n')
end)

case('bad entrant lists are refused with the line', function()
  raises(function() return lottery.draw('', SEED, 'p', 1) end, 'entrants: the list is empty')
  raises(function() return lottery.list_hash('\n') end, 'line 1 is empty')
  raises(function() return lottery.list_hash('a\n\nb') end, 'line 2 is empty')
  raises(function() return lottery.list_hash('a\nb\na\n') end, "'a' appears twice (lines 1 and 3)")
  raises(function() return lottery.list_hash('a\r\nb\r\n') end, 'a CRLF file')
  raises(function() return lottery.list_hash('a\nb c') end, "line 2 ('b...') contains a space (byte 0x20 at column 2)")
  raises(function() return lottery.list_hash('a\nb\tc') end, 'a control character (byte 0x09 at column 2)')
end)

case('the draw is deterministic and fixed: pinned winners', function()
  local w = lottery.draw(ENTRANTS, SEED, '现金红包', 5)
  eq(w, lottery.draw(ENTRANTS, SEED, '现金红包', 5), 'same inputs, same winners')
  eq(w, lottery.draw(lottery.canonical(ENTRANTS), SEED, '现金红包', 5), 'the input order does not matter')
  eq(w, PINNED_RED, 'pinned winners')
  eq(lottery.draw('c\na\nb\nd\ne\n', SEED, 'p', 5), 'a\nc\ne\nd\nb\n', 'pinned small draw')
  assert(lottery.draw(ENTRANTS, SEED, 'movie', 5) ~= w, 'another prize draws otherwise')
  assert(lottery.draw(ENTRANTS, SEED .. '!', '现金红包', 5) ~= w, 'another seed draws otherwise')
  -- drawing more keeps the first winners: the k-th winner does not depend on k
  local more = lottery.draw(ENTRANTS, SEED, '现金红包', 50)
  eq(more:sub(1, #w), w, 'the first 5 of 50 are the 5')
end)

case('winners are distinct entrants; k = n is a permutation', function()
  local known = {}
  for _, id in ipairs(ids) do known[id] = true end
  local seen, n = {}, 0
  for _, id in ipairs(lines(lottery.draw(ENTRANTS, SEED, 'all', 200))) do
    assert(known[id], 'not an entrant: ' .. id)
    assert(not seen[id], 'drawn twice: ' .. id)
    seen[id] = true
    n = n + 1
  end
  eq(n, 200, 'k = n draws everyone')
  eq(lottery.draw('solo', SEED, 'p', 1), 'solo\n', 'one entrant, one winner')
end)

case('k out of range, an empty prize, a short seed are refused', function()
  raises(function() return lottery.draw(ENTRANTS, SEED, 'p', 201) end,
         'k is 201 but the list has only 200 entrants')
  raises(function() return lottery.draw(ENTRANTS, SEED, 'p', 0) end, 'k is 0: draw at least one')
  raises(function() return lottery.draw(ENTRANTS, SEED, 'p', -3) end, 'k is -3')
  raises(function() return lottery.draw(ENTRANTS, SEED, '', 1) end, 'the prize name is empty')
  raises(function() return lottery.draw(ENTRANTS, 'short', 'p', 1) end, 'the seed has 5 bytes')
end)

case('no modulo bias: one winner of 3, over 3000 prizes (fixed counts)', function()
  -- b = 2 bits give 0..3; 3 is rejected. Taking x mod 3 instead would give
  -- the first entrant about 1500 wins; uniform is 1000 each.
  local count = { a = 0, b = 0, c = 0 }
  for i = 1, 3000 do
    local w = lottery.draw('a\nb\nc', SEED, 'prize ' .. i, 1)
    count[w:sub(1, 1)] = count[w:sub(1, 1)] + 1
  end
  eq(string.format('%d %d %d', count.a, count.b, count.c), PINNED_COUNTS3, 'pinned counts')
  for k, v in pairs(count) do assert(v > 900 and v < 1100, k .. ' won ' .. v .. ' of 3000') end
  -- and per position: each of 5 entrants is the first winner about 1/5 of the time
  local first = {}
  for i = 1, 2000 do
    local w = lottery.draw('a\nb\nc\nd\ne', SEED, 'round ' .. i, 2)
    first[w:sub(1, 1)] = (first[w:sub(1, 1)] or 0) + 1
  end
  local got = {}
  for _, k in ipairs { 'a', 'b', 'c', 'd', 'e' } do
    got[#got + 1] = first[k]
    assert(first[k] > 340 and first[k] < 460, k .. ' first ' .. first[k] .. ' of 2000')
  end
  eq(table.concat(got, ' '), PINNED_COUNTS5, 'pinned counts of 5')
end)

local K = 7
local W = lottery.draw(ENTRANTS, SEED, '现金红包', K)
local LC = lottery.list_hash(ENTRANTS)

case('verify accepts the real draw', function()
  eq(lottery.verify(ENTRANTS, SEED, SEED_SHA, LC, '现金红包', K, W), true, 'real draw')
  eq(lottery.verify(lottery.canonical(ENTRANTS), SEED, SEED_SHA:upper(), LC:upper(), '现金红包', K,
                    W:sub(1, -2)), true, 'upper-case commitments, no final newline')
end)

case('verify rejects a tampered list, a tampered seed, wrong winners', function()
  local function v(e, s, sc, lc, p, k, w) return lottery.verify(e, s, sc, lc, p, k, w) end
  raises(function() return v(ENTRANTS .. '\n99999', SEED, SEED_SHA, LC, '现金红包', K, W) end,
         'the entrant list does not match the list commitment')
  raises(function() return v(ENTRANTS:gsub('^%d+\n', ''), SEED, SEED_SHA, LC, '现金红包', K, W) end,
         'an entrant was added, removed or changed')
  raises(function() return v(ENTRANTS, SEED .. 'x', SEED_SHA, LC, '现金红包', K, W) end,
         'the seed does not match the seed commitment')
  -- a list and a seed that match commitments made afresh, but not the published ones
  local other = ENTRANTS .. '\n88888'
  raises(function() return v(other, SEED, SEED_SHA, lottery.list_hash(other), '现金红包', K, W) end,
         'winner')
  local t = lines(W)
  t[1], t[2] = t[2], t[1]
  raises(function() return v(ENTRANTS, SEED, SEED_SHA, LC, '现金红包', K, table.concat(t, '\n')) end,
         "winner 1 does not match: the draw gives '" .. lines(W)[1] .. "'")
  t = lines(W)
  t[4] = '99999'
  raises(function() return v(ENTRANTS, SEED, SEED_SHA, LC, '现金红包', K, table.concat(t, '\n')) end,
         "winner 4 does not match: the draw gives '" .. lines(W)[4] .. "', the published winners say '99999'")
  raises(function() return v(ENTRANTS, SEED, SEED_SHA, LC, '现金红包', K, table.concat(lines(W), '\n', 1, K - 1)) end,
         'the published winners stop after 6 of 7')
  raises(function() return v(ENTRANTS, SEED, SEED_SHA, LC, '现金红包', K, W .. '1008\n') end,
         'the published winners have more than 7 names')
  raises(function() return v(ENTRANTS, SEED, SEED_SHA, LC, '现金红包', K - 1, W) end,
         'the published winners have more than 6 names')
  raises(function() return v(ENTRANTS, SEED, SEED_SHA, LC, '红包', K, W) end, 'winner 1 does not match')
  raises(function() return v(ENTRANTS, SEED, 'abc', LC, '现金红包', K, W) end,
         "the seed commitment 'abc' is not a SHA-256 in hex")
  raises(function() return v(ENTRANTS, SEED, SEED_SHA, LC:sub(2) .. 'g', '现金红包', K, W) end,
         'the list commitment')
end)

case('a large draw: 2025 of 100,000 and all of 20,000', function()
  local big = {}
  for i = 1, 100000 do big[i] = string.format('3304811990%08d', i) end
  local text = table.concat(big, '\n')
  local t0 = os.clock()
  local w = lines(lottery.draw(text, SEED, '现金红包', 2025))
  eq(#w, 2025, 'winners')
  local seen = {}
  for _, id in ipairs(w) do assert(not seen[id], id) seen[id] = true end
  local all = lines(lottery.draw(table.concat(big, '\n', 1, 20000), SEED, 'all', 20000))
  eq(#all, 20000, 'k = n = 20000')
  io.stderr:write(string.format('      (2025 of 100,000 and 20,000 of 20,000 in %.2f s of CPU)\n', os.clock() - t0))
end)

case('derive_seed: the draw seed of a framework draw (gonghui-draw-v2)', function()
  local LC2 = string.rep('a', 64)
  -- pinned with python3 lottery_check.py's derive_seed (hashlib only)
  eq(lottery.derive_seed('p:k', LC2 .. '\n-\n', 'src', '1 2 3', ''),
     '9cad665fe0d295f2fe8eafef12b526610d1a7673d56085d6fbce501ec8625c2d', 'no reveals')
  eq(lottery.derive_seed('p:k', LC2 .. '\n', 'src', '1 2 3', 'a=0123456789abcdef\nb=fedcba9876543210\n'),
     'f5760d6147dbb3c3727899af0896eed8b9e605b663b6c948df7212f09c5b75cf', 'two parties')
  raises(function() return lottery.derive_seed('p:k', LC2, 'src', 'v', '') end, 'ended by a newline')
  raises(function() return lottery.derive_seed('p:k', 'abc\n', 'src', 'v', '') end, "line 1 of the list hashes ('abc')")
  raises(function() return lottery.derive_seed('p:k', LC2 .. '\n', 'src', '', '') end, 'the public value is empty')
  raises(function() return lottery.derive_seed('p:k', LC2 .. '\n', '', 'v', '') end, "the public value's source is empty")
  raises(function() return lottery.derive_seed('p:k', LC2 .. '\n', 's', 'v', 'b=0123456789abcdef\na=0123456789abcdef\n') end,
         'not sorted by party')
  raises(function() return lottery.derive_seed('p:k', LC2 .. '\n', 's', 'v', 'a=short\n') end, 'fewer than 16 bytes')
  raises(function() return lottery.derive_seed('p:k', LC2 .. '\n', 's', 'v', 'noequals0123456789\n') end, 'is not party=seed')
end)

t.done()
