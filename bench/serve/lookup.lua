-- lookup.lua — wrk script of S1: GET the member by a random ID number
-- (IDS: the file of ID numbers, TOKEN: a session of the federation admin).
local ids = {}
for line in io.lines(os.getenv('IDS')) do ids[#ids + 1] = line end
local auth = 'Bearer ' .. os.getenv('TOKEN')
math.randomseed(os.time())
request = function()
  local id = ids[math.random(#ids)]
  return wrk.format('GET', '/api/gift_drive/member?station=ST01&id=' .. id, { Authorization = auth })
end
