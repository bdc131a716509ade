/*
 * store_int.h — private to the store (store.c, store_def.c, store_scan.c,
 * store_check.c): the structs behind store.h's opaque handles, the limits,
 * and the helpers the files share. Nothing else includes it.
 */
#ifndef GH_STORE_INT_H
#define GH_STORE_INT_H

#include "store.h"

#include "codec.h"

#include <lmdb.h>
#include <stdint.h>

/* LMDB zeroes maxdbs x 57 bytes at the begin of every nested transaction (a
 * savepoint: 58 KB at 1024, 75,000 instructions, more than the write it
 * guards), so a store opens with room for the database handles its file
 * holds (the main database's entries, read with the meta pages) and
 * STORE_DBS_ROOM more for the collections and indexes a command defines. */
#define STORE_DBS_ROOM 256
#define STORE_DBS_OWN 32 /* beyond the room: gonghui's own (_runs, _events, ...) */
#define STORE_DEFAULT_MAP ((size_t)4 << 30)
#define STORE_READ_POOL 4
#define STORE_WCURSORS 16      /* write cursors a transaction keeps open (invariant 7) */
#define STORE_INLINE_INDEXES 8 /* store_put keeps the index keys of this many on the stack */
#define STORE_PK_FIXED 9       /* encoded size of an integer or number key (codec.h) */

struct store {
    MDB_env *env;
    char *path;
    MDB_dbi meta;
    MDB_dbi dbi_room; /* a script's new collection must stay below this handle */
    unsigned char db_id[16];
    int lockfd;
    int compact_lfd; /* store_compact's hold on lock.mdb, or -1: closed after the environment */
    int flags;
    void *map_lo;       /* where its map starts, as noted for the fault handler */
    int readonly;       /* opened MDB_RDONLY: the user cannot write data.mdb */
    char *refuse_write; /* store_refuse_writes: why write transactions are refused */
    /* definitions cache */
    store_coll **colls;
    int ncolls;
    store_coll *retired;  /* replaced definitions, kept until store_close (invariant 6),
                          * linked through retired_next: retiring never allocates */
    uint64_t gen;         /* the database's "gen" the cache reflects */
    uint64_t local_gen;   /* bumped whenever the cache changes */
    size_t checked_txnid; /* snapshot at which gen was last compared; 0 = never */
    int cache_valid;
    /* reset read transactions ready for renewal */
    MDB_txn *pool[STORE_READ_POOL];
    int npool;
    int nreaders; /* read transactions open now */
    store_txn *wtxn;
};

#define STORE_COUNT_HITS 4

struct store_txn {
    store *s;
    MDB_txn *txn;
    store_txn *parent;
    int write;
    uint64_t writes;
    int defs_touched;
    int defs_synced;      /* a write transaction compared "gen" once: no one else can change it */
    store_scan *scans;    /* open scans, invalidated when the transaction ends */
    store_counts *counts; /* writes per collection (names owned) */
    int ncounts;
    /* The entries of counts the last writes counted, each with the name it
     * was found by: a definition's name, whose bytes stay put until
     * store_close (invariant 6), so the same pointer is the same name
     * (count_coll). A loop writes a few collections in turn. */
    struct {
        const char *name;
        int at;
    } count_hit[STORE_COUNT_HITS];
    int count_next;      /* the slot the next miss fills */
    store_counts *tally; /* store_txn_tally's counts (in .inserted) */
    int ntally;
    /* Write cursors kept open across store_put calls (invariant 7). */
    struct {
        MDB_dbi dbi;
        MDB_cursor *cur;
        int at_end; /* the last write through it appended: it sits on the last record */
    } wcur[STORE_WCURSORS];
    int nwcur;
    /* The part of the map that committed pages fill when the transaction
     * began: a value LMDB hands back from inside the map must end in it,
     * or its length was damaged (store_val_check). */
    const char *map_lo, *map_used;
    store_bulk *bulk; /* a bulk load attached (store_bulk.c), or NULL */
    void *aux;        /* store_txn_set_aux's, freed with aux_free when t ends */
    void (*aux_free)(void *);
};

struct store_scan {
    store_txn *t;
    const store_coll *c;
    int index;
    MDB_cursor *cur;
    codec_buf lo, hi, prefix, pk;
    int reverse, started, done, prefix_whole;
    int plain; /* started, forwards in key order, no upper bound: store_scan_next's fast path */
    MDB_val rec;
    /* the map's pages a plain scan has passed since it last let them go
     * (scan_let_go): the lowest and highest, the one of the record before,
     * how many times the page changed; a page's address from a record's */
    uintptr_t gone_lo, gone_hi, gone_at, page_mask;
    unsigned gone_n;
    store_scan *next;
};

/* Shared between the store's files; each is described where it is defined. */

/* store_def.c */
int store_key_cmp(const MDB_val *a, const MDB_val *b); /* LMDB's default order, faster */

/* store.c */
extern char store_disk_dir[4096]; /* the folder being written, for the full-disk message */
int store_lmdb_err(int rc, const char *what);

/* 0 when value d (of collection `what`) lies where committed data can be;
 * GH_ECORRUPT with the damage message when its length runs past the pages
 * the database holds (a damaged node size asking for gigabytes: issue 16).
 * Values of pages written in this transaction live outside the map. */
int store_val_bad(const store_txn *t, const MDB_val *d, const char *what);
static inline int store_val_check(const store_txn *t, const MDB_val *d, const char *what) {
    const char *p = d->mv_data;
    if (p >= t->map_lo && p < t->map_used && d->mv_size > (size_t)(t->map_used - p)) {
        return store_val_bad(t, d, what);
    }
    return 0;
}
void store_key_render(const void *key, size_t n, char *out, size_t outn);
int store_key_too_long(const store_coll *c, const char *what, size_t n);
int store_meta_get_u64(MDB_txn *txn, MDB_dbi meta, const char *name, uint64_t *v);
int store_meta_put_u64(MDB_txn *txn, MDB_dbi meta, const char *name, uint64_t v);
int store_need_write(store_txn *t, const store_coll *c);
void store_wcur_forget(store_txn *t);
int store_dir_state(const char *path, int *has_data, int *has_other);
/* store_def.c */
void store_cache_drop(store *s);
int store_sync_defs(store_txn *t);
/* store_bulk.c */
store_bulk *bulk_of(const store_txn *t, const store_coll *c);
int bulk_unique(store_bulk *b, const store_coll *c, int i, const void *key, size_t kn,
                MDB_val *holder);
int bulk_add(store_bulk *b, const store_coll *c, const codec_buf *ikeys, const unsigned char *state,
             const void *pk, size_t pkn);
int bulk_flush(store_bulk *b, const store_coll *c);
void bulk_detach(store_txn *t);
/* store_check.c */
int store_check_meta(const char *dir);
/* The same, and *named (if the meta pages are whole) the entries of LMDB's
 * main database: one per collection and index (store_open sizes maxdbs by it). */
int store_check_meta_n(const char *dir, uint64_t *named);
void store_map_note(store *s, int add);
/* lmdb_code.c: the ranges [lo, hi) of LMDB's code in this binary (at most
 * max), when LMDB is linked in; -1 when it is a shared library (found in
 * /proc/self/maps). */
int store_lmdb_code(uintptr_t *lo, uintptr_t *hi, int max);
/* 0 when every string of record rec[0..n) is UTF-8 and every number finite;
 * else GH_ETYPE naming the collection, the field's label and the value, and
 * what to do (the one home of that rule: store_put calls it for every
 * write). GH_ECORRUPT on bad bytes. */
int store_rec_text_slow(const store_coll *c, const void *rec, size_t n);
static inline int store_rec_text(const store_coll *c, const void *rec, size_t n) {
    return mp_text_ok(rec, n) ? 0 : store_rec_text_slow(c, rec, n); /* nearly always the first */
}

#endif
