-- enter.lua — enters contestants: one by ID number, or a sheet of lines
-- `id_number[,bib]` (bib: the contestant number; default the next free one).
--
--   gonghui run scripts/contest/enter.lua contest=cnc-2025 id=330481199001081234 [bib=7]
--   gonghui run scripts/contest/enter.lua contest=cnc-2025 file=entries.csv
--
-- A contestant from the enterprise of one of the contest's judges is
-- refused. Entering someone twice does nothing.
local contest = require 'contest'
local registry = require 'registry'

contest.need({ 'contest' }, 'enter.lua contest=ID id=ID_NUMBER [bib=N] | file=SHEET.csv')
contest.define_collections()
local function show(e, st)
  return string.format(gettext('%s: bib %d, %s (%s)'), st, e.bib, db.members:get(e.member_id, 'name'),
                       registry.mask_id(db.members:get(e.member_id, 'id_number')))
end
if params.file then
  local done, refused
  local n = contest.sheet(params.file, function(cells, lineno)
    local bib = cells[2] and cells[2] ~= '' and (math.tointeger(tonumber(cells[2])) or cells[2]) or nil
    local ok, e, st = pcall(contest.enter, params.contest, cells[1], { bib = bib })
    if ok then done = done + (st == 'entered' and 1 or 0)
    else refused[#refused + 1] = string.format('%s:%d: %s', params.file, lineno, e) end
  end, function() done, refused = 0, {} end)
  for _, r in ipairs(refused) do print(r) end
  print(string.format(gettext('%d lines: %d entered now, %d entered before, %d refused'), n, done, n - done - #refused, #refused))
  if #refused > 0 then run.fail(string.format(ngettext('%d line refused (the others are stored): fix it and enter the sheet again',
                                   '%d lines refused (the others are stored): fix them and enter the sheet again',
                                   #refused), #refused)) end
else
  contest.need({ 'id' }, 'enter.lua contest=ID id=ID_NUMBER [bib=N] | file=SHEET.csv')
  print(show(contest.try(contest.enter, params.contest, tostring(params.id), { bib = params.bib })))
end
