# tests/cli/bench_w7.sh — W7 of bench/programs.sh at a small N: the gift
# drive's grant through the framework issues one package to exactly the
# members the drive's rule selects, and bench/w7_gift_drive.lua verify=1
# (run untimed by programs.sh) accepts that and refuses a ledger with one
# package missing. It checks the answers, not the speed.
#
#   sh tests/cli/bench_w7.sh BINARY SCRATCH
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
. "$ROOT/tests/cli/lib.sh"
setup "$@"
W7=$ROOT/bench/w7_gift_drive.lua
DRIVE=$ROOT/scripts/gift_drive/drive.lua
export GONGHUI_LIB=$ROOT/scripts/lib

gh --db reg --new-db run "$ROOT/scripts/sample_data.lua" members=3000 seed=7
expect_rc 0 "the sample registry of 3,000 members"
lua count.lua <<'EOF2'
print(('eligible %d'):format(db.members:count{ status = 'active',
  category = { 'sanitation', 'courier', 'gig_delivery', 'construction', 'driver' } }))
EOF2
gh --db reg run count.lua
N=$(sed -n 's/^eligible \([0-9]*\)$/\1/p' out)
[ "${N:-0}" -gt 0 ] || fail "the sample registry has no eligible member"

gh --db reg run --in "$ROOT/scripts/gift_drive" "$W7" drive="$DRIVE"
expect_rc 0 "w7_gift_drive.lua"
expect_out "W7 issued=$N eligible=$N" "W7 issues one package to each of the $N eligible"
gh --db reg run --in "$ROOT/scripts/gift_drive" "$W7" drive="$DRIVE" verify=1
expect_rc 0 "w7_gift_drive.lua verify=1 after the run"
expect_out "W7 verified $N" "verify=1 finds the $N packages, each eligible member once"

# a package taken out of the ledger: verify names the member who got nothing
lua drop.lua <<'EOF2'
db.atomic(function()
  for e in db.program_entries:scan{ limit = 1 } do db.program_entries:delete(e.entry_id); print('dropped ' .. e.member_id) end
end)
EOF2
gh --db reg run drop.lua
M=$(sed -n 's/^dropped \([0-9]*\)$/\1/p' out)
gh --db reg run --in "$ROOT/scripts/gift_drive" "$W7" drive="$DRIVE" verify=1
[ "$RC" -ne 0 ] || fail "verify=1 passed a ledger with a package missing"
expect_err "eligible member $M got nothing" "verify=1 names the member without a package"
finish
