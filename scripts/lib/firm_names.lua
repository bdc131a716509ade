-- firm_names.lua — enterprise names for the sample registry (sample_data.lua),
-- unique at any size up to a city's 3,000,000 members (15,000 enterprises).
--
--   local namer = require('firm_names').namer(math.random)
--   namer('宁波', '宁波市鄞州区')   --> '宁波恒达纺织有限公司'
--
-- A name is the city, a word and a trade: 宁波恒达纺织有限公司 (680 per
-- city). When 20 draws of those are all taken (a city with several hundred
-- enterprises), the name gains a kind of business (宁波恒达纺织科技有限公司),
-- then two words (宁波恒达华星纺织有限公司, every one of the 22,440 per city
-- tried before giving up), then the district (宁波市鄞州区恒达华星纺织有限公司).
-- The first draws are those sample_data.lua always made, so the names of a
-- registry that was possible before (members=5000 seed=2025) do not change.
-- Deterministic: the same sequence of calls with the same random stream
-- gives the same names.
local M = {}

M.WORDS = {'恒达','华星','金鑫','永盛','宏远','新潮','东方','海天','天成','立信',
  '万向','正泰','鸿运','瑞丰','精工','远大','广源','兴旺','明辉','安顺','诚信','富华',
  '利民','大洋','长城','中顺','佳美','银河','时代','振兴','德润','飞跃','卓越','嘉禾'}
M.TRADES = {'纺织','机械','物流','建设工程','环境卫生','食品','电子','汽车配件',
  '服饰','家具','皮革','五金','水产','船舶修造','包装','塑料制品','快递','运输','阀门','光电'}
M.KINDS = {'科技','实业','制造','贸易','发展','集团'}

local SUFFIX = '有限公司'

-- random(n) in 1..n (math.random or a stream like it).
function M.namer(random)
  local used = {}
  local W, T, K = M.WORDS, M.TRADES, M.KINDS
  local nw, nt = #W, #T

  -- every two-word name of a prefix, from a drawn starting point: the first free one
  local function two_words(prefix)
    local space = nw * nw * nt
    local start = random(space) - 1
    for k = 0, space - 1 do
      local i = (start + k) % space
      local a, b, t = i // (nw * nt) + 1, (i // nt) % nw + 1, i % nt + 1
      if a ~= b then
        local name = prefix .. W[a] .. W[b] .. T[t] .. SUFFIX
        if not used[name] then return name end
      end
    end
  end

  return function(city, district)
    local name
    for _ = 1, 20 do                          -- the draws sample_data.lua always made
      name = city .. W[random(nw)] .. T[random(nt)] .. SUFFIX
      if not used[name] then used[name] = true; return name end
    end
    for _ = 1, 20 do
      name = city .. W[random(nw)] .. T[random(nt)] .. K[random(#K)] .. SUFFIX
      if not used[name] then used[name] = true; return name end
    end
    name = two_words(city) or (district and two_words(district))
    if not name then
      error(string.format(gettext('firm_names: every enterprise name of %s is taken (%d names); '
        .. 'the sample registry is too large for its name lists: use fewer members'),
        district or city, #W * (#W - 1) * #T))
    end
    used[name] = true
    return name
  end
end

return M
