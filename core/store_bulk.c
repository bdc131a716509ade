/*
 * store_bulk.c — bulk loading: the index entries of many inserts into one
 * collection are held back, sorted and appended, as databases build their
 * indexes after a load (`gonghui import`).
 *
 * Inserting index entries one row at a time puts each key of a unique index
 * (an ID number) at a random place of a tree that outgrows the caches: per
 * row the cost grows with the table (3.5 us at 100,000 members, 17 us at
 * 10,000,000). Held back and sorted, the same entries go in in key order:
 * into an empty table each is an append (MDB_APPEND, pages filled to the
 * brim), into a table that holds entries already they go in one pass along
 * its leaves.
 *
 * How store_put uses it (store_bulk attached to its transaction, for that
 * collection, mode STORE_INSERT):
 *   pass 1  every index key and its checks, as always;
 *   pass 2  a unique key is looked up, not written: bulk_unique says whether
 *           this load stored it (a hash of every key it stored: no hit, not
 *           stored; a hit searches the held entries, the runs and the table,
 *           which answer exactly) or the table held it before the load (a
 *           lookup, only when the table was not empty at the start);
 *   then    the record is written as always, and bulk_add holds its index
 *           entries (and notes its unique keys' hashes).
 *
 * Held entries past the memory budget are sorted and spilled as a run to a
 * scratch file (the database's folder, else TMPDIR; a file without a name,
 * so that nothing is left behind on any exit, kill -9 included). When the
 * transaction commits, every index's runs and held entries are merged and
 * written in key order, each table appended once: its pages come out full
 * however many times the budget was passed. The same happens before a write
 * of another kind (STORE_REPLACE, STORE_UPDATE) to the collection. A
 * non-unique index whose rows come in key order (each key's entries go after
 * its last ones) is written to its table whenever it holds a 32nd of the
 * budget instead: that costs little and leaves the budget to the others.
 *
 * A hit in the hashes is a repeated value nearly always: the held entries
 * are searched one by one while few (SCAN_MAX), else spilled as a small run
 * first; a run is searched through the keys of its blocks (in memory) and
 * one read of a block. Small runs are merged two by two as they pile up, so
 * a file full of repeated values keeps a few runs to search.
 *
 * Invariants:
 *   1. When a transaction with a load attached commits, every index entry
 *      of every record is in its table (store_txn_commit flushes first; a
 *      flush that fails aborts the transaction): store.c's invariant 2
 *      holds for everything committed. Inside the transaction, before a
 *      flush, an index table does not hold the load's rows: store_find
 *      asks the load for a unique index (store_bulk_find), and a scan or
 *      count of an index, a delete or another kind of write of the
 *      collection flushes first (bulk_flush).
 *   2. A row is refused for a unique value taken, exactly as store_put
 *      refuses it, before anything of it is written (the same message).
 *   3. Memory: the held entries stay under the budget (a spill empties
 *      them), plus 8 to 16 bytes per row and unique index for the hashes, a
 *      key per 4 KB of a unique index's runs, and a 256 KB buffer per run
 *      while they are merged. Out of memory, or with no scratch file (it
 *      cannot be made or written), the load writes the held entries into
 *      the tables as it goes (slower, never wrong).
 *   4. The scratch file holds only copies of index entries of the open
 *      transaction: it is emptied when the transaction ends either way,
 *      and the database never refers to it.
 */
#include "scratch.h"
#include "store_int.h"

#include "err.h"

#include <errno.h>
#include <fcntl.h>
#include <lmdb.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* One held entry in bulk_ix.buf (and in a run): u16 key length, u16 primary
 * key length, the key, the primary key. */
#define ENTRY_HEAD 4
#define RUN_BLOCK 4096    /* a unique index's run: the key of an entry per this many bytes */
#define SCAN_MAX 1024     /* held entries searched one by one on a hit; more are spilled first */
#define WBUF (1u << 20)   /* the buffer a run is written through */
#define RBUF (256u << 10) /* the buffer of each run being merged */

/* The first entry of each block of a run: where it starts in the run and
 * where its key is in run.mk. */
typedef struct mark {
    uint64_t off;
    uint32_t kat;
    uint16_t kn;
} mark;

/* A sorted run of entries in the scratch file. */
typedef struct run {
    uint64_t off, len, n; /* where in the file, bytes, entries */
    int small;            /* spilled to search it (a hit), not for the budget */
    mark *m;              /* unique indexes: the blocks' first keys */
    size_t nm, mcap;
    unsigned char *mk;
    size_t mklen, mkcap;
} run;

typedef struct bulk_ix {
    MDB_dbi dbi;
    int unique;
    int dupfixed;       /* packed primary keys: a key's entries go in at once */
    int pre;            /* the table held entries when the load began: each key is looked up */
    unsigned char *buf; /* the held entries, in the order of the rows */
    size_t len, cap, n;
    run *runs; /* spilled, oldest first */
    int nruns, rcap;
    /* unique: the 64-bit hashes of the keys this load stored (open
     * addressing, 0 = empty); tfail: no memory for them, every key is
     * looked up in the table after its held entries are written */
    uint64_t *tags;
    size_t tcap, tn;
    int tfail;
} bulk_ix;

struct store_bulk {
    store_txn *t; /* the transaction it is attached to, or NULL */
    MDB_dbi dbi;  /* the collection's records */
    int nix;
    bulk_ix *ix;
    size_t mem, budget;
    /* the primary keys came in increasing order since the last flush: equal
     * index keys then sort by their rows' order (no primary key compared) */
    int pk_rising;
    unsigned char lastpk[STORE_MAX_KEY];
    size_t lastpk_len;
    /* the scratch file (-1: not made yet), the end of its runs; nofile: it
     * could not be made or written, entries go to the tables instead */
    int fd, nofile;
    uint64_t fend;
    char *dir;                          /* the database's folder */
    unsigned char found[STORE_MAX_KEY]; /* the primary key bulk_unique hands back */
    unsigned char *blk;                 /* a block of a run read back */
    size_t blkcap;
};

/* ---- hashes of the unique keys ----------------------------------------------------------- */

static uint64_t mix64(uint64_t h) {
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdull;
    h ^= h >> 33;
    h *= 0xc4ceb9fe1a85ec53ull;
    h ^= h >> 33;
    return h;
}

static uint64_t key_hash64(const unsigned char *p, size_t n) {
    uint64_t h = 0x9e3779b97f4a7c15ull ^ n;
    while (n >= 8) {
        uint64_t w;
        memcpy(&w, p, 8);
        h = (h ^ w) * 0x9e3779b97f4a7c15ull;
        h ^= h >> 29;
        p += 8, n -= 8;
    }
    uint64_t w = 0;
    memcpy(&w, p, n);
    h = mix64(h ^ w);
    return h ? h : 1;
}

static int tag_has(const bulk_ix *x, uint64_t h) {
    if (!x->tcap) {
        return 0;
    }
    for (size_t i = (size_t)h & (x->tcap - 1); x->tags[i]; i = (i + 1) & (x->tcap - 1)) {
        if (x->tags[i] == h) {
            return 1;
        }
    }
    return 0;
}

static void tag_insert(uint64_t *tags, size_t cap, uint64_t h) {
    size_t i = (size_t)h & (cap - 1);
    while (tags[i] && tags[i] != h) {
        i = (i + 1) & (cap - 1);
    }
    tags[i] = h;
}

/* Notes hash h; on running out of memory the hashes are given up (tfail). */
static void tag_put(bulk_ix *x, uint64_t h) {
    if (x->tfail) {
        return;
    }
    if ((x->tn + 1) * 4 > x->tcap * 3) {
        size_t cap = x->tcap ? x->tcap * 2 : 1024;
        uint64_t *t = calloc(cap, sizeof *t);
        if (!t) {
            free(x->tags);
            x->tags = NULL;
            x->tcap = x->tn = 0;
            x->tfail = 1;
            return;
        }
        for (size_t i = 0; i < x->tcap; i++) {
            if (x->tags[i]) {
                tag_insert(t, cap, x->tags[i]);
            }
        }
        free(x->tags);
        x->tags = t, x->tcap = cap;
    }
    x->tn++;
    tag_insert(x->tags, x->tcap, h);
}

/* ---- sorting the held entries ------------------------------------------------------------ */

/* A held entry to sort: the first 16 bytes of its key, big-endian (zero
 * padded), then its place in the buffer (the row order) and key length. */
typedef struct item {
    uint64_t a, b;
    uint64_t off; /* offset << 16 | key length */
} item;

typedef struct sort_ctx {
    const unsigned char *buf;
    int by_pk; /* equal keys compare their primary keys (they did not come in order) */
} sort_ctx;

static uint64_t be64_pad(const unsigned char *p, size_t n) {
    uint64_t v = 0;
    for (size_t i = 0; i < 8; i++) {
        v = (v << 8) | (i < n ? p[i] : 0);
    }
    return v;
}

/* memcmp, then the shorter first: LMDB's order of keys and of duplicates. */
static int cmp_bytes(const unsigned char *p, size_t pn, const unsigned char *q, size_t qn) {
    int r = memcmp(p, q, pn < qn ? pn : qn);
    return r ? r : pn < qn ? -1 : pn > qn ? 1 : 0;
}

static inline int cmp_item(const item *x, const item *y, const sort_ctx *s) {
    if (x->a != y->a) {
        return x->a < y->a ? -1 : 1;
    }
    if (x->b != y->b) {
        return x->b < y->b ? -1 : 1;
    }
    size_t xk = x->off & 0xffff, yk = y->off & 0xffff;
    if (xk > 16 || yk > 16) {
        const unsigned char *xp = s->buf + (x->off >> 16) + ENTRY_HEAD;
        const unsigned char *yp = s->buf + (y->off >> 16) + ENTRY_HEAD;
        int r = cmp_bytes(xp + 16, xk > 16 ? xk - 16 : 0, yp + 16, yk > 16 ? yk - 16 : 0);
        if (r) {
            return r;
        }
    } else if (xk != yk) { /* the same 16 bytes padded: the shorter first */
        return xk < yk ? -1 : 1;
    }
    if (s->by_pk) {
        const unsigned char *xe = s->buf + (x->off >> 16), *ye = s->buf + (y->off >> 16);
        size_t xn = (size_t)xe[2] | (size_t)xe[3] << 8, yn = (size_t)ye[2] | (size_t)ye[3] << 8;
        int r = cmp_bytes(xe + ENTRY_HEAD + xk, xn, ye + ENTRY_HEAD + yk, yn);
        if (r) {
            return r;
        }
    }
    return x->off < y->off ? -1 : x->off > y->off ? 1 : 0; /* the row order */
}

static void insertion_sort(item *v, size_t n, const sort_ctx *s) {
    for (size_t i = 1; i < n; i++) {
        item t = v[i];
        size_t j = i;
        while (j > 0 && cmp_item(&t, &v[j - 1], s) < 0) {
            v[j] = v[j - 1];
            j--;
        }
        v[j] = t;
    }
}

/* Quicksort (median of three, Hoare's partition, the smaller side first);
 * every item differs from every other (the row order decides last). */
static void sort_items(item *v, size_t n, const sort_ctx *s) {
    while (n > 16) {
        item *x = &v[0], *y = &v[n / 2], *z = &v[n - 1], *m;
        if (cmp_item(x, y, s) < 0) {
            m = cmp_item(y, z, s) < 0 ? y : cmp_item(x, z, s) < 0 ? z : x;
        } else {
            m = cmp_item(x, z, s) < 0 ? x : cmp_item(y, z, s) < 0 ? z : y;
        }
        item p = *m;
        size_t i = 0, j = n - 1;
        for (;;) {
            while (cmp_item(&v[i], &p, s) < 0) {
                i++;
            }
            while (cmp_item(&v[j], &p, s) > 0) {
                j--;
            }
            if (i >= j) {
                break;
            }
            item t = v[i];
            v[i] = v[j];
            v[j] = t;
            i++;
            j--;
        }
        /* [0, j] <= p <= [j + 1, n) */
        size_t left = j + 1;
        if (left < n - left) {
            sort_items(v, left, s);
            v += left;
            n -= left;
        } else {
            sort_items(v + left, n - left, s);
            n = left;
        }
    }
    insertion_sort(v, n, s);
}

/* Sorts v by cmp_item: a least-significant-digit radix sort over the 16
 * bytes of a and b (stable: the items come in the row order, and items
 * equal in a and b keep it), a byte that is the same in every item skipped;
 * then each run of items equal in a and b that cmp_item does not find in
 * order (a key longer than 16 bytes, lengths that differ only in zero
 * padding, by_pk) is sorted with sort_items. A key's 16-byte prefix is
 * nearly always all that decides: a quicksort spent ~400 instructions an
 * item comparing (W1 at 100,000, 3 indexes: 125 M), this ~60. Needs as much
 * memory again as v; without it, sort_items alone. */
static void radix_sort_items(item *v, size_t n, const sort_ctx *s) {
    enum { BYTES = 16 };
    item *tmp = n > 64 ? malloc(n * sizeof *tmp) : NULL;
    size_t(*cnt)[256] = tmp ? calloc(BYTES, sizeof *cnt) : NULL;
    if (!cnt) {
        free(tmp);
        sort_items(v, n, s);
        return;
    }
#define RADIX_BYTE(it, p) ((unsigned)(((p) < 8 ? (it).a : (it).b) >> (56 - 8 * ((p)&7))) & 0xff)
    for (size_t i = 0; i < n; i++) {
        uint64_t a = v[i].a, b = v[i].b;
        for (int p = 7; p >= 0; p--, a >>= 8, b >>= 8) {
            cnt[p][a & 0xff]++;
            cnt[p + 8][b & 0xff]++;
        }
    }
    item *from = v, *to = tmp;
    for (int p = BYTES - 1; p >= 0; p--) {
        if (cnt[p][RADIX_BYTE(v[0], p)] == n) {
            continue; /* the same byte in every item */
        }
        size_t at = 0;
        for (int d = 0; d < 256; d++) { /* counts become where each byte's items start */
            size_t c = cnt[p][d];
            cnt[p][d] = at;
            at += c;
        }
        for (size_t i = 0; i < n; i++) {
            to[cnt[p][RADIX_BYTE(from[i], p)]++] = from[i];
        }
        item *t = from;
        from = to, to = t;
    }
#undef RADIX_BYTE
    if (from != v) {
        memcpy(v, from, n * sizeof *v);
    }
    free(cnt);
    free(tmp);
    for (size_t i = 0; i < n;) {
        size_t j = i + 1, sorted = 1;
        for (; j < n && v[j].a == v[i].a && v[j].b == v[i].b; j++) {
            sorted = sorted && cmp_item(&v[j - 1], &v[j], s) < 0;
        }
        if (!sorted) {
            sort_items(v + i, j - i, s);
        }
        i = j;
    }
}

/* ---- entries, the scratch file ------------------------------------------------------------ */

static inline size_t ent_kn(const unsigned char *e) {
    return (size_t)e[0] | (size_t)e[1] << 8;
}
static inline size_t ent_pn(const unsigned char *e) {
    return (size_t)e[2] | (size_t)e[3] << 8;
}
static inline size_t ent_len(const unsigned char *e) {
    return ENTRY_HEAD + ent_kn(e) + ent_pn(e);
}

/* Makes the scratch file: without a name (O_TMPFILE) in the database's
 * folder, else in TMPDIR (or /tmp); where a file system has no O_TMPFILE, a
 * named one is removed at once. -1 when none can be made (nofile). */
static int scratch_open(store_bulk *b) {
    if (b->fd >= 0) {
        return 0;
    }
    if (b->nofile) {
        return -1;
    }
    const char *dirs[2] = {b->dir, scratch_tmpdir()};
    for (int i = 0; i < 2; i++) {
        int fd = dirs[i] ? scratch_file(dirs[i], "import") : -1;
        if (fd >= 0) {
            b->fd = fd;
            b->fend = 0;
            return 0;
        }
    }
    b->nofile = 1;
    return -1;
}

/* Empties the scratch file (its runs are written or given up). */
static void scratch_reset(store_bulk *b) {
    if (b->fd >= 0 && b->fend && ftruncate(b->fd, 0) != 0) {
        close(b->fd); /* its blocks are freed with it */
        b->fd = -1;
    }
    b->fend = 0;
}

static int scratch_err(const char *name, int e) {
    return err_set(GH_EIO,
                   _("collection '%s': the index entries set aside in a scratch file could not be "
                     "read back (%s): nothing of this transaction was stored; run it again"),
                   name, strerror(e));
}

static void run_free(run *r) {
    free(r->m);
    free(r->mk);
    memset(r, 0, sizeof *r);
}

static void runs_free(bulk_ix *x) {
    for (int i = 0; i < x->nruns; i++) {
        run_free(&x->runs[i]);
    }
    x->nruns = 0;
}

/* ---- writing a run ---------------------------------------------------------------------------- */

typedef struct rwriter {
    store_bulk *b;
    run *r;
    int unique;
    unsigned char *buf;
    size_t len;        /* bytes in buf */
    uint64_t at;       /* bytes of the run in the file before them */
    uint64_t lastmark; /* where the last block began */
} rwriter;

static int rw_begin(rwriter *w, store_bulk *b, run *r, int unique) {
    memset(r, 0, sizeof *r);
    r->off = b->fend;
    *w = (rwriter){b, r, unique, malloc(WBUF), 0, 0, 0};
    return w->buf ? 0 : 1;
}

/* Notes e as the first entry of a block at offset off of the run. */
static int rw_mark(run *r, const unsigned char *e, uint64_t off) {
    size_t kn = ent_kn(e);
    if (r->nm == r->mcap) {
        size_t cap = r->mcap ? r->mcap * 2 : 256;
        mark *m = realloc(r->m, cap * sizeof *m);
        if (!m) {
            return 1;
        }
        r->m = m, r->mcap = cap;
    }
    if (r->mklen + kn > r->mkcap) {
        size_t cap = r->mkcap ? r->mkcap * 2 : 8192;
        while (cap < r->mklen + kn) {
            cap *= 2;
        }
        unsigned char *mk = realloc(r->mk, cap);
        if (!mk) {
            return 1;
        }
        r->mk = mk, r->mkcap = cap;
    }
    r->m[r->nm] = (mark){off, (uint32_t)r->mklen, (uint16_t)kn};
    memcpy(r->mk + r->mklen, e + ENTRY_HEAD, kn);
    r->mklen += kn;
    r->nm++;
    return 0;
}

/* 0, or 1: the run could not be written (no memory, no room). */
static int rw_put(rwriter *w, const unsigned char *e) {
    size_t n = ent_len(e);
    uint64_t off = w->at + w->len;
    if (w->unique && (w->r->n == 0 || off - w->lastmark >= RUN_BLOCK)) {
        if (rw_mark(w->r, e, off)) {
            return 1;
        }
        w->lastmark = off;
    }
    if (w->len + n > WBUF) {
        if (scratch_pwrite(w->b->fd, w->buf, w->len, w->r->off + w->at)) {
            return 1;
        }
        w->at += w->len;
        w->len = 0;
    }
    memcpy(w->buf + w->len, e, n);
    w->len += n;
    w->r->n++;
    return 0;
}

static int rw_end(rwriter *w, int ok) {
    if (ok && w->len && scratch_pwrite(w->b->fd, w->buf, w->len, w->r->off + w->at)) {
        ok = 0;
    }
    free(w->buf);
    w->buf = NULL;
    if (!ok) {
        return 1;
    }
    w->r->len = w->at + w->len;
    w->b->fend = w->r->off + w->r->len;
    return 0;
}

/* ---- writing into the table ------------------------------------------------------------------ */

/* Puts one entry in its table: appended when it goes after everything the
 * table holds (*beyond: so do all that follow, being sorted), else in its
 * place. `same` says the key equals the previous entry's. */
static int put_entry(MDB_cursor *cur, bulk_ix *x, MDB_val *k, MDB_val *d, const MDB_val *last,
                     int *beyond, int same) {
    unsigned flags = x->unique ? MDB_NOOVERWRITE : 0;
    if (!*beyond &&
        (!last->mv_data || cmp_bytes(k->mv_data, k->mv_size, last->mv_data, last->mv_size) > 0)) {
        *beyond = 1;
        same = 0;
    }
    if (*beyond) {
        flags |= same && !x->unique ? MDB_APPENDDUP : MDB_APPEND;
    }
    MDB_val d0 = *d;
    int rc = mdb_cursor_put(cur, k, d, flags);
    if (rc == MDB_KEYEXIST && (flags & (MDB_APPEND | MDB_APPENDDUP))) {
        *d = d0; /* not after the last after all: in its place */
        rc = mdb_cursor_put(cur, k, d, flags & MDB_NOOVERWRITE);
    }
    if (rc == MDB_KEYEXIST && !x->unique) {
        rc = 0; /* the pair is there */
    }
    return rc;
}

/* Puts the primary keys pks[0..cnt) (pn bytes each, sorted) under key k of
 * a DUPFIXED index in one call (MDB_MULTIPLE: no descent per entry),
 * appended when the key goes after everything the table holds. */
static int put_group(MDB_cursor *cur, MDB_val *k, unsigned char *pks, size_t cnt, size_t pn,
                     const MDB_val *last, int *beyond) {
    unsigned flags = MDB_MULTIPLE | MDB_APPENDDUP; /* after the key's last entry (rows come in
                                                   * key order), else in place below */
    if (!*beyond &&
        (!last->mv_data || cmp_bytes(k->mv_data, k->mv_size, last->mv_data, last->mv_size) > 0)) {
        *beyond = 1;
    }
    if (*beyond) {
        flags |= MDB_APPEND | MDB_APPENDDUP;
    }
    size_t done = 0;
    while (done < cnt) {
        MDB_val d[2] = {{pn, pks + done * pn}, {cnt - done, NULL}};
        int rc = mdb_cursor_put(cur, k, d, flags);
        if (rc == 0) {
            return 0;
        }
        if (rc != MDB_KEYEXIST) {
            return rc;
        }
        done += d[1].mv_size; /* those went in; the next is not after the last */
        if (flags == MDB_MULTIPLE) {
            done++; /* the pair is there */
        }
        flags = MDB_MULTIPLE; /* the rest in their places */
    }
    return 0;
}

/* The entries going into a table, in key order: a DUPFIXED index's
 * entries of one key are gathered and put at once. */
typedef struct tsink {
    bulk_ix *x;
    MDB_cursor *cur;
    MDB_val last; /* the table's last key before, copied (pages move as we write) */
    unsigned char lastmem[STORE_MAX_KEY];
    int beyond;
    unsigned char prev[STORE_MAX_KEY]; /* the previous entry's key */
    size_t prevn;
    int have;
    unsigned char *pks; /* DUPFIXED: the primary keys of key prev */
    size_t npk, pkcap;
} tsink;

static int ts_group(tsink *s) {
    if (!s->npk) {
        return 0;
    }
    MDB_val k = {s->prevn, s->prev};
    int rc = put_group(s->cur, &k, s->pks, s->npk, STORE_PK_FIXED, &s->last, &s->beyond);
    s->npk = 0;
    return rc;
}

/* 0 or an LMDB code (ENOMEM) */
static int ts_put(tsink *s, const unsigned char *e) {
    size_t kn = ent_kn(e), pn = ent_pn(e);
    const unsigned char *k = e + ENTRY_HEAD, *p = k + kn;
    if (kn > STORE_MAX_KEY) {
        return MDB_BAD_VALSIZE;
    }
    int same = s->have && s->prevn == kn && memcmp(s->prev, k, kn) == 0, rc = 0;
    if (s->x->dupfixed) {
        /* (store_put lets only STORE_PK_FIXED keys into a DUPFIXED index) */
        if (pn != STORE_PK_FIXED) {
            return MDB_BAD_VALSIZE;
        }
        if (!same && (rc = ts_group(s)) != 0) {
            return rc;
        }
        if (s->npk == s->pkcap) {
            size_t cap = s->pkcap ? s->pkcap * 2 : 4096;
            unsigned char *n = realloc(s->pks, cap * STORE_PK_FIXED);
            if (!n) {
                return ENOMEM;
            }
            s->pks = n, s->pkcap = cap;
        }
        memcpy(s->pks + s->npk++ * STORE_PK_FIXED, p, STORE_PK_FIXED);
    } else {
        MDB_val kv = {kn, (void *)k}, dv = {pn, (void *)p};
        rc = put_entry(s->cur, s->x, &kv, &dv, &s->last, &s->beyond, same);
    }
    if (!same) {
        memcpy(s->prev, k, kn);
        s->prevn = kn;
    }
    s->have = 1;
    return rc;
}

/* For the tests (tests/cli/import_bulk.sh): GONGHUI_TEST_BULK_PAUSE=FILE:N
 * stops the N-th write of an index into its table half-way, makes FILE and
 * waits there to be killed, so that a kill inside the bulk phase needs no
 * timing. */
static void test_pause(void) {
    static long flushes;
    const char *v = getenv("GONGHUI_TEST_BULK_PAUSE");
    const char *colon = v ? strrchr(v, ':') : NULL;
    if (!colon || ++flushes != atol(colon + 1)) {
        return;
    }
    char path[4096];
    snprintf(path, sizeof path, "%.*s", (int)(colon - v), v);
    int fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
    if (fd >= 0) {
        close(fd);
    }
    for (;;) {
        pause();
    }
}

/* ---- merging ------------------------------------------------------------------------------------ */

/* A sorted source of entries: the held ones (sorted) or a run. */
typedef struct src {
    const unsigned char *e; /* the current entry, NULL past the last */
    int seq;                /* among equal entries the older source first */
    const item *v;          /* the held entries ... */
    const unsigned char *buf;
    size_t i, n;
    int fd; /* ... or a run: the part of the file not read yet, a buffer */
    uint64_t pos, end;
    unsigned char *rb;
    size_t rl, rp;
} src;

/* The next entry of s (the one before is not used again). 0 or an errno. */
static int src_next(src *s) {
    if (s->v) {
        s->e = s->i < s->n ? s->buf + (size_t)(s->v[s->i++].off >> 16) : NULL;
        return 0;
    }
    for (;;) {
        size_t have = s->rl - s->rp;
        if (have >= ENTRY_HEAD && have >= ent_len(s->rb + s->rp)) {
            s->e = s->rb + s->rp;
            s->rp += ent_len(s->e);
            return 0;
        }
        if (s->pos == s->end) {
            s->e = NULL;
            return have ? EIO : 0;
        }
        memmove(s->rb, s->rb + s->rp, have);
        s->rl = have, s->rp = 0;
        size_t want = RBUF - have;
        if (want > s->end - s->pos) {
            want = (size_t)(s->end - s->pos);
        }
        int e = scratch_pread(s->fd, s->rb + s->rl, want, s->pos);
        if (e) {
            return e;
        }
        s->rl += want, s->pos += want;
    }
}

static int src_less(const src *a, const src *b, int by_pk) {
    const unsigned char *x = a->e, *y = b->e;
    size_t xk = ent_kn(x), yk = ent_kn(y);
    int r = cmp_bytes(x + ENTRY_HEAD, xk, y + ENTRY_HEAD, yk);
    if (!r && by_pk) {
        r = cmp_bytes(x + ENTRY_HEAD + xk, ent_pn(x), y + ENTRY_HEAD + yk, ent_pn(y));
    }
    return r ? r < 0 : a->seq < b->seq;
}

static void sift_down(src **h, int n, int i, int by_pk) {
    for (;;) {
        int l = 2 * i + 1, m = i;
        if (l < n && src_less(h[l], h[m], by_pk)) {
            m = l;
        }
        if (l + 1 < n && src_less(h[l + 1], h[m], by_pk)) {
            m = l + 1;
        }
        if (m == i) {
            return;
        }
        src *t = h[i];
        h[i] = h[m];
        h[m] = t;
        i = m;
    }
}

/* x's held entries in key order (an array over x->buf), or NULL (no memory). */
static item *sort_held(const bulk_ix *x, int by_pk) {
    item *v = malloc(x->n * sizeof *v);
    if (!v) {
        return NULL;
    }
    size_t n = 0;
    for (size_t o = 0; o < x->len; n++) {
        const unsigned char *e = x->buf + o;
        size_t kn = ent_kn(e);
        const unsigned char *k = e + ENTRY_HEAD;
        v[n].a = be64_pad(k, kn);
        v[n].b = kn > 8 ? be64_pad(k + 8, kn - 8) : 0;
        v[n].off = (uint64_t)o << 16 | kn;
        o += ent_len(e);
    }
    sort_ctx sc = {x->buf, by_pk};
    radix_sort_items(v, n, &sc);
    return v;
}

/* Writes x's held entries into its table in the rows' order, each in its
 * place (no memory to sort them). */
static int put_unsorted(MDB_cursor *cur, const bulk_ix *x) {
    for (size_t o = 0; o < x->len;) {
        const unsigned char *e = x->buf + o;
        size_t kn = ent_kn(e);
        MDB_val k = {kn, (void *)(e + ENTRY_HEAD)}, d = {ent_pn(e), (void *)(e + ENTRY_HEAD + kn)};
        o += ent_len(e);
        int rc = mdb_cursor_put(cur, &k, &d, x->unique ? MDB_NOOVERWRITE : 0);
        if (rc && !(rc == MDB_KEYEXIST && !x->unique)) {
            return rc;
        }
    }
    return 0;
}

/* Merges runs rs[0..nr) of x and, when `mem`, its held entries into run
 * `to` (written at the end of the scratch file) or, when `to` is NULL, into
 * x's table. 0; 1 when run `to` could not be written (no room, no memory:
 * nothing changed); else a GH_E* code. Empties nothing: the caller does. */
static int merge(store_bulk *b, bulk_ix *x, const run *rs, int nr, int mem, run *to,
                 const char *name) {
    int by_pk = !x->unique && !b->pk_rising;
    int ns = nr + (mem && x->n ? 1 : 0), nh = 0, rc = 0, lrc = 0, e = 0;
    if (ns == 0 && !to) {
        return 0;
    }
    src *sv = calloc((size_t)ns + 1, sizeof *sv);
    src **h = calloc((size_t)ns + 1, sizeof *h);
    item *v = NULL;
    rwriter w = {0};
    tsink ts = {.x = x};
    uint64_t total = 0, done = 0;
    if (!sv || !h) {
        rc = to ? 1 : GH_ENOMEM;
        goto out;
    }
    if (to) {
        if (rw_begin(&w, b, to, x->unique)) {
            rc = 1;
            goto out;
        }
    } else {
        store_txn *t = b->t;
        store_wcur_forget(t); /* store.c invariant 7: its cursors would not see these writes */
        t->writes++;          /* pages change: borrowed record pointers may be stale */
        MDB_val lk, ld;
        if ((lrc = mdb_cursor_open(t->txn, x->dbi, &ts.cur)) != 0) {
            ts.cur = NULL;
            goto out;
        }
        lrc = mdb_cursor_get(ts.cur, &lk, &ld, MDB_LAST);
        if (lrc == 0) {
            ts.last.mv_size = lk.mv_size < sizeof ts.lastmem ? lk.mv_size : sizeof ts.lastmem;
            ts.last.mv_data = ts.lastmem;
            memcpy(ts.lastmem, lk.mv_data, ts.last.mv_size);
        } else if (lrc != MDB_NOTFOUND) {
            goto out;
        }
        lrc = 0;
    }
    for (int i = 0; i < nr; i++) {
        sv[i] = (src){.seq = i, .fd = b->fd, .pos = rs[i].off, .end = rs[i].off + rs[i].len};
        total += rs[i].n;
        if (!(sv[i].rb = malloc(RBUF))) {
            rc = to ? 1 : GH_ENOMEM;
            goto out;
        }
    }
    if (ns > nr) {
        total += x->n;
        if (!(v = sort_held(x, by_pk))) {
            if (nr == 0 && !to) { /* in place, as store_put would */
                test_pause();
                lrc = put_unsorted(ts.cur, x);
            } else {
                rc = to ? 1 : GH_ENOMEM;
            }
            goto out;
        }
        sv[nr] = (src){.seq = nr, .v = v, .buf = x->buf, .n = x->n};
    }
    for (int i = 0; i < ns; i++) {
        if ((e = src_next(&sv[i])) != 0) {
            goto out;
        }
        if (sv[i].e) {
            h[nh++] = &sv[i];
        }
    }
    for (int i = nh / 2 - 1; i >= 0; i--) {
        sift_down(h, nh, i, by_pk);
    }
    while (nh) {
        src *s = h[0];
        if (to) {
            if ((rc = rw_put(&w, s->e)) != 0) {
                goto out;
            }
        } else {
            if ((lrc = ts_put(&ts, s->e)) != 0) {
                goto out;
            }
            if (++done == total / 2 + 1) {
                test_pause();
            }
        }
        if ((e = src_next(s)) != 0) {
            goto out;
        }
        if (!s->e) {
            h[0] = h[--nh];
        }
        sift_down(h, nh, 0, by_pk);
    }
    if (!to) {
        lrc = ts_group(&ts);
    }
out:
    if (to && w.buf) {
        rc = rw_end(&w, rc == 0 && e == 0) && !e ? 1 : rc;
    }
    if (ts.cur) {
        mdb_cursor_close(ts.cur);
    }
    for (int i = 0; sv && i < nr; i++) {
        free(sv[i].rb);
    }
    free(sv);
    free(h);
    free(v);
    free(ts.pks);
    if (e) {
        return scratch_err(name, e);
    }
    if (lrc == MDB_KEYEXIST) { /* a unique key this load let through twice: a bug */
        return err_set(GH_ECORRUPT, _("collection '%s': a bulk load found a unique value twice"),
                       name);
    }
    if (lrc == ENOMEM) {
        return GH_ENOMEM;
    }
    if (lrc) {
        return store_lmdb_err(lrc, name);
    }
    return rc;
}

/* Writes x's runs and held entries into its table, in key order; then x
 * holds nothing. */
static int write_ix(store_bulk *b, bulk_ix *x, const char *name) {
    if (!x->n && !x->nruns) {
        return 0;
    }
    int rc = merge(b, x, x->runs, x->nruns, 1, NULL, name);
    if (rc) {
        return rc;
    }
    runs_free(x);
    b->mem -= x->len;
    x->len = x->n = 0;
    return 0;
}

/* Merges x's newest two runs while both are small and the newer is at least
 * half the older (as a binary counter: few small runs, each entry rewritten
 * a few times). A run that cannot be written leaves the two as they were. */
static int compact(store_bulk *b, bulk_ix *x, const char *name) {
    while (x->nruns >= 2) {
        run *p = &x->runs[x->nruns - 2], *q = p + 1, nr;
        if (!p->small || !q->small || q->n * 2 < p->n) {
            return 0;
        }
        int rc = merge(b, x, p, 2, 0, &nr, name);
        if (rc) {
            run_free(&nr);
            return rc == 1 ? 0 : rc;
        }
        nr.small = 1;
        run_free(p);
        run_free(q);
        *p = nr;
        x->nruns--;
    }
    return 0;
}

/* Spills x's held entries to the scratch file as a sorted run (small: to
 * search them, not for the budget). 0; 1 when they cannot be spilled (no
 * file, no room, no memory: they are still held); else a GH_E* code. */
static int spill_ix(store_bulk *b, bulk_ix *x, int small, const char *name) {
    if (!x->n) {
        return 0;
    }
    if (scratch_open(b)) {
        return 1;
    }
    if (x->nruns == x->rcap) {
        int cap = x->rcap ? x->rcap * 2 : 8;
        run *r = realloc(x->runs, (size_t)cap * sizeof *r);
        if (!r) {
            return 1;
        }
        x->runs = r, x->rcap = cap;
    }
    run *r = &x->runs[x->nruns];
    int rc = merge(b, x, NULL, 0, 1, r, name);
    if (rc) {
        run_free(r);
        if (rc == 1) {
            b->nofile = 1; /* no room for it: the tables take the entries from now on */
        }
        return rc;
    }
    r->small = small;
    x->nruns++;
    b->mem -= x->len;
    x->len = x->n = 0;
    return small ? compact(b, x, name) : 0;
}

/* The held entries past the budget: spilled as runs; a non-unique index
 * whose rows come in key order (and any index with no scratch file) is
 * written into its table instead. */
static int spill_all(store_bulk *b, const char *name) {
    for (int i = 0; i < b->nix; i++) {
        bulk_ix *x = &b->ix[i];
        int rc = !x->unique && b->pk_rising ? 1 : spill_ix(b, x, 0, name);
        if (rc == 1) {
            rc = write_ix(b, x, name);
        }
        if (rc) {
            return rc;
        }
    }
    return 0;
}

/* The primary key held for unique key `key` among x's held entries, into
 * found; 1 when there. */
static int held_find(const bulk_ix *x, const void *key, size_t kn, unsigned char *found,
                     MDB_val *holder) {
    for (size_t o = 0; o < x->len;) {
        const unsigned char *e = x->buf + o;
        size_t ek = ent_kn(e);
        if (ek == kn && memcmp(e + ENTRY_HEAD, key, kn) == 0) {
            holder->mv_size = ent_pn(e);
            holder->mv_data = found;
            memcpy(found, e + ENTRY_HEAD + ek, holder->mv_size);
            return 1;
        }
        o += ent_len(e);
    }
    return 0;
}

/* Unique key `key` in run r: the block it would be in (by the blocks' first
 * keys) is read and searched. MDB_KEYEXIST with *holder (in b->found), 0 when
 * not there, or a GH_E* code. */
static int run_find(store_bulk *b, const run *r, const void *key, size_t kn, MDB_val *holder,
                    const char *name) {
    size_t lo = 0, hi = r->nm; /* marks [0, lo) <= key < marks [hi, nm) */
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (cmp_bytes(r->mk + r->m[mid].kat, r->m[mid].kn, key, kn) <= 0) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    if (lo == 0) {
        return 0;
    }
    uint64_t from = r->m[lo - 1].off, upto = lo < r->nm ? r->m[lo].off : r->len;
    size_t n = (size_t)(upto - from);
    if (n > b->blkcap) {
        unsigned char *p = realloc(b->blk, n);
        if (!p) {
            return GH_ENOMEM;
        }
        b->blk = p, b->blkcap = n;
    }
    int e = scratch_pread(b->fd, b->blk, n, r->off + from);
    if (e) {
        return scratch_err(name, e);
    }
    for (size_t o = 0; o + ENTRY_HEAD <= n;) {
        const unsigned char *en = b->blk + o;
        size_t ek = ent_kn(en), ep = ent_pn(en);
        if (o + ENTRY_HEAD + ek + ep > n || ep > STORE_MAX_KEY) {
            return scratch_err(name, EIO);
        }
        int c = cmp_bytes(en + ENTRY_HEAD, ek, key, kn);
        if (c == 0) {
            memcpy(b->found, en + ENTRY_HEAD + ek, ep);
            holder->mv_size = ep;
            holder->mv_data = b->found;
            return MDB_KEYEXIST;
        }
        if (c > 0) {
            break;
        }
        o += ENTRY_HEAD + ek + ep;
    }
    return 0;
}

int bulk_flush(store_bulk *b, const store_coll *c) {
    if (!b || !b->t) {
        return 0;
    }
    for (int i = 0; i < b->nix; i++) {
        int rc = write_ix(b, &b->ix[i], c ? c->name : "bulk load");
        if (rc) {
            return rc;
        }
    }
    scratch_reset(b);
    b->pk_rising = 1;
    b->lastpk_len = 0;
    return 0;
}

int store_bulk_flush(store_bulk *b) {
    return bulk_flush(b, NULL);
}

/* ---- what store_put asks ------------------------------------------------------------------ */

store_bulk *bulk_of(const store_txn *t, const store_coll *c) {
    return t->bulk && t->bulk->dbi == c->dbi && t->bulk->nix == c->nindexes ? t->bulk : NULL;
}

int bulk_unique(store_bulk *b, const store_coll *c, int i, const void *key, size_t kn,
                MDB_val *holder) {
    bulk_ix *x = &b->ix[i];
    int hit = 1, rc;
    if (x->tfail) { /* no hashes: the table answers, with this load's rows written first */
        if ((rc = write_ix(b, x, c->name)) != 0) {
            return rc;
        }
    } else if ((hit = tag_has(x, key_hash64(key, kn))) != 0) {
        /* a value this load stored, nearly always: held, in a run or (an
         * earlier transaction of the load) in the table */
        if (x->n > SCAN_MAX && (rc = spill_ix(b, x, 1, c->name)) < 0) {
            return rc;
        }
        if (held_find(x, key, kn, b->found, holder)) {
            return MDB_KEYEXIST;
        }
        for (int r = 0; r < x->nruns; r++) {
            if ((rc = run_find(b, &x->runs[r], key, kn, holder, c->name)) != 0) {
                return rc;
            }
        }
    }
    if (!hit && !x->pre) {
        return 0; /* neither this load nor the table before it has the key */
    }
    MDB_val k = {kn, (void *)key};
    rc = mdb_get(b->t->txn, x->dbi, &k, holder);
    if (rc == MDB_NOTFOUND) {
        return 0;
    }
    return rc ? store_lmdb_err(rc, c->name) : MDB_KEYEXIST;
}

int store_bulk_find(store_bulk *b, const store_coll *c, int index, const void *ikey, size_t iklen,
                    const void **pk, size_t *pklen) {
    if (!b->t) {
        return GH_ENOTFOUND;
    }
    if (bulk_of(b->t, c) != b || !c->indexes[index].unique) {
        return store_find(b->t, c, index, ikey, iklen, pk, pklen);
    }
    if (iklen > STORE_MAX_KEY) {
        return GH_ENOTFOUND;
    }
    MDB_val holder;
    int rc = bulk_unique(b, c, index, ikey, iklen, &holder);
    if (rc == MDB_KEYEXIST) {
        *pk = holder.mv_data;
        *pklen = holder.mv_size;
        return 0;
    }
    return rc ? rc : GH_ENOTFOUND;
}

int bulk_add(store_bulk *b, const store_coll *c, const codec_buf *ikeys, const unsigned char *state,
             const void *pk, size_t pkn) {
    if (b->pk_rising && b->lastpk_len && cmp_bytes(pk, pkn, b->lastpk, b->lastpk_len) <= 0) {
        b->pk_rising = 0;
    }
    memcpy(b->lastpk, pk, pkn);
    b->lastpk_len = pkn;
    for (int i = 0; i < b->nix; i++) {
        bulk_ix *x = &b->ix[i];
        if (!(state[i] & 1)) {
            continue;
        }
        const codec_buf *ik = &ikeys[2 * i];
        size_t need = ENTRY_HEAD + ik->len + pkn;
        if (x->len + need > x->cap) {
            size_t cap = x->cap ? x->cap + x->cap / 2 : 65536; /* 1.5: less slack held */
            while (cap < x->len + need) {
                cap += cap / 2;
            }
            unsigned char *nb = realloc(x->buf, cap);
            if (nb) {
                x->buf = nb, x->cap = cap;
            } else {
                int rc = spill_all(b, c->name); /* set aside what is held, then hold less */
                if (rc) {
                    return rc;
                }
                if (need > x->cap) {
                    return GH_ENOMEM;
                }
            }
        }
        unsigned char *e = x->buf + x->len;
        e[0] = (unsigned char)ik->len, e[1] = (unsigned char)(ik->len >> 8);
        e[2] = (unsigned char)pkn, e[3] = (unsigned char)(pkn >> 8);
        memcpy(e + ENTRY_HEAD, ik->p, ik->len);
        memcpy(e + ENTRY_HEAD + ik->len, pk, pkn);
        x->len += need;
        x->n++;
        b->mem += need;
        if (x->unique) {
            tag_put(x, key_hash64(ik->p, ik->len));
        }
    }
    if (b->mem > b->budget) {
        return spill_all(b, c->name);
    }
    /* A non-unique index's entries go after their key's last ones when
     * rows come in key order: written often, they cost little more and
     * hold little memory; the unique indexes keep the rest of the budget. */
    for (int i = 0; b->pk_rising && i < b->nix; i++) {
        bulk_ix *x = &b->ix[i];
        int rc = !x->unique && x->len > b->budget / 32 ? write_ix(b, x, c->name) : 0;
        if (rc) {
            return rc;
        }
    }
    return 0;
}

/* ---- the load ---------------------------------------------------------------------------------- */

static void ix_free(store_bulk *b) {
    for (int i = 0; b->ix && i < b->nix; i++) {
        runs_free(&b->ix[i]);
        free(b->ix[i].runs);
        free(b->ix[i].buf);
        free(b->ix[i].tags);
    }
    free(b->ix);
    b->ix = NULL;
    b->nix = 0;
    b->mem = 0;
}

/* (Re)reads c's indexes: whether each table holds entries now. */
static int ix_setup(store_bulk *b, const store_coll *c) {
    ix_free(b);
    b->dbi = c->dbi;
    if (c->nindexes && !(b->ix = calloc((size_t)c->nindexes, sizeof *b->ix))) {
        return GH_ENOMEM;
    }
    b->nix = c->nindexes;
    for (int i = 0; i < c->nindexes; i++) {
        MDB_stat st;
        int rc = mdb_stat(b->t->txn, c->indexes[i].dbi, &st);
        if (rc) {
            return store_lmdb_err(rc, c->name);
        }
        b->ix[i].dbi = c->indexes[i].dbi;
        b->ix[i].unique = c->indexes[i].unique;
        b->ix[i].dupfixed = !c->indexes[i].unique && c->indexes[i].dupfixed;
        b->ix[i].pre = st.ms_entries > 0;
    }
    b->pk_rising = 1;
    b->lastpk_len = 0;
    return 0;
}

int store_bulk_begin(store_txn *t, const store_coll *c, size_t budget, store_bulk **out) {
    int rc = store_need_write(t, c);
    if (rc) {
        return rc;
    }
    if (t->bulk) {
        return err_set(GH_EINVAL, _("a bulk load is attached to this transaction already"));
    }
    store_bulk *b = calloc(1, sizeof *b);
    if (!b) {
        return GH_ENOMEM;
    }
    b->budget = budget ? budget : STORE_BULK_BUDGET;
    b->t = t;
    b->fd = -1;
    b->dir = t->s->path ? strdup(t->s->path) : NULL;
    if ((rc = ix_setup(b, c)) != 0) {
        b->t = NULL;
        store_bulk_free(b);
        return rc;
    }
    t->bulk = b;
    *out = b;
    return 0;
}

int store_bulk_attach(store_bulk *b, store_txn *t, const store_coll *c) {
    if (t->bulk || b->t) {
        return err_set(GH_EINVAL, _("a bulk load is attached to this transaction already"));
    }
    int same = b->dbi == c->dbi && b->nix == c->nindexes;
    for (int i = 0; same && i < c->nindexes; i++) {
        same = b->ix[i].dbi == c->indexes[i].dbi && b->ix[i].unique == c->indexes[i].unique;
    }
    b->t = t;
    t->bulk = b;
    if (!same) { /* redefined since: start over (what was held was flushed at the commit) */
        return ix_setup(b, c);
    }
    return 0;
}

void bulk_detach(store_txn *t) {
    store_bulk *b = t->bulk;
    if (!b) {
        return;
    }
    for (int i = 0; i < b->nix; i++) { /* what was not flushed is rolled back */
        b->ix[i].len = b->ix[i].n = 0;
        runs_free(&b->ix[i]);
    }
    scratch_reset(b);
    b->mem = 0;
    b->pk_rising = 1;
    b->lastpk_len = 0;
    b->t = NULL;
    t->bulk = NULL;
}

void store_bulk_free(store_bulk *b) {
    if (!b) {
        return;
    }
    if (b->t) {
        bulk_detach(b->t);
    }
    ix_free(b);
    if (b->fd >= 0) {
        close(b->fd);
    }
    free(b->dir);
    free(b->blk);
    free(b);
}
