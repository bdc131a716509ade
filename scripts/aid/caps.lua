-- caps.lua — the aid program's settings: edit this file (a new year's caps
-- before the first payment of that year); every script in scripts/aid/
-- reads it. Amounts are integer fen (1 yuan = 100 fen): 500000 = 5,000.00
-- yuan. A payment that would pass a cap is refused; `check.lua` also
-- reports any total over its cap (after a cap was lowered, say).
return {
  source = 'scripts/aid/caps.lua',   -- named in error messages
  program = 'aid',                   -- carried by every event
  notice_days = 5,                   -- the public notice (公示) lasts this many days before approval
  -- the kinds of aid; claims = true: paid through medical claims (claim.lua),
  -- to any member, without a hardship file
  types = {
    temporary = { title = '临时救助' },
    basket    = { title = '幸福菜篮子' },
    festival  = { title = '节日慰问' },
    education = { title = '金秋助学' },
    medical   = { title = '职工医疗互助', claims = true },
  },
  years = {
    [2025] = {
      -- all aid paid under one household's file in the year, by the file's tier
      household = { deep = 2000000, relative = 1000000, accident = 1500000 },
      types = {
        -- budget: the whole type in the year; per_household: one household in the year
        temporary = { budget = 80000000, per_household = 500000 },
        basket    = { budget = 6000000, per_household = 400000 },
        festival  = { budget = 30000000, per_household = 100000 },
        education = { budget = 20000000, per_household = 500000 },
        -- medical: (eligible expense - deductible) x rate %, at most per_claim a
        -- claim and per_member a member in the year
        medical   = { budget = 900000000, per_member = 3000000, per_claim = 1000000,
                      deductible = 50000, rate = 50 },
      },
    },
    [2026] = {
      household = { deep = 2000000, relative = 1000000, accident = 1500000 },
      types = {
        temporary = { budget = 80000000, per_household = 500000 },
        basket    = { budget = 6000000, per_household = 400000 },
        festival  = { budget = 30000000, per_household = 100000 },
        education = { budget = 20000000, per_household = 500000 },
        medical   = { budget = 900000000, per_member = 3000000, per_claim = 1000000,
                      deductible = 50000, rate = 50 },
      },
    },
  },
}
