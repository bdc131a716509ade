#!/bin/sh
# tools/update-po.sh — remake po/gonghui.pot from the sources and merge it into
# every po/<lang>.po (new messages arrive untranslated, changed ones fuzzy).
#
#   sh tools/update-po.sh          then translate the empty and fuzzy entries
#                                  (msgfmt --statistics po/zh_CN.po says how many)
#
# Messages are found by their markers: C  _("..."), _n("one", "many", n), N_("...")
#                                      Lua _("..."), gettext("..."),
#                                          ngettext("one", "many", n), N_("...")
# A comment starting with TRANSLATORS: just above a message goes into the
# catalog beside it.
set -eu
cd "$(dirname "$0")/.."
POT=po/gonghui.pot
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
COMMON="--from-code=UTF-8 --add-comments=TRANSLATORS: --add-location=file --sort-by-file
        --package-name=gonghui --msgid-bugs-address=issues --foreign-user"
git ls-files 'core/*.c' 'core/*.h' 'plugins/*.c' >"$TMP/c"
git ls-files 'core/*.lua' 'scripts/*.lua' >"$TMP/lua"
# shellcheck disable=SC2086
xgettext $COMMON --language=C --keyword=_ --keyword=N_ --keyword=_n:1,2 \
    --flag=_:1:pass-c-format --flag=_n:1:pass-c-format --flag=_n:2:pass-c-format \
    -f "$TMP/c" -o "$TMP/c.pot"
# shellcheck disable=SC2086
xgettext $COMMON --language=Lua --keyword=_ --keyword=gettext --keyword=N_ \
    --keyword=ngettext:1,2 -f "$TMP/lua" -o "$TMP/lua.pot"
# (xgettext writes no file when it finds no message)
msgcat --use-first --sort-by-file --add-location=file "$TMP/c.pot" $(ls "$TMP/lua.pot" 2>/dev/null) \
    -o "$TMP/all.pot"
# the date in the header changes every time: keep the old file when nothing else did
if [ -f "$POT" ] && diff -q -I '^"POT-Creation-Date' "$POT" "$TMP/all.pot" >/dev/null; then
    :
else
    cp "$TMP/all.pot" "$POT"
fi
for lang in $(grep -v '^#' po/LINGUAS); do
    if [ -f "po/$lang.po" ]; then
        msgmerge --quiet --update --backup=none --add-location=file --sort-by-file "po/$lang.po" "$POT"
    else
        msginit --no-translator --locale="$lang.UTF-8" -i "$POT" -o "po/$lang.po"
    fi
    printf '%s: ' "$lang"
    msgfmt --check --statistics -o /dev/null "po/$lang.po"
done
