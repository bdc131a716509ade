/*
 * lua_store.c — the Lua face of the store: the `db` global.
 *
 *   db.define(name, spec)    db.drop(name)    db.collections()
 *   db.atomic(fn, ...)       db.null
 *   db.<name>  (a collection): get insert put update delete find scan list
 *                              count count_by schema
 *
 * Built on store.h, lua_codec.h and bus_change.h (the change events);
 * db.define's spec is read and checked by lua_define.c.
 *
 * Transactions: while db.atomic runs, every operation uses its write
 * transaction (nested db.atomic: a savepoint). Outside it, a read takes a
 * pooled read transaction for the one call, a write runs in its own write
 * transaction, and a scan holds a read transaction until the loop ends (or
 * breaks: the scan is the loop's to-be-closed value).
 *
 * Errors: a C resource is never held across a Lua error: each function
 * ends its own transaction before it raises.
 */
#include "lua_store.h"

#include "bus_change.h"
#include "clock.h"
#include "codec.h"
#include "err.h"
#include "lua_bus.h"
#include "pii.h"
#include "lua_codec.h"
#include "scope.h"

#include <assert.h>
#include <lauxlib.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

const char lstore_coll_key = 'c', lstore_row_key = 'r';

void *lstore_testudata(lua_State *L, int idx, const void *key) {
    void *p = lua_touserdata(L, idx);
    if (p && lua_getmetatable(L, idx)) {
        lua_rawgetp(L, LUA_REGISTRYINDEX, key);
        int same = lua_rawequal(L, -1, -2);
        lua_pop(L, 2);
        return same ? p : NULL;
    }
    return NULL;
}

void *lstore_checkudata(lua_State *L, int idx, const void *key, const char *tname) {
    void *p = lstore_testudata(L, idx, key);
    if (!p) {
        luaL_typeerror(L, idx, tname);
    }
    return p;
}

ldb *lstore_db(lua_State *L) {
    return lua_touserdata(L, lua_upvalueindex(1));
}

/* Raises the store's message for rc. Call only when holding nothing. */
int lstore_raise(lua_State *L, int rc) {
    return luaL_error(L, "%s", err_msg(rc));
}

/* ---- transactions -------------------------------------------------------------- */

/* Begins the transaction for one call: the atomic one if any (*owned = 0),
 * else a fresh read or write transaction (*owned = 1). */
#define RTXN_MAX_OPS 10000
#define RTXN_MAX_MS 20 /* by the coarse clock: up to a tick (4 ms at 250 Hz) more */

void lstore_release(ldb *db) {
    if (db->rtxn) {
        store_txn_commit(db->rtxn);
        db->rtxn = NULL;
    }
}

int lstore_begin(ldb *db, int write, store_txn **t, int *owned) {
    if (db->wtxn) {
        *t = db->wtxn;
        *owned = 0;
        return 0;
    }
    if (write && (db->guard & LSTORE_READONLY)) {
        return err_set(GH_EINVAL, _("this request only reads (GET): it cannot write; a route "
                                    "that writes is declared with write = true"));
    }
    if (write) {
        lstore_release(db);
        *owned = 1;
        return store_txn_begin(db->s, NULL, 1, t);
    }
    /* A lent snapshot saves a transaction per call (a renew, and a lookup
     * of each table's root in it); it is kept short so it never holds old
     * pages for long (a held reader makes the file grow), nor keeps another
     * process's commits from a reader for long. Its age is read on every
     * call, so from the coarse clock. */
    if (db->rtxn &&
        (++db->rtxn_ops > RTXN_MAX_OPS || clock_mono_coarse_ms() - db->rtxn_since > RTXN_MAX_MS)) {
        lstore_release(db);
    }
    if (!db->rtxn) {
        int rc = store_txn_begin(db->s, NULL, 0, &db->rtxn);
        if (rc) {
            db->rtxn = NULL;
            return rc;
        }
        db->rtxn_ops = 0;
        db->rtxn_since = clock_mono_coarse_ms();
    }
    *t = db->rtxn;
    *owned = 0;
    return 0;
}

/* Ends the call's transaction: commits if rc == 0 and the transaction is
 * ours, aborts if it failed. Returns the final code. */
static ldb *db_of(lua_State *L, int db_idx) {
    ldb *db = NULL;
    if (lua_getmetatable(L, db_idx)) {
        lua_getfield(L, -1, "__db");
        db = luaL_testudata(L, -1, DB_MT);
        lua_pop(L, 2);
    }
    return db;
}

int lstore_end(ldb *db, store_txn *t, int owned, int rc) {
    if (rc == GH_EMAPFULL) {
        db->map_full = 1;
    }
    if (!owned) {
        return rc;
    }
    if (rc == 0 || rc == GH_ENOTFOUND) {
        int c = lstore_commit(db, t);
        return c ? c : rc;
    }
    store_txn_abort(t);
    return rc;
}

/* ---- units of work ------------------------------------------------------------- */

typedef struct lstore_unit {
    ldb *db;
    int (*work)(store_txn *t, void *ctx);
    void *ctx;
    int notfound;
} lstore_unit;

static int unit_work(store_txn *t, void *ctx) {
    lstore_unit *u = ctx;
    int rc = u->work(t, u->ctx);
    u->notfound = rc == GH_ENOTFOUND;
    return u->notfound ? 0 : rc; /* a normal absence: what was written stands */
}

static int unit_commit(store_txn *t, void *ctx) {
    return lstore_commit(((lstore_unit *)ctx)->db, t);
}

int lstore_write(ldb *db, int (*work)(store_txn *t, void *ctx), void *ctx) {
    if (db->wtxn) {
        int rc = work(db->wtxn, ctx);
        if (rc == GH_EMAPFULL) {
            db->map_full = 1; /* the unit is dead: its owner grows the map and redoes it */
        }
        return rc;
    }
    if (db->guard & LSTORE_READONLY) {
        return err_set(GH_EINVAL, _("this request only reads (GET): it cannot write; a route "
                                    "that writes is declared with write = true"));
    }
    lstore_release(db); /* the map cannot grow under a read */
    lstore_unit u = {db, work, ctx, 0};
    int rc = store_unit(db->s, unit_work, unit_commit, &u);
    return rc == 0 && u.notfound ? GH_ENOTFOUND : rc;
}

/* Adds n counts c (copied before their transaction ended) to *done. */
static void add_done(store_counts **done, int *ndone, store_counts *c, int n) {
    for (int i = 0; c && i < n; i++) {
        int j = 0;
        if (!c[i].name) { /* its copy ran out of memory (store_counts_copy): lost, as documented */
            continue;
        }
        while (j < *ndone && strcmp((*done)[j].name, c[i].name) != 0) {
            j++;
        }
        if (j == *ndone && c[i].name) {
            store_counts *m = realloc(*done, (size_t)(*ndone + 1) * sizeof *m);
            if (m) {
                *done = m;
                memset(&m[j], 0, sizeof *m);
                m[j].name = c[i].name;
                c[i].name = NULL;
                (*ndone)++;
            }
        }
        if (j < *ndone) {
            (*done)[j].inserted += c[i].inserted;
            (*done)[j].updated += c[i].updated;
            (*done)[j].deleted += c[i].deleted;
        }
        free(c[i].name);
    }
    free(c);
}

int lstore_commit(ldb *db, store_txn *t) {
    int n = 0, ne = 0;
    store_counts *pending = NULL, *events = NULL; /* t's own end frees its counts */
    if (store_txn_is_write(t)) {
        const store_counts *c = store_txn_counts(t, &n);
        pending = n ? store_counts_copy(c, n) : NULL;
        c = store_txn_tallies(t, &ne);
        events = ne ? store_counts_copy(c, ne) : NULL;
    }
    int rc = store_txn_commit(t);
    if (rc) {
        store_counts_free(pending, n);
        store_counts_free(events, ne);
        return rc;
    }
    add_done(&db->done, &db->ndone, pending, n);
    add_done(&db->done_events, &db->ndone_events, events, ne);
    return rc;
}

const store_counts *lstore_committed_events(lua_State *L, int db_idx, int *n) {
    ldb *db = db_of(L, db_idx);
    *n = db ? db->ndone_events : 0;
    return db ? db->done_events : NULL;
}

void lstore_set_scope(lua_State *L, int db_idx, const struct scope *sc) {
    ldb *db = db_of(L, db_idx);
    if (db) {
        lstore_release(db); /* a new request reads a fresh snapshot */
        db->scope = sc;
    }
}

void lstore_set_guard(lua_State *L, int db_idx, int guard) {
    ldb *db = db_of(L, db_idx);
    if (db) {
        db->guard = guard;
    }
}

void lstore_lend_txn(lua_State *L, int db_idx, store_txn *t) {
    ldb *db = db_of(L, db_idx);
    if (db) {
        lstore_release(db);
        db->wtxn = t;
    }
}

int lstore_take_map_full(lua_State *L, int db_idx) {
    ldb *db = db_of(L, db_idx);
    int full = db && db->map_full;
    if (db) {
        db->map_full = 0;
    }
    return full;
}

int lstore_visible(const ldb *db, const store_coll *c, const void *rec, size_t n) {
    return !db->scope || scope_visible(db->scope, c, rec, n);
}

/* 0 if the current request may write record rec of c (scope.h). */
static int scope_write_ok(ldb *db, store_txn *t, const store_coll *c, const void *rec, size_t n,
                          const char *what) {
    return db->scope && c->scope ? scope_check_write(t, db->scope, c, rec, n, what) : 0;
}

const store_counts *lstore_committed_counts(lua_State *L, int db_idx, int *n) {
    ldb *db = db_of(L, db_idx);
    *n = db ? db->ndone : 0;
    return db ? db->done : NULL;
}

/* ---- collections ------------------------------------------------------------------ */

/* Resolves the collection object at idx in transaction t; refreshes its
 * name tables (uservalue 1: position -> name, 2: name -> position) when the
 * definition changed. Returns 0 or an error code; never raises except for
 * Lua memory errors. */
static int resolve_lc(lua_State *L, int idx, lcoll *lc, const ldb *db, store_txn *t,
                      const store_coll **out);

int lstore_resolve(lua_State *L, int idx, store_txn *t, const store_coll **out) {
    /* callers check the argument */
    return resolve_lc(L, idx, lua_touserdata(L, idx), lstore_db(L), t, out);
}

/* lstore_resolve with the collection object (lc, at idx) and db at hand:
 * a lookup's call fetched them once (lua_touserdata costs 30 instructions). */
static int resolve_lc(lua_State *L, int idx, lcoll *lc, const ldb *db, store_txn *t,
                      const store_coll **out) {
    const store_coll *c;
    int rc = store_sync(t);
    if (rc == 0 && lc->c && lc->gen == store_generation(db->s)) {
        *out = lc->c; /* the cache has not moved since we resolved it */
        return 0;
    }
    if (rc == 0) {
        rc = store_coll_get(t, lc->name, &c);
    }
    if (rc) {
        return rc == GH_ENOTFOUND ? err_set(GH_ENOTFOUND,
                                            _("no collection named '%s' (define it with "
                                              "db.define)"),
                                            lc->name)
                                  : rc;
    }
    if (lc->c != c || lc->gen != store_generation(db->s)) {
        idx = lua_absindex(L, idx);
        lua_createtable(L, c->nfields, 0);
        lua_createtable(L, 0, c->nfields);
        size_t nkeys = (size_t)c->nfields + (size_t)c->nindexes;
        lshape *sh = lua_newuserdatauv(L, sizeof *sh + nkeys * sizeof sh->keys[0], 1);
        sh->n = c->nfields;
        sh->nix = c->nindexes;
        lua_createtable(L, c->nindexes, 0); /* the index names, held by the shape */
        for (int i = 0; i < c->nindexes; i++) {
            sh->keys[c->nfields + i] = lua_pushstring(L, c->indexes[i].name);
            lua_rawseti(L, -2, i + 1);
        }
        lua_setiuservalue(L, -2, 1);
        for (int i = 0; i < c->nfields; i++) {
            sh->keys[i] = NULL;
            if (i == c->extra) {
                lua_pushboolean(L, 0);
                lua_rawseti(L, -4, i + 1);
                continue;
            }
            sh->keys[i] = lua_pushstring(L, c->fields[i].name);
            lua_pushvalue(L, -1);
            lua_rawseti(L, -5, i + 1);
            lua_pushinteger(L, i + 1);
            lua_rawset(L, -4);
        }
        lua_pushvalue(L, -1);
        lua_rawseti(L, -4, 0); /* the shape, held by the name table (rows keep that) */
        lua_rawseti(L, -2, 0); /* ... and found through the position table */
        lua_setiuservalue(L, idx, 2);
        lua_setiuservalue(L, idx, 1);
        lc->c = c;
        lc->gen = store_generation(db->s);
        lc->shape = sh;
    }
    *out = c;
    return 0;
}

static void push_coll(lua_State *L, const char *name) {
    size_t n = strlen(name);
    lcoll *lc = lua_newuserdatauv(L, sizeof *lc + n + 1, 2);
    lc->c = NULL;
    lc->gen = 0;
    lc->shape = NULL;
    lc->hint = 0;
    memcpy(lc->name, name, n + 1);
    luaL_setmetatable(L, COLL_MT);
}

/* Encodes a Lua key for field `pos` of c into out (tuple encoding). */
int lstore_key_elem(lua_State *L, int idx, const store_coll *c, int pos, codec_buf *out) {
    int type = c->fields[pos].type, t = lua_type(L, idx);
    if (t == LUA_TNUMBER && (type == FT_INT || type == FT_FEN)) {
        lua_Integer v;
        if (lua_isinteger(L, idx)) {
            key_put_int(out, lua_tointeger(L, idx));
            return 0;
        }
        if (lua_numbertointeger(lua_tonumber(L, idx), &v) &&
            (lua_Number)v == lua_tonumber(L, idx)) {
            key_put_int(out, v);
            return 0;
        }
    } else if (t == LUA_TNUMBER && type == FT_NUMBER) {
        key_put_double(out, lua_tonumber(L, idx));
        return 0;
    } else if (t == LUA_TSTRING && (type == FT_STRING || type == FT_DATE)) {
        size_t n;
        const char *s = lua_tolstring(L, idx, &n);
        if (type == FT_STRING || codec_is_date(s, n)) {
            key_put_str(out, s, n);
            return 0;
        }
    } else if (t == LUA_TBOOLEAN && type == FT_BOOL) {
        key_put_bool(out, lua_toboolean(L, idx));
        return 0;
    }
    lcodec_push_shown(L, idx);
    int rc = err_set(GH_ETYPE, _("collection '%s': field '%s' is %s, got %s"), c->name,
                     store_field_label(c, pos),
                     type == FT_DATE ? _("a date (YYYY-MM-DD)") : store_type_name(type),
                     lua_tostring(L, -1));
    lua_pop(L, 1);
    return rc;
}

static int encode_pk(lua_State *L, int idx, const store_coll *c, codec_buf *out) {
    out->len = 0;
    int rc = lstore_key_elem(L, idx, c, c->key, out);
    if (rc == 0 && out->len > STORE_MAX_KEY) {
        lcodec_push_shown(L, idx);
        rc = err_set(GH_ETOOBIG,
                     _("collection '%s': key field '%s' is %zu bytes encoded, over the limit of "
                       "%d (%s); use a shorter value"),
                     c->name, c->fields[c->key].name, out->len, STORE_MAX_KEY, lua_tostring(L, -1));
        lua_pop(L, 1);
        return rc;
    }
    return rc ? rc : out->oom ? GH_ENOMEM : 0;
}

/* Pushes the record's fields named by the arguments from `first` on, or the
 * whole record as a table when there are none. Returns the number pushed or
 * a negative code. */
/* push_fields for one field, at position pos: the record walked whole (a
 * damaged record is an error whichever field is asked for), a short string
 * pushed without the general reader (W3 of issue 18: a lookup's name). */
static int push_one_field(lua_State *L, const store_coll *c, int pos, const void *rec, size_t n) {
    const unsigned char *end = (const unsigned char *)rec + n, *at = NULL;
    uint32_t narr;
    const unsigned char *p = mp_record_fields(rec, n, &narr);
    if (!p) {
        goto corrupt;
    }
    if ((uint32_t)pos < narr) { /* walked whole: its fields before pos, then from pos on */
        at = p = mp_skip_n(p, end, (uint32_t)pos);
        p = p ? mp_skip_n(p, end, narr - (uint32_t)pos) : NULL;
    } else {
        p = mp_skip_n(p, end, narr);
    }
    if (!p) {
        goto corrupt;
    }
    if (!at) {
        lua_pushnil(L); /* past the stored array: a field added later */
        return 1;
    }
    if (*at >= 0xa0 && *at <= 0xbf) { /* a short string: its bytes checked by the walk */
        lua_pushlstring(L, (const char *)at + 1, *at & 0x1fu);
        return 1;
    }
    mp_reader r;
    mp_reader_init(&r, at, (size_t)(end - at));
    if (lcodec_push(L, &r, CODEC_MAX_DEPTH) == 0) {
        return 1;
    }
corrupt:
    return err_set(GH_ECORRUPT,
                   _("collection '%s': a stored record is corrupt (run gonghui check)"), c->name);
}

static int push_fields(lua_State *L, int coll_idx, lcoll *lc, const store_coll *c, int first,
                       int top, const void *rec, size_t n) {
    if (first == top && lua_type(L, first) == LUA_TSTRING) {
        int pos = lc->shape ? lshape_find_hinted(lc->shape, lua_tostring(L, first), &lc->hint) : -1;
        if (pos >= 0) {
            return push_one_field(L, c, pos, rec, n);
        }
    }
    if (first > top) {
        lua_getiuservalue(L, coll_idx, 1);
        int rc = lcodec_push_record(L, c, -1, rec, n);
        if (rc) {
            lua_pop(L, 1);
            return rc;
        }
        lua_remove(L, -2);
        return 1;
    }
    /* Which fields, then one walk over the record as far as the last. */
    int want[STORE_MAX_FIELDS], nwant = top - first + 1, maxpos = -1;
    if (nwant > STORE_MAX_FIELDS || !lua_checkstack(L, nwant + 2)) {
        return err_set(GH_EINVAL, _("collection '%s': too many fields asked for"), c->name);
    }
    lua_getiuservalue(L, coll_idx, 2);
    int pos_idx = lua_gettop(L);
    const lshape *sh = lua_rawgeti(L, pos_idx, 0) == LUA_TUSERDATA ? lua_touserdata(L, -1) : NULL;
    lua_pop(L, 1);
    for (int a = first; a <= top; a++) {
        int pos = sh && lua_type(L, a) == LUA_TSTRING ? lshape_find(sh, lua_tostring(L, a)) : -1;
        if (pos < 0) { /* not by the name's pointer (lua_codec.h): by the table */
            lua_pushvalue(L, a);
            pos = lua_rawget(L, pos_idx) == LUA_TNUMBER ? (int)lua_tointeger(L, -1) - 1 : -1;
            lua_pop(L, 1);
        }
        if (pos < 0) {
            lua_settop(L, top);
            return err_set(GH_EUNKNOWN, _("collection '%s' has no field '%s'"), c->name,
                           lua_tostring(L, a) ? lua_tostring(L, a) : "?");
        }
        want[a - first] = pos;
        maxpos = pos > maxpos ? pos : maxpos;
    }
    lua_pop(L, 1);
    mp_reader r;
    mp_item it;
    mp_reader_init(&r, rec, n);
    if (mp_read(&r, &it) != 0 || it.type != MP_ARRAY) {
        return err_set(GH_ECORRUPT, _("collection '%s': a stored record is corrupt"), c->name);
    }
    const unsigned char *off[STORE_MAX_FIELDS];
    for (int i = 0; i <= maxpos; i++) {
        off[i] = i < (int)it.n ? r.p : NULL;
        if (i < (int)it.n && mp_skip_fast(&r) != 0) {
            goto corrupt;
        }
    }
    /* The rest is only walked, not decoded: a damaged record is an error
     * whichever of its fields is asked for. */
    for (uint32_t i = (uint32_t)maxpos + 1; i < it.n; i++) {
        if (mp_skip_fast(&r) != 0) {
            goto corrupt;
        }
    }
    for (int k = 0; k < nwant; k++) {
        if (!off[want[k]]) {
            lua_pushnil(L);
            continue;
        }
        mp_reader_init(&r, off[want[k]], (size_t)((const unsigned char *)rec + n - off[want[k]]));
        if (lcodec_push(L, &r, CODEC_MAX_DEPTH) != 0) {
            lua_settop(L, top);
            goto corrupt;
        }
    }
    return nwant;
corrupt:
    return err_set(GH_ECORRUPT,
                   _("collection '%s': a stored record is corrupt (run gonghui check)"), c->name);
}

/* Is argument 1 a collection? Its metatable compared by address: a
 * registry lookup (lstore_testudata) cost more than the rest of a small
 * insert's checks (issue 18). */
static lcoll *arg_is_coll(lua_State *L, const ldb *db) {
    lcoll *lc = lua_touserdata(L, 1);
    if (!lc || !lua_getmetatable(L, 1)) {
        return NULL;
    }
    int is = lua_topointer(L, -1) == db->coll_mt;
    lua_pop(L, 1);
    return is ? lc : NULL;
}

/* coll:get(key [, field...]) -> record table | field values | nil */
static int l_coll_get(lua_State *L) {
    ldb *db = lstore_db(L);
    const store_coll *c;
    store_txn *t;
    int owned, rc, nret = 0, top = lua_gettop(L);
    lcoll *lc = arg_is_coll(L, db);
    if (!lc) {
        lc = lstore_checkudata(L, 1, &lstore_coll_key, COLL_MT); /* raises */
    }
    if (top < 2) {
        luaL_checkany(L, 2); /* raises */
    }
    if ((rc = lstore_begin(db, 0, &t, &owned))) {
        return lstore_raise(L, rc);
    }
    if ((rc = resolve_lc(L, 1, lc, db, t, &c)) == 0 && (rc = encode_pk(L, 2, c, &db->kbuf)) == 0) {
        const void *v;
        size_t n;
        rc = store_get(t, c, db->kbuf.p, db->kbuf.len, &v, &n);
        if (rc == 0 && !lstore_visible(db, c, v, n)) {
            rc = GH_ENOTFOUND; /* outside the request's scope: as if absent */
        }
        if (rc == 0) {
            nret = push_fields(L, 1, lc, c, 3, top, v, n);
            rc = nret < 0 ? nret : 0;
        }
    }
    rc = lstore_end(db, t, owned, rc);
    if (rc == GH_ENOTFOUND) {
        lua_pushnil(L);
        return 1;
    }
    return rc ? lstore_raise(L, rc) : nret;
}

/* The refusal of a write whose key or unique field is taken, in a scoped
 * request: the same words whether the record that holds it is in the
 * scope or hidden by it, naming neither that record nor its union, so a
 * clash tells no more than that the value is taken (scope.h). */
static int taken_hidden(const store_coll *c) {
    err_clear();
    return err_set(GH_EEXISTS,
                   _("collection '%s': the record cannot be stored: its key or one of its unique "
                     "fields is taken; nothing was written"),
                   c->name);
}

/* One write of a collection method, in the atomic transaction or as a unit
 * of its own (lstore_write). */
typedef int (*write_fn)(lua_State *L, ldb *db, store_txn *t, const store_coll *c);

typedef struct write_unit {
    lua_State *L;
    ldb *db;
    lcoll *lc; /* argument 1, checked */
    write_fn fn;
    int top, owned;
} write_unit;

#define WRITE_AS_ATOMIC 1 /* write_work: redo the call as db.atomic(call, ...) */

static int write_work(store_txn *t, void *ctx) {
    write_unit *w = ctx;
    lua_State *L = w->L;
    const store_coll *c;
    lua_settop(L, w->top); /* the results of an earlier try */
    int rc = resolve_lc(L, 1, w->lc, w->db, t, &c);
    if (rc == 0 && c->name[0] == '_') {
        rc = err_set(GH_EINVAL,
                     _("collection '%s' belongs to gonghui itself and is read-only to "
                       "scripts (the event log changes through bus.publish and consumers)"),
                     c->name);
    }
    if (rc == 0 && c->events && w->owned && w->db->change_hook) {
        return WRITE_AS_ATOMIC;
    }
    if (rc == 0) {
        rc = w->fn(L, w->db, t, c);
        if (rc == GH_EEXISTS && w->db->scope && c->scope) {
            rc = taken_hidden(c);
        }
    }
    if (rc) {
        lua_settop(L, w->top);
    }
    return rc;
}

static int run_write(lua_State *L, write_fn fn, int trusted) {
    ldb *db = lstore_db(L);
    lcoll *lc = trusted ? lua_touserdata(L, 1) : arg_is_coll(L, db);
    if (!lc) { /* raises unless it is a collection all the same */
        lc = lstore_checkudata(L, 1, &lstore_coll_key, COLL_MT);
    }
    write_unit w = {L, db, lc, fn, lua_gettop(L), db->wtxn == NULL};
    int top = w.top, rc = lstore_write(db, write_work, &w);
    if (rc == WRITE_AS_ATOMIC) {
        /* Its change events and their handlers belong in one unit with
         * the write: do it again as db.atomic(this function, ...). */
        lua_Debug ar;
        int first = trusted ? 2 : 1; /* a prepared insert gets its collection inserted */
        lua_settop(L, top);
        lua_getfield(L, lua_upvalueindex(2), "atomic");
        lua_getstack(L, 0, &ar);
        lua_getinfo(L, "f", &ar);
        for (int i = first; i <= top; i++) {
            lua_pushvalue(L, i);
        }
        lua_call(L, top - first + 2, LUA_MULTRET);
        return lua_gettop(L) - top;
    }
    if (rc == GH_ENOTFOUND) {
        lua_settop(L, top);
        lua_pushnil(L);
        return 1;
    }
    return rc ? lstore_raise(L, rc) : lua_gettop(L) - top;
}

/* For collections with events: copies the stored record under db->kbuf
 * into old (left empty, *had = 0, when there is none). */
static int get_old(ldb *db, store_txn *t, const store_coll *c, codec_buf *old, int *had) {
    const void *v;
    size_t n;
    int rc = store_get(t, c, db->kbuf.p, db->kbuf.len, &v, &n);
    *had = rc == 0;
    if (rc == GH_ENOTFOUND) {
        err_clear();
        return 0;
    }
    if (rc == 0) {
        codec_buf_add(old, v, n);
        rc = old->oom ? GH_ENOMEM : 0;
    }
    return rc;
}

/* Publishes the change of a record of c (bus_change.h, the builder import
 * uses too): old (had_old: the record it replaced or deleted) and, when
 * with_new, the record in db->buf. Frees old first: the hook may raise
 * (handler errors; inside db.atomic only). Balanced stack. */
static int emit_change(lua_State *L, ldb *db, const store_coll *c, codec_buf *old, int had_old,
                       int with_new) {
    codec_buf pb;
    char topic[300];
    codec_buf_init(&pb);
    int rc = bus_change_payload(c, had_old ? old->p : NULL, old->len, with_new ? db->buf.p : NULL,
                                db->buf.len, &pb);
    int tn = bus_change_topic(c, bus_change_kind(had_old, with_new), topic, sizeof topic);
    if (rc == 0 && tn < 0) {
        rc = err_set(GH_EINVAL, _("collection '%s': its name is too long for an event topic"),
                     c->name);
    }
    if (rc == 0) {
        lua_pushlstring(L, pb.p ? (const char *)pb.p : "", pb.len);
    }
    codec_buf_free(&pb);
    codec_buf_free(old);
    if (rc) {
        return rc;
    }
    db->change_hook(L, topic, (size_t)tn, lua_gettop(L));
    lua_pop(L, 1);
    return 0;
}

int lstore_encode_record(lua_State *L, ldb *db, store_txn *t, const store_coll *c, int idx) {
    idx = lua_absindex(L, idx);
    lrow *row = lua_type(L, idx) == LUA_TTABLE ? NULL : lstore_testudata(L, idx, &lstore_row_key);
    if (row) {
        if (!store_layout_compatible(row->c, c)) {
            return err_set(
                GH_EINVAL, _("collection '%s': this row is from %s, which is laid out differently"),
                c->name, strcmp(row->c->name, c->name) ? row->c->name : "an older definition");
        }
        db->buf.len = 0;
        codec_buf_add(&db->buf, row->bytes, row->n);
        return db->buf.oom ? GH_ENOMEM : 0;
    }
    if (!lua_istable(L, idx)) {
        return err_set(GH_EINVAL, _("collection '%s': expected a record table, got %s"), c->name,
                       luaL_typename(L, idx));
    }
    int64_t id = 0; /* the next id costs less than asking the table for its key */
    if (c->auto_key) {
        int rc = store_next_id(t, c, &id);
        if (rc) {
            return rc;
        }
    }
    const lcoll *lc = lua_touserdata(L, 1); /* resolved: its shape is c's */
    return lcodec_encode_record(L, idx, c, lc->shape, c->auto_key ? &id : NULL, &db->buf);
}

/* Pushes the key field of the record in db->buf (what insert and put return). */
static void push_key(lua_State *L, const ldb *db, const store_coll *c) {
    mp_reader r;
    mp_item it;
    const unsigned char *p = db->buf.p;
    if (c->key == 0 && db->buf.len >= 6 && p[0] >= 0x91 && p[0] <= 0x9f &&
        (p[1] < 0x80 || (p[1] >= 0xcc && p[1] <= 0xce))) {
        /* the first field, an id below 2^32 (auto keys), without the reader */
        const unsigned char *q = p + 2;
        lua_pushinteger(L, p[1] < 0x80    ? p[1]
                           : p[1] == 0xcc ? q[0]
                           : p[1] == 0xcd ? (uint32_t)q[0] << 8 | q[1]
                                          : (uint32_t)q[0] << 24 | (uint32_t)q[1] << 16 |
                                                (uint32_t)q[2] << 8 | q[3]);
        return;
    }
    mp_reader_init(&r, db->buf.p, db->buf.len);
    mp_read(&r, &it);
    for (int i = 0; i < c->key; i++) {
        mp_skip(&r, CODEC_MAX_DEPTH);
    }
    lcodec_push(L, &r, 1);
}

/* Writes the record in db->buf (its key in db->kbuf when events) with mode;
 * with events, the record it replaces is read first and the change published
 * after the put (insert, put and update alike). */
static int put_publishing(lua_State *L, ldb *db, store_txn *t, const store_coll *c, int mode,
                          int events) {
    int rc = 0, had_old = 0;
    unsigned char mem[512];
    codec_buf old;
    codec_buf_init_on(&old, mem, sizeof mem);
    if (events) {
        rc = get_old(db, t, c, &old, &had_old);
    }
    if (rc == 0) {
        rc = store_put(t, c, mode, db->buf.p, db->buf.len);
    }
    if (rc == 0 && events) {
        rc = emit_change(L, db, c, &old, had_old, 1);
    }
    codec_buf_free(&old);
    return rc;
}

static int write_record(lua_State *L, ldb *db, store_txn *t, const store_coll *c, int mode) {
    int rc = lstore_encode_record(L, db, t, c, 2);
    int events = c->events && db->change_hook;
    if (rc == 0 && db->scope && c->scope) {
        const void *ov;
        size_t on;
        rc = scope_write_ok(db, t, c, db->buf.p, db->buf.len, _("the new record"));
        if (rc == 0 && mode != STORE_INSERT &&
            (rc = store_record_key(c, db->buf.p, db->buf.len, &db->kbuf)) == 0) {
            rc = store_get(t, c, db->kbuf.p, db->kbuf.len, &ov, &on);
            if (rc == GH_ENOTFOUND) {
                rc = 0;
                err_clear();
            } else if (rc == 0 && !lstore_visible(db, c, ov, on)) {
                rc = taken_hidden(c); /* as if its key were taken by a record it may see */
            }
        }
    }
    if (rc == 0 && events) { /* the key of the record it replaces, for the event */
        rc = store_record_key(c, db->buf.p, db->buf.len, &db->kbuf);
    }
    if (rc == 0) {
        rc = put_publishing(L, db, t, c, mode, events);
    }
    if (rc == 0) { /* return the key */
        push_key(L, db, c);
    }
    return rc;
}

static int w_insert(lua_State *L, ldb *db, store_txn *t, const store_coll *c) {
    return write_record(L, db, t, c, STORE_INSERT);
}

static int w_put(lua_State *L, ldb *db, store_txn *t, const store_coll *c) {
    return write_record(L, db, t, c, STORE_REPLACE);
}

/* coll:insert(record) -> key. Error if the key exists. */
static int l_coll_insert(lua_State *L) {
    return run_write(L, w_insert, 0);
}

/* coll:put(record) -> key. Inserts or replaces. */
static int l_coll_put(lua_State *L) {
    return run_write(L, w_put, 0);
}

static int w_update(lua_State *L, ldb *db, store_txn *t, const store_coll *c) {
    const void *old;
    size_t n;
    int rc;
    luaL_checkany(L, 2);
    if (!lua_istable(L, 3)) {
        return err_set(GH_EINVAL,
                       _("collection '%s': update(key, changes) needs a table of changes"),
                       c->name);
    }
    if ((rc = encode_pk(L, 2, c, &db->kbuf))) {
        return rc;
    }
    rc = store_get(t, c, db->kbuf.p, db->kbuf.len, &old, &n);
    if (rc == 0 && !lstore_visible(db, c, old, n)) {
        rc = GH_ENOTFOUND; /* hidden by the scope: as if absent, update returns nil */
    }
    if (rc) {
        return rc;
    }
    lua_getfield(L, lua_upvalueindex(2), "null");
    const void *null = lua_touserdata(L, -1);
    lua_pop(L, 1);
    const lcoll *lc = lua_touserdata(L, 1); /* resolved: its shape is c's */
    rc = lcodec_merge_record(L, 3, c, lc->shape, old, n, null, &db->buf);
    if (rc == 0) {
        rc = scope_write_ok(db, t, c, db->buf.p, db->buf.len, _("the updated record"));
    }
    if (rc == 0) {
        rc = put_publishing(L, db, t, c, STORE_UPDATE, c->events && db->change_hook);
    }
    if (rc == 0) {
        lua_pushboolean(L, 1);
    }
    return rc;
}

/* coll:update(key, changes) -> true, or nil if there is no such record. */
static int l_coll_update(lua_State *L) {
    return run_write(L, w_update, 0);
}

static int w_delete(lua_State *L, ldb *db, store_txn *t, const store_coll *c) {
    luaL_checkany(L, 2);
    int rc = encode_pk(L, 2, c, &db->kbuf), events = c->events && db->change_hook, had_old = 0;
    unsigned char mem[512];
    codec_buf ob;
    codec_buf_init_on(&ob, mem, sizeof mem);
    if (rc == 0 && db->scope && c->scope) {
        const void *ov;
        size_t on;
        if ((rc = store_get(t, c, db->kbuf.p, db->kbuf.len, &ov, &on)) == 0 &&
            !lstore_visible(db, c, ov, on)) {
            rc = GH_ENOTFOUND; /* hidden by the scope: as if absent, delete returns false */
        }
    }
    if (rc == 0 && events) {
        rc = get_old(db, t, c, &ob, &had_old);
    }
    if (rc == 0) {
        rc = store_delete(t, c, db->kbuf.p, db->kbuf.len);
    }
    if (rc == 0 && events && had_old) {
        rc = emit_change(L, db, c, &ob, had_old, 0);
    }
    codec_buf_free(&ob);
    if (rc == GH_ENOTFOUND) {
        lua_pushboolean(L, 0);
        return 0;
    }
    if (rc == 0) {
        lua_pushboolean(L, 1);
    }
    return rc;
}

/* coll:delete(key) -> true if deleted, false if there was none. */
static int l_coll_delete(lua_State *L) {
    return run_write(L, w_delete, 0);
}

static int l_prepared_call(lua_State *L);

#define PREP_MT "gonghui.prepared"

void lstore_prep_record(const lprep *p, const store_coll *c, const unsigned char *vals,
                        const size_t *off, const size_t *len, int auto_pos, int64_t id,
                        codec_buf *out) {
    int last = -1;
    for (int i = 0; i < c->nfields; i++) {
        if (i == auto_pos || p->set[i] == 1 || (p->set[i] == 2 && len[i])) {
            last = i;
        }
    }
    out->len = 0;
    mp_put_array(out, (uint32_t)(last + 1));
    for (int i = 0; i <= last; i++) {
        if (i == auto_pos) {
            mp_put_int(out, id);
        } else if (p->set[i] == 1) {
            codec_buf_add(out, p->bytes + p->off[i], p->len[i]);
        } else if (p->set[i] == 2 && len[i]) {
            codec_buf_add(out, vals + off[i], len[i]);
        } else {
            mp_put_nil(out);
        }
    }
}

int lstore_insert_built(lua_State *L, ldb *db, store_txn *t, const store_coll *c) {
    int rc;
    if (db->buf.oom) {
        return GH_ENOMEM;
    }
    if ((rc = scope_write_ok(db, t, c, db->buf.p, db->buf.len, _("the new record")))) {
        return rc;
    }
    if ((rc = store_put(t, c, STORE_INSERT, db->buf.p, db->buf.len)) == 0 && c->events &&
        db->change_hook) {
        codec_buf none;
        codec_buf_init(&none);
        rc = emit_change(L, db, c, &none, 0, 1);
    }
    if (rc == GH_EEXISTS && db->scope && c->scope) {
        rc = taken_hidden(c);
    }
    return rc;
}

static int w_prepared(lua_State *L, ldb *db, store_txn *t, const store_coll *c) {
    lprep *p = lua_touserdata(L, lua_upvalueindex(4));
    int nargs = lua_gettop(L) - 1, rc;
    int64_t id = 0;
    if ((rc = lstore_prep_check(p, c))) {
        return rc;
    }
    if (nargs != p->nvars) {
        return err_set(GH_EINVAL,
                       _n("collection '%s': this prepared insert takes %d value, got %d",
                          "collection '%s': this prepared insert takes %d values, got %d",
                          p->nvars),
                       c->name, p->nvars, nargs);
    }
    codec_buf vals;
    unsigned char mem[512];
    size_t off[STORE_MAX_FIELDS], len[STORE_MAX_FIELDS];
    codec_buf_init_on(&vals, mem, sizeof mem);
    for (int k = 0; k < p->nvars; k++) {
        int pos = p->varpos[k];
        off[pos] = vals.len;
        if (lua_isnil(L, k + 2)) {
            if (!c->fields[pos].optional && !(pos == c->key && c->auto_key)) {
                codec_buf_free(&vals);
                return err_set(GH_EMISSING, _("collection '%s': required field '%s' is missing"),
                               c->name, store_field_label(c, pos));
            }
            len[pos] = 0;
            continue;
        }
        if ((rc = lcodec_encode_field(L, k + 2, c, pos, &vals))) {
            codec_buf_free(&vals);
            return rc;
        }
        len[pos] = vals.len - off[pos];
    }
    int auto_pos = -1;
    if (c->auto_key && (p->set[c->key] == 0 || (p->set[c->key] == 2 && len[c->key] == 0))) {
        if ((rc = store_next_id(t, c, &id))) {
            codec_buf_free(&vals);
            return rc;
        }
        auto_pos = c->key;
    }
    lstore_prep_record(p, c, vals.p, off, len, auto_pos, id, &db->buf);
    codec_buf_free(&vals);
    if ((rc = lstore_insert_built(L, db, t, c)) == 0) {
        push_key(L, db, c);
    }
    return rc;
}

int lstore_prep_check(lprep *p, const store_coll *c) {
    if (p->c != c) { /* the definitions moved (any collection's): still the same layout? */
        if (!store_layout_compatible(p->c, c) || c->nfields != p->c->nfields) {
            return err_set(
                GH_ESCHEMA,
                _("collection '%s' was redefined after prepare_insert; prepare it again"), c->name);
        }
        p->c = c;
    }
    return 0;
}

lprep *lstore_prep_of(lua_State *L, int idx) {
    if (lua_tocfunction(L, idx) != l_prepared_call || !lua_getupvalue(L, idx, 4)) {
        return NULL;
    }
    lprep *p = lua_touserdata(L, -1);
    lua_pop(L, 1);
    return p;
}

static int l_prepared_call(lua_State *L) {
    lua_pushvalue(L, lua_upvalueindex(3));
    lua_insert(L, 1);                   /* the collection where run_write expects it */
    return run_write(L, w_prepared, 1); /* our own upvalue */
}

/* coll:prepare_insert(constants, field...) -> function(value...) -> key.
 * The constants are checked and encoded once; each call gives the values
 * of the named fields in order and inserts one record. */
int l_coll_prepare_insert(lua_State *L) {
    ldb *db = lstore_db(L);
    const store_coll *c;
    store_txn *t;
    int owned, rc, nvars = lua_gettop(L) - 2;
    lstore_checkudata(L, 1, &lstore_coll_key, COLL_MT);
    luaL_checktype(L, 2, LUA_TTABLE);
    if ((rc = lstore_begin(db, 0, &t, &owned))) {
        return lstore_raise(L, rc);
    }
    rc = lstore_resolve(L, 1, t, &c);
    lstore_end(db, t, owned, 0);
    if (rc) {
        return lstore_raise(L, rc);
    }
    codec_buf b, xb;
    uint32_t nextra = 0;
    codec_buf_init(&b);
    codec_buf_init(&xb);
    lprep tmp;
    memset(&tmp, 0, sizeof tmp);
    lua_getiuservalue(L, 1, 2);
    int pos_idx = lua_gettop(L);
    for (int k = 0; k < nvars && rc == 0; k++) {
        const char *f = luaL_checkstring(L, k + 3);
        lua_pushvalue(L, k + 3);
        int pos = lua_rawget(L, pos_idx) == LUA_TNUMBER ? (int)lua_tointeger(L, -1) - 1 : -1;
        lua_pop(L, 1);
        if (pos < 0) {
            rc = err_set(GH_EUNKNOWN, _("collection '%s' has no field '%s'"), c->name, f);
        } else {
            tmp.varpos[tmp.nvars++] = pos;
            tmp.set[pos] = 2;
        }
    }
    lua_pushnil(L);
    while (rc == 0 && lua_next(L, 2)) {
        int pos = -1;
        if (lua_type(L, -2) == LUA_TSTRING) {
            lua_pushvalue(L, -2);
            pos = lua_rawget(L, pos_idx) == LUA_TNUMBER ? (int)lua_tointeger(L, -1) - 1 : -1;
            lua_pop(L, 1);
        }
        if (pos < 0 && c->extra >= 0) { /* an extra field, kept as insert keeps it */
            nextra++;
            rc = lcodec_encode(L, -2, &xb, 1);
            if (rc == 0) {
                rc = lcodec_encode(L, -1, &xb, CODEC_MAX_DEPTH - 2);
            }
        } else if (pos < 0) {
            lcodec_push_shown(L, -2);
            rc = err_set(GH_EUNKNOWN, _("collection '%s': unknown field %s"), c->name,
                         lua_tostring(L, -1));
            lua_pop(L, 1);
        } else if (tmp.set[pos]) {
            rc = err_set(GH_EINVAL, _("collection '%s': field '%s' is both constant and given"),
                         c->name, store_field_label(c, pos));
        } else {
            tmp.off[pos] = b.len;
            rc = lcodec_encode_field(L, -1, c, pos, &b);
            tmp.len[pos] = b.len - tmp.off[pos];
            tmp.set[pos] = 1;
        }
        lua_pop(L, 1);
    }
    if (rc == 0 && c->extra >= 0 && nextra) {
        tmp.off[c->extra] = b.len;
        mp_put_map(&b, nextra);
        codec_buf_add(&b, xb.p, xb.len);
        tmp.len[c->extra] = b.len - tmp.off[c->extra];
        tmp.set[c->extra] = 1;
    }
    codec_buf_free(&xb);
    for (int i = 0; i < c->nfields && rc == 0; i++) {
        if (!tmp.set[i] && !c->fields[i].optional && i != c->extra &&
            !(i == c->key && c->auto_key)) {
            rc = err_set(GH_EMISSING,
                         _("collection '%s': required field '%s' is neither a constant nor given"),
                         c->name, store_field_label(c, i));
        }
    }
    if (rc || b.oom) {
        codec_buf_free(&b);
        return lstore_raise(L, rc ? rc : GH_ENOMEM);
    }
    lprep *p = lua_newuserdatauv(L, sizeof *p + b.len, 0);
    *p = tmp;
    p->c = c;
    p->nbytes = b.len;
    if (b.len) {
        memcpy(p->bytes, b.p, b.len);
    }
    codec_buf_free(&b);
    int pidx = lua_gettop(L);
    lua_pushvalue(L, lua_upvalueindex(1));
    lua_pushvalue(L, lua_upvalueindex(2));
    lua_pushvalue(L, 1);
    lua_pushvalue(L, pidx);
    lua_pushcclosure(L, l_prepared_call, 4);
    return 1;
}

/* Finds index `name` ("field" or "a,b") of c; -1 if none. */
int lstore_index_by_name(const store_coll *c, const char *name) {
    for (int i = 0; i < c->nindexes; i++) {
        if (strcmp(c->indexes[i].name, name) == 0) {
            return i;
        }
    }
    return -1;
}

int lstore_no_index(const store_coll *c, const char *name) {
    char known[400];
    size_t w = 0;
    known[0] = 0;
    for (int i = 0; i < c->nindexes && w < sizeof known - 80; i++) {
        w += (size_t)snprintf(known + w, sizeof known - w, "%s'%s'", w ? ", " : "",
                              c->indexes[i].name);
    }
    return err_set(GH_EUNKNOWN, _("collection '%s' has no index '%s' (its indexes: %s)"), c->name,
                   name, w ? known : "none");
}

/* Encodes the leading values of index ix from the value at idx (a scalar for
 * the first field, or an array for several) into out. *nvals gets how many
 * fields were given. */
int lstore_index_vals(lua_State *L, int idx, const store_coll *c, const store_index *ix,
                      codec_buf *out, int *nvals) {
    idx = lua_absindex(L, idx);
    out->len = 0;
    if (lua_istable(L, idx) && ix->nfields > 1) {
        int n = (int)lua_rawlen(L, idx);
        if (n > ix->nfields) {
            return err_set(GH_EINVAL, _("collection '%s': index '%s' has %d fields, got %d values"),
                           c->name, ix->name, ix->nfields, n);
        }
        for (int j = 0; j < n; j++) {
            lua_rawgeti(L, idx, j + 1);
            int rc = lstore_key_elem(L, -1, c, ix->fields[j], out);
            lua_pop(L, 1);
            if (rc) {
                return rc;
            }
        }
        *nvals = n;
    } else {
        int rc = lstore_key_elem(L, idx, c, ix->fields[0], out);
        if (rc) {
            return rc;
        }
        *nvals = 1;
    }
    return out->oom ? GH_ENOMEM : 0;
}

/* find's key from argument 3 (of Lua type vtype): a string for a one-field
 * string index (an ID number, a phone) encoded at once, else by
 * lstore_index_vals. */
static int find_key(lua_State *L, const store_coll *c, const store_index *ix, int vtype,
                    codec_buf *out, int *nv) {
    if (vtype == LUA_TSTRING && ix->nfields == 1 && c->fields[ix->fields[0]].type == FT_STRING) {
        size_t n;
        const char *z = lua_tolstring(L, 3, &n);
        out->len = 0;
        key_put_str(out, z, n);
        *nv = 1;
        return out->oom ? GH_ENOMEM : 0;
    }
    return lstore_index_vals(L, 3, c, ix, out, nv);
}

/* coll:find(index, value [, field...]) -> record | field values | nil */
static int l_coll_find(lua_State *L) {
    ldb *db = lstore_db(L);
    const store_coll *c;
    store_txn *t;
    int owned, rc, nret = 0, top = lua_gettop(L);
    lcoll *lc = arg_is_coll(L, db);
    if (!lc) {
        lc = lstore_checkudata(L, 1, &lstore_coll_key, COLL_MT); /* raises */
    }
    const char *iname = luaL_checkstring(L, 2);
    int vtype = lua_type(L, 3);
    if (vtype == LUA_TNONE) {
        luaL_checkany(L, 3); /* raises */
    }
    if ((rc = lstore_begin(db, 0, &t, &owned))) {
        return lstore_raise(L, rc);
    }
    if ((rc = resolve_lc(L, 1, lc, db, t, &c)) == 0) {
        /* the index by its name's pointer (the shape holds the names), else
         * by the text (a name too long for Lua to intern) */
        int ix = lshape_find_index(lc->shape, iname), nv = 0;
        if (ix < 0) {
            ix = lstore_index_by_name(c, iname);
        }
        if (ix < 0) {
            rc = lstore_no_index(c, iname);
        } else if ((rc = find_key(L, c, &c->indexes[ix], vtype, &db->kbuf, &nv)) == 0) {
            const void *pk, *v;
            size_t pkn, n;
            if (c->indexes[ix].unique && nv == c->indexes[ix].nfields) {
                rc = store_find(t, c, ix, db->kbuf.p, db->kbuf.len, &pk, &pkn);
                if (rc == 0) {
                    rc = store_get(t, c, pk, pkn, &v, &n);
                }
                if (rc == 0 && !lstore_visible(db, c, v, n)) {
                    rc = GH_ENOTFOUND;
                }
            } else {
                store_scan *sc;
                store_range r = {
                    .prefix = db->kbuf.p, .prefixlen = db->kbuf.len, .prefix_whole = 1};
                if ((rc = store_scan_open(t, c, ix, &r, &sc)) == 0) {
                    while ((rc = store_scan_next(sc, &pk, &pkn, &v, &n)) == 0 &&
                           !lstore_visible(db, c, v, n)) {
                    }
                    if (rc == 0) {
                        nret = push_fields(L, 1, lc, c, 4, top, v, n);
                        rc = nret < 0 ? nret : 0;
                    }
                    store_scan_close(sc);
                }
                goto done;
            }
            if (rc == 0) {
                nret = push_fields(L, 1, lc, c, 4, top, v, n);
                rc = nret < 0 ? nret : 0;
            }
        }
    }
done:
    rc = lstore_end(db, t, owned, rc);
    if (rc == GH_ENOTFOUND) {
        lua_pushnil(L);
        return 1;
    }
    return rc ? lstore_raise(L, rc) : nret;
}

static int l_coll_schema(lua_State *L) {
    ldb *db = lstore_db(L);
    const store_coll *c;
    store_txn *t;
    int owned, rc;
    if ((rc = lstore_begin(db, 0, &t, &owned))) {
        return lstore_raise(L, rc);
    }
    rc = lstore_resolve(L, 1, t, &c);
    if (rc) {
        lstore_end(db, t, owned, rc);
        return lstore_raise(L, rc);
    }
    /* c stays valid: the cache only changes inside store calls */
    lstore_end(db, t, owned, 0);
    lua_newtable(L);
    lua_pushstring(L, c->name);
    lua_setfield(L, -2, "name");
    lua_pushstring(L, c->fields[c->key].name);
    lua_setfield(L, -2, "key");
    lua_pushboolean(L, c->auto_key);
    lua_setfield(L, -2, "auto");
    lua_pushboolean(L, c->extra >= 0);
    lua_setfield(L, -2, "extra");
    lua_pushboolean(L, c->events);
    lua_setfield(L, -2, "events");
    if (c->scope) {
        lua_pushstring(L, c->fields[c->scope - 1].name);
        lua_setfield(L, -2, "scope");
    }
    lua_newtable(L);
    lua_newtable(L); /* field order */
    for (int i = 0, k = 1; i < c->nfields; i++) {
        if (i == c->extra) {
            continue;
        }
        lua_pushfstring(L, "%s%s", store_type_name(c->fields[i].type),
                        c->fields[i].optional ? "?" : "");
        lua_setfield(L, -3, c->fields[i].name);
        if (c->fields[i].label) { /* schema().labels[field] */
            lua_getfield(L, -3, "labels");
            if (lua_isnil(L, -1)) {
                lua_pop(L, 1);
                lua_newtable(L);
                lua_pushvalue(L, -1);
                lua_setfield(L, -5, "labels");
            }
            lua_pushstring(L, c->fields[i].label);
            lua_setfield(L, -2, c->fields[i].name);
            lua_pop(L, 1);
        }
        int pii = store_field_pii(&c->fields[i]);
        if (pii != PII_NONE) { /* schema().pii[field]: declared, or guessed from the name */
            lua_getfield(L, -3, "pii");
            if (lua_isnil(L, -1)) {
                lua_pop(L, 1);
                lua_newtable(L);
                lua_pushvalue(L, -1);
                lua_setfield(L, -5, "pii");
            }
            lua_pushstring(L, pii_kind_name(pii));
            lua_setfield(L, -2, c->fields[i].name);
            lua_pop(L, 1);
        }
        lua_pushstring(L, c->fields[i].name);
        lua_rawseti(L, -2, k++);
    }
    lua_setfield(L, -3, "order");
    lua_setfield(L, -2, "fields");
    lua_newtable(L);
    lua_newtable(L);
    for (int i = 0, u = 1, x = 1; i < c->nindexes; i++) {
        lua_pushstring(L, c->indexes[i].name);
        lua_rawseti(L, c->indexes[i].unique ? -3 : -2, c->indexes[i].unique ? u++ : x++);
    }
    lua_setfield(L, -3, "index");
    lua_setfield(L, -2, "unique");
    return 1;
}

static int l_coll_tostring(lua_State *L) {
    lcoll *lc = lstore_checkudata(L, 1, &lstore_coll_key, COLL_MT);
    lua_pushfstring(L, "collection '%s'", lc->name); /* i18n: ok (query.lua reads it) */
    return 1;
}

/* ---- db ------------------------------------------------------------------------------- */

/* db.define(name, spec) -> the collection */
/* store_define in a unit of work: it takes the definition, so a try after
 * the map grew defines a copy decoded from the bytes kept beforehand. */
typedef struct define_unit {
    store_coll *def;
    codec_buf bytes;
} define_unit;

static int define_work(store_txn *t, void *ctx) {
    define_unit *d = ctx;
    store_coll *def = d->def;
    d->def = NULL;
    if (!def) {
        int rc = d->bytes.oom ? GH_ENOMEM : store_def_decode(d->bytes.p, d->bytes.len, &def);
        if (rc) {
            return rc;
        }
    }
    return store_define(t, def);
}

static int l_db_define(lua_State *L) {
    ldb *db = lstore_db(L);
    size_t nl;
    const char *name = luaL_checklstring(L, 1, &nl);
    if (nl != strlen(name)) {
        return luaL_error(L,
                          _("db.define: the collection name \"%s\\0...\" holds a NUL byte; "
                            "names are plain text"),
                          name);
    }
    luaL_checktype(L, 2, LUA_TTABLE);
    store_coll *def = NULL;
    store_txn *t;
    int owned, rc = lstore_spec_to_def(L, name, 2, &def);
    if (rc) {
        return lstore_raise(L, rc);
    }
    lua_pushstring(L, name);
    lua_rawget(L, lua_upvalueindex(2));
    int builtin = lua_iscfunction(L, -1) || lua_islightuserdata(L, -1);
    lua_pop(L, 1);
    if (builtin || name[0] == '_') {
        store_coll_free(def);
        return luaL_error(L,
                          _("'%s' cannot name a collection (it is a db function or starts "
                            "with '_')"),
                          name);
    }
    /* The same definition again (every run of a program starts with
     * its db.define calls) needs no write, so it never waits for one. */
    const store_coll *cur = NULL;
    if (lstore_begin(db, 0, &t, &owned) == 0) {
        if (store_coll_get(t, name, &cur) == 0 && store_def_equivalent(cur, def)) {
            lstore_end(db, t, owned, 0);
            store_coll_free(def);
            goto done;
        }
        lstore_end(db, t, owned, 0);
    }
    err_clear();
    if (db->guard & LSTORE_NODEFINE) {
        store_coll_free(def);
        return luaL_error(L,
                          _("db.define('%s'): a request of gonghui serve cannot define or "
                            "change a collection; run the program's setup script first"),
                          name);
    }
    define_unit d = {.def = def};
    codec_buf_init(&d.bytes);
    if (!db->wtxn) { /* a unit of its own may run again */
        store_def_encode(def, &d.bytes);
    }
    rc = lstore_write(db, define_work, &d);
    store_coll_free(d.def);
    codec_buf_free(&d.bytes);
    if (rc) {
        return lstore_raise(L, rc);
    }
done:
    push_coll(L, name);
    lua_pushvalue(L, -1);
    lua_setfield(L, lua_upvalueindex(2), name);
    return 1;
}

static int drop_work(store_txn *t, void *ctx) {
    return store_drop(t, ctx);
}

/* db.drop(name) */
static int l_db_drop(lua_State *L) {
    ldb *db = lstore_db(L);
    const char *name = luaL_checkstring(L, 1);
    if (name[0] == '_') {
        return luaL_error(L, _("collection '%s' belongs to gonghui itself and cannot be dropped"),
                          name);
    }
    if (lstore_db(L)->guard & LSTORE_NODEFINE) {
        return luaL_error(
            L, _("db.drop('%s'): a request of gonghui serve cannot drop a collection"), name);
    }
    int rc = lstore_write(db, drop_work, (void *)name);
    if (rc) {
        return lstore_raise(L, rc);
    }
    lua_pushnil(L);
    lua_setfield(L, lua_upvalueindex(2), name);
    return 0;
}

/* db.collections() -> sorted array of names */
static int l_db_collections(lua_State *L) {
    ldb *db = lstore_db(L);
    store_txn *t;
    char *names = NULL;
    int owned, rc;
    if ((rc = lstore_begin(db, 0, &t, &owned))) {
        return lstore_raise(L, rc);
    }
    rc = lstore_end(db, t, owned, store_list(t, &names));
    if (rc) {
        return lstore_raise(L, rc);
    }
    lua_newtable(L);
    lua_Integer i = 0;
    for (const char *p = names; *p; p += strlen(p) + 1) {
        lua_pushstring(L, p);
        lua_rawseti(L, -2, ++i);
    }
    free(names);
    return 1;
}

/* db.<name>: the collection, if it is defined. */
static int l_db_index(lua_State *L) {
    ldb *db = lstore_db(L);
    const char *name = luaL_checkstring(L, 2);
    if (name[0] == '_' && db->guard) { /* a request of gonghui serve: none of gonghui's own */
        return luaL_error(
            L, _("collection '%s' belongs to gonghui itself; a request cannot use it"), name);
    }
    store_txn *t;
    const store_coll *c;
    int owned, rc;
    if ((rc = lstore_begin(db, 0, &t, &owned))) {
        return lstore_raise(L, rc);
    }
    rc = lstore_end(db, t, owned, store_coll_get(t, name, &c));
    if (rc == GH_ENOTFOUND) {
        char *names = NULL;
        if (lstore_begin(db, 0, &t, &owned) == 0) {
            lstore_end(db, t, owned, store_list(t, &names));
        }
        luaL_Buffer b;
        luaL_buffinit(L, &b);
        for (const char *p = names; p && *p; p += strlen(p) + 1) {
            luaL_addstring(&b, p == names ? "" : ", ");
            luaL_addstring(&b, p);
        }
        free(names);
        luaL_pushresult(&b);
        return luaL_error(L,
                          _("no collection named '%s' (collections: %s); define it with "
                            "db.define"),
                          name, lua_rawlen(L, -1) ? lua_tostring(L, -1) : "none yet");
    }
    if (rc) {
        return lstore_raise(L, rc);
    }
    lua_pushvalue(L, 2);
    push_coll(L, name);
    lua_pushvalue(L, -1);
    lua_insert(L, -3);
    lua_rawset(L, 1); /* cache: db.name is now a plain field */
    return 1;
}

/* Message handler that keeps the traceback of the first raise. */

int lstore_run_begin(lua_State *L, int db_idx) {
    ldb *db = db_of(L, db_idx);
    if (!db || db->wtxn) {
        return err_set(GH_ETXN, _("the run's transaction cannot begin here"));
    }
    lstore_release(db);
    int rc = store_txn_begin(db->s, NULL, 1, &db->run);
    if (rc == 0) {
        db->wtxn = db->run;
    }
    return rc;
}

int lstore_run_end(lua_State *L, int db_idx, int commit) {
    ldb *db = db_of(L, db_idx);
    if (!db || !db->run) {
        return err_set(GH_ETXN, _("no run transaction is open"));
    }
    store_txn *t = db->run;
    db->run = db->wtxn = NULL;
    /* A run that filled the map was taken (lstore_take_map_full) and redone
     * or refused by the runner before this: it never reaches a commit. */
    assert(!(commit && db->map_full) && "lstore_take_map_full before lstore_run_end");
    if (commit) {
        return store_txn_commit(t);
    }
    store_txn_abort(t);
    return 0;
}

void lstore_set_progress(lua_State *L, int db_idx, void (*fn)(double, double, const char *)) {
    ldb *db = db_of(L, db_idx);
    if (db) {
        db->progress = fn;
    }
}

store_txn *lstore_run_txn(lua_State *L, int db_idx) {
    ldb *db = db_of(L, db_idx);
    return db ? db->run : NULL;
}

const store_counts *lstore_run_counts(lua_State *L, int db_idx, int *n) {
    ldb *db = db_of(L, db_idx);
    *n = 0;
    return db && db->run ? store_txn_counts(db->run, n) : NULL;
}

/* One try of db.atomic's function in t (top level or a savepoint): the
 * function and its arguments are at 1..nargs+1 of the stack, its results
 * (or its error) are left above base + 1 (the message handler). */
typedef struct atomic_unit {
    lua_State *L;
    ldb *db;
    int nargs, base, status;
} atomic_unit;

#define ATOMIC_RAISED 1 /* atomic_work: the function raised; its error is on the stack */

static int atomic_work(store_txn *t, void *ctx) {
    atomic_unit *a = ctx;
    lua_State *L = a->L;
    lua_settop(L, a->base); /* what an earlier try left */
    lua_pushcfunction(L, lstore_atomic_handler);
    for (int i = 1; i <= a->nargs + 1; i++) {
        lua_pushvalue(L, i);
    }
    store_txn *prev = a->db->wtxn;
    a->db->wtxn = t;
    a->status = lua_pcall(L, a->nargs, LUA_MULTRET, a->base + 1);
    a->db->wtxn = prev;
    if (a->db->map_full) {
        if (!prev) {
            a->db->map_full = 0; /* the top level redoes the unit */
        }
        return GH_EMAPFULL;
    }
    return a->status == LUA_OK ? 0 : ATOMIC_RAISED;
}

static int atomic_commit(store_txn *t, void *ctx) {
    return lstore_commit(((atomic_unit *)ctx)->db, t);
}

/* db.atomic(fn, ...) -> fn's results. One write transaction (a savepoint
 * when nested); any error rolls back everything fn did and is raised
 * again. If the map fills, the top level grows it and runs fn once more
 * (store_unit). */
static int l_db_atomic(lua_State *L) {
    ldb *db = lstore_db(L);
    luaL_checktype(L, 1, LUA_TFUNCTION);
    lstore_release(db);
    if (!db->wtxn && (db->guard & LSTORE_READONLY)) {
        return luaL_error(L, _("db.atomic: this request only reads (GET) and cannot write; a "
                               "route that writes is declared with write = true"));
    }
    if (!db->wtxn) { /* a new unit of work: forget an old error's traceback */
        lua_pushnil(L);
        lua_setfield(L, LUA_REGISTRYINDEX, TB_KEY);
    }
    atomic_unit a = {L, db, lua_gettop(L) - 1, lua_gettop(L), LUA_OK};
    int rc;
    if (!db->wtxn) {
        rc = store_unit(db->s, atomic_work, atomic_commit, &a);
        db->map_full = 0;
    } else {
        store_txn *t; /* a savepoint: a full map is the top level's to handle */
        if ((rc = store_txn_begin(db->s, db->wtxn, 1, &t)) == 0) {
            rc = atomic_work(t, &a);
            if (rc == 0) {
                rc = store_txn_commit(t);
            } else {
                store_txn_abort(t);
            }
        }
        if (rc == GH_EMAPFULL) {
            db->map_full = 1;
        }
    }
    if (rc == 0) {
        lua_remove(L, a.base + 1);
        return lua_gettop(L) - a.base;
    }
    if (a.status != LUA_OK) {
        return lua_error(L); /* the function's error, already on the stack */
    }
    lua_settop(L, a.base);
    return lstore_raise(L, rc);
}

static int l_db_gc(lua_State *L) {
    ldb *db = luaL_checkudata(L, 1, DB_MT);
    lstore_release(db);
    store_counts_free(db->done, db->ndone);
    db->done = NULL;
    db->ndone = 0;
    store_counts_free(db->done_events, db->ndone_events);
    db->done_events = NULL;
    db->ndone_events = 0;
    if (db->run) { /* a run that never ended: nothing of it is kept */
        store_txn_abort(db->run);
        db->run = db->wtxn = NULL;
    }
    codec_buf_free(&db->buf);
    codec_buf_free(&db->kbuf);
    return 0;
}

static const luaL_Reg coll_methods[] = {{"get", l_coll_get},
                                        {"insert", l_coll_insert},
                                        {"put", l_coll_put},
                                        {"update", l_coll_update},
                                        {"delete", l_coll_delete},
                                        {"find", l_coll_find},
                                        {"scan", l_coll_scan},
                                        {"list", l_coll_list},
                                        {"count", l_coll_count},
                                        {"count_by", l_coll_count_by},
                                        {"explain", l_coll_explain},
                                        {"schema", l_coll_schema},
                                        {"prepare_insert", l_coll_prepare_insert},
                                        {"insert_select", l_coll_insert_select},
                                        {"load", lstore_coll_load},
                                        {NULL, NULL}};

static const luaL_Reg db_funcs[] = {{"define", l_db_define},
                                    {"drop", l_db_drop},
                                    {"collections", l_db_collections},
                                    {"atomic", l_db_atomic},
                                    {NULL, NULL}};

void lstore_push_db(lua_State *L, store *s) {
    lbus_catcher(l_db_atomic); /* it catches with lstore_atomic_handler (lua_trace.c) */
    ldb *db = lua_newuserdatauv(L, sizeof *db, 0);
    memset(db, 0, sizeof *db);
    db->s = s;
    codec_buf_init(&db->buf);
    codec_buf_init(&db->kbuf);
    if (luaL_newmetatable(L, DB_MT)) {
        lua_pushcfunction(L, l_db_gc);
        lua_setfield(L, -2, "__gc");
    }
    lua_setmetatable(L, -2);
    int dbi = lua_gettop(L);
    lua_newtable(L); /* the db table */
    int tab = lua_gettop(L);

    /* Every function gets upvalues (db userdata, db table). */
    luaL_newmetatable(L, COLL_MT);
    db->coll_mt = lua_topointer(L, -1);
    lua_pushvalue(L, -1);
    lua_rawsetp(L, LUA_REGISTRYINDEX, &lstore_coll_key);
    lua_newtable(L);
    for (const luaL_Reg *r = coll_methods; r->name; r++) {
        lua_pushvalue(L, dbi);
        lua_pushvalue(L, tab);
        lua_pushcclosure(L, r->func, 2);
        lua_setfield(L, -2, r->name);
    }
    lua_setfield(L, -2, "__index");
    lua_pushcfunction(L, l_coll_tostring);
    lua_setfield(L, -2, "__tostring");
    lua_pushboolean(L, 0);
    lua_setfield(L, -2, "__metatable");
    lua_pop(L, 1);

    lscan_register(L, dbi);

    for (const luaL_Reg *r = db_funcs; r->name; r++) {
        lua_pushvalue(L, dbi);
        lua_pushvalue(L, tab);
        lua_pushcclosure(L, r->func, 2);
        lua_setfield(L, tab, r->name);
    }
    lua_pushlightuserdata(L, (void *)&db_funcs); /* a unique sentinel */
    lua_setfield(L, tab, "null");
    lua_newtable(L); /* metatable of the db table */
    lua_pushvalue(L, dbi);
    lua_pushvalue(L, tab);
    lua_pushcclosure(L, l_db_index, 2);
    lua_setfield(L, -2, "__index");
    lua_pushvalue(L, dbi); /* keeps the userdata alive as long as the table */
    lua_setfield(L, -2, "__db");
    lua_pushboolean(L, 0);
    lua_setfield(L, -2, "__metatable");
    lua_setmetatable(L, tab);
    lua_pushvalue(L, tab);
    lua_setfield(L, LUA_REGISTRYINDEX, LSTORE_DB_KEY);
    lua_remove(L, dbi);
}
