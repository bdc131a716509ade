#!/bin/sh
# dbpath.sh BINARY SCRATCH — which database: --db DIR, else $GONGHUI_DB, else
# ./gonghui.db; and what is refused: a path that is a file, a directory with
# other files, an LMDB environment that is not gonghui's, a database of a
# newer format (every command), with a clear message and nothing changed.
. "$(dirname "$0")/lib.sh"
setup "$@"

lua mark.lua <<'EOF'
db.define('where', { key = 'k', fields = { k = 'string' } })
db.where:put{ k = params.mark }
EOF
lua which.lua <<'EOF'
local ok, c = pcall(function() return db.where end)
local marks = {}
if ok then for r in c:scan() do marks[#marks + 1] = r.k end end
print('marks:' .. table.concat(marks, ','))
EOF

# --- selection ---------------------------------------------------------------------
mkdir -p "$S/cwd"
cd "$S/cwd" || exit 2
gh run "$S/mark.lua" mark=default
expect_rc 0 "the default database" &&
  { [ -f "$S/cwd/gonghui.db/data.mdb" ] && pass "without --db or GONGHUI_DB: ./gonghui.db" ||
    fail "the default database is not ./gonghui.db"; }
GONGHUI_DB=$S/envdb "$BIN" run "$S/mark.lua" mark=env >"$S/out" 2>"$S/err"
RC=$?
expect_rc 0 "GONGHUI_DB" && { [ -f "$S/envdb/data.mdb" ] && pass "GONGHUI_DB names the database" || fail "GONGHUI_DB was not used"; }
GONGHUI_DB=$S/envdb "$BIN" --db "$S/optdb" run "$S/mark.lua" mark=opt >"$S/out" 2>"$S/err"
RC=$?
expect_rc 0 "--db over GONGHUI_DB" && { [ -f "$S/optdb/data.mdb" ] && pass "--db wins over GONGHUI_DB" || fail "--db was not used"; }
GONGHUI_DB='' "$BIN" run "$S/mark.lua" mark=emptyenv >"$S/out" 2>"$S/err"
RC=$?
expect_rc 0 "an empty GONGHUI_DB" && pass "an empty GONGHUI_DB means the default"
"$BIN" --db="$S/eqdb" run "$S/mark.lua" mark=eq >"$S/out" 2>"$S/err"
RC=$?
expect_rc 0 "--db=DIR" && { [ -f "$S/eqdb/data.mdb" ] && pass "--db=DIR" || fail "--db=DIR was not used"; }
# each database has only its own mark
for pair in "$S/cwd/gonghui.db:default,emptyenv" "$S/envdb:env" "$S/optdb:opt" "$S/eqdb:eq"; do
  d=${pair%%:*}
  want=${pair#*:}
  gh --db "$d" run "$S/which.lua"
  if grep -qx "marks:$want" "$S/out"; then pass "$d holds $want"; else fail "$d holds $(cat "$S/out"), expected marks:$want"; show_output; fi
done
# check, stat and backup follow the same rule
(cd "$S/cwd" && "$BIN" check) >"$S/out" 2>"$S/err"
RC=$?
expect_rc 0 "check on the default database" && pass "check uses ./gonghui.db"
GONGHUI_DB=$S/envdb "$BIN" stat >"$S/out" 2>"$S/err"
RC=$?
expect_rc 0 "stat on GONGHUI_DB" && expect_out "where" "stat on GONGHUI_DB" && pass "stat uses GONGHUI_DB"
GONGHUI_DB=$S/envdb "$BIN" backup "$S/envcopy" >"$S/out" 2>"$S/err"
RC=$?
expect_rc 0 "backup of GONGHUI_DB" && pass "backup uses GONGHUI_DB"
gh --db "$S/envcopy" run "$S/which.lua"
grep -qx "marks:env" "$S/out" && pass "the backup of GONGHUI_DB has its mark" || fail "the backup of GONGHUI_DB: $(cat "$S/out")"
cd "$S" || exit 2

# --- refusals ------------------------------------------------------------------------
# The names and contents of the files at a path (LMDB's own lock.mdb, which
# any reader touches, left out).
fingerprint() {
  if [ -d "$1" ]; then
    for f in "$1"/*; do
      case $f in */lock.mdb) continue ;; esac
      [ -e "$f" ] || continue
      echo "$f $(cksum <"$f")"
    done
  else
    cksum <"$1"
  fi
}
# Runs every command on $1 and expects each to fail with a message containing $2,
# and the path to be as it was.
refused_by_all() { # PATH TEXT WHAT
  before=$(fingerprint "$1")
  for cmd in "run $S/mark.lua mark=x" "check" "stat" "backup $S/refused_copy"; do
    rm -rf "$S/refused_copy"
    # shellcheck disable=SC2086
    gh --db "$1" $cmd
    if [ "$RC" -ne 1 ]; then
      fail "$3: '$cmd' exit code $RC, expected 1"
      show_output
    elif ! grep -qF -- "$2" "$S/err"; then
      fail "$3: '$cmd' message does not say '$2'"
      show_output
    else
      pass "$3: '$cmd' is refused"
    fi
  done
  after=$(fingerprint "$1")
  [ "$before" = "$after" ] || fail "$3: the path was changed"
  [ -e "$S/refused_copy/data.mdb" ] && fail "$3: backup made a copy"
}

# a path that is a file
echo "not a database" >"$S/afile"
refused_by_all "$S/afile" "$S/afile" "a path that is a file"
grep -q "file" "$S/err" || fail "a path that is a file: the message does not say it is a file"

# a directory with other files
mkdir -p "$S/other"
echo "notes" >"$S/other/notes.txt"
refused_by_all "$S/other" "not a gonghui database" "a directory with other files"
[ ! -e "$S/other/data.mdb" ] || fail "a directory with other files: a database was created in it"

# an LMDB environment that is not gonghui's
if have_lmdb_utils; then
  mkdir -p "$S/foreign"
  printf 'VERSION=3\nformat=print\ntype=btree\nHEADER=END\n hello\n world\nDATA=END\n' >"$S/foreign.txt"
  mdb_load -f "$S/foreign.txt" "$S/foreign" || fail "making a foreign LMDB environment"
  refused_by_all "$S/foreign" "not a gonghui database" "an LMDB environment that is not gonghui's"
  # one with a _meta table but no format in it
  mkdir -p "$S/foreign2"
  printf 'VERSION=3\nformat=print\ntype=btree\nHEADER=END\n something\n else\nDATA=END\n' >"$S/foreign2.txt"
  mdb_load -f "$S/foreign2.txt" -s _meta "$S/foreign2" || fail "making a foreign LMDB environment with _meta"
  refused_by_all "$S/foreign2" "not a gonghui database" "an LMDB environment with _meta but no format"
else
  echo "SKIP: lmdb-utils not found: the foreign-LMDB and newer-format checks need mdb_load" >&2
fi

# a data.mdb that is not LMDB at all
mkdir -p "$S/garbage"
head -c 20000 /dev/urandom >"$S/garbage/data.mdb" 2>/dev/null || dd if=/dev/zero of="$S/garbage/data.mdb" bs=1000 count=20 2>/dev/null
refused_by_all "$S/garbage" "$S/garbage" "a data.mdb that is not LMDB"

# a database written by a newer gonghui (format 2 in _meta/format, 8 bytes little-endian)
if have_lmdb_utils; then
  gh --db "$S/newer" run "$S/mark.lua" mark=n
  # only the format record is loaded: a whole dump would carry the random db_id, and
  # mdb_dump -p does not always print bytes mdb_load reads back (a flaky failure)
  printf ' format\n \\02\\00\\00\\00\\00\\00\\00\\00\n' | lmdb_put "$S/newer" _meta ||
    fail "loading the newer format"
  mdb_dump -p -s _meta "$S/newer" | grep -A1 '^ format$' | grep -qF ' \02\00\00\00\00\00\00\00' ||
    fail "could not set the format to 2"
  refused_by_all "$S/newer" "newer" "a database of a newer format"
  grep -q "upgrade" "$S/err" || echo "  note: the message does not suggest upgrading: $(cat "$S/err")" >&2
  # and a much newer one (format 1000), same
  printf ' format\n \\e8\\03\\00\\00\\00\\00\\00\\00\n' | lmdb_put "$S/newer" _meta ||
    fail "loading format 1000"
  gh --db "$S/newer" stat
  expect_rc 1 "format 1000" && expect_err "1000" "format 1000: the message names the format" && pass "format 1000 is refused"
fi

# a path whose parent does not exist
gh --db "$S/no/such/parent" run "$S/mark.lua" mark=x
if [ "$RC" -eq 0 ]; then fail "a database under a missing parent: exit 0"; else pass "a database under a missing parent is an error (exit $RC)"; fi

# run creates a missing or empty directory as a database; the others do not
mkdir -p "$S/emptydir"
gh --db "$S/emptydir" run "$S/mark.lua" mark=e
expect_rc 0 "run in an empty directory" && pass "run makes a database in an empty directory"
for cmd in check stat; do
  gh --db "$S/missing_$cmd" $cmd
  if [ "$RC" -eq 0 ]; then fail "$cmd on a missing path exits 0"; fi
  [ -e "$S/missing_$cmd" ] && fail "$cmd created a missing path"
done
pass "check and stat do not create databases"

finish
