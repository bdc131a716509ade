#!/bin/sh
# harden_values.sh — issue 16, class 11 (the parts outside core/parse.c):
# bad values are refused naming the value, not taken as something else.
. "$(dirname "$0")/lib.sh"
setup "$@"

for v in 1e400 nan inf -1 1e9h; do
  gh --db db run --timeout "$v" -e "print('ran')"
  expect_rc 2 "--timeout $v" && expect_err "\"$v\"" "--timeout $v: the value named" &&
    no_err "ran" "--timeout $v: nothing ran" && pass "--timeout $v is refused"
done
gh --db db run --memory nan -e "print('ran')"
expect_rc 2 "--memory nan" && pass "--memory nan is refused"
gh --db db run --timeout 90 -e "print('ran')"
expect_rc 0 "--timeout 90 still works"

gh --db db run -e 'db.define("a\0b", { fields = { x = "int" } })'
expect_rc 1 "a NUL in a collection name" && expect_err "NUL" "collection: why" &&
  pass "a NUL inside a collection name is refused"
gh --db db run -e 'db.define("ab", { fields = { ["x\0y"] = "int" } })'
expect_rc 1 "a NUL in a field name" && expect_err "NUL" "field: why" &&
  pass "a NUL inside a field name is refused"
gh --db db run -e 'print(#db.collections())'
expect_out "0" "nothing was defined"

# class 12: runs show escapes terminal control characters
esc=$(printf 'a\033[2Jb')
gh --db db2 run -e "print(1)" "x=$esc"
gh --db db2 runs show 1
if grep -q "$(printf '\033')" "$S/out"; then
  fail "runs show printed a raw escape character"
else
  expect_out 'x=a\x1b[2Jb' "runs show: the escape shown as \\x1b" && pass "runs show escapes control characters"
fi

finish
