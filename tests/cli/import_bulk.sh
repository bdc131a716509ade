#!/bin/sh
# import_bulk.sh BINARY SCRATCH — `gonghui import` holds the index entries
# back and appends them sorted (core/store_bulk.c). The tables it makes equal
# a row-by-row load's (--mode upsert into an empty collection) entry for
# entry, with every memory budget (GONGHUI_IMPORT_MEM_KB, many flushes); rows
# repeating a unique value or a key are refused with their lines as before,
# into an empty collection and into one holding records; a kill inside the
# bulk phase (GONGHUI_TEST_BULK_PAUSE: a flush stops half-way and waits to
# be killed) leaves nothing half-stored, check clean, and a rerun (or
# --resume of a chunked import) gives the clean result.
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
# tag. Each repeated code makes the load write the held entries of `code`
# (a flush) before it looks it up: flushes 1-6 are those, 7-10 the commit's.
awk 'BEGIN { print "pid,code,grp,town,tag";
  for (i = 1; i <= 6000; i++) {
    pid[i] = (i * 7919) % 10007 + 1; code[i] = "c" ((i * 13) % 6000)
    p = pid[i]; c = code[i]
    if (i % 997 == 0) c = code[i - 5]
    if (i % 1201 == 0) p = pid[i - 3]
    printf "%d,%s,%d,t%d,%s\n", p, c, i % 37, i % 5, (i % 11 ? "g" (i % 101) : "") } }' >all.csv
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
expect_out "5,990 rows of all.csv (UTF-8) stored in 'items', 10 rejected" "the bulk load's summary"
cp "$S/err" bulk.err
dump bulk bulk
same_dump rows bulk "bulk load == row by row: records and every index, entry for entry"
clean_check bulk "the bulk load"
# the refusals name the line of the earlier row, as the row-by-row store always did
grep -q "^all.csv:998: .*code = \"c" bulk.err && grep -q "that record comes from line 993 of this file" bulk.err \
  && pass "a repeated unique value names both lines" || { fail "unique refusal"; cat bulk.err >&2; }
grep -q "^all.csv:1202: .*line 1199 of this file has the same key" bulk.err \
  && pass "a repeated key names the earlier line" || { fail "key refusal"; cat bulk.err >&2; }
[ "$(grep -c '^[0-9]' bulk.rej.csv)" = 10 ] && pass "10 rows in the rejects file" \
  || fail "rejects file: $(cat bulk.rej.csv)"

# a budget of 16 KB: a flush every ~300 rows, repeated values found in the tables
fresh small
GONGHUI_IMPORT_MEM_KB=16 gh --db "$S/small" import items all.csv --rejects small.rej.csv
expect_rc 3 "the bulk load with a 16 KB budget"
dump small small
same_dump rows small "16 KB budget == row by row"
cmp -s bulk.rej.csv small.rej.csv && pass "the same rejects file with any budget" \
  || fail "rejects differ with a small budget"
cmp -s bulk.err "$S/err" && pass "the same messages with any budget" || fail "messages differ"
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

# ---- killed inside the bulk phase ----------------------------------------------------------------
fresh killed
GONGHUI_TEST_BULK_PAUSE="$S/paused:8" "$BIN" --db "$S/killed" import items all.csv \
  --rejects killed.rej.csv >"$S/k.out" 2>"$S/k.err" &
pid=$!
track $pid
if wait_file "$S/paused"; then
  kill -9 $pid
  reap $pid
  clean_check killed "killed half-way through the commit's flushes"
  query "$S/killed" 'print(db.items:count())'
  [ "$(cat "$S/out")" = 0 ] && pass "nothing of the killed import is stored" \
    || fail "the killed import left $(cat "$S/out") records"
  gh --db "$S/killed" import items all.csv --rejects killed.rej.csv
  expect_rc 3 "the import again after the kill"
  dump killed killed
  same_dump bulk killed "the import after a kill == the clean import"
else
  fail "the import never reached its 8th flush"; cat "$S/k.err" >&2
fi

# chunked (2000 rows a chunk): flushes 1-2 (rows 997, 1994) and 3-6 (the
# first commit) are the first chunk's; 7 (row 2991) and 8-11 the second's
fresh chunked
GONGHUI_TEST_BULK_PAUSE="$S/paused2:9" "$BIN" --db "$S/chunked" import items all.csv --chunk 2000 \
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
  expect_out "5,990 rows of all.csv (UTF-8) stored in 'items', 10 rejected" "the resumed summary"
  dump chunked chunked
  same_dump bulk chunked "killed in a chunk's commit and resumed == the clean import"
  cmp -s bulk.rej.csv chunked.rej.csv && pass "the resumed rejects file equals the clean one" \
    || fail "the resumed rejects file differs"
  clean_check chunked "the resumed import"
else
  fail "the chunked import never reached its 9th flush"; cat "$S/k.err" >&2
fi
finish
