/*
 * lua_load.c — coll:load(source [, opts]): fills an empty collection in bulk,
 * the Lua face of store_bulk.c (what `gonghui import` loads a file with).
 *
 *   local n = db.members:load(function() return next_member() end)   -- nil ends it
 *   local n = db.stations:load(list_of_records, { chunk = 5000 })
 *
 * Every record is checked and refused as insert refuses it (lstore_insert_built:
 * the scope's check, the key and unique values taken, types, UTF-8, change
 * events); the index entries are held back, sorted and appended when each
 * transaction commits, instead of going one by one into random places of
 * the index tables.
 *
 * Transactions:
 *   - outside db.atomic, a transaction per opts.chunk records (CHUNK): LMDB
 *     keeps the pages a transaction writes in the heap until the end of the
 *     process (its free list of dirty pages), so the largest transaction
 *     sets the memory a load leaves behind. The map grows between chunks
 *     (store.c's grow_ahead). A collection with change events is loaded in
 *     one transaction (its events and its records stored together or not);
 *   - inside db.atomic (or a run's --atomic/--dry-run transaction), in a
 *     savepoint of the caller's transaction.
 *
 * Invariants:
 *   1. It starts only on an empty collection and ends with every record and
 *      index entry of the source stored, or, on any error (a refused record,
 *      an error the source raises, Ctrl-C), the collection empty again: the
 *      chunks already committed are deleted (store_coll_empty) before the
 *      error is raised. A process killed part way keeps its committed chunks.
 *   2. While it runs, the source reads through the load's transaction: a
 *      lookup by a unique field sees the records loaded so far (store_find
 *      asks the bulk load); a scan of the collection's indexes writes the held
 *      entries into their tables first (slower, never wrong).
 *   3. No Lua error is raised while a transaction or the bulk load is held:
 *      the loop runs under lua_pcall, and lstore_coll_load ends both first.
 */
#include "err.h"
#include "lua_store.h"

#include <lauxlib.h>
#include <stdio.h>
#include <string.h>

#define CHUNK 10000 /* records a transaction, outside db.atomic */

typedef struct lload {
    ldb *db;
    int src;          /* the source's stack index in load_loop (function or list) */
    lua_Integer n;    /* records stored */
    lua_Integer list; /* the list's length, or -1 for a function */
    lua_Integer chunk;
    int chunked;           /* commits every chunk records (else one transaction or savepoint) */
    int nested;            /* a savepoint of the caller's transaction */
    store_txn *t;          /* the open transaction, or NULL */
    store_txn *prev;       /* the write transaction t replaced (lstore_swap_txn) */
    store_bulk *b;         /* the bulk load attached to t */
    const store_coll *c;   /* the collection in t */
    lua_Integer committed; /* records in committed chunks */
    int rc;                /* a store error that ended the loop, or 0 */
    int refused;           /* rc refused record n + 1 (else a commit or a begin failed) */
} lload;

/* Begins the next transaction (the first: a fresh one or a savepoint) and
 * attaches the load to it; the source's calls use it (lstore_swap_txn). The
 * collection is at stack index 1, as in every function here. */
static int load_begin(lua_State *L, lload *ld) {
    ldb *db = ld->db;
    store_txn *parent = ld->nested ? lstore_write_txn(db) : NULL;
    if (!ld->nested) {
        lstore_release(db); /* no read open in this state: the map may grow (grow_ahead) */
    }
    int rc = store_txn_begin(db->s, parent, 1, &ld->t);
    if (rc) {
        ld->t = NULL;
        return rc;
    }
    ld->prev = lstore_swap_txn(db, ld->t);
    if ((rc = lstore_resolve(L, 1, ld->t, &ld->c))) {
        return rc;
    }
    return ld->b ? store_bulk_attach(ld->b, ld->t, ld->c)
                 : store_bulk_begin(ld->t, ld->c, 0, &ld->b);
}

/* Ends the open transaction: commits it (commit != 0) or aborts it; the
 * caller's write transaction is the state's again. */
static int load_end(lload *ld, int commit) {
    store_txn *t = ld->t;
    int rc = 0;
    if (!t) {
        return 0;
    }
    lstore_swap_txn(ld->db, ld->prev);
    ld->t = NULL;
    if (!commit) {
        store_txn_abort(t);
    } else if (ld->nested) {
        rc = store_txn_commit(t);
    } else {
        rc = lstore_commit(ld->db, t);
    }
    return rc;
}

/* The loop, under lua_pcall (invariant 3), called with the collection, ld
 * and the source (and lstore_coll_load's upvalues): the source's records,
 * each encoded and inserted; a store error ends it in ld->rc, a Lua error
 * (the source's) unwinds to lstore_coll_load. */
static int load_loop(lua_State *L) {
    lload *ld = lua_touserdata(L, 2);
    lua_settop(L, 3);
    for (;;) {
        if (ld->list >= 0) {
            if (ld->n >= ld->list) {
                break;
            }
            lua_geti(L, ld->src, ld->n + 1);
        } else {
            lua_pushvalue(L, ld->src);
            lua_call(L, 0, 1);
            if (lua_isnil(L, -1)) {
                break;
            }
        }
        int rc = lstore_encode_record(L, ld->db, ld->t, ld->c, -1);
        if (rc == 0) {
            rc = lstore_insert_built(L, ld->db, ld->t, ld->c);
        }
        lua_settop(L, 3);
        if (rc) {
            ld->rc = rc;
            ld->refused = 1;
            return 0;
        }
        ld->n++;
        if (ld->chunked && ld->n - ld->committed == ld->chunk) {
            if ((rc = load_end(ld, 1)) == 0) {
                ld->committed = ld->n; /* stored: undone by load_undo on a later failure */
                rc = load_begin(L, ld);
            }
            if (rc) {
                ld->rc = rc;
                return 0;
            }
        }
    }
    ld->rc = load_end(ld, 1);
    return 0;
}

/* After a failure: the collection as it was, empty (invariant 1). */
static int load_undo(lua_State *L, lload *ld) {
    load_end(ld, 0);
    if (!ld->committed) {
        return 0;
    }
    lstore_release(ld->db);
    int rc = store_txn_begin(ld->db->s, NULL, 1, &ld->t);
    if (rc) {
        ld->t = NULL;
        return rc;
    }
    if ((rc = lstore_resolve(L, 1, ld->t, &ld->c)) == 0) {
        rc = store_coll_empty(ld->t, ld->c);
    }
    store_txn *t = ld->t;
    ld->t = NULL;
    if (rc) {
        store_txn_abort(t);
        return rc;
    }
    return lstore_commit(ld->db, t);
}

/* coll:load(source [, opts]) -> the number of records stored. source: a
 * function returning the next record (nil: no more), or a list of records;
 * opts.chunk: records a transaction outside db.atomic (default CHUNK).
 * Errors are raised where the load was called (luaL_error's position). */
int lstore_coll_load(lua_State *L) {
    ldb *db = lstore_db(L);
    lstore_checkudata(L, 1, &lstore_coll_key, COLL_MT);
    luaL_argexpected(L, lua_isfunction(L, 2) || lua_istable(L, 2), 2,
                     _("a function returning records, or a list of records"));
    lua_Integer chunk = CHUNK;
    if (!lua_isnoneornil(L, 3)) {
        luaL_checktype(L, 3, LUA_TTABLE);
        if (lua_getfield(L, 3, "chunk") != LUA_TNIL) {
            int ok;
            chunk = lua_tointegerx(L, -1, &ok);
            luaL_argcheck(L, ok && chunk >= 1, 3,
                          _("opts.chunk must be a whole number of records, at least 1"));
        }
        lua_pop(L, 1);
    }
    lua_settop(L, 3);
    if (!lstore_write_txn(db) && (db->guard & LSTORE_READONLY)) {
        return luaL_error(L, _("load: this request only reads (GET): it cannot write"));
    }
    lload *ld = lua_newuserdatauv(L, sizeof *ld, 0); /* 4 */
    memset(ld, 0, sizeof *ld);
    ld->db = db;
    ld->src = 3;
    ld->chunk = chunk;
    ld->list = lua_istable(L, 2) ? luaL_len(L, 2) : -1;
    ld->nested = lstore_write_txn(db) != NULL;

    char msg[1024];
    int rc = load_begin(L, ld);
    uint64_t had = 0;
    if (rc == 0 && ld->c->name[0] == '_') {
        rc = err_set(GH_EINVAL,
                     _("collection '%s' belongs to gonghui itself and is read-only to scripts"),
                     ld->c->name);
    }
    if (rc == 0 && (rc = store_count(ld->t, ld->c, &had)) == 0 && had > 0) {
        rc = err_set(GH_EEXISTS,
                     _n("collection '%s' holds %llu record: load fills an empty collection "
                        "(insert adds to one)",
                        "collection '%s' holds %llu records: load fills an empty collection "
                        "(insert adds to one)",
                        had),
                     ld->c->name, (unsigned long long)had);
    }
    if (rc) {
        snprintf(msg, sizeof msg, "%s", err_msg(rc));
        load_end(ld, 0);
        store_bulk_free(ld->b);
        return luaL_error(L, "%s", msg);
    }
    /* one transaction for change events: they and their records together */
    ld->chunked = !ld->nested && !(ld->c->events && db->change_hook);

    lua_pushcfunction(L, lstore_atomic_handler); /* 5 */
    lua_pushvalue(L, lua_upvalueindex(1));
    lua_pushvalue(L, lua_upvalueindex(2));
    lua_pushcclosure(L, load_loop, 2); /* lstore_db and lstore_resolve read them */
    lua_pushvalue(L, 1);
    lua_pushvalue(L, 4);
    lua_pushvalue(L, 2);
    int status = lua_pcall(L, 3, 0, 5);
    if (status == LUA_OK && ld->rc == 0) {
        store_bulk_free(ld->b);
        lua_pushinteger(L, ld->n);
        return 1;
    }
    if (status == LUA_OK) {
        if (ld->refused) {
            snprintf(msg, sizeof msg, _("record %lld: %s; nothing was stored"),
                     (long long)ld->n + 1, err_msg(ld->rc));
        } else {
            snprintf(msg, sizeof msg, _("%s; nothing was stored"), err_msg(ld->rc));
        }
    }
    if (ld->rc == GH_EMAPFULL && ld->nested) {
        db->map_full = 1; /* the top level grows the map and redoes its unit */
    }
    rc = load_undo(L, ld);
    store_bulk_free(ld->b);
    ld->b = NULL;
    if (rc) { /* the committed chunks stay: say so, with what ended the load */
        char why[512];
        snprintf(why, sizeof why, "%s", err_msg(rc));
        if (status != LUA_OK) {
            snprintf(msg, sizeof msg, "%s", luaL_tolstring(L, -1, NULL));
        }
        return luaL_error(L,
                          _("%s (and the %lld records stored before it could not be deleted: %s)"),
                          msg, (long long)ld->committed, why);
    }
    if (status != LUA_OK) {
        return lua_error(L); /* the source's error, as it raised it */
    }
    return luaL_error(L, "%s", msg);
}
