#!/bin/sh
# concurrency.sh BINARY SCRATCH — two processes on one database: a second
# writer waits for the first (saying so on stderr after about two seconds)
# and then succeeds, seeing the first one's work; readers, check and stat
# run while a writer writes, without waiting, and see the last committed
# state.
. "$(dirname "$0")/lib.sh"
setup "$@"

DB=$S/db
lua define.lua <<'EOF'
db.define('t', { key = 'id', fields = { id = 'int', who = 'string' }, index = { 'who' } })
EOF
gh --db "$DB" run "$S/define.lua"
expect_rc 0 "making the database" || finish

# The long writer: inside one db.atomic it writes 100 records, says it is
# ready, then holds the transaction by busy-looping for params.hold seconds.
lua long.lua <<'EOF'
db.define('t', { key = 'id', fields = { id = 'int', who = 'string' }, index = { 'who' } })
db.atomic(function()
  for i = 1, 100 do db.t:insert{ id = i, who = 'first' } end
  local f = assert(io.open(params.ready, 'w'))
  f:write('ready')
  f:close()
  local t0 = os.clock()
  while os.clock() - t0 < params.hold do end
end)
print('first done')
EOF
lua second.lua <<'EOF'
db.define('t', { key = 'id', fields = { id = 'int', who = 'string' }, index = { 'who' } })
local saw = db.atomic(function()
  db.t:insert{ id = 1000, who = 'second' }
  return db.t:count{ who = 'first' }
end)
print('second saw', saw)
EOF
lua reader.lua <<'EOF'
print('reader saw', db.t:count(), db.t:count{ index = 'who', eq = 'first' })
EOF
lua reader_define.lua <<'EOF'
db.define('t', { key = 'id', fields = { id = 'int', who = 'string' }, index = { 'who' } })
print('reader saw', db.t:count())
EOF

start_long() { # HOLD_SECONDS
  rm -f "$S/ready"
  "$BIN" --db "$DB" run "$S/long.lua" hold="$1" ready="$S/ready" >"$S/long.out" 2>"$S/long.err" &
  LPID=$!
  track "$LPID"
  i=0
  while [ ! -e "$S/ready" ] && [ $i -lt 200 ]; do sleep 0.05; i=$((i + 1)); done
  if [ ! -e "$S/ready" ]; then
    fail "the long writer did not start"
    cat "$S/long.err" >&2
    return 1
  fi
  return 0
}

still_running() {
  kill -0 "$LPID" 2>/dev/null
}

# --- readers while a writer writes ------------------------------------------------
if start_long 5; then
  gh --db "$DB" run "$S/reader.lua"
  if still_running; then
    expect_rc 0 "a reader while writing" &&
      expect_out "reader saw	0	0" "a reader sees the last committed state, not the writer's unfinished work" &&
      no_err "waiting" "a reader does not wait" &&
      pass "a reader reads while another process writes"
  else
    fail "a reader had to wait for the writer to finish"
  fi
  gh --db "$DB" check
  if still_running; then
    expect_rc 0 "check while writing" && pass "check runs while another process writes"
  else
    fail "check waited for the writer"
  fi
  gh --db "$DB" stat
  if still_running; then
    expect_rc 0 "stat while writing" && pass "stat runs while another process writes"
  else
    fail "stat waited for the writer"
  fi
  # a program that starts with the same db.define as is stored is still a reader
  gh --db "$DB" run "$S/reader_define.lua"
  if still_running; then
    expect_rc 0 "a reader calling db.define" && expect_out "reader saw	0" "a reader calling db.define" &&
      pass "a program whose db.define changes nothing does not wait for a writer"
  else
    fail "a program whose db.define changes nothing waited for the writer (db.define with the same definition takes the writer lock)"
    show_output
  fi
  reap "$LPID"
  [ $? -eq 0 ] || { fail "the long writer failed"; cat "$S/long.err" >&2; }
fi

# --- a second writer waits, says so, then succeeds ---------------------------------
gh --db "$DB" run "$S/define.lua"
query "$DB" "db.atomic(function() for r in db.t:scan() do db.t:delete(r.id) end end)"
if start_long 4; then
  t0=$(date +%s)
  gh --db "$DB" run "$S/second.lua"
  t1=$(date +%s)
  if expect_rc 0 "the second writer"; then
    pass "the second writer succeeds"
    expect_err "waiting" "the second writer says it waits" && expect_err "$DB" "the waiting message names the database" &&
      pass "the second writer says on stderr that it waits"
    expect_out "second saw	100" "the second writer sees the first one's records" &&
      pass "the second writer ran after the first committed"
    [ $((t1 - t0)) -ge 2 ] || fail "the second writer did not wait ($((t1 - t0)) s)"
  fi
  if still_running; then fail "the second writer finished before the first"; fi
  reap "$LPID"
  [ $? -eq 0 ] || { fail "the long writer failed"; cat "$S/long.err" >&2; }
  query "$DB" "print(db.t:count(), db.t:get(1000, 'who'))"
  expect_out "101	second" "both writers' records are there" && pass "both writers' work is stored"
fi

# a short wait says nothing
query "$DB" "db.atomic(function() for r in db.t:scan() do db.t:delete(r.id) end end)"
if start_long 0.5; then
  gh --db "$DB" run "$S/second.lua"
  expect_rc 0 "a writer after a short wait" && no_err "waiting" "a short wait is silent" &&
    pass "a short wait (under two seconds) is silent"
  reap "$LPID"
fi

# --- many writers at once: every unit stored once ----------------------------------
lua many.lua <<'EOF'
db.define('m', { fields = { who = 'int', i = 'int' }, index = { 'who' } })
for i = 1, 30 do
  db.atomic(function() db.m:insert{ who = params.who, i = i } end)
end
EOF
gh --db "$DB" run "$S/many.lua" who=0
pids=""
for w in 1 2 3 4; do
  "$BIN" --db "$DB" run "$S/many.lua" who=$w >"$S/many$w.out" 2>"$S/many$w.err" &
  pids="$pids $!"
  track "$!"
done
ok=1
for p in $pids; do reap "$p" || ok=0; done
[ $ok -eq 1 ] || fail "a concurrent writer failed: $(cat "$S"/many*.err)"
query "$DB" "print(db.m:count(), db.m:count{ index = 'who', eq = 3 })"
expect_out "150	30" "four concurrent writers" && pass "four concurrent writers: every unit stored once"
gh --db "$DB" check
expect_rc 0 "check after concurrent writers" && pass "check is clean after concurrent writers"

finish
