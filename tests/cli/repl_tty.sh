#!/bin/sh
# repl_tty.sh BINARY SCRATCH — the REPL on a real terminal (a tmux pane):
# tab completion of collections and methods, a CJK table, Ctrl-C ending a
# runaway statement and returning to the prompt, history saved with mode
# 0600, continuation lines, Chinese input, init.lua, and `gonghui run -i`
# opening the REPL on the script's own state.
# Skipped (exit 0 with a note) where tmux is not installed.
. "$(dirname "$0")/lib.sh"
setup "$@"

if ! command -v tmux >/dev/null 2>&1; then
  echo "repl_tty: tmux is not installed; the terminal checks are skipped" >&2
  exit 0
fi

lua data.lua <<'EOF2'
db.define('members', { key = 'member_id', fields = { member_id = 'int', name = 'string', town = 'string' } })
db.atomic(function()
  db.members:insert{ member_id = 1, name = '张三', town = '沈家门街道' }
  db.members:insert{ member_id = 2, name = '李四', town = '新碶街道' }
  db.members:insert{ member_id = 3, name = 'Wang', town = '新碶街道' }
end)
db.define('会员卡', { key = 'id', fields = { id = 'int' } })
EOF2
gh --db "$S/db" run "$S/data.lua"
expect_rc 0 "making the data" || finish

SOCK="$S/tmux.sock"
T="tmux -S $SOCK"
export XDG_STATE_HOME="$S/state"
$T new-session -d -s r -x 150 -y 40 "LANG=C.UTF-8 '$BIN' --db '$S/db' repl" || { fail "tmux did not start"; finish; }
trap '$T kill-server 2>/dev/null' EXIT

# Every wait is for something on the screen (or the session's end), never
# a fixed time; 300 s is only a backstop for a REPL that hangs.
# wait_grep SESSION GREP-OPTIONS TEXT: until the pane of SESSION matches
wait_grep() {
  _t=$(date +%s)
  while [ $(($(date +%s) - _t)) -lt 300 ]; do
    $T capture-pane -t "$1" -p >"$S/pane" 2>/dev/null
    grep -q"$2" -- "$3" "$S/pane" && return 0
    sleep 0.05
  done
  return 1
}
# waits for TEXT (fixed string) in the pane of session $1
wait_for_in() {
  wait_grep "$1" F "$2"
}
# waits for TEXT (fixed string) in the pane
wait_for() {
  wait_grep r F "$1"
}
# waits until session $1 has ended (its REPL exited)
wait_gone() {
  _t=$(date +%s)
  while $T has-session -t "$1" 2>/dev/null; do
    [ $(($(date +%s) - _t)) -lt 300 ] || return 1
    sleep 0.05
  done
}

wait_for "gonghui>" || fail "no prompt on the terminal"

$T send-keys -t r 'db.mem' Tab
if wait_for "gonghui> db.members"; then
  pass "tab completes a collection name"
else
  fail "tab did not complete db.mem to db.members: $(tail -3 "$S/pane")"
fi
$T send-keys -t r ':cou' Tab
if wait_for "gonghui> db.members:count"; then
  pass "tab completes a method"
else
  fail "tab did not complete :cou to :count: $(tail -3 "$S/pane")"
fi
$T send-keys -t r C-u 'db.会' Tab
if wait_for "gonghui> db['会员卡']"; then
  pass "tab completes a Chinese collection name as db['会员卡'], which Lua can parse"
else
  fail "tab did not complete db.会 to db['会员卡']: $(tail -3 "$S/pane")"
fi
$T send-keys -t r ':cou' Tab
if wait_for "gonghui> db['会员卡']:count"; then
  pass "and its methods after the brackets"
else
  fail "tab did not complete db['会员卡']:cou: $(tail -3 "$S/pane")"
fi
$T send-keys -t r C-u "db['会员卡']:where{ i" Tab
if wait_for "gonghui> db['会员卡']:where{ id"; then
  pass "and its field names inside the braces"
else
  fail "tab did not complete a field of db['会员卡']: $(tail -3 "$S/pane")"
fi
$T send-keys -t r C-u 'string.re' Tab Tab
if wait_for "rep" && grep -q "reverse" "$S/pane"; then
  pass "tab completes after string."
else
  fail "tab lists nothing after string.re: $(tail -3 "$S/pane")"
fi
$T send-keys -t r C-u 'db.members:list()' Enter
if wait_for "(3 rows)"; then
  # every line of the box has the same display width (wide CJK counts 2)
  cols=$(grep -E "^[│┌├└]" "$S/pane" | while IFS= read -r l; do
           printf '%s\n' "$l" | LC_ALL=C.UTF-8 wc -L; done | sort -u | wc -l)
  [ "$cols" -eq 1 ] && pass "a table of Chinese text lines up" ||
    fail "the rows of the table are of different widths: $(cat "$S/pane")"
else
  fail "list() printed no table: $(tail -8 "$S/pane")"
fi

# continuation lines, and Chinese typed at the prompt
$T send-keys -t r 'total = 0' Enter 'for i = 1, 3 do' Enter 'total = total + i' Enter 'end; return total' Enter
wait_grep r x 6
$T send-keys -t r "'你好' .. '，工会'" Enter
if wait_for "你好，工会"; then
  pass "Chinese typed at the prompt comes back whole"
else
  fail "Chinese input did not round-trip: $(tail -4 "$S/pane")"
fi
$T capture-pane -t r -p >"$S/pane"
grep -qx "6" "$S/pane" && pass "a statement over several lines runs when it is complete" ||
  fail "the multi-line for loop did not give 6: $(tail -8 "$S/pane")"

# Ctrl-C once the loop runs (it says so first), not while the line is still
# being read
$T send-keys -t r "print('spin' .. 'ning') while true do end" Enter
wait_for "spinning" || fail "the runaway statement did not start: $(tail -4 "$S/pane")"
$T send-keys -t r C-c
if wait_for "interrupted"; then
  $T send-keys -t r '40 + 2' Enter
  wait_for "42" && pass "Ctrl-C ends a runaway statement and the prompt goes on" ||
    fail "after Ctrl-C the REPL did not evaluate the next line: $(tail -4 "$S/pane")"
else
  fail "Ctrl-C did not interrupt the loop: $(tail -4 "$S/pane")"
fi

$T send-keys -t r C-d
wait_gone r || fail "the REPL did not end on Ctrl-D"
H="$S/state/gonghui/history"

# --- $XDG_CONFIG_HOME/gonghui/init.lua runs at start ---------------------------------------
mkdir -p "$S/config/gonghui"
echo 'greet = function(n) return "欢迎 " .. n end' >"$S/config/gonghui/init.lua"
printf 'return greet("李四")\n' | XDG_CONFIG_HOME="$S/config" "$BIN" --db "$S/db" repl >"$S/out" 2>"$S/err"
grep -q "欢迎 李四" "$S/out" && pass "init.lua runs before the first statement" ||
  fail "init.lua was not run: $(cat "$S/out" "$S/err")"

# --- gonghui run -i: the REPL on the script's own state ----------------------------------
lua inter.lua <<'EOF2'
greeting = 'hello ' .. params.who
db.members:insert{ member_id = 9, name = '王五', town = '新碶街道' }
EOF2
$T new-session -d -s i -x 150 -y 40 "LANG=C.UTF-8 '$BIN' --db '$S/db' run -i '$S/inter.lua' who=clerk"
$T send-keys -t i 'greeting .. "!"' Enter
if wait_for_in i "hello clerk!"; then
  pass "run -i keeps the script's globals and params at the prompt"
else
  fail "run -i: no prompt with the script's state: $(tail -5 "$S/pane")"
fi
$T send-keys -t i 'db.members:count()' Enter
wait_grep i x 4 && pass "run -i sees the script's writes" ||
  fail "run -i: the script's insert is not there: $(tail -5 "$S/pane")"
$T send-keys -t i C-d
wait_gone i || fail "run -i did not end on Ctrl-D"
if [ -f "$H" ]; then
  grep -q "while" "$H" && pass "history is saved" || fail "history lacks the statements: $(cat "$H")"
  mode=$(stat -c %a "$H")
  [ "$mode" = 600 ] && pass "history is mode 0600" || fail "history is mode $mode, not 600"
else
  fail "no history file at $H"
fi
finish
