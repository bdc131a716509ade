#!/bin/sh
# ledger_v1.sh BINARY SCRATCH — the ledger's entry format 2 (issue 13; program.lua,
# program/migrate.lua): a ledger written before it (ledger_v1/, made by 56b44ec's
# scripts/lib from mk.lua) reads exactly as 56b44ec read it (read.txt: every
# entry's time, run and household, the report, check, public list, year report)
# before and after its migration; a failed migration changes nothing; entries
# added after it are stored small and count with the old ones (limits per
# household and once per member, totals, check, year report, gonghui check).
. "$(dirname "$0")/lib.sh"
FX=$(cd "$(dirname "$0")/ledger_v1" && pwd)
setup "$@"

same_file() {
  if cmp -s "$1" "$2"; then pass "$3"; else fail "$3"; diff "$1" "$2" | head -20 >&2; fi
}
fresh() {
  rm -rf "$S/db"; mkdir -p "$S/db"
  gzip -dc "$FX/data.mdb.gz" >"$S/db/data.mdb" || { fail "unpacking the old database"; finish; }
}
cp "$FX/read.lua" "$S/read.lua"
lua format.lua <<'EOF2'
print('format ' .. require('program.migrate').ledger_format())
EOF2

# --- the old ledger, read by today's code, not migrated ---------------------------------------
fresh
gh --db "$S/db" run format.lua
expect_rc 0 "format" && expect_out "format 1" "an old ledger is format 1"
gh --db "$S/db" run read.lua
expect_rc 0 "read the old ledger" && same_file "$FX/read.txt" "$S/out" "format 1 reads as it did before (entries, report, check, public list, year report)"
gh --db "$S/db" run format.lua
expect_out "format 1" "reading migrates nothing"

# --- a migration that fails midway changes nothing ---------------------------------------------
fresh
lua killed.lua <<'EOF2'
db.atomic(function()
  local before, after = require('program.migrate').ledger()
  print(before, after)
  error('stopped midway')
end)
EOF2
gh --db "$S/db" run killed.lua
expect_rc 1 "a failed migration fails"
gh --db "$S/db" run format.lua
expect_out "format 1" "a failed migration leaves format 1"
gh --db "$S/db" check
expect_rc 0 "check after a failed migration"

# --- the migration, explicit: the same reading after it ------------------------------------------
lua migrate.lua <<'EOF2'
print('migrated', require('program.migrate').ledger())
print('again', require('program.migrate').ledger())
EOF2
gh --db "$S/db" run migrate.lua
expect_rc 0 "migrate" && expect_out "migrated	1	2" "the migration moves format 1 to 2" &&
  expect_out "again	2	2" "a second migration does nothing"
gh --db "$S/db" run read.lua
expect_rc 0 "read the migrated ledger" && same_file "$FX/read.txt" "$S/out" "format 2 reads the old entries as before"
gh --db "$S/db" check
expect_rc 0 "check after the migration"

# --- new entries beside the old: stored small, counted together -----------------------------------
lua add.lua <<'EOF2'
local program = require 'program'
local P = program.define(db.programs:get('old-drive').plan)   -- (define migrates)
local function show(e, code, why) print(e and ('entry ' .. e.entry_id) or ('refused ' .. code), why or '') end
-- H1 had 20,000 of its 50,000 (an old entry): 40,000 more would pass the household's limit
show(P:enter{ member = 2, kind = 'cash', fen = 40000, at = '2025-01-26 10:00:00', key = 'N1' })
-- member 3's household of one (old: stored 'm3') had 30,000: 30,000 more would pass
show(P:enter{ member = 3, kind = 'cash', fen = 30000, at = '2025-01-26 10:01:00', key = 'N2' })
-- member 7's household of one, new: not stored, and counted
show(P:enter{ member = 7, kind = 'cash', fen = 30000, at = '2025-01-26 10:02:00', key = 'N3' })
show(P:enter{ member = 7, kind = 'cash', fen = 30000, at = '2025-01-26 10:03:00', key = 'N4' })
-- a receipt entered before (old) is still 'already'
show(P:enter{ member = 1, kind = 'cash', fen = 100, at = '2025-01-26 10:04:00', key = 'R2' })
-- everyone has the gift (old entries): granted again, nobody
local c = P:grant_all('gift', { at = '2025-01-26 11:00:00' })
print('gift again', c.entered, c.already or c.limit or 0)
local r = P:reverse(21, '退回', { at = '2025-01-26 12:00:00' })
print('reversed old 21 by', r.entry_id, r.household, r.at)
local ok, problems = P:check()
print('check', ok, #problems)
for x in db.program_entries:scan() do
  if x.entry_id < 26 then goto next end
  local e = program.entry(x)
  print(x.entry_id, x.at, x.at_sec ~= nil, x.household, x.run, x.run_n ~= nil, '|', e.at, e.household, e.run == run.uid)
  ::next::
end
local t = P:report().total
print('total', t.person_times, t.persons, t.household_times, t.households, t.fen)
EOF2
gh --db "$S/db" run add.lua
expect_rc 0 "new entries" || finish
cat >"$S/add.expected" <<'EOF2'
refused limit	over a limit: limit 'household:cash:fen' (per household, cash, at most 500.00 yuan): 200.00 yuan given, this entry 400.00
refused limit	over a limit: limit 'household:cash:fen' (per household, cash, at most 500.00 yuan): 300.00 yuan given, this entry 300.00
entry 26	
refused limit	over a limit: limit 'household:cash:fen' (per household, cash, at most 500.00 yuan): 300.00 yuan given, this entry 300.00
refused already	already entered: R2 was entered at 2025-01-22 11:00:00 (entry 22)
gift again	0	10
reversed old 21 by	27	m3	2025-01-26 12:00:00
check	true	0
26	nil	true	nil	nil	true	|	2025-01-26 10:02:00	m7	true
27	nil	true	nil	nil	true	|	2025-01-26 12:00:00	m3	true
total	23	10	19	8	310000
EOF2
same_file "$S/add.expected" "$S/out" "new entries: limits per household and once per member across old and new, stored small, read whole"
gh --db "$S/db" check
expect_rc 0 "gonghui check after new entries"

# --- entries=FILE.csv (program/cli.lua): the ledger as entered, old and new alike ----------------
mkdir -p "$S/drive"
sed -n '/^local P = program.define{/,/^}/p' "$FX/mk.lua" | sed 's/^local P = program.define{/return {/' >"$S/drive/plan.lua"
echo "require('program').main('plan')" >"$S/drive/drive.lua"
gh --db "$S/db" run --out "$S" "$S/drive/drive.lua" entries=all.csv
expect_rc 0 "entries=all.csv" && expect_out "written: all.csv (27 entries)" "entries= writes every entry"
if grep -q '^1,gift,1,H1,1,20000,2025-01-20,2025-01-20 10:00:00,' "$S/all.csv" &&
   grep -q '^23,cash,4,H4,1,10000,2025-01-23,2025-01-23 08:15,' "$S/all.csv" &&
   grep -Eq '^26,cash,7,m7,1,30000,2025-01-26,2025-01-26 10:02:00,,N3,.*,[0-9a-f]{16}.?$' "$S/all.csv"; then
  pass "entries= shows time, household and run as text, old (format 1) and new (format 2) alike"
else
  fail "entries= CSV"; head -3 "$S/all.csv" >&2; grep '^2[36],' "$S/all.csv" >&2
fi

finish
