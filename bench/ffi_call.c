/*
 * ffi_call.c — the plugin-call benchmark of the plugins issue: calling a
 * plugin function i64(i64,i64) from Lua through libffi costs at most 2x a
 * hand-written lua_CFunction binding of the same C function.
 *
 *   build/bench/ffi_call [CALLS [REPS]]     (default 10,000,000 calls, 5 reps)
 *
 * One Lua state; the same loop `s = f(s, i)` runs with f = the plugin's
 * function as gonghui calls it (plugin.load 'ffibench', found in the folder
 * of this binary: i64(i64,i64) is one of the prototypes ghffi.c calls
 * directly), the same function called by libffi's ffi_call (the same
 * plugin built as 'ffibench_generic', loaded with GONGHUI_FFI_GENERIC=1),
 * the hand binding, and a Lua function (the loop and call overhead every
 * variant pays), interleaved REPS times; the medians are printed, in ns per
 * call, with the ratios to the hand binding of whole loops and of the part
 * above the Lua-function floor.
 */
#include "ffi_add.h"
#include "lua_plugin.h"
#include "plugin.h"

#include <lauxlib.h>
#include <libgen.h>
#include <lualib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The hand-written binding: what a Lua C module would do. */
static int l_hand_add(lua_State *L) {
    lua_Integer a = luaL_checkinteger(L, 1);
    lua_Integer b = luaL_checkinteger(L, 2);
    lua_pushinteger(L, (lua_Integer)ffi_add((int64_t)a, (int64_t)b));
    return 1;
}

static const char bench_lua[] =
    "local N, REPS = ...\n"
    "local direct, generic = ffibench.add, ffibench_generic.add\n"
    "local hand = hand_add\n"
    "local function lua_add(a, b) return a + b end\n"
    "local function loop(f)\n"
    "  local s, t0 = 0, os.clock()\n"
    "  for i = 1, N do s = f(s, i) end\n"
    "  assert(s == N * (N + 1) // 2)\n"
    "  return (os.clock() - t0) * 1e9 / N\n"
    "end\n"
    "local runs = { direct = {}, generic = {}, hand = {}, lua = {} }\n"
    "for _ = 1, REPS do\n"
    "  table.insert(runs.direct, loop(direct))\n"
    "  table.insert(runs.generic, loop(generic))\n"
    "  table.insert(runs.hand, loop(hand))\n"
    "  table.insert(runs.lua, loop(lua_add))\n"
    "end\n"
    "local function median(t) table.sort(t); return t[(#t + 1) // 2] end\n"
    "local d, g = median(runs.direct), median(runs.generic)\n"
    "local h, l = median(runs.hand), median(runs.lua)\n"
    "local function above(x) return (x - l) / math.max(h - l, 1e-9) end\n"
    "print(('i64(i64,i64): %d calls, median of %d'):format(N, REPS))\n"
    "print(('  plugin, as gonghui calls it  %6.1f ns/call  %.2fx hand (%.2fx above the floor)')\n"
    "      :format(d, d / h, above(d)))\n"
    "print(('  plugin, through ffi_call     %6.1f ns/call  %.2fx hand (%.2fx above the floor)')\n"
    "      :format(g, g / h, above(g)))\n"
    "print(('  hand-written lua_CFunction   %6.1f ns/call'):format(h))\n"
    "print(('  Lua function (the floor)     %6.1f ns/call'):format(l))\n"
    "print(('target: plugin <= 2x hand: %s'):format(d / h <= 2 and 'met' or 'NOT met'))\n";

int main(int argc, char **argv) {
    long calls = argc > 1 ? atol(argv[1]) : 10000000;
    long reps = argc > 2 ? atol(argv[2]) : 5;
    if (calls <= 0 || reps <= 0) {
        fprintf(stderr, "usage: ffi_call [CALLS [REPS]]\n");
        return 2;
    }
    char self[4096];
    snprintf(self, sizeof self, "%s", argv[0]);
    plugin_set_dir(dirname(self)); /* ffibench.so sits beside this binary */
    lua_State *L = luaL_newstate();
    if (!L) {
        return 1;
    }
    luaL_openlibs(L);
    lplugin_push(L);
    lua_setglobal(L, "plugin");
    lua_pushcfunction(L, l_hand_add);
    lua_setglobal(L, "hand_add");
    int rc = luaL_dostring(L, "ffibench = plugin.load 'ffibench'");
    setenv("GONGHUI_FFI_GENERIC", "1", 1); /* read when a plugin's signatures are prepared */
    rc = rc ? rc : luaL_dostring(L, "ffibench_generic = plugin.load 'ffibench_generic'");
    unsetenv("GONGHUI_FFI_GENERIC");
    rc = rc ? rc : luaL_loadbuffer(L, bench_lua, sizeof bench_lua - 1, "=ffi_call");
    if (rc == LUA_OK) {
        lua_pushinteger(L, calls);
        lua_pushinteger(L, reps);
        rc = lua_pcall(L, 2, 0, 0);
    }
    if (rc != LUA_OK) {
        fprintf(stderr, "ffi_call: %s\n", lua_tostring(L, -1));
    }
    lua_close(L);
    return rc == LUA_OK ? 0 : 1;
}
