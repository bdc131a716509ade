-- 工会组建与会员发展 — union building (README: "The activity register, union
-- building and the ten-things report").
-- One program a year (unionbuild-2024, ...): the file returns the plan of a
-- year. New unions and the members who joined are entered from the registry
-- (sync), never typed in; the stars are selected from the unions' nominations.
return function(year) return {
  id = 'unionbuild-' .. tostring(year), title = tostring(year) .. '年工会组建与会员发展', year = year,
  window = { from = year .. '-01-01', to = year .. '-12-31' },
  units = { '人', '人次', 'fen' },
  kinds = {
    { kind = 'enterprise_union', title = '新建企业工会' },
    { kind = 'joint_union', title = '新建联合工会' },
    { kind = 'joint_covers', title = '联合工会覆盖企业' },     -- one per enterprise a joint union covers
    { kind = 'join', title = '发展会员', per_member = 1 },
    { kind = 'join_new_form', title = '新就业形态劳动者入会', per_member = 1 },
    { kind = 'star', title = '新就业形态劳动者之星', per_member = 1,
      stock = 10,                                          -- the quota: ten stars a year
      value_fen = 100000 },                                -- 1,000 yuan each
  },
  extra = { star = {
    per_union = 3,                                         -- nominations a union may make
    by = 'votes',                                          -- 'votes' (a vote) or 'score' (a panel)
  } },
} end
