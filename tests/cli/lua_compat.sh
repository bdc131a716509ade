#!/bin/sh
# lua_compat.sh BINARY SCRATCH — the embedded Lua behaves as Lua 5.4 does
# wherever the sandbox has no reason to differ (README "What a script can
# use" lists where it does). tests/lua/compat/compat.lua prints one line per
# behaviour; its output under `gonghui run` must equal compat.expected,
# which is what stock lua5.4 (Debian's lua5.4) prints: when lua5.4 is
# installed the test checks that too, so the expectation cannot drift.
. "$(dirname "$0")/lib.sh"
SRC=$(cd "$(dirname "$0")/../.." && pwd)
C=$SRC/tests/lua/compat
setup "$@"

gh --db "$S/db" run "$C/compat.lua"
expect_rc 0 "compat.lua under gonghui run" &&
  if diff -u "$C/compat.expected" "$S/out" >"$S/diff"; then
    pass "compat.lua: every line as in Lua 5.4 (os.date(), yield in xpcall, wrap closing <close>, nested coroutines, #!, require of the libraries, warn, argument errors named)"
  else
    fail "compat.lua under gonghui differs from Lua 5.4:"
    cat "$S/diff" >&2
  fi
expect_err "gonghui: warning: compat warning" "warn('@on') then warn(...) prints" &&
  no_err "not shown" "warn('@off') silences"
if command -v lua5.4 >/dev/null 2>&1; then
  (cd "$C" && lua5.4 compat.lua) >"$S/stock.out" 2>"$S/stock.err"
  if diff -u "$C/compat.expected" "$S/stock.out" >"$S/diff"; then
    pass "stock lua5.4 prints compat.expected"
  else
    fail "stock lua5.4 no longer prints compat.expected:"
    cat "$S/diff" >&2
  fi
else
  echo "note: lua5.4 is not installed; compat.expected is not checked against it" >&2
fi

# a script named like a standard library uses the library, not itself
mkdir -p "$S/lib8"
cat >"$S/lib8/utf8.lua" <<'LUA'
local u = require 'utf8'
print(u.char(24037, 20250), require('string') == string)
LUA
gh --db "$S/db" run "$S/lib8/utf8.lua"
expect_rc 0 "a script named utf8.lua" && expect_out "工会	true" "require 'utf8' in utf8.lua is the library" &&
  pass "a script named utf8.lua gets the utf8 library"

# a #! line is skipped and line numbers stay the file's
printf '#!/usr/bin/env -S gonghui run\nlocal x = 1\nerror("line three")\n' >"$S/bang.lua"
gh --db "$S/db" run "$S/bang.lua"
expect_rc 1 "a script with a #! line" && expect_err "bang.lua:3: line three" "the error is on line 3" && pass "a #! line is skipped"
printf '\357\273\277#!/usr/bin/env -S gonghui run\nprint("bom and bang")\n' >"$S/bom.lua"
gh --db "$S/db" run "$S/bom.lua"
expect_rc 0 "a byte order mark then #!" && expect_out "bom and bang" "runs" && pass "a byte order mark and a #! line"

# the limits still hold inside the new resume, wrap and xpcall
printf 'local co = coroutine.wrap(function() xpcall(function() while true do coroutine.yield() end end, debug.traceback) end)\nwhile true do co() end\n' >"$S/spin.lua"
gh --db "$S/db" run --timeout 300ms "$S/spin.lua"
expect_rc 124 "a loop yielding inside xpcall inside wrap stops at the deadline" &&
  expect_err "time limit" "says why" && pass "the deadline stops a loop yielding inside xpcall inside wrap"
finish
