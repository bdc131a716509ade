-- title.lua — records an honorary title a member holds (registry
-- member_titles), revokes one, or lists a member's titles. Only holders of
-- a model-worker title (劳动模范/先进工作者, kind=model_worker) may endorse
-- products.
--
--   gonghui run scripts/market/title.lua member=42 title=浙江省劳动模范 [kind=model_worker] [level=provincial] [awarded=2020-04-28]
--   gonghui run scripts/market/title.lua id=ID_NUMBER title=浙江省劳动模范 revoke=2025-05-15
--   gonghui run scripts/market/title.lua member=42              (lists the titles)
-- kind: model_worker (the default), craftsman, other. Titles can also be
-- imported: gonghui import member_titles titles.csv (columns member_id,
-- kind, title, level, awarded).
local registry = require 'registry'
local common = require 'common'
local fmt = require 'fmt'

registry.define_members()
registry.define_titles()
local member = common.member_id()
if params.title then
  local title = tostring(params.title)
  local kind = params.kind or 'model_worker'
  if not registry.TITLE_KINDS[kind] then run.fail(string.format(gettext('kind must be model_worker, craftsman or other, got %s'), tostring(kind))) end
  local old = db.member_titles:find('member_id,title', { member, title })
  if params.revoke then
    if not old then run.fail(string.format(gettext('member %d holds no title %s'), member, title)) end
    common.try(db.member_titles.update, db.member_titles, old.title_id, { revoked = tostring(params.revoke) })
    print(string.format(gettext('revoked: %s of member %d from %s'), title, member, params.revoke))
  elseif old then
    print(string.format(gettext('already recorded: %s of member %d (title %d)'), title, member, old.title_id))
  else
    local id = common.try(db.member_titles.insert, db.member_titles,
      { member_id = member, kind = kind, title = title, level = params.level,
        awarded = params.awarded and tostring(params.awarded) or nil, note = params.note })
    print(string.format(gettext('recorded: %s (%s) of member %d (title %d)'), title, kind, member, id))
  end
end
local rows = {}
for t in db.member_titles:scan{ index = 'member_id,kind', eq = { member } } do
  rows[#rows + 1] = { t.title_id, t.kind, t.title, t.level or '', t.awarded or '', t.revoked or '' }
end
print(fmt.table({ gettext('no'), gettext('kind'), gettext('title'), gettext('level'), gettext('awarded'), gettext('revoked') }, rows, { right = { 1 } }))
