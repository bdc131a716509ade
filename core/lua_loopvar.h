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

/* The most field names lloopvar_reads gives. */
#define LLOOPVAR_NAMES 16

/* lloopvar_kept, and when it is 0 (the loop keeps no row), pushes an array
 * of the names of the fields the loop's body reads by a constant name
 * (`m.town`; not `m[k]`), each once, at most LLOOPVAR_NAMES of them, none
 * longer than 40 bytes. Nothing pushed when 1. */
int lloopvar_reads(lua_State *L, int level);

#endif
