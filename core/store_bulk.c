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
 *           stored; a hit writes the held entries of that index first, then
 *           the table answers exactly) or the table held it before the load
 *           (a lookup, only when the table was not empty at the start);
 *   then    the record is written as always, and bulk_add holds its index
 *           entries (and notes its unique keys' hashes).
 * The held entries are written (bulk_flush) when the transaction commits,
 * when they pass the memory budget, and before a write of another kind
 * (STORE_REPLACE, STORE_UPDATE) to the collection.
 *
 * Invariants:
 *   1. When a transaction with a load attached commits, every index entry
 *      of every record is in its table (store_txn_commit flushes first; a
 *      flush that fails aborts the transaction): store.c's invariant 2
 *      holds for everything committed. Inside the transaction, before a
 *      flush, an index does not show the load's rows: only store_put of
 *      the collection (and reading records) may be used meanwhile.
 *   2. A row is refused for a unique value taken, exactly as store_put
 *      refuses it, before anything of it is written (the same message).
 *   3. Memory: the held entries stay under the budget (a flush empties
 *      them), plus 8 to 16 bytes per row and unique index for the hashes.
 *      Out of memory, the load writes as store_put always did (slower,
 *      never wrong).
 */
#include "store_int.h"

#include "err.h"

#include <fcntl.h>
#include <lmdb.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* One held entry in bulk_ix.buf: u16 key length, u16 primary key length,
 * the key, the primary key. */
#define ENTRY_HEAD 4

typedef struct bulk_ix {
    MDB_dbi dbi;
    int unique;
    int dupfixed;       /* packed primary keys: a key's entries go in at once */
    int pre;            /* the table held entries when the load began: each key is looked up */
    unsigned char *buf; /* the held entries, in the order of the rows */
    size_t len, cap, n;
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

/* ---- writing the held entries -------------------------------------------------------------- */

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

/* For the tests (tests/cli/import_bulk.sh): GONGHUI_TEST_BULK_PAUSE=FILE:N
 * stops the N-th flush of an index half-way, makes FILE and waits there to
 * be killed, so that a kill inside the bulk phase needs no timing. */
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

/* Writes the held entries of one index into its table, in key order. */
static int flush_ix(store_bulk *b, bulk_ix *x, const char *name) {
    store_txn *t = b->t;
    if (!x->n) {
        return 0;
    }
    store_wcur_forget(t); /* store.c invariant 7: its cursors would not see these writes */
    t->writes++;          /* pages change: borrowed record pointers may be stale */
    item *v = malloc(x->n * sizeof *v);
    sort_ctx sc = {x->buf, !x->unique && !b->pk_rising};
    size_t n = 0;
    if (v) {
        for (size_t o = 0; o < x->len; n++) {
            const unsigned char *e = x->buf + o;
            size_t kn = (size_t)e[0] | (size_t)e[1] << 8, pn = (size_t)e[2] | (size_t)e[3] << 8;
            const unsigned char *k = e + ENTRY_HEAD;
            v[n].a = be64_pad(k, kn);
            v[n].b = kn > 8 ? be64_pad(k + 8, kn - 8) : 0;
            v[n].off = (uint64_t)o << 16 | kn;
            o += ENTRY_HEAD + kn + pn;
        }
        sort_items(v, n, &sc);
    }
    MDB_cursor *cur;
    int rc = mdb_cursor_open(t->txn, x->dbi, &cur);
    if (rc) {
        free(v);
        return store_lmdb_err(rc, name);
    }
    /* the table's last key, copied (pages move as we write) */
    unsigned char lastmem[STORE_MAX_KEY];
    MDB_val last = {0, NULL}, lk, ld;
    rc = mdb_cursor_get(cur, &lk, &ld, MDB_LAST);
    if (rc == 0) {
        last.mv_size = lk.mv_size < sizeof lastmem ? lk.mv_size : sizeof lastmem;
        last.mv_data = lastmem;
        memcpy(lastmem, lk.mv_data, last.mv_size);
    } else if (rc != MDB_NOTFOUND) {
        mdb_cursor_close(cur);
        free(v);
        return store_lmdb_err(rc, name);
    }
    rc = 0;
    int beyond = 0;
    const unsigned char *prev = NULL;
    size_t prevn = 0, o = 0;
    unsigned char *pks = v && x->dupfixed ? malloc(x->n * STORE_PK_FIXED) : NULL;
    for (size_t i = 0; rc == 0 && pks && i < x->n;) { /* DUPFIXED: a key's entries at once */
        const unsigned char *e = x->buf + (size_t)(v[i].off >> 16);
        size_t kn = (size_t)e[0] | (size_t)e[1] << 8, cnt = 0, j = i;
        MDB_val k = {kn, (void *)(e + ENTRY_HEAD)};
        for (; j < x->n; j++) {
            const unsigned char *f = x->buf + (size_t)(v[j].off >> 16);
            size_t fk = (size_t)f[0] | (size_t)f[1] << 8, fp = (size_t)f[2] | (size_t)f[3] << 8;
            if (fk != kn || fp != STORE_PK_FIXED || memcmp(f + ENTRY_HEAD, k.mv_data, kn) != 0) {
                break;
            }
            memcpy(pks + cnt++ * STORE_PK_FIXED, f + ENTRY_HEAD + fk, STORE_PK_FIXED);
        }
        if (j == i) { /* (store_put lets only STORE_PK_FIXED keys into a DUPFIXED index) */
            rc = MDB_BAD_VALSIZE;
            break;
        }
        rc = put_group(cur, &k, pks, cnt, STORE_PK_FIXED, &last, &beyond);
        if (i <= x->n / 2 && j > x->n / 2) {
            test_pause();
        }
        i = j;
    }
    for (size_t i = 0; rc == 0 && !pks && i < x->n; i++) {
        /* sorted, or (no memory to sort) in the rows' order, each in its place */
        size_t at = v ? (size_t)(v[i].off >> 16) : o;
        const unsigned char *e = x->buf + at;
        size_t kn = (size_t)e[0] | (size_t)e[1] << 8, pn = (size_t)e[2] | (size_t)e[3] << 8;
        o = at + ENTRY_HEAD + kn + pn;
        MDB_val k = {kn, (void *)(e + ENTRY_HEAD)}, d = {pn, (void *)(e + ENTRY_HEAD + kn)};
        if (v) {
            int same = prev && prevn == kn && memcmp(prev, e + ENTRY_HEAD, kn) == 0;
            rc = put_entry(cur, x, &k, &d, &last, &beyond, same);
        } else {
            rc = mdb_cursor_put(cur, &k, &d, x->unique ? MDB_NOOVERWRITE : 0);
            rc = rc == MDB_KEYEXIST && !x->unique ? 0 : rc;
        }
        prev = e + ENTRY_HEAD;
        prevn = kn;
        if (i == x->n / 2) {
            test_pause();
        }
    }
    mdb_cursor_close(cur);
    free(v);
    free(pks);
    if (rc == MDB_KEYEXIST) { /* a unique key this load let through twice: a bug */
        return err_set(GH_ECORRUPT, _("collection '%s': a bulk load found a unique value twice"),
                       name);
    }
    if (rc) {
        return store_lmdb_err(rc, name);
    }
    b->mem -= x->len;
    x->len = x->n = 0;
    return 0;
}

int bulk_flush(store_bulk *b, const store_coll *c) {
    if (!b || !b->t) {
        return 0;
    }
    for (int i = 0; i < b->nix; i++) {
        int rc = flush_ix(b, &b->ix[i], c ? c->name : "bulk load");
        if (rc) {
            return rc;
        }
    }
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
    int hit = x->tfail || tag_has(x, key_hash64(key, kn));
    if (hit && x->n) {
        int rc = flush_ix(b, x, c->name); /* then the table answers for this load's rows too */
        if (rc) {
            return rc;
        }
    }
    if (!hit && !x->pre) {
        return 0; /* neither this load nor the table before it has the key */
    }
    MDB_val k = {kn, (void *)key};
    int rc = mdb_get(b->t->txn, x->dbi, &k, holder);
    if (rc == MDB_NOTFOUND) {
        return 0;
    }
    return rc ? store_lmdb_err(rc, c->name) : MDB_KEYEXIST;
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
                int rc = bulk_flush(b, c); /* write what is held, then hold less */
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
        return bulk_flush(b, c);
    }
    /* A non-unique index's entries go after their key's last ones (rows
     * come in key order): written often, they cost little more and hold
     * little memory; the unique indexes keep the rest of the budget. */
    for (int i = 0; i < b->nix; i++) {
        bulk_ix *x = &b->ix[i];
        int rc = !x->unique && x->len > b->budget / 32 ? flush_ix(b, x, c->name) : 0;
        if (rc) {
            return rc;
        }
    }
    return 0;
}

/* ---- the load ---------------------------------------------------------------------------------- */

static void ix_free(store_bulk *b) {
    for (int i = 0; b->ix && i < b->nix; i++) {
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
    }
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
    free(b);
}
