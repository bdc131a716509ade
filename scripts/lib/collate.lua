-- collate.lua — STAND-IN for the `cal` plugin's stroke-order collation
-- (姓氏笔画排序), which does not exist yet. Honor lists are published sorted
-- by the surname's stroke count, then by its first stroke in the order
-- 横 一, 竖 丨, 撇 丿, 点 丶, 折 乛, then by the following characters the same
-- way. This stand-in knows the common surnames (and the characters listed
-- below) only; any other character sorts after the known ones, by code
-- point. When the plugin exists, collate.key should call it instead.
--
--   local collate = require 'collate'
--   table.sort(list, collate.by_strokes(function(r) return r.name end))
--   collate.strokes('王')  --> 4, 1   (stroke count, first stroke 1..5)
local M = {}

-- character = stroke count * 10 + first stroke (1 横, 2 竖, 3 撇, 4 点, 5 折)
local T = {
  ['丁']=21, ['马']=35, ['于']=31, ['王']=41, ['邓']=45, ['方']=44, ['尹']=45, ['毛']=43,
  ['冯']=54, ['田']=52, ['叶']=52, ['卢']=52, ['石']=51, ['史']=52,
  ['刘']=64, ['孙']=65, ['朱']=63, ['许']=64, ['吕']=62, ['任']=63, ['江']=64,
  ['李']=71, ['张']=75, ['陈']=75, ['杨']=71, ['吴']=72, ['何']=73, ['宋']=74, ['肖']=72,
  ['余']=73, ['杜']=71, ['苏']=71, ['沈']=74, ['陆']=75, ['汪']=74, ['邹']=73, ['邱']=73,
  ['邵']=75, ['严']=71, ['应']=74,
  ['周']=83, ['林']=81, ['罗']=82, ['郑']=84, ['范']=81, ['金']=83, ['孟']=85,
  ['赵']=91, ['胡']=91, ['姚']=95, ['姜']=94, ['钟']=93, ['段']=93, ['侯']=93, ['俞']=93,
  ['徐']=103, ['郭']=104, ['高']=104, ['唐']=104, ['袁']=101, ['贾']=101, ['夏']=101,
  ['秦']=101, ['陶']=105, ['顾']=101, ['钱']=103,
  ['黄']=111, ['梁']=114, ['曹']=111, ['崔']=112, ['龚']=111, ['屠']=115,
  ['谢']=124, ['韩']=121, ['彭']=121, ['曾']=124, ['董']=121, ['蒋']=121, ['程']=123, ['童']=124,
  ['雷']=131, ['楼']=131,
  ['蔡']=141, ['谭']=144, ['廖']=144, ['熊']=145,
  ['潘']=154, ['薛']=161, ['魏']=173, ['戴']=171,
}

-- Stroke count and first stroke of a character, or nil when unknown.
function M.strokes(ch)
  local v = T[ch]
  if not v then return nil end
  return v // 10, v % 10
end

-- The sort key of a string: a list of numbers compared element by element.
function M.key(s)
  local k = {}
  for _, cp in utf8.codes(s) do
    local v = T[utf8.char(cp)]
    k[#k + 1] = v and v or (100000 + cp)
  end
  return k
end

function M.less(a, b)
  local ka, kb = M.key(a), M.key(b)
  for i = 1, math.min(#ka, #kb) do
    if ka[i] ~= kb[i] then return ka[i] < kb[i] end
  end
  return #ka < #kb
end

-- A comparison for table.sort: by the string get(x) in stroke order, then
-- by tie(x) when given (so the order is total and the same every run).
function M.by_strokes(get, tie)
  return function(x, y)
    local a, b = get(x), get(y)
    if a ~= b then return M.less(a, b) end
    if tie then return tie(x) < tie(y) end
    return false
  end
end

return M
