/*
 * lua_bus.h — the `bus` global (see lua_bus.c for the API).
 */
#ifndef GH_LUA_BUS_H
#define GH_LUA_BUS_H

#include <lua.h>
#include <stdint.h>

/* Pushes a new `bus` table bound to the db table at db_idx (made by
 * lstore_push_db). Events carry the run id found in the registry under
 * "gonghui.run_id" (a string), when the runner sets one. */
void lbus_push(lua_State *L, int db_idx);

/* What an autorun did (see lbus_set_autorun). */
typedef struct lbus_autorun {
    int ran;
    int64_t handled, parked;
} lbus_autorun;

/* When name is set, bus.consumer(name, ...) for this name processes the
 * consumer's backlog right after defining it and reports into *out
 * (`gonghui events run NAME` runs the consumer's script with this set).
 * Both are borrowed until the next call; NULL turns it off. */
void lbus_set_autorun(const char *name, lbus_autorun *out);

#endif
