-- aid_fixture.lua — the settings and files shared by the aid tests
-- (aid_files, aid_ledger): small caps whose every figure is chosen by hand,
-- on the registry of program_fixtures.lua.
--
--   local afx = require 'aid_fixture'
--   local p = afx.open()                     -- registry loaded, aid.open(afx.config())
--   local f = afx.approved(p, 1, 'deep')     -- apply + visit, review, notice, approve
local fx = require 'program_fixtures'
local aid = require 'aid'
local M = {}

-- a fresh copy each call, so a test can change one
function M.config()
  local year = {
    household = { deep = 600000, relative = 300000, accident = 400000 },   -- 6,000 / 3,000 / 4,000 yuan
    types = {
      temporary = { budget = 1000000, per_household = 400000 },           -- 10,000 / 4,000 yuan
      basket    = { budget = 150000, per_household = 100000 },            -- 1,500 / 1,000 yuan
      medical   = { budget = 920060, per_member = 800000, per_claim = 500000,
                    deductible = 100000, rate = 60 },                      -- 9,200.60 / 8,000 / 5,000 / 1,000 yuan, 60%
    },
  }
  local function copy(t)
    local c = {}
    for k, v in pairs(t) do c[k] = type(v) == 'table' and copy(v) or v end
    return c
  end
  return {
    source = 'test caps', notice_days = 5,
    types = { temporary = { title = '临时救助' }, basket = { title = '幸福菜篮子' },
              medical = { title = '职工医疗互助', claims = true } },
    years = { [2025] = copy(year), [2026] = copy(year) },
  }
end

function M.open(cfg)
  fx.load()
  return aid.open(cfg or M.config())
end

-- A file for member, taken through every step to approval (notice on
-- 02-05, approved on 02-10, 2025).
function M.approved(p, member, tier)
  local f = p:apply{ member = member, tier = tier, reason = '重病', persons = 3, by = '李干事',
                     date = '2025-02-01' }
  p:step(f.file_id, 'visit', { by = '李干事', date = '2025-02-03' })
  p:step(f.file_id, 'review', { by = '审核组', date = '2025-02-04' })
  p:step(f.file_id, 'notice', { by = '审核组', date = '2025-02-05' })
  return p:step(f.file_id, 'approve', { by = '王主席', date = '2025-02-10' })
end

return M
