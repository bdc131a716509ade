-- lines.lua — io.lines(name) read in blocks (core/lua_lines.c): the same
-- lines as splitting the file's text at "\n" (the last line without a
-- newline too, "\r" kept, empty lines, NUL bytes, lines longer than a block,
-- lines across block boundaries), the file closed at the end and by break,
-- formats still Lua's, errors naming the file.
local t = require 'testlib'

local function write(name, text)
  local f = assert(run.open(name, 'wb'))
  f:write(text)
  f:close()
  return name
end

-- what Lua's io.lines gives: split at "\n", no empty last line after a final "\n"
local function split(text)
  local out, at = {}, 1
  while at <= #text do
    local nl = text:find('\n', at, true)
    if not nl then
      out[#out + 1] = text:sub(at)
      break
    end
    out[#out + 1] = text:sub(at, nl - 1)
    at = nl + 1
  end
  return out
end

local function lines(name)
  local out = {}
  for l in io.lines(name) do out[#out + 1] = l end
  return out
end

t.case('small files: empty, one line, no final newline, CR, empty lines, NUL', function()
  for i, text in ipairs {
    '', '\n', '\n\n', 'a', 'a\n', 'a\nb', 'a\nb\n', 'a\r\nb\r\n', '\n\nx\n\n', 'a\0b\n\0\n',
    '身份证号\n330481196001011234\n',
  } do
    local name = write('f' .. i .. '.txt', text)
    t.eq(lines(name), split(text), ('%q'):format(text))
  end
end)

t.case('lines across block boundaries and longer than a block', function()
  local parts = {}
  for i = 1, 30000 do parts[#parts + 1] = ('%018d'):format(i * 7919) end -- W3's keys: 19 bytes a line
  parts[#parts + 1] = ('x'):rep(200000) -- longer than three blocks
  parts[#parts + 1] = ''
  for i = 1, 5000 do parts[#parts + 1] = ('y'):rep(i % 97) end
  local text = table.concat(parts, '\n')
  write('big.txt', text)
  local got = lines('big.txt')
  t.eq(#got, #parts)
  t.eq(got, split(text))
  write('big2.txt', text .. '\n')
  t.eq(lines('big2.txt'), parts)
end)

t.case('break closes the file; a loop after the end returns nothing more', function()
  write('b.txt', 'one\ntwo\nthree\n')
  for _ = 1, 3000 do -- more than the process may keep open, were break to leak them
    for l in io.lines('b.txt') do
      t.eq(l, 'one')
      break
    end
  end
  local it = io.lines('b.txt')
  t.eq({ it(), it(), it(), it(), it() }, { 'one', 'two', 'three' })
end)

t.case('formats are still Lua\'s; errors name the file', function()
  write('n.txt', '12 7.5\n3\n')
  local got = {}
  for a in io.lines('n.txt', 'n') do got[#got + 1] = a end
  t.eq(got, { 12, 7.5, 3 })
  got = {}
  for l in io.lines('n.txt', 'L') do got[#got + 1] = l end
  t.eq(got, { '12 7.5\n', '3\n' })
  t.raises_all(function() for _ in io.lines('nosuch.txt') do end end, { 'nosuch.txt' })
end)

t.done()
