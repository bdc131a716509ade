/*
 * lua_store.h — the `db` global: collections, records, scans, db.atomic.
 *
 * lstore_push_db() and lstore_traceback() are for script.c. The rest is
 * shared by the two files of the Lua face: lua_store.c (db, collections,
 * records, transactions) and lua_scan.c (scans, rows, counting). The store
 * handle stays the caller's; the Lua face borrows it for the state's life.
 */
#ifndef GH_LUA_STORE_H
#define GH_LUA_STORE_H

#include "codec.h"
#include "store.h"

#include <lua.h>

/* Pushes a new `db` table bound to store `s` (borrowed: it must outlive
 * the Lua state). The table is also kept in the registry under
 * LSTORE_DB_KEY, for C code that acts for the script (plugins' records). */
#define LSTORE_DB_KEY "gonghui.db_table"
void lstore_push_db(lua_State *L, store *s);

/* Makes the whole run one unit: a write transaction that every db call of
 * this state uses (db.atomic inside it becomes a savepoint) until
 * lstore_run_end commits it (commit != 0) or aborts it (dry runs). `db_idx`
 * is the stack index of the db table. 0 or a GH_E* code (message in
 * err_msg). While it is open, *counts (if not NULL) of lstore_run_counts
 * gives the writes so far per collection. A run that filled the map is the
 * caller's to take (lstore_take_map_full) and redo or refuse before
 * lstore_run_end: committing one is a programmer error (asserted). */
int lstore_run_begin(lua_State *L, int db_idx);
int lstore_run_end(lua_State *L, int db_idx, int commit);
const store_counts *lstore_run_counts(lua_State *L, int db_idx, int *n);
/* The writes per collection of every top-level transaction this state
 * committed (borrowed until the next commit). */
const store_counts *lstore_committed_counts(lua_State *L, int db_idx, int *n);
/* The events of this run (published with its run id) per topic in those
 * transactions (the count in .inserted; borrowed the same way). */
const store_counts *lstore_committed_events(lua_State *L, int db_idx, int *n);

/* For `gonghui serve` (serve.c), which alone sets these between requests;
 * nothing a script can call changes them.
 *
 * lstore_set_scope: reads and writes of scoped collections see only the
 * records of sc's subtree (scope.h); sc is borrowed until it is set again
 * (NULL: no scope).
 * lstore_set_guard: LSTORE_READONLY refuses every write that would begin a
 * transaction of its own (so a read request writes nothing); LSTORE_NODEFINE
 * refuses db.define that would change a definition, and db.drop.
 * lstore_lend_txn: every call of the state uses write transaction t (a
 * savepoint of the server's group commit) until it is lent again (NULL:
 * none); the caller commits or aborts it. */
enum { LSTORE_READONLY = 1, LSTORE_NODEFINE = 2 };
struct scope;
void lstore_set_scope(lua_State *L, int db_idx, const struct scope *sc);
void lstore_set_guard(lua_State *L, int db_idx, int guard);
void lstore_lend_txn(lua_State *L, int db_idx, store_txn *t);
/* 1 if a write in a lent transaction hit GH_EMAPFULL since the last call
 * (the server then aborts the group, grows the map and redoes it). */
int lstore_take_map_full(lua_State *L, int db_idx);

/* Lets long scans report progress through fn (NULL: none). */
void lstore_set_progress(lua_State *L, int db_idx, void (*fn)(double, double, const char *));

/* The whole-run transaction while it is open, else NULL (borrowed). */
store_txn *lstore_run_txn(lua_State *L, int db_idx);

/* 1 if db.define(name, spec) on db with the values at name_idx and spec_idx
 * would change nothing (the collection exists with an equivalent
 * definition), 0 otherwise (also for a spec that is not one). Reads only:
 * the read-only REPL lets such a define through. */
struct ldb;
int lstore_define_unchanged(lua_State *L, struct ldb *db, int name_idx, int spec_idx);

/* db.define's spec at `spec` (an absolute index) for collection `name`
 * checked and built into *out (caller frees with store_coll_free); 0, or
 * an error code with err_set's message (GH_ESCHEMA, GH_EUNKNOWN, GH_ENOMEM),
 * *out untouched. The stack is left as it was. (lua_define.c) */
int lstore_spec_to_def(lua_State *L, const char *name, int spec, store_coll **out);

/* Message handler for lua_pcall: the error message with a traceback; an
 * error that db.atomic saw first keeps the traceback taken where it was
 * raised; the message of run.fail (the string stored in the registry under
 * LSTORE_FAIL_KEY) is passed on alone. */
int lstore_traceback(lua_State *L);
/* db.atomic's message handler (lua_trace.c): records the first raise's
 * traceback under TB_KEY and passes the error on. */
int lstore_atomic_handler(lua_State *L);

/* The line that heads a traceback's frames, in the message language
 * ("stack traceback:" in English). */
const char *lstore_traceback_heading(void);
#define LSTORE_FAIL_KEY "gonghui.fail"

/* ---- shared by lua_store.c and lua_scan.c ------------------------------------ */

#define DB_MT "gonghui.db"
#define COLL_MT "gonghui.collection"
#define ROW_MT "gonghui.row"
#define SCAN_MT "gonghui.scan"
#define TB_KEY "gonghui.traceback"

typedef struct ldb {
    store *s;
    store_txn *wtxn; /* innermost db.atomic transaction, or NULL */
    store_txn *rtxn; /* the read transaction lent to reads outside db.atomic */
    store_txn *run;  /* the whole-run transaction of lstore_run_begin, or NULL */
    /* Draws progress of long scans (set by the runner; NULL: none). */
    void (*progress)(double done, double total, const char *label);
    store_counts *done; /* writes of the top-level transactions committed so far */
    int ndone;
    store_counts *done_events; /* their events per topic (store_txn_tally) */
    int ndone_events;
    /* Publishes a change event (set by the bus; NULL without one): topic,
     * and the payload already encoded (bus_change.h), a string of
     * MessagePack bytes at payload_idx; may raise (handler errors). */
    void (*change_hook)(lua_State *L, const char *topic, size_t tn, int payload_idx);
    /* Publishes an event whose payload is already encoded (MessagePack
     * bytes p, n) in the write transaction as bus.publish does (the run's id
     * and tally, the scope's check, handlers), with no Lua value made when
     * nobody listens (set by the bus with its state bus_ud; NULL without
     * one); may raise. For C writers (lua_select.c). */
    void (*publish_hook)(lua_State *L, void *bus_ud, const char *topic, size_t tn, const void *p,
                         size_t n);
    void *bus_ud;
    unsigned rtxn_ops;
    int64_t rtxn_since; /* clock_mono_coarse_ms() when rtxn began */
    int map_full;       /* a write hit GH_EMAPFULL: the top-level atomic grows and redoes */
    codec_buf buf, kbuf;
    const struct scope *scope; /* the request's scope (scope.h), or NULL: see everything */
    int guard;                 /* LSTORE_READONLY | LSTORE_NODEFINE */
    const void *coll_mt;       /* the collections' metatable (its address, for checks) */
} ldb;

typedef struct lcoll {
    const store_coll *c; /* valid while gen == store_generation() */
    uint64_t gen;
    const struct lshape *shape; /* c's names (lua_codec.h), held by uservalue 1; or NULL */
    int hint;                   /* the field get/find read last by name (lshape_find_hinted) */
    char name[];
} lcoll;

typedef struct lrow {
    const store_coll *c; /* borrowed: definitions live until the store closes */
    ldb *db;
    const struct lshape *shape; /* c's names (lua_codec.h), valid while uservalue 1 lives */
    /* Field offsets are found lazily, only as far as the fields read so far:
     * off[0 .. ready-1] are known (UINT32_MAX = absent), field `ready`
     * starts at byte `at`; ready < 0: the array header is not read yet. */
    int ready;
    uint32_t narr, at;
    uint32_t n;
    uint32_t *off; /* into bytes; UINT32_MAX = absent */
    unsigned char bytes[];
} lrow;

/* Registry keys (light userdata: no string hashing) of the metatables of
 * collections and rows, set beside their luaL_newmetatable names. */
extern const char lstore_coll_key, lstore_row_key;

/* The userdata at idx if its metatable is the one registered under key,
 * else NULL; the check form raises a type error naming tname. */
void *lstore_testudata(lua_State *L, int idx, const void *key);
void *lstore_checkudata(lua_State *L, int idx, const void *key, const char *tname);

/* Every db function has upvalues 1: the ldb userdata, 2: the db table. */
ldb *lstore_db(lua_State *L);

/* Raises the store's message for rc. Call only when holding nothing. */
int lstore_raise(lua_State *L, int rc);

/* The record at idx (a table, or a row of a collection laid out as c) encoded
 * into db->buf for collection c, whose collection object is at stack index 1
 * (its names); an auto key takes the next id in t. 0 or a GH_E* code with
 * err_set's message; raises only on a Lua memory error. */
int lstore_encode_record(lua_State *L, ldb *db, store_txn *t, const store_coll *c, int idx);

/* coll:load(source [, opts]) (lua_load.c). */
int lstore_coll_load(lua_State *L);

/* Begins the transaction for one call: the db.atomic one if any (*owned =
 * 0); for a write, a fresh write transaction (*owned = 1); for a read, the
 * lent read transaction (*owned = 0): consecutive reads share one snapshot
 * for at most RTXN_MAX_OPS calls or RTXN_MAX_MS milliseconds, and any write
 * from this state ends it first, so a script always reads its own writes. */
int lstore_begin(ldb *db, int write, store_txn **t, int *owned);

/* Commits t, adding its writes to the state's committed counts when it is
 * a top-level write transaction. Every commit of the Lua face goes here. */
int lstore_commit(ldb *db, store_txn *t);

/* Ends the lent read transaction, if any (before writes, growing the map,
 * and between REPL statements). */
void lstore_release(ldb *db);

/* Ends the call's transaction: commits if rc is 0 (or GH_ENOTFOUND) and the
 * transaction is ours, aborts otherwise. Returns the final code. */
int lstore_end(ldb *db, store_txn *t, int owned, int rc);

/* The state's current write transaction, for the Lua faces: every write of
 * db, bus and run.chunks goes into the one these calls name, and none of
 * them sets db->wtxn itself.
 * lstore_swap_txn: makes t the write transaction (a savepoint or a unit the
 * caller began, as db.atomic does) and returns the one it replaces, to be put
 * back with the same call before the caller commits or aborts t.
 * lstore_write_txn: the write transaction now (db.atomic's, the whole run's
 * of --atomic/--dry-run, or a lent one), or NULL.
 * lstore_in_atomic: 1 inside a db.atomic of the script (not only the whole
 * run's transaction). */
static inline store_txn *lstore_swap_txn(ldb *db, store_txn *t) {
    store_txn *old = db->wtxn;
    db->wtxn = t;
    return old;
}
static inline store_txn *lstore_write_txn(const ldb *db) {
    return db->wtxn;
}
static inline int lstore_in_atomic(const ldb *db) {
    return db->wtxn && db->wtxn != db->run;
}
/* Whether a write of the unit in progress hit GH_EMAPFULL (the unit is
 * dead: its owner grows the map and redoes it), and forgetting it when a
 * unit begins again. */
static inline int lstore_map_full(const ldb *db) {
    return db->map_full;
}
static inline void lstore_map_full_clear(ldb *db) {
    db->map_full = 0;
}

/* One write of the Lua face: work(t, ctx) in the db.atomic (or lent)
 * transaction when there is one (GH_EMAPFULL there marks the unit dead, for
 * its owner to grow the map and redo), else as a unit of its own through
 * store_unit (committed with lstore_commit, redone after the map grew:
 * work may run more than once). GH_ENOTFOUND from work is a normal absence:
 * what it wrote is committed and GH_ENOTFOUND returned. Returns 0, work's
 * code, or the unit's. */
int lstore_write(ldb *db, int (*work)(store_txn *t, void *ctx), void *ctx);

/* Resolves the collection object at idx (checked by the caller) in t and
 * refreshes its name tables (uservalue 1: position -> name, 2: name ->
 * position). */
int lstore_resolve(lua_State *L, int idx, store_txn *t, const store_coll **out);

/* Appends the key encoding of the Lua value at idx as field pos of c. */
int lstore_key_elem(lua_State *L, int idx, const store_coll *c, int pos, codec_buf *out);

/* Encodes leading values of index ix (a scalar, or an array for several
 * fields) into out; *nvals gets how many were given. */
int lstore_index_vals(lua_State *L, int idx, const store_coll *c, const store_index *ix,
                      codec_buf *out, int *nvals);

/* Index position by name ("field" or "a,b"), or -1; and the error for none. */
int lstore_index_by_name(const store_coll *c, const char *name);
int lstore_no_index(const store_coll *c, const char *name);

/* 1 if record rec of c may be seen by the state's current request; 0 when
 * its scope hides it (scope.h). */
int lstore_visible(const ldb *db, const store_coll *c, const void *rec, size_t n);

/* lua_scan.c: the row and scan metatables (dbi: stack index of the ldb
 * userdata), and the scanning collection methods. */
void lscan_register(lua_State *L, int dbi);
int l_coll_scan(lua_State *L);
int l_coll_list(lua_State *L);
int l_coll_count(lua_State *L);
int l_coll_count_by(lua_State *L);
int l_coll_explain(lua_State *L);

/* A prepared insert (coll:prepare_insert): the constant fields encoded once
 * (set[i] 1: p->bytes[off[i] .. +len[i]]), the variable ones (set[i] 2)
 * given on each call in the order of varpos. */
typedef struct lprep {
    const store_coll *c;
    int nvars;
    int varpos[STORE_MAX_FIELDS];
    unsigned char set[STORE_MAX_FIELDS]; /* 1 constant, 2 variable */
    size_t off[STORE_MAX_FIELDS], len[STORE_MAX_FIELDS];
    size_t nbytes;
    unsigned char bytes[];
} lprep;

/* The lprep of the prepared insert function at idx (borrowed: the function
 * holds it), or NULL if idx is not one. */
lprep *lstore_prep_of(lua_State *L, int idx);
/* 0 if p still fits collection c as resolved now (and p follows c), else
 * GH_ESCHEMA with the message. */
int lstore_prep_check(lprep *p, const store_coll *c);
/* The record of p into out: the constants, the variable field i from
 * vals[off[i] .. +len[i]] (len 0: nil), and id as the key at auto_pos
 * (-1: none). The one home of a prepared record's layout. */
void lstore_prep_record(const lprep *p, const store_coll *c, const unsigned char *vals,
                        const size_t *off, const size_t *len, int auto_pos, int64_t id,
                        codec_buf *out);
/* Inserts the new record in db->buf into c in t as every insert does: the
 * scope's check, store_put (unique indexes, UTF-8, NaN), and the change
 * event when c has events (whose handlers may raise). 0 or an error code;
 * a key or unique value taken in a scoped request gets the words that name
 * no hidden record. */
int lstore_insert_built(lua_State *L, ldb *db, store_txn *t, const store_coll *c);

/* lua_scan.c: a scan for the C faces (lua_select.c). lscan_open pushes the
 * scan (a userdata that closes it when collected) of the collection at
 * coll_idx with the scan{} options (conditions) at opt_idx (0: none) in t;
 * after (key-encoded, may be NULL or empty): records after that key only,
 * in key order. lscan_next: 0 with the record's key (key-encoded) and bytes
 * (borrowed until t writes to that collection or ends), GH_ENOTFOUND at the
 * end, or an error. */
typedef struct lscan lscan;
int lscan_open(lua_State *L, int coll_idx, int opt_idx, store_txn *t, const codec_buf *after,
               lscan **out);
int lscan_next(lscan *s, const void **pk, size_t *pkn, const void **rec, size_t *n);
void lscan_close(lscan *s);
const store_coll *lscan_coll(const lscan *s);

/* coll:prepare_insert (upvalues 1 the ldb userdata, 2 the db table, as every
 * collection method): insert_select makes its constants with it, not with the
 * method a read-only REPL or export guards (the guard is insert_select's own). */
int l_coll_prepare_insert(lua_State *L);

/* lua_select.c: coll:insert_select{...}. */
int l_coll_insert_select(lua_State *L);

#endif
