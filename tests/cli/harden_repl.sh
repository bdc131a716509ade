#!/bin/sh
# harden_repl.sh — issue 16, classes 8 and 13: the read-only REPL writes
# nothing by any path (bus.publish_many, run.chunks, a file's `.write on`),
# and a wait for another writer stopped by --timeout or Ctrl-C says so
# (not "a string pattern", not "the other writer finished").
. "$(dirname "$0")/lib.sh"
setup "$@"

lua make.lua <<'EOF2'
db.define('t', { fields = { a = 'int' } })
EOF2
gh --db db run "$S/make.lua"
expect_rc 0 "the database" || finish
count() {
  "$BIN" --db db run -e "print('count', db.t:count())" >"$S/c.out" 2>&1
  COUNT=$(sed -n 's/^count\t//p' "$S/c.out")
}
events() {
  "$BIN" --db db events tail --limit 100 >"$S/e.out" 2>&1
  EVENTS=$(grep -c 'x\.y' "$S/e.out")
}

# ---- class 8
printf "bus.publish_many('x.y', { { a = 1 }, { a = 2 } })\n" | "$BIN" --db db repl >"$S/out" 2>"$S/err"
events
[ "$EVENTS" = 0 ] && expect_err "read-only" "publish_many: the reason" &&
  pass "bus.publish_many is refused in the read-only REPL"
printf "run.chunks('p', { 1, 2, 3 }, function(i) end)\nprint(run.checkpoint('p'))\n" |
  "$BIN" --db db repl >"$S/out" 2>"$S/err"
expect_err "read-only" "run.chunks: the reason" && pass "run.chunks is refused in the read-only REPL"
printf ".write on\ndb.t:insert{ a = 1 }\n" >"$S/evil.lua"
printf ".read %s\n" "$S/evil.lua" | "$BIN" --db db repl >"$S/out" 2>"$S/err"
count
[ "$COUNT" = 0 ] && expect_err ".write on: not taken from a file" ".read: the reason" &&
  pass ".write on from a .read file is refused"
"$BIN" --db db repl "$S/evil.lua" >"$S/out" 2>"$S/err"
count
[ "$COUNT" = 0 ] && pass "gonghui repl FILE.lua with .write on writes nothing"
printf "db.t:insert{ a = 1 }\n" | "$BIN" --db db repl --write >"$S/out" 2>"$S/err"
count
[ "$COUNT" = 1 ] && pass "gonghui repl --write still writes" || fail "--write: count $COUNT"
printf ".write on\ndb.t:insert{ a = 2 }\n" | "$BIN" --db db repl >"$S/out" 2>"$S/err"
count
[ "$COUNT" = 2 ] && pass ".write on typed (from standard input) still turns writes on" ||
  fail ".write on typed: count $COUNT"

# ---- class 13: a lock wait stopped
rm -f held go
lua hold.lua <<'EOF2'
db.atomic(function()
  db.t:insert{ a = 100 }
  local f = run.open('held', 'w'); f:write('1'); f:close()
  while not io.open('go') do end
end)
EOF2
"$BIN" --db db run --timeout 0 "$S/hold.lua" >"$S/h.out" 2>"$S/h.err" &
ph=$!
track $ph
while [ ! -e held ] && kill -0 $ph 2>/dev/null; do sleep 0.05; done
gh --db db run --timeout 1 -e "db.t:insert{ a = 3 }"
expect_rc 124 "a writer waiting for the lock, stopped by --timeout" &&
  no_err "string pattern" "--timeout: no string pattern blamed" &&
  no_err "the other writer finished" "--timeout: no false 'finished'" &&
  pass "--timeout stops a lock wait and says so"
"$BIN" --db db run -e "db.t:insert{ a = 4 }" >"$S/w.out" 2>"$S/w.err" &
pw=$!
track $pw
while ! grep -q "waiting for another process" "$S/w.err" && kill -0 $pw 2>/dev/null; do sleep 0.05; done
kill -INT $pw
reap $pw
rc=$?
[ $rc -eq 130 ] && ! grep -q "the other writer finished" "$S/w.err" &&
  ! grep -q "string pattern" "$S/w.err" && grep -q "still writing" "$S/w.err" &&
  pass "Ctrl-C stops a lock wait and says the other still writes" ||
  { fail "Ctrl-C during a lock wait: exit $rc"; cat "$S/w.err" >&2; }
touch go
reap $ph
count
[ "$COUNT" = 3 ] && pass "only the holder's write is stored" || fail "after the waits: count $COUNT"

finish
