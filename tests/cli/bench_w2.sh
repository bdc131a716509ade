# tests/cli/bench_w2.sh — W2 of the benchmarks (bench/) at a small N: every
# form of the campaign awards exactly the members the rule selects, with the
# right totals, as the C baseline and SQLite do at every N (bench/run.sh
# checks them against each other there; this checks the answers, not the
# speed). The members are made here (awk, deterministic), in the shape of
# ../shared/tools/gen_members.py's.
#
#   sh tests/cli/bench_w2.sh BINARY SCRATCH
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
. "$ROOT/tests/cli/lib.sh"
setup "$@"
B=$ROOT/bench
N=2000

awk -v n=$N 'BEGIN {
  split("factory gig_delivery courier sanitation construction driver office teacher medical retiree", cat, " ")
  split("active active active retired left", st, " ")
  split("江南街道 城东镇 西湖街道 北山镇", town, " ")
  print "member_id,name,id_number,phone,gender,birth_date,enterprise_id,town,category,join_date,status,retire_date"
  for (i = 1; i <= n; i++) {
    s = st[(i * 7) % 5 + 1]
    printf "%d,张%d,3307021975%08d,138%08d,%s,1975-01-%02d,%d,%s,%s,2015-05-23,%s,%s\n",
      i, i, i, i, (i % 2 ? "M" : "F"), i % 28 + 1, i % 10 + 1, town[i % 4 + 1],
      cat[(i * 3) % 10 + 1], s, (s == "retired" ? "2024-01-01" : "")
  }
}' >members.csv
# the rule, counted from the file: outdoor categories and active
EXPECT=$(awk -F, 'NR > 1 && $11 == "active" && ($9 == "gig_delivery" || $9 == "courier" ||
  $9 == "sanitation" || $9 == "construction" || $9 == "driver") { n++ } END { print n + 0 }' members.csv)
[ "$EXPECT" -gt 0 ] || fail "the generated members select nobody"

gh --db pristine run "$B/load_members.lua" csv=members.csv
expect_rc 0 "loading $N members"
expect_out "loaded $N members" "loading $N members"

lua total.lua <<'EOF'
local prog = params.form == 'w2_program' or params.form == 'w2_program_loop'
local coll = prog and db.program_entries or db.awards
local field = prog and 'fen' or 'amount_fen'
local n, fen = 0, 0
for r in coll:scan() do n = n + 1; fen = fen + r[field] end
print(('total %d %d'):format(n, fen))
EOF

# (w2_campaign_loop: the loop of prepared inserts; w2_program_loop: grant_all's
# Lua loop, w2_program.lua loop=1; w2_campaign_fast and w2_program: insert_select)
for form in w2_campaign w2_campaign_loop w2_campaign_fast w2_program w2_program_loop; do
  f=$form x=
  [ "$form" != w2_program_loop ] || { f=w2_program x=loop=1; }
  rm -rf "$form"
  cp -a pristine "$form"
  GONGHUI_LIB=$ROOT/scripts/lib gh --db "$form" run "$B/$f.lua" expect="$EXPECT" $x
  expect_rc 0 "$form.lua"
  expect_out "awarded $EXPECT" "$form.lua awards the $EXPECT members the rule selects"
  gh --db "$form" run "$B/verify_w2.lua" expect="$EXPECT" form="$form"
  expect_rc 0 "$form: verify_w2.lua (one award and one event per member, each eligible)"
  gh --db "$form" run total.lua form="$form"
  expect_out "total $EXPECT $((EXPECT * 20000))" "$form: $EXPECT awards of 20000 fen"
  # a wrong expectation stores nothing
  rm -rf "$form.bad"
  cp -a pristine "$form.bad"
  GONGHUI_LIB=$ROOT/scripts/lib gh --db "$form.bad" run "$B/$f.lua" expect=$((EXPECT + 1)) $x
  [ "$RC" -ne 0 ] || fail "$form.lua with a wrong expect= succeeded"
done

# insert_select and the loops it replaced store the same: records and events
# (the run's id aside)
lua dump.lua <<'EOF'
local prog = params.form:match('^w2_program')
local coll = prog and db.program_entries or db.awards
for r in coll:scan() do
  local x = r:totable()
  x.run, x.run_n = nil, nil
  local keys = {}
  for k in pairs(x) do keys[#keys + 1] = k end
  table.sort(keys)
  local out = {}
  for _, k in ipairs(keys) do out[#out + 1] = k .. '=' .. tostring(x[k]) end
  print(table.concat(out, ' '))
end
for _, ev in ipairs(bus.events{ from = 1, limit = 100000 }) do
  local p = ev.payload
  if type(p) == 'table' then
    local out = {}
    for i, v in ipairs(p) do out[i] = tostring(v) end
    p = '{' .. table.concat(out, ',') .. '}'
  end
  print(ev.topic, tostring(p))
end
EOF
for pair in "w2_campaign_loop w2_campaign_fast" "w2_program_loop w2_program"; do
  set -- $pair
  gh --db "$1" run dump.lua form="$1"; cp "$S/out" "$1.dump"
  gh --db "$2" run dump.lua form="$2"; cp "$S/out" "$2.dump"
  cmp -s "$1.dump" "$2.dump" || fail "$1 and $2 store different records or events: $(diff "$1.dump" "$2.dump" | head -5)"
done

# SQLite, when installed, answers the same (bench/run.sh's question)
if command -v sqlite3 >/dev/null; then
  sqlite3 sq.db "CREATE TABLE members(member_id INTEGER PRIMARY KEY, name TEXT, id_number TEXT UNIQUE,
    phone TEXT, gender TEXT, birth_date TEXT, enterprise_id INTEGER, town TEXT, category TEXT,
    join_date TEXT, status TEXT, retire_date TEXT);" ".import --csv --skip 1 members.csv members" \
    "SELECT count(*) FROM members WHERE category IN ('gig_delivery', 'courier', 'sanitation',
      'construction', 'driver') AND status = 'active';" >sq.out 2>&1
  [ "$(cat sq.out)" = "$EXPECT" ] || fail "SQLite selects $(cat sq.out), gonghui $EXPECT"
fi
finish
