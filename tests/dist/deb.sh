#!/bin/sh
# deb.sh — the .deb: built by CPack from the build (as `make deb` does), its
# Depends found by dpkg-shlibdeps from the libraries the binary and plugins
# link, its version the project's, unpacked into a throw-away root (dpkg -x)
# and the demo run from there. Lintian (slow: a minute or more) is CI's, in
# tools/deb-check.sh, with the real apt-get install.
# Skipped (exit 77) without cpack, dpkg-deb or dpkg-shlibdeps (dpkg-dev).
#
#   sh tests/dist/deb.sh BUILD_DIR SOURCE_DIR SCRATCH
. "$(dirname "$0")/../cli/lib.sh"
BUILD=$(cd "$1" && pwd)
SRC=$(cd "$2" && pwd)
setup "$BUILD/gonghui" "$3"
unset GONGHUI_PLUGIN_PATH
for t in cpack dpkg-deb dpkg-shlibdeps; do
  command -v $t >/dev/null 2>&1 || { echo "skip: $t not found (dpkg-dev)" >&2; exit 77; }
done
cpack -G DEB -B "$S/pkg" --config "$BUILD/CPackConfig.cmake" >"$S/cpack.log" 2>&1 || {
  fail "cpack: $(tail -5 "$S/cpack.log")"
  finish
}
DEB=$(ls "$S"/pkg/gonghui_*.deb 2>/dev/null | head -1)
[ -n "$DEB" ] || { fail "no gonghui_*.deb in $S/pkg"; finish; }
VERSION=$(sed -n 's/.*project(gonghui VERSION \([0-9.]*\).*/\1/p' "$SRC/CMakeLists.txt")
[ "$(dpkg-deb -f "$DEB" Version)" = "$VERSION" ] && pass "the .deb's version is the project's ($VERSION)" ||
  fail "the .deb's version is $(dpkg-deb -f "$DEB" Version), the project's $VERSION"
DEPENDS=$(dpkg-deb -f "$DEB" Depends)
# the libraries loaded on first use (lazylib.c) are named by the build;
# every library the binary links (Lua, LMDB, libcsv and utf8proc are linked
# in by default: GH_STATIC_LIBS) comes from dpkg-shlibdeps
for lib in libffi8 libedit2; do
  case $DEPENDS in *"$lib"*) ;; *) fail "Depends lacks $lib: $DEPENDS" ;; esac
done
# the libraries the binary itself names (NEEDED), not those they pull in:
# an ASan build's libasan brings libstdc++ and libgcc_s, which are libasan's
# own dependencies, not the package's (dpkg-shlibdeps leaves them out too)
needed=$(readelf -d "$BUILD/gonghui" 2>/dev/null | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p')
[ -n "$needed" ] || fail "readelf -d lists no NEEDED library of $BUILD/gonghui (binutils missing?)"
for so in $(ldd "$BUILD/gonghui" | awk -v need=" $(echo $needed) " '$3 ~ /^\// && index(need, " " $1 " ") { print $3 }'); do
  # the library's folder and name (/lib or /usr/lib: dpkg knows one of them)
  pkg=$(dpkg -S "*/$(basename "$(dirname "$so")")/$(basename "$so")" 2>/dev/null | head -1 | cut -d: -f1)
  [ -n "$pkg" ] || { fail "no package holds $so"; continue; }
  case $DEPENDS in *"$pkg"*) ;; *) fail "Depends lacks $pkg (for $so): $DEPENDS" ;; esac
done
pass "Depends from the linked libraries: $DEPENDS"

R=$S/root
dpkg -x "$DEB" "$R" || fail "dpkg -x"
G=$R/usr/bin/gonghui
mkdir -p "$S/work" && cd "$S/work" || exit 2
"$G" --db demo.db run sample_data.lua members=300 seed=7 >"$S/out" 2>"$S/err"
RC=$?
expect_rc 0 "from the .deb: sample_data.lua"
"$G" --db demo.db run demo.lua >"$S/out" 2>"$S/err"
RC=$?
expect_rc 0 "from the .deb: demo.lua" && pass "the demo runs from the unpacked .deb"
"$G" --version >"$S/out" 2>"$S/err"
RC=$?
expect_rc 0 "--version" && expect_out "gonghui $VERSION" "--version"
for f in usr/share/man/man1/gonghui.1.gz usr/share/doc/gonghui/copyright usr/share/doc/gonghui/changelog.gz \
  usr/include/gonghui/plugin.h usr/share/bash-completion/completions/gonghui; do
  [ -e "$R/$f" ] || fail "the .deb lacks /$f"
done
finish
