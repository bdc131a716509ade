#!/bin/sh
# ticket.sh BINARY SCRATCH — the README chapter "A new campaign in one page"
# runs as written: its plan is scripts/ticket/plan.lua byte for byte (and
# with its rules at most 60 lines), its commands run in order with the
# outputs it shows, its figures appear in the year report; then two
# processes entering receipt sheets at once never pay past the budget, a
# dry run writes no file, and a re-entered sheet pays nothing twice.
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
. "$(dirname "$0")/lib.sh"
setup "$@"

# ---- the chapter, as written ----------------------------------------------------------
python3 - "$ROOT/README.md" "$S" <<'PY' || { fail "extracting the chapter"; finish; }
import sys, re, os
text = open(sys.argv[1], encoding='utf-8').read()
out = sys.argv[2]
start = text.index('\n## A new campaign in one page\n')
end = text.index('\n## ', start + 5)
ch = text[start:end]
blocks = re.findall(r'```(\w+)\n(.*?)```', ch, re.S)
plan = [b for k, b in blocks if k == 'lua'][0]
open(os.path.join(out, 'plan.readme.lua'), 'w', encoding='utf-8').write(plan)
csv = [b for k, b in blocks if k == 'csv'][0]
open(os.path.join(out, 'receipts.csv'), 'w', encoding='utf-8').write(csv)
# steps: each sh block's commands, with the text block after it (if any) as the expected output
steps, i = [], 0
while i < len(blocks):
    k, b = blocks[i]
    if k == 'sh':
        want = blocks[i + 1][1] if i + 1 < len(blocks) and blocks[i + 1][0] == 'text' else ''
        steps.append(([l for l in b.splitlines() if l.startswith('gonghui ')], want))
    i += 1
with open(os.path.join(out, 'steps.txt'), 'w', encoding='utf-8') as f:
    for n, (cmds, want) in enumerate(steps):
        open(os.path.join(out, 'want%d.txt' % n), 'w', encoding='utf-8').write(want)
        for c in cmds:
            f.write('%d\t%s\n' % (n, c))
PY

if cmp -s "$S/plan.readme.lua" "$ROOT/scripts/ticket/plan.lua"; then
  pass "the README's plan is scripts/ticket/plan.lua"
else
  fail "the README's plan differs from scripts/ticket/plan.lua"
fi
lines=$(wc -l <"$ROOT/scripts/ticket/plan.lua")
[ "$lines" -le 60 ] && pass "plan and rules: $lines lines" || fail "plan and rules take $lines lines (> 60)"

# Runs each command of the chapter from the scratch folder (scripts/ means the
# repository's); a step's output must contain the shown lines in order ('...' skips).
n_steps=0
while IFS="$(printf '\t')" read -r step cmd; do
  rest=${cmd#gonghui }
  # shellcheck disable=SC2086 # the README's words, split as a shell would (no quotes with spaces but --now's)
  eval "set -- $rest"
  args=""
  for a in "$@"; do
    case $a in scripts/*) a=$ROOT/$a ;; esac
    args="$args $(printf '%s' "$a" | sed "s/'/'\\\\''/g; s/^/'/; s/\$/'/")"
  done
  eval "\"\$BIN\" $args" >>"$S/got$step.txt" 2>>"$S/err$step.txt"
  rc=$?
  case $cmd in
    *enter=receipts.csv*) [ "$rc" -eq 1 ] || fail "'$cmd': exit code $rc, expected 1 (rows refused)" ;;
    *) [ "$rc" -eq 0 ] || { fail "'$cmd': exit code $rc"; cat "$S/err$step.txt" >&2; } ;;
  esac
  n_steps=$((n_steps + 1))
done <"$S/steps.txt"
[ "$n_steps" -ge 6 ] && pass "ran the chapter's $n_steps commands" || fail "only $n_steps commands found"

python3 - "$S" <<'PY' && pass "every output is as the chapter shows it" || fail "an output differs from the chapter"
import sys, os, glob
s = sys.argv[1]
bad = 0
for w in sorted(glob.glob(os.path.join(s, 'want*.txt'))):
    n = w[len(os.path.join(s, 'want')):-4]
    want = [l for l in open(w, encoding='utf-8').read().splitlines() if l.strip()]
    got = open(os.path.join(s, 'got%s.txt' % n), encoding='utf-8').read().splitlines()
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

DB=$S/ticket.db
[ -f "$S/receipts.refusals.csv" ] && pass "the refusals file is written" || fail "no receipts.refusals.csv"
grep -q 'receipts.csv,7,bad_input' "$S/receipts.refusals.csv" && pass "refusals name file and line" || fail "refusals file lacks line 7"

# the year report's figures are the program's (444.00 yuan, 4 人次, 2 人)
gh --db "$DB" run "$ROOT/scripts/year_report/report.lua" year=2026
expect_rc 0 "year report" && expect_out "2026年返岗车票补贴         0             2                    4                       2         444.00" "the program's row in the year report"

# entering again pays nothing twice; a dry run writes no file
rm -f "$S/receipts.refusals.csv"
gh --db "$DB" run --dry-run "$ROOT/scripts/ticket/ticket.lua" enter=receipts.csv
expect_out "0 entered, 4 already entered, 4 refused; 0.00 yuan" "re-entry in a dry run" && expect_out "dry run: the 1 file(s) the script wrote are in the throw-away folder" "the dry run says where its file went"
[ -f "$S/receipts.refusals.csv" ] && fail "a dry run wrote receipts.refusals.csv" || pass "a dry run writes no file where the user keeps them"
tmpd=$(sed -n 's/.*throw-away folder \(.*\)$/\1/p' "$S/out")
[ -n "$tmpd" ] && rm -rf "$tmpd"
gh --db "$DB" run --dry-run "$ROOT/scripts/ticket/ticket.lua" list=1 csv=dry.csv
expect_rc 0 "a dry run's public list" && expect_out "dry run: the 1 file(s) the script wrote are in the throw-away folder" "the throw-away folder is named"
[ -f "$S/dry.csv" ] && fail "a dry run wrote dry.csv into the current folder" || pass "a dry run writes only into a throw-away folder"
tmpd=$(sed -n 's/.*throw-away folder \(.*\)$/\1/p' "$S/out")
[ -n "$tmpd" ] && [ -f "$tmpd/dry.csv" ] && pass "the file is in $tmpd" && rm -rf "$tmpd"
gh --db "$DB" run "$ROOT/scripts/ticket/ticket.lua" enter=receipts.csv
expect_rc 1 "re-entry" && expect_out "0 entered, 4 already entered, 4 refused; 0.00 yuan" "re-entry pays nothing twice"

# one receipt at a counter, from parameters named as the plan's fields (the card-like
# ticket number keeps its text); a bad one names the parameter and its label
gh --db "$DB" run --now '2026-03-05 11:00' "$ROOT/scripts/ticket/ticket.lua" claim=1 id_number=330212197102150953 key=007 fare=100 day=2026-02-20
expect_rc 0 "a claim" && expect_out "entered: entry 5, 返岗车票补贴 50.00 yuan" "a claim by parameters"
gh --db "$DB" run "$ROOT/scripts/ticket/ticket.lua" check=1
gh --db "$DB" run -e "print(db.program_entries:find('program,key', { 'ticket-2026', '007' }).fen)"
expect_out "5000" "the key 007 kept its text"
gh --db "$DB" run "$ROOT/scripts/ticket/ticket.lua" claim=1 id_number=330212197102150953 key=X1 fare=1.234 day=2026-02-20
expect_rc 1 "a bad fare" && expect_err "票价" "the label is named" && no_err "traceback" "no traceback"
gh --db "$DB" run "$ROOT/scripts/ticket/ticket.lua" reverse=5 reason=测试
expect_rc 0 "reversing the claim"

# a correction, then the ledger still agrees with its totals
gh --db "$DB" run "$ROOT/scripts/ticket/ticket.lua" reverse=3 reason=票据重复
expect_rc 0 "reverse" && expect_out "entry 7 reverses entry 3 (-23.25 yuan)" "the reversal"
gh --db "$DB" run "$ROOT/scripts/ticket/ticket.lua" check=1
expect_rc 0 "check after the reversal"

# a plan error names the file and the key; nothing is stored
mkdir -p "$S/bad"
sed 's/per = .member., max_fen = 40000/per = '"'"'week'"'"', max_fen = 40000/' "$ROOT/scripts/ticket/plan.lua" >"$S/bad/plan.lua"
echo "require('program').main('plan')" >"$S/bad/ticket.lua"
gh --db "$DB" run "$S/bad/ticket.lua" setup=1
expect_rc 1 "a bad plan" && expect_err "plan.lua: key 'limits[2].per': 'week' is not one of" "the message names file and key"
no_err "traceback" "no traceback for a plan error"

# ---- two processes at once never pass the budget ----------------------------------------
# 300 members with two 400-yuan tickets each (200 yuan paid a ticket): 600
# tickets, 120,000 yuan asked of a 100,000-yuan budget; A and B enter half each.
DB2=$S/race.db
gh --db "$DB2" run "$ROOT/scripts/sample_data.lua" members=1200 seed=7
expect_rc 0 "sample data for the race" || finish
mkdir -p "$S/race"
cp "$ROOT/scripts/ticket/plan.lua" "$S/race/plan.lua"
lua race/sheets.lua <<'LUA'
local program = require 'program'
local P = program.load('plan')
local a, b = { { '身份证号', '车票号', '票价', '乘车日期' } }, { { '身份证号', '车票号', '票价', '乘车日期' } }
local n = 0
for m in P:members() do
  n = n + 1
  if n > 300 then break end
  local sheet = n % 2 == 0 and a or b
  for j = 1, 2 do sheet[#sheet + 1] = { m.id_number, string.format('T%05d-%d', n, j), '400', '2026-02-10' } end
end
if n < 300 then error('only ' .. n .. ' eligible members') end
for name, rows in pairs{ ['a.csv'] = a, ['b.csv'] = b } do
  local f = run.open(name, 'w'); run.write_csv(f, rows); f:close()
end
LUA
lua race/enter.lua <<'LUA'
-- waits for the go file, so the two processes enter at the same time
local t0 = os.clock()
while not io.open(params.go) do
  if os.clock() - t0 > 30 then error('no go file') end
end
require('program').main('plan', 'enter')
LUA
gh --db "$DB2" run "$S/race/sheets.lua"
expect_rc 0 "making the two sheets" || finish
"$BIN" --db "$DB2" run "$S/race/enter.lua" enter=a.csv go="$S/go" >"$S/a.out" 2>"$S/a.err" &
A=$!; track $A
"$BIN" --db "$DB2" run "$S/race/enter.lua" enter=b.csv go="$S/go" >"$S/b.out" 2>"$S/b.err" &
B=$!; track $B
sleep 0.5
touch "$S/go"
reap $A; RA=$?
reap $B; RB=$?
# each process exits 1: some of its rows meet the spent budget
pass "A: $(grep "rows:" "$S/a.out") (exit $RA)"
pass "B: $(grep "rows:" "$S/b.out") (exit $RB)"
lua race/verify.lua <<'LUA'
local program = require 'program'
local P = program.open('ticket-2026')
local paid, n = 0, 0
for e in db.program_entries:scan{ program = 'ticket-2026' } do paid = paid + e.fen; n = n + 1 end
local ok, problems = P:check()
print(string.format('paid=%d entries=%d events=%d ok=%s %s', paid, n,
  #bus.events{ topic = 'program.entry', limit = 100000 }, tostring(ok), table.concat(problems, '; ')))
LUA
gh --db "$DB2" run "$S/race/verify.lua"
expect_rc 0 "verifying the race"
expect_out "paid=10000000 entries=500 events=500 ok=true" "the budget is spent exactly, never passed; totals agree"
refused=$(cat "$S/a.out" "$S/b.out" | grep -c '(budget)')
[ "$refused" -eq 100 ] && pass "100 tickets refused for the budget" || { fail "$refused tickets refused for the budget, expected 100"; cat "$S/a.out" "$S/b.out" | tail -5 >&2; }

finish
