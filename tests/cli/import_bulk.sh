#!/bin/sh
# import_bulk.sh BINARY SCRATCH — `gonghui import` holds the index entries
# back and appends them sorted (core/store_bulk.c); past the memory budget
# (GONGHUI_IMPORT_MEM_KB) it spills them as sorted runs to a scratch file and
# merges the runs when the transaction commits. The tables it makes equal a
# row-by-row load's (--mode upsert into an empty collection) entry for entry,
# with every budget (16 KB: twenty runs and more); rows repeating a unique
# value or a key are refused with their lines as before, into an empty
# collection and into one holding records, whether the earlier row is held,
# in a run or (a file full of repeats) in runs merged two by two; a kill
# inside the merge (GONGHUI_TEST_BULK_PAUSE: a write into a table stops
# half-way and waits to be killed) leaves nothing half-stored and no scratch
# file, check clean, and a rerun (or --resume of a chunked import) gives the
# clean result.
. "$(dirname "$0")/lib.sh"
setup "$@"
if ! have_lmdb_utils; then
  echo "  (mdb_dump missing: skipped)" >&2
  finish
fi

lua make.lua <<'EOF'
db.define('items', { key = 'pid', fields = { pid = 'int', code = 'string', grp = 'int',
                                            town = 'string', tag = 'string?' },
                     unique = { 'code' }, index = { 'grp', 'town,grp', 'tag' } })
EOF
# 6000 rows, keys in no order; line 1 is the header, so row i is on line i+1.
# Every 997th row repeats the code of the row 5 before it (line i-4), every
# 1201st the key of the row 3 before it (10 rows refused); every 11th has no
# tag; the last row (6001, line 6002) repeats the code of the first (line
# 2): with a small budget that one is in the first run. The commit writes the
# four indexes (flushes 1-4).
awk 'BEGIN { print "pid,code,grp,town,tag";
  for (i = 1; i <= 6000; i++) {
    pid[i] = (i * 7919) % 10007 + 1; code[i] = "c" ((i * 13) % 6000)
    p = pid[i]; c = code[i]
    if (i % 997 == 0) c = code[i - 5]
    if (i % 1201 == 0) p = pid[i - 3]
    printf "%d,%s,%d,t%d,%s\n", p, c, i % 37, i % 5, (i % 11 ? "g" (i % 101) : "") }
  printf "20001,%s,1,t1,g1\n", code[1] }' >all.csv
head -3001 all.csv >part1.csv
{ head -1 all.csv; tail -n +3002 all.csv; echo "99999,c17,1,t1,x"; } >part2.csv

tables="c:items i:items:code i:items:grp i:items:town,grp i:items:tag"
# dump DB NAME: every table of `items`, entry by entry (no page layout)
dump() {
  for t in $tables; do
    echo "== $t"
    mdb_dump -s "$t" "$S/$1" | sed -n '/^HEADER=END$/,$p'
  done >"$S/$2.dump"
}
fresh() {
  gh --db "$S/$1" run "$S/make.lua"
  expect_rc 0 "making $1"
}
same_dump() { # same_dump A B WHAT
  if cmp -s "$S/$1.dump" "$S/$2.dump"; then pass "$3"; else fail "$3: the tables differ"; fi
}
clean_check() { # clean_check DB WHAT
  "$BIN" --db "$S/$1" check >"$S/check.out" 2>&1 && pass "$2: check is clean" \
    || { fail "$2: check"; cat "$S/check.out" >&2; }
}

# ---- bulk against row by row ----------------------------------------------------------------
fresh rows
gh --db "$S/rows" import items all.csv --mode upsert --rejects rows.rej.csv
expect_rc 3 "the row-by-row load (upsert into an empty collection)"
dump rows rows
fresh bulk
gh --db "$S/bulk" import items all.csv --rejects bulk.rej.csv
expect_rc 3 "the bulk load"
expect_out "5,990 rows of all.csv (UTF-8) stored in 'items', 11 rejected" "the bulk load's summary"
cp "$S/err" bulk.err
dump bulk bulk
same_dump rows bulk "bulk load == row by row: records and every index, entry for entry"
clean_check bulk "the bulk load"
# the refusals name the line of the earlier row, as the row-by-row store always did
grep -q "^all.csv:998: .*code = \"c" bulk.err && grep -q "that record comes from line 993 of this file" bulk.err \
  && pass "a repeated unique value names both lines" || { fail "unique refusal"; cat bulk.err >&2; }
grep -q "^all.csv:1202: .*line 1199 of this file has the same key" bulk.err \
  && pass "a repeated key names the earlier line" || { fail "key refusal"; cat bulk.err >&2; }
grep -q '^6002,"code = ""c13"" .*that record comes from line 2 of this file' bulk.rej.csv \
  && pass "a repeat of the first row's value, far from it, names line 2" || { fail "far repeat"; cat bulk.rej.csv >&2; }
[ "$(grep -c '^[0-9]' bulk.rej.csv)" = 11 ] && pass "11 rows in the rejects file" \
  || fail "rejects file: $(cat bulk.rej.csv)"

# a budget of 16 KB: a run every ~200 rows, repeated values found in the runs
fresh small
GONGHUI_IMPORT_MEM_KB=16 gh --db "$S/small" import items all.csv --rejects small.rej.csv
expect_rc 3 "the bulk load with a 16 KB budget"
dump small small
same_dump rows small "16 KB budget == row by row"
cmp -s bulk.rej.csv small.rej.csv && pass "the same rejects file with any budget" \
  || fail "rejects differ with a small budget"
sed 's/small.rej.csv/bulk.rej.csv/' "$S/err" | cmp -s bulk.err - && pass "the same messages with any budget" \
  || fail "messages differ"
clean_check small "the 16 KB budget"

# ---- into a collection holding records --------------------------------------------------------
for v in rows2 bulk2 small2; do fresh $v; done
gh --db "$S/rows2" import items part1.csv --mode upsert
gh --db "$S/rows2" import items part2.csv --mode upsert --rejects r2.rej.csv
gh --db "$S/bulk2" import items part1.csv
gh --db "$S/bulk2" import items part2.csv --rejects b2.rej.csv
expect_rc 3 "the second bulk load (into records)"
grep -q "that record is already in the database" "$S/err" \
  && pass "a value stored before the load is refused as already in the database" \
  || { fail "clash with the stored records"; show_output; }
GONGHUI_IMPORT_MEM_KB=16 gh --db "$S/small2" import items part1.csv
GONGHUI_IMPORT_MEM_KB=16 gh --db "$S/small2" import items part2.csv --rejects s2.rej.csv
expect_rc 3 "the second bulk load with a 16 KB budget"
dump rows2 rows2
dump bulk2 bulk2
dump small2 small2
same_dump rows2 bulk2 "two bulk loads == two row-by-row loads"
same_dump rows2 small2 "two bulk loads with a 16 KB budget == row by row"
clean_check bulk2 "two bulk loads"

# ---- a file full of repeats: small runs, merged two by two ----------------------------------
# 8000 rows; from row 1001 on every even row repeats the code of an earlier
# row (3500 refused). Each repeat is looked up: the held entries one by one
# while they are few, else spilled first as a small run; the small runs are
# merged two by two as they pile up.
awk 'BEGIN { print "pid,code,grp,town,tag";
  for (i = 1; i <= 8000; i++) {
    if (i <= 1000 || i % 2) { code[i] = "r" i; from[i] = i }
    else { j = 1 + (i * i * 31 + 17) % (i - 1); code[i] = code[j]; from[i] = from[j] }
    printf "%d,%s,%d,t%d,g%d\n", (i * 7919) % 10007 + 1, code[i], i % 37, i % 5, i % 101 }
  printf "8001,\"code = \"\"%s\"\" is already taken .*that record comes from line %d of this file\"\n", \
    code[8000], from[8000] + 1 >"reps.expect" }' >reps.csv
fresh reps_rows
gh --db "$S/reps_rows" import items reps.csv --mode upsert
dump reps_rows reps_rows
fresh reps
gh --db "$S/reps" import items reps.csv --rejects reps.rej.csv
expect_rc 3 "the file of repeats"
expect_out "4,500 rows of reps.csv (UTF-8) stored in 'items', 3,500 rejected" "the repeats' summary"
cp "$S/err" reps.err
dump reps reps
same_dump reps_rows reps "a file of repeats == row by row"
grep -q "^$(cat reps.expect)" reps.rej.csv \
  && pass "a late repeat names the earlier line" || { fail "late repeat: $(cat reps.expect)"; tail -3 reps.rej.csv >&2; }
fresh reps_small
GONGHUI_IMPORT_MEM_KB=16 gh --db "$S/reps_small" import items reps.csv --rejects reps_small.rej.csv
dump reps_small reps_small
same_dump reps_rows reps_small "a file of repeats with a 16 KB budget == row by row"
sed 's/reps_small.rej.csv/reps.rej.csv/' "$S/err" | cmp -s reps.err - && cmp -s reps.rej.csv reps_small.rej.csv \
  && pass "the repeats' messages and rejects with any budget" || fail "the repeats' messages differ"
clean_check reps "the file of repeats"

# ---- killed inside the merge ------------------------------------------------------------------
# A 16 KB budget: twenty runs and more per index in the scratch file (a file
# without a name in the database's folder); the commit's first write (the
# unique index, merged from its runs) stops half-way and is killed.
fresh killed
mkdir -p "$S/tmp"
ls -A "$S/killed" >"$S/killed.before"
TMPDIR="$S/tmp" GONGHUI_IMPORT_MEM_KB=16 GONGHUI_TEST_BULK_PAUSE="$S/paused:1" \
  "$BIN" --db "$S/killed" import items all.csv --rejects killed.rej.csv >"$S/k.out" 2>"$S/k.err" &
pid=$!
track $pid
if wait_file "$S/paused"; then
  ls -l /proc/$pid/fd 2>/dev/null | grep -F " -> $(cd "$S/killed" && pwd -P)/" | grep -q ' (deleted)$' \
    && pass "the runs are in a scratch file without a name in the database's folder" \
    || { fail "no scratch file in the database's folder"; ls -l /proc/$pid/fd >&2; }
  kill -9 $pid
  reap $pid
  clean_check killed "killed half-way through merging the runs"
  query "$S/killed" 'print(db.items:count())'
  [ "$(cat "$S/out")" = 0 ] && pass "nothing of the killed import is stored" \
    || fail "the killed import left $(cat "$S/out") records"
  ls -A "$S/killed" | cmp -s - "$S/killed.before" && [ -z "$(ls -A "$S/tmp")" ] \
    && pass "the kill left no scratch file behind" \
    || fail "files left: $(ls -A "$S/killed" "$S/tmp")"
  gh --db "$S/killed" import items all.csv --rejects killed.rej.csv
  expect_rc 3 "the import again after the kill"
  dump killed killed
  same_dump bulk killed "the import after a kill == the clean import"
else
  fail "the import never reached the merge"; cat "$S/k.err" >&2
fi

# chunked (2000 rows a chunk): the first commit writes the four indexes
# (flushes 1-4), the second 5-8
fresh chunked
GONGHUI_TEST_BULK_PAUSE="$S/paused2:6" "$BIN" --db "$S/chunked" import items all.csv --chunk 2000 \
  --rejects chunked.rej.csv >"$S/k.out" 2>"$S/k.err" &
pid=$!
track $pid
if wait_file "$S/paused2"; then
  kill -9 $pid
  reap $pid
  clean_check chunked "a chunked import killed in its second commit"
  query "$S/chunked" 'print(db.items:count())'
  [ "$(cat "$S/out")" = 1997 ] && pass "the first chunk is stored (2000 rows, 3 refused)" \
    || fail "after the kill: $(cat "$S/out") records"
  gh --db "$S/chunked" import items all.csv --chunk 2000 --resume --rejects chunked.rej.csv
  expect_rc 3 "--resume after the kill"
  expect_out "5,990 rows of all.csv (UTF-8) stored in 'items', 11 rejected" "the resumed summary"
  dump chunked chunked
  same_dump bulk chunked "killed in a chunk's commit and resumed == the clean import"
  # (but for line 6002: the first chunk, holding line 2's record, was stored before the resume)
  grep -v '^6002,' bulk.rej.csv >"$S/b.rej" && grep -v '^6002,' chunked.rej.csv | cmp -s "$S/b.rej" - \
    && grep -q '^6002,.*that record is already in the database' chunked.rej.csv \
    && pass "the resumed rejects file equals the clean one" || fail "the resumed rejects file differs"
  clean_check chunked "the resumed import"
else
  fail "the chunked import never reached its 6th flush"; cat "$S/k.err" >&2
fi
# ---- keys alike in their first 16 bytes ---------------------------------------------------------
# The held entries are sorted by their keys' first 16 bytes (a radix sort),
# then by the rest of the key and the row: a unique value and a tag longer
# than 16 bytes that share their first 20, of differing lengths, the keys in
# no order, give the tables a row-by-row load gives.
cat >"$S/long.lua" <<'EOF2'
db.define('longs', { key = 'pid', fields = { pid = 'int', code = 'string', tag = 'string' },
                     unique = { 'code' }, index = { 'tag' } })
EOF2
awk 'BEGIN { print "pid,code,tag";
  for (i = 1; i <= 3000; i++)
    printf "%d,member-of-the-union-%d,member-of-the-union-tag-%d\n", (i * 7919) % 10007 + 1,
      (i * 13) % 3001, (i * 31) % 17 }' >long.csv
for d in lrows lbulk; do
  gh --db "$S/$d" run "$S/long.lua"
  expect_rc 0 "making $d"
done
gh --db "$S/lrows" import longs long.csv --mode upsert
expect_rc 0 "long keys, row by row"
gh --db "$S/lbulk" import longs long.csv
expect_rc 0 "long keys, bulk"
for d in lrows lbulk; do
  for t in c:longs i:longs:code i:longs:tag; do
    echo "== $t"
    mdb_dump -s "$t" "$S/$d" | sed -n '/^HEADER=END$/,$p'
  done >"$S/$d.dump"
done
same_dump lrows lbulk "long keys alike in 16 bytes: bulk load == row by row"
clean_check lbulk "the load of long keys"
finish
