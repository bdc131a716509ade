/*
 * lua_lines.h — io.lines(name) read in blocks (lua_lines.c).
 *
 * Built on Lua only.
 */
#ifndef GH_LUA_LINES_H
#define GH_LUA_LINES_H

#include <lua.h>

/* Opens path (already allowed by the sandbox) and pushes what a generic for
 * takes: the iterator, nil, nil and the to-be-closed reader. Returns 4;
 * raises an error naming the file when it cannot be opened. */
int llines_open(lua_State *L, const char *path);

#endif
