-- checkchar.lua — ISO 7064 MOD 11-2 check characters over digit strings of
-- any length (the resident ID's scheme): catches every single mistyped digit
-- and every swap of two neighbouring digits. The rule's one home is
-- core/parse.c; this name stays for the certificate numbers that use it.
--
--   checkchar.mod11_2('202500110001')  --> '0'..'9' or 'X'
--   checkchar.valid('2025001100016')   --> true
--   checkchar.certificate(2025, { 11, 1 })      --> '2025001100016'
--   checkchar.certificate(2025, { 11, 10000 })  --> '20250000110100001'
local parse = require 'parse'

-- The widths of a certificate number's fields: 4 digits each while every
-- field fits (the short form), else 6 digits each.
local NARROW, WIDE = 9999, 999999

-- The digits of a certificate number (retirement, contest): the year (4
-- digits), then the fields, each with 4 digits while every one of them is
-- at most 9,999 (the short form: every number issued before the wide form
-- existed has it, and a number that fits still gets it, so old numbers stay
-- what they were), else each with 6 digits, up to 999,999; the two forms
-- are told apart by their length. Last the MOD 11-2 check character over
-- all the digits. Returns the digits, or nil and what does not fit: 0 for
-- a year that is not 4 digits, else the index of the first field past
-- 999,999 (the caller says why, in its own words).
local function certificate(year, fields)
  if math.type(year) ~= 'integer' or year < 1000 or year > 9999 then return nil, 0 end
  local width = '%04d'
  for i, v in ipairs(fields) do
    if v > WIDE then return nil, i end
    if v > NARROW then width = '%06d' end
  end
  local d = string.format('%04d' .. width:rep(#fields), year, table.unpack(fields))
  return d .. parse.mod11_2(d)
end

return { mod11_2 = parse.mod11_2, valid = parse.mod11_2_ok, certificate = certificate,
         NARROW = NARROW, WIDE = WIDE }
