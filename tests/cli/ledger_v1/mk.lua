-- a ledger written by gonghui before ledger format 2 (56b44ec's scripts/lib):
-- run from tests/lua (program_fixtures.lua) with GONGHUI_LIB=that scripts/lib
--   gonghui --db DIR --new-db --now '2025-01-25 12:00:00' run tests/lua/mk.lua
local fx = require 'program_fixtures'
local program = require 'program'
fx.load()
local P = program.define{
  id = 'old-drive', title = '旧春节送温暖', window = { from = '2025-01-10', to = '2025-02-12' },
  budget_fen = 1000000,
  kinds = { { kind = 'gift', title = '年货礼包', value_fen = 20000, per_member = 1 },
            { kind = 'cash', title = '补贴', unit = 'fen' },
            { kind = 'card', title = '慰问卡', value_fen = 5000, per_member = 1 } },
  limits = { { per = 'household', kind = 'cash', max_fen = 50000 } },
  who = { where = { status = 'active' } },
}
print('grant (insert_select)', P:grant_all('gift', { at = '2025-01-20 10:00:00' }).entered)
print('grant (loop)', P:grant_all('card', { at = '2025-01-20 10:30:00', loop = true }).entered)
assert(P:enter{ member = 3, kind = 'cash', fen = 30000, at = '2025-01-21 09:30:00', key = 'R1' })
assert(P:enter{ member = 1, kind = 'cash', fen = 20000, at = '2025-01-22 11:00:00', key = 'R2', place = 'ST01' })
assert(P:enter{ member = 4, kind = 'cash', fen = 10000, at = '2025-01-23 08:15', key = 'R3' })   -- a time without seconds
local e = assert(P:enter{ member = 9, kind = 'cash', fen = 15000, at = '2025-01-23 16:00:00', key = 'R4', note = '多发' })
assert(P:reverse(e.entry_id, '发错了', { at = '2025-01-24 09:00:00' }))
print('entries', db.program_entries:count())
