-- verify.lua — the ledger of the serve tests' gift drive as lines a test
-- reads: "award MEMBER_ID ENTRY_ID PLACE KIND" and "stock PLACE KIND ISSUED"
-- (params.program: the drive, default test-drive).
local program = params.program or 'test-drive'
for e in db.program_entries:scan{ index = 'program,kind', eq = { program } } do
  if not e.reverses then
    print(string.format('award %d %d %s %s', e.member_id, e.entry_id, e.place, e.kind))
  end
end
for t in db.program_totals:scan{ program = program } do
  local kind, place = t.tkey:match('|quota:([^|]+)|(.+)$')
  if kind then print(string.format('stock %s %s %d', place, kind, t.qty)) end
end
