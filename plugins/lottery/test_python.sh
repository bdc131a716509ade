#!/bin/sh
# test_python.sh BINARY SCRATCH — the lottery plugin against an independent
# re-implementation of README's algorithm in Python (lottery_check.py, which
# uses only hashlib): the same winners for lists of many sizes, ids of
# several kinds (numbers, ID numbers, Chinese), prizes and k; Python accepts
# the plugin's draw and rejects a tampered list, a tampered seed and a
# swapped winner; the Python in README.md itself draws the same winners; a
# draw over --memory is a clear, catchable error.
# (ctest: plugin_lottery_python)
. "$(dirname "$0")/../../tests/cli/lib.sh"
CHECK=$(cd "$(dirname "$0")" && pwd)/lottery_check.py
README=$(cd "$(dirname "$0")/../.." && pwd)/README.md
setup "$@"

if ! command -v python3 >/dev/null 2>&1; then
  echo "skip: python3 is needed for the independent check" >&2
  exit 0
fi

# the plugin's draws, written as files: case_N.entrants (as given, unsorted),
# case_N.args (seed, prize, k, seed commitment, list commitment, one a line)
# and case_N.winners
lua draws.lua <<'EOF'
local lottery = plugin.load 'lottery'
local cases = {}
local function add(ids, seed, prize, k) cases[#cases + 1] = { ids, seed, prize, k } end
add({ 'solo' }, 'only-one-entrant-seed', 'p', 1)
add({ 'b', 'a' }, 'two entrants, two winners', '一等奖', 2)
add({ 'c', 'a', 'b' }, '0123456789abcdef', 'x', 3)
local nums = {}
for i = 1, 1000 do nums[i] = tostring((i * 7919) % 100003) end
add(nums, 'New Year 2026 red envelopes / seed 9f3a', '现金红包', 25)
add(nums, 'New Year 2026 red envelopes / seed 9f3a', 'movie-tickets', 1000)
local ids = {}
for i = 1, 3000 do ids[i] = string.format('33048119%02d%02d%02d%03d', 60 + i % 40, 1 + i % 12, 1 + i % 28, i % 1000) end
local seen, uniq = {}, {}
for _, x in ipairs(ids) do if not seen[x] then seen[x] = true uniq[#uniq + 1] = x end end
add(uniq, 'a seed with 中文 and spaces in it', '返岗补贴 lottery', 300)
local cn = {}
for i = 1, 64 do cn[i] = utf8.char(0x4e00 + i * 37) .. i end
add(cn, 'seed for the Chinese names 春节', '奖', 64)
for n, c in ipairs(cases) do
  local text = table.concat(c[1], '\n') .. (n % 2 == 0 and '\n' or '')
  local f = run.open('case_' .. n .. '.entrants', 'w')
  f:write(text)
  f:close()
  f = run.open('case_' .. n .. '.args', 'w')
  f:write(c[2], '\n', c[3], '\n', c[4], '\n', lottery.seed_commit(c[2]), '\n', lottery.list_hash(text), '\n')
  f:close()
  f = run.open('case_' .. n .. '.winners', 'w')
  f:write(lottery.draw(text, c[2], c[3], c[4]))
  f:close()
end
print(#cases)
EOF
gh run "$S/draws.lua"
expect_rc 0 "the plugin's draws" || finish
ncases=$(cat "$S/out")

arg() { sed -n "${2}p" "$S/case_$1.args"; }

i=1
while [ "$i" -le "$ncases" ]; do
  seed=$(arg "$i" 1) prize=$(arg "$i" 2) k=$(arg "$i" 3) sc=$(arg "$i" 4) lc=$(arg "$i" 5)
  # the same winners, drawn by Python alone
  if ! python3 "$CHECK" draw "case_$i.entrants" "$seed" "$prize" "$k" >"case_$i.py"; then
    fail "case $i: python's draw failed"
  elif ! cmp -s "case_$i.py" "case_$i.winners"; then
    fail "case $i: python draws other winners than the plugin"
    diff "case_$i.py" "case_$i.winners" | head -5 >&2
  else
    pass "case $i: python draws the plugin's $k winners"
  fi
  # the same list commitment, and python accepts the published draw
  if [ "$(python3 "$CHECK" hash "case_$i.entrants")" != "$lc" ]; then
    fail "case $i: python's list hash differs from the plugin's"
  fi
  out=$(python3 "$CHECK" verify "case_$i.entrants" "$seed" "$sc" "$lc" "$prize" "$k" "case_$i.winners")
  case $out in
    ok:*) pass "case $i: python verifies the draw ($out)" ;;
    *) fail "case $i: python does not verify the plugin's draw: $out" ;;
  esac
  i=$((i + 1))
done

# the README's own Python, taken from README.md as it is, draws the same
cat >readme_draw.py <<'EOF'
import sys
text = open(sys.argv[1], encoding="utf-8").read()
start = text.index("import hashlib\ndef draw(")
ns = {}
exec(text[start:text.index("```", start)], ns)
ids = [i for i in open(sys.argv[2], "rb").read().split(b"\n") if i]
for w in ns["draw"](ids, sys.argv[3].encode(), sys.argv[4].encode(), int(sys.argv[5])):
    sys.stdout.buffer.write(w + b"\n")
EOF
for i in 2 4 6 7; do
  if python3 readme_draw.py "$README" "case_$i.entrants" "$(arg "$i" 1)" "$(arg "$i" 2)" "$(arg "$i" 3)" \
    >"case_$i.readme" && cmp -s "case_$i.readme" "case_$i.winners"; then
    pass "case $i: the README's Python draws the plugin's winners"
  else
    fail "case $i: the README's Python draws other winners (or fails)"
  fi
done

# tampering, seen by Python: case 4 (25 of 1000)
seed=$(arg 4 1) prize=$(arg 4 2) k=$(arg 4 3) sc=$(arg 4 4) lc=$(arg 4 5)
expect_py() { # WHAT TEXT ENTRANTS SEED WINNERS
  out=$(python3 "$CHECK" verify "$3" "$4" "$sc" "$lc" "$prize" "$k" "$5")
  rc=$?
  case $rc:$out in
    1:*"$2"*) pass "python rejects $1" ;;
    *) fail "python on $1: exit $rc, '$out' (expected '$2')" ;;
  esac
}
{ cat case_4.entrants; echo 424242; } >tampered.entrants
expect_py "an added entrant" "the entrant list does not match" tampered.entrants "$seed" case_4.winners
sed 1d case_4.entrants >short.entrants
expect_py "a removed entrant" "the entrant list does not match" short.entrants "$seed" case_4.winners
expect_py "a tampered seed" "the seed does not match" case_4.entrants "${seed}x" case_4.winners
{ sed -n 2p case_4.winners; sed -n 1p case_4.winners; sed 1,2d case_4.winners; } >swapped.winners
expect_py "two winners swapped" "winner 1 does not match" case_4.entrants "$seed" swapped.winners
{ sed 2q case_4.winners; echo 77777; sed 1,3d case_4.winners; } >replaced.winners
expect_py "a winner replaced" "winner 3 does not match" case_4.entrants "$seed" replaced.winners

# the plugin's memory counts against --memory: a draw too big for the limit
# fails with a clear error the script can catch, and the run goes on
lua bigdraw.lua <<'EOF'
local lottery = plugin.load 'lottery'
local i = 0
local text = ('.'):rep(300000, '\n'):gsub('%.', function() i = i + 1 return string.format('%016d', i) end)
local ok, e = pcall(lottery.draw, text, '0123456789abcdef0', 'p', 300000)
print(ok, e)
print(#lottery.draw('a\nb\nc', '0123456789abcdef0', 'p', 3))
EOF
gh run --memory 16M "$S/bigdraw.lua"
expect_rc 0 "a draw over the memory limit is a catchable error" &&
  expect_out 'false	lottery.draw: ' "the error names the function" &&
  expect_out 'out of memory' "and says what" && expect_out '6' "the next draw works"

# and the plugin rejects what Python rejects
lua tamper.lua <<'EOF'
local lottery = plugin.load 'lottery'
local function read(name) local f = assert(io.open(name)) local s = f:read('a') f:close() return s end
local args = {}
for l in read('case_4.args'):gmatch('[^\n]+') do args[#args + 1] = l end
for _, w in ipairs { 'case_4.winners', 'swapped.winners', 'replaced.winners' } do
  local ok, e = pcall(lottery.verify, read('case_4.entrants'), args[1], args[4], args[5], args[2],
                      tonumber(args[3]), read(w))
  print(w, ok, ok and '' or e)
end
EOF
gh run "$S/tamper.lua"
expect_rc 0 "the plugin's verification" &&
  expect_out "case_4.winners	true" "the plugin accepts the draw" &&
  expect_out "swapped.winners	false	lottery.verify: winner 1 does not match" "the plugin rejects a swap" &&
  expect_out "replaced.winners	false	lottery.verify: winner 3 does not match" "the plugin rejects a replaced winner"
finish
