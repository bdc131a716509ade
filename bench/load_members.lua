-- bench/load_members.lua — loads the benchmark CSV (../shared/tools/gen_members.py)
-- into the `members` collection. Not a measured workload: it only makes the
-- pristine gonghui database the timed runs start from (a `gonghui import`
-- command comes later).
--
--   gonghui --db DIR run bench/load_members.lua csv=members.csv
--
-- The collection is defined by w1_define.lua, like the C baseline's: key
-- member_id, a unique index on id_number, indexes on enterprise_id and category.

local csv = assert(params.csv, 'usage: gonghui run load_members.lua csv=FILE')

require 'w1_define'   -- members as W1 defines it: one layout for both

local HEADER = 'member_id,name,id_number,phone,gender,birth_date,enterprise_id,town,' ..
               'category,join_date,status,retire_date'
-- twelve comma-separated columns; the last one (retire_date) may be empty
local ROW = '^' .. ('([^,]*),'):rep(11) .. '([^,]*)$'
local tointeger = math.tointeger

local n = 0
db.atomic(function()
  local members = db.members
  local lineno = 0
  for line in io.lines(csv) do
    lineno = lineno + 1
    if line:sub(-1) == '\r' then line = line:sub(1, -2) end
    if lineno == 1 then
      if line ~= HEADER then
        error(('%s: line 1 is not the expected header:\n  %s\n  (expected %s)'):format(csv, line, HEADER))
      end
    elseif line ~= '' then
      local id, name, idn, phone, gender, birth, ent, town, cat, join, status, retire = line:match(ROW)
      if not id then
        error(('%s:%d: expected 12 comma-separated columns: %s'):format(csv, lineno, line))
      end
      local mid, eid = tointeger(tonumber(id)), tointeger(tonumber(ent))
      if not mid or not eid then
        error(('%s:%d: member_id and enterprise_id must be integers: %s'):format(csv, lineno, line))
      end
      members:insert{
        member_id = mid, name = name, id_number = idn, phone = phone, gender = gender,
        birth_date = birth, enterprise_id = eid, town = town, category = cat,
        join_date = join, status = status,
        retire_date = retire ~= '' and retire or nil,
      }
      n = n + 1
    end
  end
end)
print(('loaded %d members from %s'):format(n, csv))
