-- sales.lua — enters a vendors' daily sheet of sales (CSV saved from Excel,
-- UTF-8 or GBK). The first row names the columns, in English or Chinese:
--
--   no 序号 | date 日期 | vendor 摊主编号 | product 产品编号 | qty 数量 |
--   amount 金额 (yuan) or amount_fen 金额(分) | member_id 会员编号 or id_number 身份证号
--
-- product and an amount (or a whole qty, times the product's price) are
-- needed; date and vendor may be given once for the whole sheet instead:
--
--   gonghui run scripts/market/sales.lua file=V01-0510.csv [date=2025-05-10] [vendor=V01]
--
-- A row with a member (member_id or ID number) is paid with the benefit
-- code. The rows that are not refused are stored (in one transaction:
-- 2,000 rows take under a second); refused rows are listed with their
-- line and reason and the run fails (exit 1) when there are any, so the
-- sheet can be fixed and entered again: rows already entered (the same
-- vendor, date and no) are skipped, never entered twice.
local common = require 'common'

local mk = common.market()
if not params.file then run.fail(gettext('usage: sales.lua file=SHEET.csv [date=YYYY-MM-DD] [vendor=V01]')) end
local r = common.try(mk.import_sheet, mk, tostring(params.file),
                     { date = params.date and tostring(params.date), vendor = params.vendor and tostring(params.vendor) })
for _, x in ipairs(r.refused) do
  print(string.format(gettext('%s:%d: refused (%s): %s'), params.file, x.line, x.code, x.message))
end
print(string.format(gettext('%s (%s): %d rows: %d entered, %d already entered, %d refused'),
                    params.file, r.encoding, r.rows, r.entered, r.already, #r.refused))
if #r.refused > 0 then run.fail(string.format(ngettext('%d row refused: fix it in the sheet and enter it again',
                                 '%d rows refused: fix them in the sheet and enter it again', #r.refused), #r.refused)) end
