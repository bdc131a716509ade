/*
 * lua_parse.h — `require 'parse'`: parse.c's strict parsers for scripts
 * (see lua_parse.c for the Lua API).
 *
 * Built on parse.h only.
 */
#ifndef GH_LUA_PARSE_H
#define GH_LUA_PARSE_H

#include <lua.h>

/* Pushes the parse library table. clock_idx is the index of a function
 * returning the run's time in seconds (the sandbox's os.time: parse.id's
 * "a birth date not after today" follows --now), or 0 for the system's. */
void lparse_push(lua_State *L, int clock_idx);

#endif
