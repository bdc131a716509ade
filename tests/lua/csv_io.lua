-- csv_io.lua — run.read_csv and run.write_csv (core/lua_csv.c): the
-- encodings import accepts (UTF-8, BOM, GB18030, UTF-16), quoting, physical
-- line numbers, header mode, the formula guard both ways, errors in the row
-- function, bad files returning nil and a message, bad cells refused before
-- anything is written.
local t = require 'testlib'

local function write(name, bytes)
  local f = run.open(name, 'wb')
  f:write(bytes)
  f:close()
  return name
end

local function read_all(path, opts)
  local rows = {}
  local n, enc = run.read_csv(path, function(r, line) rows[#rows + 1] = { line = line, r = r } end, opts)
  return rows, n, enc
end

t.case('UTF-8: quoting, quoted line breaks, CRLF, physical lines', function()
  write('a.csv', 'name,note\r\n张三,"a, b"\r\n李四,"two\r\nlines"\r\n"王""五",x\r\n')
  local rows, n, enc = read_all('a.csv')
  t.eq(n, 4)
  t.eq(enc, 'UTF-8')
  t.eq(rows, {
    { line = 1, r = { 'name', 'note' } },
    { line = 2, r = { '张三', 'a, b' } },
    { line = 3, r = { '李四', 'two\r\nlines' } },
    { line = 5, r = { '王"五', 'x' } },
  })
end)

t.case('a BOM is dropped; GB18030 is found and decoded; UTF-16 with its BOM', function()
  write('bom.csv', '\239\187\191名称,数量\n白菜,3\n')
  local rows, n, enc = read_all('bom.csv')
  t.eq({ n, enc, rows[1].r, rows[2].r }, { 2, 'UTF-8 with BOM', { '名称', '数量' }, { '白菜', '3' } })
  -- 张三 in GBK: D5 C5 C8 FD
  write('gbk.csv', 'name\n\213\197\200\253\n')
  rows, n, enc = read_all('gbk.csv')
  t.eq({ n, enc, rows[2].r[1] }, { 2, 'GB18030', '张三' })
  write('u16.csv', '\255\254a\0,\0b\0\n\0')
  rows, n, enc = read_all('u16.csv')
  t.eq({ n, enc, rows[1].r }, { 1, 'UTF-16LE', { 'a', 'b' } })
  -- utf-8 forced: the GBK file is refused, naming the line
  local ok, msg = run.read_csv('gbk.csv', function() end, { encoding = 'utf-8' })
  t.eq(ok, nil)
  t.ok(msg:find('gbk.csv: line 2: bytes that are not valid UTF-8', 1, true), msg)
end)

t.case('header mode: rows keyed by the first row, empty cells absent, the guard removed', function()
  write('h.csv', 'date,vendor,,amount\n2025-05-01,V01,ignored,\'=1+1\n2025-05-02,,x,5\n')
  local rows, n = read_all('h.csv', { header = true })
  t.eq(n, 2)
  t.eq(rows, {
    { line = 2, r = { date = '2025-05-01', vendor = 'V01', amount = '=1+1' } },
    { line = 3, r = { date = '2025-05-02', amount = '5' } },
  })
  write('dup.csv', 'a,b,a\n1,2,3\n')
  t.raises_all(function() read_all('dup.csv', { header = true }) end,
               { "line 1: the column 'a' is named twice (columns 1 and 3)" })
end)

t.case("what export writes reads back as it was: the text guard =\"digits\" on ID numbers and phones", function()
  write('x.csv', '身份证号,电话,名\n="330281199001011234",="05731234567",\'=x\n')
  local rows = read_all('x.csv', { header = true })
  t.eq(rows, { { line = 2, r = { ['身份证号'] = '330281199001011234', ['电话'] = '05731234567', ['名'] = '=x' } } })
end)

t.case('TSV', function()
  write('t.tsv', 'a\tb,c\n1\t2\n')
  local rows = read_all('t.tsv', { tsv = true })
  t.eq(rows[1].r, { 'a', 'b,c' })
end)

t.case("the row function's error stops the reading and reaches the caller as it was", function()
  write('e.csv', '1\n2\n3\n')
  local seen = 0
  local ok, err = pcall(run.read_csv, 'e.csv', function(r)
    seen = seen + 1
    if r[1] == '2' then error({ code = 'mine' }) end
  end)
  t.eq({ ok, err, seen }, { false, { code = 'mine' }, 2 })
  -- and the next read works (nothing was left open)
  t.eq(select(2, read_all('e.csv')), 3)
end)

t.case('bad files: nil and a message naming the file and line; misuse raises', function()
  local ok, msg = run.read_csv('no-such.csv', function() end)
  t.eq(ok, nil)
  t.ok(msg:find('cannot open no-such.csv', 1, true), msg)
  write('q.csv', 'a,b\n1,"open\n2,3\n')
  ok, msg = run.read_csv('q.csv', function() end)
  t.eq(ok, nil)
  t.ok(msg:find('q.csv: line 2: a quoted cell starts here and is never closed', 1, true), msg)
  t.raises(function() run.read_csv('a.csv') end, 'function expected')
  t.raises_all(function() run.read_csv('a.csv', print, { encoding = 'latin1' }) end,
               { "encoding 'latin1' (encodings: auto, utf-8, gb18030)" })
end)

t.case('write_csv: BOM once, CRLF, quotes where needed, the formula guard, numbers and booleans', function()
  local f = run.open('w.csv', 'w')
  run.write_csv(f, { { 'vendor', 'amount', 'note' }, { '张, 三', 1250, 'say "hi"' } })
  run.write_csv(f, { { '=SUM(A1)', true, nil, 'x' }, { 'two\nlines', 1.5 } })
  f:close()
  local got = io.open('w.csv', 'rb'):read('a')
  t.eq(got, '\239\187\191vendor,amount,note\r\n"张, 三",1250,"say ""hi"""\r\n'
            .. "'=SUM(A1),true,,x\r\n\"two\nlines\",1.5\r\n")
  -- read back: the same cells
  local rows = read_all('w.csv')
  t.eq(rows[3].r, { '=SUM(A1)', 'true', '', 'x' })
  t.eq(rows[4].r, { 'two\nlines', '1.5' })
  f = run.open('ng.csv', 'w')
  run.write_csv(f, { { '=1' } }, { guard = false })
  f:close()
  t.eq(io.open('ng.csv', 'rb'):read('a'), '\239\187\191=1\r\n')
end)

t.case('write_csv: a bad cell is refused before anything is written', function()
  local f = run.open('bad.csv', 'w')
  t.raises_all(function() run.write_csv(f, { { 'ok' }, { 'a', {} } }) end,
               { 'row 2, cell 2 is a table' })
  t.raises_all(function() run.write_csv(f, { 'not a row' }) end, { 'row 1 is a string' })
  f:close()
  t.eq(io.open('bad.csv', 'rb'):read('a'), '')
  t.raises_all(function() run.write_csv(f, {}) end, { 'the file is closed' })
end)

t.done()
