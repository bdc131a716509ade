-- .luacheckrc — luacheck (Debian lua-check) over the shipped Lua: scripts/,
-- core/*.lua, tests/lua. ctest's lint_lua runs `luacheck --only 1`: it fails on
-- what is always a bug (an undefined or misspelt global, a syntax error);
-- `luacheck scripts core tests/lua` also lists unused values, shadowing and
-- unreachable code, which hide bugs too.
std = 'lua54'
-- the sandbox's globals (core/sandbox.c, core/script.c, core/repl.c)
globals = { 'db', 'bus', 'run', 'params', 'export', 'pii', 'plugin', 'parse', 'gettext',
            'ngettext', 'N_', '_', 'query' }
max_line_length = false
-- `_x` names say "unused on purpose"; arguments are often there for an interface
unused_args = false
ignore = { '21./_.*', '4../_.*' }
-- the sandbox test reads and writes globals that do not exist on purpose
files['tests/lua/sandbox_env.lua'] = { ignore = { '1' } }
