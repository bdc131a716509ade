-- bench/w10/plan.lua — W10 of issue 23: the ticket subsidy of README's "A new
-- campaign in one page" without its budget, so every receipt of the sheet is
-- entered: 100,000 rows through the framework's sheet helper.
return {
  id = 'w10-tickets', title = 'W10 车票补贴', year = 2026,
  window = { from = '2026-01-01', to = '2026-12-31' },
  kinds = { { kind = 'ticket', title = '车票补贴', unit = 'fen' } },
  who = { where = { status = 'active' } },
  fields = {
    { 'id_number', '身份证号', 'id' },
    { 'key', '车票号' },
    { 'fare', '票价', 'yuan' },
    { 'day', '乘车日期', 'date' },
  },
  amount = function(e) return e.fare // 2 end,
  limits = { { per = 'entry', max_fen = 20000, clip = true } },
}
