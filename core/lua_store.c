/*
 * lua_store.c — the Lua face of the store: the `db` global.
 *
 *   db.define(name, spec)    db.drop(name)    db.collections()
 *   db.atomic(fn, ...)       db.null
 *   db.<name>  (a collection): get insert put update delete find scan list
 *                              count count_by schema
 *
 * Called by script.c; built on store.h and lua_codec.h only.
 *
 * Transactions: while db.atomic runs, every operation uses its write
 * transaction (nested db.atomic: a savepoint). Outside it, a read takes a
 * pooled read transaction for the one call, a write runs in its own write
 * transaction, and a scan holds a read transaction until the loop ends (or
 * breaks: the scan is the loop's to-be-closed value).
 *
 * Rows: a scan yields each record as a row, a small userdata holding a copy
 * of the record's bytes that decodes a field only when it is read. A row
 * never points into the memory map, so keeping one, or writing while
 * scanning, is safe.
 *
 * Errors: a C resource is never held across a Lua error: each function
 * ends its own transaction before it raises.
 */
#include "lua_store.h"

#include "codec.h"
#include "err.h"
#include "lua_codec.h"

#include <lauxlib.h>
#include <stdlib.h>
#include <string.h>

#define DB_MT "gonghui.db"
#define COLL_MT "gonghui.collection"
#define ROW_MT "gonghui.row"
#define SCAN_MT "gonghui.scan"
#define TB_KEY "gonghui.traceback"

typedef struct lua_db {
    store *s;
    store_txn *wtxn; /* innermost db.atomic transaction, or NULL */
    int map_full;    /* a write hit GH_EMAPFULL: the top-level atomic grows and redoes */
    codec_buf buf, kbuf;
} lua_db;

typedef struct lcoll {
    const store_coll *c; /* valid while gen == store_generation() */
    uint64_t gen;
    char name[];
} lcoll;

/* One condition of a scan: the field's key encoding must be one of vals
 * (eq/in), or within [lo, hi]. */
typedef struct lfilter {
    int pos;
    int range;
    int nvals;
    codec_buf vals; /* nvals key-encoded values, each preceded by a size_t length */
    codec_buf lo, hi;
} lfilter;

typedef struct lscan {
    lua_db *db;
    store_txn *own; /* the scan's own read transaction, or NULL inside db.atomic */
    store_scan *sc;
    const store_coll *c;
    int64_t limit, offset;
    int nfilters;
    lfilter *filters;
    codec_buf kb; /* scratch for filters */
} lscan;

typedef struct lrow {
    const store_coll *c; /* borrowed: check gen */
    uint64_t gen;
    lua_db *db;
    int offsets_ready;
    uint32_t n;
    uint32_t *off; /* into bytes; UINT32_MAX = absent */
    unsigned char bytes[];
} lrow;

static lua_db *get_db(lua_State *L) {
    return lua_touserdata(L, lua_upvalueindex(1));
}

/* Raises the store's message for rc. Call only when holding nothing. */
static int raise_rc(lua_State *L, int rc) {
    return luaL_error(L, "%s", err_msg(rc));
}

/* ---- transactions -------------------------------------------------------------- */

/* Begins the transaction for one call: the atomic one if any (*owned = 0),
 * else a fresh read or write transaction (*owned = 1). */
static int op_begin(lua_db *db, int write, store_txn **t, int *owned) {
    if (db->wtxn) {
        *t = db->wtxn;
        *owned = 0;
        return 0;
    }
    *owned = 1;
    return store_txn_begin(db->s, NULL, write, t);
}

/* Ends the call's transaction: commits if rc == 0 and the transaction is
 * ours, aborts if it failed. Returns the final code. */
static int op_end(lua_db *db, store_txn *t, int owned, int rc) {
    if (rc == GH_EMAPFULL) {
        db->map_full = 1;
    }
    if (!owned) {
        return rc;
    }
    if (rc == 0 || rc == GH_ENOTFOUND) {
        int c = store_txn_commit(t);
        return c ? c : rc;
    }
    store_txn_abort(t);
    return rc;
}

/* ---- collections ------------------------------------------------------------------ */

/* Resolves the collection object at idx in transaction t; refreshes its
 * name tables (uservalue 1: position -> name, 2: name -> position) when the
 * definition changed. Returns 0 or an error code; never raises except for
 * Lua memory errors. */
static int coll_resolve(lua_State *L, int idx, store_txn *t, const store_coll **out) {
    lcoll *lc = luaL_checkudata(L, idx, COLL_MT);
    lua_db *db = get_db(L);
    const store_coll *c;
    int rc = store_coll_get(t, lc->name, &c);
    if (rc) {
        return rc == GH_ENOTFOUND ? err_set(GH_ENOTFOUND,
                                            "no collection named '%s' (define it with "
                                            "db.define)",
                                            lc->name)
                                  : rc;
    }
    if (lc->c != c || lc->gen != store_generation(db->s)) {
        idx = lua_absindex(L, idx);
        lua_createtable(L, c->nfields, 0);
        lua_createtable(L, 0, c->nfields);
        for (int i = 0; i < c->nfields; i++) {
            if (i == c->extra) {
                lua_pushboolean(L, 0);
                lua_rawseti(L, -3, i + 1);
                continue;
            }
            lua_pushstring(L, c->fields[i].name);
            lua_pushvalue(L, -1);
            lua_rawseti(L, -4, i + 1);
            lua_pushinteger(L, i + 1);
            lua_rawset(L, -3);
        }
        lua_setiuservalue(L, idx, 2);
        lua_setiuservalue(L, idx, 1);
        lc->c = c;
        lc->gen = store_generation(db->s);
    }
    *out = c;
    return 0;
}

static void push_coll(lua_State *L, const char *name) {
    size_t n = strlen(name);
    lcoll *lc = lua_newuserdatauv(L, sizeof *lc + n + 1, 2);
    lc->c = NULL;
    lc->gen = 0;
    memcpy(lc->name, name, n + 1);
    luaL_setmetatable(L, COLL_MT);
}

/* Encodes a Lua key for field `pos` of c into out (tuple encoding). */
static int encode_key_elem(lua_State *L, int idx, const store_coll *c, int pos, codec_buf *out) {
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
    int rc = err_set(GH_ETYPE, "collection '%s': field '%s' is %s, got %s", c->name,
                     c->fields[pos].name,
                     type == FT_DATE ? "a date (YYYY-MM-DD)" : store_type_name(type),
                     lua_tostring(L, -1));
    lua_pop(L, 1);
    return rc;
}

static int encode_pk(lua_State *L, int idx, const store_coll *c, codec_buf *out) {
    out->len = 0;
    int rc = encode_key_elem(L, idx, c, c->key, out);
    if (rc == 0 && out->len > STORE_MAX_KEY) {
        return err_set(GH_ETOOBIG, "collection '%s': key too long (%zu bytes encoded; at most %d)",
                       c->name, out->len, STORE_MAX_KEY);
    }
    return rc ? rc : out->oom ? GH_ENOMEM : 0;
}

/* Pushes the record's fields named by the arguments from `first` on, or the
 * whole record as a table when there are none. Returns the number pushed or
 * a negative code. */
static int push_fields(lua_State *L, int coll_idx, const store_coll *c, int first,
                       const void *rec, size_t n) {
    int top = lua_gettop(L);
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
    mp_reader r;
    mp_item it;
    mp_reader_init(&r, rec, n);
    if (mp_read(&r, &it) != 0 || it.type != MP_ARRAY) {
        return err_set(GH_ECORRUPT, "collection '%s': a stored record is corrupt", c->name);
    }
    const unsigned char *off[STORE_MAX_FIELDS];
    for (int i = 0; i < c->nfields; i++) {
        off[i] = NULL;
        if ((uint32_t)i < it.n) {
            off[i] = r.p;
            if (mp_skip(&r, CODEC_MAX_DEPTH) != 0) {
                return err_set(GH_ECORRUPT, "collection '%s': a stored record is corrupt",
                               c->name);
            }
        }
    }
    lua_getiuservalue(L, coll_idx, 2);
    int pos_idx = lua_gettop(L);
    for (int a = first; a <= top; a++) {
        lua_pushvalue(L, a);
        int pos = lua_rawget(L, pos_idx) == LUA_TNUMBER ? (int)lua_tointeger(L, -1) - 1 : -1;
        lua_pop(L, 1);
        if (pos < 0) {
            lua_settop(L, top);
            return err_set(GH_EUNKNOWN, "collection '%s' has no field '%s'", c->name,
                           lua_tostring(L, a) ? lua_tostring(L, a) : "?");
        }
        if (!off[pos]) {
            lua_pushnil(L);
            continue;
        }
        mp_reader_init(&r, off[pos], (size_t)((const unsigned char *)rec + n - off[pos]));
        if (lcodec_push(L, &r, CODEC_MAX_DEPTH) != 0) {
            lua_settop(L, top);
            return GH_ECORRUPT;
        }
    }
    lua_remove(L, pos_idx);
    return top - first + 1;
}

/* coll:get(key [, field...]) -> record table | field values | nil */
static int l_coll_get(lua_State *L) {
    lua_db *db = get_db(L);
    const store_coll *c;
    store_txn *t;
    int owned, rc, nret = 0;
    luaL_checkudata(L, 1, COLL_MT);
    luaL_checkany(L, 2);
    if ((rc = op_begin(db, 0, &t, &owned))) {
        return raise_rc(L, rc);
    }
    if ((rc = coll_resolve(L, 1, t, &c)) == 0 && (rc = encode_pk(L, 2, c, &db->kbuf)) == 0) {
        const void *v;
        size_t n;
        rc = store_get(t, c, db->kbuf.p, db->kbuf.len, &v, &n);
        if (rc == 0) {
            nret = push_fields(L, 1, c, 3, v, n);
            rc = nret < 0 ? nret : 0;
        }
    }
    rc = op_end(db, t, owned, rc);
    if (rc == GH_ENOTFOUND) {
        lua_pushnil(L);
        return 1;
    }
    return rc ? raise_rc(L, rc) : nret;
}

/* Runs one write in the atomic transaction or its own one (redone once
 * after growing the map). */
typedef int (*write_fn)(lua_State *L, lua_db *db, store_txn *t, const store_coll *c);

static int run_write(lua_State *L, write_fn fn) {
    lua_db *db = get_db(L);
    luaL_checkudata(L, 1, COLL_MT);
    for (int attempt = 0;; attempt++) {
        const store_coll *c;
        store_txn *t;
        int owned, rc, top = lua_gettop(L);
        if ((rc = op_begin(db, 1, &t, &owned))) {
            return raise_rc(L, rc);
        }
        if ((rc = coll_resolve(L, 1, t, &c)) == 0) {
            rc = fn(L, db, t, c);
        }
        int nret = lua_gettop(L) - top;
        if (rc) {
            lua_settop(L, top);
        }
        rc = op_end(db, t, owned, rc);
        if (rc == GH_EMAPFULL && owned && attempt == 0 && store_grow(db->s) == 0) {
            db->map_full = 0;
            lua_settop(L, top);
            continue;
        }
        if (rc == GH_ENOTFOUND) {
            lua_settop(L, top);
            lua_pushnil(L);
            return 1;
        }
        return rc ? raise_rc(L, rc) : nret;
    }
}

/* The record argument 2 encoded into db->buf (a table, or a row of c). */
static int encode_arg_record(lua_State *L, lua_db *db, store_txn *t, const store_coll *c,
                             int *auto_used) {
    lrow *row = luaL_testudata(L, 2, ROW_MT);
    *auto_used = 0;
    if (row) {
        if (row->c != c || row->gen != store_generation(db->s)) {
            return err_set(GH_EINVAL, "collection '%s': this row is from another collection",
                           c->name);
        }
        db->buf.len = 0;
        codec_buf_add(&db->buf, row->bytes, row->n);
        return db->buf.oom ? GH_ENOMEM : 0;
    }
    if (!lua_istable(L, 2)) {
        return err_set(GH_EINVAL, "collection '%s': expected a record table, got %s", c->name,
                       luaL_typename(L, 2));
    }
    int64_t id = 0;
    if (c->auto_key) {
        lua_getiuservalue(L, 1, 1);
        lua_rawgeti(L, -1, c->key + 1);
        int has = lua_rawget(L, 2) != LUA_TNIL;
        lua_pop(L, 2);
        if (!has) {
            int rc = store_next_id(t, c, &id);
            if (rc) {
                return rc;
            }
            *auto_used = 1;
        }
    }
    lua_getiuservalue(L, 1, 2);
    int rc = lcodec_encode_record(L, 2, c, -1, *auto_used ? &id : NULL, &db->buf);
    lua_pop(L, 1);
    return rc;
}

static int write_record(lua_State *L, lua_db *db, store_txn *t, const store_coll *c, int mode) {
    int auto_used, rc = encode_arg_record(L, db, t, c, &auto_used);
    if (rc == 0) {
        rc = store_put(t, c, mode, db->buf.p, db->buf.len);
    }
    if (rc == 0) { /* return the key */
        mp_reader r;
        mp_item it;
        mp_reader_init(&r, db->buf.p, db->buf.len);
        mp_read(&r, &it);
        for (int i = 0; i < c->key; i++) {
            mp_skip(&r, CODEC_MAX_DEPTH);
        }
        lcodec_push(L, &r, 1);
    }
    return rc;
}

static int w_insert(lua_State *L, lua_db *db, store_txn *t, const store_coll *c) {
    return write_record(L, db, t, c, STORE_INSERT);
}

static int w_put(lua_State *L, lua_db *db, store_txn *t, const store_coll *c) {
    return write_record(L, db, t, c, STORE_REPLACE);
}

/* coll:insert(record) -> key. Error if the key exists. */
static int l_coll_insert(lua_State *L) {
    return run_write(L, w_insert);
}

/* coll:put(record) -> key. Inserts or replaces. */
static int l_coll_put(lua_State *L) {
    return run_write(L, w_put);
}

static int w_update(lua_State *L, lua_db *db, store_txn *t, const store_coll *c) {
    const void *old;
    size_t n;
    int rc;
    luaL_checkany(L, 2);
    if (!lua_istable(L, 3)) {
        return err_set(GH_EINVAL, "collection '%s': update(key, changes) needs a table of changes",
                       c->name);
    }
    if ((rc = encode_pk(L, 2, c, &db->kbuf))) {
        return rc;
    }
    rc = store_get(t, c, db->kbuf.p, db->kbuf.len, &old, &n);
    if (rc) {
        return rc;
    }
    lua_getiuservalue(L, 1, 2);
    lua_getfield(L, lua_upvalueindex(2), "null");
    const void *null = lua_touserdata(L, -1);
    lua_pop(L, 1);
    rc = lcodec_merge_record(L, 3, c, -1, old, n, null, &db->buf);
    lua_pop(L, 1);
    if (rc == 0) {
        rc = store_put(t, c, STORE_UPDATE, db->buf.p, db->buf.len);
    }
    if (rc == 0) {
        lua_pushboolean(L, 1);
    }
    return rc;
}

/* coll:update(key, changes) -> true, or nil if there is no such record. */
static int l_coll_update(lua_State *L) {
    return run_write(L, w_update);
}

static int w_delete(lua_State *L, lua_db *db, store_txn *t, const store_coll *c) {
    luaL_checkany(L, 2);
    int rc = encode_pk(L, 2, c, &db->kbuf);
    if (rc == 0) {
        rc = store_delete(t, c, db->kbuf.p, db->kbuf.len);
    }
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
    return run_write(L, w_delete);
}

/* Finds index `name` ("field" or "a,b") of c; -1 if none. */
static int index_by_name(const store_coll *c, const char *name) {
    for (int i = 0; i < c->nindexes; i++) {
        if (strcmp(c->indexes[i].name, name) == 0) {
            return i;
        }
    }
    return -1;
}

static int no_index(const store_coll *c, const char *name) {
    char known[400];
    size_t w = 0;
    known[0] = 0;
    for (int i = 0; i < c->nindexes && w < sizeof known - 80; i++) {
        w += (size_t)snprintf(known + w, sizeof known - w, "%s'%s'", w ? ", " : "",
                              c->indexes[i].name);
    }
    return err_set(GH_EUNKNOWN, "collection '%s' has no index '%s' (its indexes: %s)", c->name,
                   name, w ? known : "none");
}

/* Encodes the leading values of index ix from the value at idx (a scalar for
 * the first field, or an array for several) into out. *nvals gets how many
 * fields were given. */
static int encode_index_vals(lua_State *L, int idx, const store_coll *c, const store_index *ix,
                             codec_buf *out, int *nvals) {
    idx = lua_absindex(L, idx);
    out->len = 0;
    if (lua_istable(L, idx) && ix->nfields > 1) {
        int n = (int)lua_rawlen(L, idx);
        if (n > ix->nfields) {
            return err_set(GH_EINVAL, "collection '%s': index '%s' has %d fields, got %d values",
                           c->name, ix->name, ix->nfields, n);
        }
        for (int j = 0; j < n; j++) {
            lua_rawgeti(L, idx, j + 1);
            int rc = encode_key_elem(L, -1, c, ix->fields[j], out);
            lua_pop(L, 1);
            if (rc) {
                return rc;
            }
        }
        *nvals = n;
    } else {
        int rc = encode_key_elem(L, idx, c, ix->fields[0], out);
        if (rc) {
            return rc;
        }
        *nvals = 1;
    }
    return out->oom ? GH_ENOMEM : 0;
}

/* coll:find(index, value [, field...]) -> record | field values | nil */
static int l_coll_find(lua_State *L) {
    lua_db *db = get_db(L);
    const store_coll *c;
    store_txn *t;
    int owned, rc, nret = 0;
    luaL_checkudata(L, 1, COLL_MT);
    const char *iname = luaL_checkstring(L, 2);
    luaL_checkany(L, 3);
    if ((rc = op_begin(db, 0, &t, &owned))) {
        return raise_rc(L, rc);
    }
    if ((rc = coll_resolve(L, 1, t, &c)) == 0) {
        int ix = index_by_name(c, iname), nv = 0;
        if (ix < 0) {
            rc = no_index(c, iname);
        } else if ((rc = encode_index_vals(L, 3, c, &c->indexes[ix], &db->kbuf, &nv)) == 0) {
            const void *pk, *v;
            size_t pkn, n;
            if (c->indexes[ix].unique && nv == c->indexes[ix].nfields) {
                rc = store_find(t, c, ix, db->kbuf.p, db->kbuf.len, &pk, &pkn);
                if (rc == 0) {
                    rc = store_get(t, c, pk, pkn, &v, &n);
                }
            } else {
                store_scan *sc;
                store_range r = {.prefix = db->kbuf.p, .prefixlen = db->kbuf.len};
                if ((rc = store_scan_open(t, c, ix, &r, &sc)) == 0) {
                    rc = store_scan_next(sc, &pk, &pkn, &v, &n);
                    if (rc == 0) {
                        nret = push_fields(L, 1, c, 4, v, n);
                        rc = nret < 0 ? nret : 0;
                    }
                    store_scan_close(sc);
                }
                goto done;
            }
            if (rc == 0) {
                nret = push_fields(L, 1, c, 4, v, n);
                rc = nret < 0 ? nret : 0;
            }
        }
    }
done:
    rc = op_end(db, t, owned, rc);
    if (rc == GH_ENOTFOUND) {
        lua_pushnil(L);
        return 1;
    }
    return rc ? raise_rc(L, rc) : nret;
}

/* ---- rows ---------------------------------------------------------------------------- */

static int row_offsets(lrow *row) {
    mp_reader r;
    mp_item it;
    mp_reader_init(&r, row->bytes, row->n);
    if (mp_read(&r, &it) != 0 || it.type != MP_ARRAY) {
        return GH_ECORRUPT;
    }
    for (int i = 0; i < row->c->nfields; i++) {
        row->off[i] = UINT32_MAX;
        if ((uint32_t)i < it.n) {
            row->off[i] = (uint32_t)(r.p - row->bytes);
            if (mp_skip(&r, CODEC_MAX_DEPTH) != 0) {
                return GH_ECORRUPT;
            }
        }
    }
    row->offsets_ready = 1;
    return 0;
}

/* Pushes a new row for record bytes rec; pos/names tables from the
 * collection object at coll_idx. */
static void push_row(lua_State *L, lua_db *db, const store_coll *c, int names_idx, int pos_idx,
                     const void *rec, size_t n) {
    size_t offs = (size_t)c->nfields * sizeof(uint32_t);
    lrow *row = lua_newuserdatauv(L, sizeof *row + n + offs, 2);
    row->c = c;
    row->gen = store_generation(db->s);
    row->db = db;
    row->offsets_ready = 0;
    row->n = (uint32_t)n;
    memcpy(row->bytes, rec, n);
    row->off = (uint32_t *)(void *)(row->bytes + ((n + 3) & ~(size_t)3));
    luaL_setmetatable(L, ROW_MT);
    lua_pushvalue(L, names_idx);
    lua_setiuservalue(L, -2, 1);
    lua_pushvalue(L, pos_idx);
    lua_setiuservalue(L, -2, 2);
}

static lrow *check_row(lua_State *L, int idx) {
    lrow *row = luaL_checkudata(L, idx, ROW_MT);
    if (row->gen != store_generation(row->db->s)) {
        /* The definition was reloaded: the position tables we hold are
         * still this row's own, but c may be gone. Only reads through our
         * own tables remain valid, and they need c for types; refuse. */
        luaL_error(L, "this row was read before the collection was redefined; read it again");
    }
    if (!row->offsets_ready && row_offsets(row) != 0) {
        luaL_error(L, "collection '%s': a stored record is corrupt (run gonghui check)",
                   row->c->name);
    }
    return row;
}

static void row_push_field(lua_State *L, lrow *row, int pos) {
    mp_reader r;
    if (row->off[pos] == UINT32_MAX) {
        lua_pushnil(L);
        return;
    }
    mp_reader_init(&r, row->bytes + row->off[pos], row->n - row->off[pos]);
    if (lcodec_push(L, &r, CODEC_MAX_DEPTH) != 0) {
        luaL_error(L, "collection '%s': field '%s' is corrupt", row->c->name,
                   row->c->fields[pos].name);
    }
}

/* row:totable() -> a plain table copy */
static int l_row_totable(lua_State *L) {
    lrow *row = check_row(L, 1);
    lua_getiuservalue(L, 1, 1);
    if (lcodec_push_record(L, row->c, -1, row->bytes, row->n) != 0) {
        return luaL_error(L, "%s", err_msg(GH_ECORRUPT));
    }
    return 1;
}

static int l_row_index(lua_State *L) {
    lrow *row = check_row(L, 1);
    lua_getiuservalue(L, 1, 2);
    lua_pushvalue(L, 2);
    if (lua_rawget(L, -2) == LUA_TNUMBER) {
        row_push_field(L, row, (int)lua_tointeger(L, -1) - 1);
        return 1;
    }
    if (lua_type(L, 2) == LUA_TSTRING && strcmp(lua_tostring(L, 2), "totable") == 0) {
        lua_pushcfunction(L, l_row_totable);
        return 1;
    }
    if (row->c->extra >= 0) { /* an extra field, or nil */
        row_push_field(L, row, row->c->extra);
        if (lua_istable(L, -1)) {
            lua_pushvalue(L, 2);
            lua_rawget(L, -2);
            return 1;
        }
        lua_pushnil(L);
        return 1;
    }
    return luaL_error(L, "collection '%s' has no field '%s'", row->c->name,
                      luaL_tolstring(L, 2, NULL));
}

static int l_row_newindex(lua_State *L) {
    lrow *row = luaL_checkudata(L, 1, ROW_MT);
    return luaL_error(L,
                      "rows from a scan of '%s' are read-only: use update(key, {%s = ...}), "
                      "or row:totable() for a copy you can change",
                      row->c->name, luaL_tolstring(L, 2, NULL));
}

static int l_row_next(lua_State *L) {
    lrow *row = check_row(L, 1);
    int pos = 0;
    if (!lua_isnil(L, 2)) {
        lua_getiuservalue(L, 1, 2);
        lua_pushvalue(L, 2);
        pos = lua_rawget(L, -2) == LUA_TNUMBER ? (int)lua_tointeger(L, -1) : row->c->nfields;
        lua_pop(L, 2);
    }
    for (; pos < row->c->nfields; pos++) {
        if (row->off[pos] != UINT32_MAX && pos != row->c->extra &&
            row->bytes[row->off[pos]] != 0xc0) {
            lua_getiuservalue(L, 1, 1);
            lua_rawgeti(L, -1, pos + 1);
            row_push_field(L, row, pos);
            return 2;
        }
    }
    lua_pushnil(L);
    return 1;
}

static int l_row_pairs(lua_State *L) {
    check_row(L, 1);
    lua_pushcfunction(L, l_row_next);
    lua_pushvalue(L, 1);
    lua_pushnil(L);
    return 3;
}

static int l_row_tostring(lua_State *L) {
    lrow *row = check_row(L, 1);
    luaL_Buffer b;
    luaL_buffinit(L, &b);
    luaL_addstring(&b, row->c->name);
    luaL_addstring(&b, "{");
    for (int i = 0, first = 1; i < row->c->nfields; i++) {
        if (row->off[i] == UINT32_MAX || i == row->c->extra) {
            continue;
        }
        row_push_field(L, row, i);
        if (lua_isnil(L, -1) || lua_istable(L, -1)) {
            lua_pop(L, 1);
            continue;
        }
        lua_pushfstring(L, "%s%s=%s", first ? "" : ", ", row->c->fields[i].name,
                        luaL_tolstring(L, -1, NULL));
        lua_remove(L, -2);
        lua_remove(L, -2);
        luaL_addvalue(&b);
        first = 0;
    }
    luaL_addstring(&b, "}");
    luaL_pushresult(&b);
    return 1;
}

/* ---- scans ------------------------------------------------------------------------------- */

static void scan_free(lscan *s) {
    if (s->sc) {
        store_scan_close(s->sc);
        s->sc = NULL;
    }
    if (s->own) {
        store_txn_commit(s->own);
        s->own = NULL;
    }
    for (int i = 0; i < s->nfilters; i++) {
        codec_buf_free(&s->filters[i].vals);
        codec_buf_free(&s->filters[i].lo);
        codec_buf_free(&s->filters[i].hi);
    }
    free(s->filters);
    s->filters = NULL;
    s->nfilters = 0;
    codec_buf_free(&s->kb);
}

static int l_scan_gc(lua_State *L) {
    scan_free(luaL_checkudata(L, 1, SCAN_MT));
    return 0;
}

/* Does the record pass every filter? 1 yes, 0 no, <0 error. */
static int scan_match(lscan *s, const void *rec, size_t n) {
    if (!s->nfilters) {
        return 1;
    }
    const unsigned char *off[STORE_MAX_FIELDS];
    mp_reader r;
    mp_item it;
    mp_reader_init(&r, rec, n);
    if (mp_read(&r, &it) != 0 || it.type != MP_ARRAY) {
        return GH_ECORRUPT;
    }
    /* only as far as the last filtered field */
    int need = 0;
    for (int f = 0; f < s->nfilters; f++) {
        if (s->filters[f].pos + 1 > need) {
            need = s->filters[f].pos + 1;
        }
    }
    for (int i = 0; i < need; i++) {
        off[i] = NULL;
        if ((uint32_t)i < it.n) {
            off[i] = r.p;
            if (mp_skip(&r, CODEC_MAX_DEPTH) != 0) {
                return GH_ECORRUPT;
            }
        }
    }
    const unsigned char *end = (const unsigned char *)rec + n;
    for (int f = 0; f < s->nfilters; f++) {
        lfilter *fl = &s->filters[f];
        const unsigned char *p = off[fl->pos];
        if (!p || *p == 0xc0) {
            return 0; /* nil never matches */
        }
        s->kb.len = 0;
        /* key-encode the field (order-preserving, comparable bytes) */
        mp_reader fr;
        mp_item fi;
        mp_reader_init(&fr, p, (size_t)(end - p));
        if (mp_read(&fr, &fi) != 0) {
            return GH_ECORRUPT;
        }
        switch (fi.type) {
        case MP_INT:
            if (s->c->fields[fl->pos].type == FT_NUMBER) {
                key_put_double(&s->kb, (double)fi.v.i);
            } else {
                key_put_int(&s->kb, fi.v.i);
            }
            break;
        case MP_FLOAT:
            key_put_double(&s->kb, fi.v.d);
            break;
        case MP_STR:
            key_put_str(&s->kb, fi.s, fi.n);
            break;
        case MP_BOOL:
            key_put_bool(&s->kb, fi.v.b);
            break;
        default:
            return 0;
        }
        if (fl->range) {
            {
                size_t kn = s->kb.len;
                if (fl->lo.len) {
                    size_t m = kn < fl->lo.len ? kn : fl->lo.len;
                    int c = memcmp(s->kb.p, fl->lo.p, m);
                    if (c < 0 || (c == 0 && kn < fl->lo.len)) {
                        return 0;
                    }
                }
                if (fl->hi.len) {
                    size_t m = kn < fl->hi.len ? kn : fl->hi.len;
                    int c = memcmp(s->kb.p, fl->hi.p, m);
                    if (c > 0 || (c == 0 && kn > fl->hi.len)) {
                        return 0;
                    }
                }
            }
            continue;
        }
        int hit = 0;
        const unsigned char *v = fl->vals.p, *vend = v + fl->vals.len;
        while (v < vend && !hit) {
            size_t vn;
            memcpy(&vn, v, sizeof vn);
            v += sizeof vn;
            hit = vn == s->kb.len && memcmp(v, s->kb.p, vn) == 0;
            v += vn;
        }
        if (!hit) {
            return 0;
        }
    }
    return 1;
}

/* Moves to the next record that passes the filters, honouring offset and
 * limit. 0 with rec/n set, GH_ENOTFOUND at the end, or an error. */
static int scan_step(lscan *s, const void **rec, size_t *n) {
    const void *pk;
    size_t pkn;
    if (!s->sc || s->limit == 0) {
        return GH_ENOTFOUND;
    }
    for (;;) {
        int rc = store_scan_next(s->sc, &pk, &pkn, rec, n);
        if (rc) {
            return rc;
        }
        int m = scan_match(s, *rec, *n);
        if (m < 0) {
            return err_set(m, "collection '%s': a stored record is corrupt (run gonghui check)",
                           s->c->name);
        }
        if (!m) {
            continue;
        }
        if (s->offset > 0) {
            s->offset--;
            continue;
        }
        if (s->limit > 0) {
            s->limit--;
        }
        return 0;
    }
}

/* Iterator: upvalues 1 db, 2 scan, 3 names, 4 positions. */
static int l_scan_iter(lua_State *L) {
    lua_db *db = get_db(L);
    lscan *s = lua_touserdata(L, lua_upvalueindex(2));
    const void *rec;
    size_t n;
    int rc = scan_step(s, &rec, &n);
    if (rc == 0) {
        push_row(L, db, s->c, lua_upvalueindex(3), lua_upvalueindex(4), rec, n);
        return 1;
    }
    scan_free(s);
    if (rc == GH_ENOTFOUND) {
        lua_pushnil(L);
        return 1;
    }
    return raise_rc(L, rc);
}

static int add_filter(lua_State *L, lscan *s, int pos, int vidx) {
    const store_coll *c = s->c;
    lfilter *f;
    lfilter *nf = realloc(s->filters, (size_t)(s->nfilters + 1) * sizeof *nf);
    if (!nf) {
        return GH_ENOMEM;
    }
    s->filters = nf;
    f = &nf[s->nfilters++];
    memset(f, 0, sizeof *f);
    f->pos = pos;
    codec_buf_init(&f->vals);
    codec_buf_init(&f->lo);
    codec_buf_init(&f->hi);
    codec_buf one;
    codec_buf_init(&one);
    int rc = 0;
    vidx = lua_absindex(L, vidx);
    if (lua_istable(L, vidx) && lua_rawlen(L, vidx) == 0) { /* {from=, to=} */
        f->range = 1;
        lua_getfield(L, vidx, "from");
        if (!lua_isnil(L, -1)) {
            rc = encode_key_elem(L, -1, c, pos, &f->lo);
        }
        lua_pop(L, 1);
        lua_getfield(L, vidx, "to");
        if (rc == 0 && !lua_isnil(L, -1)) {
            rc = encode_key_elem(L, -1, c, pos, &f->hi);
        }
        lua_pop(L, 1);
        if (rc == 0 && !f->lo.len && !f->hi.len) {
            rc = err_set(GH_EINVAL,
                         "collection '%s': condition on '%s' must be a value, a list of values "
                         "or {from = ..., to = ...}",
                         c->name, c->fields[pos].name);
        }
    } else if (lua_istable(L, vidx)) { /* a list of values: any of them */
        int n = (int)lua_rawlen(L, vidx);
        for (int i = 1; i <= n && rc == 0; i++) {
            lua_rawgeti(L, vidx, i);
            one.len = 0;
            rc = encode_key_elem(L, -1, c, pos, &one);
            lua_pop(L, 1);
            codec_buf_add(&f->vals, &one.len, sizeof one.len);
            codec_buf_add(&f->vals, one.p, one.len);
            f->nvals++;
        }
    } else {
        rc = encode_key_elem(L, vidx, c, pos, &one);
        codec_buf_add(&f->vals, &one.len, sizeof one.len);
        codec_buf_add(&f->vals, one.p, one.len);
        f->nvals = 1;
    }
    codec_buf_free(&one);
    return rc ? rc : f->vals.oom ? GH_ENOMEM : 0;
}

static const char *const scan_opts[] = {"index", "eq",    "prefix",  "from",
                                        "to",    "limit", "offset",  "reverse", NULL};

static int is_scan_opt(const char *k) {
    for (int i = 0; scan_opts[i]; i++) {
        if (strcmp(k, scan_opts[i]) == 0) {
            return 1;
        }
    }
    return 0;
}

/* Builds the scan for options at opt_idx (may be none) over c in t: picks
 * an index (explicit, or from equality conditions when selective), the
 * range, and the filters. On success the lscan holds an open store_scan. */
static int scan_setup(lua_State *L, lscan *s, store_txn *t, const store_coll *c, int opt_idx) {
    store_range r;
    codec_buf lo, hi, px;
    int index = -1, rc = 0;
    memset(&r, 0, sizeof r);
    codec_buf_init(&lo);
    codec_buf_init(&hi);
    codec_buf_init(&px);
    s->c = c;
    s->limit = -1;
    s->offset = 0;
    int has_opts = opt_idx > 0 && lua_istable(L, opt_idx);
    if (opt_idx > 0 && !has_opts && !lua_isnil(L, opt_idx)) {
        return err_set(GH_EINVAL, "collection '%s': scan options must be a table", c->name);
    }
    if (has_opts) {
        /* conditions on fields */
        lua_getiuservalue(L, 1, 2);
        int pos_idx = lua_gettop(L);
        lua_pushnil(L);
        while (rc == 0 && lua_next(L, opt_idx)) {
            if (lua_type(L, -2) != LUA_TSTRING) {
                rc = err_set(GH_EINVAL, "collection '%s': scan options are named", c->name);
            } else if (!is_scan_opt(lua_tostring(L, -2))) {
                lua_pushvalue(L, -2);
                int pos =
                    lua_rawget(L, pos_idx) == LUA_TNUMBER ? (int)lua_tointeger(L, -1) - 1 : -1;
                lua_pop(L, 1);
                if (pos < 0) {
                    rc = err_set(GH_EUNKNOWN,
                                 "collection '%s': no field '%s' to filter on (options: index, "
                                 "eq, prefix, from, to, limit, offset, reverse)",
                                 c->name, lua_tostring(L, -2));
                } else {
                    rc = add_filter(L, s, pos, -1);
                }
            }
            lua_pop(L, 1);
        }
        if (rc) {
            lua_settop(L, pos_idx - 1);
            goto out;
        }
        lua_settop(L, pos_idx - 1);
        lua_getfield(L, opt_idx, "limit");
        s->limit = lua_isnil(L, -1) ? -1 : (int64_t)lua_tointeger(L, -1);
        lua_getfield(L, opt_idx, "offset");
        s->offset = (int64_t)lua_tointeger(L, -1);
        lua_getfield(L, opt_idx, "reverse");
        r.reverse = lua_toboolean(L, -1);
        lua_getfield(L, opt_idx, "index");
        const char *iname = lua_tostring(L, -1);
        if (iname) {
            int nv;
            index = strcmp(iname, c->fields[c->key].name) == 0 ? -1 : index_by_name(c, iname);
            if (index < 0 && strcmp(iname, c->fields[c->key].name) != 0) {
                rc = no_index(c, iname);
                lua_pop(L, 4);
                goto out;
            }
            store_index keyix = {.nfields = 1, .fields = {c->key}};
            const store_index *ix = index < 0 ? &keyix : &c->indexes[index];
            lua_getfield(L, opt_idx, "eq");
            if (rc == 0 && !lua_isnil(L, -1)) {
                rc = encode_index_vals(L, -1, c, ix, &px, &nv);
            }
            lua_getfield(L, opt_idx, "prefix");
            if (rc == 0 && !lua_isnil(L, -1)) {
                size_t n;
                const char *z = lua_tolstring(L, -1, &n);
                int ft = c->fields[ix->fields[0]].type;
                if (!z || lua_type(L, -1) != LUA_TSTRING || (ft != FT_STRING && ft != FT_DATE)) {
                    rc = err_set(GH_EINVAL,
                                 "collection '%s': prefix needs a string index and a string",
                                 c->name);
                } else if (!px.len) {
                    key_put_str(&px, z, n);
                    px.len--; /* drop the terminator: any string starting with z */
                }
            }
            lua_getfield(L, opt_idx, "from");
            if (rc == 0 && !lua_isnil(L, -1)) {
                rc = encode_index_vals(L, -1, c, ix, &lo, &nv);
            }
            lua_getfield(L, opt_idx, "to");
            if (rc == 0 && !lua_isnil(L, -1)) {
                rc = encode_index_vals(L, -1, c, ix, &hi, &nv);
            }
            lua_pop(L, 4);
        } else {
            lua_getfield(L, opt_idx, "eq");
            lua_getfield(L, opt_idx, "prefix");
            lua_getfield(L, opt_idx, "from");
            lua_getfield(L, opt_idx, "to");
            if (!lua_isnil(L, -1) || !lua_isnil(L, -2) || !lua_isnil(L, -3) ||
                !lua_isnil(L, -4)) {
                rc = err_set(GH_EINVAL,
                             "collection '%s': eq, prefix, from and to need index = '<field>'",
                             c->name);
            }
            lua_pop(L, 4);
        }
        lua_pop(L, 4);
        if (rc) {
            goto out;
        }
    }
    if (!has_opts || (index < 0 && !lo.len && !hi.len && !px.len)) {
        /* No explicit range: use an index whose first field has a one-value
         * condition, if it is selective enough to beat a sequential scan
         * (each index hit costs a seek; about 1/8 of the records breaks even). */
        uint64_t total = 0, best = UINT64_MAX;
        int bestf = -1;
        store_count(t, c, &total);
        for (int f = 0; f < s->nfilters; f++) {
            lfilter *fl = &s->filters[f];
            if (fl->range || fl->nvals != 1) {
                continue;
            }
            for (int i = 0; i < c->nindexes; i++) {
                if (c->indexes[i].fields[0] != fl->pos) {
                    continue;
                }
                store_range er = {.prefix = fl->vals.p + sizeof(size_t),
                                  .prefixlen = fl->vals.len - sizeof(size_t)};
                uint64_t n = 0;
                if (c->indexes[i].nfields == 1) {
                    store_range_count(t, c, i, &er, &n);
                } else {
                    n = total / 16; /* a guess: compound prefixes are usually selective */
                }
                if (n < best) {
                    best = n;
                    index = i;
                    bestf = f;
                }
            }
        }
        if (bestf >= 0 && best * 8 <= total) {
            px.len = 0;
            codec_buf_add(&px, s->filters[bestf].vals.p + sizeof(size_t),
                          s->filters[bestf].vals.len - sizeof(size_t));
        } else {
            index = -1;
        }
    }
    if (px.len) {
        r.prefix = px.p;
        r.prefixlen = px.len;
    }
    if (lo.len) {
        r.lo = lo.p;
        r.lolen = lo.len;
    }
    if (hi.len) {
        r.hi = hi.p;
        r.hilen = hi.len;
    }
    rc = store_scan_open(t, c, index, &r, &s->sc);
out:
    codec_buf_free(&lo);
    codec_buf_free(&hi);
    codec_buf_free(&px);
    return rc;
}

/* Opens the scan userdata for coll at 1 with options at 2; pushes it. */
static int open_scan(lua_State *L, lscan **out) {
    lua_db *db = get_db(L);
    const store_coll *c;
    store_txn *t;
    int owned, rc;
    luaL_checkudata(L, 1, COLL_MT);
    lscan *s = lua_newuserdatauv(L, sizeof *s, 0);
    memset(s, 0, sizeof *s);
    s->db = db;
    codec_buf_init(&s->kb);
    luaL_setmetatable(L, SCAN_MT);
    if ((rc = op_begin(db, 0, &t, &owned))) {
        return rc;
    }
    if (owned) {
        s->own = t;
    }
    if ((rc = coll_resolve(L, 1, t, &c)) == 0) {
        rc = scan_setup(L, s, t, c, lua_gettop(L) >= 3 ? 2 : 0);
    }
    if (rc) {
        scan_free(s);
        return rc;
    }
    *out = s;
    return 0;
}

/* coll:scan([opts]) -> iterator for a generic for (with a to-be-closed
 * value so `break` ends the read at once). */
static int l_coll_scan(lua_State *L) {
    lscan *s;
    lua_settop(L, 2);
    int rc = open_scan(L, &s);
    if (rc) {
        return raise_rc(L, rc);
    }
    int sidx = lua_gettop(L);
    lua_pushvalue(L, lua_upvalueindex(1));
    lua_pushvalue(L, sidx);
    lua_getiuservalue(L, 1, 1);
    lua_getiuservalue(L, 1, 2);
    lua_pushcclosure(L, l_scan_iter, 4);
    lua_pushnil(L);
    lua_pushnil(L);
    lua_pushvalue(L, sidx);
    return 4;
}

/* coll:list([opts]) -> array of record tables */
static int l_coll_list(lua_State *L) {
    lscan *s;
    const void *rec;
    size_t n;
    lua_settop(L, 2);
    int rc = open_scan(L, &s);
    if (rc) {
        return raise_rc(L, rc);
    }
    lua_getiuservalue(L, 1, 1);
    int names = lua_gettop(L);
    lua_newtable(L);
    lua_Integer i = 0;
    while ((rc = scan_step(s, &rec, &n)) == 0) {
        if ((rc = lcodec_push_record(L, s->c, names, rec, n)) != 0) {
            break;
        }
        lua_rawseti(L, -2, ++i);
    }
    scan_free(s);
    if (rc != GH_ENOTFOUND) {
        return raise_rc(L, rc);
    }
    return 1;
}

/* coll:count([opts]) -> number of records (matching) */
static int l_coll_count(lua_State *L) {
    lscan *s;
    const void *rec;
    size_t n;
    lua_settop(L, 2);
    if (lua_isnil(L, 2)) { /* the whole collection: from the B-tree header */
        lua_db *db = get_db(L);
        const store_coll *c;
        store_txn *t;
        int owned, rc;
        uint64_t count = 0;
        if ((rc = op_begin(db, 0, &t, &owned))) {
            return raise_rc(L, rc);
        }
        if ((rc = coll_resolve(L, 1, t, &c)) == 0) {
            rc = store_count(t, c, &count);
        }
        rc = op_end(db, t, owned, rc);
        if (rc) {
            return raise_rc(L, rc);
        }
        lua_pushinteger(L, (lua_Integer)count);
        return 1;
    }
    int rc = open_scan(L, &s);
    if (rc) {
        return raise_rc(L, rc);
    }
    lua_Integer count = 0;
    while ((rc = scan_step(s, &rec, &n)) == 0) {
        count++;
    }
    scan_free(s);
    if (rc != GH_ENOTFOUND) {
        return raise_rc(L, rc);
    }
    lua_pushinteger(L, count);
    return 1;
}

/* A small hash of encoded values -> counts for count_by. */
typedef struct bucket {
    size_t off, len; /* into the key arena */
    uint64_t hash;
    lua_Integer count;
} bucket;

/* coll:count_by(field [, opts]) -> { [value] = count } computed in C */
static int l_coll_count_by(lua_State *L) {
    lscan *s;
    const void *rec;
    size_t n;
    luaL_checkstring(L, 2);
    lua_settop(L, 3);
    lua_rotate(L, 2, 1); /* 1 coll, 2 opts, 3 field: open_scan reads opts at 2 */
    const char *field = lua_tostring(L, 3);
    int rc = open_scan(L, &s);
    if (rc) {
        return raise_rc(L, rc);
    }
    int pos = store_field_pos(s->c, field);
    if (pos < 0 || pos == s->c->extra) {
        scan_free(s);
        return luaL_error(L, "collection '%s' has no field '%s'", s->c->name, field);
    }
    size_t cap = 64, used = 0;
    bucket *tab = calloc(cap, sizeof *tab);
    codec_buf arena;
    codec_buf_init(&arena);
    if (!tab) {
        scan_free(s);
        return luaL_error(L, "out of memory");
    }
    while ((rc = scan_step(s, &rec, &n)) == 0) {
        mp_reader r;
        mp_item it;
        mp_reader_init(&r, rec, n);
        if (mp_read(&r, &it) != 0) {
            rc = GH_ECORRUPT;
            break;
        }
        const unsigned char *p = NULL, *q;
        if ((uint32_t)pos < it.n) {
            for (int i = 0; i < pos && mp_skip(&r, CODEC_MAX_DEPTH) == 0; i++) {
            }
            p = r.p;
            if (mp_skip(&r, CODEC_MAX_DEPTH) != 0) {
                rc = GH_ECORRUPT;
                break;
            }
        }
        static const unsigned char nil = 0xc0;
        if (!p) {
            p = &nil;
            q = p + 1;
        } else {
            q = r.p;
        }
        size_t len = (size_t)(q - p);
        uint64_t h = 1469598103934665603ull;
        for (size_t i = 0; i < len; i++) {
            h = (h ^ p[i]) * 1099511628211ull;
        }
        size_t j = h & (cap - 1);
        while (tab[j].len && !(tab[j].hash == h && tab[j].len == len &&
                               memcmp(arena.p + tab[j].off, p, len) == 0)) {
            j = (j + 1) & (cap - 1);
        }
        if (!tab[j].len) {
            tab[j].off = arena.len;
            tab[j].len = len;
            tab[j].hash = h;
            codec_buf_add(&arena, p, len);
            if (++used * 2 > cap) { /* grow */
                bucket *nt = calloc(cap * 2, sizeof *nt);
                if (!nt || arena.oom) {
                    free(nt);
                    rc = GH_ENOMEM;
                    break;
                }
                for (size_t i = 0; i < cap; i++) {
                    if (tab[i].len) {
                        size_t k = tab[i].hash & (cap * 2 - 1);
                        while (nt[k].len) {
                            k = (k + 1) & (cap * 2 - 1);
                        }
                        nt[k] = tab[i];
                        if (i == j) {
                            j = k;
                        }
                    }
                }
                free(tab);
                tab = nt;
                cap *= 2;
            }
        }
        tab[j].count++;
    }
    scan_free(s);
    if (rc == GH_ENOTFOUND) {
        rc = 0;
        lua_createtable(L, 0, (int)used);
        for (size_t i = 0; i < cap && rc == 0; i++) {
            if (!tab[i].len) {
                continue;
            }
            mp_reader r;
            mp_reader_init(&r, arena.p + tab[i].off, tab[i].len);
            if (lcodec_push(L, &r, CODEC_MAX_DEPTH) != 0) {
                rc = GH_ECORRUPT;
                break;
            }
            if (lua_isnil(L, -1)) { /* records without a value count under db.null */
                lua_pop(L, 1);
                lua_getfield(L, lua_upvalueindex(2), "null");
            }
            lua_pushinteger(L, tab[i].count);
            lua_rawset(L, -3);
        }
    }
    free(tab);
    codec_buf_free(&arena);
    return rc ? raise_rc(L, rc) : 1;
}

/* coll:schema() -> the definition as a table */
static int l_coll_schema(lua_State *L) {
    lua_db *db = get_db(L);
    const store_coll *c;
    store_txn *t;
    int owned, rc;
    if ((rc = op_begin(db, 0, &t, &owned))) {
        return raise_rc(L, rc);
    }
    rc = coll_resolve(L, 1, t, &c);
    if (rc) {
        op_end(db, t, owned, rc);
        return raise_rc(L, rc);
    }
    /* c stays valid: the cache only changes inside store calls */
    op_end(db, t, owned, 0);
    lua_newtable(L);
    lua_pushstring(L, c->name);
    lua_setfield(L, -2, "name");
    lua_pushstring(L, c->fields[c->key].name);
    lua_setfield(L, -2, "key");
    lua_pushboolean(L, c->auto_key);
    lua_setfield(L, -2, "auto");
    lua_pushboolean(L, c->extra >= 0);
    lua_setfield(L, -2, "extra");
    lua_newtable(L);
    lua_newtable(L); /* field order */
    for (int i = 0, k = 1; i < c->nfields; i++) {
        if (i == c->extra) {
            continue;
        }
        lua_pushfstring(L, "%s%s", store_type_name(c->fields[i].type),
                        c->fields[i].optional ? "?" : "");
        lua_setfield(L, -3, c->fields[i].name);
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
    lcoll *lc = luaL_checkudata(L, 1, COLL_MT);
    lua_pushfstring(L, "collection '%s'", lc->name);
    return 1;
}

/* ---- db ------------------------------------------------------------------------------- */

/* Reads a spec field list entry: "int", "date?" or {type=..., optional=...}. */
static int spec_type(lua_State *L, int idx, int *type, int *optional) {
    *optional = 0;
    if (lua_type(L, idx) == LUA_TSTRING) {
        char t[32];
        size_t n;
        const char *z = lua_tolstring(L, idx, &n);
        if (n == 0 || n >= sizeof t) {
            return -1;
        }
        memcpy(t, z, n + 1);
        if (t[n - 1] == '?') {
            t[n - 1] = 0;
            *optional = 1;
        }
        *type = store_type_of(t);
        return *type < 0 ? -1 : 0;
    }
    if (lua_istable(L, idx)) {
        lua_getfield(L, idx, "type");
        lua_getfield(L, idx, "optional");
        *optional = lua_toboolean(L, -1);
        *type = lua_isstring(L, -2) ? store_type_of(lua_tostring(L, -2)) : -1;
        lua_pop(L, 2);
        return *type < 0 ? -1 : 0;
    }
    return -1;
}

static int cmp_names(const void *a, const void *b) {
    return strcmp(((const store_field *)a)->name, ((const store_field *)b)->name);
}

/* Adds the indexes listed in spec[key] ("f", {"a","b"}, or "a,b"). */
static int spec_indexes(lua_State *L, int spec, const char *key, int unique, store_coll *c) {
    lua_getfield(L, spec, key);
    if (lua_isnil(L, -1)) {
        lua_pop(L, 1);
        return 0;
    }
    if (!lua_istable(L, -1)) {
        lua_pop(L, 1);
        return err_set(GH_ESCHEMA, "collection '%s': '%s' must be a list of fields", c->name, key);
    }
    int n = (int)lua_rawlen(L, -1);
    for (int i = 1; i <= n; i++) {
        lua_rawgeti(L, -1, i);
        store_index ix;
        memset(&ix, 0, sizeof ix);
        ix.unique = unique;
        char name[512] = "";
        size_t w = 0;
        int m = lua_istable(L, -1) ? (int)lua_rawlen(L, -1) : 1;
        for (int j = 1; j <= m; j++) {
            if (lua_istable(L, -1)) {
                lua_rawgeti(L, -1, j);
            } else {
                lua_pushvalue(L, -1);
            }
            const char *f = lua_tostring(L, -1);
            int pos = f ? store_field_pos(c, f) : -1;
            if (pos < 0 || pos == c->extra) {
                int rc = err_set(GH_EUNKNOWN,
                                 "collection '%s': %s index on unknown field '%s' (declare it "
                                 "in fields first)",
                                 c->name, unique ? "unique" : "an", f ? f : "?");
                lua_pop(L, 3);
                return rc;
            }
            if (ix.nfields == STORE_MAX_INDEX_FIELDS) {
                lua_pop(L, 3);
                return err_set(GH_ESCHEMA, "collection '%s': an index has at most %d fields",
                               c->name, STORE_MAX_INDEX_FIELDS);
            }
            ix.fields[ix.nfields++] = pos;
            w += (size_t)snprintf(name + w, sizeof name - w, "%s%s", w ? "," : "", f);
            lua_pop(L, 1);
        }
        lua_pop(L, 1);
        if (ix.nfields == 0) {
            lua_pop(L, 1);
            return err_set(GH_ESCHEMA, "collection '%s': an empty index", c->name);
        }
        store_index *nx = realloc(c->indexes, (size_t)(c->nindexes + 1) * sizeof *nx);
        if (!nx) {
            lua_pop(L, 1);
            return GH_ENOMEM;
        }
        c->indexes = nx;
        ix.name = strdup(name);
        c->indexes[c->nindexes++] = ix;
    }
    lua_pop(L, 1);
    return 0;
}

/* Builds a definition from the Lua spec at idx. */
static int spec_to_def(lua_State *L, const char *name, int spec, store_coll **out) {
    store_coll *c = calloc(1, sizeof *c);
    int rc = 0;
    if (!c) {
        return GH_ENOMEM;
    }
    c->name = strdup(name);
    c->extra = -1;
    lua_getfield(L, spec, "fields");
    if (!lua_istable(L, -1)) {
        lua_pop(L, 1);
        store_coll_free(c);
        return err_set(GH_ESCHEMA,
                       "collection '%s': the definition needs fields = { name = 'type', ... }",
                       name);
    }
    int nf = 0;
    lua_pushnil(L);
    while (lua_next(L, -2)) {
        nf++;
        lua_pop(L, 1);
    }
    c->fields = calloc((size_t)nf + 2, sizeof *c->fields);
    lua_pushnil(L);
    while (rc == 0 && lua_next(L, -2)) {
        store_field *f = &c->fields[c->nfields];
        if (lua_type(L, -2) != LUA_TSTRING) {
            rc = err_set(GH_ESCHEMA, "collection '%s': field names must be strings", name);
        } else if (spec_type(L, -1, &f->type, &f->optional) != 0) {
            lcodec_push_shown(L, -1);
            rc = err_set(GH_ESCHEMA,
                         "collection '%s': field '%s' has unknown type %s (types: int, number, "
                         "string, bool, date, fen, any; add '?' for optional)",
                         name, lua_tostring(L, -3), lua_tostring(L, -1));
            lua_pop(L, 1);
        } else {
            f->name = strdup(lua_tostring(L, -2));
            c->nfields++;
        }
        lua_pop(L, 1);
    }
    if (rc) {
        lua_pop(L, 2);
        store_coll_free(c);
        return rc;
    }
    lua_pop(L, 1);
    /* key: given, or an automatic 'id' */
    lua_getfield(L, spec, "key");
    lua_getfield(L, spec, "auto");
    const char *key = lua_tostring(L, -2);
    c->auto_key = lua_toboolean(L, -1) || !key;
    if (!key) {
        key = "id";
    }
    if (store_field_pos(c, key) < 0) {
        if (!c->auto_key) {
            rc = err_set(GH_ESCHEMA, "collection '%s': key field '%s' is not among its fields",
                         name, key);
        } else {
            c->fields[c->nfields].name = strdup(key);
            c->fields[c->nfields].type = FT_INT;
            c->nfields++;
        }
    }
    lua_pop(L, 2);
    if (rc) {
        store_coll_free(c);
        return rc;
    }
    /* order: the key first, then by name (a stable order for a new collection) */
    qsort(c->fields, (size_t)c->nfields, sizeof *c->fields, cmp_names);
    int k = store_field_pos(c, key);
    store_field kf = c->fields[k];
    memmove(c->fields + 1, c->fields, (size_t)k * sizeof *c->fields);
    c->fields[0] = kf;
    c->key = 0;
    lua_getfield(L, spec, "extra");
    if (lua_toboolean(L, -1)) {
        c->fields[c->nfields].name = strdup("");
        c->fields[c->nfields].type = FT_ANY;
        c->fields[c->nfields].optional = 1;
        c->extra = c->nfields++;
    }
    lua_pop(L, 1);
    if ((rc = spec_indexes(L, spec, "unique", 1, c)) ||
        (rc = spec_indexes(L, spec, "index", 0, c))) {
        store_coll_free(c);
        return rc;
    }
    lua_pushnil(L);
    while (lua_next(L, spec)) {
        const char *opt = lua_tostring(L, -2);
        lua_pop(L, 1);
        if (!opt || (strcmp(opt, "fields") && strcmp(opt, "key") && strcmp(opt, "auto") &&
                     strcmp(opt, "extra") && strcmp(opt, "unique") && strcmp(opt, "index"))) {
            rc = err_set(GH_ESCHEMA,
                         "collection '%s': unknown definition entry '%s' (entries: fields, key, "
                         "auto, unique, index, extra)",
                         name, opt ? opt : "?");
            lua_pop(L, 1);
            break;
        }
    }
    if (rc) {
        store_coll_free(c);
        return rc;
    }
    *out = c;
    return 0;
}

/* db.define(name, spec) -> the collection */
static int l_db_define(lua_State *L) {
    lua_db *db = get_db(L);
    const char *name = luaL_checkstring(L, 1);
    luaL_checktype(L, 2, LUA_TTABLE);
    for (int attempt = 0;; attempt++) {
        store_coll *def = NULL;
        store_txn *t;
        int owned, rc = spec_to_def(L, name, 2, &def);
        if (rc) {
            return raise_rc(L, rc);
        }
        lua_pushstring(L, name);
        lua_rawget(L, lua_upvalueindex(2));
        int builtin = lua_iscfunction(L, -1) || lua_islightuserdata(L, -1);
        lua_pop(L, 1);
        if (builtin || name[0] == '_') {
            store_coll_free(def);
            return luaL_error(L, "'%s' cannot name a collection (it is a db function or starts "
                                 "with '_')",
                              name);
        }
        if ((rc = op_begin(db, 1, &t, &owned))) {
            store_coll_free(def);
            return raise_rc(L, rc);
        }
        rc = store_define(t, def);
        rc = op_end(db, t, owned, rc);
        if (rc == GH_EMAPFULL && owned && attempt == 0 && store_grow(db->s) == 0) {
            continue;
        }
        if (rc) {
            return raise_rc(L, rc);
        }
        push_coll(L, name);
        lua_pushvalue(L, -1);
        lua_setfield(L, lua_upvalueindex(2), name);
        return 1;
    }
}

/* db.drop(name) */
static int l_db_drop(lua_State *L) {
    lua_db *db = get_db(L);
    const char *name = luaL_checkstring(L, 1);
    store_txn *t;
    int owned, rc;
    if ((rc = op_begin(db, 1, &t, &owned))) {
        return raise_rc(L, rc);
    }
    rc = op_end(db, t, owned, store_drop(t, name));
    if (rc) {
        return raise_rc(L, rc);
    }
    lua_pushnil(L);
    lua_setfield(L, lua_upvalueindex(2), name);
    return 0;
}

/* db.collections() -> sorted array of names */
static int l_db_collections(lua_State *L) {
    lua_db *db = get_db(L);
    store_txn *t;
    char *names = NULL;
    int owned, rc;
    if ((rc = op_begin(db, 0, &t, &owned))) {
        return raise_rc(L, rc);
    }
    rc = op_end(db, t, owned, store_list(t, &names));
    if (rc) {
        return raise_rc(L, rc);
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
    lua_db *db = get_db(L);
    const char *name = luaL_checkstring(L, 2);
    store_txn *t;
    const store_coll *c;
    int owned, rc;
    if ((rc = op_begin(db, 0, &t, &owned))) {
        return raise_rc(L, rc);
    }
    rc = op_end(db, t, owned, store_coll_get(t, name, &c));
    if (rc == GH_ENOTFOUND) {
        char *names = NULL;
        if (op_begin(db, 0, &t, &owned) == 0) {
            op_end(db, t, owned, store_list(t, &names));
        }
        luaL_Buffer b;
        luaL_buffinit(L, &b);
        for (const char *p = names; p && *p; p += strlen(p) + 1) {
            luaL_addstring(&b, p == names ? "" : ", ");
            luaL_addstring(&b, p);
        }
        free(names);
        luaL_pushresult(&b);
        return luaL_error(L, "no collection named '%s' (collections: %s); define it with "
                             "db.define",
                          name, lua_rawlen(L, -1) ? lua_tostring(L, -1) : "none yet");
    }
    if (rc) {
        return raise_rc(L, rc);
    }
    push_coll(L, name);
    lua_pushvalue(L, -1);
    lua_rawset(L, 1); /* cache: db.name is now a plain field */
    lua_getfield(L, 1, name);
    return 1;
}

/* Message handler that keeps the traceback of the first raise. */
int lstore_traceback(lua_State *L) {
    const char *msg = lua_tostring(L, 1);
    if (lua_getfield(L, LUA_REGISTRYINDEX, TB_KEY) == LUA_TTABLE) {
        lua_getfield(L, -1, "err");
        if (lua_rawequal(L, -1, 1)) {
            lua_getfield(L, -2, "tb");
            return 1;
        }
        lua_pop(L, 1);
    }
    lua_pop(L, 1);
    if (!msg) {
        if (luaL_callmeta(L, 1, "__tostring") && lua_type(L, -1) == LUA_TSTRING) {
            return 1;
        }
        msg = lua_pushfstring(L, "(error object is a %s value)", luaL_typename(L, 1));
    }
    luaL_traceback(L, L, msg, 1);
    return 1;
}

/* Inside db.atomic: remember where the error was raised, pass it on. */
static int atomic_handler(lua_State *L) {
    lua_getfield(L, LUA_REGISTRYINDEX, TB_KEY);
    if (lua_istable(L, -1)) {
        lua_getfield(L, -1, "err");
        int same = lua_rawequal(L, -1, 1);
        lua_pop(L, 1);
        if (same) { /* from a nested atomic: already recorded */
            lua_pop(L, 1);
            lua_pushvalue(L, 1);
            return 1;
        }
    }
    lua_pop(L, 1);
    lua_createtable(L, 0, 2);
    lua_pushvalue(L, 1);
    lua_setfield(L, -2, "err");
    lstore_traceback(L);
    lua_setfield(L, -2, "tb");
    lua_setfield(L, LUA_REGISTRYINDEX, TB_KEY);
    lua_pushvalue(L, 1);
    return 1;
}

/* db.atomic(fn, ...) -> fn's results. One write transaction (a savepoint
 * when nested); any error rolls back everything fn did and is raised
 * again. If the map fills, the top level grows it and runs fn once more. */
static int l_db_atomic(lua_State *L) {
    lua_db *db = get_db(L);
    luaL_checktype(L, 1, LUA_TFUNCTION);
    int nargs = lua_gettop(L) - 1;
    for (int attempt = 0;; attempt++) {
        store_txn *t, *prev = db->wtxn;
        int rc = store_txn_begin(db->s, prev, 1, &t);
        if (rc) {
            return raise_rc(L, rc);
        }
        int base = lua_gettop(L);
        lua_pushcfunction(L, atomic_handler);
        for (int i = 1; i <= nargs + 1; i++) {
            lua_pushvalue(L, i);
        }
        db->wtxn = t;
        int status = lua_pcall(L, nargs, LUA_MULTRET, base + 1);
        db->wtxn = prev;
        int full = db->map_full;
        if (status == LUA_OK && !full) {
            rc = store_txn_commit(t);
            if (rc == 0) {
                lua_remove(L, base + 1);
                return lua_gettop(L) - base;
            }
            if (rc == GH_EMAPFULL) {
                full = 1;
            }
        } else {
            store_txn_abort(t);
        }
        if (full && !prev && attempt == 0 && store_grow(db->s) == 0) {
            db->map_full = 0;
            lua_settop(L, base);
            continue; /* redo the whole unit once with a bigger map */
        }
        if (!prev) {
            db->map_full = 0;
        }
        if (status != LUA_OK) {
            return lua_error(L);
        }
        return raise_rc(L, rc ? rc : GH_EMAPFULL);
    }
}

static int l_db_gc(lua_State *L) {
    lua_db *db = luaL_checkudata(L, 1, DB_MT);
    codec_buf_free(&db->buf);
    codec_buf_free(&db->kbuf);
    return 0;
}

static const luaL_Reg coll_methods[] = {
    {"get", l_coll_get},       {"insert", l_coll_insert}, {"put", l_coll_put},
    {"update", l_coll_update}, {"delete", l_coll_delete}, {"find", l_coll_find},
    {"scan", l_coll_scan},     {"list", l_coll_list},     {"count", l_coll_count},
    {"count_by", l_coll_count_by}, {"schema", l_coll_schema}, {NULL, NULL}};

static const luaL_Reg db_funcs[] = {{"define", l_db_define},
                                    {"drop", l_db_drop},
                                    {"collections", l_db_collections},
                                    {"atomic", l_db_atomic},
                                    {NULL, NULL}};

void lstore_push_db(lua_State *L, store *s) {
    lua_db *db = lua_newuserdatauv(L, sizeof *db, 0);
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
    lua_pop(L, 1);

    luaL_newmetatable(L, ROW_MT);
    lua_pushvalue(L, dbi);
    lua_pushcclosure(L, l_row_index, 1);
    lua_setfield(L, -2, "__index");
    lua_pushcfunction(L, l_row_newindex);
    lua_setfield(L, -2, "__newindex");
    lua_pushcfunction(L, l_row_pairs);
    lua_setfield(L, -2, "__pairs");
    lua_pushcfunction(L, l_row_tostring);
    lua_setfield(L, -2, "__tostring");
    lua_pushstring(L, "row");
    lua_setfield(L, -2, "__name");
    lua_pop(L, 1);

    luaL_newmetatable(L, SCAN_MT);
    lua_pushcfunction(L, l_scan_gc);
    lua_setfield(L, -2, "__gc");
    lua_pushcfunction(L, l_scan_gc);
    lua_setfield(L, -2, "__close");
    lua_pop(L, 1);

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
    lua_setmetatable(L, tab);
    lua_remove(L, dbi);
}
