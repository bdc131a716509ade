-- example.lua — a contest file: copy it, edit it, and run
--   gonghui run scripts/contest/setup.lua file=cnc-2025.lua
-- once before the contest and again after each edit. The marking scheme can
-- change (each change is a new version) until the first mark is entered;
-- from then on it is frozen, and setup.lua refuses a different scheme.
--
-- Marks are written with at most two decimals ('10.00', 2.5, 6); measured
-- values, nominal values and tolerances with at most six, in the aspect's
-- unit. Aspects:
--   measurement with a nominal: full marks when nominal - minus <= measured
--     <= nominal + plus (or ± tolerance), else 0;
--   measurement without a nominal: a yes/no check, full marks when met;
--   judgement: three judges score 0-3 each; mark = max × sum / 9.
-- The file holds data only: it runs with no globals.
return {
  id      = 'cnc-2025',                                  -- letters, digits, - _ .
  title   = '2025年海宁市职工职业技能大赛·数控车工',
  year    = 2025,                                        -- certificates are numbered per year
  trade   = '数控车工',
  union_id = 1,                                          -- the organising union
  spread  = 1,        -- judges' scores further apart than this are flagged for reconciliation
  tie_break = { 'B1', 'A1' },   -- equal totals: the higher B1 first, then the higher A1; else a shared rank
  titles  = { title = '操作技术能手', top = 3, min_total = '60.00' },   -- top 3, and at least 60 marks
  aspects = {
    { code = 'A1', kind = 'measurement', title = '外圆 Φ40 尺寸', max = '12.00',
      nominal = '40.000', minus = '0.025', plus = '0', unit = 'mm' },
    { code = 'A2', kind = 'measurement', title = '内孔 Φ25 尺寸', max = '12.00',
      nominal = '25.000', minus = '0', plus = '0.021', unit = 'mm' },
    { code = 'A3', kind = 'measurement', title = '总长 80', max = '8.00',
      nominal = '80.00', tolerance = '0.05', unit = 'mm' },
    { code = 'A4', kind = 'measurement', title = '螺纹 M30×1.5 通止规检验', max = '10.00' },
    { code = 'A5', kind = 'measurement', title = '表面粗糙度 Ra1.6', max = '8.00' },
    { code = 'B1', kind = 'judgement', title = '工件外观与表面质量', max = '20.00' },
    { code = 'B2', kind = 'judgement', title = '工艺方案与程序编制', max = '20.00' },
    { code = 'B3', kind = 'judgement', title = '安全文明生产', max = '10.00' },
  },
  -- judges of this contest: never from a contestant's enterprise. A judge who
  -- is a member may be given by id_number (name and enterprise from the registry).
  judges = {
    { judge = 'J1', name = '沈国强', organisation = '嘉兴技师学院' },
    { judge = 'J2', name = '钱伟',   organisation = '海宁市职业技能鉴定中心' },
    { judge = 'J3', name = '孙丽',   organisation = '海宁职业高级中学' },
  },
}
