-- claim.lua — wrk script of S2: POST a claim, each request a member not yet
-- served (thread t of T takes IDs t, t+T, t+2T, ... from FIRST on), so every
-- 2xx is a durable claim and none is refused as already given.
local ids = {}
for line in io.lines(os.getenv('IDS')) do ids[#ids + 1] = line end
local auth = 'Bearer ' .. os.getenv('TOKEN')
local first = tonumber(os.getenv('FIRST') or '1')
local threads, counter = {}, 0
setup = function(thread)
  counter = counter + 1
  thread:set('tid', counter)
  table.insert(threads, thread)
end
local i
request = function()
  i = i or (first + tid - 1)
  local id = ids[i]
  if not id then -- every member claimed: the rest of the run asks only for /health
    return wrk.format('GET', '/health')
  end
  i = i + (tonumber(os.getenv('NTHREADS')) or 2)
  local st = (i % 2 == 1) and 'ST01' or 'ST02'
  return wrk.format('POST', '/api/gift_drive/claim',
                    { Authorization = auth, ['Content-Type'] = 'application/json' },
                    '{"id":"' .. id .. '","station":"' .. st .. '"}')
end
