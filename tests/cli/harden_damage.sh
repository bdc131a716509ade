#!/bin/sh
# harden_damage.sh — issue 16, classes 5 and 12: a damaged data.mdb never
# crashes `check` (it reports and exits 1) nor any other command (they
# refuse with advice); a full disk says so; a failed backup leaves nothing;
# a read-only database can be read; database folders and files are the
# owner's alone (0700/0600).
. "$(dirname "$0")/lib.sh"
setup "$@"

lua make.lua <<'EOF2'
db.define('t', { key = 'id', fields = { id = 'int', s = 'string', town = 'string?' },
                 index = { 'town' } })
db.atomic(function()
  for i = 1, 6000 do db.t:insert{ id = i, s = ('x'):rep(40) .. i, town = 'w' .. (i % 7) } end
end)
EOF2
lua scan.lua <<'EOF2'
local n = 0
for r in db.t:scan() do n = n + #r.s end
for r in db.t:scan{ index = 'town', eq = 'w3' } do n = n + r.id end
print('sum', n)
EOF2
gh --db "$S/db" run "$S/make.lua"
expect_rc 0 "the database" || finish

# ---- class 12: the owner's alone
mode() { stat -c %a "$1"; }
[ "$(mode db)" = 700 ] && [ "$(mode db/data.mdb)" = 600 ] && [ "$(mode db/lock.mdb)" = 600 ] &&
  [ "$(mode db/gonghui.lock)" = 600 ] && pass "database folder 0700, files 0600" ||
  fail "modes: $(mode db) $(mode db/data.mdb) $(mode db/lock.mdb) $(mode db/gonghui.lock)"
gh --db db backup "$S/bk"
[ "$(mode bk)" = 700 ] && [ "$(mode bk/data.mdb)" = 600 ] && pass "a backup is 0700/0600 too" ||
  fail "backup modes: $(mode bk) $(mode bk/data.mdb)"

crashed() { [ "$RC" -ge 128 ]; }
# every command on a damaged copy: no crash; check exits 1 and says damaged;
# the others refuse (or fail) with a message, and never crash
try_all() { # DIR WHAT
  gh --db "$1" check
  if crashed; then fail "$2: check crashed ($RC)"; show_output; return; fi
  [ "$RC" -eq 1 ] || { fail "$2: check exit $RC, expected 1"; show_output; return; }
  for cmd in "run $S/scan.lua" "stat" "runs" "export t --out $S/x.csv" "backup $S/bk-$$-$2"; do
    # shellcheck disable=SC2086
    gh --db "$1" $cmd
    if crashed; then
      fail "$2: '$cmd' crashed ($RC)"
      show_output
      return
    fi
  done
  [ ! -e "$S/bk-$$-$2" ] || [ -s "$S/bk-$$-$2/data.mdb" ] || fail "$2: backup left an empty file"
  OKS=$((OKS + 1))
}

# cut short
OKS=0
for size in 0 100 4096 12288 40000 200000; do
  rm -rf "cut$size" && cp -r db "cut$size" && truncate -s $size "cut$size/data.mdb"
  try_all "cut$size" "cut$size"
done
[ $OKS -eq 6 ] && pass "data.mdb cut short at 6 sizes: no command crashes, check exits 1"
rm -rf cut && cp -r db cut && truncate -s 200000 cut/data.mdb
gh --db cut run "$S/scan.lua"
expect_rc 1 "run on a cut file" && expect_err "is damaged" "run: says damaged" &&
  expect_err "check" "run: advises check" && expect_err "backup" "run: advises a backup" &&
  pass "run refuses a cut file with advice"
gh --db cut backup "$S/bkcut"
expect_rc 1 "backup of a cut file" && [ ! -e bkcut ] && pass "backup refuses a damaged file, leaves nothing"
gh --db cut check
expect_err "is damaged" "check names the damage" && pass "check reports a cut file"

# bytes flipped anywhere after the meta pages
OKS=0
for seed in 1 2 3 4 5 6 7 8; do
  rm -rf flip && cp -r db flip
  python3 - flip/data.mdb $seed <<'EOF2'
import os, random, sys
p, seed = sys.argv[1], int(sys.argv[2])
r = random.Random(seed)
size = os.path.getsize(p)
with open(p, 'r+b') as f:
    for _ in range(20 + seed * 5):
        f.seek(r.randrange(8192, size))
        f.write(bytes([r.randrange(256)]))
EOF2
  gh --db flip check
  if crashed; then fail "flip $seed: check crashed ($RC)"; show_output; continue; fi
  gh --db flip run "$S/scan.lua"
  if crashed; then fail "flip $seed: run crashed ($RC)"; show_output; continue; fi
  OKS=$((OKS + 1))
done
[ $OKS -eq 8 ] && pass "bytes flipped, 8 ways: check and run never crash"

# ---- a failed backup leaves nothing; a full disk says so
rm -rf "$S/mnt" && mkdir -p "$S/mnt"
if mount -t tmpfs -o size=64k tmpfs "$S/mnt" 2>/dev/null; then
  gh --db db backup "$S/mnt/bk"
  expect_rc 1 "backup onto a full disk" && expect_err "is full" "backup: says the disk is full" &&
    [ ! -e "$S/mnt/bk" ] && pass "a backup onto a full disk says so and leaves nothing"
  gh --db "$S/mnt/db" run "$S/make.lua"
  expect_rc 1 "writing onto a full disk" && expect_err "is full" "run: says the disk is full" &&
    no_err "Input/output error" "run: not an I/O error" && pass "a full disk says so"
  umount "$S/mnt"
else
  echo "SKIP: cannot mount a small tmpfs here: the full-disk checks need one" >&2
fi

# ---- a read-only database can be read
if command -v setpriv >/dev/null && [ "$(id -u)" = 0 ]; then
  rm -rf ro && cp -r db ro && chmod -R a+rX "$S" && chmod a-w ro ro/* && chmod a+r ro/*
  setpriv --reuid=65534 --regid=65534 --clear-groups env GONGHUI_STATE_DIR=/nonexistent \
    "$BIN" --db "$S/ro" run "$S/scan.lua" >"$S/out" 2>"$S/err"
  RC=$?
  expect_rc 0 "a read-only database is read (by a user who cannot write it)" &&
    expect_out "sum" "read-only: the answer" && pass "a read-only database can be read"
  setpriv --reuid=65534 --regid=65534 --clear-groups "$BIN" --db "$S/ro" check >"$S/out" 2>"$S/err"
  RC=$?
  expect_rc 0 "check of a read-only database" && pass "check reads a read-only database"
else
  echo "SKIP: the read-only check needs root and setpriv" >&2
fi

# a damaged length: a record's size in its LMDB node overwritten to ask for a
# gigabyte (the bytes are there: no fault) ends in "damaged" and the check
# advice, not in "more memory than its limit"
if command -v python3 >/dev/null 2>&1; then
  gh --db dlen run -e "db.define('t', { key = 'k', fields = { k = 'string', v = 'string' } })
    db.t:insert{ k = 'KEYMARK', v = 'VALMARKER-' .. string.rep('x', 100) }"
  python3 - dlen/data.mdb <<'EOF2'
import sys
p = sys.argv[1]
d = bytearray(open(p, 'rb').read())
i = d.find(b'VALMARKER')
k = d.rfind(b'\x02KEYMARK\x00', 0, i)   # the key, after the node's 8-byte header
d[k - 6:k - 4] = (0x3fff).to_bytes(2, 'little')   # mn_hi: the data size's high half
open(p, 'wb').write(d)
EOF2
  for how in "for r in db.t:scan() do print(r.k) end" "print(db.t:get('KEYMARK'))" "db.t:update('KEYMARK', { v = 'y' })"; do
    gh --db dlen run -e "$how"
    expect_rc 1 "$how on a damaged length" && expect_err "is damaged: a record of 't' claims" "$how: damaged" &&
      expect_err "check" "$how: the check advice" && no_err "memory" "$how: not a memory limit" &&
      pass "$how: a damaged length is damage, not a memory limit"
  done
  gh --db dlen export t --out t.csv
  expect_rc 1 "export of a damaged length" && expect_err "is damaged" "export: damaged" && no_err "memory" "export: no memory limit"
fi

# a damaged size inside a record: a string's length byte made to run past the
# record's end, before the field a condition tests; the conditions' walk to
# that field (core/lua_scan.c, scan_match) stops with the check advice
if command -v python3 >/dev/null 2>&1; then
  gh --db dstr run -e "db.define('t', { key = 'k', fields = { k = 'string', v = 'string', w = 'string' } })
    db.define('u', { fields = { k = 'string' } })
    db.t:insert{ k = 'KEYMARK', v = 'VALMARK2-' .. string.rep('x', 100), w = 'z' }"
  python3 - dstr/data.mdb <<'EOF2'
import sys
p = sys.argv[1]
d = bytearray(open(p, 'rb').read())
i = d.find(b'VALMARK2-')
assert d[i - 2] == 0xd9 and d[i - 1] == 109, 'v is a str8 of 109 bytes'
d[i - 1] = 0xff   # 255 bytes: past the record's end
open(p, 'wb').write(d)
EOF2
  for how in "for r in db.t:scan{ w = 'z' } do print(r.k) end" \
             "db.u:insert_select{ from = db.t, where = { w = { 'y', 'z' } }, take = { k = 'k' } }"; do
    gh --db dstr run -e "$how"
    expect_rc 1 "$how on a damaged size" && expect_err "a stored record is corrupt" "$how: corrupt" &&
      expect_err "check" "$how: the check advice" && pass "$how: a size past the record's end is reported"
  done
fi

# ---- check walks the pages itself before LMDB reads them (a page LMDB would
# loop on, found by fuzz_mdb, is in tests/fuzz/corpus/mdb/loop-lower)
if command -v python3 >/dev/null 2>&1; then
  # a healthy file with every kind of page: large values (overflow pages), a
  # key with thousands of values in an index (a tree of duplicates), several tables
  gh --db kinds run -e "db.define('big', { key = 'id', fields = { id = 'int', v = 'string', g = 'string' },
                                           index = { 'g' } })
    db.define('small', { key = 'k', fields = { k = 'string' } })
    db.atomic(function()
      for i = 1, 3000 do db.big:insert{ id = i, v = ('v'):rep(i % 50 == 0 and 9000 or 20), g = i % 3 == 0 and 'many' or 'g' .. i } end
      db.small:insert{ k = 'a' }
    end)"
  expect_rc 0 "a file with every kind of page"
  gh --db kinds check
  expect_rc 0 "check of a healthy file with every kind of page" &&
    pass "check's page walk finds nothing wrong in a healthy file (overflow pages, duplicates, tables)"
  # a branch page of table 't' made to point at itself: a loop
  rm -rf loop && cp -r db loop
  python3 - loop/data.mdb <<'EOF2'
import struct, sys
p = sys.argv[1]
d = bytearray(open(p, 'rb').read())
ps = struct.unpack_from('<I', d, 40)[0]
m = max((0, ps), key=lambda o: struct.unpack_from('<Q', d, o + 144)[0])
def page(n): return n * ps
def nodes(n):
    o = page(n); lower = struct.unpack_from('<H', d, o + 12)[0]
    return [o + struct.unpack_from('<H', d, o + 16 + 2 * i)[0] for i in range((lower - 16) // 2)]
root = struct.unpack_from('<Q', d, m + 128)[0]
pg = root
while struct.unpack_from('<H', d, page(pg) + 10)[0] & 1:   # down the list of tables
    lo, hi, fl = struct.unpack_from('<HHH', d, nodes(pg)[0]); pg = lo | hi << 16 | fl << 32
for n in nodes(pg):
    ks = struct.unpack_from('<H', d, n + 6)[0]
    if bytes(d[n + 8:n + 8 + ks]) == b'c:t':
        troot = struct.unpack_from('<Q', d, n + 8 + ks + 40)[0]
assert struct.unpack_from('<H', d, page(troot) + 10)[0] & 1, 'table t is one page'
struct.pack_into('<HHH', d, nodes(troot)[1], troot & 0xffff, troot >> 16 & 0xffff, troot >> 32)
open(p, 'wb').write(d)
EOF2
  gh --db loop check
  expect_rc 1 "check of a tree that loops" && expect_out "(collection 't'): points to page" "check names the collection and the page" &&
    expect_out "reached another way too" "check: a loop" && expect_out "were not read" "check: the records were not read" &&
    pass "check finds a tree that loops back on itself, and stops"
fi

finish
