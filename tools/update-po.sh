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
#
#   sh tools/update-po.sh DIR      a program's own catalog (programs written
#                                  outside the shipped ones): see below
set -eu
if [ $# -gt 0 ]; then
    [ -d "$1" ] || { echo "update-po.sh: $1 is not a folder" >&2; exit 2; }
    DIR=$(cd "$1" && pwd)
fi
cd "$(dirname "$0")/.."

# A program's own catalog: sh tools/update-po.sh DIR [LANG...]
#   DIR/po/NAME.pot     the messages of DIR/*.lua that gonghui's catalog lacks
#   DIR/po/LANG.po      made (msginit) or merged (msgmerge); translate it
#   DIR/locale/LANG/LC_MESSAGES/NAME.mo   compiled: what the runner reads
# NAME is the folder's name (scripts/ticket -> ticket.mo). The languages are
# zh_CN unless named.
if [ $# -gt 0 ]; then
    shift
    NAME=$(basename "$DIR")
    [ $# -gt 0 ] || set -- zh_CN
    mkdir -p "$DIR/po"
    set +e
    ls "$DIR"/*.lua >/dev/null 2>&1 || { echo "update-po.sh: no .lua files in $DIR" >&2; exit 2; }
    set -e
    # shellcheck disable=SC2046
    ROOT=$(pwd)
    (cd "$DIR" && xgettext --from-code=UTF-8 --add-comments=TRANSLATORS: --add-location=file \
        --sort-by-file --package-name="$NAME" --foreign-user --language=Lua --keyword=_ \
        --keyword=gettext --keyword=N_ --keyword=ngettext:1,2 -x "$ROOT/po/gonghui.pot" \
        -o "po/$NAME.pot" ./*.lua)
    [ -f "$DIR/po/$NAME.pot" ] || { echo "update-po.sh: $DIR has no messages gonghui's catalog lacks" >&2; exit 0; }
    for lang in "$@"; do
        if [ -f "$DIR/po/$lang.po" ]; then
            msgmerge --quiet --update --backup=none --add-location=file --sort-by-file \
                "$DIR/po/$lang.po" "$DIR/po/$NAME.pot"
        else # (msginit needs the locale generated to know the charset: made here)
            case $lang in
            zh* | ja* | ko*) plural='nplurals=1; plural=0;' ;;
            *) plural='nplurals=2; plural=(n != 1);' ;;
            esac
            sed -e '1,/^msgid/{/^#, fuzzy$/d}' -e "s/charset=CHARSET/charset=UTF-8/" -e "s/^\"Language: \\\\n\"/\"Language: $lang\\\\n\"/" \
                -e "s/nplurals=INTEGER; plural=EXPRESSION;/$plural/" "$DIR/po/$NAME.pot" |
                if [ "${plural#nplurals=1}" != "$plural" ]; then grep -v '^msgstr\[1\]'; else cat; fi \
                    >"$DIR/po/$lang.po"
            echo "update-po.sh: made $DIR/po/$lang.po: translate it, then run this again" >&2
        fi
        mkdir -p "$DIR/locale/$lang/LC_MESSAGES"
        printf '%s %s: ' "$NAME" "$lang"
        msgfmt --check --statistics -o "$DIR/locale/$lang/LC_MESSAGES/$NAME.mo" "$DIR/po/$lang.po"
    done
    exit 0
fi
POT=po/gonghui.pot
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
COMMON="--from-code=UTF-8 --add-comments=TRANSLATORS: --add-location=file --sort-by-file
        --package-name=gonghui --msgid-bugs-address=issues --foreign-user"
git ls-files 'core/*.c' 'core/*.h' 'plugins/*.c' >"$TMP/c"
# (a program folder with its own po/ keeps its messages there)
git ls-files 'core/*.lua' 'scripts/*.lua' | while read -r f; do
    [ -d "$(dirname "$f")/po" ] || echo "$f"
done >"$TMP/lua"
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
