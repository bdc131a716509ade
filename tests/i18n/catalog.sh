#!/bin/sh
# catalog.sh SOURCE SCRATCH — the catalogs are complete: every po/<lang>.po
# compiles with msgfmt --check, with no untranslated and no fuzzy entry, and
# holds every message the sources mark with _() (C and Lua).
set -u
SRC=$1
S=$2
rm -rf "$S" && mkdir -p "$S" || exit 2
FAILED=0
for lang in $(grep -v '^#' "$SRC/po/LINGUAS"); do
    po=$SRC/po/$lang.po
    if ! msgfmt --check --statistics -o "$S/$lang.mo" "$po" 2>"$S/stats"; then
        cat "$S/stats" >&2
        echo "FAIL: po/$lang.po does not compile (msgfmt --check)" >&2
        FAILED=1
        continue
    fi
    if grep -qE 'untranslated|fuzzy' "$S/stats"; then
        echo "FAIL: po/$lang.po: $(cat "$S/stats")" >&2
        msgattrib --untranslated --only-fuzzy "$po" 2>/dev/null | grep '^msgid' | head -20 >&2
        msgattrib --untranslated "$po" 2>/dev/null | grep -A1 '^msgid' | head -40 >&2
        FAILED=1
    else
        echo "ok    po/$lang.po: $(cat "$S/stats")" >&2
    fi
done
# messages marked in the sources but missing from the catalog: remake the
# template as tools/update-po.sh does and compare. A failure with
# GH_I18N_STRICT=1, else a warning (new English messages land before their
# translation; the catalog's own completeness above is always checked).
WORD=WARN
[ "${GH_I18N_STRICT:-0}" = 1 ] && WORD=FAIL
cd "$SRC" || exit 2
git ls-files 'core/*.c' 'core/*.h' 'plugins/*.c' >"$S/c" 2>/dev/null || find core plugins -name '*.[ch]' >"$S/c"
git ls-files 'core/*.lua' 'scripts/*.lua' >"$S/lua" 2>/dev/null || find core scripts -name '*.lua' >"$S/lua"
xgettext --from-code=UTF-8 --language=C --keyword=_ --keyword=N_ --keyword=_n:1,2 \
    -f "$S/c" -o "$S/c.pot" 2>/dev/null
xgettext --from-code=UTF-8 --language=Lua --keyword=_ --keyword=gettext --keyword=N_ \
    --keyword=ngettext:1,2 -f "$S/lua" -o "$S/lua.pot" 2>/dev/null
msgcat --use-first "$S/c.pot" $(ls "$S/lua.pot" 2>/dev/null) -o "$S/all.pot"
for lang in $(grep -v '^#' "$SRC/po/LINGUAS"); do
    # the catalog merged with the sources' messages: what is not translated
    # there is marked in the sources but missing from po/<lang>.po
    msgmerge --quiet --no-fuzzy-matching "$SRC/po/$lang.po" "$S/all.pot" -o "$S/merged.po"
    msgfmt --statistics -o /dev/null "$S/merged.po" 2>"$S/stats"
    if grep -qE 'untranslated|fuzzy' "$S/stats"; then
        echo "$WORD: po/$lang.po lacks messages marked in the sources ($(cat "$S/stats"));" \
            "run sh tools/update-po.sh and translate them:" >&2
        msgattrib --untranslated --no-obsolete "$S/merged.po" | grep -A1 '^#:' | head -40 >&2
        [ "$WORD" = FAIL ] && FAILED=1
    fi
done
# messages a person reads that are not marked at all (tools/i18n-scan.py):
# a failure with GH_I18N_STRICT=1, else a warning, like the check above
if command -v python3 >/dev/null 2>&1; then
    if ! python3 "$SRC/tools/i18n-scan.py" >"$S/scan" 2>"$S/scan.count"; then :; fi
    if [ -s "$S/scan" ]; then
        echo "$WORD: $(cat "$S/scan.count"):" >&2
        head -20 "$S/scan" >&2
        [ "$WORD" = FAIL ] && FAILED=1
    else
        echo "ok    $(cat "$S/scan.count")" >&2
    fi
fi
[ $FAILED = 0 ] && echo "ok    every marked message is in the catalogs" >&2
exit $FAILED
