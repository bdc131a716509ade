/*
 * lua_store.h — the `db` global: collections, records, scans, db.atomic.
 *
 * Called by script.c; calls store.c and lua_codec.c. The store handle stays
 * the caller's; the Lua face only borrows it for the life of the state.
 */
#ifndef GH_LUA_STORE_H
#define GH_LUA_STORE_H

#include "store.h"

#include <lua.h>

/* Pushes a new `db` table bound to store `s` (borrowed: it must outlive
 * the Lua state). */
void lstore_push_db(lua_State *L, store *s);

/* Message handler for lua_pcall: the error message with a traceback; an
 * error that db.atomic saw first keeps the traceback taken where it was
 * raised. */
int lstore_traceback(lua_State *L);

#endif
