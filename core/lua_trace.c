/*
 * lua_trace.c — tracebacks of the Lua face: the runner's message handler
 * (lstore_traceback), which lists the stack in the message language and
 * leaves run.fail's message alone, and db.atomic's (lstore_atomic_handler),
 * which keeps the traceback of the first raise so that the error re-raised
 * past db.atomic still shows where it happened.
 */
#include "lua_store.h"

#include "err.h"
#include "lua_bus.h"

#include <lauxlib.h>
#include <string.h>

/* The heading under which lstore_traceback lists the frames, in the
 * message language (the REPL cuts an error's text there). */
const char *lstore_traceback_heading(void) {
    return _("stack traceback:");
}

/* Pushes msg and the stack of L from `level` on, as luaL_traceback does but
 * with its words through the catalog: a clerk reads 调用栈 and 主程序, not
 * "stack traceback" and "main chunk". Long stacks keep their first 10 and
 * last 11 frames. */
static void push_stack(lua_State *L, const char *msg, int level) {
    luaL_Buffer b;
    lua_Debug ar;
    /* the deepest level there is: lua_getstack walks from the top, so find
     * it by doubling and halving, as luaL_traceback does (a loop over every
     * level is quadratic, minutes for a stack overflow's 200,000 levels) */
    int lo = level, hi = level + 1;
    while (lua_getstack(L, hi, &ar)) {
        lo = hi;
        hi *= 2;
    }
    while (lo < hi) {
        int m = lo + (hi - lo) / 2;
        if (lua_getstack(L, m, &ar)) {
            lo = m + 1;
        } else {
            hi = m;
        }
    }
    int last = lo;
    int skip = last - level > 21 ? last - level - 21 : 0;
    luaL_buffinit(L, &b);
    if (msg) {
        luaL_addstring(&b, msg);
        luaL_addchar(&b, '\n');
    }
    luaL_addstring(&b, lstore_traceback_heading());
    for (int i = 0; lua_getstack(L, level + i, &ar); i++) {
        if (skip && i == 10) {
            lua_pushfstring(L, _("\n\t...\t(skipping %d levels)"), skip);
            luaL_addvalue(&b);
            i += skip - 1; /* on to the last 11 */
            continue;
        }
        lua_getinfo(L, "Slnt", &ar);
        if (ar.currentline > 0) {
            lua_pushfstring(L, "\n\t%s:%d: ", ar.short_src, ar.currentline);
        } else {
            lua_pushfstring(L, "\n\t%s: ", ar.short_src);
        }
        luaL_addvalue(&b);
        if (*ar.what == 'm') {
            luaL_addstring(&b, _("in main chunk"));
        } else if (ar.name && strcmp(ar.namewhat, "method") == 0) {
            lua_pushfstring(L, _("in method '%s'"), ar.name);
            luaL_addvalue(&b);
        } else if (ar.name && strcmp(ar.namewhat, "field") == 0) {
            lua_pushfstring(L, _("in field '%s'"), ar.name);
            luaL_addvalue(&b);
        } else if (ar.name && strcmp(ar.namewhat, "local") == 0) {
            lua_pushfstring(L, _("in local '%s'"), ar.name);
            luaL_addvalue(&b);
        } else if (ar.name && strcmp(ar.namewhat, "upvalue") == 0) {
            lua_pushfstring(L, _("in upvalue '%s'"), ar.name);
            luaL_addvalue(&b);
        } else if (ar.name && *ar.namewhat) {
            lua_pushfstring(L, _("in function '%s'"), ar.name);
            luaL_addvalue(&b);
        } else if (*ar.what == 'C') {
            luaL_addstring(&b, _("in ?"));
        } else {
            lua_pushfstring(L, _("in function <%s:%d>"), ar.short_src, ar.linedefined);
            luaL_addvalue(&b);
        }
        if (ar.istailcall) {
            luaL_addstring(&b, _("\n\t(...tail calls...)"));
        }
    }
    luaL_pushresult(&b);
}

/* Pushes exactly one value: the error at index 1 as text with a traceback
 * from `level` on. */
static void push_traceback(lua_State *L, int level) {
    int top = lua_gettop(L);
    const char *msg =
        lua_type(L, 1) == LUA_TSTRING || lua_type(L, 1) == LUA_TNUMBER ? lua_tostring(L, 1) : NULL;
    if (!msg && luaL_callmeta(L, 1, "__tostring") && lua_type(L, -1) == LUA_TSTRING) {
        msg = lua_tostring(L, -1);
    } else if (!msg) {
        lua_settop(L, top);
        msg = lua_pushfstring(L, _("(error object is a %s value)"), luaL_typename(L, 1));
    }
    push_stack(L, msg, level);
    if (lua_gettop(L) > top + 1) { /* drop the __tostring result under it */
        lua_replace(L, top + 1);
        lua_settop(L, top + 1);
    }
}

int lstore_traceback(lua_State *L) {
    /* from a bus.emit handler: named, as it leaves emit (first: run.fail's
     * message is named too, and stays run.fail's) */
    lbus_name_error(L, 1);
    if (lua_getfield(L, LUA_REGISTRYINDEX, LSTORE_FAIL_KEY) == LUA_TSTRING &&
        lua_rawequal(L, -1, 1)) {
        lua_settop(L, 1); /* run.fail: the message alone, no traceback */
        return 1;
    }
    lua_pop(L, 1);
    if (lua_getfield(L, LUA_REGISTRYINDEX, TB_KEY) == LUA_TTABLE) {
        lua_getfield(L, -1, "err");
        if (!lua_isnil(L, 1) && lua_rawequal(L, -1, 1)) {
            lua_getfield(L, -2, "tb"); /* raised inside db.atomic: its traceback */
            return 1;
        }
    }
    lua_settop(L, 1);
    push_traceback(L, 1);
    return 1;
}

/* Inside db.atomic: remember where the error was raised, pass it on. */
int lstore_atomic_handler(lua_State *L) {
    lbus_name_error(L, 1); /* (db.atomic's frame stops the search: it raises again) */
    if (lua_getfield(L, LUA_REGISTRYINDEX, TB_KEY) == LUA_TTABLE) {
        lua_getfield(L, -1, "err");
        if (!lua_isnil(L, 1) && lua_rawequal(L, -1, 1)) {
            lua_settop(L, 1); /* from a nested db.atomic: already recorded */
            return 1;
        }
    }
    lua_settop(L, 1);
    lua_createtable(L, 0, 2);
    lua_pushvalue(L, 1);
    lua_setfield(L, -2, "err");
    push_traceback(L, 1);
    lua_setfield(L, -2, "tb");
    lua_setfield(L, LUA_REGISTRYINDEX, TB_KEY);
    return 1; /* the error value itself */
}
