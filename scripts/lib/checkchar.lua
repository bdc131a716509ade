-- checkchar.lua — ISO 7064 MOD 11-2 check characters over digit strings of
-- any length (the resident ID's scheme): catches every single mistyped digit
-- and every swap of two neighbouring digits. The rule's one home is
-- core/parse.c; this name stays for the certificate numbers that use it.
--
--   checkchar.mod11_2('202500110001')  --> '0'..'9' or 'X'
--   checkchar.valid('2025001100016')   --> true
local parse = require 'parse'
return { mod11_2 = parse.mod11_2, valid = parse.mod11_2_ok }
