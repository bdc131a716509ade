#!/bin/sh
# runner_modes.sh BINARY SCRATCH — `gonghui run` modes and records: --dry-run
# changes nothing and says what would change; --atomic keeps all or nothing;
# SIGINT, SIGTERM and SIGKILL mid-run leave nothing partial; -e; every run
# (success, failure, timeout, dry run) is recorded with hashes, seed and
# counts; a run replays with its seed.
. "$(dirname "$0")/lib.sh"
setup "$@"

DB=$S/db

lua setup.lua <<'EOF'
db.define('m', { key = 'id', fields = { id = 'int', name = 'string', status = 'string' },
                 index = { 'status' } })
db.atomic(function()
  for i = 1, 50 do db.m:insert{ id = i, name = 'n' .. i, status = 'active' } end
end)
EOF
gh --db "$DB" run "$S/setup.lua"
expect_rc 0 "making the database" || finish

state() { # prints check's verdict and the records, so two states can be compared
  "$BIN" --db "$DB" check 2>&1
  printf 'for r in db.m:scan() do print(r.id, r.name, r.status) end\nprint(#db.collections())\n' >"$S/state.lua"
  "$BIN" --db "$DB" run "$S/state.lua" 2>&1
}

# --- dry run ------------------------------------------------------------------------------
lua change.lua <<'EOF'
db.define('awards', { fields = { who = 'int' } })
for i = 1, 7 do db.awards:insert{ who = i } end
db.atomic(function()
  db.m:update(1, { status = 'retired' })
  db.m:update(2, { status = 'retired' })
  db.m:delete(3)
end)
print('script output', db.awards:count())
EOF
state >"$S/before.txt"
gh --db "$DB" run --dry-run "$S/change.lua"
if expect_rc 0 "a dry run"; then
  expect_out "script output	7" "a dry run sees its own writes" &&
    expect_out "dry run: nothing was stored" "a dry run says so" &&
    grep -Eq "awards +7 +0 +0" "$S/out" && grep -Eq "m +0 +2 +1" "$S/out" &&
    pass "a dry run prints what it would have changed, per collection" ||
    { fail "a dry run: the counts are missing"; show_output; }
fi
# six collections written in turn in one transaction (more than the store
# keeps at hand between writes), with savepoints kept and rolled back
lua turns.lua <<'EOF2'
for i = 1, 6 do db.define('c' .. i, { fields = { n = 'int' } }) end
db.atomic(function()
  for r = 1, 3 do
    for i = 1, 6 do db['c' .. i]:insert{ n = r } end
  end
  db.c1:insert{ n = 9 }
  db.c2:update(db.c2:insert{ n = 9 }, { n = 10 })
  db.c3:delete(1)
  pcall(db.atomic, function() db.c4:insert{ n = 1 }; db.c5:insert{ n = 1 }; error('undone') end)
  db.atomic(function() db.c6:insert{ n = 1 }; db.c6:insert{ n = 2 } end)
end)
EOF2
gh --db "$DB" run --dry-run "$S/turns.lua"
if expect_rc 0 "a dry run writing six collections in turn"; then
  grep -Eq "c1 +4 +0 +0" "$S/out" && grep -Eq "c2 +4 +1 +0" "$S/out" && grep -Eq "c3 +3 +0 +1" "$S/out" &&
    grep -Eq "c4 +3 +0 +0" "$S/out" && grep -Eq "c5 +3 +0 +0" "$S/out" && grep -Eq "c6 +5 +0 +0" "$S/out" &&
    pass "each collection's writes are counted under its name, savepoints kept and undone" ||
    { fail "six collections in turn: the counts are wrong"; show_output; }
fi
state >"$S/after.txt"
if cmp -s "$S/before.txt" "$S/after.txt"; then
  pass "a dry run changes nothing (check and every record the same)"
else
  fail "a dry run changed the database: $(diff "$S/before.txt" "$S/after.txt" | head -5)"
fi

# --- --atomic: all or nothing -------------------------------------------------------------------
lua atomic_fail.lua <<'EOF'
db.m:update(10, { status = 'x' })           -- outside db.atomic: committed at once in a plain run
db.atomic(function() db.m:update(11, { status = 'x' }) end)
error('late failure')
EOF
gh --db "$DB" run --atomic "$S/atomic_fail.lua"
expect_rc 1 "--atomic with a failure"
query "$DB" "print(db.m:get(10, 'status'), db.m:get(11, 'status'))"
grep -qx "active	active" "$S/out" && pass "--atomic: a failing run stores nothing" ||
  fail "--atomic: a failing run stored: $(cat "$S/out")"
gh --db "$DB" run --atomic -e "db.m:update(12, { status = 'atomic' })"
query "$DB" "print(db.m:get(12, 'status'))"
grep -qx "atomic" "$S/out" && pass "--atomic: a good run is committed; -e runs a snippet" ||
  fail "--atomic: a good run was not stored: $(cat "$S/out")"

# --- interruption ------------------------------------------------------------------------------
lua long.lua <<'EOF'
db.atomic(function()
  for i = 1000, 1100 do db.m:insert{ id = i, name = 'x', status = 'long' } end
  local f = assert(io.open(params.ready, 'w')) f:write('ready') f:close()
  while true do db.m:update(1000, { name = tostring(os.clock()) }) end
end)
EOF
interrupt_case() { # SIGNAL CODE NAME
  rm -f "$S/ready"
  "$BIN" --db "$DB" run "$S/long.lua" ready="$S/ready" >"$S/long.out" 2>"$S/long.err" &
  pid=$!
  track "$pid"
  # ready is made inside the unit, so the signal always lands in the middle of it
  wait_file "$S/ready" || fail "$3: the run never got inside its unit"
  kill -s "$1" "$pid"
  reap "$pid"
  rc=$?
  query "$DB" "print(db.m:count{ status = 'long' })"
  if [ "$2" != any ] && [ "$rc" -ne "$2" ]; then
    fail "$3: exit code $rc, expected $2"
    cat "$S/long.err" >&2
  elif ! grep -qx "0" "$S/out"; then
    fail "$3: part of the interrupted unit was stored: $(cat "$S/out")"
  else
    pass "$3: exit $rc, nothing partial stored"
  fi
}
interrupt_case INT 130 "Ctrl-C (SIGINT) mid-run"
grep -q "interrupted (Ctrl-C)" "$S/long.err" && pass "Ctrl-C says what happened" ||
  fail "Ctrl-C: no message: $(cat "$S/long.err")"
interrupt_case TERM 143 "SIGTERM mid-run"
interrupt_case KILL any "SIGKILL mid-run"
gh --db "$DB" check
expect_rc 0 "check after the interruptions" && pass "check is clean after SIGINT, SIGTERM, SIGKILL"

# --- run records -------------------------------------------------------------------------------
mkdir -p "$S/prog"
echo "return { pick = function(n) return math.random(n) end }" >"$S/prog/lottery.lua"
cat >"$S/prog/draw.lua" <<'EOF'
local lot = require 'lottery'
local picks = {}
for i = 1, 5 do picks[i] = lot.pick(1000) end
print('picks', table.concat(picks, ','), params.year)
EOF
gh --db "$DB" run --seed 4242 "$S/prog/draw.lua" year=2025
expect_rc 0 "a seeded run"
first=$(cat "$S/out")
gh --db "$DB" run --seed 4242 "$S/prog/draw.lua" year=2025
[ "$(cat "$S/out")" = "$first" ] && pass "the same seed gives the same draw" ||
  fail "the same seed gave another draw: $first / $(cat "$S/out")"
gh --db "$DB" run -e "error('on purpose')"
gh --db "$DB" run --timeout 1 -e "while true do end"
gh --db "$DB" runs
if expect_rc 0 "gonghui runs"; then
  for want in "dry-run  ok" "atomic   error" "run      interrupted" "run      timeout" "run      error" "draw.lua"; do
    expect_out "$want" "gonghui runs lists '$want'" || break
  done && pass "gonghui runs lists success, failure, timeout, interruption and dry runs"
fi
id=$(grep "draw.lua" "$S/out" | tail -n 1 | awk '{ print $1 }')
gh --db "$DB" runs show "$id"
sha=$(sha256sum "$S/prog/draw.lua" | cut -d' ' -f1)
msha=$(sha256sum "$S/prog/lottery.lua" | cut -d' ' -f1)
if expect_rc 0 "gonghui runs show"; then
  expect_out "$sha" "the script's SHA-256" && expect_out "$msha" "the module's SHA-256" &&
    expect_out "seed       4242" "the seed" && expect_out "'year=2025'" "the parameters" &&
    expect_out "outcome    ok" "the outcome" && expect_out "replay: gonghui run --seed 4242" "the replay line" &&
    pass "gonghui runs show: hashes of script and modules, seed, parameters, outcome, replay"
fi
gh --db "$DB" runs show 99999
expect_rc 1 "an unknown run" && expect_err "no run 99999" "an unknown run" && pass "an unknown run id is a clear error"
finish
