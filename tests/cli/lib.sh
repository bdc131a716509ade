# lib.sh — helpers for the CLI tests, sourced by each tests/cli/*.sh.
#
# A test is `sh tests/cli/X.sh BINARY SCRATCH`: it makes SCRATCH afresh,
# runs checks, reports each failing check on stderr, and exits 1 at the end
# if any failed (so one bug does not hide the others), 0 otherwise.
#
#   setup "$@"                 sets BIN (absolute), S (scratch, absolute) and cds to S
#   gh ARGS...                 runs $BIN ARGS, stdout to $S/out, stderr to $S/err,
#                              exit code in $RC (never stops the script)
#   fail MSG                   records a failure
#   expect_rc N WHAT           $RC must be N
#   expect_out TEXT WHAT       $S/out contains TEXT (fixed string)
#   expect_err TEXT WHAT       $S/err contains TEXT (fixed string)
#   expect_err_re RE WHAT      $S/err matches the extended regex RE
#   no_err TEXT WHAT           $S/err does not contain TEXT
#   track PID                  kills background process PID when the test ends
#   reap PID                   waits for it (its exit code) and forgets it
#   lua FILE <<'EOF' ... EOF   writes a Lua script to $S/FILE
#   alive PID                  is PID running (not ended, reaped or not)?
#   wait_file FILE...          waits until every FILE exists (0), or 1 after WAIT_DEADLINE
#                              seconds (300: a backstop for a hung process, not a guess
#                              at the machine's speed)
#   finish                     exits 1 if anything failed

set -u
FAILED=0

setup() {
  if [ $# -lt 2 ]; then
    echo "usage: sh $0 BINARY SCRATCH" >&2
    exit 2
  fi
  BIN=$1
  S=$2
  case $BIN in /*) ;; *) BIN=$(pwd)/$BIN ;; esac
  if [ ! -x "$BIN" ]; then
    echo "$0: $BIN is not an executable" >&2
    exit 2
  fi
  rm -rf "$S"
  mkdir -p "$S" || exit 2
  S=$(cd "$S" && pwd)
  # background processes started with `track PID` are killed when the test
  # ends however it ends (a timeout, ^C), so none is left spinning
  BG_PIDS=""
  trap 'cleanup_bg' EXIT
  trap 'cleanup_bg; exit 130' INT TERM HUP
  # nothing from the caller's environment decides which database is used
  unset GONGHUI_DB GONGHUI_MAP_SIZE GONGHUI_LIB
  # the list of databases made (dbreg.h) is the test's own, gone with $S
  GONGHUI_STATE_DIR=$S/.state
  export GONGHUI_STATE_DIR
  # messages in the source's English unless a test asks for another language
  unset LANGUAGE LC_ALL LC_MESSAGES
  export LANG=C.UTF-8
  cd "$S" || exit 2
}

track() {
  BG_PIDS="$BG_PIDS $1"
}

# Waits for background process PID and forgets it; returns its exit code.
reap() {
  wait "$1" 2>/dev/null
  _rc=$?
  _keep=""
  for _p in $BG_PIDS; do
    [ "$_p" = "$1" ] || _keep="$_keep $_p"
  done
  BG_PIDS=$_keep
  return $_rc
}

# (a tracked process that has ended but is not reaped keeps its PID, so
# only our own processes are ever killed here)
cleanup_bg() {
  for p in $BG_PIDS; do
    kill -9 "$p" 2>/dev/null
  done
  BG_PIDS=""
}

gh() {
  "$BIN" "$@" >"$S/out" 2>"$S/err"
  RC=$?
}

show_output() {
  echo "  --- stdout:" >&2
  head -c 3000 "$S/out" | sed 's/^/  | /' >&2
  echo "  --- stderr:" >&2
  head -c 3000 "$S/err" | sed 's/^/  | /' >&2
}

fail() {
  echo "FAIL: $*" >&2
  FAILED=$((FAILED + 1))
}

pass() {
  echo "ok    $*" >&2
}

expect_rc() {
  if [ "$RC" -ne "$1" ]; then
    fail "$2: exit code $RC, expected $1"
    show_output
    return 1
  fi
  return 0
}

expect_out() {
  if ! grep -qF -- "$1" "$S/out"; then
    fail "$2: stdout does not contain '$1'"
    show_output
    return 1
  fi
  return 0
}

expect_err() {
  if ! grep -qF -- "$1" "$S/err"; then
    fail "$2: stderr does not contain '$1'"
    show_output
    return 1
  fi
  return 0
}

expect_err_re() {
  if ! grep -qE -- "$1" "$S/err"; then
    fail "$2: stderr does not match /$1/"
    show_output
    return 1
  fi
  return 0
}

no_err() {
  if grep -qF -- "$1" "$S/err"; then
    fail "$2: stderr contains '$1'"
    show_output
    return 1
  fi
  return 0
}

lua() {
  cat >"$S/$1"
}

# Tests never wait a fixed time for something to happen: a process that
# reaches a point makes a file, and the test waits for that file.
wait_file() {
  _t=$(date +%s)
  for _f in "$@"; do
    while [ ! -e "$_f" ]; do
      [ $(($(date +%s) - _t)) -lt "${WAIT_DEADLINE:-300}" ] || return 1
      sleep 0.02
    done
  done
  return 0
}

# (a child that has ended but is not reaped still answers kill -0)
alive() {
  [ -r "/proc/$1/stat" ] && ! grep -q ') Z ' "/proc/$1/stat" 2>/dev/null
}

# Runs a Lua snippet against database $1 and puts its stdout in $S/out.
# Usage: query DB 'print(db.m:count())'
query() {
  printf '%s\n' "$2" >"$S/query.lua"
  "$BIN" --db "$1" run "$S/query.lua" >"$S/out" 2>"$S/err"
  RC=$?
}

# mdb_dump / mdb_load (lmdb-utils) are needed by some checks.
have_lmdb_utils() {
  command -v mdb_dump >/dev/null 2>&1 && command -v mdb_load >/dev/null 2>&1
}

# Writes key/value pairs into sub-database $2 of the environment $1, with
# the header (flags) taken from the sub-database's own dump. Pairs come on
# stdin in mdb_dump's print format: one " key" line then one " value" line.
lmdb_put() {
  mdb_dump -p -s "$2" "$1" | sed -n '1,/^HEADER=END$/p' | grep -v -e '^duplicates=' -e '^db_pagesize=' \
    >"$S/load.txt" || return 1
  cat >>"$S/load.txt"
  echo "DATA=END" >>"$S/load.txt"
  mdb_load -f "$S/load.txt" -s "$2" "$1"
}

finish() {
  if [ "$FAILED" -ne 0 ]; then
    echo "$0: $FAILED check(s) failed" >&2
    exit 1
  fi
  echo "$0: all checks passed" >&2
  exit 0
}
