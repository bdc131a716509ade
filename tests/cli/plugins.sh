#!/bin/sh
# plugins.sh BINARY SCRATCH [TESTPLUGINS] — native plugins end to end: the
# plugin path (--plugins, GONGHUI_PLUGIN_PATH, the build's folder), refusals
# as FILE:LINE messages with exit code 1, unload hooks of refused plugins,
# files that are not plugins, names with paths, the memory limit, the REPL.
# TESTPLUGINS is the folder of tests/plugins/*.so (ctest passes it; by
# default <dir of BINARY>/tests/plugins/so).
. "$(dirname "$0")/lib.sh"
P=${3:-$(dirname "$1")/tests/plugins/so}
case $P in /*) ;; *) P=$(pwd)/$P ;; esac
setup "$@"
unset GONGHUI_PLUGIN_PATH
DB=$S/db

if [ ! -f "$P/good.so" ]; then
  fail "no test plugins in $P (build the tplug_* targets)"
  finish
fi

# --- a plugin others could change is refused (as ssh refuses a loose key) -------
L=$S/loose
rm -rf "$L" && mkdir -p "$L" && cp "$P/good.so" "$L/" && chmod 755 "$L" && chmod 644 "$L/good.so"
lua add.lua <<'EOF'
local g = plugin.load 'good'
print('sum', g.add(40, 2), g.upper('ok'))
EOF
gh --db "$DB" --plugins "$L" run "$S/add.lua"
expect_rc 0 "a plugin only its owner can write" && pass "a plugin only its owner can write loads"
chmod 666 "$L/good.so"
gh --db "$DB" --plugins "$L" run "$S/add.lua"
expect_rc 1 "a plugin file others can write" && expect_err "can be written by any user (mode 0666)" "the file named" &&
  expect_err "chmod o-w $L/good.so" "what to do" && pass "a plugin file others can write is refused"
chmod 644 "$L/good.so" && chmod 777 "$L"
gh --db "$DB" --plugins "$L" run "$S/add.lua"
expect_rc 1 "a plugin folder others can write" && expect_err "its folder $L can be written by any user" "the folder named" &&
  pass "a plugin in a folder others can write is refused"
chmod 775 "$L" && chmod 664 "$L/good.so"
gh --db "$DB" --plugins "$L" run "$S/add.lua"
expect_rc 0 "group-writable" && pass "group-writable (umask 002, private user groups) is allowed"
chmod 644 "$L/good.so" && chmod 1777 "$L"
gh --db "$DB" --plugins "$L" run "$S/add.lua"
expect_rc 0 "a sticky folder" && pass "a sticky folder (as /tmp) is allowed: others cannot replace the file"
chmod 755 "$L"

# --- --plugins DIR ---------------------------------------------------------------
lua add.lua <<'EOF'
local g = plugin.load 'good'
print('sum', g.add(40, 2), g.upper('ok'))
EOF
gh --db "$DB" --plugins "$P" run "$S/add.lua"
expect_rc 0 "--plugins" && expect_out "sum	42	OK" "--plugins" && pass "--plugins DIR finds a plugin"

gh --db "$DB" run --plugins "$P" "$S/add.lua"
expect_rc 0 "--plugins after run" && pass "--plugins may follow the command"

gh --db "$DB" --plugins "$S/nope" run "$S/add.lua"
expect_rc 2 "--plugins missing folder" &&
  expect_err "gonghui: --plugins needs an existing folder: $S/nope" "--plugins missing folder" &&
  pass "--plugins with no such folder is a usage error"

# --- GONGHUI_PLUGIN_PATH, several folders ----------------------------------------------
mkdir -p "$S/empty"
GONGHUI_PLUGIN_PATH="$S/empty:$P" gh --db "$DB" run "$S/add.lua"
expect_rc 0 "GONGHUI_PLUGIN_PATH" && expect_out "sum	42" "GONGHUI_PLUGIN_PATH" &&
  pass "GONGHUI_PLUGIN_PATH is a ':' list of folders"

# --- not in the path: not found, with the places tried -----------------------------------
gh --db "$DB" run "$S/add.lua"
expect_rc 1 "not in the path" &&
  expect_err "add.lua:1: plugin 'good' not found in the plugin path" "not in the path" &&
  expect_err "no file '" "not in the path" && pass "a plugin outside the path is not found"

# --- the build's own folder: idcard, through require ------------------------------------
lua id.lua <<'EOF'
local idcard = require 'idcard'
print('id', idcard.valid('11010519491231002X'), idcard.birth('11010519491231002X'))
EOF
gh --db "$DB" run "$S/id.lua"
expect_rc 0 "build folder" && expect_out "id	true	1949-12-31" "build folder" &&
  pass "require finds a shipped plugin in the build's plugin folder"

# --- refusals: FILE:LINE: message, exit 1, the hook of a refused plugin runs ----------
lua refuse.lua <<'EOF'
local ok, e = pcall(plugin.load, 'failinit')
print('caught', e)
print('loaded', #plugin.loaded())
plugin.load 'newer'
EOF
gh --db "$DB" --plugins "$P" run "$S/refuse.lua"
expect_rc 1 "refusal" &&
  expect_out "caught	plugin 'failinit' failed to start: the licence file /etc/failinit.key is missing" "failinit" &&
  expect_out "loaded	0" "failinit leaves nothing" &&
  expect_err "[failinit: unload hook ran]" "failinit's unload hook" &&
  expect_err "refuse.lua:4: plugin 'newer' refused: it was built for plugin API 2.0 and this gonghui provides API 1.4" "newer" &&
  pass "refusals: clear messages with the script's line, exit 1, hooks run, nothing loaded"

gh --db "$DB" --plugins "$P" run -e "plugin.load 'dup'"
expect_rc 1 "dup" && expect_err "plugin 'dup' refused: it declares function 'one' twice" "dup" &&
  expect_err "[dup: unload hook ran]" "dup's unload hook" && pass "duplicate function names are refused"

# --- files that are not plugins ------------------------------------------------------------
mkdir -p "$S/fake"
echo "not a shared object" >"$S/fake/notso.so"
gh --db "$DB" --plugins "$S/fake" run -e "plugin.load 'notso'"
expect_rc 1 "not an ELF" && expect_err "plugin 'notso': $S/fake/notso.so cannot be loaded:" "not an ELF" &&
  pass "a file that is not a shared object is refused with dlopen's reason"

# --- names with a path: refused even when the file exists there -----------------------------
mkdir -p "$S/fake/sub"
cp "$P/good.so" "$S/fake/sub/good.so"
for name in sub/good ../so/good "$P/good" good.so; do
  gh --db "$DB" --plugins "$S/fake" run -e "plugin.load '$name'"
  expect_rc 1 "path name $name" &&
    expect_err "plugin '$name': a plugin name is letters, digits, '_' and '-'" "path name $name" ||
    continue
done
pass "plugin names with a path in them are refused"

gh --db "$DB" --plugins "$S/fake" run -e "require 'sub.good'"
expect_rc 1 "require sub.good" && expect_err "module 'sub.good' not found" "require sub.good" &&
  pass "require does not turn dots into plugin folders"

# --- memory: plugin allocations count against --memory ------------------------------------
gh --db "$DB" --plugins "$P" run --memory 64M -e "
local g = plugin.load 'good'
assert(g.hold(100 * 1024 * 1024) == false, 'over the limit')
assert(g.hold(10 * 1024 * 1024) == true, 'under the limit')
print('mem', plugin.memory() >= 10 * 1024 * 1024)"
expect_rc 0 "memory" && expect_out "mem	true" "memory" && pass "plugin memory counts against --memory"

# --- the run's clock: gh_api.now and idcard's "birth date in the future" follow --now -------
PB=$(dirname "$1")/plugins
case $PB in /*) ;; *) PB=$(pwd)/$PB ;; esac
cat >"$S/clock.lua" <<'EOF'
local r, idcard = plugin.load 'records', plugin.load 'idcard'
local born = '33048120270101001'
print('clock', r.now() == os.time(), os.date('!%Y-%m-%d', r.now()),
      idcard.valid(born .. idcard.check_char(born)))
EOF
GONGHUI_PLUGIN_PATH="$P:$PB" gh --db "$DB" run --now 2030-06-01 "$S/clock.lua"
expect_rc 0 "clock --now" && expect_out "clock	true	2030-06-01	true" "clock --now" &&
  GONGHUI_PLUGIN_PATH="$P:$PB" gh --db "$DB" run --now 2026-06-01 "$S/clock.lua" &&
  expect_out "clock	true	2026-06-01	false" "clock --now before the birth" &&
  pass "plugins read the run's clock (--now): a 2027 birth date is valid only after it"

# --- the run record names every plugin loaded, with the SHA-256 of its file ----------------------
rm -rf "$S/rdb"
GONGHUI_PLUGIN_PATH="$P:$PB" gh --db "$S/rdb" run "$S/clock.lua"
gh --db "$S/rdb" runs show 1
SUM=$(sha256sum "$PB/idcard.so" | cut -d' ' -f1)
expect_rc 0 "runs show" &&
  expect_out "path = $PB/idcard.so, sha256 = $SUM, plugin = idcard 1.0" "runs show: idcard" &&
  expect_out "plugin = records 1.0" "runs show: records" &&
  pass "runs show lists the plugins a run loaded, with versions and file hashes"

# --- the REPL has plugins too ----------------------------------------------------------------
echo "plugin.load('good').add(20, 22)" | "$BIN" --db "$DB" --plugins "$P" repl >"$S/out" 2>"$S/err"
RC=$?
expect_rc 0 "repl" && expect_out "42" "repl" && pass "the REPL loads plugins"

finish
