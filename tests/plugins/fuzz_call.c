/*
 * fuzz_call.c — fuzz target for plugin calls from Lua: argument checking
 * and marshalling (core/lua_plugin.c), the libffi and direct calls
 * (core/ghffi.c), results back into Lua, with the test plugin `good`.
 *
 * Built with the project compiler into fuzz_call_replay (tests/fuzz/replay.c),
 * which runs the seed corpus tests/plugins/corpus_call/ on every ctest run
 * (under ASan/UBSan with make asan). GH_TEST_PLUGINS is the folder of good.so.
 *
 * The input is a list of calls: a byte picks one of good's functions, a byte
 * the number of arguments (0..18: too few and too many too), then each
 * argument is a type byte (nil, boolean, integer, float, string, table)
 * followed by its value. Each call runs under lua_pcall (ctest runs the
 * corpus twice: as is, and with GONGHUI_FFI_GENERIC=1, every call through
 * ffi_call). Properties: no crash, no leak, no undefined behaviour; a call
 * fails only with a string message.
 */
#include "lua_plugin.h"
#include "plugin.h"

#include <lauxlib.h>
#include <lualib.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* good's functions, without hold (it keeps memory between calls by design). */
static const char *const fns[] = {"add",   "neg32", "id_u32",  "id_u64", "max_u64", "half",
                                  "not_",  "upper", "nothing", "blen",   "rev",     "checked",
                                  "touch", "count", "mixed",   "sum16",  "events",  "last_event"};
#define NFNS (sizeof fns / sizeof *fns)

static lua_State *L;

static void setup(void) {
    plugin_set_dir(GH_TEST_PLUGINS);
    L = luaL_newstate();
    luaL_openlibs(L);
    lplugin_push(L);
    lua_setglobal(L, "plugin");
    /* good subscribes a C handler to award.*: a bus that takes it (events are not fuzzed here) */
    if (luaL_dostring(L, "bus = { on = function() return 1 end }\n"
                         "direct = plugin.load 'good'") != LUA_OK) {
        fprintf(stderr, "fuzz_call: %s\n", lua_tostring(L, -1));
        abort();
    }
}

typedef struct in {
    const uint8_t *p, *end;
} in;

static int byte(in *s) {
    return s->p < s->end ? *s->p++ : -1;
}

static uint64_t word(in *s) {
    uint64_t v = 0;
    for (int i = 0; i < 8; i++) {
        int b = byte(s);
        v = v << 8 | (uint64_t)(b < 0 ? 0 : b);
    }
    return v;
}

static void push_arg(in *s) {
    switch (byte(s) % 6) {
    case 0:
        lua_pushnil(L);
        break;
    case 1:
        lua_pushboolean(L, byte(s) & 1);
        break;
    case 2:
        lua_pushinteger(L, (lua_Integer)word(s));
        break;
    case 3: {
        uint64_t u = word(s);
        double d;
        memcpy(&d, &u, sizeof d); /* every bit pattern: NaN, inf, subnormals */
        lua_pushnumber(L, d);
        break;
    }
    case 4: {
        int n = byte(s);
        n = n < 0 ? 0 : n % 64;
        size_t left = (size_t)(s->end - s->p);
        size_t len = (size_t)n < left ? (size_t)n : left;
        lua_pushlstring(L, (const char *)s->p, len); /* NULs and bad UTF-8 included */
        s->p += len;
        break;
    }
    default:
        lua_newtable(L);
        break;
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (!L) {
        setup();
    }
    in s = {data, data + size};
    for (int calls = 0; calls < 64 && s.p < s.end; calls++) {
        int f = byte(&s);
        int nargs = byte(&s);
        if (f < 0 || nargs < 0) {
            break;
        }
        lua_getglobal(L, "direct");
        lua_getfield(L, -1, fns[(size_t)f % NFNS]);
        lua_remove(L, -2);
        nargs %= 19;
        for (int i = 0; i < nargs; i++) {
            push_arg(&s);
        }
        if (lua_pcall(L, nargs, LUA_MULTRET, 0) != LUA_OK && lua_type(L, -1) != LUA_TSTRING) {
            abort(); /* a failing call raises a message */
        }
        lua_settop(L, 0);
    }
    lua_gc(L, LUA_GCCOLLECT, 0);
    return 0;
}
