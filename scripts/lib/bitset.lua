-- bitset.lua — a set of integers as the bits of 64-bit words.
--
--   local bit_add = require('bitset').add
--   local s = {}
--   bit_add(s, 42)   --> true (it was not there)
--   bit_add(s, 42)   --> false
--
-- The reports count distinct members and households by it: at a city's
-- 1,000,000 members a set is 16,000 words, not a table entry a member.
-- Word w of the set holds the integers 64(w - 1) .. 64w - 1, so the words
-- of small non-negative integers sit in the table's array part. Any Lua
-- integer may be added (a negative one lands in a word of its own); a set
-- may share its table with keys that are not integers.
local M = {}

-- adds integer i to set s; true when it was not there
function M.add(s, i)
  local w, b = (i >> 6) + 1, 1 << (i & 63)
  local x = s[w] or 0
  if x & b ~= 0 then return false end
  s[w] = x | b
  return true
end

return M
