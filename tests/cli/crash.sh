#!/bin/sh
# crash.sh BINARY SCRATCH [ROUNDS] — the crash test.
#
# A Lua writer loops forever doing transactions: each db.atomic inserts a
# batch of records into two collections (with indexes), touches an indexed
# field of an older record, logs the unit, and bumps a counter, so that after
# every committed transaction
#     count(a) == count(b) == counter.value == sum of the logged batch sizes
# It is killed with SIGKILL at a random moment, ROUNDS times in a row
# (default 20): in odd rounds 0.05-0.5 s after it starts (wherever that
# falls: opening, the first transaction, the loop), in even rounds 0-0.45 s
# after it says its first transaction of that run is committed, so that the
# loop is hit however slow the machine is. After each kill: `gonghui check` is
# clean, a verifier confirms the invariant (no part of an uncommitted
# transaction is visible) and that the counts only grow.
# Then: runs killed while creating a fresh database must leave one that
# opens, and readers killed inside a scan must not use up LMDB's reader
# slots.
. "$(dirname "$0")/lib.sh"
ROUNDS=${3:-20}
setup "$@"

DB=$S/db
# a small first map, so that growing the map is among the moments killed
export GONGHUI_MAP_SIZE=1048576

lua writer.lua <<'EOF'
db.define('a', { fields = { n = 'int', tag = 'string', pad = 'string' }, index = { 'tag', { 'tag', 'n' } },
                 unique = { 'n' } })
db.define('b', { key = 'n', fields = { n = 'int', big = 'string?' } })
db.define('units', { fields = { size = 'int', pid = 'int' } })
db.define('counter', { key = 'name', fields = { name = 'string', value = 'int' } })
if not db.counter:get('c') then db.counter:insert{ name = 'c', value = 0 } end
math.randomseed(os.time() + math.floor(os.clock() * 1e6) + params.seed)
local tags = { '甲', '乙', '丙', '丁', 'e' }
local said = false
while true do
  if said == 1 then
    -- the first transaction of this run is committed: tell the test
    local f = assert(io.open(params.ready, 'w'))
    f:close()
    said = true
  end
  db.atomic(function()
    local v = db.counter:get('c', 'value')
    local size = math.random(1, 40)
    for i = 1, size do
      local n = v + i
      db.a:insert{ n = n, tag = tags[1 + n % #tags], pad = string.rep('p', math.random(0, 300)) }
      -- now and then a value big enough for LMDB overflow pages
      db.b:insert{ n = n, big = (n % 17 == 0) and string.rep('B', 5000 + n % 3000) or nil }
    end
    if v > 0 then
      local old = math.random(1, v)
      db.a:update(old, { tag = tags[math.random(#tags)] })
    end
    db.units:insert{ size = size, pid = params.seed }
    db.counter:update('c', { value = v + size })
  end)
  if not said then said = 1 end
end
EOF

lua verify.lua <<'EOF'
local ok, err = pcall(function()
  local names = {}
  for _, n in ipairs(db.collections()) do names[n] = true end
  if not names.counter then print('count 0') return end -- killed before the first unit
  local c = db.counter:get('c')
  local v = c and c.value or 0
  local na, nb = db.a:count(), db.b:count()
  local sum = 0
  for u in db.units:scan() do sum = sum + u.size end
  local problems = {}
  local function want(cond, msg) if not cond then problems[#problems + 1] = msg end end
  want(na == v, 'count(a) = ' .. na .. ', counter = ' .. v)
  want(nb == v, 'count(b) = ' .. nb .. ', counter = ' .. v)
  want(sum == v, 'sum of unit sizes = ' .. sum .. ', counter = ' .. v)
  want(db.a:count{ index = 'tag' } == v, 'index tag has ' .. db.a:count{ index = 'tag' } .. ' entries')
  want(db.a:count{ index = 'n' } == v, 'index n has ' .. db.a:count{ index = 'n' } .. ' entries')
  want(db.a:count{ index = 'tag,n' } == v, 'index tag,n has ' .. db.a:count{ index = 'tag,n' } .. ' entries')
  -- the keys are exactly 1..v in both collections, nothing beyond
  if v > 0 then
    want(db.a:find('n', v) ~= nil, 'a has no record n = ' .. v)
    want(db.b:get(v) ~= nil, 'b has no record ' .. v)
  end
  want(db.a:find('n', v + 1) == nil, 'a has a record past the counter')
  want(db.b:get(v + 1) == nil, 'b has a record past the counter')
  local i = 0
  for r in db.b:scan() do
    i = i + 1
    if r.n ~= i then problems[#problems + 1] = 'b: record ' .. r.n .. ' at position ' .. i break end
    if r.n % 17 == 0 and (not r.big or #r.big ~= 5000 + r.n % 3000) then
      problems[#problems + 1] = 'b: record ' .. r.n .. ' has a wrong big value' break
    end
  end
  if #problems > 0 then
    print('BROKEN ' .. table.concat(problems, '; '))
  else
    print('count ' .. v)
  end
end)
if not ok then print('ERROR ' .. tostring(err)) end
EOF

# the deadline for what should happen soon (a loaded machine, a sanitizer
# build); reaching it is a failure
DEADLINE=300
# Waits until file $1 exists while process $2 runs, at most DEADLINE s.
wait_file() {
  _t=$(date +%s)
  while [ ! -e "$1" ] && kill -0 "$2" 2>/dev/null && [ $(($(date +%s) - _t)) -lt $DEADLINE ]; do
    sleep 0.01
  done
  [ -e "$1" ]
}

prev=0
round=1
clean_rounds=0
while [ "$round" -le "$ROUNDS" ]; do
  rm -f "$S/wready"
  "$BIN" --db "$DB" run "$S/writer.lua" seed="$round" ready="$S/wready" >"$S/writer.out" 2>"$S/writer.err" &
  WPID=$!
  track "$WPID"
  d=$(rand_delay 50 500)
  if [ $((round % 2)) -eq 0 ]; then
    wait_file "$S/wready" "$WPID" || fail "round $round: the writer committed nothing within $DEADLINE s"
    d=$(awk -v d="$d" 'BEGIN { printf "%.2f", d - 0.05 }')
    when="$d s after its first commit"
  else
    when="after $d s"
  fi
  sleep "$d"
  if ! kill -0 "$WPID" 2>/dev/null; then
    reap "$WPID"
    fail "round $round: the writer stopped by itself before the kill (exit $?)"
    cat "$S/writer.err" >&2
  fi
  kill -9 "$WPID" 2>/dev/null
  reap "$WPID"

  gh --db "$DB" check
  if [ "$RC" -ne 0 ]; then
    fail "round $round (killed $when): check is not clean (exit $RC)"
    show_output
  fi
  query "$DB" "local _ = db.collections()"
  query_rc_open=$RC
  "$BIN" --db "$DB" run "$S/verify.lua" >"$S/out" 2>"$S/err"
  RC=$?
  line=$(cat "$S/out")
  case $line in
    "count "*)
      n=${line#count }
      if [ "$n" -lt "$prev" ]; then
        fail "round $round: the count went down from $prev to $n"
      else
        echo "  round $round: killed $when, $n records, consistent" >&2
        clean_rounds=$((clean_rounds + 1))
      fi
      prev=$n
      ;;
    *)
      fail "round $round (killed $when): the database is not consistent: $line"
      show_output
      ;;
  esac
  [ "$query_rc_open" -eq 0 ] || fail "round $round: the database does not open after the kill"
  round=$((round + 1))
done

[ "$prev" -gt 0 ] || fail "the writer never committed anything"
[ "$clean_rounds" -eq "$ROUNDS" ] && pass "$ROUNDS kills at random moments: check clean, invariant held, counts only grew ($prev records)"

# a backup of the survivor is consistent too
gh --db "$DB" backup "$S/after"
expect_rc 0 "backup after the crashes" && {
  "$BIN" --db "$S/after" run "$S/verify.lua" >"$S/out" 2>"$S/err"
  grep -qx "count $prev" "$S/out" && pass "the backup after the crashes holds the same" ||
    fail "the backup after the crashes: $(cat "$S/out")"
}

# --- killed while creating the database --------------------------------------------------
# A first run killed between making data.mdb and writing gonghui's own tables
# must not leave a directory that no later run accepts.
echo 'db.define("x", { fields = { a = "int" } }) db.x:insert{ a = 1 } print(db.x:count())' >"$S/first.lua"
bad=0
i=0
while [ $i -lt 40 ]; do
  rm -rf "$S/fresh"
  "$BIN" --db "$S/fresh" --new-db run "$S/first.lua" >/dev/null 2>&1 &
  p=$!
  track "$p"
  # from at once to 50 ms, so that slow builds (sanitizers) are caught mid-creation too
  delay=$(echo "0 0.001 0.002 0.003 0.005 0.008 0.012 0.02 0.03 0.05" | cut -d' ' -f$((i % 10 + 1)))
  sleep "$delay"
  kill -9 "$p" 2>/dev/null
  reap "$p"
  gh --db "$S/fresh" --new-db run "$S/first.lua"
  if [ "$RC" -ne 0 ]; then
    bad=$((bad + 1))
    [ $bad -eq 1 ] && { echo "  after a kill while creating the database:" >&2; show_output; }
  else
    gh --db "$S/fresh" check
    [ "$RC" -eq 0 ] || { bad=$((bad + 1)); echo "  check after a kill while creating:" >&2; show_output; }
  fi
  i=$((i + 1))
done
if [ $bad -eq 0 ]; then
  pass "40 runs killed while creating their database: each database opens and checks clean"
else
  fail "$bad of 40 runs killed while creating their database left a directory that is refused"
fi
# The same, deterministically: the states such a kill leaves behind. LMDB
# first creates an empty data.mdb, then writes its two meta pages (an empty
# environment); gonghui's _meta table comes after. Neither holds any data.
rm -rf "$S/killed0"
mkdir -p "$S/killed0"
: >"$S/killed0/data.mdb"
gh --db "$S/killed0" run "$S/first.lua"
expect_rc 0 "a database directory with an empty data.mdb (killed while creating)" &&
  pass "a directory with an empty data.mdb left by a killed first run opens as a new database"
if have_lmdb_utils; then
  rm -rf "$S/killed1"
  mkdir -p "$S/killed1"
  printf 'VERSION=3\nformat=print\ntype=btree\nHEADER=END\nDATA=END\n' | mdb_load "$S/killed1"
  gh --db "$S/killed1" run "$S/first.lua"
  expect_rc 0 "an empty LMDB environment (killed while creating)" &&
    pass "an empty LMDB environment left by a killed first run opens as a new database"
fi

# --- killed readers leave no stale reader slots ---------------------------------------
# LMDB has 126 reader slots; a reader killed inside a scan leaves its slot
# behind, which a later open must clear.
cat >"$S/reader.lua" <<'EOF'
for r in db.a:scan() do
  local f = io.open(params.ready, 'w') f:write('x') f:close()
  while true do end
end
EOF
bad=0
i=0
while [ $i -lt 140 ]; do
  rm -f "$S/rready"
  "$BIN" --db "$DB" run "$S/reader.lua" ready="$S/rready" >/dev/null 2>"$S/rerr" &
  p=$!
  track "$p"
  wait_file "$S/rready" "$p"
  kill -9 "$p" 2>/dev/null
  reap "$p"
  [ -e "$S/rready" ] || { bad=$((bad + 1)); [ $bad -eq 1 ] && cat "$S/rerr" >&2; }
  i=$((i + 1))
done
"$BIN" --db "$DB" run "$S/verify.lua" >"$S/out" 2>"$S/err"
RC=$?
if [ $bad -eq 0 ] && [ "$RC" -eq 0 ] && grep -qx "count $prev" "$S/out"; then
  pass "140 readers killed inside a scan: every one could read, and the database still reads"
else
  fail "after killing readers: $bad readers could not start; verify: $(cat "$S/out" "$S/err")"
fi

finish
