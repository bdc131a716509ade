/*
 * checkpoint.c — run.chunks (chunked runs that resume after a kill) and
 * run.checkpoint, over the system collection `_checkpoints`.
 *
 * Built on store.h, lua_store.h and lua_codec.h; the driver is
 * checkpoint.lua, compiled in.
 *
 * Two halves:
 *   C    cp_get(name) reads a checkpoint in the state's current transaction;
 *        cp_put{...} writes one into the db.atomic transaction in progress
 *        (defining `_checkpoints` on first use, like runs.c does `_runs`).
 *   Lua  the driver (driver_src below): validates, reads the checkpoint,
 *        then loops: db.atomic(one chunk of fn calls + cp_put), progress.
 *
 * Invariants:
 *  1. A chunk's writes and the checkpoint saying it is done are in one
 *     transaction: committed together or not at all. The driver's own
 *     position advances only after db.atomic returns, so a unit that
 *     db.atomic redoes (the map grew) starts from the same place.
 *  2. run.chunks refuses to start inside a db.atomic of the script: its
 *     chunks would not commit one by one. Inside the whole-run transaction
 *     of --atomic/--dry-run the chunks are savepoints of it (that mode's
 *     promise, all or nothing, wins).
 *  3. The driver holds what it calls (db.atomic, scan, pairs, ...) from the
 *     moment it is installed, so a script that changes globals or db
 *     fields afterwards does not change how checkpoints are kept.
 */
#include "checkpoint.h"

#include "clock.h"
#include "err.h"
#include "lua_codec.h"
#include "lua_store.h"

#include <lauxlib.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static const store_sysfield cp_fields[] = {
    {"name", FT_STRING, 0},    {"kind", FT_STRING, 0}, {"after", FT_ANY, 1},
    {"done", FT_INT, 0},       {"total", FT_INT, 1},   {"finished", FT_BOOL, 0},
    {"pass", FT_INT, 0},       {"run", FT_STRING, 1},  {"started", FT_NUMBER, 0},
    {"updated", FT_NUMBER, 0}, {"over", FT_STRING, 1},
};
#define CP_NFIELDS ((int)(sizeof cp_fields / sizeof *cp_fields))

/* The `_checkpoints` definition in write transaction t, defined (or
 * brought up to date) first when needed. */
static int cp_coll(store_txn *t, const store_coll **out) {
    store_coll *def = store_sysdef(CHECKPOINT_COLLECTION, cp_fields, CP_NFIELDS, 0);
    return def ? store_sys_ensure(t, def, out) : GH_ENOMEM;
}

/* Pushes c's tables position -> name and name -> position (1-based). */
static void push_names(lua_State *L, const store_coll *c) {
    lua_createtable(L, c->nfields, 0);
    lua_createtable(L, 0, c->nfields);
    for (int i = 0; i < c->nfields; i++) {
        lua_pushstring(L, c->fields[i].name);
        lua_rawseti(L, -3, i + 1);
        lua_pushinteger(L, i + 1);
        lua_setfield(L, -2, c->fields[i].name);
    }
}

/* cp_get(name) -> the checkpoint as a table, or nil. Also run.checkpoint. */
static int l_cp_get(lua_State *L) {
    ldb *db = lstore_db(L);
    size_t n;
    const char *name = luaL_checklstring(L, 1, &n);
    store_txn *t;
    int owned, rc;
    const store_coll *c;
    if ((rc = lstore_begin(db, 0, &t, &owned))) {
        return lstore_raise(L, rc);
    }
    if ((rc = store_coll_get(t, CHECKPOINT_COLLECTION, &c)) == GH_ENOTFOUND) {
        err_clear();
        lstore_end(db, t, owned, 0);
        lua_pushnil(L);
        return 1;
    }
    codec_buf k;
    codec_buf_init(&k);
    const void *val;
    size_t vlen;
    if (rc == 0) {
        key_put_str(&k, name, n);
        rc = k.oom ? GH_ENOMEM : store_get(t, c, k.p, k.len, &val, &vlen);
    }
    codec_buf_free(&k);
    if (rc == 0) {
        push_names(L, c);
        lua_pop(L, 1);
        rc = lcodec_push_record(L, c, -1, val, vlen);
        if (rc == 0) {
            lua_remove(L, -2);
        }
    } else if (rc == GH_ENOTFOUND) {
        err_clear();
        lua_pushnil(L);
    }
    rc = lstore_end(db, t, owned, rc);
    if (rc && rc != GH_ENOTFOUND) {
        return lstore_raise(L, rc);
    }
    return 1;
}

/* cp_put(record): writes the checkpoint into the db.atomic transaction in
 * progress; fills in run, updated, and started when absent. */
static int l_cp_put(lua_State *L) {
    ldb *db = lstore_db(L);
    luaL_checktype(L, 1, LUA_TTABLE);
    lua_settop(L, 1);
    store_txn *t = lstore_write_txn(db);
    if (!t) {
        return luaL_error(L, _("run.chunks: a checkpoint is written only inside db.atomic"));
    }
    const store_coll *c;
    int rc = cp_coll(t, &c);
    if (rc) {
        lstore_end(db, t, 0, rc);
        return lstore_raise(L, rc);
    }
    double now = clock_wall_s();
    lua_pushnumber(L, now);
    lua_setfield(L, 1, "updated");
    if (lua_getfield(L, 1, "started") == LUA_TNIL) {
        lua_pushnumber(L, now);
        lua_setfield(L, 1, "started");
    }
    lua_pop(L, 1);
    if (lua_getfield(L, LUA_REGISTRYINDEX, "gonghui.run_id") == LUA_TSTRING &&
        lua_rawlen(L, -1) > 0) {
        lua_setfield(L, 1, "run");
    } else {
        lua_pop(L, 1);
    }
    codec_buf b;
    codec_buf_init(&b);
    rc = lcodec_encode_record(L, 1, c, NULL, NULL, &b);
    if (rc == 0) {
        rc = store_put(t, c, STORE_REPLACE, b.p, b.len);
    }
    codec_buf_free(&b);
    lua_settop(L, 1);
    rc = lstore_end(db, t, 0, rc); /* notes a full map: db.atomic grows it and redoes */
    return rc ? lstore_raise(L, rc) : 0;
}

/* cp_inside() -> true inside a db.atomic of the script (not the whole-run
 * transaction of --atomic or --dry-run). */
static int l_cp_inside(lua_State *L) {
    ldb *db = lstore_db(L);
    lua_pushboolean(L, lstore_in_atomic(db));
    return 1;
}

/* is_coll(x) -> true if x is a collection object (db.name). */
static int l_cp_is_coll(lua_State *L) {
    lua_pushboolean(L, lstore_testudata(L, 1, &lstore_coll_key) != NULL);
    return 1;
}

/* The driver (checkpoint.lua). Its arguments: db.atomic, cp_get, cp_put,
 * cp_inside, is_coll, the run table. Returns run.chunks. */
#include "checkpoint_lua.h" /* generated from checkpoint.lua: static const char driver_src[] */

/* Makes the driver's run.chunks function (upvalues: 1 db.atomic, 2 the
 * ldb userdata, 3 the db table, 4 the run table) and returns it. Called
 * by the stub below on the first run.chunks: compiling the driver at every
 * start was a third of an empty run's instructions (issue 18, W6). */
static int l_cp_make(lua_State *L) {
    if (luaL_loadbufferx(L, driver_src, sizeof driver_src - 1, "=run.chunks", "t") != LUA_OK) {
        return lua_error(L); /* cannot happen: the source is ours */
    }
    lua_pushvalue(L, lua_upvalueindex(1));
    lua_CFunction fns[] = {l_cp_get, l_cp_put, l_cp_inside, l_cp_is_coll};
    for (int i = 0; i < 4; i++) {
        lua_pushvalue(L, lua_upvalueindex(2));
        lua_pushvalue(L, lua_upvalueindex(3));
        lua_pushcclosure(L, fns[i], 2);
    }
    lua_pushvalue(L, lua_upvalueindex(4));
    lua_call(L, 6, 1);
    return 1;
}

/* run.chunks as installed: makes the driver on the first call and tail-calls
 * it, so its errors at level 2 still name the script's line. */
static const char stub_src[] = "local make = ...\n"
                               "local real\n"
                               "return function(...)\n"
                               "  real = real or make()\n"
                               "  return real(...)\n"
                               "end\n";

void checkpoint_install(lua_State *L, int db_idx, int run_idx) {
    db_idx = lua_absindex(L, db_idx);
    run_idx = lua_absindex(L, run_idx);
    lua_getfield(L, db_idx, "atomic");
    int atomic = lua_gettop(L);
    /* every db function holds 1: the ldb userdata, 2: the db table */
    if (!lua_iscfunction(L, atomic) || !lua_getupvalue(L, atomic, 1) ||
        !luaL_testudata(L, -1, DB_MT)) {
        lua_settop(L, atomic - 1);
        return;
    }
    int ud = lua_gettop(L);
    if (luaL_loadbufferx(L, stub_src, sizeof stub_src - 1, "=run.chunks", "t") != LUA_OK) {
        lua_settop(L, atomic - 1); /* cannot happen: the source is ours */
        return;
    }
    lua_pushvalue(L, atomic);
    lua_pushvalue(L, ud);
    lua_pushvalue(L, db_idx);
    lua_pushvalue(L, run_idx);
    lua_pushcclosure(L, l_cp_make, 4);
    if (lua_pcall(L, 1, 1, 0) != LUA_OK) {
        lua_settop(L, atomic - 1);
        return;
    }
    lua_setfield(L, run_idx, "chunks");
    lua_pushvalue(L, ud);
    lua_pushvalue(L, db_idx);
    lua_pushcclosure(L, l_cp_get, 2);
    lua_setfield(L, run_idx, "checkpoint");
    lua_settop(L, atomic - 1);
}
