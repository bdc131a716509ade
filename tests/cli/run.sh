#!/bin/sh
# run.sh BINARY SCRATCH — `gonghui run`: exit codes, error messages with
# FILE:LINE and a traceback, syntax errors, failed db.atomic stores nothing,
# params, require from the script's folder and from scripts/lib, and usage
# errors of the command line.
. "$(dirname "$0")/lib.sh"
setup "$@"

DB=$S/db

# --- success: exit 0, output of print ---------------------------------------
lua ok.lua <<'EOF'
db.define('members', { key = 'id', fields = { id = 'int', name = 'string', town = 'string?' },
                       index = { 'town' } })
db.members:put{ id = 1, name = '李娜', town = '硖石街道' }
print('count', db.members:count())
EOF
gh --db "$DB" run "$S/ok.lua"
expect_rc 0 "a good script" && expect_out "count	1" "a good script" && pass "a good script exits 0"

# --- a later run knows the collection ------------------------------------------
lua later.lua <<'EOF'
print('later', db.members:get(1, 'name'), db.members:count{ town = '硖石街道' })
EOF
gh --db "$DB" run "$S/later.lua"
expect_rc 0 "a later run" && expect_out "later	李娜	1" "a later run" && pass "a later run knows the collection"

# --- a runtime error: exit 1, FILE:LINE: message and a traceback ---------------
lua fail.lua <<'EOF'
local function inner()
  db.members:insert{ id = 'not a number', name = 'x' }
end
inner()
EOF
gh --db "$DB" run "$S/fail.lua"
if expect_rc 1 "a runtime error"; then
  expect_err "fail.lua:2: collection 'members': field 'id'" "a runtime error" &&
    expect_err "stack traceback:" "a runtime error" &&
    expect_err_re "fail.lua:4: in (main chunk|function)" "a runtime error: the traceback shows the caller" &&
    pass "a runtime error gives FILE:LINE: message, a traceback, exit 1"
fi

lua err.lua <<'EOF'
print('before')
error('something went wrong')
EOF
gh --db "$DB" run "$S/err.lua"
expect_rc 1 "error()" && expect_err "err.lua:2: something went wrong" "error()" &&
  expect_err "stack traceback:" "error()" && expect_out "before" "error(): output before it" &&
  pass "error() gives FILE:LINE: message"

# an error raised inside db.atomic points at its own line, not at db.atomic
lua atomicerr.lua <<'EOF'
db.atomic(function()
  db.members:put{ id = 2, name = 'b' }
  local x = nil
  return x.field
end)
EOF
gh --db "$DB" run "$S/atomicerr.lua"
expect_rc 1 "an error inside db.atomic" &&
  expect_err "atomicerr.lua:4:" "an error inside db.atomic: its line" &&
  expect_err "stack traceback:" "an error inside db.atomic" &&
  pass "an error inside db.atomic names its own line"

# run.fail: exit 1, the message alone (no traceback), the open transaction
# rolled back, catchable by pcall; an error after a caught run.fail is an
# ordinary error again
lua runfail.lua <<'EOF'
print('before')
print(pcall(run.fail, 'caught'))
db.atomic(function()
  db.members:put{ id = 3, name = 'c' }
  run.fail('check: 2 problems (household H1: 3 vs 4)')
end)
EOF
gh --db "$DB" run "$S/runfail.lua"
expect_rc 1 "run.fail" && expect_out "false	caught" "run.fail under pcall" &&
  expect_err "check: 2 problems (household H1: 3 vs 4)" "run.fail" &&
  no_err "stack traceback" "run.fail" && no_err "runfail.lua:" "run.fail: no FILE:LINE" &&
  pass "run.fail: exit 1, the message without a traceback"
query "$DB" 'print(db.members:get(3) == nil)'
expect_out "true" "run.fail inside db.atomic rolls it back" && pass "run.fail rolls back the open db.atomic"
lua runfail2.lua <<'EOF'
pcall(run.fail, 'first')
error('first')
EOF
gh --db "$DB" run "$S/runfail2.lua"
expect_rc 1 "an error after a caught run.fail" && expect_err "stack traceback:" "an error after a caught run.fail" &&
  pass "an error after a caught run.fail keeps its traceback"
# run.fail (and error) in a bus.emit handler directly under the runner: named
# as pcall, xpcall and db.atomic name it ("bus handler for 'TOPIC' (WHERE)
# failed:"), run.fail's still without a traceback; the fast path (a topic
# emitted before), the first emit of a topic (the C emit), and inside db.atomic
for how in fast first atomic; do
  lua "emitfail_$how.lua" <<EOF
bus.on('claim.check', function(p)
  if p == 'fail' then run.fail('refused: no such household') end
  if p == 'err' then error('broke', 0) end
end, { label = 'household check' })
if '$how' == 'fast' then bus.emit('claim.check', 'ok') end
local mode = params.mode
if '$how' == 'atomic' then db.atomic(function() bus.emit('claim.check', mode) end)
else bus.emit('claim.check', mode) end
EOF
  gh --db "$DB" run "$S/emitfail_$how.lua" mode=fail
  expect_rc 1 "run.fail in an emit handler ($how)" &&
    expect_err "bus handler for 'claim.check' (household check) failed: refused: no such household" \
      "run.fail in an emit handler ($how): named" &&
    no_err "stack traceback" "run.fail in an emit handler ($how)" &&
    pass "run.fail in an emit handler under the runner is named, without a traceback ($how)"
  gh --db "$DB" run "$S/emitfail_$how.lua" mode=err
  expect_rc 1 "error in an emit handler ($how)" &&
    expect_err "bus handler for 'claim.check' (household check) failed: broke" \
      "error in an emit handler ($how): named" &&
    expect_err "stack traceback:" "error in an emit handler ($how)" &&
    pass "an error in an emit handler under the runner is named, with its traceback ($how)"
done
gh --db "$DB" run -e 'run.fail(42)'
expect_rc 1 "run.fail(42)" && expect_err "42" "run.fail(42)" && pass "run.fail takes a number as text"
gh --db "$DB" run -e 'run.fail()'
expect_rc 1 "run.fail()" && expect_err "bad argument #1 to 'fail'" "run.fail() without a message" &&
  pass "run.fail() without a message is a usage error"

# a non-string error value
lua errtable.lua <<'EOF'
error({ code = 1 })
EOF
gh --db "$DB" run "$S/errtable.lua"
expect_rc 1 "error(table)" && pass "error(table) exits 1"

# --- a syntax error --------------------------------------------------------------
printf 'print("a")\nlocal x = = 2\n' >"$S/syntax.lua"
gh --db "$DB" run "$S/syntax.lua"
expect_rc 1 "a syntax error" && expect_err "syntax.lua:2:" "a syntax error" &&
  pass "a syntax error gives FILE:LINE and exit 1"
if grep -q '^a$' "$S/out"; then fail "a syntax error: the script ran anyway"; fi

# --- a failed db.atomic stores nothing -----------------------------------------
lua atomicfail.lua <<'EOF'
db.define('ledger', { fields = { who = 'int', amount = 'fen' }, index = { 'who' } })
db.ledger:insert{ who = 0, amount = 1 }
db.atomic(function()
  for i = 1, 1000 do db.ledger:insert{ who = i, amount = i } end
  db.members:update(1, { name = 'changed' })
  db.define('newcoll', { fields = { a = 'int' } })
  error('abandon the unit')
end)
EOF
gh --db "$DB" run "$S/atomicfail.lua"
expect_rc 1 "a failed db.atomic" && expect_err "abandon the unit" "a failed db.atomic"
query "$DB" "print(db.ledger:count(), db.ledger:count{ index = 'who' }, db.members:get(1, 'name'), #db.collections())"
if expect_rc 0 "reading after a failed db.atomic"; then
  if grep -qx "1	1	李娜	2" "$S/out"; then
    pass "a failed db.atomic stores nothing (records, indexes, definitions)"
  else
    fail "a failed db.atomic stored something: $(cat "$S/out")"
  fi
fi
gh --db "$DB" check
expect_rc 0 "check after a failed db.atomic" && pass "check is clean after a failed db.atomic"

# --- params ------------------------------------------------------------------------
lua params.lua <<'EOF'
print(params.year, math.type(params.year), params.rate, math.type(params.rate), params.name, type(params.code))
EOF
gh --db "$DB" run "$S/params.lua" year=2025 rate=0.5 name=李娜 code=0x
expect_rc 0 "params" && expect_out "2025	integer	0.5	float	李娜	string" "params" &&
  pass "params: numbers become numbers"
gh --db "$DB" run "$S/params.lua" notaparam
expect_rc 2 "a parameter without =" && expect_err "notaparam" "a parameter without =" &&
  pass "a parameter that is not name=value is a usage error"
gh --db "$DB" run "$S/params.lua" =5
expect_rc 2 "a parameter without a name" && pass "a parameter without a name is a usage error"

# --- require: the script's folder and scripts/lib ---------------------------------
mkdir -p "$S/prog/sub"
cat >"$S/prog/helper.lua" <<'EOF'
return { greet = function(n) return 'hello ' .. n end }
EOF
cat >"$S/prog/sub/init.lua" <<'EOF'
return { name = 'sub' }
EOF
cat >"$S/prog/main.lua" <<'EOF'
local h = require 'helper'
local s = require 'sub'
print(h.greet('工会'), s.name)
EOF
# run from elsewhere: the module path follows the script, not the working directory
(cd / && "$BIN" --db "$DB" run "$S/prog/main.lua") >"$S/out" 2>"$S/err"
RC=$?
expect_rc 0 "require from the script's folder" && expect_out "hello 工会	sub" "require from the script's folder" &&
  pass "require finds modules in the script's folder"
# a relative script path
(cd "$S" && "$BIN" --db "$DB" run prog/main.lua) >"$S/out" 2>"$S/err"
RC=$?
expect_rc 0 "require with a relative script path" && pass "require works with a relative script path"

# an error inside a module names the module's file and line
cat >"$S/prog/bad.lua" <<'EOF'
local M = {}
function M.boom()
  error('module failure')
end
return M
EOF
cat >"$S/prog/usebad.lua" <<'EOF'
require('bad').boom()
EOF
gh --db "$DB" run "$S/prog/usebad.lua"
expect_rc 1 "an error in a module" && expect_err "bad.lua:3: module failure" "an error in a module" &&
  expect_err "usebad.lua:1" "an error in a module: the traceback shows the caller" &&
  pass "an error in a module names the module's file and line"

# a module that is missing: a clear error
cat >"$S/prog/missing.lua" <<'EOF'
require 'no_such_module_here'
EOF
gh --db "$DB" run "$S/prog/missing.lua"
expect_rc 1 "a missing module" && expect_err "no_such_module_here" "a missing module" &&
  pass "a missing module is an error naming it"

# scripts/lib of the installation: a copy of the binary in inst/bin finds
# inst/share/gonghui/scripts/lib (the layout of make install; paths.c)
mkdir -p "$S/inst/bin" "$S/inst/share/gonghui/scripts/lib" "$S/elsewhere"
cp "$BIN" "$S/inst/bin/gonghui"
cat >"$S/inst/share/gonghui/scripts/lib/unionlib.lua" <<'EOF'
return { version = 'lib-ok' }
EOF
cat >"$S/elsewhere/uselib.lua" <<'EOF'
print(require('unionlib').version)
EOF
"$S/inst/bin/gonghui" --db "$DB" run "$S/elsewhere/uselib.lua" >"$S/out" 2>"$S/err"
RC=$?
expect_rc 0 "require from scripts/lib" && expect_out "lib-ok" "require from scripts/lib" &&
  pass "require finds modules in scripts/lib"
# the script's folder comes first
cat >"$S/elsewhere/unionlib.lua" <<'EOF'
return { version = 'local-first' }
EOF
"$S/inst/bin/gonghui" --db "$DB" run "$S/elsewhere/uselib.lua" >"$S/out" 2>"$S/err"
RC=$?
expect_rc 0 "script folder before scripts/lib" && expect_out "local-first" "script folder before scripts/lib" &&
  pass "the script's folder comes before scripts/lib"
# GONGHUI_LIB names another library folder
mkdir -p "$S/otherlib"
echo "return { version = 'env-lib' }" >"$S/otherlib/envlib.lua"
echo "print(require('envlib').version)" >"$S/elsewhere/useenv.lua"
GONGHUI_LIB=$S/otherlib "$BIN" --db "$DB" run "$S/elsewhere/useenv.lua" >"$S/out" 2>"$S/err"
RC=$?
expect_rc 0 "GONGHUI_LIB" && expect_out "env-lib" "GONGHUI_LIB" && pass "GONGHUI_LIB adds a library folder"
# C modules cannot be loaded from scripts
echo "print(package.cpath == '')" >"$S/cpath.lua"
gh --db "$DB" run "$S/cpath.lua"
expect_rc 0 "package.cpath" && expect_out "true" "package.cpath is empty" && pass "package.cpath is empty"

# --- usage errors: exit 2 --------------------------------------------------------
gh
expect_rc 2 "no command" && expect_err "usage" "no command" && pass "no command: usage, exit 2"
gh --db "$DB" frobnicate
expect_rc 2 "an unknown command" && expect_err "frobnicate" "an unknown command" && pass "an unknown command: exit 2"
gh --db "$DB" run
expect_rc 2 "run without a script" && pass "run without a script: exit 2"
gh --db "$DB" --frob run "$S/ok.lua"
expect_rc 2 "an unknown option" && expect_err "--frob" "an unknown option" && pass "an unknown option: exit 2"
# --- --now: the one strict parser (core/parse.c): a value it cannot read is refused, named ---
gh --db "$DB" run --now '2025-13-45 99:99' "$S/ok.lua"
expect_rc 2 "--now 2025-13-45 99:99" &&
  expect_err '--now "2025-13-45 99:99" is not a real date (month 1-12, a day the month has)' "--now names the value" &&
  pass "--now '2025-13-45 99:99' is refused, naming the value"
gh --db "$DB" run --now '2025-02-30' "$S/ok.lua"
expect_rc 2 "--now 2025-02-30" && expect_err '--now "2025-02-30" is not a real date' "--now 2025-02-30" &&
  pass "--now 2025-02-30 is refused"
gh --db "$DB" run --now '2025-01-29 24:00' "$S/ok.lua"
expect_rc 2 "--now 24:00" && expect_err 'is not a real time of day' "--now 24:00" && pass "--now with hour 24 is refused"
gh --db "$DB" run --now '2025/1/29 08:30' -e 'print(os.date("%Y-%m-%d %H:%M", os.time()))'
expect_rc 0 "--now 2025/1/29 08:30" && expect_out "2025-01-29 08:3" "--now in a clerk's form" &&
  pass "--now takes the dates import takes (2025/1/29 08:30)"
gh --db
expect_rc 2 "--db without a directory" && pass "--db without a directory: exit 2"
gh --db "$DB" backup
expect_rc 2 "backup without a destination" && pass "backup without a destination: exit 2"
gh --help
expect_rc 0 "--help" && expect_out "usage" "--help" && pass "--help: exit 0"
gh --version
expect_rc 0 "--version" && expect_out "gonghui" "--version" && pass "--version: exit 0"
# a script that does not exist: an error naming it, not exit 0
gh --db "$DB" run "$S/no_such_script.lua"
if [ "$RC" -eq 0 ]; then
  fail "a missing script: exit 0"
else
  expect_err "no_such_script.lua" "a missing script" && pass "a missing script: an error naming it (exit $RC)"
fi
# options after the command
gh run "$S/later.lua" --db "$DB"
expect_rc 0 "--db after the command" && expect_out "later	李娜" "--db after the command" &&
  pass "--db may come after the command"

# require loops: a clear error, not a C stack overflow; a module that failed can be required again
mkdir -p "$S/loop"
printf "local x = require 'report'\nprint(x)\n" >"$S/loop/report.lua"
gh --db "$DB" run "$S/loop/report.lua"
expect_rc 1 "self require" &&
  expect_err "require 'report': a loop: 'report' is still being loaded" "self require" &&
  pass "a script that requires its own name: a loop, named"
printf "return require 'lb'\n" >"$S/loop/la.lua"
printf "return require 'la'\n" >"$S/loop/lb.lua"
printf "local ok, e = pcall(require, 'la')\nprint('first', ok)\nok = pcall(require, 'la')\nprint('again', ok)\n" >"$S/loop/main.lua"
gh --db "$DB" run "$S/loop/main.lua"
expect_rc 0 "loop through two" && expect_out "first	false" "loop through two" &&
  expect_out "again	false" "loop again" && pass "a loop through two modules is refused each time"

finish
