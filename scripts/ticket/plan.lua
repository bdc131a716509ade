-- 返岗车票补贴 — the return-to-work ticket subsidy (README: "A new campaign in one page")
return {
  id = 'ticket-2026', title = '2026年返岗车票补贴', year = 2026,
  window = { from = '春节-15', to = '正月十五' },     -- the tickets' dates
  budget_fen = 10000000,                              -- 100,000 yuan in all
  kinds = { { kind = 'ticket', title = '返岗车票补贴', unit = 'fen' } },
  who = {
    where = { status = 'active' },                    -- a registry query
    rule = function(m)                                -- and a rule with a reason
      return m.join_date < '2026-01-01', 'joined the union on ' .. m.join_date .. ', after 2025'
    end,
  },
  fields = {                                          -- the receipt sheet's columns
    { 'id_number', '身份证号', 'id' },
    { 'key', '车票号' },                              -- each ticket number once
    { 'fare', '票价', 'yuan' },
    { 'day', '乘车日期', 'date' },
  },
  amount = function(e) return e.fare // 2 end,        -- half the fare, rounded down to the fen
  limits = {
    { per = 'entry', max_fen = 20000, clip = true },  -- at most 200 yuan a ticket
    { per = 'member', max_fen = 40000, clip = true }, -- at most 400 yuan a member
  },
}
