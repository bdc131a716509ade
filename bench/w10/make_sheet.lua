-- bench/w10/make_sheet.lua — the W10 sheet: rows=N receipts (身份证号, 车票号,
-- 票价, 乘车日期) of active members, each ticket number once (a member may
-- have several tickets when there are fewer active members than rows),
-- written to --out as receipts.csv; the same file `gonghui import` reads for
-- the comparison.
--
--   gonghui --db DIR run --out FOLDER bench/w10/make_sheet.lua rows=100000
local ids, n = {}, params.rows or 100000
for m in db.members:scan{ status = 'active' } do ids[#ids + 1] = m.id_number end
if #ids == 0 then error('W10: no active members') end -- i18n: ok (bench)
local rows = {}
for i = 1, n do
  rows[i] = { ['身份证号'] = ids[(i - 1) % #ids + 1], ['车票号'] = string.format('T%08d', i),
              ['票价'] = string.format('%d.%02d', 50 + i % 400, i % 100),
              ['乘车日期'] = string.format('2026-02-%02d', 1 + i % 28) }
end
export.csv(rows, 'receipts.csv', { fields = { '身份证号', '车票号', '票价', '乘车日期' }, unmask = true })
print(string.format('W10 sheet: %d rows', #rows)) -- i18n: ok (bench)
