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

# class 12: runs show masks personal parameters (ID numbers, phones, bank
# cards) by name or by value, through core/pii.c
gh --db db3 run -e "print(1)" id=330481199001081234 phone=13812345678 acct=6222021234567890128 n=12345 name=x
gh --db db3 runs show 1
expect_out "'id=330481********1234'" "an ID number given as id= is masked" &&
  expect_out "'phone=138****5678'" "a phone is masked" && expect_out "'acct=6222" "a bank card keeps its head" &&
  expect_out "'n=12345'" "a plain number is not masked" && expect_out 'personal data in 3 parameter(s) is masked' "said"
for secret in 330481199001081234 13812345678 6222021234567890128; do
  grep -q "$secret" "$S/out" && fail "runs show printed $secret"
done
pass "runs show masks personal parameters"

# the replay command of a run with --in and --out reads and writes where the run did
mkdir -p ind outd
printf 'hello\n' >ind/data.txt
lua rd.lua <<'EOF'
local f = assert(io.open(params.f))
local s = f:read('l')
f:close()
local o = run.open('copy.txt', 'w')
o:write(s, ' ', math.random(1000000), '\n')
o:close()
EOF
gh --db db4 run --in ind --out outd rd.lua f=ind/data.txt
expect_rc 0 "a run reading --in and writing --out"
mv outd/copy.txt first.txt
gh --db db4 runs show 1
replay=$(sed -n 's/^replay: gonghui //p' "$S/out")
case $replay in *"--in '$S/ind'"*"--out '$S/outd'"*) pass "the replay command has --in and --out" ;;
  *) fail "the replay command lacks --in/--out: $replay" ;; esac
eval "gh --db db4 $replay"
expect_rc 0 "the replay command runs" && cmp -s first.txt outd/copy.txt && pass "the replay reproduces the run" ||
  fail "the replay did not reproduce the run"

finish
