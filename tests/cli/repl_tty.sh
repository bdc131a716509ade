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
EOF2
gh --db "$S/db" run "$S/data.lua"
expect_rc 0 "making the data" || finish

SOCK="$S/tmux.sock"
T="tmux -S $SOCK"
export XDG_STATE_HOME="$S/state"
$T new-session -d -s r -x 150 -y 40 "LANG=C.UTF-8 '$BIN' --db '$S/db' repl" || { fail "tmux did not start"; finish; }
trap '$T kill-server 2>/dev/null' EXIT

# waits up to 5 s for TEXT (fixed string) in the pane of session $1
wait_for_in() {
  i=0
  while [ $i -lt 50 ]; do
    $T capture-pane -t "$1" -p >"$S/pane" 2>/dev/null
    grep -qF -- "$2" "$S/pane" && return 0
    sleep 0.1
    i=$((i + 1))
  done
  return 1
}

# waits up to 5 s for TEXT (fixed string) in the pane
wait_for() {
  i=0
  while [ $i -lt 50 ]; do
    $T capture-pane -t r -p >"$S/pane" 2>/dev/null
    grep -qF -- "$1" "$S/pane" && return 0
    sleep 0.1
    i=$((i + 1))
  done
  return 1
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
sleep 0.5
$T send-keys -t r "'你好' .. '，工会'" Enter
if wait_for "你好，工会"; then
  pass "Chinese typed at the prompt comes back whole"
else
  fail "Chinese input did not round-trip: $(tail -4 "$S/pane")"
fi
$T capture-pane -t r -p >"$S/pane"
grep -qx "6" "$S/pane" && pass "a statement over several lines runs when it is complete" ||
  fail "the multi-line for loop did not give 6: $(tail -8 "$S/pane")"

$T send-keys -t r 'while true do end' Enter
sleep 1
$T send-keys -t r C-c
if wait_for "interrupted"; then
  $T send-keys -t r '40 + 2' Enter
  wait_for "42" && pass "Ctrl-C ends a runaway statement and the prompt goes on" ||
    fail "after Ctrl-C the REPL did not evaluate the next line: $(tail -4 "$S/pane")"
else
  fail "Ctrl-C did not interrupt the loop: $(tail -4 "$S/pane")"
fi

$T send-keys -t r C-d
sleep 0.5
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
sleep 0.5
$T capture-pane -t i -p >"$S/pane"
grep -qx "4" "$S/pane" && pass "run -i sees the script's writes" ||
  fail "run -i: the script's insert is not there: $(tail -5 "$S/pane")"
$T send-keys -t i C-d
sleep 0.5
if [ -f "$H" ]; then
  grep -q "while" "$H" && pass "history is saved" || fail "history lacks the statements: $(cat "$H")"
  mode=$(stat -c %a "$H")
  [ "$mode" = 600 ] && pass "history is mode 0600" || fail "history is mode $mode, not 600"
else
  fail "no history file at $H"
fi
finish
