#!/bin/sh
# harden_files.sh — issue 16, classes 1, 6 and 10: where a script may write
# and read files (core/sbfiles.h), and a missing or emptied database is not
# silently started afresh (core/dbreg.h).
. "$(dirname "$0")/lib.sh"
setup "$@"

mkdir -p prog outdir lib plug elsewhere data
printf 'secret\n' >elsewhere/secret.txt
printf 'a,b\n1,2\n' >data/in.csv
printf 'return { x = 1 }\n' >lib/shared.lua
export GONGHUI_LIB="$S/lib"

lua prog/seed.lua <<'EOF2'
db.define('t', { key = 'id', fields = { id = 'int' } })
db.t:insert{ id = 1 }
EOF2
gh run prog/seed.lua
expect_rc 0 "a database is made at ./gonghui.db" || exit 1

# ---- class 1: no write into a database folder, scripts/lib, a plugin folder, code files
try_write() { # WHAT LUA-EXPRESSION
  printf '%s\n' "$2" >prog/w.lua
  gh --plugins "$S/plug" run prog/w.lua
  if expect_rc 1 "$1 is refused" && expect_err "may not write there" "$1 says why"; then
    pass "$1 is refused"
  fi
}
try_write "io.open into the database folder" "io.open('gonghui.db/data.mdb', 'w')"
try_write "io.open of a new file in the database folder" "io.open('gonghui.db/notes.txt', 'w')"
try_write "io.open append to lock.mdb" "io.open('gonghui.db/lock.mdb', 'a')"
try_write "export.csv over data.mdb" "export.csv({{a=1}}, 'gonghui.db/data.mdb')"
try_write "export.json into the database folder" "export.json({{a=1}}, 'gonghui.db/x.json')"
try_write "run.open('data.mdb')" "run.open('data.mdb')"
try_write "a Lua file in the script's folder" "io.open('prog/evil.lua', 'w')"
try_write "a Lua file anywhere" "run.open('query.lua', 'w')"
try_write "a plugin file" "io.open('x.so', 'wb')"
try_write "scripts/lib" "io.open('lib/notes.txt', 'w')"
try_write "a plugin folder" "io.open('plug/notes.txt', 'w')"
# whatever --out says
printf "run.open('notes.txt', 'w')\n" >prog/w.lua
gh run --out gonghui.db prog/w.lua
expect_rc 1 "--out pointing at the database folder does not open it" &&
  expect_err "may not write there" "--out DBFOLDER: the reason" && pass "--out DBFOLDER refused"
printf "run.open('x.txt', 'w'):close()\n" >prog/w.lua
gh run --out "$S/lib" prog/w.lua
expect_rc 1 "--out scripts/lib refused" && [ ! -e lib/x.txt ] && pass "--out scripts/lib refused"
gh check
expect_rc 0 "the database checks clean after the attempts" && pass "database intact"
cmp -s lib/shared.lua - <<'EOF2' || fail "scripts/lib/shared.lua was changed"
return { x = 1 }
EOF2
printf "local f = assert(io.open('report.txt', 'w')); f:write('ok'); f:close()\n" >prog/w.lua
gh run prog/w.lua
expect_rc 0 "a plain file in the output folder is still written" && [ "$(cat report.txt)" = ok ] &&
  pass "plain writes in the output folder work"

# ---- a missing or emptied database is not started afresh
lua prog/count.lua <<'EOF2'
print('rows', #db.collections())
EOF2
mv gonghui.db saved.db
gh run prog/count.lua
expect_rc 1 "a deleted database folder is not made afresh" &&
  expect_err "held a database before" "the reason names the loss" && [ ! -e gonghui.db ] &&
  pass "deleted database refused"
mkdir gonghui.db
gh run prog/count.lua
expect_rc 1 "an emptied database folder is not made afresh" && pass "emptied database refused"
rmdir gonghui.db
gh --new-db run prog/count.lua
expect_rc 0 "--new-db starts afresh on purpose" && expect_out "rows	0" "--new-db: empty" &&
  pass "--new-db starts afresh"
rm -rf gonghui.db
mv saved.db gonghui.db
gh run prog/count.lua
expect_rc 0 "the restored database opens" && expect_out "rows	1" "restored: its rows" &&
  pass "restored database opens"
# the list of databases is matched by whole lines: a longer path is another
# database, and the last line needs no newline (dbreg.c reads it in one piece)
list=$GONGHUI_STATE_DIR/databases
cp "$list" "$S/list.saved"
real=$(realpath gonghui.db)
mv gonghui.db saved.db
printf '/elsewhere/a.db\n%s2\n/x%s\n' "$real" "$real" >"$list"
gh run prog/count.lua
expect_rc 0 "a path that only contains the missing one is not it" && pass "the list: whole lines only"
rm -rf gonghui.db
printf '/elsewhere/a.db\n%s' "$real" >"$list"
gh run prog/count.lua
expect_rc 1 "the last line, with no newline, is read" && expect_err "held a database before" "the last line" &&
  pass "the list: the last line without a newline"
mv saved.db gonghui.db
cp "$S/list.saved" "$list"

# ---- class 6: no symbolic link is followed on the way out
ln -s "$S/elsewhere/victim.txt" outdir/link.txt
ln -s "$S/elsewhere" outdir/sub
ln -s "$S/elsewhere/victim2.csv" outdir/r.csv.tmp
ln -s "$S/elsewhere/victim3.xlsx" outdir/r.xlsx.tmp.xlsx
for expr in "io.open('outdir/link.txt', 'w')" "io.open('outdir/sub/x.txt', 'w')" \
  "run.open('link.txt', 'w')" "export.csv({{a=1}}, 'r.csv')" "export.csv({{a=1}}, 'sub/r.csv')" \
  "export.xlsx({{a=1}}, 'r.xlsx')" "io.open('outdir/link.txt', 'a')"; do
  printf '%s\n' "$expr" >prog/w.lua
  gh run --out "$S/outdir" prog/w.lua
  expect_rc 1 "a link is not followed: $expr" && pass "link refused: $expr"
done
[ -z "$(ls elsewhere | grep -v secret.txt)" ] && pass "nothing written through links" ||
  fail "files appeared outside: $(ls elsewhere)"
lua prog/xl.lua <<'EOF2'
local xlsx = plugin.load 'xlsx'
local ok, err = pcall(xlsx.open, 'link.txt')
assert(not ok, 'xlsx.open followed a link')
print('refused', err)
EOF2
gh run --out "$S/outdir" prog/xl.lua
expect_rc 0 "xlsx.open refuses a link" && pass "xlsx.open refuses a link"

# ---- class 10: reads only from the folders the run names
try_read() { # WHAT LUA
  printf '%s\n' "$2" >prog/r.lua
  gh run --out "$S/outdir" prog/r.lua
  if expect_rc 1 "$1 is refused" && expect_err "scripts read files only" "$1: why"; then
    pass "$1 is refused"
  fi
}
try_read "io.open of /etc/passwd" "io.open('/etc/passwd')"
try_read "io.lines of /proc/self/environ" "for l in io.lines('/proc/self/environ') do end"
try_read "run.read_csv outside" "run.read_csv('$S/elsewhere/secret.txt', print)"
try_read "a file outside through ..' " "io.open('prog/../elsewhere/secret.txt')"
ln -s "$S/elsewhere/secret.txt" outdir/link2.txt
try_read "a link from the output folder to outside" "io.open('outdir/link2.txt')"
printf "io.open('gonghui.db/data.mdb', 'rb')\n" >prog/r.lua
gh run prog/r.lua
expect_rc 1 "data.mdb cannot be read as a file" && expect_err "database folder" "data.mdb: why" &&
  pass "data.mdb unreadable as a file"
printf "local n = run.read_csv('%s/data/in.csv', function() end); print('read', n)\n" "$S" >prog/r.lua
gh run --out "$S/outdir" prog/r.lua
expect_rc 1 "a folder not named is refused"
gh run --out "$S/outdir" --in "$S/data" prog/r.lua
expect_rc 0 "--in DIR allows reading there" && expect_out "read	2" "--in: the rows" &&
  pass "--in DIR reads"
printf "print(io.open('prog/seed.lua') ~= nil, require('shared').x)\n" >prog/r.lua
gh run prog/r.lua
expect_rc 0 "the script's folder and scripts/lib are readable" && expect_out "true	1" "own files" &&
  pass "own folder readable"

finish
