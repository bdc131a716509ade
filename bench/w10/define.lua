-- bench/w10/define.lua — the collection `gonghui import receipts receipts.csv`
-- fills in W10's comparison: the sheet's four columns by their labels, each
-- ticket number once, the ID number indexed (as the ledger finds members).
db.define('receipts', {
  fields = { id_number = { type = 'string', label = '身份证号' }, key = { type = 'string', label = '车票号' },
             fare = { type = 'string', label = '票价' }, day = { type = 'string', label = '乘车日期' } },
  key = 'key',
  index = { 'id_number' },
})
