-- bench/w3_lookups.lua — W3: look members up by id_number and use the name.
--
--   gonghui --db DIR run bench/w3_lookups.lua keys=FILE [expect=N]
--
-- FILE has one id_number a line (gen_members.py --lookups). Prints how many
-- were found; with expect=N (the C baseline's count) fails unless it is N.

local keys = assert(params.keys, 'usage: gonghui run w3_lookups.lua keys=FILE [expect=N]')

local n, found, bytes = 0, 0, 0
for key in io.lines(keys) do
  if key ~= '' then
    n = n + 1
    local name = db.members:find('id_number', key, 'name')
    if name then
      found = found + 1
      bytes = bytes + #name          -- consume the name
    end
  end
end
print(('looked up %d, found %d, name bytes %d'):format(n, found, bytes))
if params.expect and found ~= params.expect then
  error(('W3: found %d, the C baseline found %d'):format(found, params.expect))
end
