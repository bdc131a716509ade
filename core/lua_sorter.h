/*
 * lua_sorter.h — `require 'sorter'`: records of a few integers sorted in
 * bounded memory, spilling sorted runs to a temporary file (lua_sorter.c).
 */
#ifndef GH_LUA_SORTER_H
#define GH_LUA_SORTER_H

#include <lua.h>

/* Pushes the sorter library table (sorter.new). */
void lsorter_push(lua_State *L);

#endif
