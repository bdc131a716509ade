-- plan.lua — this year's New-Year daily benefits (新春每日惠): edit this
-- file, then run setup.lua. The city's 10th year: 2,025 red envelopes and
-- 2,025 gift packages for gig workers on duty.
--
-- The window is New Year's Day to the last day of 正月, from the lunar
-- calendar (the cal plugin). A day is 'YYYY-MM-DD' or one of new_year (元旦),
-- laba (腊八), xiaonian (小年), eve (除夕), spring_festival (春节), lantern
-- (元宵), first_month_end, lunar:12-D (腊月), lunar:1-D (正月). Money in fen.
return {
  id    = 'newyear-2026',
  title = '建市十周年·2026新春每日惠',
  year  = 2026,
  where = { status = 'active' },          -- every benefit is for active members
  xiaonian = 24,                          -- 小年 is 腊月廿四 here (Zhejiang); 23 in the north
  -- day benefits: stock for the whole campaign, or quotas per station
  days = {
    { day = 'new_year', item = 'garden-party', title = '元旦游园会入场券', stock = 2000 },
    { day = 'laba', item = 'laba-porridge', title = '腊八粥', value_fen = 800,
      quotas = { ST01 = 600, ST02 = 400, ST03 = 400 } },
    { day = 'xiaonian', item = 'spring-couplets', title = '写春联送福', stock = 1500 },
    { day = 'lantern', item = 'lantern-riddles', title = '元宵灯谜会', stock = 1000 },
  },
  -- drawn by the lottery plugin from every eligible member
  red_envelopes = { item = 'red-envelope', title = '现金红包', count = 2025, value_fen = 8800 },
  -- the union-history quiz: members with min_correct right answers enter the movie-ticket draw
  quiz = {
    item = 'movie-ticket', title = '贺岁电影票', count = 500, value_fen = 4000, min_correct = 3,
    questions = {
      { id = 'q1', text = '中华全国总工会成立于哪一年？A.1921 B.1925 C.1949', answer = 'B' },
      { id = 'q2', text = '我市总工会成立多少周年？A.5 B.8 C.10', answer = 'C' },
      { id = 'q3', text = '工会会费按工资的百分之几缴纳？A.0.5% B.1% C.2%', answer = 'A' },
    },
  },
  -- gig workers who claim at a station during the holiday (除夕 .. 正月初七)
  duty_gift = { item = 'duty-gift', title = '坚守岗位礼包', count = 2025, value_fen = 15000,
                where = { employment_form = 'new_form' }, from = 'eve', to = 'lunar:1-7' },
  -- return-to-work tickets: the ticket's price up to cap_fen, once per member
  ticket_subsidy = { item = 'ticket-subsidy', title = '返岗车票补贴', budget_fen = 30000000,
                     cap_fen = 50000, from = 'spring_festival', to = 'first_month_end' },
  -- benefit-code discounts: once a day per member
  discount = { item = 'code-discount', title = '惠工码优惠', rate_percent = 20, per_use_fen = 3000,
               per_member_fen = 20000, daily_budget_fen = 2000000 },
}
