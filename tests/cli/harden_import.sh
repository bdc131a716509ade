#!/bin/sh
# harden_import.sh — issue 16, class 2: one import per file and collection at
# a time (a lock), and the finish mark committed with the last chunk, so no
# import, resumed or not, ever stores a row twice: two imports at once, a
# second one (plain, --resume, --chunk) beside a running one, and --resume
# after an import finished but was killed before it exited.
. "$(dirname "$0")/lib.sh"
setup "$@"

# no key from the file: every stored row is a new record, so a duplicate
# import shows as more records than rows
lua make.lua <<'EOF2'
db.define('t', { fields = { n = 'int', name = 'string' } })
EOF2
lua count.lua <<'EOF2'
print('count', db.t:count())
EOF2
N=6000
awk -v n=$N 'BEGIN { print "n,name"; for (i = 1; i <= n; i++) print i ",x" i }' >rows.csv
count() { # DB -> $COUNT
  "$BIN" --db "$1" run "$S/count.lua" >"$S/c.out" 2>&1
  COUNT=$(sed -n 's/^count\t//p' "$S/c.out")
}

# ---- a second import beside a running one is refused, whatever its options
# The first import is held still whatever the machine's speed: row 10 is
# rejected, and its rejects file is a FIFO nobody reads yet, so it waits in
# fopen, lock held, until the test reads it (a SIGSTOP after polling the
# count raced an import that finished first under ASan).
awk 'BEGIN { print "n,name"; for (i = 1; i <= 1000; i++) print (i == 9 ? "bad" : i) ",x" i }' >few.csv
gh --db "$S/a" run "$S/make.lua"
rm -f "$S/a.rej.csv" "$S/a.rej.csv.tmp"
mkfifo "$S/a.rej.csv.tmp" || fail "mkfifo"
"$BIN" --db "$S/a" import t few.csv --chunk 4 --rejects "$S/a.rej.csv" >"$S/a.out" 2>"$S/a.err" &
pa=$!
track $pa
t=$(date +%s)
while ! grep -q '^few.csv:10:' "$S/a.err" && [ $(($(date +%s) - t)) -lt 300 ]; do sleep 0.05; done
grep -q '^few.csv:10:' "$S/a.err" || fail "the first import never reached line 10: $(cat "$S/a.err")"
kill -0 $pa 2>/dev/null || fail "the first import waiting on its rejects FIFO had ended: $(cat "$S/a.err")"
for opts in "" "--resume" "--chunk 50" "--chunk 50 --resume"; do
  # shellcheck disable=SC2086
  gh --db "$S/a" import t few.csv $opts
  expect_rc 1 "a second import ($opts) beside a running one" &&
    expect_err "another import of few.csv into 't' is running now" "($opts): the reason" &&
    pass "a second import ($opts) beside a running one is refused"
done
cat "$S/a.rej.csv.tmp" >/dev/null # lets the first import go on
reap $pa
count "$S/a"
[ "$COUNT" = 999 ] && pass "the running import stored each row once (999, one rejected)" ||
  fail "after a refused second import: $COUNT records, expected 999"

# ---- two imports started together: each row stored once in every round
bad=0
for round in 1 2 3 4; do
  rm -rf "$S/b"
  gh --db "$S/b" --new-db run "$S/make.lua"
  # with --resume both ways, whichever order they run in (together, or one
  # after the other on a fast machine) the file is imported once
  case $round in
  1) o1="--chunk 200 --resume" o2="--chunk 200 --resume" ;;
  2) o1="--chunk 200 --resume" o2="--chunk 300 --resume" ;;
  3) o1="--resume" o2="--chunk 100 --resume" ;;
  *) o1="--chunk 50 --resume" o2="--resume" ;;
  esac
  # shellcheck disable=SC2086
  "$BIN" --db "$S/b" import t rows.csv $o1 >/dev/null 2>"$S/b1.err" &
  p1=$!
  track $p1
  # shellcheck disable=SC2086
  "$BIN" --db "$S/b" import t rows.csv $o2 >/dev/null 2>"$S/b2.err" &
  p2=$!
  track $p2
  reap $p1
  reap $p2
  # the one refused (if they overlapped) is resumed afterwards, as an
  # operator would; what counts is that no row is there twice
  "$BIN" --db "$S/b" import t rows.csv --resume >/dev/null 2>&1
  count "$S/b"
  if [ "$COUNT" != "$N" ]; then
    bad=$((bad + 1))
    echo "  round $round ($o1 | $o2): $COUNT records" >&2
    cat "$S/b1.err" "$S/b2.err" >&2
  fi
done
[ $bad -eq 0 ] && pass "two imports started together never store a row twice" ||
  fail "$bad of 4 rounds of two imports at once stored rows twice"

# ---- killed between the finish and the exit: --resume imports nothing again
gh --db "$S/c" run "$S/make.lua"
awk 'BEGIN { print "n,name"; for (i = 1; i <= 3000; i++) print (i % 500 == 0 ? "x" : i) ",y" i }' >bad.csv
gh --db "$S/c" import t bad.csv --chunk 400
expect_rc 3 "a chunked import with rejects"
cp bad.csv.rejects.csv want.rejects.csv
# the state such a kill leaves: the last chunk and its finish mark are stored,
# the rejects file not yet renamed into place
mv bad.csv.rejects.csv bad.csv.rejects.csv.tmp
gh --db "$S/c" import t bad.csv --chunk 400 --resume
expect_rc 3 "--resume after a finished import" &&
  expect_err "finished already" "--resume: says it finished" &&
  pass "--resume after a finished import says so"
count "$S/c"
[ "$COUNT" = 2994 ] && pass "--resume after the finish stored nothing again" ||
  fail "--resume after the finish: $COUNT records, expected 2994"
cmp -s want.rejects.csv bad.csv.rejects.csv && pass "the rejects file is put in place" ||
  fail "the rejects file differs after --resume"

# ---- SIGKILL at random moments, then --resume: each row once
gh --db "$S/d" run "$S/make.lua"
for round in 1 2 3 4 5 6; do
  "$BIN" --db "$S/d" import t rows.csv --chunk 250 --resume >/dev/null 2>&1 &
  p=$!
  track $p
  sleep "0.$(printf '%02d' $(( ($(od -An -N2 -tu2 /dev/urandom) % 40) + 1 )))"
  kill -9 $p 2>/dev/null
  reap $p
done
gh --db "$S/d" import t rows.csv --chunk 250 --resume
expect_rc 0 "the last --resume"
gh --db "$S/d" import t rows.csv --chunk 250 --resume
expect_rc 0 "one more --resume" && expect_err "finished already" "one more --resume: finished"
count "$S/d"
[ "$COUNT" = "$N" ] && pass "killed and resumed: each row once" ||
  fail "killed and resumed: $COUNT records, expected $N"

finish
