#!/bin/sh
# install.sh — `cmake --install` into a temporary prefix, then from there only:
# the demo (sample data + demo.lua), a program by its installed name, a shipped
# plugin, the man page and completion files, and the example plugin of
# examples/plugin built against the installed header with pkg-config, loaded
# and run. The build tree is made unreachable for the installed binary
# (GONGHUI_LIB, GONGHUI_PLUGIN_PATH unset; run from another folder).
#
#   sh tests/dist/install.sh BUILD_DIR SOURCE_DIR SCRATCH
. "$(dirname "$0")/../cli/lib.sh"
BUILD=$(cd "$1" && pwd)
SRC=$(cd "$2" && pwd)
setup "$BUILD/gonghui" "$3"
unset GONGHUI_PLUGIN_PATH
P=$S/prefix

cmake --install "$BUILD" --prefix "$P" >"$S/install.log" 2>&1 || {
  fail "cmake --install: $(tail -3 "$S/install.log")"
  finish
}
G=$P/bin/gonghui
for f in bin/gonghui include/gonghui/plugin.h share/man/man1/gonghui.1.gz \
  share/bash-completion/completions/gonghui share/zsh/vendor-completions/_gonghui \
  share/gonghui/scripts/demo.lua share/gonghui/scripts/lib/program.lua \
  lib/systemd/system/gonghui-events@.service share/doc/gonghui/copyright; do
  [ -e "$P/$f" ] || fail "installed tree: $f missing"
done
PC=$(find "$P" -name gonghui-plugin.pc | head -1)
[ -n "$PC" ] || fail "installed tree: gonghui-plugin.pc missing"
IDC=$(find "$P" -path '*/gonghui/plugins/idcard.so' | head -1)
[ -n "$IDC" ] || fail "installed tree: plugins/idcard.so missing"

# the demo, from another folder, with the installed programs by name
mkdir -p "$S/work" && cd "$S/work" || exit 2
"$G" --db demo.db run sample_data.lua members=300 seed=7 >"$S/out" 2>"$S/err"
RC=$?
expect_rc 0 "installed: sample_data.lua by name" && pass "installed: sample data from share/gonghui/scripts"
"$G" --db demo.db run scripts/demo.lua >"$S/out" 2>"$S/err"
RC=$?
expect_rc 0 "installed: demo.lua" && pass "installed: the demo runs"
"$G" --version >"$S/out" 2>"$S/err"
RC=$?
expect_rc 0 "installed --version" && expect_out "gonghui $(sed -n 's/.*project(gonghui VERSION \([0-9.]*\).*/\1/p' "$SRC/CMakeLists.txt")" "--version" &&
  pass "installed: --version says the project's version"

# the REPL's query helper (scripts/lib/query.lua) from the prefix
echo "return db.members:where{ status = 'active' }:count() > 0" | "$G" --db demo.db repl >"$S/out" 2>"$S/err"
RC=$?
expect_rc 0 "installed: repl where" && expect_out "true" "installed: repl where" &&
  pass "installed: the REPL's query helper (where) works"

# the shipped plugins and the modules come from the prefix, not the build tree
lua() { cat >"$S/work/$1"; }
lua where.lua <<'LUA'
print(plugin.path())
local idcard = require 'idcard'
print(type(idcard))
LUA
"$G" --db demo.db run where.lua >"$S/out" 2>"$S/err"
RC=$?
expect_rc 0 "installed: require idcard" && expect_out "$P/" "plugin path in the prefix" &&
  pass "installed: a shipped plugin loads from the prefix"
if grep -q "$BUILD/plugins" "$S/out"; then
  fail "installed: the plugin path names the build tree: $(cat "$S/out")"
fi

# a moved installation still finds its parts (relative to /proc/self/exe)
mv "$P" "$S/moved" && P=$S/moved && G=$P/bin/gonghui
"$G" --db demo.db run where.lua >"$S/out" 2>"$S/err"
RC=$?
expect_rc 0 "moved installation" && expect_out "$S/moved/" "moved: plugin path" &&
  pass "a moved installation finds its plugins"
PC=$(find "$P" -name gonghui-plugin.pc | head -1)

# the man page renders without warnings
if command -v groff >/dev/null 2>&1; then
  gzip -dc "$P/share/man/man1/gonghui.1.gz" | groff -k -man -Tutf8 -ww -z >"$S/out" 2>"$S/err"
  RC=$?
  expect_rc 0 "groff gonghui.1" && [ ! -s "$S/err" ] && pass "the man page renders without warnings" ||
    fail "groff warnings: $(head -5 "$S/err")"
fi

# the systemd units parse, with every hardening option known to this systemd
if command -v systemd-analyze >/dev/null 2>&1; then
  mkdir -p "$S/units"
  for u in "$P"/lib/systemd/system/gonghui-*; do
    sed "s|/usr/bin/gonghui|$G|" "$u" >"$S/units/$(basename "$u" | sed 's/@\./@x./')"
  done
  (cd "$S/units" && systemd-analyze verify --man=no ./*) >"$S/out" 2>&1
  RC=$?
  expect_rc 0 "systemd-analyze verify" && [ ! -s "$S/out" ] && pass "the systemd units verify" ||
    fail "systemd-analyze verify: $(head -5 "$S/out")"
fi

# the example plugin: built against the installed header only, through pkg-config
if command -v pkg-config >/dev/null 2>&1 && command -v cc >/dev/null 2>&1; then
  cp -r "$SRC/examples/plugin" "$S/plugin" && cd "$S/plugin" || exit 2
  rm -f hello.so
  PKG_CONFIG_PATH=$(dirname "$PC") make -s GONGHUI="$G" hello.so >"$S/out" 2>"$S/err"
  RC=$?
  expect_rc 0 "make hello.so against the installed header" &&
    pass "the example plugin builds with pkg-config gonghui-plugin"
  if grep -q -- "-I$SRC" "$S/out" "$S/err"; then
    fail "the example plugin saw the source tree's headers"
  fi
  PKG_CONFIG_PATH=$(dirname "$PC") make -s GONGHUI="$G" check >"$S/out" 2>"$S/err"
  RC=$?
  expect_rc 0 "the example plugin's test" && expect_out "hello plugin: ok" "example plugin" &&
    pass "the example plugin loads and runs from the installed gonghui"
  PKG_CONFIG_PATH=$(dirname "$PC") make -s DESTDIR= install >"$S/out" 2>"$S/err"
  RC=$?
  expect_rc 0 "make install of the example plugin" && [ -f "$P/lib/gonghui/plugins/hello.so" ] ||
    [ -n "$(find "$P" -path '*/gonghui/plugins/hello.so')" ] ||
    fail "the example plugin did not install into pkg-config's plugindir"
  cd "$S/work" && "$G" --db demo.db run "$S/plugin/test.lua" >"$S/out" 2>"$S/err"
  RC=$?
  expect_rc 0 "the installed example plugin, without --plugins" &&
    pass "the example plugin installed into plugindir loads without --plugins"
else
  echo "skip: no pkg-config or cc: the example plugin is not built" >&2
fi
finish
