-- list.lua — the honor list: members of a union (and the unions under it)
-- who reach statutory retirement age in a year or a date range, in surname
-- stroke order, with their retirement date and age, and whether their
-- certificate is issued and delivered.
--
--   gonghui run scripts/retirement/list.lua union=2 year=2025 [csv=honor-2025.csv] [xlsx=honor-2025.xlsx] [women_post=worker]
--   gonghui run scripts/retirement/list.lua union=2 from=2025-01-01 to=2025-06-30
--
-- women_post: the post of women whose record has no post_type ('worker',
-- old age 50, the default; or 'cadre', old age 55); such rows are marked *.
-- csv= and xlsx= write the list for Excel, in the output folder (gonghui run
-- --out DIR), with the names in full: the honor list is published with them
-- (no ID numbers or phones are in it).
local retirement = require 'retirement'
local registry = require 'registry'
local fmt = require 'fmt'

retirement.define_collections()
local from, to = params.from, params.to
if params.year then from, to = params.year .. '-01-01', params.year .. '-12-31' end
if not from or not to then error(gettext('usage: list.lua union=ID year=YYYY | from=YYYY-MM-DD to=YYYY-MM-DD')) end
local due = retirement.due(from, to, params.union, { women_post = params.women_post })

local rows, csv = {}, {}
for i, r in ipairs(due) do
  local cert = db.certificates:find('kind,member_id', { 'retirement', r.member_id })
  rows[i] = { i, registry.mask_name(r.name), r.gender == 'M' and '男' or '女', r.retire_date,
              r.age .. (r.defaulted and '*' or ''), cert and cert.cert_no or '',
              cert and (cert.status == 'revoked' and 'revoked' or cert.delivery) or '' }
  csv[i] = { i, r.name, r.gender == 'M' and '男' or '女', r.retire_date, r.age,
             cert and cert.cert_no or '', cert and cert.status or '', cert and cert.delivery or '' }
end
print(string.format(gettext('光荣退休 honor list %s .. %s%s: %d members'), from, to,
      params.union and (', ' .. (db.unions:get(params.union, 'name') or '?')) or '', #due))
print(fmt.table({ gettext('no'), gettext('name'), gettext('gender'), gettext('retires'), gettext('age'), gettext('certificate'), gettext('delivery') }, rows, { right = { 1 } }))
if params.csv then
  local f = run.open(params.csv, 'w')
  f:write('\239\187\191序号,姓名,性别,退休日期,退休年龄,证书编号,证书状态,送达方式\r\n')
  for _, r in ipairs(csv) do
    for j = 1, #r do r[j] = tostring(r[j]) end
    f:write(table.concat(r, ','), '\r\n')
  end
  f:close()
  print(gettext('written: ') .. params.csv)
end
if params.xlsx then
  local cols = { '序号', '姓名', '性别', '退休日期', '退休年龄', '证书编号', '证书状态', '送达方式' }
  local out = {}
  for i, r in ipairs(csv) do
    out[i] = {}
    for j, c in ipairs(cols) do out[i][c] = r[j] end
  end
  local n, path = export.xlsx(out, params.xlsx, { fields = cols, unmask = true })
  print(string.format(gettext('written: %s (%d rows)'), path, n))
end
