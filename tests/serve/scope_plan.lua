-- scope_plan.lua — the plan of tests/serve/entries.lua's program, also
-- required by attack_http.lua's /program_enter (copied beside it).
return {
  id = 'scope_t', title = '范围测试', year = 2025,
  window = { from = '2025-01-01', to = '2025-12-31' },
  kinds = { { kind = 'visit', title = '走访慰问', value_fen = 100 } },
  who = { where = { status = 'active' } },
}
