/*
 * lua_scan.c — scans, rows and counting: coll:scan, list, count, count_by.
 *
 * Called through the collection methods set up by lua_store.c; built on
 * store.h (store_scan) and lua_codec.h.
 *
 * Rows: a scan yields each record as a row, a small userdata holding a copy
 * of the record's bytes that decodes a field only when it is read. A row
 * never points into the memory map, so keeping one, or writing while
 * scanning, is safe.
 *
 * Filters: conditions on fields are compared on the stored bytes, after
 * turning the field into its key encoding (order-preserving, so equality,
 * lists and ranges are memcmp), before any Lua value is made.
 *
 * A scan outside db.atomic owns a read transaction until the loop ends; the
 * scan userdata is the generic for's to-be-closed value, so `break` ends it.
 */
#include "err.h"
#include "lua_codec.h"
#include "lua_loopvar.h"
#include "lua_store.h"

#include <lauxlib.h>
#include <stdlib.h>
#include <string.h>

/* One condition of a scan: the field's key encoding must be one of vals
 * (eq/in), or within [lo, hi]. */
/* One value of a condition's list: bytes and their length. */
typedef struct lval {
    const unsigned char *p;
    size_t n;
} lval;

typedef struct lfilter {
    int pos;
    int range;
    int nvals;
    codec_buf vals; /* nvals key-encoded values, each preceded by a size_t length */
    codec_buf raw;  /* the same as stored (MessagePack), for fields whose stored form is
                     * canonical (all but number, where 1 and 1.0 are equal) */
    codec_buf lo, hi;
    /* vals or raw (the one compared) as a sorted array, searched by halves:
     * a list of thousands of values costs a dozen comparisons a record */
    lval *sorted;
    int nsorted;
} lfilter;

typedef struct lscan {
    ldb *db;
    store_txn *own; /* the scan's own read transaction, or NULL inside db.atomic */
    store_scan *sc;
    const store_coll *c;
    int64_t limit, offset;
    uint64_t total, stepped; /* progress of a whole-collection scan (total 0: not shown) */
    int nfilters;
    lfilter *filters;
    codec_buf kb; /* scratch for filters */
    /* the plan, for coll:explain: the index used (-1: the key order),
     * whether options named it, its estimated entries, the collection's size */
    int plan_index, plan_explicit;
    uint64_t plan_est, plan_total;
    /* for lscan_next (lua_select.c): records after this key only (key
     * order; emptied once passed), and the key of the record stepped to */
    codec_buf after;
    const void *pk;
    size_t pkn;
    /* coll:scan's rows: reuse 1 when the loop is known to keep no row, so
     * the row handed out last (`last`, held by the iterator) takes the next
     * record; -1 not known yet; 0 a new row for each record */
    int reuse, steps;
    lrow *last;
    /* no condition, limit, offset, scope or resumption: a step is
     * store_scan_next's, without scan_step's tests */
    int plain;
    /* A reused row for a loop that reads fields by name (`m.town`): a
     * table, the fields the loop names set in it (raw) from each record, so
     * that Lua's own table read finds them instead of a call of the row's
     * __index; anything else read goes through the table's metatable to
     * the row `tback`, which holds the record (see "table rows" below).
     * trow: the table (the iterator's upvalue 6), or NULL.
     *
     * Which fields: the loop's names the collection has are candidates
     * (cand, their names the iterator's upvalues TROW_KEYS + i); one read
     * through __index in at least a quarter of TROW_WINDOW steps joins
     * those set (want) from the next step on. A field named only in a
     * branch the loop seldom takes stays a call when read, never a cost
     * at every step. */
    const void *trow;
    lrow *tback;
    struct scache *tsc;
    int ncand, nwant;
    unsigned tsteps;
    struct {
        int pos, wanted;
        unsigned reads; /* through __index, this window */
    } cand[LLOOPVAR_NAMES];
    struct {
        int pos, key; /* key: its candidate's number */
        /* the stored bytes of the value the table holds (a scalar's, up to
         * 23 bytes): the same bytes in the next record leave it as it is.
         * len 0: not known */
        unsigned char len, last[23];
    } want[LLOOPVAR_NAMES];
} lscan;

/* ---- rows ---------------------------------------------------------------------------- */

/* Guard bytes after a row's record: more than the largest size
 * mp_skip_len gives (a 31-byte string and its header). */
#define ROW_SLACK 33

/* Makes off[0 .. upto] known (upto < nfields), walking on from the last
 * field found. 0 or GH_ECORRUPT. */
static int row_offsets(lrow *row, int upto) {
    if (row->ready < 0) {
        const unsigned char *f = mp_record_fields(row->bytes, row->n, &row->narr);
        if (!f) {
            return GH_ECORRUPT;
        }
        row->at = (uint32_t)(f - row->bytes);
        row->ready = 0;
    }
    /* locals, not row's fields: stores through off[] would make the
     * compiler read them again for every field */
    const unsigned char *b = row->bytes, *p = b + row->at, *end = b + row->n;
    uint32_t *off = row->off;
    int i = row->ready, last = (int64_t)upto < (int64_t)row->narr ? upto : (int)row->narr - 1;
    for (; i <= last; i++) {
        off[i] = (uint32_t)(p - b);
        /* a scalar's size from its first byte. push_row puts ROW_SLACK guard
         * bytes (0xc1, size 0) after the record, more than any such size:
         * a damaged size stops in them, so the loop has no test of p < end */
        int k = mp_skip_len[*p];
        if (k > 0) {
            p += k;
            continue;
        }
        if (p >= end) {
            return GH_ECORRUPT;
        }
        mp_reader r;
        mp_reader_init(&r, p, (size_t)(end - p));
        if (mp_skip_fast(&r) != 0) {
            return GH_ECORRUPT;
        }
        p = r.p;
    }
    if (p > end) {
        return GH_ECORRUPT; /* the last size ran past the record */
    }
    for (; i <= upto; i++) {
        off[i] = UINT32_MAX; /* past the stored array: a field added later */
    }
    row->ready = i;
    row->at = (uint32_t)(p - b);
    return 0;
}

/* Past n values from p (in a row's bytes, before end), or NULL if they are
 * damaged: mp_skip_n without its test of p < end before each scalar, as in
 * row_offsets: a damaged size stops in push_row's guard bytes. */
static inline const unsigned char *row_skip_n(const unsigned char *p, const unsigned char *end,
                                              uint32_t n) {
    for (; n > 0; n--) {
        int k = mp_skip_len[*p];
        if (k > 0) {
            p += k;
            continue;
        }
        if (p >= end) {
            return NULL;
        }
        mp_reader r;
        mp_reader_init(&r, p, (size_t)(end - p));
        if (mp_skip_fast(&r) != 0) {
            return NULL;
        }
        p = r.p;
    }
    return p <= end ? p : NULL;
}

/* Pushes a new row for record bytes rec; the collection's name table
 * (position -> name) at names_idx, its shape sh (kept alive by the name
 * table, which the row keeps), the row metatable at mt_idx. */
static void push_row(lua_State *L, ldb *db, const store_coll *c, int names_idx, const lshape *sh,
                     int mt_idx, const void *rec, size_t n, size_t extra) {
    size_t offs = (size_t)c->nfields * sizeof(uint32_t),
           room = (n + extra + ROW_SLACK + 3) & ~(size_t)3;
    lrow *row = lua_newuserdatauv(L, sizeof *row + room + offs, 1);
    row->c = c;
    row->db = db;
    row->shape = sh;
    row->ready = -1;
    row->n = (uint32_t)n;
    memcpy(row->bytes, rec, n);
    /* the guards row_offsets stops at: never a MessagePack value */
    memset(row->bytes + n, 0xc1, ROW_SLACK);
    row->off = (uint32_t *)(void *)(row->bytes + room);
    lua_pushvalue(L, mt_idx);
    lua_setmetatable(L, -2);
    lua_pushvalue(L, names_idx);
    lua_setiuservalue(L, -2, 1);
}

/* The position of the field named by the string at idx in row, or -1: by
 * the name's pointer (lua_codec.h), else, for a name too long for Lua to
 * intern, by its text. */
static int row_field_pos(lua_State *L, const lrow *row, int idx) {
    static _Thread_local int hint; /* the field found last: a loop reads the same ones */
    const char *k = lua_tostring(L, idx);
    if (hint < row->shape->n && row->shape->keys[hint] == k) {
        return hint;
    }
    int pos = lshape_find(row->shape, k);
    if (pos >= 0) {
        hint = pos;
    }
    if (pos < 0) {
        for (int i = 0; i < row->c->nfields; i++) {
            if (i != row->c->extra && strcmp(row->c->fields[i].name, k) == 0) {
                return i;
            }
        }
    }
    return pos;
}

static void row_corrupt(lua_State *L, lrow *row) {
    luaL_error(L, _("collection '%s': a stored record is corrupt (run gonghui check)"),
               row->c->name);
}

/* The row at idx, checked unless `trusted` (a metamethod of rows: the
 * metatables are hidden from scripts, so only Lua calls it, with a row),
 * with the offsets of all its fields known. */
static lrow *get_row(lua_State *L, int idx, int trusted) {
    lrow *row =
        trusted ? lua_touserdata(L, idx) : lstore_checkudata(L, idx, &lstore_row_key, ROW_MT);
    if (row->ready < row->c->nfields && row_offsets(row, row->c->nfields - 1) != 0) {
        row_corrupt(L, row);
    }
    return row;
}

/* Short strings read from rows, kept by their bytes: a field with few
 * values (a town, a category, a status) is read from every row of a scan,
 * and Lua makes each string again (hashing its bytes, looking it up among
 * all strings: ~240 instructions) where this cache finds it in ~90. Slots
 * are picked by a hash of the bytes and checked byte for byte; a field
 * whose values mostly miss (names, ID numbers) stops using the cache, as a
 * miss costs as much as a hit saves. The strings live in the table that is
 * l_row_index's upvalue 2, the counts in its upvalue 3. */
#define SCACHE_SLOTS 256
#define SCACHE_MAX 24    /* longest string cached */
#define SCACHE_TRIAL 256 /* reads of a field before judging it */

typedef struct scache {
    uint32_t tries[32], hits[32];    /* by field position & 31 */
    unsigned char len[SCACHE_SLOTS]; /* the bytes of the string in each slot */
    char bytes[SCACHE_SLOTS][SCACHE_MAX];
} scache;

/* Are the k bytes at p and q the same? Each is readable 8 bytes on, and
 * at least k. The usual value (an id, a short string: a town, a status) in
 * one or two 8-byte comparisons, not a call of memcmp. */
static inline int same_bytes(const unsigned char *p, const unsigned char *q, size_t k) {
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    if (k <= 8) {
        uint64_t a, b;
        memcpy(&a, p, 8);
        memcpy(&b, q, 8);
        return ((a ^ b) & (k == 8 ? ~0ull : (1ull << (8 * k)) - 1)) == 0;
    }
#endif
    if (k >= 8 && k <= 16) { /* two words, overlapping */
        uint64_t a, b, c, d;
        memcpy(&a, p, 8);
        memcpy(&b, q, 8);
        memcpy(&c, p + k - 8, 8);
        memcpy(&d, q + k - 8, 8);
        return ((a ^ b) | (c ^ d)) == 0;
    }
    return memcmp(p, q, k) == 0;
}

static uint32_t scache_slot(const unsigned char *s, size_t n) {
    uint64_t a = 0, b = 0;
    if (n >= 8) {
        memcpy(&a, s, 8);
        memcpy(&b, s + n - 8, 8);
    } else {
        for (size_t i = 0; i < n; i++) {
            a = a << 8 | s[i];
        }
    }
    uint64_t h = (a * 0x9e3779b97f4a7c15ull) ^ (b * 0xc2b2ae3d27d4eb4full) ^ n;
    return (uint32_t)(h >> 56) % SCACHE_SLOTS;
}

/* Pushes the string s[0 .. n) through the cache at strings_idx (slots sc). */
static void scache_push(lua_State *L, int strings_idx, scache *sc, int pos, const char *s,
                        size_t n) {
    uint32_t *tries = &sc->tries[pos & 31], *hits = &sc->hits[pos & 31];
    if (n > SCACHE_MAX || (*tries >= SCACHE_TRIAL && *hits < *tries / 2)) {
        lua_pushlstring(L, s, n);
        return;
    }
    if (*tries < SCACHE_TRIAL) {
        ++*tries;
    }
    uint32_t slot = scache_slot((const unsigned char *)s, n);
    if (sc->len[slot] == n + 1 &&
        same_bytes((const unsigned char *)sc->bytes[slot], (const unsigned char *)s, n)) {
        if (lua_rawgeti(L, strings_idx, (lua_Integer)slot + 1) == LUA_TSTRING) {
            if (*hits < SCACHE_TRIAL) {
                ++*hits;
            }
            return;
        }
        lua_pop(L, 1); /* not reached: the table holds what len says */
    }
    lua_pushlstring(L, s, n);
    lua_pushvalue(L, -1);
    lua_rawseti(L, strings_idx, (lua_Integer)slot + 1);
    memcpy(sc->bytes[slot], s, n);
    sc->len[slot] = (unsigned char)(n + 1); /* 0: empty */
}

/* Pushes the stored value at p (before end) of field pos of collection c;
 * with strings_idx != 0 a short string goes through the cache there
 * (scache). p lies in a row's bytes: ROW_SLACK guard bytes follow end. */
static void push_value(lua_State *L, const store_coll *c, int pos, const unsigned char *p,
                       const unsigned char *end, int strings_idx, scache *sc) {
    if (*p < 0x80) { /* the common short forms without the general reader */
        lua_pushinteger(L, *p);
        return;
    }
    if (*p >= 0xcc && *p <= 0xce && p + 1 + (1u << (*p - 0xcc)) <= end) {
        const unsigned char *q = p + 1; /* uint 8, 16, 32 (ids): big-endian */
        lua_pushinteger(L, *p == 0xcc   ? q[0]
                           : *p == 0xcd ? (uint32_t)q[0] << 8 | q[1]
                                        : (uint32_t)q[0] << 24 | (uint32_t)q[1] << 16 |
                                              (uint32_t)q[2] << 8 | q[3]);
        return;
    }
    if (*p >= 0xa0 && *p <= 0xbf && p + 1 + (*p & 0x1fu) <= end) {
        if (strings_idx) {
            scache_push(L, strings_idx, sc, pos, (const char *)p + 1, *p & 0x1fu);
        } else {
            lua_pushlstring(L, (const char *)p + 1, *p & 0x1fu);
        }
        return;
    }
    mp_reader r;
    mp_reader_init(&r, p, (size_t)(end - p));
    if (lcodec_push(L, &r, CODEC_MAX_DEPTH) != 0) {
        luaL_error(L, _("collection '%s': field '%s' is corrupt"), c->name, c->fields[pos].name);
    }
}

/* Pushes field pos of row; with strings_idx != 0 a short string goes
 * through the cache there (scache). */
static void row_push_field_c(lua_State *L, lrow *row, int pos, int strings_idx, scache *sc) {
    if (pos >= row->ready && row_offsets(row, pos) != 0) {
        row_corrupt(L, row);
    }
    if (row->off[pos] == UINT32_MAX) {
        lua_pushnil(L);
        return;
    }
    push_value(L, row->c, pos, row->bytes + row->off[pos], row->bytes + row->n, strings_idx, sc);
}

static void row_push_field(lua_State *L, lrow *row, int pos) {
    row_push_field_c(L, row, pos, 0, NULL);
}

/* row:totable() -> a plain table copy */
static int l_row_totable(lua_State *L) {
    lrow *row = get_row(L, 1, 0);
    lua_getiuservalue(L, 1, 1);
    if (lcodec_push_record(L, row->c, -1, row->bytes, row->n) != 0) {
        return luaL_error(L, "%s", err_msg(GH_ECORRUPT));
    }
    return 1;
}

static int l_row_index(lua_State *L) {
    lrow *row = lua_touserdata(L, 1); /* trusted: a metamethod of rows */
    int pos = lua_type(L, 2) == LUA_TSTRING ? row_field_pos(L, row, 2) : -1;
    if (pos >= 0) {
        row_push_field_c(L, row, pos, lua_upvalueindex(2), lua_touserdata(L, lua_upvalueindex(3)));
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
    return luaL_error(L, _("collection '%s' has no field '%s'"), row->c->name,
                      luaL_tolstring(L, 2, NULL));
}

static int l_row_newindex(lua_State *L) {
    lrow *row = lua_touserdata(L, 1);
    return luaL_error(L,
                      _("rows from a scan of '%s' are read-only: use update(key, {%s = ...}), "
                        "or row:totable() for a copy you can change"),
                      row->c->name, luaL_tolstring(L, 2, NULL));
}

static int l_row_next(lua_State *L) {
    lrow *row = get_row(L, 1, 0);
    int pos = 0;
    if (!lua_isnil(L, 2)) {
        int at = lua_type(L, 2) == LUA_TSTRING ? row_field_pos(L, row, 2) : -1;
        pos = at >= 0 ? at + 1 : row->c->nfields;
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
    get_row(L, 1, 1);
    lua_pushcfunction(L, l_row_next);
    lua_pushvalue(L, 1);
    lua_pushnil(L);
    return 3;
}

static int l_row_tostring(lua_State *L) {
    lrow *row = get_row(L, 1, 1);
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

/* ---- table rows ------------------------------------------------------------------------ */

/* The iterator's upvalues for table rows (see l_scan_iter): the string
 * cache's table, then the names of the fields set, one each. */
#define TROW_STRINGS 7
#define TROW_KEYS 8
#define ITER_UPVALUES (TROW_KEYS + LLOOPVAR_NAMES - 1)
#define TROW_WINDOW 16 /* steps between two looks at which fields to set */

/* A table row's metamethods: upvalue 1 is the row holding its record
 * (lscan's tback), which takes the table's place as the first argument.
 * __index keeps l_row_index's upvalues 2 and 3 (the string cache) and has
 * the scan as upvalue 4 (it counts the candidates' reads); the others
 * have the row's own metamethod as upvalue 2. */
static int l_trow_index(lua_State *L) {
    lscan *s = lua_touserdata(L, lua_upvalueindex(4));
    lua_copy(L, lua_upvalueindex(1), 1);
    if (lua_type(L, 2) == LUA_TSTRING) {
        int pos = row_field_pos(L, lua_touserdata(L, 1), 2);
        for (int i = 0; pos >= 0 && i < s->ncand; i++) {
            if (s->cand[i].pos == pos) {
                s->cand[i].reads++;
                break;
            }
        }
    }
    return l_row_index(L);
}

static int l_trow_other(lua_State *L) {
    lua_copy(L, lua_upvalueindex(1), 1);
    return lua_tocfunction(L, lua_upvalueindex(2))(L);
}

/* Called from l_scan_iter: the fields named in the array at names_idx
 * (lloopvar_reads's) that s's collection has, into s->cand and the
 * iterator's upvalues from TROW_KEYS; none set yet. Their number. */
static int trow_want(lua_State *L, lscan *s, int names_idx) {
    const lshape *sh = lua_touserdata(L, lua_upvalueindex(4));
    int n = (int)lua_rawlen(L, names_idx);
    s->ncand = s->nwant = 0;
    s->tsteps = 0;
    for (int i = 1; sh && i <= n && s->ncand < LLOOPVAR_NAMES; i++) {
        lua_rawgeti(L, names_idx, i);
        int pos = lshape_find(sh, lua_tostring(L, -1));
        if (pos < 0 || pos == s->c->extra) {
            lua_pop(L, 1);
            continue;
        }
        lua_replace(L, lua_upvalueindex(TROW_KEYS + s->ncand));
        s->cand[s->ncand].pos = pos;
        s->cand[s->ncand].wanted = 0;
        s->cand[s->ncand++].reads = 0;
    }
    return s->ncand;
}

/* After TROW_WINDOW steps: the candidates read in at least a quarter of
 * them are set in the table from the next step on (trow_fill), kept in the
 * order of their positions, so that one walk of a record finds them all. */
static void trow_promote(lscan *s) {
    for (int i = 0; i < s->ncand; i++) {
        if (!s->cand[i].wanted && s->cand[i].reads * 4 >= TROW_WINDOW) {
            int at = s->nwant++;
            for (; at > 0 && s->want[at - 1].pos > s->cand[i].pos; at--) {
                s->want[at] = s->want[at - 1];
            }
            s->cand[i].wanted = 1;
            s->want[at].pos = s->cand[i].pos;
            s->want[at].key = i;
            s->want[at].len = 0;
        }
        s->cand[i].reads = 0;
    }
    s->tsteps = 0;
}

/* Sets the wanted fields of the table row at t from the record in tback
 * (just refilled): a scalar whose stored bytes are the ones the table
 * already holds is left as it is. Arrays and maps are not set (a read
 * gets a new table each time, as from any row): their names are left to
 * __index.
 *
 * One walk of the record from field to wanted field (row_skip_n), not the
 * row's offsets of every field up to the last wanted (row_offsets stores
 * each): the row's offsets stay unknown until a read through __index
 * needs them, which a field read at most steps never does. */
static void trow_fill(lua_State *L, lscan *s, int t) {
    static const unsigned char nil[16] = {0xc0}; /* 16: the copy to last reads that far */
    lrow *row = s->tback;
    if (s->nwant == 0) {
        return;
    }
    /* ROW_SLACK guard bytes follow end: a value's first 16 bytes are readable */
    const unsigned char *end = row->bytes + row->n, *p;
    uint32_t narr, at = 0;
    const unsigned char *f = mp_record_fields(row->bytes, row->n, &narr);
    if (!f) {
        row_corrupt(L, row);
    }
    for (int i = 0; i < s->nwant; i++) {
        uint32_t pos = (uint32_t)s->want[i].pos;
        if (pos < narr) {
            f = row_skip_n(f, end, pos - at);
            if (!f || f >= end) {
                row_corrupt(L, row);
            }
            at = pos;
            p = f;
        } else {
            p = nil; /* past the stored array: a field added later */
        }
        size_t k = (size_t)(mp_skip_len[*p] > 0 ? mp_skip_len[*p] : 0);
        if (k > 0 && k == s->want[i].len && same_bytes(p, s->want[i].last, k)) {
            continue;
        }
        lua_pushvalue(L, lua_upvalueindex(TROW_KEYS + s->want[i].key));
        if ((*p >= 0x80 && *p <= 0x9f) || (*p >= 0xdc && *p <= 0xdf)) {
            lua_pushnil(L); /* an array or a map */
            k = 0;
        } else if (p == nil) {
            lua_pushnil(L);
        } else if (*p >= 0xa0 && *p <= 0xbf && p + k <= end) { /* a short string: push_value's */
            scache_push(L, lua_upvalueindex(TROW_STRINGS), s->tsc, (int)pos, (const char *)p + 1,
                        k - 1);
        } else {
            push_value(L, row->c, (int)pos, p, end, lua_upvalueindex(TROW_STRINGS), s->tsc);
        }
        lua_rawset(L, t);
        if (k > 0 && k <= 16) {
            memcpy(s->want[i].last, p, 16);
        } else if (k > 0 && k <= sizeof s->want[i].last) {
            memcpy(s->want[i].last, p, k);
        } else {
            k = 0;
        }
        s->want[i].len = (unsigned char)k;
    }
}

/* Called from l_scan_iter: pushes a new table row for record rec (n
 * bytes), with the row behind it, and makes it the one handed out last
 * (upvalue 6). */
static void trow_new(lua_State *L, lscan *s, const void *rec, size_t n) {
    static const char *const other[] = {"__newindex", "__pairs", "__tostring"};
    int mt = lua_upvalueindex(5);
    push_row(L, s->db, s->c, lua_upvalueindex(3), lua_touserdata(L, lua_upvalueindex(4)), mt, rec,
             n, n / 2 + 64);
    int back = lua_gettop(L);
    lua_createtable(L, 0, s->ncand);
    lua_createtable(L, 0, 6); /* its metatable */
    lua_getfield(L, mt, "__index");
    lua_pushvalue(L, back);
    lua_getupvalue(L, -2, 2);
    lua_getupvalue(L, -3, 3);
    s->tsc = lua_touserdata(L, -1);
    lua_pushvalue(L, -2);
    lua_replace(L, lua_upvalueindex(TROW_STRINGS));
    lua_pushvalue(L, lua_upvalueindex(2)); /* the scan */
    lua_pushcclosure(L, l_trow_index, 4);
    lua_setfield(L, back + 2, "__index");
    lua_pop(L, 1);
    for (int i = 0; i < (int)(sizeof other / sizeof other[0]); i++) {
        lua_pushvalue(L, back);
        lua_getfield(L, mt, other[i]);
        lua_pushcclosure(L, l_trow_other, 2);
        lua_setfield(L, back + 2, other[i]);
    }
    lua_pushliteral(L, "row");
    lua_setfield(L, back + 2, "__name");
    lua_pushboolean(L, 0);
    lua_setfield(L, back + 2, "__metatable");
    lua_setmetatable(L, back + 1);
    s->tback = lua_touserdata(L, back);
    lua_remove(L, back);
    s->trow = lua_topointer(L, -1);
    s->last = NULL;
    lua_copy(L, -1, lua_upvalueindex(6));
    for (int i = 0; i < s->nwant; i++) {
        s->want[i].len = 0;
    }
    trow_fill(L, s, lua_gettop(L));
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
        codec_buf_free(&s->filters[i].raw);
        codec_buf_free(&s->filters[i].lo);
        codec_buf_free(&s->filters[i].hi);
        free(s->filters[i].sorted);
    }
    free(s->filters);
    s->filters = NULL;
    s->nfilters = 0;
    codec_buf_free(&s->kb);
    codec_buf_free(&s->after);
    s->plain = 0;
}

static int l_scan_gc(lua_State *L) {
    scan_free(luaL_checkudata(L, 1, SCAN_MT));
    return 0;
}

/* The end of the MessagePack value at p (< end), or NULL if it is damaged:
 * a scalar's size from its first byte, else the general walk. */
static inline const unsigned char *skip_one(const unsigned char *p, const unsigned char *end) {
    if (p < end) {
        int k = mp_skip_len[*p];
        if ((size_t)(k - 1) < (size_t)(end - p)) {
            return p + k;
        }
    }
    mp_reader r;
    mp_reader_init(&r, p, (size_t)(end - p));
    return mp_skip_fast(&r) == 0 ? r.p : NULL;
}

/* Are a[0 .. n) and b[0 .. n) the same bytes? Inline, eight at a time:
 * the values compared are short (a town, a category). */
static inline int bytes_eq(const unsigned char *a, const unsigned char *b, size_t n) {
    if (n >= 8 && n <= 16) { /* two words, overlapping */
        uint64_t x, y, u, v;
        memcpy(&x, a, 8);
        memcpy(&y, b, 8);
        memcpy(&u, a + n - 8, 8);
        memcpy(&v, b + n - 8, 8);
        return ((x ^ y) | (u ^ v)) == 0;
    }
    if (n >= 4 && n < 8) { /* two half words, overlapping (a stored 'active': 7 bytes) */
        uint32_t x, y, u, v;
        memcpy(&x, a, 4);
        memcpy(&y, b, 4);
        memcpy(&u, a + n - 4, 4);
        memcpy(&v, b + n - 4, 4);
        return ((x ^ y) | (u ^ v)) == 0;
    }
    for (; n >= 8; a += 8, b += 8, n -= 8) {
        uint64_t x, y;
        memcpy(&x, a, 8);
        memcpy(&y, b, 8);
        if (x != y) {
            return 0;
        }
    }
    for (size_t i = 0; i < n; i++) {
        if (a[i] != b[i]) {
            return 0;
        }
    }
    return 1;
}

/* A hash of a stored value's bytes, eight at a time. */
static inline uint64_t value_hash(const unsigned char *p, size_t len) {
    uint64_t h = 0x9e3779b97f4a7c15ull ^ len, w;
    if (len >= 8 && len <= 16) { /* a short string (a town, a category): two words */
        uint64_t v;
        memcpy(&w, p, 8);
        memcpy(&v, p + len - 8, 8);
        h ^= w * 0xff51afd7ed558ccdull ^ v * 0xc4ceb9fe1a85ec53ull;
        return h ^ (h >> 29);
    }
    for (; len >= 8; p += 8, len -= 8) {
        memcpy(&w, p, 8);
        h = (h ^ w) * 0xff51afd7ed558ccdull;
        h ^= h >> 32;
    }
    w = 0;
    for (size_t i = 0; i < len; i++) {
        w = w << 8 | p[i];
    }
    h = (h ^ w) * 0xc4ceb9fe1a85ec53ull;
    return h ^ (h >> 29);
}

/* The order of a condition's sorted values: by length, then bytes (any
 * total order serves equality). */
static int lval_cmp(const unsigned char *a, size_t an, const unsigned char *b, size_t bn) {
    if (an != bn) {
        return an < bn ? -1 : 1;
    }
    return memcmp(a, b, an);
}

static int lval_qcmp(const void *x, const void *y) {
    const lval *a = x, *b = y;
    return lval_cmp(a->p, a->n, b->p, b->n);
}

/* Values up to this many are looked through in turn: a length compared
 * first and bytes_eq inline cost less than a halving's memcmp call (W2's
 * five categories and one status: 76 instructions a test searched by
 * halves, 55 looked through). */
#define VALS_LINEAR 8

/* Is [p, p+n) one of the sorted values a[0 .. na)? Searched by halves:
 * the lists longer than VALS_LINEAR. */
static int vals_search(const lval *a, int na, const void *p, size_t n) {
    int lo = 0, hi = na;
    while (lo < hi) {
        int mid = lo + (hi - lo) / 2;
        int c = lval_cmp(a[mid].p, a[mid].n, p, n);
        if (c == 0) {
            return 1;
        }
        if (c < 0) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    return 0;
}

/* Is [p, p+n) one of the sorted values a[0 .. na)? Inline in the scan's
 * test, a short list looked through without a call (a call's own price
 * was a third of W2's 55 instructions a test). */
static inline int vals_has(const lval *a, int na, const void *p, size_t n) {
    if (na > VALS_LINEAR) {
        return vals_search(a, na, p, n);
    }
    for (int i = 0; i < na && a[i].n <= n; i++) { /* sorted by length first */
        if (a[i].n == n && bytes_eq(a[i].p, p, n)) {
            return 1;
        }
    }
    return 0;
}

/* Sorts filter f's values (raw when it has them, else key-encoded) into
 * f->sorted, once its list is complete (its buffers no longer move). */
static int sort_values(lfilter *f) {
    const codec_buf *b = f->raw.len ? &f->raw : &f->vals;
    f->sorted = malloc((size_t)(f->nvals ? f->nvals : 1) * sizeof *f->sorted);
    if (!f->sorted) {
        return GH_ENOMEM;
    }
    const unsigned char *v = b->p, *vend = v + b->len;
    int n = 0;
    while (v < vend && n < f->nvals) {
        size_t vn;
        memcpy(&vn, v, sizeof vn);
        v += sizeof vn;
        f->sorted[n].p = v;
        f->sorted[n].n = vn;
        n++;
        v += vn;
    }
    if (n > 1) {
        qsort(f->sorted, (size_t)n, sizeof *f->sorted, lval_qcmp);
    }
    f->nsorted = n;
    return 0;
}

/* Does the record pass every filter? 1 yes, 0 no, <0 error. The filters
 * are sorted by field position, so one walk over the record serves all, and
 * it stops at the first that fails. */
static int scan_match(lscan *s, const void *rec, size_t n) {
    if (!s->nfilters) {
        return 1;
    }
    mp_reader r;
    uint32_t narr; /* the header without the general reader (28 instructions a record) */
    const unsigned char *first = mp_record_fields(rec, n, &narr);
    if (!first) {
        return GH_ECORRUPT;
    }
    mp_reader_init(&r, first, (size_t)((const unsigned char *)rec + n - first));
    const unsigned char *end = (const unsigned char *)rec + n;
    int at = 0; /* the field r.p is at */
    for (int f = 0; f < s->nfilters; f++) {
        lfilter *fl = &s->filters[f];
        if ((uint32_t)fl->pos >= narr) {
            return 0; /* absent (a field added later): nil never matches */
        }
        if (at < fl->pos) { /* the fields between, in one walk (mp_skip_n) */
            if (!(r.p = mp_skip_n(r.p, end, (uint32_t)(fl->pos - at)))) {
                return GH_ECORRUPT;
            }
            at = fl->pos;
        }
        const unsigned char *p = r.p;
        if (!(r.p = skip_one(r.p, end))) {
            return GH_ECORRUPT;
        }
        at++;
        if (*p == 0xc0) {
            return 0;
        }
        if (fl->raw.len) { /* compare the stored bytes as they are */
            if (!vals_has(fl->sorted, fl->nsorted, p, (size_t)(r.p - p))) {
                return 0;
            }
            continue;
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
        if (!vals_has(fl->sorted, fl->nsorted, s->kb.p, s->kb.len)) {
            return 0;
        }
    }
    return 1;
}

/* Moves to the next record that passes the filters, honouring offset and
 * limit. 0 with rec/n set, GH_ENOTFOUND at the end, or an error. */
static int scan_step_slow(lscan *s, const void **rec, size_t *n);

static inline int scan_step(lscan *s, const void **rec, size_t *n) {
    if (s->plain) {
        int rc = store_scan_next(s->sc, &s->pk, &s->pkn, rec, n);
        if (s->total && ((++s->stepped & 4095) == 0 || rc)) {
            s->db->progress((double)(rc ? s->total : s->stepped), (double)s->total, s->c->name);
        }
        return rc;
    }
    return scan_step_slow(s, rec, n);
}

static int scan_step_slow(lscan *s, const void **rec, size_t *n) {
    const void *pk;
    size_t pkn;
    if (!s->sc || s->limit == 0) {
        return GH_ENOTFOUND;
    }
    for (;;) {
        int rc = store_scan_next(s->sc, &pk, &pkn, rec, n);
        if (s->total && ((++s->stepped & 4095) == 0 || rc)) {
            s->db->progress((double)(rc ? s->total : s->stepped), (double)s->total, s->c->name);
        }
        if (rc) {
            return rc;
        }
        if (s->after.len) { /* resuming after a key: the lower bound itself is not wanted */
            if (pkn == s->after.len && memcmp(pk, s->after.p, pkn) == 0) {
                continue;
            }
            s->after.len = 0;
        }
        s->pk = pk;
        s->pkn = pkn;
        int m = s->nfilters ? scan_match(s, *rec, *n) : 1;
        if (m < 0) {
            return err_set(m, _("collection '%s': a stored record is corrupt (run gonghui check)"),
                           s->c->name);
        }
        if (!m || (s->db->scope && !lstore_visible(s->db, s->c, *rec, *n))) {
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

/* Steps of a scan before it asks whether its loop keeps rows: reading a
 * loop's bytecode costs about as much as opening a scan, and a loop made
 * afresh each time (a closure) would pay it on every scan. */
#define ROW_REUSE_AFTER 64

/* Puts record rec (n bytes) into row, which has room for it: the same row
 * for the next record of a loop that keeps no row. */
static int row_refill(lrow *row, const void *rec, size_t n) {
    size_t room = (size_t)((unsigned char *)row->off - row->bytes);
    if (n + ROW_SLACK > room) {
        return 0;
    }
    row->ready = -1;
    row->n = (uint32_t)n;
    memcpy(row->bytes, rec, n);
    memset(row->bytes + n, 0xc1, ROW_SLACK);
    return 1;
}

/* Iterator: upvalues 1 db, 2 scan, 3 names, 4 the shape (a light
 * userdata: the names table holds it), 5 the row metatable, 6 the row
 * handed out last, 7 on for a table row (TROW_STRINGS, TROW_KEYS).
 * Arguments (from a generic for): the scan, the row of the step before.
 *
 * A new row for every record costs an allocation and its collection, most
 * of a step. When the loop calling is known to keep no row (lua_loopvar.h:
 * its variable is only read from, never stored, passed, returned, captured
 * or copied), the row of the step before takes the next record: asked
 * after ROW_REUSE_AFTER steps that were all called as a generic for calls
 * (the scan, then nil, then the row handed out last); then the row is
 * reused when the caller gives back the one handed out last.
 *
 * When that loop also reads fields by name (`m.town`), the row it gets is
 * a table (trow_new) holding those of them it reads at a quarter of its
 * steps or more, set from each record (trow_fill): Lua finds them in the
 * table itself, where each read of a row is a call of its __index (~700
 * instructions against ~150 a field set; W2's rule reads two or three
 * fields of every member). */
static int l_scan_iter(lua_State *L) {
    lscan *s = lua_touserdata(L, lua_upvalueindex(2));
    const void *rec;
    size_t n;
    int rc = scan_step(s, &rec, &n);
    if (rc == 0) {
        if (s->reuse < 0) {
            /* called as a generic for calls (the scan, then the row of the
             * step before) every step so far? After ROW_REUSE_AFTER steps, is
             * that for one that keeps no row? (Small scans never ask.) */
            int forlike = lua_gettop(L) == 2 && lua_touserdata(L, 1) == s &&
                          (s->last ? lua_touserdata(L, 2) == s->last : lua_isnil(L, 2));
            if (!forlike) {
                s->reuse = 0;
            } else if (++s->steps >= ROW_REUSE_AFTER) {
                s->reuse = !lloopvar_reads(L, 1);
                if (s->reuse > 0 && trow_want(L, s, lua_gettop(L)) > 0) {
                    lua_pop(L, 1);
                    trow_new(L, s, rec, n);
                    return 1;
                }
                if (s->reuse > 0) {
                    lua_pop(L, 1); /* the names read: none of them fields */
                }
            }
        }
        if (s->reuse > 0 && lua_touserdata(L, 1) == s) {
            if (s->trow && lua_topointer(L, 2) == s->trow) {
                if (!row_refill(s->tback, rec, n)) {
                    trow_new(L, s, rec, n); /* a record larger than the row has room for */
                    return 1;
                }
                if (lua_gettop(L) != 2) { /* a generic for passes two */
                    lua_settop(L, 2);
                }
                trow_fill(L, s, 2);
                if (++s->tsteps >= TROW_WINDOW) {
                    trow_promote(s);
                }
                return 1;
            }
            if (!s->trow && lua_touserdata(L, 2) == s->last && row_refill(s->last, rec, n)) {
                lua_settop(L, 2);
                return 1;
            }
        }
        /* room to spare in a row that may be reused: records vary a little */
        push_row(L, s->db, s->c, lua_upvalueindex(3), lua_touserdata(L, lua_upvalueindex(4)),
                 lua_upvalueindex(5), rec, n, s->reuse ? n / 2 + 16 : 0);
        if (s->reuse && !s->trow) { /* a table row stays the one handed out last */
            s->last = lua_touserdata(L, -1);
            lua_copy(L, -1, lua_upvalueindex(6));
        }
        return 1;
    }
    scan_free(s);
    if (rc == GH_ENOTFOUND) {
        lua_pushnil(L);
        return 1;
    }
    return lstore_raise(L, rc);
}

/* Adds the value at idx to filter f: key-encoded, and as stored when raw. */
static int add_value(lua_State *L, lfilter *f, const store_coll *c, int pos, int raw,
                     codec_buf *one) {
    one->len = 0;
    int rc = lstore_key_elem(L, -1, c, pos, one);
    codec_buf_add(&f->vals, &one->len, sizeof one->len);
    codec_buf_add(&f->vals, one->p, one->len);
    if (rc == 0 && raw) {
        one->len = 0;
        rc = lcodec_encode_field(L, -1, c, pos, one);
        codec_buf_add(&f->raw, &one->len, sizeof one->len);
        codec_buf_add(&f->raw, one->p, one->len);
    }
    f->nvals++;
    return rc ? rc : (f->vals.oom || f->raw.oom) ? GH_ENOMEM : 0;
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
    codec_buf_init(&f->raw);
    int raw = c->fields[pos].type != FT_NUMBER && c->fields[pos].type != FT_ANY;
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
            rc = lstore_key_elem(L, -1, c, pos, &f->lo);
        }
        lua_pop(L, 1);
        lua_getfield(L, vidx, "to");
        if (rc == 0 && !lua_isnil(L, -1)) {
            rc = lstore_key_elem(L, -1, c, pos, &f->hi);
        }
        lua_pop(L, 1);
        if (rc == 0 && !f->lo.len && !f->hi.len) {
            rc = err_set(GH_EINVAL,
                         _("collection '%s': condition on '%s' must be a value, a list of values "
                           "or {from = ..., to = ...}"),
                         c->name, c->fields[pos].name);
        }
    } else if (lua_istable(L, vidx)) { /* a list of values: any of them */
        int n = (int)lua_rawlen(L, vidx);
        for (int i = 1; i <= n && rc == 0; i++) {
            lua_rawgeti(L, vidx, i);
            rc = add_value(L, f, c, pos, raw, &one);
            lua_pop(L, 1);
        }
        if (rc == 0 && n == 0) {
            rc = err_set(GH_EINVAL, _("collection '%s': an empty list of values for '%s'"), c->name,
                         c->fields[pos].name);
        }
    } else {
        lua_pushvalue(L, vidx);
        rc = add_value(L, f, c, pos, raw, &one);
        lua_pop(L, 1);
    }
    codec_buf_free(&one);
    if (rc == 0 && f->vals.oom) {
        rc = GH_ENOMEM;
    }
    if (rc == 0 && !f->range) {
        rc = sort_values(f);
    }
    return rc;
}

static int cmp_filters(const void *a, const void *b) {
    return ((const lfilter *)a)->pos - ((const lfilter *)b)->pos;
}

static const char *const scan_opts[] = {"index", "eq",     "prefix",  "from", "to",
                                        "limit", "offset", "reverse", NULL};

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
static int scan_setup(lua_State *L, lscan *s, store_txn *t, const store_coll *c, int coll_idx,
                      int opt_idx) {
    store_range r;
    codec_buf lo, hi, px;
    int index = -1, rc = 0, explicit_index = 0, px_whole = 1;
    memset(&r, 0, sizeof r);
    codec_buf_init(&lo);
    codec_buf_init(&hi);
    codec_buf_init(&px);
    s->c = c;
    s->limit = -1;
    s->offset = 0;
    int has_opts = opt_idx > 0 && lua_istable(L, opt_idx);
    if (opt_idx > 0 && !has_opts && !lua_isnil(L, opt_idx)) {
        return err_set(GH_EINVAL, _("collection '%s': scan options must be a table"), c->name);
    }
    if (has_opts) {
        /* conditions on fields */
        lua_getiuservalue(L, coll_idx, 2);
        int pos_idx = lua_gettop(L);
        lua_pushnil(L);
        while (rc == 0 && lua_next(L, opt_idx)) {
            if (lua_type(L, -2) != LUA_TSTRING) {
                rc = err_set(GH_EINVAL, _("collection '%s': scan options are named"), c->name);
            } else if (!is_scan_opt(lua_tostring(L, -2))) {
                lua_pushvalue(L, -2);
                int pos =
                    lua_rawget(L, pos_idx) == LUA_TNUMBER ? (int)lua_tointeger(L, -1) - 1 : -1;
                lua_pop(L, 1);
                if (pos < 0) {
                    rc = err_set(GH_EUNKNOWN,
                                 _("collection '%s': no field '%s' to filter on (options: index, "
                                   "eq, prefix, from, to, limit, offset, reverse)"),
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
        if (s->nfilters > 1) {
            qsort(s->filters, (size_t)s->nfilters, sizeof *s->filters, cmp_filters);
        }
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
            explicit_index = 1;
            index =
                strcmp(iname, c->fields[c->key].name) == 0 ? -1 : lstore_index_by_name(c, iname);
            if (index < 0 && strcmp(iname, c->fields[c->key].name) != 0) {
                rc = lstore_no_index(c, iname);
                lua_pop(L, 4);
                goto out;
            }
            store_index keyix = {.nfields = 1, .fields = {c->key}};
            const store_index *ix = index < 0 ? &keyix : &c->indexes[index];
            lua_getfield(L, opt_idx, "eq");
            if (rc == 0 && !lua_isnil(L, -1)) {
                rc = lstore_index_vals(L, -1, c, ix, &px, &nv);
            }
            lua_getfield(L, opt_idx, "prefix");
            if (rc == 0 && !lua_isnil(L, -1)) {
                size_t n;
                const char *z = lua_tolstring(L, -1, &n);
                int ft = c->fields[ix->fields[0]].type;
                if (!z || lua_type(L, -1) != LUA_TSTRING || (ft != FT_STRING && ft != FT_DATE)) {
                    rc = err_set(GH_EINVAL,
                                 _("collection '%s': prefix needs a string index and a string"),
                                 c->name);
                } else if (!px.len) {
                    key_put_str(&px, z, n);
                    px.len--; /* drop the terminator: any string starting with z */
                    px_whole = 0;
                }
            }
            lua_getfield(L, opt_idx, "from");
            if (rc == 0 && !lua_isnil(L, -1)) {
                rc = lstore_index_vals(L, -1, c, ix, &lo, &nv);
            }
            lua_getfield(L, opt_idx, "to");
            if (rc == 0 && !lua_isnil(L, -1)) {
                rc = lstore_index_vals(L, -1, c, ix, &hi, &nv);
            }
            lua_pop(L, 4);
        } else {
            lua_getfield(L, opt_idx, "eq");
            lua_getfield(L, opt_idx, "prefix");
            lua_getfield(L, opt_idx, "from");
            lua_getfield(L, opt_idx, "to");
            if (!lua_isnil(L, -1) || !lua_isnil(L, -2) || !lua_isnil(L, -3) || !lua_isnil(L, -4)) {
                rc = err_set(GH_EINVAL,
                             _("collection '%s': eq, prefix, from and to need index = '<field>'"),
                             c->name);
            }
            lua_pop(L, 4);
        }
        lua_pop(L, 4);
        if (rc) {
            goto out;
        }
    }
    if (s->after.len && explicit_index) {
        rc = err_set(GH_EINVAL,
                     _("collection '%s': after = (a key) resumes a scan in key order: "
                       "it cannot be given with index ="),
                     c->name);
        goto out;
    }
    if (!explicit_index && s->after.len) {
        r.lo = s->after.p; /* key order from the key on (the key itself skipped) */
        r.lolen = s->after.len;
    } else if (!explicit_index) {
        /* Records come in key order unless index= says otherwise, so an index
         * is used only when conditions fix all of its fields (the entries of
         * one index key are kept in key order), and only when it is
         * selective enough to beat a sequential scan with the conditions
         * checked in C: each index hit costs a seek, and about 1/8 of the
         * records breaks even. */
        uint64_t total = 0, best = UINT64_MAX;
        codec_buf cand;
        codec_buf_init(&cand);
        store_count(t, c, &total);
        for (int i = 0; i < c->nindexes; i++) {
            const store_index *ix = &c->indexes[i];
            int covered = 1;
            cand.len = 0;
            for (int j = 0; j < ix->nfields && covered; j++) {
                covered = 0;
                for (int f = 0; f < s->nfilters; f++) {
                    lfilter *fl = &s->filters[f];
                    if (fl->pos == ix->fields[j] && !fl->range && fl->nvals == 1) {
                        codec_buf_add(&cand, fl->vals.p + sizeof(size_t),
                                      fl->vals.len - sizeof(size_t));
                        covered = 1;
                        break;
                    }
                }
            }
            if (!covered || cand.oom) {
                continue;
            }
            uint64_t n = 1;
            if (!ix->unique) {
                store_range er = {.prefix = cand.p, .prefixlen = cand.len, .prefix_whole = 1};
                store_range_count(t, c, i, &er, &n);
            }
            if (n < best) {
                best = n;
                index = i;
                px.len = 0;
                codec_buf_add(&px, cand.p, cand.len);
            }
        }
        codec_buf_free(&cand);
        s->plan_est = best;
        s->plan_total = total;
        if (index < 0 || best * 8 > total) {
            index = -1;
            px.len = 0;
        }
    }
    s->plan_index = index;
    s->plan_explicit = explicit_index;
    if (px.len) {
        r.prefix = px.p;
        r.prefixlen = px.len;
        r.prefix_whole = px_whole;
    }
    if (lo.len) { /* (index = with from: after is refused above) */
        r.lo = lo.p;
        r.lolen = lo.len;
    }
    if (hi.len) {
        r.hi = hi.p;
        r.hilen = hi.len;
    }
    rc = store_scan_open(t, c, index, &r, &s->sc);
    if (rc == 0 && index < 0 && !r.lo && !r.hi && !r.prefix && s->db->progress) {
        uint64_t total = 0; /* a whole-collection scan: its size is known */
        store_count(t, c, &total);
        s->total = total >= 100000 ? total : 0; /* small ones finish before a bar helps */
    }
    s->plain =
        rc == 0 && !s->nfilters && !s->db->scope && s->limit < 0 && s->offset == 0 && !s->after.len;
out:
    codec_buf_free(&lo);
    codec_buf_free(&hi);
    codec_buf_free(&px);
    return rc;
}

/* Opens the scan userdata for coll at 1 with options at 2; pushes it. */
static int open_scan(lua_State *L, lscan **out) {
    ldb *db = lstore_db(L);
    const store_coll *c;
    store_txn *t;
    int rc;
    lstore_checkudata(L, 1, &lstore_coll_key, COLL_MT);
    lscan *s = lua_newuserdatauv(L, sizeof *s, 0);
    memset(s, 0, sizeof *s);
    s->db = db;
    codec_buf_init(&s->kb);
    luaL_setmetatable(L, SCAN_MT);
    if (lstore_write_txn(db)) {
        t = lstore_write_txn(db);
    } else { /* the scan's own snapshot, ended with the loop */
        rc = store_txn_begin(db->s, NULL, 0, &t);
        if (rc == GH_ELMDB && strstr(err_msg(rc), "MDB_READERS_FULL")) {
            /* Scans left unfinished (a loop that returned early) hold
             * readers until they are collected: collect them now. */
            lua_gc(L, LUA_GCCOLLECT);
            rc = store_txn_begin(db->s, NULL, 0, &t);
        }
        if (rc) {
            return rc;
        }
        s->own = t;
    }
    if ((rc = lstore_resolve(L, 1, t, &c)) == 0) {
        rc = scan_setup(L, s, t, c, 1, lua_gettop(L) >= 3 ? 2 : 0);
    }
    if (rc) {
        scan_free(s);
        return rc;
    }
    *out = s;
    return 0;
}

int lscan_open(lua_State *L, int coll_idx, int opt_idx, store_txn *t, const codec_buf *after,
               lscan **out) {
    const store_coll *c;
    coll_idx = lua_absindex(L, coll_idx);
    opt_idx = opt_idx ? lua_absindex(L, opt_idx) : 0;
    lscan *s = lua_newuserdatauv(L, sizeof *s, 0);
    memset(s, 0, sizeof *s);
    s->db = lstore_db(L);
    codec_buf_init(&s->kb);
    codec_buf_init(&s->after);
    luaL_setmetatable(L, SCAN_MT);
    if (after && after->len) {
        codec_buf_add(&s->after, after->p, after->len);
        if (s->after.oom) {
            return GH_ENOMEM;
        }
    }
    int rc = lstore_resolve(L, coll_idx, t, &c);
    if (rc == 0) {
        rc = scan_setup(L, s, t, c, coll_idx, opt_idx);
    }
    if (rc) {
        scan_free(s);
        return rc;
    }
    *out = s;
    return 0;
}

int lscan_next(lscan *s, const void **pk, size_t *pkn, const void **rec, size_t *n) {
    int rc = scan_step(s, rec, n);
    if (rc == 0) {
        *pk = s->pk;
        *pkn = s->pkn;
    }
    return rc;
}

void lscan_close(lscan *s) {
    scan_free(s);
}

const store_coll *lscan_coll(const lscan *s) {
    return s->c;
}

/* coll:scan([opts]) -> iterator for a generic for (with a to-be-closed
 * value so `break` ends the read at once). */
int l_coll_scan(lua_State *L) {
    lscan *s;
    lua_settop(L, 2);
    int rc = open_scan(L, &s);
    if (rc) {
        return lstore_raise(L, rc);
    }
    int sidx = lua_gettop(L);
    lua_pushvalue(L, lua_upvalueindex(1));
    lua_pushvalue(L, sidx);
    lua_getiuservalue(L, 1, 1);
    lua_rawgeti(L, -1, 0);
    lua_pushlightuserdata(L, lua_touserdata(L, -1));
    lua_remove(L, -2);
    lua_rawgetp(L, LUA_REGISTRYINDEX, &lstore_row_key);
    lua_pushnil(L); /* the row handed out last */
    for (int i = 7; i <= ITER_UPVALUES; i++) {
        lua_pushnil(L); /* for a table row (TROW_STRINGS, TROW_KEYS) */
    }
    lua_pushcclosure(L, l_scan_iter, ITER_UPVALUES);
    s->reuse = -1;
    lua_pushvalue(L, sidx); /* the state: the iterator knows a generic for's call by it */
    lua_pushnil(L);
    lua_pushvalue(L, sidx);
    return 4;
}

/* coll:list([opts]) -> array of record tables */
int l_coll_list(lua_State *L) {
    lscan *s;
    const void *rec;
    size_t n;
    lua_settop(L, 2);
    int rc = open_scan(L, &s);
    if (rc) {
        return lstore_raise(L, rc);
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
        return lstore_raise(L, rc);
    }
    return 1;
}

/* coll:explain([opts]) -> how coll:scan(opts) would read: { index = name
 * (or the key field, for key order), how = 'index' | 'key order' | 'named
 * index', estimate = entries of the index's key (when one was weighed),
 * records = the collection's size, filters = conditions checked per
 * record }. Nothing is read but the counts. */
int l_coll_explain(lua_State *L) {
    lscan *s;
    lua_settop(L, 2);
    int rc = open_scan(L, &s);
    if (rc) {
        return lstore_raise(L, rc);
    }
    const store_coll *c = s->c;
    lua_createtable(L, 0, 6);
    if (s->plan_index >= 0) {
        lua_pushstring(L, c->indexes[s->plan_index].name);
    } else {
        lua_pushstring(L, c->fields[c->key].name);
    }
    lua_setfield(L, -2, "index");
    lua_pushstring(L, s->plan_explicit     ? "named index"
                      : s->plan_index >= 0 ? "index"
                                           : "key order");
    lua_setfield(L, -2, "how");
    if (!s->plan_explicit && s->plan_est != UINT64_MAX) {
        lua_pushinteger(L, (lua_Integer)s->plan_est);
        lua_setfield(L, -2, "estimate");
    }
    if (!s->plan_explicit) {
        lua_pushinteger(L, (lua_Integer)s->plan_total);
        lua_setfield(L, -2, "records");
    }
    lua_pushinteger(L, s->nfilters);
    lua_setfield(L, -2, "filters");
    scan_free(s);
    return 1;
}

/* coll:count([opts]) -> number of records (matching) */
int l_coll_count(lua_State *L) {
    lscan *s;
    const void *rec;
    size_t n;
    lua_settop(L, 2);
    if (lua_isnil(L, 2) &&
        !lstore_db(L)->scope) { /* the whole collection: from the B-tree header */
        ldb *db = lstore_db(L);
        const store_coll *c;
        store_txn *t;
        int owned, rc;
        uint64_t count = 0;
        if ((rc = lstore_begin(db, 0, &t, &owned))) {
            return lstore_raise(L, rc);
        }
        if ((rc = lstore_resolve(L, 1, t, &c)) == 0) {
            rc = store_count(t, c, &count);
        }
        rc = lstore_end(db, t, owned, rc);
        if (rc) {
            return lstore_raise(L, rc);
        }
        lua_pushinteger(L, (lua_Integer)count);
        return 1;
    }
    int rc = open_scan(L, &s);
    if (rc) {
        return lstore_raise(L, rc);
    }
    lua_Integer count = 0;
    while ((rc = scan_step(s, &rec, &n)) == 0) {
        count++;
    }
    scan_free(s);
    if (rc != GH_ENOTFOUND) {
        return lstore_raise(L, rc);
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

/* Records count_by takes from a plain scan at a time (store_scan_batch). */
#define COUNT_BATCH 64

/* coll:count_by(field [, opts]) -> { [value] = count } computed in C */
int l_coll_count_by(lua_State *L) {
    lscan *s;
    luaL_checkstring(L, 2);
    lua_settop(L, 3);
    lua_rotate(L, 2, 1); /* 1 coll, 2 opts, 3 field: open_scan reads opts at 2 */
    const char *field = lua_tostring(L, 3);
    int rc = open_scan(L, &s);
    if (rc) {
        return lstore_raise(L, rc);
    }
    int pos = store_field_pos(s->c, field);
    if (pos < 0 || pos == s->c->extra) {
        scan_free(s);
        return luaL_error(L, _("collection '%s' has no field '%s'"), s->c->name, field);
    }
    size_t cap = 64, used = 0;
    bucket *tab = calloc(cap, sizeof *tab);
    codec_buf arena;
    codec_buf_init(&arena);
    if (!tab) {
        scan_free(s);
        return luaL_error(L, _("out of memory"));
    }
    store_rec batch[COUNT_BATCH];
    int got = 0, at = 0;
    for (;;) {
        if (at == got) { /* the next records: many at once from a plain scan */
            at = 0;
            if (!s->plain) {
                rc = scan_step(s, &batch[0].val, &batch[0].n);
                got = rc ? 0 : 1;
            } else if ((got = store_scan_batch(s->sc, batch, COUNT_BATCH)) < 0) {
                rc = got;
                got = 0;
                if (s->total) { /* as scan_step does at the end */
                    s->db->progress((double)s->total, (double)s->total, s->c->name);
                }
            } else {
                rc = 0;
                uint64_t was = s->stepped;
                s->stepped += (uint64_t)got;
                if (s->total && (was >> 12) != (s->stepped >> 12)) { /* every 4096, as scan_step */
                    s->db->progress((double)s->stepped, (double)s->total, s->c->name);
                }
            }
            if (rc) {
                break;
            }
        }
        if (at == 0) { /* the values of the whole batch first: the walks of
                        * different records overlap in the processor */
            for (int b = 0; b < got; b++) {
                const unsigned char *end = (const unsigned char *)batch[b].val + batch[b].n,
                                    *q = NULL;
                uint32_t narr;
                const unsigned char *p = mp_record_fields(batch[b].val, batch[b].n, &narr);
                if (p && (uint32_t)pos < narr) {
                    p = mp_skip_n(p, end, (uint32_t)pos);
                    q = p ? skip_one(p, end) : NULL;
                } else if (p) {
                    static const unsigned char nil = 0xc0; /* absent: a field added later */
                    p = &nil;
                    q = p + 1;
                }
                batch[b].pk = p; /* the value's bytes, in the key's place */
                batch[b].pkn = q ? (size_t)(q - p) : 0;
            }
        }
        const unsigned char *p = batch[at].pk;
        size_t len = batch[at].pkn;
        at++;
        if (!len) {
            rc = err_set(GH_ECORRUPT,
                         _("collection '%s': a stored record is corrupt (run gonghui check)"),
                         s->c->name);
            break;
        }
        uint64_t h = value_hash(p, len);
        size_t j = h & (cap - 1);
        while (tab[j].len &&
               !(tab[j].hash == h && tab[j].len == len && bytes_eq(arena.p + tab[j].off, p, len))) {
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
    return rc ? lstore_raise(L, rc) : 1;
}

/* coll:schema() -> the definition as a table */
void lscan_register(lua_State *L, int dbi) {
    luaL_newmetatable(L, ROW_MT);
    lua_pushvalue(L, -1);
    lua_rawsetp(L, LUA_REGISTRYINDEX, &lstore_row_key);
    lua_pushvalue(L, dbi);
    lua_createtable(L, SCACHE_SLOTS, 0); /* the string cache (scache) */
    scache *sc = lua_newuserdatauv(L, sizeof *sc, 0);
    memset(sc, 0, sizeof *sc);
    lua_pushcclosure(L, l_row_index, 3);
    lua_setfield(L, -2, "__index");
    lua_pushcfunction(L, l_row_newindex);
    lua_setfield(L, -2, "__newindex");
    lua_pushcfunction(L, l_row_pairs);
    lua_setfield(L, -2, "__pairs");
    lua_pushcfunction(L, l_row_tostring);
    lua_setfield(L, -2, "__tostring");
    lua_pushstring(L, "row");
    lua_setfield(L, -2, "__name");
    lua_pushboolean(L, 0); /* hidden: the metamethods trust their first argument */
    lua_setfield(L, -2, "__metatable");
    lua_pop(L, 1);

    luaL_newmetatable(L, SCAN_MT);
    lua_pushboolean(L, 0);
    lua_setfield(L, -2, "__metatable");
    lua_pushcfunction(L, l_scan_gc);
    lua_setfield(L, -2, "__gc");
    lua_pushcfunction(L, l_scan_gc);
    lua_setfield(L, -2, "__close");
    lua_pop(L, 1);
}
