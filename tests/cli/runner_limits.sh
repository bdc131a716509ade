#!/bin/sh
# runner_limits.sh BINARY SCRATCH — the limits of `gonghui run` cannot be
# escaped: every way out of the deadline and the memory cap ends with a
# clear message, the limit's exit code, and the open transaction rolled
# back (a count afterwards shows it), within a few seconds of running.
. "$(dirname "$0")/lib.sh"
setup "$@"

DB=$S/db

lua define.lua <<'EOF'
db.define('t', { fields = { n = 'int' } })
db.t:insert{ n = 0 }
EOF
gh --db "$DB" run "$S/define.lua"
expect_rc 0 "making the database" || finish

# The CPU time (ms) used so far by this shell's finished children. `times`
# is a shell builtin (no fork, so it sees our children), its second line
# is the children's user and system time, e.g. "0m1.230000s 0m0.100000s".
children_cpu_ms() {
  times >"$S/times"
  awk 'NR == 2 { t = 0
    for (i = 1; i <= 2; i++) { split($i, p, "m"); sub("s", "", p[2]); t += p[1] * 60 + p[2] }
    printf "%d", t * 1000 }' "$S/times"
}
# What no limit case may reach: a run still going then is killed (exit 137).
BACKSTOP=120

# Runs SCRIPT (the Lua body goes inside a db.atomic that first inserts 100
# records) with OPTIONS; expects exit code CODE and stderr TEXT, the run
# using at most MAXS seconds of CPU; then checks that nothing of the unit
# stayed. Each script spins on the CPU until its limit stops it, so its CPU
# time is how long it ran: the same as the wall time on an idle machine,
# but not stretched when other processes take the CPU (then the wall time
# can be many times longer). A limit that never stops the run meets the
# backstop instead.
limit_case() { # NAME CODE TEXT MAXS OPTIONS... <<body
  name=$1 code=$2 text=$3 maxs=$4
  shift 4
  {
    echo "db.atomic(function()"
    echo "  for i = 1, 100 do db.t:insert{ n = i } end"
    cat
    echo "end)"
  } >"$S/case.lua"
  c0=$(children_cpu_ms)
  t0=$(date +%s)
  timeout -s KILL $BACKSTOP "$BIN" --db "$DB" run "$@" "$S/case.lua" >"$S/out" 2>"$S/err"
  RC=$?
  t1=$(date +%s)
  cpu=$(($(children_cpu_ms) - c0))
  ok=1
  if [ "$RC" -eq 137 ]; then
    fail "$name: still running after $BACKSTOP s (killed)"
    ok=0
  fi
  [ $ok -eq 1 ] && { expect_rc "$code" "$name" || ok=0; }
  [ $ok -eq 1 ] && { expect_err "$text" "$name: the message" || ok=0; }
  if [ "$cpu" -gt $((maxs * 1000)) ]; then
    fail "$name: ran for $cpu ms of CPU (at most $maxs s expected; $((t1 - t0)) s of wall time)"
    ok=0
  fi
  query "$DB" "print('count', db.t:count())"
  if ! grep -qx "count	1" "$S/out"; then
    fail "$name: the open transaction was not rolled back: $(cat "$S/out") $(cat "$S/err")"
    ok=0
  fi
  [ $ok -eq 1 ] && pass "$name"
}

limit_case "an endless loop hits the deadline" 124 "time limit of 1 s" 5 --timeout 1 <<'EOF'
  while true do end
EOF

limit_case "pcall around an endless loop cannot swallow the deadline" 124 "time limit" 5 --timeout 1 <<'EOF'
  while true do pcall(function() while true do end end) end
EOF

limit_case "a pcall that catches the deadline error and loops again" 124 "time limit" 5 --timeout 1 <<'EOF'
  for _ = 1, 1e9 do
    local ok = pcall(function() while true do end end)
    ok = pcall(error, 'x')
  end
EOF

limit_case "an endless loop in a table.sort comparator" 124 "time limit" 5 --timeout 1 <<'EOF'
  local a = {} for i = 1, 100 do a[i] = i end
  table.sort(a, function(x, y) while true do end end)
EOF

limit_case "an endless loop in a gsub callback" 124 "time limit" 5 --timeout 1 <<'EOF'
  string.gsub('abc', '%w', function(c) while true do end end)
EOF

limit_case "an endless loop in a coroutine made before the deadline" 124 "time limit" 5 --timeout 1 <<'EOF'
  local co = coroutine.wrap(function() while true do end end)
  co()
EOF

limit_case "an endless loop in an xpcall message handler" 124 "time limit" 5 --timeout 1 <<'EOF'
  while true do xpcall(error, function() while true do end end) end
EOF

limit_case "a pathological pattern is stopped by the watchdog" 124 "stuck inside a library function" 8 --timeout 1 <<'EOF'
  string.find(('a'):rep(16), ('a*'):rep(16) .. 'b')
EOF

limit_case "deep recursion is a clear error" 1 "stack overflow" 10 <<'EOF'
  local function f(n) return 1 + f(n + 1) end
  f(1)
EOF

limit_case "running out of the memory cap" 125 "memory than its limit of 32 MB" 10 --memory 32M <<'EOF'
  local t = {}
  for i = 1, 1e9 do t[i] = ('x'):rep(100) .. i end
EOF

limit_case "a pcall that catches the memory error and tries again hits the deadline" 124 "time limit" 6 --memory 32M --timeout 2 <<'EOF'
  while true do
    pcall(function() local t = {} for i = 1, 1e9 do t[i] = ('x'):rep(100) .. i end end)
  end
EOF

limit_case "string.rep of a huge size" 1 "over the limit" 5 <<'EOF'
  local s = string.rep('x', 1 << 40)
EOF

# a memory error caught by pcall is the script's to handle: the run goes on
lua memok.lua <<'EOF'
local ok, err = pcall(function() local t = {} for i = 1, 1e9 do t[i] = ('x'):rep(100) .. i end end)
collectgarbage()
print('caught', ok, err)
EOF
gh --db "$DB" run --memory 32M "$S/memok.lua"
expect_rc 0 "a caught memory error" && expect_out "caught	false	not enough memory" "a caught memory error" &&
  pass "a memory error is catchable with pcall"

# options are checked
gh --db "$DB" run --timeout soon "$S/memok.lua"
expect_rc 2 "a bad --timeout" && expect_err "--timeout" "a bad --timeout" && pass "a bad --timeout is a usage error"
gh --db "$DB" run --memory lots "$S/memok.lua"
expect_rc 2 "a bad --memory" && pass "a bad --memory is a usage error"

gh --db "$DB" check
expect_rc 0 "check after the limits" && pass "check is clean after every limit"
finish
