-- 2026年职工疗休养 — the workers' sanatorium's year and the check-up van
-- (README: "Workers' sanatorium"). Every key is checked when the plan is
-- loaded; once places are given, a change needs version = 2, changes = { [2] = 'why' }.
return {
  id = 'sanatorium-2026', title = '2026年职工疗休养', year = 2026,
  apply = { from = '2026-01-05', to = '2026-02-27' },   -- applications taken
  choices = 3,                  -- up to three preferred batches, in order
  exclusion_years = 3,          -- no second stay within 3 years (a stay in 2025 bars 2026 and 2027)
  enterprise_cap = 3,           -- at most 3 places of one enterprise in a batch
  union_places = { ['*'] = 8 }, -- places per union in the year ([union_id] = n; '*' any other union)
  satisfied = 4,                -- a score of 4 or 5 (of 5) is satisfied
  groups = { 'model', 'skilled', 'new_form', 'front_line' },   -- 劳模工匠, 技能人才, 新就业形态, 一线职工
  tiers = {                     -- allocation in this order; a draw within each
    { name = '省市级劳模工匠', levels = { 'national', 'provincial', 'city' } },
    { name = '会龄满5年的一线职工', groups = { 'front_line', 'new_form', 'skilled' }, member_years = 5 },
    { name = '其他申请人' },
  },
  batches = {
    { batch = 'B01', title = '第1期 安吉', from = '2026-04-13', to = '2026-04-17', beds = 30,
      programme = '竹海康养、健康讲座', cost_fen = 200000 },
    { batch = 'B02', title = '第2期 千岛湖', from = '2026-05-11', to = '2026-05-15', beds = 30,
      programme = '湖区疗养、心理疏导', cost_fen = 220000 },
    { batch = 'B03', title = '第3期 莫干山（新就业形态专场）', from = '2026-06-08', to = '2026-06-12', beds = 25,
      programme = '森林康养、职业安全讲座', cost_fen = 200000, groups = { 'new_form' } },
    { batch = 'B04', title = '第4期 普陀山', from = '2026-09-14', to = '2026-09-18', beds = 30,
      programme = '海岛休养、体检复查', cost_fen = 240000 },
  },
  checkup = { id = 'checkup-2026', title = '2026年职工健康体检（流动体检车）' },
}
