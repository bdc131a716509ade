-- claims.lua — enters a station's claim sheet: one claim per line,
-- `station,id_number,item[,YYYY-MM-DD HH:MM:SS]` (a header line starting
-- with "station" is skipped; plain commas only, no quoted cells).
--
--   gonghui run scripts/gift_drive/claims.lua file=ST01-0120.csv
--
-- Each line is one transaction; a refused line is printed with its line
-- number and reason and the others go on. Entering the same sheet twice
-- issues nothing twice (the second time every line is "already").
local gift_drive = require 'gift_drive'
local drive = require 'drive'

if not params.file then error('usage: gonghui run claims.lua file=SHEET.csv') end
local d = gift_drive.define(drive)
local n, issued, refused = 0, 0, {}
local lineno = 0
for line in io.lines(params.file) do
  lineno = lineno + 1
  line = line:gsub('^\239\187\191', ''):gsub('\r$', '')
  if line ~= '' and not (lineno == 1 and line:match('^station')) then
    n = n + 1
    local station, id, item, at = line:match('^%s*([^,]-)%s*,%s*([^,]-)%s*,%s*([^,]-)%s*,?%s*([^,]*)%s*$')
    local a, code, msg
    if not station then
      code, msg = 'bad_line', 'expected station,id_number,item[,time]'
    else
      a, code, msg = d:claim(station, id, item, { at = at ~= '' and at or nil })
    end
    if a then issued = issued + 1
    else refused[#refused + 1] = string.format('%s:%d: %s (%s)', params.file, lineno, msg, code) end
  end
end
for _, r in ipairs(refused) do print(r) end
print(string.format('%d claims: %d issued, %d refused', n, issued, #refused))
