-- claims.lua — enters a station's claim sheet (CSV, or as Excel saves it):
-- a header row and one claim per row, the columns 驿站 (or station),
-- 身份证号 (id_number), 物品 (item) and optionally 时间 (time, the claim's
-- moment: 2025-01-20 09:30, 2025/1/20 9:30).
--
--   gonghui run scripts/gift_drive/claims.lua file=ST01-0120.csv
--
-- Each row is its own transaction; a refused row is printed with its line
-- and reason and written to FILE.refusals.csv, and the others go on (exit
-- code 1 when a row was refused). Entering the same sheet twice issues
-- nothing twice (the second time every row is "already entered").
local gift_drive = require 'gift_drive'
local program = require 'program'
local drive = require 'drive'

local file = program.param('file')
program.cli(function()
  local s = gift_drive.define(drive):claims(file)
  print(program.sheet_summary(s))
  program.finish(s)
end)
