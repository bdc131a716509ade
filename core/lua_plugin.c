/*
 * lua_plugin.c — the Lua face of native plugins.
 *
 *   plugin.load(name) -> table of functions    (also: require 'name')
 *   plugin.loaded()   -> { {name=, version=, functions={fn=signature}, events={pattern...}}, ... }
 *   plugin.path()     -> the plugin path ("dir:dir")
 *   plugin.memory()   -> bytes the plugins hold through the host
 *
 * Called by sandbox.c (lplugin_push, lplugin_require); built on plugin.h
 * and ghffi.h only.
 *
 * A plugin function is a C closure (upvalues: the plugin_fn, the state's
 * lplug). A call:
 *   1. checks the Lua arguments against the signature (number and types)
 *      and raises, naming plugin, function, argument and type, before any
 *      C resource is taken;
 *   2. calls the function through plugin_call (libffi); no Lua API is used
 *      while it runs, so no Lua error can unwind through plugin or libffi
 *      frames;
 *   3. a str/bytes result is parked in lplug.pending while it is copied
 *      into Lua: if that copy raises (memory limit), the block is freed on
 *      the next call or when the state closes, never leaked;
 *   4. an error reported through `err` becomes a Lua error
 *      "PLUGIN.FUNCTION: message" (the result is freed first).
 *
 * C event handlers (gh_api.subscribe) join the same dispatch as Lua's:
 * when the plugin loads, each is registered with the state's bus.on as a C
 * closure that encodes the payload to MessagePack, calls the handler, and
 * raises its error (after freeing the buffer), so the bus rolls back.
 */
#include "lua_plugin.h"

#include "err.h"
#include "ghffi.h"
#include "lua_codec.h"
#include "plugin.h"

#include <lauxlib.h>
#include <stdint.h>
#include <string.h>

static const char host_key = 'h';   /* registry: the lplug userdata */
static const char cache_key = 'c';  /* registry: name -> functions table */
static const char subbed_key = 's'; /* registry: plugin (light) -> true once subscribed */
#define LPLUG_MT "gonghui.plugin_host"

typedef struct lplug {
    plugin_host *h;
    void *pending; /* a str/bytes result being copied into Lua */
} lplug;

static int l_plugin_host_gc(lua_State *L) {
    lplug *lp = luaL_checkudata(L, 1, LPLUG_MT);
    if (lp->h) {
        plugin_free_result(lp->h, lp->pending);
        lp->pending = NULL;
        plugin_host_free(lp->h);
        lp->h = NULL;
    }
    return 0;
}

/* The state's host, made on first use. */
static lplug *get_host(lua_State *L) {
    if (lua_rawgetp(L, LUA_REGISTRYINDEX, &host_key) == LUA_TUSERDATA) {
        lplug *lp = lua_touserdata(L, -1);
        lua_pop(L, 1);
        return lp;
    }
    lua_pop(L, 1);
    lplug *lp = lua_newuserdatauv(L, sizeof *lp, 0);
    lp->h = NULL;
    lp->pending = NULL;
    if (luaL_newmetatable(L, LPLUG_MT)) {
        lua_pushcfunction(L, l_plugin_host_gc);
        lua_setfield(L, -2, "__gc");
        lua_pushboolean(L, 0);
        lua_setfield(L, -2, "__metatable");
    }
    lua_setmetatable(L, -2);
    void *ud;
    lua_Alloc allocf = lua_getallocf(L, &ud);
    if (plugin_host_new(allocf, ud, &lp->h) != 0) {
        luaL_error(L, "plugin: out of memory");
    }
    lua_rawsetp(L, LUA_REGISTRYINDEX, &host_key);
    return lp;
}

/* ---- calls ---------------------------------------------------------------------------- */

static int arg_error(lua_State *L, const plugin_fn *f, int i, const char *why) {
    return luaL_error(L, "%s.%s: argument #%d expects %s, got %s (signature %s)",
                      plugin_name(f->owner), f->name, i + 1, ghffi_type_name(f->sig.args[i]), why,
                      f->sigtext);
}

static int check_int(lua_State *L, const plugin_fn *f, int i, lua_Integer lo, lua_Integer hi,
                     lua_Integer *out) {
    int idx = i + 1;
    if (lua_type(L, idx) != LUA_TNUMBER) {
        return arg_error(L, f, i, luaL_typename(L, idx));
    }
    int isnum;
    lua_Integer v = lua_tointegerx(L, idx, &isnum);
    if (!isnum) {
        return arg_error(L, f, i,
                         lua_pushfstring(L, "%s (not a whole number)", lua_tostring(L, idx)));
    }
    if (v < lo || v > hi) {
        return arg_error(L, f, i, lua_pushfstring(L, "%I (out of range)", (LUAI_UACINT)v));
    }
    *out = v;
    return 0;
}

static int l_plugin_call(lua_State *L) {
    const plugin_fn *f = lua_touserdata(L, lua_upvalueindex(1));
    lplug *lp = lua_touserdata(L, lua_upvalueindex(2));
    const ghffi_sig *sig = &f->sig;
    int n = lua_gettop(L);
    if (n != sig->nargs) {
        return luaL_error(L, "%s.%s: expects %d argument%s, got %d (signature %s)",
                          plugin_name(f->owner), f->name, sig->nargs, sig->nargs == 1 ? "" : "s", n,
                          f->sigtext);
    }
    if (!lp->h) {
        return luaL_error(L, "%s.%s: the plugin is unloaded", plugin_name(f->owner), f->name);
    }
    if (lp->pending) { /* a copy into Lua that raised last time */
        plugin_free_result(lp->h, lp->pending);
        lp->pending = NULL;
    }
    ghffi_value args[GH_MAX_ARGS];
    for (int i = 0; i < n; i++) {
        int idx = i + 1;
        lua_Integer v = 0;
        size_t len;
        switch (sig->args[i]) {
        case GHFFI_BOOL:
            if (lua_type(L, idx) != LUA_TBOOLEAN) {
                return arg_error(L, f, i, luaL_typename(L, idx));
            }
            args[i].b = lua_toboolean(L, idx);
            break;
        case GHFFI_I32:
            check_int(L, f, i, INT32_MIN, INT32_MAX, &v);
            args[i].i32 = (int32_t)v;
            break;
        case GHFFI_U32:
            check_int(L, f, i, 0, UINT32_MAX, &v);
            args[i].u32 = (uint32_t)v;
            break;
        case GHFFI_I64:
            check_int(L, f, i, LUA_MININTEGER, LUA_MAXINTEGER, &v);
            args[i].i64 = (int64_t)v;
            break;
        case GHFFI_U64:
            check_int(L, f, i, 0, LUA_MAXINTEGER, &v);
            args[i].u64 = (uint64_t)v;
            break;
        case GHFFI_F64:
            if (lua_type(L, idx) != LUA_TNUMBER) {
                return arg_error(L, f, i, luaL_typename(L, idx));
            }
            args[i].f64 = (double)lua_tonumber(L, idx);
            break;
        case GHFFI_STR:
            if (lua_type(L, idx) != LUA_TSTRING) {
                return arg_error(L, f, i, luaL_typename(L, idx));
            }
            args[i].str = lua_tolstring(L, idx, &len);
            if (strlen(args[i].str) != len) {
                return arg_error(L, f, i, "a string with a NUL byte inside (use bytes)");
            }
            break;
        case GHFFI_BYTES:
            if (lua_type(L, idx) != LUA_TSTRING) {
                return arg_error(L, f, i, luaL_typename(L, idx));
            }
            args[i].bytes.data = lua_tolstring(L, idx, &len);
            args[i].bytes.len = len;
            break;
        default:
            return luaL_error(L, "%s.%s: bad signature", plugin_name(f->owner), f->name);
        }
    }
    struct gh_err e;
    ghffi_value r;
    if (plugin_call(lp->h, f, args, &e, &r) != 0) {
        return luaL_error(L, "%s.%s: %s", plugin_name(f->owner), f->name, e.msg);
    }
    switch (sig->ret) {
    case GHFFI_VOID:
        return 0;
    case GHFFI_BOOL:
        lua_pushboolean(L, r.b);
        return 1;
    case GHFFI_I32:
        lua_pushinteger(L, r.i32);
        return 1;
    case GHFFI_U32:
        lua_pushinteger(L, (lua_Integer)r.u32);
        return 1;
    case GHFFI_I64:
        lua_pushinteger(L, (lua_Integer)r.i64);
        return 1;
    case GHFFI_U64:
        if (r.u64 <= (uint64_t)LUA_MAXINTEGER) {
            lua_pushinteger(L, (lua_Integer)r.u64);
        } else {
            lua_pushnumber(L, (lua_Number)r.u64);
        }
        return 1;
    case GHFFI_F64:
        lua_pushnumber(L, r.f64);
        return 1;
    case GHFFI_STR:
        if (!r.str) {
            lua_pushnil(L);
            return 1;
        }
        lp->pending = (void *)r.str;
        lua_pushstring(L, r.str);
        plugin_free_result(lp->h, lp->pending);
        lp->pending = NULL;
        return 1;
    case GHFFI_BYTES:
        if (!r.bytes.data) {
            lua_pushnil(L);
            return 1;
        }
        lp->pending = (void *)r.bytes.data;
        lua_pushlstring(L, r.bytes.data, r.bytes.len);
        plugin_free_result(lp->h, lp->pending);
        lp->pending = NULL;
        return 1;
    default:
        return 0;
    }
}

/* __index of a plugin's table: a name it does not have is an error. */
static int l_plugin_missing(lua_State *L) {
    const plugin *p = lua_touserdata(L, lua_upvalueindex(1));
    const char *name = lua_tostring(L, 2);
    luaL_Buffer b;
    luaL_buffinit(L, &b);
    for (int i = 0; i < plugin_nfuncs(p); i++) {
        if (i) {
            luaL_addstring(&b, ", ");
        }
        luaL_addstring(&b, plugin_func(p, i)->name);
    }
    luaL_pushresult(&b);
    return luaL_error(L, "plugin '%s' has no function '%s' (it has: %s)", plugin_name(p),
                      name ? name : luaL_typename(L, 2), lua_tostring(L, -1));
}

/* The bus handler of a C subscription (upvalues: plugin_sub, lplug):
 * called with the event table (bus.publish) or (payload, topic) (bus.emit). */
static int l_plugin_handler(lua_State *L) {
    const plugin_sub *sub = lua_touserdata(L, lua_upvalueindex(1));
    lplug *lp = lua_touserdata(L, lua_upvalueindex(2));
    gh_event ev;
    memset(&ev, 0, sizeof ev);
    int payload_idx;
    if (lua_type(L, 2) == LUA_TSTRING) {
        payload_idx = 1;
        ev.topic = lua_tolstring(L, 2, &ev.topic_len);
    } else {
        luaL_checktype(L, 1, LUA_TTABLE);
        lua_settop(L, 1);
        lua_getfield(L, 1, "topic"); /* 2 */
        ev.topic = lua_tolstring(L, 2, &ev.topic_len);
        lua_getfield(L, 1, "seq");
        ev.seq = (int64_t)lua_tointeger(L, -1);
        lua_getfield(L, 1, "time");
        ev.time = (int64_t)lua_tointeger(L, -1);
        lua_getfield(L, 1, "payload");
        payload_idx = lua_gettop(L);
    }
    if (!ev.topic || !lp->h) {
        return luaL_error(L, "plugin %s: handler called without an event", plugin_name(sub->owner));
    }
    codec_buf b;
    unsigned char mem[512];
    codec_buf_init_on(&b, mem, sizeof mem);
    int rc = lcodec_encode(L, payload_idx, &b, CODEC_MAX_DEPTH - 1);
    if (rc) {
        codec_buf_free(&b);
        return luaL_error(L, "plugin %s: the payload of '%s' cannot be encoded: %s",
                          plugin_name(sub->owner), ev.topic, err_msg(rc));
    }
    ev.payload = b.p;
    ev.payload_len = b.len;
    struct gh_err e;
    plugin_deliver(lp->h, sub, &ev, &e);
    codec_buf_free(&b);
    if (e.set) {
        return luaL_error(L, "plugin %s, handler of '%s': %s", plugin_name(sub->owner),
                          sub->pattern, e.msg);
    }
    return 0;
}

/* Registers p's C handlers with the state's bus.on, once. */
static void subscribe_all(lua_State *L, lplug *lp, plugin *p) {
    if (plugin_nsubs(p) == 0) {
        return;
    }
    if (lua_rawgetp(L, LUA_REGISTRYINDEX, &subbed_key) != LUA_TTABLE) {
        lua_pop(L, 1);
        lua_newtable(L);
        lua_pushvalue(L, -1);
        lua_rawsetp(L, LUA_REGISTRYINDEX, &subbed_key);
    }
    if (lua_rawgetp(L, -1, p) != LUA_TNIL) {
        lua_pop(L, 2);
        return;
    }
    lua_pop(L, 1);
    lua_rawgeti(L, LUA_REGISTRYINDEX, LUA_RIDX_GLOBALS);
    lua_pushliteral(L, "bus");
    if (lua_rawget(L, -2) != LUA_TTABLE || lua_getfield(L, -1, "on") != LUA_TFUNCTION) {
        luaL_error(L, "plugin '%s' subscribes to events, but there is no bus here", plugin_name(p));
        return;
    }
    int on = lua_gettop(L);
    for (int i = 0; i < plugin_nsubs(p); i++) {
        const plugin_sub *s = plugin_sub_at(p, i);
        lua_pushvalue(L, on);
        lua_pushstring(L, s->pattern);
        lua_pushlightuserdata(L, (void *)s);
        lua_pushlightuserdata(L, lp);
        lua_pushcclosure(L, l_plugin_handler, 2);
        lua_call(L, 2, 0);
    }
    lua_pop(L, 3); /* on, bus, globals */
    lua_pushboolean(L, 1);
    lua_rawsetp(L, -2, p);
    lua_pop(L, 1);
}

/* Loads `name` (its validity checked by plugin_load) and pushes its table. */
static void push_plugin(lua_State *L, const char *name) {
    if (lua_rawgetp(L, LUA_REGISTRYINDEX, &cache_key) != LUA_TTABLE) {
        lua_pop(L, 1);
        lua_newtable(L);
        lua_pushvalue(L, -1);
        lua_rawsetp(L, LUA_REGISTRYINDEX, &cache_key);
    }
    if (lua_getfield(L, -1, name) == LUA_TTABLE) {
        lua_remove(L, -2);
        return;
    }
    lua_pop(L, 1);
    lplug *lp = get_host(L);
    plugin *p;
    int rc = plugin_load(lp->h, name, &p);
    if (rc) {
        luaL_error(L, "%s", err_msg(rc));
        return;
    }
    subscribe_all(L, lp, p);
    int nf = plugin_nfuncs(p);
    lua_createtable(L, 0, nf);
    for (int i = 0; i < nf; i++) {
        const plugin_fn *f = plugin_func(p, i);
        lua_pushlightuserdata(L, (void *)f);
        lua_pushlightuserdata(L, lp);
        lua_pushcclosure(L, l_plugin_call, 2);
        lua_setfield(L, -2, f->name);
    }
    lua_createtable(L, 0, 2);
    lua_pushlightuserdata(L, p);
    lua_pushcclosure(L, l_plugin_missing, 1);
    lua_setfield(L, -2, "__index");
    lua_pushboolean(L, 0);
    lua_setfield(L, -2, "__metatable");
    lua_setmetatable(L, -2);
    lua_pushvalue(L, -1);
    lua_setfield(L, -3, name);
    lua_remove(L, -2);
}

static int l_plugin_load(lua_State *L) {
    const char *name = luaL_checkstring(L, 1);
    push_plugin(L, name);
    return 1;
}

int lplugin_require(lua_State *L, const char *name) {
    char path[4096];
    if (!plugin_name_ok(name) || plugin_find(name, path, sizeof path) != 0) {
        err_clear();
        return 0;
    }
    push_plugin(L, name);
    return 1;
}

static int l_plugin_loaded(lua_State *L) {
    lua_newtable(L);
    if (lua_rawgetp(L, LUA_REGISTRYINDEX, &host_key) != LUA_TUSERDATA) {
        lua_pop(L, 1);
        return 1;
    }
    lplug *lp = lua_touserdata(L, -1);
    lua_pop(L, 1);
    for (int i = 0; lp->h && i < plugin_count(lp->h); i++) {
        plugin *p = plugin_at(lp->h, i);
        lua_createtable(L, 0, 3);
        lua_pushstring(L, plugin_name(p));
        lua_setfield(L, -2, "name");
        lua_pushstring(L, plugin_version(p));
        lua_setfield(L, -2, "version");
        lua_newtable(L);
        for (int j = 0; j < plugin_nfuncs(p); j++) {
            lua_pushstring(L, plugin_func(p, j)->sigtext);
            lua_setfield(L, -2, plugin_func(p, j)->name);
        }
        lua_setfield(L, -2, "functions");
        lua_createtable(L, plugin_nsubs(p), 0);
        for (int j = 0; j < plugin_nsubs(p); j++) {
            lua_pushstring(L, plugin_sub_at(p, j)->pattern);
            lua_rawseti(L, -2, j + 1);
        }
        lua_setfield(L, -2, "events");
        lua_rawseti(L, -2, i + 1);
    }
    return 1;
}

static int l_plugin_path(lua_State *L) {
    lua_pushstring(L, plugin_path());
    return 1;
}

static int l_plugin_memory(lua_State *L) {
    size_t n = 0;
    if (lua_rawgetp(L, LUA_REGISTRYINDEX, &host_key) == LUA_TUSERDATA) {
        lplug *lp = lua_touserdata(L, -1);
        n = lp->h ? plugin_memory(lp->h) : 0;
    }
    lua_pushinteger(L, (lua_Integer)n);
    return 1;
}

void lplugin_push(lua_State *L) {
    static const luaL_Reg fns[] = {{"load", l_plugin_load},
                                   {"loaded", l_plugin_loaded},
                                   {"path", l_plugin_path},
                                   {"memory", l_plugin_memory},
                                   {NULL, NULL}};
    luaL_newlib(L, fns);
}
