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

/* Sets the run's id (the registry's "gonghui.run_id"), and the one the
 * state's bus, if it has one yet, gives the events it publishes from now on.
 * The one way to change it: the bus keeps its own reference. */
void lbus_set_run(lua_State *L, const char *uid);

/* For message handlers, at the moment of an error: when the error (a
 * message, at idx) comes from a handler that bus.emit is calling, replaces
 * it with the message naming the topic and the handler (as bus.publish's
 * and the C emit's protected calls do). bus.emit calls its handlers with no
 * protected call of its own (lua_bus.c); every message handler a script's
 * error passes calls this. */
void lbus_name_error(lua_State *L, int idx);

/* Whether a handler registered with bus.on may run on a publish: bus_ud is
 * the ldb's (lua_store.h); a writer that publishes from C and must stay one
 * unit takes a savepoint then (a handler's error comes midway). */
int lbus_listened(const void *bus_ud);
/* Notes a C function that catches errors with a message handler calling
 * lbus_name_error (the sandbox's pcall and xpcall, db.atomic): the search
 * for the emit stops at its frame. Process-wide; noting again is harmless. */
void lbus_catcher(lua_CFunction f);

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
