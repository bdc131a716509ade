-- entries.lua — a program on the framework whose entries name no place,
-- town, enterprise or union, so their program.entry events are compact
-- arrays naming member_id by position (program.EVENT_FIELDS, declared in the
-- database by program.define): the serve tests read them through scopes.
-- Members 1..4: odd ones in union 4 (under 2), even ones in union 3.
local program = require 'program'
local P = program.define(require 'scope_plan')
for k = 1, 4 do
  local e, code, why = P:enter{ member = k, kind = 'visit', at = '2025-03-01 09:00:00' }
  assert(e, why or code)
end
print('entries: 4')
