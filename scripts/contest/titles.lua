-- titles.lua — awards a locked contest's titles by its rule, each with a
-- certificate (JN2025-0001-2). Safe to run again: nobody gets a title
-- twice. If a mark changed after titles were awarded, those who gain a
-- place get their title now and those who lost it are listed (revoke their
-- certificate with revoke.lua if the committee decides so).
--
--   gonghui run scripts/contest/titles.lua contest=cnc-2025
local contest = require 'contest'
local registry = require 'registry'

contest.need({ 'contest' }, 'titles.lua contest=ID')
contest.define_collections()
local r = contest.try(contest.award_titles, params.contest)
for _, t in ipairs(r.issued) do
  print(string.format(gettext('awarded: %s %s, rank %d, %s marks: %s'), t.title,
    registry.mask_name(db.members:get(t.member_id, 'name')), t.rank, contest.marks(t.total), t.cert_no))
end
for _, t in ipairs(r.no_longer) do
  print(string.format(gettext('no longer qualifies: %s (bib %d), certificate %s'), registry.mask_name(db.members:get(t.member_id, 'name')),
                      t.bib, t.cert_no))
end
print(string.format(gettext('%d titles awarded now, %d before%s'), #r.issued, r.already,
                    #r.no_longer > 0 and string.format(gettext(', %d no longer qualify'), #r.no_longer) or ''))
