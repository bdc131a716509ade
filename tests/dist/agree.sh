#!/bin/sh
# agree.sh — help pages, the man page and completion come from one table
# (core/help.c) and agree: every command of `gonghui help` has its own page
# (`help CMD` == `CMD --help`), a section in the man page and a completion;
# every option a page lists is in the man page and completed, and nothing is
# completed that the page does not list; the parser takes the options the page
# lists (runs --limit N) and refuses others. The bash script is driven too.
#
#   sh tests/dist/agree.sh BINARY SOURCE_DIR SCRATCH
. "$(dirname "$0")/../cli/lib.sh"
SRC=$(cd "$2" && pwd)
setup "$1" "$3"
G=$BIN
"$G" help --man >"$S/man" 2>"$S/err" || fail "help --man failed"
"$G" help >"$S/overview" 2>"$S/err" || fail "help failed"
comp() { "$G" __complete "$@" 2>/dev/null; }
comp 1 gonghui -- | sort -u >"$S/globals" # the options of every command

# the commands completion offers: the top level, then each one's subcommands
CMDS=$(comp 1 gonghui "")
[ -n "$CMDS" ] || fail "no commands completed"
ALL=""
for c in $CMDS; do
  ALL="$ALL $c"
  for sub in $(comp 2 gonghui "$c" "" | grep -v '^@' | grep -v '=$'); do
    "$G" help "$c" "$sub" >/dev/null 2>&1 && ALL="$ALL $c:$sub"
  done
done
n=0
for cs in $ALL; do
  words=$(echo "$cs" | tr ':' ' ')
  # shellcheck disable=SC2086
  "$G" help $words >"$S/page" 2>"$S/err" || fail "gonghui help $words: exit $?"
  # shellcheck disable=SC2086
  "$G" $words --help >"$S/page2" 2>"$S/err"
  cmp -s "$S/page" "$S/page2" || fail "gonghui $words --help differs from gonghui help $words"
  grep -q "^\.SS \"gonghui $words" "$S/man" || fail "man page: no section for gonghui $words"
  # the options of this entry: the lines of its own block (up to the next 'gonghui ' line)
  awk -v want="gonghui $words" 'index($0, want) == 1 && substr($0, length(want) + 1) ~ /^( \[| [A-Z]|$)/ { on = 1; next }
      /^gonghui / { on = 0 } on' "$S/page" |
    grep -oE '^  (-[a-z], )?--[a-z-]+' | sed 's/.*\(--[a-z-]*\)$/\1/' | sort -u >"$S/opts"
  # shellcheck disable=SC2086
  nw=$(echo $words | wc -w)
  # shellcheck disable=SC2086
  comp $((nw + 1)) gonghui $words -- | grep -vxF -f "$S/globals" | sort -u >"$S/copts"
  if ! cmp -s "$S/opts" "$S/copts"; then
    fail "gonghui $words: help lists [$(tr '\n' ' ' <"$S/opts")] but completion offers [$(tr '\n' ' ' <"$S/copts")]"
  fi
  while read -r o; do
    esc=$(echo "$o" | sed 's/-/\\\\-/g')
    grep -q -- "$esc" "$S/man" || fail "man page: gonghui $words: option $o missing"
  done <"$S/opts"
  n=$((n + 1))
done
[ "$n" -ge 15 ] && pass "help, man page and completion agree for $n commands" ||
  fail "only $n commands checked"

# the global options appear in each
[ "$(wc -l <"$S/globals")" -ge 4 ] || fail "the options of every command: $(cat "$S/globals")"
for o in $(cat "$S/globals"); do
  grep -q -- "$o" "$S/overview" || fail "overview: $o missing"
  grep -q -- "$(echo "$o" | sed 's/-/\\\\-/g')" "$S/man" || fail "man page: $o missing"
  comp 1 gonghui -- | grep -qx -- "$o" || fail "completion: $o missing"
done

# one parser: the options the pages list work, unknown ones are refused by every command
gh --db "$S/db" run -e "db.define('people', { key = 'id', fields = { id = 'int' } })"
expect_rc 0 "make a database"
gh --db "$S/db" runs --limit 1
expect_rc 0 "runs --limit 1" && gh --db "$S/db" runs --limit=1 && expect_rc 0 "runs --limit=1" &&
  gh --db "$S/db" runs -n 1 && expect_rc 0 "runs -n 1" && pass "runs --limit N, --limit=N and -n N"
for c in run runs check stat backup import export repl "events tail" "events consumers" help; do
  # shellcheck disable=SC2086
  gh --db "$S/db" $c --no-such-option
  expect_rc 2 "$c --no-such-option" && expect_err "unknown option --no-such-option" "$c: unknown option" &&
    expect_err "gonghui help $c" "$c: points at its page"
done
pass "every command refuses an unknown option the same way"
gh --db "$S/db" runs --limit
expect_rc 2 "runs --limit without a value" && expect_err "needs a value" "--limit without its value"
gh --db "$S/db" check --db "$S/db"
expect_rc 0 "--db after the command"

# collection names and a script's parameters complete
comp 4 gonghui --db "$S/db" import "" >"$S/out"
grep -qx people "$S/out" && pass "import completes collection names" || fail "import: no collection names: $(cat "$S/out")"
printf 'print(params.year, params["station"])\n' >"$S/p.lua"
comp 3 gonghui run "$S/p.lua" "" >"$S/out"
grep -qx 'year=' "$S/out" && grep -qx 'station=' "$S/out" && pass "run completes a script's parameters" ||
  fail "run: parameters: $(cat "$S/out")"
comp 2 gonghui run gift_drive/cl >"$S/out"
grep -qx gift_drive/claim.lua "$S/out" && grep -qx @lua "$S/out" &&
  pass "run completes the installed programs by name, and .lua files" ||
  fail "run: programs: $(cat "$S/out")"
comp 3 gonghui export --format "" >"$S/out"
grep -qx xlsx "$S/out" && pass "an option's values complete" || fail "export --format: $(cat "$S/out")"

# the bash script, driven as bash would
if command -v bash >/dev/null 2>&1; then
  out=$(PATH="$(dirname "$G"):$PATH" bash -c '
    . "$1/dist/completion/gonghui.bash"
    COMP_WORDS=(gonghui runs --l); COMP_CWORD=2; _gonghui; echo "${COMPREPLY[*]}"
    COMP_WORDS=(gonghui ev); COMP_CWORD=1; _gonghui; echo "${COMPREPLY[*]}"' _ "$SRC" 2>&1)
  case $out in
    *--limit*events*) pass "the bash completion script completes options and commands" ;;
    *) fail "bash completion: $out" ;;
  esac
fi
if command -v zsh >/dev/null 2>&1; then
  zsh -n "$SRC/dist/completion/_gonghui" 2>"$S/err" && pass "the zsh completion parses" ||
    fail "zsh -n _gonghui: $(cat "$S/err")"
fi
finish
