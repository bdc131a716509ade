#!/bin/sh
# tools/lmdb_text.sh LIBLMDB.a — where LMDB's code lies in a binary it is
# linked into (CMakeLists.txt, GH_STATIC_LIBS): for every code section of the
# archive's members (mdb.o: .text and text_env; midl.o: .text), the first
# exported function in it, the function's offset in the section and the
# section's size, as lines GH_LMDB_TEXT(function, offset, size). A member's
# section is copied whole into the binary, so the section starts at
# &function - offset (store_check.c's fault handler).
set -e
objdump -ht "$1" | awk '
/^[^ ]+\.o: +file format/ { m = $1; sub(":", "", m); next }
$1 ~ /^[0-9]+$/ && NF == 7 { size[m " " $2] = $3; next }
{
    if (split($0, t, "\t") != 2 || t[1] !~ / g +F /) next
    na = split(t[1], a, " "); sec = a[na]; split(t[2], b, " ")
    if (sec == "" || (m " " sec) in seen || !((m " " sec) in size)) next
    seen[m " " sec] = 1
    printf "GH_LMDB_TEXT(%s, 0x%s, 0x%s) /* %s %s */\n", b[2], a[1], size[m " " sec], m, sec
}'
