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
#   has FILE TEXT WHAT         FILE contains TEXT (fixed string)
#   hasnot FILE TEXT WHAT      FILE does not contain TEXT
#   has_line FILE LINE WHAT    FILE has the exact line LINE
#   expect_value DB EXPR WANT WHAT   the Lua expression EXPR on DB prints WANT
#   newdb DIR                  a new database at DIR, made by $S/define.lua
#   idn FIRST17                a resident ID number: the 17 digits and their check character
#   repl STATEMENT...          pipes one statement a line into gonghui repl on $DB (like gh)
#   same EXPECTED WHAT         $S/out is exactly EXPECTED
#   now_ms                     the clock in milliseconds
#   rand_delay LO HI           a random delay from LO to HI milliseconds, printed in seconds
#   track PID                  kills background process PID when the test ends
#   reap PID                   waits for it (its exit code) and forgets it
#   lua FILE <<'EOF' ... EOF   writes a Lua script to $S/FILE
#   alive PID                  is PID running (not ended, reaped or not)?
#   wait_file FILE...          waits until every FILE exists (0), or 1 after WAIT_DEADLINE
#                              seconds (300: a backstop for a hung process, not a guess
#                              at the machine's speed)
#   until_ok CMD...            runs CMD until it succeeds (0), or 1 after WAIT_DEADLINE seconds
#   race PREFIX CMD...         starts CMD in the background as one of a race: it says it
#                              is ready (PREFIX.ready), waits for the go, then runs with
#                              stdout in PREFIX.out and stderr in PREFIX.err (PREFIX: a path)
#   race_go                    waits until every racer started is ready, says go and reaps
#                              them: R1, R2 ... are their exit codes, in the order started
#   run_chapter [OPTIONS] HEADING
#                              runs a README chapter's commands as written (below)
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

# A condition that no file marks (a count in a log, a lag of 0): asked again
# until it holds, with the same backstop.
until_ok() {
  _t=$(date +%s)
  until "$@"; do
    [ $(($(date +%s) - _t)) -lt "${WAIT_DEADLINE:-300}" ] || return 1
    sleep 0.1
  done
}

# Two (or more) processes doing the same thing at once: the one home of
# the start (ready files, one go, reaped). The gate is the shell's, before
# the command starts, so the racers' scripts need no code of their own for it;
# nothing waits a fixed time.
RACE_PIDS=""
RACE_READY=""
race() {
  _prefix=$1
  shift
  rm -f "$S/go" "$_prefix.ready"
  (
    : >"$_prefix.ready"
    while [ ! -e "$S/go" ]; do sleep 0.01; done
    exec "$@" >"$_prefix.out" 2>"$_prefix.err"
  ) &
  track $!
  RACE_PIDS="$RACE_PIDS $!"
  RACE_READY="$RACE_READY $_prefix.ready"
}

race_go() {
  # shellcheck disable=SC2086
  wait_file $RACE_READY || fail "the racers never all got ready ($RACE_READY)"
  : >"$S/go"
  _i=0
  for _pid in $RACE_PIDS; do
    _i=$((_i + 1))
    reap "$_pid"
    eval "R$_i=\$?"
  done
  # shellcheck disable=SC2086
  rm -f "$S/go" $RACE_READY
  RACE_PIDS=""
  RACE_READY=""
}

# (a child that has ended but is not reaped still answers kill -0)
alive() {
  [ -r "/proc/$1/stat" ] && ! grep -q ') Z ' "/proc/$1/stat" 2>/dev/null
}

has() {
  if grep -qF -- "$2" "$1" 2>/dev/null; then
    pass "$3"
  else
    fail "$3: $1 does not contain '$2'"
    sed 's/^/  | /' "$1" 2>/dev/null | head -40 >&2
  fi
}

hasnot() {
  if grep -qF -- "$2" "$1"; then fail "$3: $1 contains '$2'"; else pass "$3"; fi
}

has_line() {
  if grep -qxF -- "$2" "$1"; then
    pass "$3"
  else
    fail "$3: no line '$2' in $1"
    sed 's/^/  | /' "$1" | head -40 >&2
  fi
}

expect_value() {
  query "$1" "print($2)"
  if [ "$(cat "$S/out")" = "$3" ]; then pass "$4"; else fail "$4: $2 is '$(cat "$S/out")', expected '$3'"; show_output; fi
}

newdb() {
  rm -rf "$1"
  gh --db "$1" run "$S/define.lua"
  expect_rc 0 "defining members in $1" || finish
}

idn() {
  python3 -c "
b='$1'; w=[7,9,10,5,8,4,2,1,6,3,7,9,10,5,8,4,2]
print(b + '10X98765432'[sum(int(c) * x for c, x in zip(b, w)) % 11])"
}

repl() {
  printf '%s\n' "$@" | "$BIN" --db "$DB" repl >"$S/out" 2>"$S/err"
  RC=$?
}

same() {
  printf '%s\n' "$1" >"$S/want"
  if cmp -s "$S/want" "$S/out"; then pass "$2"; else fail "$2"; diff "$S/want" "$S/out" >&2; fi
}

now_ms() { echo $(($(date +%s%N) / 1000000)); }

rand_delay() {
  _r=$(od -An -N2 -tu2 /dev/urandom | tr -d ' ')
  awk -v r="$_r" -v lo="$1" -v hi="$2" 'BEGIN { printf "%.3f", (lo + r % (hi - lo + 1)) / 1000 }'
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

# run_chapter [--csv NAME]... [--exit1 PATTERN]... [--min N] HEADING
# Runs the README chapter (or section) whose heading starts with HEADING (its
# '#'s too) as its reader would, in $S (ROOT is the repository):
#   * its csv blocks become files: named by the --csv options in order, else
#     each run of csv blocks by the *.csv names in backticks in the prose
#     before it (refusals and 公示 files left out); every other block but sh
#     and text is $S/chapter.N.KIND (N counts the blocks of that kind from 1);
#   * every command line of its sh blocks runs in order, by sh in $S, with
#     `gonghui` the binary under test and scripts/ the repository's; it must
#     exit 0, or 1 where it matches an --exit1 case pattern (rows refused);
#   * the text block after a sh block is that step's output: its lines must
#     stand in the step's stdout in order ('...' skips), checked once at the end;
#   * at least N commands (--min, default 1) must have run.
# Step I's output is $S/gotI.txt, its stderr $S/errI.txt. Sets CHAPTER_STEPS.
run_chapter() {
  _csv="" _exit1="" _min=1
  while [ $# -gt 1 ]; do
    case $1 in
      --csv) _csv="$_csv$2
" ;;
      --exit1) _exit1="$_exit1$2
" ;;
      --min) _min=$2 ;;
      *) break ;;
    esac
    shift 2
  done
  python3 - "${ROOT:?}/README.md" "$S" "$1" "$_csv" <<'PY' || { fail "extracting the chapter '$1'"; return 1; }
import sys, re, os
readme, out, heading, csv_names = sys.argv[1:5]
level = len(heading) - len(heading.lstrip('#'))
lines = open(readme, encoding='utf-8').read().split('\n')
start = [i for i, l in enumerate(lines) if l.startswith(heading)][0]
end, fenced = len(lines), False
for i in range(start + 1, len(lines)):
    if lines[i].startswith('```'):
        fenced = not fenced
    elif not fenced and re.match(r'#{1,%d} ' % level, lines[i]):
        end = i
        break
parts = re.split(r'```(\w+)\n(.*?)```', '\n'.join(lines[start:end]) + '\n', flags=re.S)
blocks, prose = [], parts[0]
for i in range(0, len(parts) - 1, 3):
    blocks.append((parts[i + 1], parts[i + 2], prose))
    prose = parts[i + 3]
given = [n for n in csv_names.split('\n') if n]
names, count, steps = [], {}, []
for k, (kind, body, before) in enumerate(blocks):
    if kind == 'csv':
        if given:
            name = given.pop(0)
        else:
            if not names or k == 0 or blocks[k - 1][0] != 'csv':
                names = [n for n in re.findall(r'`([^`\s]+\.csv)`', before)
                         if 'refusals' not in n and '公示' not in n]
            name = names.pop(0)
    elif kind == 'sh':
        want = blocks[k + 1][1] if k + 1 < len(blocks) and blocks[k + 1][0] == 'text' else ''
        steps.append(([l for l in body.splitlines() if l.strip() and not l.startswith('#')], want))
        continue
    elif kind == 'text':
        continue
    else:
        count[kind] = count.get(kind, 0) + 1
        name = 'chapter.%d.%s' % (count[kind], kind)
    open(os.path.join(out, name), 'w', encoding='utf-8').write(body)
with open(os.path.join(out, 'steps.txt'), 'w', encoding='utf-8') as f:
    for n, (cmds, want) in enumerate(steps):
        open(os.path.join(out, 'want%d.txt' % n), 'w', encoding='utf-8').write(want)
        for c in cmds:
            f.write('%d\t%s\n' % (n, c))
PY
  # `gonghui` is the binary under test; scripts/ is the repository's
  mkdir -p "$S/.chapter-bin"
  printf '#!/bin/sh\nexec "%s" "$@"\n' "$BIN" >"$S/.chapter-bin/gonghui"
  chmod +x "$S/.chapter-bin/gonghui"
  [ -e "$S/scripts" ] || ln -s "$ROOT/scripts" "$S/scripts"
  CHAPTER_STEPS=0
  while IFS="$(printf '\t')" read -r _step _cmd; do
    # (CHAPTER_EDIT names a function that may rewrite a command: a clock a test must move)
    [ -z "${CHAPTER_EDIT:-}" ] || _cmd=$("$CHAPTER_EDIT" "$_cmd")
    (cd "$S" && PATH="$S/.chapter-bin:$PATH" sh -c "$_cmd") >>"$S/got$_step.txt" 2>>"$S/err$_step.txt"
    _rc=$? _want=0
    _pats=$_exit1
    while [ -n "$_pats" ]; do
      _p=${_pats%%
*}
      _pats=${_pats#*
}
      # shellcheck disable=SC2254 # the option's words are a case pattern
      case $_cmd in $_p) _want=1 ;; esac
    done
    if [ "$_rc" -ne "$_want" ]; then
      fail "'$_cmd': exit code $_rc, expected $_want"
      cat "$S/err$_step.txt" >&2
    fi
    CHAPTER_STEPS=$((CHAPTER_STEPS + 1))
  done <"$S/steps.txt"
  if [ "$CHAPTER_STEPS" -ge "$_min" ]; then
    pass "ran the chapter's $CHAPTER_STEPS commands"
  else
    fail "only $CHAPTER_STEPS commands found in '$1'"
  fi
  python3 - "$S" <<'PY' && pass "every output is as the chapter shows it" || fail "an output differs from the chapter"
import sys, os, glob
s = sys.argv[1]
bad = 0
for w in sorted(glob.glob(os.path.join(s, 'want*.txt'))):
    n = w[len(os.path.join(s, 'want')):-4]
    want = [l for l in open(w, encoding='utf-8').read().splitlines() if l.strip()]
    p = os.path.join(s, 'got%s.txt' % n)
    got = open(p, encoding='utf-8').read().splitlines() if os.path.exists(p) else []
    j = 0
    for l in want:
        if l == '...':
            continue
        while j < len(got) and got[j].rstrip() != l.rstrip():
            j += 1
        if j == len(got):
            print('step %s: the line\n  %s\nis not in the output (in order):\n%s' % (n, l, '\n'.join(got)), file=sys.stderr)
            bad += 1
            break
        j += 1
sys.exit(1 if bad else 0)
PY
}

finish() {
  if [ "$FAILED" -ne 0 ]; then
    echo "$0: $FAILED check(s) failed" >&2
    exit 1
  fi
  echo "$0: all checks passed" >&2
  exit 0
}
