-- checkchar.lua — ISO 7064 MOD 11-2 check characters over digit strings of
-- any length (the resident ID's scheme): catches every single mistyped digit
-- and every swap of two neighbouring digits.
--
--   checkchar.mod11_2('202500110001')  --> '0'..'9' or 'X'
--   checkchar.valid('2025001100016')   --> true
local M = {}

function M.mod11_2(digits)
  if type(digits) ~= 'string' or digits == '' or digits:find('%D') then
    error('mod11_2 expects a string of digits, got ' .. tostring(digits), 2)
  end
  local s, w = 0, 2
  for i = #digits, 1, -1 do
    s = (s + (digits:byte(i) - 48) * w) % 11
    w = w * 2 % 11
  end
  local c = (12 - s) % 11
  return c == 10 and 'X' or tostring(c)
end

function M.valid(s)
  if type(s) ~= 'string' or #s < 2 or s:sub(1, -2):find('%D') then return false end
  return M.mod11_2(s:sub(1, -2)) == s:sub(-1):upper()
end

return M
