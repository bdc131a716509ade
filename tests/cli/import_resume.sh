#!/bin/sh
# import_resume.sh BINARY SCRATCH — `gonghui import --chunk N --resume`: an
# import killed with SIGKILL at random moments and resumed each time stores
# exactly what one clean import stores (no row twice, none lost), with the
# same rejects file; a stopped import is not started again by mistake, a
# changed file is not resumed, --strict does not go with --chunk.
. "$(dirname "$0")/lib.sh"
setup "$@"

lua make.lua <<'EOF'
db.define('people', { key = 'pid', fields = { pid = 'int', name = 'string', age = 'int?' },
                      unique = { 'name' } })
EOF
for d in clean killed failed; do
  gh --db "$S/$d" run "$S/make.lua"
  expect_rc 0 "making $d" || finish
done
# 60,000 rows; every 1000th has a bad age, every 1500th repeats an earlier name
awk 'BEGIN { print "pid,name,age";
  for (i = 1; i <= 60000; i++) {
    if (i % 1000 == 7) print i ",n" i ",x";
    else if (i % 1500 == 0) print i ",n" (i - 1) ",40";
    else if (i % 7000 == 3) print i ",\"multi\nline " i "\"," (i % 90);
    else print i ",n" i "," (i % 90) } }' > big.csv

gh --db "$S/clean" import people big.csv --rejects clean.rejects.csv
expect_rc 3 "the clean import (some rows rejected)"
cp "$S/out" clean.out

# ---- killed at random moments, resumed each time --------------------------------------------------
kills=0
finished=0
for round in $(seq 1 40); do
  "$BIN" --db "$S/killed" import people big.csv --chunk 700 --resume --rejects killed.rejects.csv \
    >"$S/k.out" 2>"$S/k.err" &
  pid=$!
  track $pid
  # 0.02 - 0.30 s: the import takes longer than that with a commit every 700 rows
  sleep "0.$(printf '%02d' $(( ($(od -An -N2 -tu2 /dev/urandom) % 29) + 2 )))"
  kill -9 $pid 2>/dev/null && kills=$((kills + 1))
  reap $pid
  rc=$?
  if [ $rc -eq 0 ] || [ $rc -eq 3 ]; then finished=1; break; fi
  [ $rc -eq 137 ] || { fail "round $round: exit code $rc"; cat "$S/k.err" >&2; break; }
  "$BIN" --db "$S/killed" check >/dev/null 2>&1 || fail "round $round: check after the kill"
done
if [ $finished -eq 0 ]; then
  gh --db "$S/killed" import people big.csv --chunk 700 --resume --rejects killed.rejects.csv
  [ $RC -eq 3 ] && finished=1 || { fail "the last resume: exit $RC"; show_output; }
  cp "$S/out" "$S/k.out"
fi
echo "  ($kills kills before the import finished)" >&2
[ $finished -eq 1 ] && pass "the import finished after $kills kills" || fail "never finished"
grep -q "59,900 rows of big.csv (UTF-8) stored in 'people', 100 rejected" "$S/k.out" \
  && pass "the summary counts the rows of all the runs" || { fail "summary"; cat "$S/k.out" >&2; }
"$BIN" --db "$S/clean" export people --out clean.csv >/dev/null
"$BIN" --db "$S/killed" export people --out killed.csv >/dev/null
cmp -s clean.csv killed.csv && pass "the records equal those of one clean import" \
  || fail "killed+resumed differs from clean: $(wc -l < clean.csv) vs $(wc -l < killed.csv) lines"
cmp -s clean.rejects.csv killed.rejects.csv && pass "the rejects file equals the clean one" \
  || { fail "rejects differ"; diff clean.rejects.csv killed.rejects.csv | head -5 >&2; }
gh --db "$S/killed" check
expect_rc 0 "check is clean"
gh --db "$S/killed" import people big.csv --chunk 700 --resume
expect_rc 3 "--resume after a finished import imports nothing again (issue 16)"
expect_err "finished already" "and says so"
expect_out "59,900 rows of big.csv (UTF-8) stored in 'people', 100 rejected" "the summary of the import that finished"

# ---- a failed import: the next one must say --resume ----------------------------------------------
awk 'NR <= 10' big.csv > small.csv   # the row on its line 9 is the first bad one
gh --db "$S/failed" import people small.csv --chunk 1000 --rejects "$S/no/such/dir/r.csv"
expect_rc 1 "an import that fails at its first reject (line 9), in its first chunk"
expect_err "cannot write the rejects file" "the cause"
expect_err "nothing was stored" "nothing stored"
gh --db "$S/failed" run -e 'assert(db.people:count() == 0, db.people:count())'
expect_rc 0 "nothing was stored indeed"
gh --db "$S/failed" import people small.csv --chunk 2 --rejects "$S/no/r.csv"
expect_rc 1 "the same with a commit every 2 rows"
expect_err "the rows up to line 8 are stored (6 rows, 0 rejected)" "says what is stored"
gh --db "$S/failed" import people small.csv --chunk 2 --rejects small.rej.csv
expect_rc 1 "a stopped import is not started again without --resume"
expect_err "an import of small.csv into 'people' stopped after line 8 (6 rows stored, 0 rejected" "says so"
expect_err "give --resume to go on after it" "what to do"
cp small.csv small.keep
echo "11,n11,1" >> small.csv
gh --db "$S/failed" import people small.csv --chunk 2 --resume --rejects small.rej.csv
expect_rc 1 "a changed file is not resumed"
expect_err "small.csv has changed since the import that stopped after line 8" "says why"
cp small.keep small.csv
gh --db "$S/failed" import people small.csv --resume --rejects small.rej.csv
expect_rc 3 "--resume goes on (with the chunk size it had)"
expect_err "resuming after line 8 of small.csv (6 rows stored, 0 rejected before)" "says where"
expect_out "7 rows of small.csv (UTF-8) stored in 'people', 1 rejected" "the counts of both runs"
gh --db "$S/failed" run -e 'assert(db.people:count() == 7, db.people:count())'
expect_rc 0 "7 records, none twice"
gh --db "$S/failed" import people big.csv --strict --chunk 10
expect_rc 2 "--strict with --chunk is a usage error"
gh --db "$S/failed" runs
expect_out "import" "imports are in gonghui runs"
ID=$("$BIN" --db "$S/failed" runs | awk '$NF == "small.csv" {print $1}' | tail -1)
gh --db "$S/failed" runs show "$ID"
expect_out "summary    8 rows of small.csv read (UTF-8): 7 stored, 1 rejected (in small.rej.csv); 0 blank skipped; in chunks of 2 rows, finished after line" "the run record of the resumed import: counts of the whole file"
expect_out "replay: gonghui import 'people' 'small.csv' '--resume' '--rejects' 'small.rej.csv'" "and the command"
finish
