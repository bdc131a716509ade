-- mark.lua — enters marks: one, or a marking sheet of lines
-- `bib,aspect,value[,reason]`. The value is a measured value (39.990), yes
-- or no (a check without a nominal), or the three judges' scores
-- (J1:2 J2:3 J3:2). Entering a different value again is a change: it is
-- recorded, and once the contest is locked it needs a reason.
--
--   gonghui run scripts/contest/mark.lua contest=cnc-2025 bib=3 aspect=A1 value=39.990
--   gonghui run scripts/contest/mark.lua contest=cnc-2025 bib=3 aspect=B1 value='J1:2 J2:3 J3:2'
--   gonghui run scripts/contest/mark.lua contest=cnc-2025 bib=3 aspect=A1 value=40.010 reason='仲裁复测'
--   gonghui run scripts/contest/mark.lua contest=cnc-2025 file=marks-A.csv
--
-- Judges' scores further apart than the scheme's spread are stored and
-- flagged: the judges score again, or the chief judge accepts them
-- (accept.lua). Entering the same sheet twice changes nothing.
local contest = require 'contest'

local USAGE = 'mark.lua contest=ID bib=N aspect=CODE value=V [reason=TEXT] | file=SHEET.csv'
contest.need({ 'contest' }, USAGE)
contest.define_collections()
local function line(s, st)
  return string.format(gettext('%s: bib %d %s = %s -> %s%s'), st, s.bib, s.aspect, contest.input_text(s),
                       contest.marks(s.mark), s.flagged and '  FLAGGED: the judges differ by more than the spread' or '')
end
if params.file then
  local counts, refused, flagged
  local n = contest.sheet(params.file, function(c, lineno)
    local ok, s, st = pcall(contest.mark, params.contest, c[1], c[2], c[3] or '',
                            { reason = c[4] ~= '' and c[4] or nil })
    if ok then
      counts[st] = counts[st] + 1
      if s.flagged then flagged[#flagged + 1] = string.format('%s:%d: %s', params.file, lineno, line(s, st)) end
    else
      refused[#refused + 1] = string.format('%s:%d: %s', params.file, lineno, s)
    end
  end, function() counts, refused, flagged = { marked = 0, changed = 0, same = 0 }, {}, {} end)
  for _, f in ipairs(flagged) do print(f) end
  for _, r in ipairs(refused) do print(r) end
  print(string.format(gettext('%d lines: %d marked, %d changed, %d unchanged, %d refused; %d flagged'),
                      n, counts.marked, counts.changed, counts.same, #refused, #flagged))
  if #refused > 0 then run.fail(string.format(ngettext('%d line refused (the others are stored): fix it and enter the sheet again',
                                   '%d lines refused (the others are stored): fix them and enter the sheet again',
                                   #refused), #refused)) end
else
  contest.need({ 'bib', 'aspect', 'value' }, USAGE)
  local value = params.value
  if type(value) == 'number' then value = tostring(value) end
  print(line(contest.try(contest.mark, params.contest, params.bib, tostring(params.aspect), value,
                         { reason = params.reason })))
end
