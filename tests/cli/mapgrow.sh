#!/bin/sh
# mapgrow.sh BINARY SCRATCH — the map grows by itself. With
# GONGHUI_MAP_SIZE=1048576 the first map is 1 MB; writing about 20 MB in one
# db.atomic and in many small writes must succeed. A unit that fills the map
# is redone with a bigger one (README: its function may run again); with the
# default map it runs once. A write that fills the map while a scan outside
# db.atomic holds a read cannot grow it: a clear error, nothing half-written.
. "$(dirname "$0")/lib.sh"
setup "$@"

export GONGHUI_MAP_SIZE=1048576

lua define.lua <<'EOF'
db.define('blob', { fields = { data = 'string', n = 'int' }, index = { 'n' } })
db.define('src', { fields = { n = 'int' } })
EOF

# --- one db.atomic of about 20 MB --------------------------------------------------------
lua one.lua <<'EOF'
local pad = string.rep('x', 1000)
local runs = 0
local keys = db.atomic(function()
  runs = runs + 1
  local last
  for i = 1, 20000 do last = db.blob:insert{ data = pad .. i, n = i } end
  return last
end)
print('one', db.blob:count(), db.blob:count{ index = 'n' }, keys, runs)
EOF
gh --db "$S/one" run "$S/define.lua"
gh --db "$S/one" run "$S/one.lua"
if expect_rc 0 "20 MB in one db.atomic"; then
  expect_out "one	20000	20000	20000" "20 MB in one db.atomic" && pass "20 MB in one db.atomic with a 1 MB first map"
  # with a 1 MB first map the unit was redone with a bigger map (README)
  if grep -q "one	20000	20000	20000	1$" "$S/out"; then
    fail "a 20 MB unit in a 1 MB map should have been redone with a bigger map"
  else
    pass "a unit that fills the map is redone with a bigger one"
  fi
  gh --db "$S/one" check
  expect_rc 0 "check after growing" && pass "check is clean after growing in one db.atomic"
fi

# --- the same, in a fresh database where the definition is made in the same unit ---
lua onedef.lua <<'EOF'
db.atomic(function()
  db.define('big', { fields = { data = 'string' } })
  for i = 1, 2000 do db.big:insert{ data = string.rep('y', 10000) } end
end)
print('onedef', db.big:count())
EOF
gh --db "$S/onedef" run "$S/onedef.lua"
expect_rc 0 "20 MB in the unit that defines the collection" && expect_out "onedef	2000" "onedef" &&
  pass "20 MB in the db.atomic that defines the collection"

# --- many small writes, each its own transaction ---------------------------------------
lua small.lua <<'EOF'
local pad = string.rep('s', 10000)
for i = 1, 2000 do db.blob:insert{ data = pad, n = i } end
print('small', db.blob:count())
EOF
gh --db "$S/small" run "$S/define.lua"
gh --db "$S/small" run "$S/small.lua"
expect_rc 0 "20 MB in many small writes" && expect_out "small	2000" "many small writes" &&
  pass "20 MB in many small writes with a 1 MB first map"
gh --db "$S/small" check
expect_rc 0 "check after many small writes" && pass "check is clean after many small writes"

# --- many savepoints in one unit -------------------------------------------------------
lua nested.lua <<'EOF'
local pad = string.rep('z', 10000)
db.atomic(function()
  for j = 1, 40 do
    db.atomic(function()
      for i = 1, 50 do db.blob:insert{ data = pad, n = j * 100 + i } end
    end)
    -- a savepoint that fails is rolled back alone, even while growing
    pcall(db.atomic, function()
      db.blob:insert{ data = pad, n = -j }
      error('no')
    end)
  end
end)
print('nested', db.blob:count(), db.blob:count{ n = { from = -100, to = -1 } })
EOF
gh --db "$S/nested" run "$S/define.lua"
gh --db "$S/nested" run "$S/nested.lua"
expect_rc 0 "20 MB through savepoints" && expect_out "nested	2000	0" "savepoints" &&
  pass "20 MB through nested savepoints"

# --- bus.run: handlers whose writes fill the map (issue 22) ---------------------------
# Each batch of bus.run is one unit of work: when the handlers fill the map it
# is redone with a bigger one, and every event is handled exactly once.
lua busrun.lua <<'EOF'
db.define('handled', { fields = { data = 'string', n = 'int' }, index = { 'n' } })
db.atomic(function() for i = 1, 2000 do bus.publish('fill.one', { n = i }) end end)
local pad = string.rep('b', 10000)
bus.consumer('filler', 'fill.*', function(ev) db.handled:insert{ data = pad, n = ev.payload.n } end)
local handled, parked = bus.run('filler')
local seen, twice = {}, 0
for r in db.handled:scan() do
  if seen[r.n] then twice = twice + 1 end
  seen[r.n] = true
end
print('busrun', handled, parked, db.handled:count(), twice, #bus.dead())
EOF
gh --db "$S/busrun" run "$S/busrun.lua"
expect_rc 0 "bus.run filling a 1 MB map" && expect_out "busrun	2000	0	2000	0	0" "bus.run after growing" &&
  pass "bus.run whose handlers fill the map grows it and handles each event once"
gh --db "$S/busrun" check
expect_rc 0 "check after bus.run grew the map" && pass "check is clean after bus.run grew the map"

# --- writing while a scan is open (outside db.atomic) --------------------------------
lua scanwrite.lua <<'EOF'
db.atomic(function() for i = 1, 200 do db.src:insert{ n = i } end end)
local pad = string.rep('w', 10000)
for r in db.src:scan() do
  for j = 1, 10 do db.blob:insert{ data = pad, n = r.n * 100 + j } end
end
print('scanwrite', db.blob:count())
EOF
gh --db "$S/scanwrite" run "$S/define.lua"
gh --db "$S/scanwrite" run "$S/scanwrite.lua"
expect_rc 1 "writing 20 MB in a 1 MB map while a scan is open" &&
  expect_err "cannot grow while a read is open" "the map cannot move under an open scan" &&
  pass "a write that fills the map under an open scan is a clear error"
lua scancount.lua <<'EOF'
local n = db.blob:count()
-- every insert was its own transaction: whole records only, indexed
assert(n == db.blob:count{ index = 'n' }, 'index and records disagree')
for r in db.blob:scan() do assert(#r.data == 10000) end
print('after', n)
EOF
gh --db "$S/scanwrite" run "$S/scancount.lua"
expect_rc 0 "after the failed write" && pass "nothing half-written after the failed write"
gh --db "$S/scanwrite" check
expect_rc 0 "check after the failed write" && pass "check is clean after the failed write"

# --- with the default map, the same program and a 20 MB unit just work, once -----------
unset GONGHUI_MAP_SIZE
gh --db "$S/default" run "$S/define.lua"
gh --db "$S/default" run "$S/scanwrite.lua"
expect_rc 0 "writing 20 MB while a scan is open (default map)" &&
  expect_out "scanwrite	2000" "writing while scanning" && pass "20 MB written while a scan is open"
gh --db "$S/default" run "$S/one.lua"
expect_rc 0 "20 MB in one db.atomic (default map)" &&
  expect_out "one	22000	22000	22000	1" "db.atomic ran its function once" &&
  pass "with the default map a 20 MB unit runs its function once"
export GONGHUI_MAP_SIZE=1048576

# --- a reopened database keeps growing from where it is ----------------------------------
gh --db "$S/small" run "$S/small.lua"
expect_rc 0 "writing 20 MB more after reopening" && expect_out "small	4000" "after reopening" &&
  pass "a reopened database grows further"

# --- a whole run (--atomic, --dry-run) that fills the map (issue 22) ---------------------
# It is redone from a fresh state with a bigger map when the try did nothing
# outside its transaction (script.c, invariant 2); a try that printed first is
# not redone: nothing is stored and the message says to run it again.
lua whole.lua <<'EOF'
local pad = string.rep('a', 1000)
for i = 1, 20000 do db.blob:insert{ data = pad .. i, n = i } end
print('whole', db.blob:count(), db.blob:count{ index = 'n' })
EOF
gh --db "$S/whole" run "$S/define.lua"
gh --db "$S/whole" run --atomic "$S/whole.lua"
expect_rc 0 "an --atomic run of 20 MB in a 1 MB map" &&
  expect_out "whole	20000	20000" "the --atomic run after growing" &&
  pass "an --atomic run that fills the map is redone with a bigger one"
if [ "$(grep -c whole "$S/out")" = 1 ]; then
  pass "the redone run printed its output once"
else
  fail "the redone run printed $(grep -c whole "$S/out") lines"
fi
gh --db "$S/whole" check
expect_rc 0 "check after the --atomic run grew the map" &&
  pass "check is clean after --atomic grew the map"
gh --db "$S/drywhole" run "$S/define.lua"
gh --db "$S/drywhole" run --dry-run "$S/whole.lua"
expect_rc 0 "a --dry-run of 20 MB in a 1 MB map" && expect_out "whole	20000	20000" "the dry run" &&
  pass "a --dry-run that fills the map is redone with a bigger one"
lua count.lua <<'EOF'
print('count', db.blob:count())
EOF
gh --db "$S/drywhole" run "$S/count.lua"
expect_out "count	0" "after the dry run" && pass "the redone dry run stored nothing"

lua printfirst.lua <<'EOF'
print('starting')
local pad = string.rep('p', 1000)
for i = 1, 20000 do db.blob:insert{ data = pad .. i, n = i } end
print('printfirst', db.blob:count())
EOF
gh --db "$S/printfirst" run "$S/define.lua"
gh --db "$S/printfirst" run --atomic "$S/printfirst.lua"
expect_rc 74 "an --atomic run that printed before the map filled" &&
  expect_err "it was not run again" "the run that printed" &&
  pass "an --atomic run that printed before the map filled is not redone, and says so"
if [ "$(grep -c starting "$S/out")" = 1 ]; then
  pass "its output was printed once"
else
  fail "the run that printed first printed $(grep -c starting "$S/out") times"
fi
gh --db "$S/printfirst" run "$S/count.lua"
expect_out "count	0" "after the refused run" && pass "nothing of the run that was not redone is stored"
gh --db "$S/printfirst" check
expect_rc 0 "check after the refused run" && pass "check is clean after the refused run"

finish
