/*
 * lua_loopvar.h — does a generic for keep its loop variable? (lua_loopvar.c)
 */
#ifndef GH_LUA_LOOPVAR_H
#define GH_LUA_LOOPVAR_H

#include <lua.h>

/* Called from a C iterator: does the generic for that calls it (the Lua
 * function at stack `level`, at its current line) keep its first loop
 * variable anywhere (store, pass, return, capture, copy it)? 0 only when
 * its bytecode proves it does not; 1 otherwise, or when the caller cannot
 * be told to be a generic for. Cached per function and line. */
int lloopvar_kept(lua_State *L, int level);

#endif
