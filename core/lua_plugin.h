/*
 * lua_plugin.h — the `plugin` global and the native half of `require`.
 *
 * Built on plugin.h and ghffi.h. See lua_plugin.c for the Lua API.
 */
#ifndef GH_LUA_PLUGIN_H
#define GH_LUA_PLUGIN_H

#include <lua.h>

/* Pushes a new `plugin` table: plugin.load, plugin.loaded, plugin.path,
 * plugin.memory. The plugin host of the state is made on the first load and
 * unloads every plugin when the state closes. */
void lplugin_push(lua_State *L);

/* The native searcher of require: if NAME.so is in the plugin path, loads
 * it (raising its refusal, if any) and pushes its table: returns 1. If
 * there is no such plugin (or name cannot be a plugin name), pushes
 * nothing and returns 0. May raise. */
int lplugin_require(lua_State *L, const char *name);

#endif
