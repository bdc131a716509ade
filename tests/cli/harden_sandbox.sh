#!/bin/sh
# harden_sandbox.sh — issue 16, classes 3, 4 and 9: no script code runs after
# the run's end (finalizers), every buffer a script makes grow counts against
# --memory, the string library and the system collections cannot be reached.
. "$(dirname "$0")/lib.sh"
setup "$@"

lua make.lua <<'EOF2'
db.define('t', { fields = { a = 'int', x = 'any?' } })
EOF2
gh --db db run "$S/make.lua"
expect_rc 0 "the database" || finish

# ---- class 3: finalizers
lua gc_loop.lua <<'EOF2'
local mt = getmetatable(io.stdout)
mt.__gc = function() while true do end end
local f = assert(io.open('x.txt', 'w'))
getmetatable(f).__gc = function() while true do end end
f = nil
collectgarbage()
print('end')
EOF2
timeout 60 "$BIN" --db db run --timeout 2 "$S/gc_loop.lua" >"$S/out" 2>"$S/err"
RC=$?
expect_rc 0 "a finalizer put on a file handle's metatable does not run" &&
  expect_out "end" "the script ended" && pass "no looping finalizer after the run"
gh --db db runs --limit 1
expect_out "gc_loop.lua" "the run is recorded" && pass "the run with a planted finalizer is recorded"

lua gc_insert.lua <<'EOF2'
getmetatable(io.stdout).__gc = function() db.t:insert{ a = 1 } end
getmetatable(io.stderr).__gc = function() db.t:insert{ a = 2 } end
local ok = pcall(setmetatable, {}, { __gc = function() db.t:insert{ a = 3 } end })
assert(not ok, 'setmetatable with __gc must be refused')
db.t:insert{ a = 4 }
EOF2
gh --db db run --dry-run "$S/gc_insert.lua"
expect_rc 0 "the dry run"
lua count.lua <<'EOF2'
print('count', db.t:count())
EOF2
gh --db db run "$S/count.lua"
expect_out "count	0" "after a dry run with planted finalizers nothing is stored" &&
  pass "a dry run stores nothing, finalizers or not"
lua gc_meta.lua <<'EOF2'
assert(getmetatable(db.t) == false, 'a collection metatable is protected')
local mt = getmetatable(io.stdout)
assert(type(mt) == 'table' and mt.__name == 'FILE*', 'a copy with the fields')
assert(getmetatable(io.stdout) ~= getmetatable(io.stdout), 'each a fresh copy')
local own = setmetatable({}, { __index = { hi = 1 } })
assert(getmetatable(own).__index.hi == 1, "a script's own metatable as it is")
print('ok')
EOF2
gh --db db run "$S/gc_meta.lua"
expect_rc 0 "getmetatable: copies for host objects, the real one for the script's" &&
  pass "getmetatable gives host metatables only as copies"

# ---- class 4: buffers count against --memory
lua mem_publish.lua <<'EOF2'
local s = ('x'):rep(4 * 1024 * 1024)
local big = {}
for i = 1, 40 do big[i] = s end -- 160 MB once encoded, 4 MB as Lua values
bus.publish('big.payload', big)
print('published')
EOF2
gh --db db run --memory 32M "$S/mem_publish.lua"
expect_rc 125 "a 160 MB payload under --memory 32M" && no_err "published" "not published" &&
  expect_err "memory" "the memory limit named" && pass "bus.publish payloads count against --memory"
lua mem_any.lua <<'EOF2'
local s = ('y'):rep(4 * 1024 * 1024)
local big = {}
for i = 1, 40 do big[i] = s end
db.t:insert{ a = 1, x = big }
print('stored')
EOF2
gh --db db run --memory 32M "$S/mem_any.lua"
expect_rc 125 "a 160 MB any field under --memory 32M" && expect_err "memory" "named" &&
  pass "any fields count against --memory"
gh --db db run "$S/count.lua"
expect_out "count	0" "nothing stored by the runs stopped at the cap"
lua mem_small.lua <<'EOF2'
local s = ('z'):rep(1024 * 1024)
bus.publish('small.payload', { s, s })
db.t:insert{ a = 1, x = { s, s } }
print('fine')
EOF2
gh --db db run --memory 32M "$S/mem_small.lua"
expect_rc 0 "payloads within the cap still work" && pass "within the cap all is well"

# ---- class 9: the string library and the system collections
lua str.lua <<'EOF2'
local f, s, k = pairs(string)
assert(s == nil, 'pairs(string) hands out no table')
local n = 0
for name in f, s, k do n = n + 1 end
assert(n > 10, 'pairs(string) still lists the library')
local ok = pcall(function() local _, t = next, select(2, pairs(string)); t.upper = nil end)
assert(not ok)
assert(('a'):upper() == 'A' and string.upper('b') == 'B')
for _, g in ipairs{ function() rawset(db, '_runs', nil); return db._runs:count() end,
                    function() db._runs = nil; return db._runs end,
                    function() rawset(db, '_checkpoints', nil); return db._checkpoints end,
                    function() return db._imports:count() end } do
  local ok2, err = pcall(g)
  assert(not ok2 and tostring(err):find('system collection'), tostring(err))
end
print('ok')
EOF2
gh --db db run "$S/str.lua"
expect_rc 0 "pairs(string) and the system collections" && expect_out "ok" "all refused" &&
  pass "the string library and run records are out of reach"

# ---- class 7: a checkpoint belongs to one pass
lua c7a.lua <<'EOF2'
db.define('a', { fields = { n = 'int' } })
db.define('b', { fields = { n = 'int' } })
db.define('log', { fields = { n = 'int' } })
for i = 1, 50 do db.a:insert{ n = i } end
EOF2
lua c7b.lua <<'EOF2'
local r = run.chunks('work', db.b, function() end, { size = 10 })
print('b pass', r.done, r.finished)
EOF2
lua c7c.lua <<'EOF2'
local r = run.chunks('work', db.a, function(m) db.log:insert{ n = m.n } end, { size = 10 })
print('a pass', r.done, db.log:count())
EOF2
lua c7d.lua <<'EOF2'
local r = run.chunks('w2', db.a, function(m) db.log:insert{ n = m.n } end,
                     { size = 10, where = { n = 1 } })
print('w2', r.done)
EOF2
lua c7e.lua <<'EOF2'
local r = run.chunks('w2', db.a, function(m) db.log:insert{ n = m.n } end, { size = 10 })
print('w2 all', r.done)
EOF2
gh --db c7 run "$S/c7a.lua"
gh --db c7 run "$S/c7b.lua"
expect_rc 0 "a pass over b named work"
gh --db c7 run "$S/c7c.lua"
expect_rc 1 "a pass over a under the name of b's finished pass is refused" &&
  expect_err "belongs to a pass over collection b" "the reason" &&
  pass "a checkpoint of a pass over another collection is not taken"
gh --db c7 run "$S/c7d.lua"
gh --db c7 run "$S/c7e.lua"
expect_rc 1 "the same name with other conditions is refused" &&
  pass "a checkpoint of a pass with other conditions is not taken"

finish
