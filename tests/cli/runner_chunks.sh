#!/bin/sh
# runner_chunks.sh BINARY SCRATCH [ROUNDS] — run.chunks: chunked runs that
# resume after a kill.
#
# The main check: a script tallies 20,000 members in chunks of 200 (one
# output record per member under a unique index, a running total in one
# record). It is killed with SIGKILL at random moments ROUNDS times
# (default 12), resumed after each kill, and finished; after every kill
# `gonghui check` is clean and the database says exactly what the
# checkpoint says (outputs == the first `done` members in key order, the
# total their sum). At the end its outputs, total and record ids equal
# those of an uninterrupted run on a copy of the same database.
# Then: lists and iterator functions resume too (killed as well); a run
# stopped by --timeout or by an error resumes; a finished checkpoint makes
# a re-run do nothing, `again` starts a new pass; --dry-run keeps nothing;
# --atomic is all or nothing; run.chunks refuses db.atomic around it, bad
# arguments, and scripts cannot touch `_checkpoints`.
. "$(dirname "$0")/lib.sh"
ROUNDS=${3:-12}
setup "$@"

lua seed.lua <<'EOF'
db.define('members', { key = 'member_id', fields = { member_id = 'int', value = 'int', town = 'string' },
                       index = { 'town' } })
db.define('out', { fields = { member_id = 'int', v = 'int', h = 'int' }, unique = { 'member_id' } })
db.define('total', { key = 'k', fields = { k = 'string', sum = 'int', n = 'int' } })
math.randomseed(7)
db.atomic(function()
  for i = 1, params.members do
    db.members:insert{ member_id = i * 3, value = math.random(1, 1000),
                       town = ({ '硖石', '沈家门', '海昌' })[i % 3 + 1] }
  end
  db.total:insert{ k = 'all', sum = 0, n = 0 }
end)
EOF

# The work: one output per member (a unique index: a member done twice is
# an error, not a hidden duplicate) and the running total.
lua tally.lua <<'EOF'
local work = params.work or 100
if params.ready then
  -- run.progress is called after each committed chunk: the first one of
  -- this run makes the file params.ready, for the test to wait on; after
  -- params.stall chunks the run stops (opening a FIFO nobody writes to)
  -- until it is killed, so one round never does more than that however
  -- late the kill comes on a loaded machine
  local chunks = 0
  run.progress = function()
    chunks = chunks + 1
    if chunks == 1 then assert(io.open(params.ready, 'w')):close() end
    if chunks == params.stall then assert(io.open(params.fifo)):read('a') end
  end
elseif params.spin then
  -- after params.spin committed chunks the run loops until the time limit
  -- stops it: --timeout always trips, however fast the machine
  local chunks = 0
  run.progress = function()
    chunks = chunks + 1
    if chunks == params.spin then
      while true do end
    end
  end
end
local r = run.chunks('tally', db.members, function(m)
  local h = m.value
  for j = 1, work do h = (h * 31 + j) % 1000003 end
  db.out:insert{ member_id = m.member_id, v = m.value, h = h }
  local t = db.total:get('all')
  db.total:update('all', { sum = t.sum + m.value, n = t.n + 1 })
end, { size = params.size or 200 })
print(table.concat({ 'finished', r.done, r.new, r.chunks, tostring(r.resumed), tostring(r.already) }, ' '))
EOF

# The state after a kill: everything agrees with the checkpoint.
lua verify.lua <<'EOF'
local cp = run.checkpoint('tally')
local done, after = cp and cp.done or 0, cp and cp.after
local t = db.total:get('all')
local problems = {}
local function want(cond, msg) if not cond then problems[#problems + 1] = msg end end
want(db.out:count() == done, 'outputs ' .. db.out:count() .. ', checkpoint done ' .. done)
want(t.n == done, 'total.n ' .. t.n .. ', checkpoint done ' .. done)
local sum, i, expect = 0, 0, nil
for m in db.members:scan() do
  if i == done then expect = m.member_id break end
  i = i + 1
  sum = sum + m.value
  local o = db.out:find('member_id', m.member_id)
  if not o then problems[#problems + 1] = 'member ' .. m.member_id .. ' has no output' break end
  if o.v ~= m.value then problems[#problems + 1] = 'member ' .. m.member_id .. ': wrong output' break end
  if i == done then want(m.member_id == after, 'checkpoint after ' .. tostring(after) .. ', last done ' .. m.member_id) end
end
want(t.sum == sum, 'total.sum ' .. t.sum .. ', sum of the first ' .. done .. ' members ' .. sum)
if expect then want(db.out:find('member_id', expect) == nil, 'member ' .. expect .. ' has an output past the checkpoint') end
if #problems > 0 then print('BROKEN ' .. table.concat(problems, '; ')) else
  print('done ' .. done .. ' ' .. tostring(cp and cp.finished)) end
EOF

# Everything the run produced, in record order (ids included).
lua dump.lua <<'EOF'
for o in db.out:scan() do print(o.id .. ' ' .. o.member_id .. ' ' .. o.v .. ' ' .. o.h) end
local t = db.total:get('all')
print('total ' .. t.sum .. ' ' .. t.n)
local cp = run.checkpoint(params.name or 'tally')
print(table.concat({ 'checkpoint', cp.done, cp.total, tostring(cp.finished), cp.after, cp.pass }, ' '))
EOF


# --- killed at random moments, resumed: the same as an uninterrupted run ------------
gh --db "$S/db" run "$S/seed.lua" members=20000
expect_rc 0 "making 20,000 members"
gh --db "$S/db" backup "$S/copy"
expect_rc 0 "a copy of the database"

t0=$(now_ms)
gh --db "$S/copy" run "$S/tally.lua"
T=$(($(now_ms) - t0))
expect_rc 0 "the uninterrupted run" && expect_out "finished 20000 20000 100 false nil" "the uninterrupted run"
gh --db "$S/copy" check
expect_rc 0 "check after the uninterrupted run"
"$BIN" --db "$S/copy" run "$S/dump.lua" >"$S/dump.copy" 2>"$S/err" || fail "dump of the copy: $(cat "$S/err")"
echo "  the uninterrupted run took $T ms" >&2

# Each round is killed after 1%..7% of T: odd rounds counting from the
# start (the kill may come before the first chunk), even rounds from the
# first chunk that run commits (0%..3% of T later), so that chunks are
# committed however slow or loaded the machine is. A round stops by itself
# after STALL chunks (see tally.lua), so every kill lands in a running
# process and ROUNDS rounds never finish the run, however late the kills.
lo=$((T / 100)); hi=$((T * 7 / 100))
[ "$lo" -ge 5 ] || lo=5
[ "$hi" -gt "$lo" ] || hi=$((lo + 10))
DEADLINE=300
STALL=$((20000 / 200 / (ROUNDS + 1)))
[ "$STALL" -ge 2 ] || STALL=2
mkfifo "$S/never" || fail "mkfifo"
round=1; landed=0; prev=0; consistent=0
while [ "$round" -le "$ROUNDS" ]; do
  rm -f "$S/ready"
  "$BIN" --db "$S/db" run "$S/tally.lua" ready="$S/ready" stall=$STALL fifo="$S/never" >"$S/run.out" 2>"$S/run.err" &
  p=$!
  track "$p"
  if [ $((round % 2)) -eq 0 ]; then
    t=$(date +%s)
    while [ ! -e "$S/ready" ] && kill -0 "$p" 2>/dev/null && [ $(($(date +%s) - t)) -lt $DEADLINE ]; do
      sleep 0.01
    done
    [ -e "$S/ready" ] || fail "round $round: no chunk committed within $DEADLINE s: $(cat "$S/run.err")"
    d=$(rand_delay 0 $((hi * 3 / 7)))
    sleep "$d"
    d="$d s after its first chunk"
  else
    d=$(rand_delay "$lo" "$hi")
    sleep "$d"
    d="after $d s"
  fi
  if kill -9 "$p" 2>/dev/null; then landed=$((landed + 1)); fi
  reap "$p"
  gh --db "$S/db" check
  [ "$RC" -eq 0 ] || { fail "round $round (killed $d): check is not clean"; show_output; }
  "$BIN" --db "$S/db" run "$S/verify.lua" >"$S/out" 2>"$S/err"
  line=$(cat "$S/out")
  case $line in
    "done "*)
      n=$(echo "$line" | cut -d' ' -f2)
      if [ "$n" -lt "$prev" ]; then
        fail "round $round: the checkpoint went back from $prev to $n"
      else
        consistent=$((consistent + 1))
      fi
      echo "  round $round: killed $d, $n members done" >&2
      prev=$n
      ;;
    *) fail "round $round (killed $d): $line $(cat "$S/err")" ;;
  esac
  round=$((round + 1))
done
[ "$landed" -ge 10 ] || fail "only $landed of $ROUNDS kills hit a running process"
[ "$consistent" -eq "$ROUNDS" ] &&
  pass "$landed kills at random moments: after each, check clean and outputs, total and checkpoint agree"
[ "$prev" -gt 0 ] || fail "no chunk was ever committed before a kill"

gh --db "$S/db" run "$S/tally.lua"
expect_rc 0 "the run resumed to the end" &&
  expect_out "finished 20000 $((20000 - prev)) " "the resumed run does the rest only" &&
  expect_out " true nil" "the last run says it resumed"
gh --db "$S/db" check
expect_rc 0 "check after the resumed run"
"$BIN" --db "$S/db" run "$S/dump.lua" >"$S/dump.db" 2>"$S/err" || fail "dump: $(cat "$S/err")"
if cmp -s "$S/dump.copy" "$S/dump.db"; then
  pass "killed $landed times and resumed: outputs, record ids, total and checkpoint equal the uninterrupted run's ($(wc -l <"$S/dump.db") lines)"
else
  fail "killed and resumed differs from the uninterrupted run:"
  diff "$S/dump.copy" "$S/dump.db" | head -10 >&2
fi
grep -q "^total $(awk '$1 != "total" && $1 != "checkpoint" { s += $3 } END { print s }' "$S/dump.copy") 20000\$" "$S/dump.copy" &&
  pass "the total is the sum of the 20,000 members' values" || fail "the total is not the members' sum"

# finished: a re-run does nothing; again = true does a new pass
gh --db "$S/db" run "$S/tally.lua"
expect_rc 0 "a re-run of a finished pass" && expect_out "finished 20000 0 0 false true" "a re-run of a finished pass does nothing"
gh --db "$S/db" run -e "
local n = 0
local r = run.chunks('tally', db.members, function(m) n = n + 1 end, { size = 5000, again = true })
print(table.concat({ 'again', r.pass, r.done, r.new, r.chunks, n }, ' '))"
expect_rc 0 "again = true" && expect_out "again 2 20000 20000 4 20000" "again = true: a second pass over everything"

# --- a list and an iterator function, killed and resumed too ------------------------
lua kinds.lua <<'EOF'
db.define('seen', { key = 'k', fields = { k = 'string', kind = 'string' } })
local list = {}
for i = 1, params.n do list[i] = string.format('L%06d', i) end
run.chunks('list', list, function(k, i)
  assert(list[i] == k)
  db.seen:insert{ k = k, kind = 'list' }
end, { size = 50 })
-- an iterator function: the members with value > 500, after a key
run.chunks('fn', function(after)
  local it, st, ctl, close = db.members:scan{ index = 'member_id', from = after }
  return function()
    while true do
      local m = it(st, ctl)
      if m == nil or m.value > 500 then return m end
    end
  end, nil, nil, close
end, function(m, key)
  assert(key == m.member_id)
  db.seen:insert{ k = 'M' .. m.member_id, kind = 'fn' }
end, { size = 70, key = 'member_id' })
print('kinds', db.seen:count{ kind = 'list' }, db.seen:count{ kind = 'fn' })
EOF
gh --db "$S/copy" run "$S/kinds.lua" n=3000
expect_rc 0 "lists and functions, uninterrupted"
expected=$(cat "$S/out")
round=1; bad=0
while [ "$round" -le 6 ]; do
  "$BIN" --db "$S/db" run "$S/kinds.lua" n=3000 >/dev/null 2>&1 &
  p=$!
  track "$p"
  sleep "$(rand_delay 20 150)"
  kill -9 "$p" 2>/dev/null
  reap "$p"
  gh --db "$S/db" check
  [ "$RC" -eq 0 ] || bad=$((bad + 1))
  round=$((round + 1))
done
gh --db "$S/db" run "$S/kinds.lua" n=3000
expect_rc 0 "lists and functions, resumed" &&
  if [ "$(cat "$S/out")" = "$expected" ] && [ $bad -eq 0 ]; then
    pass "a list and an iterator function killed 6 times resume to the same result ($expected)"
  else
    fail "lists and functions resumed: '$(cat "$S/out")', uninterrupted: '$expected', unclean checks: $bad"
  fi
for name in list fn; do
  "$BIN" --db "$S/db" run "$S/dump.lua" name=$name 2>/dev/null | grep '^checkpoint' >"$S/a"
  "$BIN" --db "$S/copy" run "$S/dump.lua" name=$name 2>/dev/null | grep '^checkpoint' >"$S/b"
  cmp -s "$S/a" "$S/b" || fail "checkpoint '$name' differs: $(cat "$S/a") / $(cat "$S/b")"
done

# --- stopped by the time limit, by an error: resumes ----------------------------------
rm -rf "$S/db3"
gh --db "$S/db3" run "$S/seed.lua" members=20000
# the run loops after its 10th chunk, so the limit trips whatever the
# machine's speed; a slow machine may stop it earlier, with fewer chunks
gh --db "$S/db3" run --timeout 1 "$S/tally.lua" spin=10
expect_rc 124 "a chunked run past its time limit"
"$BIN" --db "$S/db3" run "$S/verify.lua" >"$S/out" 2>&1
grep -Eq '^done [0-9]+ (false|nil)$' "$S/out" && [ "$(cut -d' ' -f2 "$S/out")" -le 2000 ] &&
  pass "stopped by --timeout: the committed chunks stay, consistent ($(cat "$S/out"))" ||
  fail "after --timeout: $(cat "$S/out")"
lua failing.lua <<'EOF'
run.chunks('tally', db.members, function(m)
  if m.member_id == params.bad then error('bad member ' .. m.member_id) end
  db.out:insert{ member_id = m.member_id, v = m.value, h = 0 }
  local t = db.total:get('all')
  db.total:update('all', { sum = t.sum + m.value, n = t.n + 1 })
end, { size = 200 })
EOF
# member 45000 is the 15,000th: its chunk is the one after 14,800
gh --db "$S/db3" run "$S/failing.lua" bad=45000
expect_rc 1 "an error in a chunk" && expect_err "bad member 45000" "an error in a chunk is reported"
"$BIN" --db "$S/db3" run "$S/verify.lua" >"$S/out" 2>&1
grep -qx 'done 14800 false' "$S/out" &&
  pass "an error rolls back its own chunk only: the checkpoint stands after the chunk before" ||
  fail "after an error in a chunk: $(cat "$S/out")"
gh --db "$S/db3" run "$S/failing.lua" bad=-1
expect_rc 0 "resumed after the error"
"$BIN" --db "$S/db3" run "$S/verify.lua" >"$S/out" 2>&1
grep -qx 'done 20000 true' "$S/out" && pass "after a timeout and an error, the resumed run completes consistently" ||
  fail "after a timeout and an error: $(cat "$S/out")"

# --- --dry-run keeps nothing, --atomic is all or nothing -------------------------------
rm -rf "$S/db4"
gh --db "$S/db4" run "$S/seed.lua" members=3000
gh --db "$S/db4" run --dry-run "$S/tally.lua" work=0
expect_rc 0 "a chunked dry run" && expect_out "out " "the dry run shows the outputs it would insert"
grep -q '_checkpoints' "$S/out" && fail "the dry run shows _checkpoints among the changes"
"$BIN" --db "$S/db4" run "$S/verify.lua" >"$S/out" 2>&1
grep -qx 'done 0 nil' "$S/out" && pass "--dry-run: no outputs and no checkpoint stay" || fail "after --dry-run: $(cat "$S/out")"
gh --db "$S/db4" run --atomic "$S/failing.lua" bad=6000
expect_rc 1 "--atomic with an error in a late chunk"
"$BIN" --db "$S/db4" run "$S/verify.lua" >"$S/out" 2>&1
grep -qx 'done 0 nil' "$S/out" && pass "--atomic: an error in a late chunk keeps none of the chunks before it" ||
  fail "after a failed --atomic run: $(cat "$S/out")"
gh --db "$S/db4" run --atomic "$S/tally.lua" work=0
expect_rc 0 "--atomic chunked run" && expect_out "finished 3000 3000 15 false nil" "--atomic chunked run"

# --- misuse ------------------------------------------------------------------------------
gh --db "$S/db4" run -e "db.atomic(function() run.chunks('x', {1, 2}, print) end)"
expect_rc 1 "run.chunks inside db.atomic" && expect_err "cannot run inside db.atomic" "run.chunks inside db.atomic is refused"
gh --db "$S/db4" run -e "run.chunks('x', {1}, print, { sise = 2 })"
expect_rc 1 "a misspelt option" && expect_err "unknown option 'sise'" "a misspelt option is named"
gh --db "$S/db4" run -e "run.chunks('x', function() end, print)"
expect_rc 1 "a function without key" && expect_err "need key = 'field'" "items from a function need a key"
gh --db "$S/db4" run -e "run.chunks('tally', {1, 2}, print)"
expect_rc 1 "a checkpoint reused for another kind" && expect_err "was made over a collection, not a list" \
  "a checkpoint of a collection is not resumed over a list"
gh --db "$S/db4" run -e "run.chunks('l', {1, 2, 3}, function(x) if x == 3 then error('stop') end end, { size = 1 })"
gh --db "$S/db4" run -e "run.chunks('l', {1, 2, 3, 4}, print, { size = 1 })"
expect_rc 1 "resuming over a different list" && expect_err "list of 3 items, this one has 4" "a list that changed is refused"
gh --db "$S/db4" run -e "print(db._checkpoints:count())"
expect_rc 1 "db._checkpoints" && expect_err "system collection" "scripts cannot read _checkpoints through db"
gh --db "$S/db4" run -e "for _, n in ipairs(db.collections()) do print(n) end"
no_out=$(grep -c '^_' "$S/out")
[ "$no_out" -eq 0 ] && pass "db.collections() does not list _checkpoints" || fail "db.collections() lists a system collection"

finish
